"""The Step Functions vocabulary (`workflows.step_functions`) on its own, through small
workflows defined here, on the real Temporal dev server: how catch routes a business error, an
unexpected one and a cancel; that a failure already decided passes an enclosing catch; that
all_or_cancel stops the siblings of a failed branch; that finish outlives a cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, is_cancelled_exception
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from worker.interceptors import StepFailures
from workflows.step_functions import (
    STEP_FAILED,
    UNTIL_DONE,
    RunFailure,
    all_or_cancel,
    catch,
    fail,
    finish,
    local_step,
    regular_step,
    step_policy,
)

REFUSED = "Refused"
PROBE_TIMEOUT = timedelta(seconds=30)


class Probe(BaseModel):
    """One step in a catch: the activity, how it runs, and whether a handler takes the
    failure."""

    activity: Literal["refuse", "break_down"]
    kind: Literal["local", "regular"]
    handled: bool


@workflow.defn(name="CatchProbe")
class CatchProbe:
    """Runs one failing step in a catch that knows REFUSED as a business error."""

    @workflow.run
    async def run(self, probe: Probe) -> str:
        schedule = local_step if probe.kind == "local" else regular_step
        step = schedule(probe.activity, "the rules", str, step_policy(REFUSED))
        if not probe.handled:
            return await catch(step, [REFUSED])
        return await catch(step, [REFUSED], on_failure=self._describe)

    @staticmethod
    async def _describe(failure: RunFailure) -> str:
        """What reached the handler: the run's failure, chained to the step's error."""
        cause = type(failure.__cause__).__name__
        return f"{failure.type}|{failure.message}|{failure.category.name}|{cause}"


@workflow.defn(name="CancelProbe")
class CancelProbe:
    """Waits on a step that never ends, in a catch with or without a cancel handler."""

    @workflow.run
    async def run(self, handled: bool) -> str:
        step = regular_step("hang", "forever", str, step_policy())
        if not handled:
            return await catch(step)
        return await catch(step, on_cancel=self._withdraw)

    @staticmethod
    async def _withdraw(cancel: BaseException) -> str:
        return "withdrawn" if is_cancelled_exception(cancel) else f"not a cancel: {cancel!r}"


@workflow.defn(name="DecidedProbe")
class DecidedProbe:
    """A failure decided inside a catch: by an inner catch that compensates, or a Fail state.
    The enclosing catch knows no business error, so anything it converted would be
    StepFailed."""

    def __init__(self) -> None:
        self._compensated = False

    @workflow.run
    async def run(self, how: Literal["inner_catch", "fail_state"]) -> str:
        block = self._inner() if how == "inner_catch" else self._fail_state()
        return await catch(block)

    async def _inner(self) -> str:
        step = local_step("refuse", "the rules", str, step_policy(REFUSED))
        return await catch(step, [REFUSED], on_failure=self._compensate)

    async def _compensate(self, failure: RunFailure) -> str:
        self._compensated = True
        raise failure

    @staticmethod
    async def _fail_state() -> str:
        await workflow.sleep(0.01)
        raise fail("NotToday", "the seed's Fail state")

    @workflow.query(name="compensated")
    def compensated(self) -> bool:
        return self._compensated


@workflow.defn(name="ParallelProbe")
class ParallelProbe:
    """Two branches: one never ends, the other is refused. Says how the first one ended."""

    def __init__(self) -> None:
        self._sibling: str | None = None

    @workflow.run
    async def run(self) -> str:
        refused = regular_step("refuse", "the rules", str, step_policy(REFUSED))
        branches = all_or_cancel([self._hanging_branch(), refused])
        return "; ".join(await catch(branches, [REFUSED], on_failure=self._after))

    async def _hanging_branch(self) -> str:
        try:
            return await regular_step("hang", "sibling", str, step_policy())
        except BaseException as err:
            self._sibling = "cancelled" if is_cancelled_exception(err) else f"failed: {err!r}"
            raise

    async def _after(self, failure: RunFailure) -> list[str]:
        await workflow.wait_condition(lambda: self._sibling is not None)
        return [str(failure.type), f"sibling {self._sibling}"]


@workflow.defn(name="FinishProbe")
class FinishProbe:
    """Finishes a slow step through a cancel, then says whether it saw the cancel."""

    @workflow.run
    async def run(self) -> str:
        done = await finish(regular_step("slow", "the charge", str, UNTIL_DONE))
        return f"{done}; cancel seen: {workflow.cancellation_reason() is not None}"


class Steps:
    """The probes' activities; `started` is set once a step that waits has begun."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    @activity.defn(name="refuse")
    async def refuse(self, why: str) -> str:
        raise ApplicationError(f"refused: {why}", {"why": why}, type=REFUSED, non_retryable=True)

    @activity.defn(name="break_down")
    async def break_down(self, _: str) -> str:
        # Non-retryable, so the probe need not wait out a bug's retries.
        raise ApplicationError("it broke", type="Broken", non_retryable=True)

    @activity.defn(name="hang")
    async def hang(self, _: str) -> str:
        self.started.set()
        await asyncio.Event().wait()  # until the worker shuts down
        raise AssertionError("unreachable")

    @activity.defn(name="slow")
    async def slow(self, what: str) -> str:
        self.started.set()
        await self.release.wait()
        return f"done: {what}"


