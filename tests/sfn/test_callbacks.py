"""Callback tasks (`lambda:invoke.waitForTaskToken`), as AWS documents them: the task hands
`$$.Task.Token` to a function and waits for SendTaskSuccess or SendTaskFailure with that
token (here the `complete_task` update, which the API's actions send); SendTaskHeartbeat keeps
it alive past HeartbeatSeconds; TimeoutSeconds bounds the whole task. Tokens nothing waits for
are refused by the update's validator with AWS's error codes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from tests.sfn.handlers import TOKENS
from tests.sfn.harness import Executor, Outcome, details, events_of, gaps
from workflows.asl.tokens import make_token
from workflows.contracts import TaskCallback

WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def key() -> str:
    return uuid.uuid4().hex


def callback_task(name: str, seconds: float = 0, **fields: Any) -> dict[str, Any]:
    """A callback task whose function keeps the token under `name` after `seconds`."""
    state = {
        "Type": "Task",
        "Resource": WAIT_FOR_TOKEN,
        "Parameters": {
            "FunctionName": "remember-token",
            "Payload": {"key": name, "seconds": seconds, "token.$": "$$.Task.Token"},
        },
        **fields,
    }
    if "Next" not in state:
        state["End"] = True
    return state


def machine(first: dict[str, Any], **more: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Wait", "States": {"Wait": first, **more}}


async def token(name: str, count: int = 1) -> str:
    """The `count`th token handed out under `name`, once the function has it."""
    deadline = time.monotonic() + 10
    while len(TOKENS[name]) < count:
        assert time.monotonic() < deadline, f"no task token {count} for {name}"
        await asyncio.sleep(0.02)
    return TOKENS[name][count - 1]


async def send(handle: WorkflowHandle[Any, Any], callback: TaskCallback) -> None:
    await handle.execute_update("complete_task", callback)


async def refusal(handle: WorkflowHandle[Any, Any], callback: TaskCallback) -> str:
    """The error code the update's validator refuses `callback` with."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await send(handle, callback)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


def success(task_token: str, output: Any) -> TaskCallback:
    return TaskCallback(token=task_token, kind="success", output=output)


def failure(task_token: str, error: str, cause: str) -> TaskCallback:
    return TaskCallback(token=task_token, kind="failure", error=error, cause=cause)


def heartbeat(task_token: str) -> TaskCallback:
    return TaskCallback(token=task_token, kind="heartbeat")


async def test_send_task_success_is_the_tasks_result(sfn: Executor) -> None:
    name = key()
    definition = machine(callback_task(name, ResultPath="$.approval"))
    handle = await sfn.start(definition, {"order": 7})
    task_token = await token(name)
    assert isinstance(task_token, str) and 0 < len(task_token) <= 1024
    await send(handle, success(task_token, {"approved": True}))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", {"order": 7, "approval": {"approved": True}})
    assert out.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled, submitted, succeeded = (
        details(e) for e in events_of(out, "TaskScheduled", "TaskSubmitted", "TaskSucceeded")
    )
    assert (scheduled["resourceType"], scheduled["resource"]) == (
        "lambda",
        "invoke.waitForTaskToken",
    )
    assert json.loads(scheduled["parameters"])["Payload"]["token"] == task_token
    # TaskSubmitted holds the function's answer; TaskSucceeded the callback's output.
    assert json.loads(submitted["output"])["Payload"] == {"queued": True}
    assert json.loads(succeeded["output"]) == {"approved": True}


async def test_send_task_failure_fails_the_task(sfn: Executor) -> None:
    name = key()
    handle = await sfn.start(machine(callback_task(name)))
    await send(handle, failure(await token(name), "Approval.Rejected", "over budget"))
    out = await sfn.outcome(handle)
    assert (out.status, out.error, out.cause) == ("FAILED", "Approval.Rejected", "over budget")
    assert out.types()[-2:] == ["TaskFailed", "ExecutionFailed"]
    failed = details(events_of(out, "TaskFailed")[0])
    assert failed == {
        "resourceType": "lambda",
        "resource": "invoke.waitForTaskToken",
        "error": "Approval.Rejected",
        "cause": "over budget",
    }


async def test_a_task_failure_is_caught_like_any_error(sfn: Executor) -> None:
    name = key()
    definition = machine(
        callback_task(
            name,
            Catch=[{"ErrorEquals": ["Approval.Rejected"], "ResultPath": "$.why", "Next": "No"}],
        ),
        No={"Type": "Pass", "End": True},
    )
    handle = await sfn.start(definition, {"order": 1})
    await send(handle, failure(await token(name), "Approval.Rejected", "over budget"))
    out = await sfn.outcome(handle)
    assert out.output == {"order": 1, "why": {"Error": "Approval.Rejected", "Cause": "over budget"}}


async def test_heartbeats_keep_a_task_alive_past_heartbeat_seconds(sfn: Executor) -> None:
    name = key()
    handle = await sfn.start(machine(callback_task(name, HeartbeatSeconds=1, TimeoutSeconds=10)))
    task_token = await token(name)
    for _ in range(5):
        await asyncio.sleep(0.4)
        await send(handle, heartbeat(task_token))
    await send(handle, success(task_token, "done"))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", "done")
    (waited,) = gaps(out, "TaskSubmitted", "TaskSucceeded")
    assert waited > 1.5
    assert details(events_of(out, "TaskScheduled")[0])["heartbeatInSeconds"] == 1


