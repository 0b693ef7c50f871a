"""`statewright sfn`, as a person runs it from a shell against a running API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from temporalio.worker import Worker

from tests.sfn.aws import Aws
from tests.sfn.harness import ROLE
from workflows.seeds import SEEDS, SUPPORT_CASE, WEBHOOK


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


async def test_seed_registers_the_seeds_once(api: str) -> None:
    """`statewright sfn seed`: created, then unchanged; a machine whose definition was
    changed is updated back to the seed's; each seed's type is the seed's."""
    aws = Aws(api)
    for seed in SEEDS:
        await aws("delete_state_machine", stateMachineArn=machine_arn(seed.name))

    code, out, err = await statewright(api, "seed")
    assert code == 0, err
    assert out.splitlines() == [f"created   {seed.name}" for seed in SEEDS]
    code, out, _ = await statewright(api, "seed")
    assert out.splitlines() == [f"unchanged {seed.name}" for seed in SEEDS]

    changed = SUPPORT_CASE.definition()
    changed["Comment"] = "changed by hand"
    await aws(
        "update_state_machine",
        stateMachineArn=machine_arn(SUPPORT_CASE.name),
        definition=json.dumps(changed),
    )
    code, out, _ = await statewright(api, "seed")
    assert code == 0
    assert f"updated   {SUPPORT_CASE.name}" in out.splitlines()
    assert out.count("unchanged") == len(SEEDS) - 1
    for seed in SEEDS:
        described = await aws("describe_state_machine", stateMachineArn=machine_arn(seed.name))
        assert (described["definition"], described["type"]) == (seed.definition_text(), seed.type)


async def test_seed_refuses_a_machine_of_the_other_type(api: str) -> None:
    aws = Aws(api)
    arn = machine_arn(WEBHOOK.name)
    await aws("delete_state_machine", stateMachineArn=arn)
    await aws(
        "create_state_machine",
        name=WEBHOOK.name,
        definition=WEBHOOK.definition_text(),
        roleArn=ROLE,
        type="STANDARD",
    )
    try:
        code, out, _ = await statewright(api, "seed")
    finally:
        await aws("delete_state_machine", stateMachineArn=arn)
        await statewright(api, "seed")
    assert code == 1
    assert f"refused   {WEBHOOK.name}: it exists as a STANDARD machine" in out


def machine_arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
