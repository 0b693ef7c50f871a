"""Run a definition as an execution on a real worker and Temporal server, and read back what
AWS would report: status, output or error and cause, and the history events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

import tests.sfn.handlers  # noqa: F401  (registers the handlers the definitions call)
from workflows.asl.validate import check_definition
from workflows.contracts import ExecutionInput
from workflows.ids import EXECUTION_RUNS
from workflows.state_machines import StateMachineWorkflow

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/test"


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@dataclass
class Outcome:
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def cause_json(self) -> Any:
        assert self.cause is not None
        return json.loads(self.cause)


@dataclass
class Executor:
    client: Client
    task_queue: str

    async def start(self, definition: dict[str, Any], value: Any = None, name: str = "") -> Any:
        machine = "test-machine"
        name = name or uuid.uuid4().hex
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
        request = ExecutionInput(
            definition=check_definition(json.dumps(definition)),
            input={} if value is None else value,
            execution_arn=arn,
            name=name,
            state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}",
            state_machine_name=machine,
            role_arn=ROLE,
            region=REGION,
            account=ACCOUNT,
        )
        return await self.client.start_workflow(
            StateMachineWorkflow.run,
            request,
            id=EXECUTION_RUNS.of(f"{machine}:{name}"),
            task_queue=self.task_queue,
        )

    async def run(self, definition: dict[str, Any], value: Any = None) -> Outcome:
        handle = await self.start(definition, value)
        return await self.outcome(handle)

    async def outcome(self, handle: Any) -> Outcome:
        try:
            output = await handle.result()
            outcome = Outcome("SUCCEEDED", output=output)
        except WorkflowFailureError as err:
            failure = err.cause
            assert isinstance(failure, ApplicationError), failure
            error, cause = failure.details
            outcome = Outcome("FAILED", error=error, cause=cause)
        outcome.events = await handle.query("aws_history")
        # A finished execution answers queries by replaying its history, so its last event
        # must tell what the live run decided: anything else is a replay taking another path.
        last = outcome.events[-1]
        if outcome.status == "SUCCEEDED":
            assert last["type"] == "ExecutionSucceeded", last
            assert json.loads(last["executionSucceededEventDetails"]["output"]) == outcome.output
        else:
            assert last["type"] == "ExecutionFailed", last
            failed = last["executionFailedEventDetails"]
            assert (failed.get("error"), failed.get("cause")) == (outcome.error, outcome.cause)
        return outcome


def events_of(outcome: Outcome, *types: str) -> list[dict[str, Any]]:
    """The outcome's events of the given types, in order."""
    return [event for event in outcome.events if event["type"] in types]


def details(event: dict[str, Any]) -> Any:
    """An event's details, whatever AWS calls their member."""
    keys = [key for key in event if key.endswith("EventDetails")]
    assert len(keys) == 1, event
    return event[keys[0]]


def gaps(outcome: Outcome, before: str, after: str) -> list[float]:
    """Seconds from each `before` event to the next `after` event, on the workflow's clock."""
    found: list[float] = []
    start: float | None = None
    for event in outcome.events:
        if event["type"] == before:
            start = event["timestamp"]
        elif event["type"] == after and start is not None:
            found.append(event["timestamp"] - start)
            start = None
    return found
