"""The README's Step Functions examples, run as written against a real stack: what it says
a user will see, they see."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

from temporalio.worker import Worker

README = Path(__file__).parents[2] / "README.md"
SECTION = README.read_text().split("## Step Functions: run your own state machines", 1)[1]


def block(language: str, index: int = 0) -> str:
    return str(re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)[index])


async def test_the_boto3_example_prints_what_the_readme_says(api: str, worker: Worker) -> None:
    code = block("python").replace("http://127.0.0.1:8000", api)
    # Each run of the suite needs its own machine name.
    name = f"hello-{uuid.uuid4().hex[:8]}"
    code = code.replace('name="hello"', f'name="{name}"')
    *body, last = code.rstrip().splitlines()
    expression, _, promised = last.partition("#")
    namespace: dict[str, Any] = {}

    def run() -> Any:
        exec("\n".join(body), namespace)
        # The output is read once the execution has ended, as a user would look.
        sfn, run_ref = namespace["sfn"], namespace["run"]
        while sfn.describe_execution(executionArn=run_ref["executionArn"])["status"] == "RUNNING":
            pass
        return eval(expression, namespace)

    assert await asyncio.to_thread(run) == eval(promised.strip())


async def test_the_aws_cli_example_runs_as_written(
    api: str, worker: Worker, tmp_path: Path
) -> None:
    lines = block("sh").replace("\\\n", " ").strip().splitlines()
    env = {**os.environ, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    assert lines[0].startswith("export ")
    for assignment in shlex.split(lines[0])[1:]:
        key, _, value = assignment.partition("=")
        env[key] = value
    name = f"hello-{uuid.uuid4().hex[:8]}"
    (tmp_path / "machine.json").write_text(
        '{"StartAt": "Greet", "States": {"Greet": {"Type": "Pass", "Parameters": '
        '{"greeting.$": "States.Format(\'Hello, {}!\', $.who)"}, "End": true}}}'
    )
    outputs = []
    for line in lines[1:]:
        line = line.replace("http://127.0.0.1:8000", api).replace("hello.json", "machine.json")
        argv = shlex.split(line.replace("hello", name))
        assert argv[0] == "aws"
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("aws")),
            *argv[1:],
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert f"stateMachine:{name}" in outputs[0]
    assert f"execution:{name}:" in outputs[1]
