"""`TestState`: run one state on a given input, without an execution, and say what it did.

As AWS's TestState: no retries (an error a `Retry` would retry answers `RETRIABLE`), a Catch
that takes the error answers `CAUGHT_ERROR` with where it goes, and `inspectionLevel`
`DEBUG` or `TRACE` adds the data flow stage by stage (`inspectionData`). A Wait answers at
once with its next state. The state runs for real, in a workflow run of its own
(`test-state-<uuid>`) on the worker: a Task calls its handler. AWS's `mock` is not
supported yet, and is refused.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any, Final

from api.sfn import shapes
from api.sfn.arns import check_role
from api.sfn.context import Sfn
from api.sfn.errors import SfnError, validation
from workflows.asl.events import to_json
from workflows.asl.validate import InvalidDefinition, check_definition
from workflows.contracts import ExecutionInput, TestStateResult
from workflows.ids import TEST_STATE_RUNS

TEST_LIMIT: Final = timedelta(minutes=5)
WORKFLOW_TYPE: Final = "StateMachineExecution"
DEFAULT_NAME: Final = "TestState"
_TARGET_FIELDS: Final = ("Next", "Default")


def _targets(state: dict[str, Any]) -> set[str]:
    """Every state `state` can go to, so that a definition of it alone validates."""
    found = {state[key] for key in _TARGET_FIELDS if isinstance(state.get(key), str)}
    for block in ("Choices", "Catch"):
        for rule in state.get(block) or []:
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                found.add(rule["Next"])
    return found


def _machine(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The state to test, by name, inside a definition that validates as a machine."""
    text = shapes.required(params, "definition", max_length=1024 * 1024)
    try:
        document = json.loads(text)
    except ValueError as err:
        raise SfnError("InvalidDefinition", f"Invalid State Machine Definition: {err}") from None
    if not isinstance(document, dict):
        raise SfnError("InvalidDefinition", "Invalid State Machine Definition: not an object")
    name = shapes.string(params, "stateName", max_length=80)
    if "States" in document:
        if name is None:
            raise validation("stateName is required when the definition is a state machine")
        machine = _checked(document)
        if name not in machine["States"]:
            raise validation(f"The state {name!r} is not in the definition")
        return name, machine
    name = name or DEFAULT_NAME
    # A state alone: the states it names become stubs, so that it validates as a machine.
    stubs = {target: {"Type": "Succeed"} for target in _targets(document) if target != name}
    return name, _checked({"StartAt": name, "States": {name: document, **stubs}})


def _checked(machine: dict[str, Any]) -> dict[str, Any]:
    try:
        return check_definition(json.dumps(machine))
    except InvalidDefinition as err:
        raise SfnError("InvalidDefinition", str(err)) from None


async def test_state(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("mock") is not None:
        raise validation("TestState mocks are not supported yet: the state runs for real")
    name, machine = _machine(params)
    role = params.get("roleArn")
    if role is not None:
        check_role(shapes.required(params, "roleArn"))
    level = shapes.string(params, "inspectionLevel") or "INFO"
    if level not in ("INFO", "DEBUG", "TRACE"):
        raise validation(
            f"1 validation error detected: Value '{level}' at 'inspectionLevel' failed to "
            "satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
        )
    value = shapes.json_document(
        shapes.string(params, "input", max_length=10 * 1024 * 1024) or "{}",
        "input",
        "InvalidExecutionInput",
    )
    run = uuid.uuid4().hex
    request = ExecutionInput(
        definition=machine,
        input=value,
        execution_arn=sfn.arns.execution(DEFAULT_NAME, run),
        name=run,
        state_machine_arn=sfn.arns.state_machine(DEFAULT_NAME),
        state_machine_name=DEFAULT_NAME,
        role_arn=role or f"arn:aws:iam::{sfn.arns.account}:role/statewright",
        region=sfn.arns.region,
        account=sfn.arns.account,
        test_state=name,
    )
    client = await sfn.temporal()
    result: TestStateResult = await client.execute_workflow(
        WORKFLOW_TYPE,
        request,
        id=TEST_STATE_RUNS.of(run),
        task_queue=sfn.settings.task_queue,
        execution_timeout=TEST_LIMIT,
        result_type=TestStateResult,
    )
    answer: dict[str, Any] = {"status": result.status}
    if result.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        answer["output"] = to_json(result.output)
        if result.next_state is not None:
            answer["nextState"] = result.next_state
    if result.error is not None:
        answer["error"] = result.error
    if result.cause is not None:
        answer["cause"] = result.cause
    if level in ("DEBUG", "TRACE"):
        answer["inspectionData"] = {
            stage: to_json(data) for stage, data in result.inspection.items()
        }
    return answer