async def test_no_heartbeat_within_heartbeat_seconds_is_a_heartbeat_timeout(
    sfn: Executor,
) -> None:
    name = key()
    handle = await sfn.start(machine(callback_task(name, HeartbeatSeconds=1)))
    task_token = await token(name)
    out = await sfn.outcome(handle)
    assert (out.status, out.error) == ("FAILED", "States.HeartbeatTimeout")
    assert out.types()[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    timed_out = details(events_of(out, "TaskTimedOut")[0])
    assert (timed_out["resource"], timed_out["error"]) == (
        "invoke.waitForTaskToken",
        "States.HeartbeatTimeout",
    )
    (waited,) = gaps(out, "TaskSubmitted", "TaskTimedOut")
    assert 0.9 <= waited < 1.9
    assert task_token


async def test_a_heartbeat_timeout_is_caught_and_its_token_refused(sfn: Executor) -> None:
    name = key()
    definition = machine(
        callback_task(
            name,
            HeartbeatSeconds=1,
            Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Again"}],
        ),
        Again=callback_task(name),
    )
    handle = await sfn.start(definition)
    first = await token(name)
    second = await token(name, 2)
    assert second != first
    assert await refusal(handle, success(first, "late")) == "TaskTimedOut"
    await send(handle, success(second, "ok"))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", "ok")


async def test_timeout_seconds_bounds_the_wait(sfn: Executor) -> None:
    name = key()
    handle = await sfn.start(machine(callback_task(name, TimeoutSeconds=1)))
    await token(name)
    out = await sfn.outcome(handle)
    assert (out.status, out.error) == ("FAILED", "States.Timeout")
    assert out.types()[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    assert details(events_of(out, "TaskTimedOut")[0])["error"] == "States.Timeout"


async def test_timeout_seconds_counts_from_the_start_of_the_task(sfn: Executor) -> None:
    # "The count begins after the task has been started": the call that hands the token out
    # is part of the task, so 1.5 s of it leave 0.5 s of the 2 s to wait for the callback.
    name = key()
    handle = await sfn.start(machine(callback_task(name, seconds=1.5, TimeoutSeconds=2)))
    out = await sfn.outcome(handle)
    assert (out.status, out.error) == ("FAILED", "States.Timeout")
    (took,) = gaps(out, "TaskStarted", "TaskTimedOut")
    assert 1.9 <= took < 2.9


async def test_a_timeout_is_not_a_heartbeat_timeout(sfn: Executor) -> None:
    # With heartbeats arriving, TimeoutSeconds still ends the task as States.Timeout.
    name = key()
    handle = await sfn.start(machine(callback_task(name, HeartbeatSeconds=1, TimeoutSeconds=2)))
    task_token = await token(name)
    outcome: asyncio.Task[Outcome] = asyncio.ensure_future(sfn.outcome(handle))
    began = time.monotonic()
    while not outcome.done() and time.monotonic() - began < 5:
        try:
            await send(handle, heartbeat(task_token))
        except WorkflowUpdateFailedError:
            break  # the task has ended
        await asyncio.sleep(0.3)
    out = await outcome
    assert (out.status, out.error) == ("FAILED", "States.Timeout")


async def test_unknown_tokens_are_refused(sfn: Executor) -> None:
    name = key()
    handle = await sfn.start(machine(callback_task(name)))
    task_token = await token(name)
    never_issued = make_token(handle.id, "999")
    assert await refusal(handle, success(never_issued, "x")) == "TaskDoesNotExist"
    assert await refusal(handle, success("not a token", "x")) == "TaskDoesNotExist"
    assert await refusal(handle, heartbeat(never_issued)) == "TaskDoesNotExist"
    # A refused callback leaves the waiting task as it was.
    await send(handle, success(task_token, "answered"))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", "answered")


async def test_a_used_token_is_refused(sfn: Executor) -> None:
    name = key()
    definition = machine(callback_task(name, Next="Second"), Second=callback_task(name))
    handle = await sfn.start(definition)
    first = await token(name)
    await send(handle, success(first, 1))
    second = await token(name, 2)
    assert await refusal(handle, success(first, "again")) == "TaskTimedOut"
    assert await refusal(handle, failure(first, "E", "c")) == "TaskTimedOut"
    assert await refusal(handle, heartbeat(first)) == "TaskTimedOut"
    await send(handle, success(second, 2))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", 2)


async def test_each_retry_waits_for_a_new_token(sfn: Executor) -> None:
    name = key()
    retry = [{"ErrorEquals": ["Approval.Rejected"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    handle = await sfn.start(machine(callback_task(name, Retry=retry)))
    first = await token(name)
    await send(handle, failure(first, "Approval.Rejected", "try again"))
    second = await token(name, 2)
    assert second != first
    assert await refusal(handle, success(first, "stale")) == "TaskTimedOut"
    await send(handle, success(second, "fresh"))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", "fresh")
    assert out.types().count("TaskSubmitted") == 2


async def test_a_stopped_branchs_token_is_refused(sfn: Executor) -> None:
    name = key()
    definition = machine(
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Ask", "States": {"Ask": callback_task(name)}},
                {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Stop"},
                        "Stop": {"Type": "Fail", "Error": "Stopped"},
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["Stopped"], "Next": "Later"}],
            "End": True,
        },
        Later=callback_task(name),
    )
    handle = await sfn.start(definition)
    first = await token(name)
    second = await token(name, 2)  # the Parallel state failed and was caught
    assert await refusal(handle, success(first, "too late")) == "TaskTimedOut"
    await send(handle, success(second, "ok"))
    out = await sfn.outcome(handle)
    assert (out.status, out.output) == ("SUCCEEDED", "ok")