@asynccontextmanager
async def probes(client: Client, task_queue: str, steps: Steps) -> AsyncIterator[Worker]:
    """A worker for the probes, with the production activity interceptor."""
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[CatchProbe, CancelProbe, DecidedProbe, ParallelProbe, FinishProbe],
        activities=[steps.refuse, steps.break_down, steps.hang, steps.slow],
        interceptors=[StepFailures()],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ) as worker:
        yield worker


async def start(client: Client, task_queue: str, run: Any, *args: Any) -> WorkflowHandle[Any, Any]:
    """Start a probe; one that never ends times out, so a broken word fails its test rather
    than hanging it."""
    return await client.start_workflow(
        run,
        *args,
        id=f"probe-{uuid.uuid4().hex}",
        task_queue=task_queue,
        execution_timeout=PROBE_TIMEOUT,
    )


async def run_failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def event_kinds(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    return [event.event_type for event in (await handle.fetch_history()).events]


@pytest.mark.parametrize("kind", ["local", "regular"])
async def test_catch_keeps_a_business_errors_type_and_message(
    client: Client, task_queue: str, kind: Literal["local", "regular"]
) -> None:
    async with probes(client, task_queue, Steps()):
        probe = Probe(activity="refuse", kind=kind, handled=True)
        handled = await (await start(client, task_queue, CatchProbe.run, probe)).result()
        unhandled = await start(
            client, task_queue, CatchProbe.run, Probe(activity="refuse", kind=kind, handled=False)
        )
        failure = await run_failure_of(unhandled)

    step_error = "ApplicationError" if kind == "local" else "ActivityError"
    assert handled == f"{REFUSED}|refused: the rules|BENIGN|{step_error}"
    assert (failure.type, failure.message) == (REFUSED, "refused: the rules")
    assert failure.non_retryable and failure.details == ({"why": "the rules"},)


@pytest.mark.parametrize(
    ("kind", "message"),
    [("local", "it broke"), ("regular", "break_down failed: it broke")],
)
async def test_catch_reports_an_unexpected_error_as_a_failed_step(
    client: Client, task_queue: str, kind: Literal["local", "regular"], message: str
) -> None:
    """A local step's failure comes without its name; a regular step's failure names it."""
    async with probes(client, task_queue, Steps()):
        probe = Probe(activity="break_down", kind=kind, handled=True)
        handled = await (await start(client, task_queue, CatchProbe.run, probe)).result()
        unhandled = await start(
            client,
            task_queue,
            CatchProbe.run,
            Probe(activity="break_down", kind=kind, handled=False),
        )
        failure = await run_failure_of(unhandled)

    assert handled.split("|")[:3] == [STEP_FAILED, message, "UNSPECIFIED"], "not marked expected"
    assert (failure.type, failure.message, failure.non_retryable) == (STEP_FAILED, message, True)


@pytest.mark.parametrize("handled", [True, False])
async def test_catch_hands_a_cancel_to_its_handler_or_lets_it_end_the_run(
    client: Client, task_queue: str, handled: bool
) -> None:
    steps = Steps()
    async with probes(client, task_queue, steps):
        handle = await start(client, task_queue, CancelProbe.run, handled)
        await steps.started.wait()
        await handle.cancel()
        if handled:
            assert await handle.result() == "withdrawn"
        else:
            with pytest.raises(WorkflowFailureError):
                await handle.result()
        status = (await handle.describe()).status

    expected = "COMPLETED" if handled else "CANCELED"
    assert status == WorkflowExecutionStatus[expected]


@pytest.mark.parametrize("how", ["inner_catch", "fail_state"])
async def test_a_failure_decided_inside_passes_an_enclosing_catch_as_it_is(
    client: Client, task_queue: str, how: Literal["inner_catch", "fail_state"]
) -> None:
    async with probes(client, task_queue, Steps()):
        handle = await start(client, task_queue, DecidedProbe.run, how)
        failure = await run_failure_of(handle)
        compensated = await handle.query(DecidedProbe.compensated)

    if how == "inner_catch":
        assert (failure.type, failure.message) == (REFUSED, "refused: the rules")
        assert compensated, "the inner catch's handler ran"
    else:
        assert (failure.type, failure.message) == ("NotToday", "the seed's Fail state")
        assert failure.category.name == "BENIGN" and failure.non_retryable
        assert failure.cause is None, "a Fail state's error stands alone"


async def test_all_or_cancel_cancels_the_siblings_of_the_first_failure(
    client: Client, task_queue: str
) -> None:
    async with probes(client, task_queue, Steps()):
        handle = await start(client, task_queue, ParallelProbe.run)
        result = await handle.result()
        kinds = await event_kinds(handle)

    assert result == f"{REFUSED}; sibling cancelled"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED in kinds, "the server was told"


async def test_finish_awaits_its_step_to_the_end_through_a_cancel(
    client: Client, task_queue: str
) -> None:
    steps = Steps()
    async with probes(client, task_queue, steps):
        handle = await start(client, task_queue, FinishProbe.run)
        await steps.started.wait()
        await handle.cancel()
        await until_the_run_has_taken_the_cancel(handle)
        steps.release.set()
        result = await handle.result()
        kinds = await event_kinds(handle)

    assert result == "done: the charge; cancel seen: True"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED not in kinds, "never cancelled"
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED in kinds


async def until_the_run_has_taken_the_cancel(handle: WorkflowHandle[Any, Any]) -> None:
    """Until a workflow task that began after the cancel request has completed."""
    requested = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    for _ in range(300):
        kinds = await event_kinds(handle)
        after = kinds[kinds.index(requested) :] if requested in kinds else []
        if EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in after:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never took the cancel in")
