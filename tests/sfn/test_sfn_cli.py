"""`statewright sfn`, as a person runs it from a shell against a running API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from temporalio.worker import Worker


async def statewright(api: str, *args: str) -> tuple[int, str, str]:
    port = api.rsplit(":", 1)[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "statewright.cli",
        "sfn",
        *args,
        env={**os.environ, "STATEWRIGHT_API_PORT": port},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_deploy_start_wait_history_and_errors(
    api: str, worker: Worker, tmp_path: Path
) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    definition = tmp_path / "machine.json"
    definition.write_text(
        json.dumps(
            {
                "StartAt": "Hi",
                "States": {
                    "Hi": {
                        "Type": "Pass",
                        "Parameters": {"msg.$": "States.Format('Hello, {}!', $.who)"},
                        "End": True,
                    }
                },
            }
        )
    )
    code, out, _ = await statewright(api, "deploy", name, str(definition))
    assert code == 0 and out.startswith("created arn:aws:states:")
    code, out, _ = await statewright(api, "deploy", name, str(definition))
    assert code == 0 and out.startswith("updated ")
    code, out, _ = await statewright(
        api, "start", name, "--input", '{"who": "shell"}', "--execution-name", "e1", "--wait"
    )
    assert code == 0, out
    ending = json.loads(out.split("\n", 1)[1])
    assert ending["status"] == "SUCCEEDED"
    assert json.loads(ending["output"]) == {"msg": "Hello, shell!"}
    code, out, _ = await statewright(api, "history", f"{name}:e1")
    assert [line.split()[1] for line in out.splitlines()] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    code, out, _ = await statewright(api, "executions", name)
    assert out.split()[:2] == ["e1", "SUCCEEDED"]
    code, _, err = await statewright(api, "describe", f"{name}:missing")
    assert code == 1 and err.startswith("ExecutionDoesNotExist: ")
    broken = tmp_path / "broken.json"
    broken.write_text('{"StartAt": "Nowhere", "States": {"A": {"Type": "Succeed"}}}')
    code, out, _ = await statewright(api, "validate", str(broken))
    assert code == 1 and "MISSING_TRANSITION_TARGET" in out
    code, _, err = await statewright(api, "deploy", f"{name}-2", str(broken))
    assert code == 1 and err.startswith("InvalidDefinition: ")
