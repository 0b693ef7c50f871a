"""The interpreter: runs a validated Amazon States Language definition as workflow code.

Every state type runs here with its JSONPath data flow (`paths`), Choice rules (`choice`),
intrinsic functions (`intrinsics`) and the state's own `Retry` and `Catch`. Tasks go to a
`TaskRunner` (`tasks`). The history AWS would show is written to an `EventLog` as the run
goes. Determinism: time is the workflow's clock, randomness and UUIDs its seeded sources,
waits are durable timers, concurrency is the workflow's own event loop.

Where AWS behaviour was chosen rather than documented, the choice is named beside the code.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from temporalio import workflow

from workflows.asl.choice import choose
from workflows.asl.events import MAX_PAYLOAD_BYTES, EventLog, Thread, payload, payload_size
from workflows.asl.intrinsics import IntrinsicError, Sources, evaluate_expression
from workflows.asl.map_chunks import INLINE_ITERATIONS
from workflows.asl.paths import (
    ABSENT,
    RUNTIME,
    PathError,
    PathField,
    apply_input_path,
    apply_output_path,
    apply_parameters,
    apply_result_path,
    select,
)
from workflows.asl.resources import Target, parse_resource
from workflows.asl.validate import is_timestamp

ALL: Final = "States.ALL"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"
DATA_LIMIT: Final = "States.DataLimitExceeded"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
TOLERATED_FAILURE: Final = "States.ExceedToleratedFailureThreshold"
_TOLERANCE_CAUSE: Final = "The specified tolerated failure threshold was exceeded"
_TERMINAL: Final = frozenset({RUNTIME, DATA_LIMIT})
"""Errors `States.ALL` does not match (AWS: "can't be caught by States.ALL")."""


class StatesError(Exception):
    """An ASL error: a name (`States.Timeout`, a handler's `ValueError`, ...) and a cause."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause

    def as_output(self) -> dict[str, Any]:
        """What a Catch hands on: `{"Error", "Cause"}`."""
        out: dict[str, Any] = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


@dataclass(frozen=True)
class Execution:
    """What `$$.Execution` and `$$.StateMachine` tell: fixed for the whole run."""

    arn: str
    name: str
    input: Any
    role_arn: str
    start_time: datetime
    state_machine_arn: str
    state_machine_name: str
    redrive_count: int = 0


class TaskRunner:
    """Runs a Task state's resource once; `tasks.WorkflowTaskRunner` is the real one."""

    def new_token(self) -> str:
        """A task token for a callback task (`.waitForTaskToken`, an activity)."""
        raise NotImplementedError

    async def run(self, call: TaskCall) -> Any:
        """The task's result; raises `StatesError` when it fails."""
        raise NotImplementedError


@dataclass(frozen=True)
class TaskCall:
    """One attempt of a Task state, its `Parameters` resolved."""

    state_name: str
    target: Target
    parameters: Any
    thread: Thread
    timeout: float | None
    heartbeat: float | None
    token: str | None


def iso_time(at: datetime) -> str:
    """A time as AWS writes it in the context object: UTC, milliseconds, `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _as_states_error(err: Exception) -> StatesError:
    if isinstance(err, StatesError):
        return err
    if isinstance(err, PathError):
        return StatesError(err.error, err.cause)
    if isinstance(err, IntrinsicError):
        return StatesError(INTRINSIC_FAILURE, err.cause)
    return StatesError(RUNTIME, str(err))


def _matches(error_equals: list[str], error: str) -> bool:
    if error == RUNTIME:
        # AWS: "A States.Runtime error isn't retriable, and will always cause the execution
        # to fail", named or not.
        return False
    if error in error_equals:
        return True
    if ALL in error_equals:
        return error not in _TERMINAL
    # States.TaskFailed matches any error except States.Timeout (the spec's wildcard rule).
    return TASK_FAILED in error_equals and error not in _TERMINAL and error != TIMEOUT


@dataclass
class TestReport:
    """What `TestState` answers about one state run once."""

    status: str = "SUCCEEDED"
    output: Any = None
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    caught: StatesError | None = None
    inspection: dict[str, Any] = field(default_factory=dict)


MapChunks = Callable[
    [str, dict[str, Any], list[Any], int, bool, Thread], Awaitable[tuple[list[Any], int]]
]
"""Runs a large Map's iterations in child workflows (`map_chunks`): `(state name, processor,
inputs, MaxConcurrency, whether failures are tolerated, thread)` to `(results, failures)`."""


class Interpreter:
    """One execution of one definition."""

    def __init__(
        self,
        execution: Execution,
        tasks: TaskRunner,
        log: EventLog,
        map_chunks: MapChunks | None = None,
    ) -> None:
        self.execution = execution
        self.tasks = tasks
        self.log = log
        self.map_chunks = map_chunks
        self.testing: TestReport | None = None
        """Set by `test_state`: retries are reported, not made, and the data flow is kept."""
        self.sources = Sources(random=workflow.random().random, uuid4=workflow.uuid4)

    # --- The run and its branches. ---

    async def run(self, definition: dict[str, Any], value: Any) -> Any:
        """The execution's output; raises `StatesError` if it fails."""
        return await self.branch(definition, value, Thread(last=len(self.log.events)))

    async def branch(self, machine: dict[str, Any], value: Any, thread: Thread) -> Any:
        """Run a state machine, a Parallel branch or a Map's item processor from `StartAt`."""
        name: str | None = machine["StartAt"]
        states = machine["States"]
        while name is not None:
            value, name = await self.state(name, states[name], value, thread)
        return value

    async def state(
        self, name: str, state: dict[str, Any], value: Any, thread: Thread
    ) -> tuple[Any, str | None]:
        """Run one state: its output and the state to go to next (None at the end)."""
        kind = state["Type"]
        self.log.add(
            thread, f"{kind}StateEntered", workflow.now(), {"name": name, **payload("input", value)}
        )
        entered = workflow.now()
        context = self.context(name, entered, 0)
        if kind in ("Task", "Parallel", "Map"):
            output, next_state = await self._with_retry_and_catch(
                name, state, value, thread, entered
            )
        else:
            try:
                output, next_state = await self._simple(kind, state, value, context)
            except Exception as err:
                raise _as_states_error(err) from None
        self._check_size(name, output)
        self.log.add(
            thread,
            f"{kind}StateExited",
            workflow.now(),
            {"name": name, **payload("output", output)},
        )
        return output, next_state

    def _inspect(self, stage: str, value: Any) -> Any:
        if self.testing is not None:
            self.testing.inspection[stage] = value
        return value

    async def test_state(self, name: str, state: dict[str, Any], value: Any) -> TestReport:
        """`TestState`: run one state once on `value`, as AWS's TestState does: no retries
        (a retriable error reports RETRIABLE), no waiting, and the data flow kept stage by
        stage."""
        report = TestReport()
        self.testing = report
        report.inspection["input"] = value
        try:
            report.output, report.next_state = await self.state(name, state, value, Thread())
            if report.caught is not None:
                report.error, report.cause = report.caught.error, report.caught.cause
        except StatesError as err:
            report.status = report.status if report.status == "RETRIABLE" else "FAILED"
            report.error, report.cause = err.error, err.cause
        finally:
            self.testing = None
        return report

    def context(
        self, name: str, entered: datetime, retry_count: int, **extra: Any
    ) -> dict[str, Any]:
        """The context object (`$$`) as a state sees it."""
        execution = self.execution
        return {
            "Execution": {
                "Id": execution.arn,
                "Input": execution.input,
                "Name": execution.name,
                "RoleArn": execution.role_arn,
                "StartTime": iso_time(execution.start_time),
                "RedriveCount": execution.redrive_count,
            },
            "State": {"EnteredTime": iso_time(entered), "Name": name, "RetryCount": retry_count},
            "StateMachine": {
                "Id": execution.state_machine_arn,
                "Name": execution.state_machine_name,
            },
            **extra,
        }

    def intrinsic(self, text: str, data: Any, context: Any) -> Any:
        return evaluate_expression(text, data, context, self.sources, select)

    def _check_size(self, name: str, value: Any) -> None:
        if payload_size(value) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                DATA_LIMIT,
                f"The state/task '{name}' returned a result with a size exceeding the maximum "
                "number of bytes service limit.",
            )

    # --- Pass, Choice, Wait, Succeed and Fail. ---

    async def _simple(
        self, kind: str, state: dict[str, Any], value: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None]:
        input_path: PathField = state.get("InputPath", ABSENT)
        output_path: PathField = state.get("OutputPath", ABSENT)
        if kind == "Fail":
            raise self._fail_error(state, value, context)
        effective = self._inspect("afterInputPath", apply_input_path(input_path, value, context))
        if kind == "Pass":
            result = effective
            if "Parameters" in state:
                result = apply_parameters(state["Parameters"], effective, context, self.intrinsic)
                self._inspect("afterParameters", result)
            if "Result" in state:
                result = state["Result"]
            self._inspect("result", result)
            output = apply_result_path(state.get("ResultPath", ABSENT), value, result)
            self._inspect("afterResultPath", output)
            return apply_output_path(output_path, output, context), self._next(state)
        if kind == "Choice":
            next_state = choose(state, effective, context)
            return apply_output_path(output_path, effective, context), next_state
        if kind == "Wait":
            if self.testing is None:  # TestState reports where a Wait goes, without waiting
                await self._wait(state, effective, context)
            return apply_output_path(output_path, effective, context), self._next(state)
        if kind == "Succeed":
            return apply_output_path(output_path, effective, context), None
        raise StatesError(RUNTIME, f"Unknown state type {kind!r}")

    @staticmethod
    def _next(state: dict[str, Any]) -> str | None:
        next_state: str | None = None if state.get("End") else state["Next"]
        return next_state

    def _fail_error(
        self, state: dict[str, Any], value: Any, context: dict[str, Any]
    ) -> StatesError:
        def field(name: str) -> str | None:
            if name in state:
                text: str = state[name]
                return text
            path = state.get(f"{name}Path")
            if path is None:
                return None
            found = (
                self.intrinsic(path, value, context)
                if path.startswith("States.")
                else select(path, value, context)
            )
            if not isinstance(found, str):
                raise StatesError(
                    RUNTIME,
                    f"The value of the field '{name}Path' must be a string, found {found!r}",
                )
            return found

        try:
            error = field("Error")
            cause = field("Cause")
        except StatesError as err:
            return err
        except Exception as err:
            return _as_states_error(err)
        # AWS leaves the error out of the history when a Fail state names none.
        return StatesError(error or "", cause)

    async def _wait(self, state: dict[str, Any], value: Any, context: dict[str, Any]) -> None:
        now = workflow.now()
        if "Seconds" in state:
            delay = float(state["Seconds"])
        elif "SecondsPath" in state:
            seconds = select(state["SecondsPath"], value, context)
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
                raise StatesError(
                    RUNTIME,
                    f"The SecondsPath parameter does not reference a valid non-negative "
                    f"integer value: {seconds!r}",
                )
            delay = float(seconds)
        else:
            stamp = state.get("Timestamp")
            if stamp is None:
                stamp = select(state["TimestampPath"], value, context)
                if not isinstance(stamp, str) or not is_timestamp(stamp):
                    raise StatesError(
                        RUNTIME,
                        f"The TimestampPath parameter does not reference a valid ISO-8601 "
                        f"extended offset date-time format string: {stamp!r}",
                    )
            delay = (_parse_timestamp(stamp) - now).total_seconds()
        if delay > 0:
            await workflow.sleep(timedelta(seconds=delay))

    # --- Task, Parallel and Map: retried and caught as their blocks say. ---

    async def _with_retry_and_catch(
        self, name: str, state: dict[str, Any], value: Any, thread: Thread, entered: datetime
    ) -> tuple[Any, str | None]:
        retriers: list[dict[str, Any]] = state.get("Retry", [])
        used = [0] * len(retriers)
        retry_count = 0
        while True:
            # Choice: a retry does not enter the state again (no new StateEntered event), so
            # $$.State.EnteredTime stays the time of entry; only RetryCount changes.
            context = self.context(name, entered, retry_count)
            try:
                output = await self._body(name, state, value, context, thread)
                self._check_size(name, output)
                return output, self._next(state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = _as_states_error(exc)
            index = next(
                (i for i, r in enumerate(retriers) if _matches(r["ErrorEquals"], err.error)),
                None,
            )
            if index is not None and used[index] < retriers[index].get("MaxAttempts", 3):
                if self.testing is not None:
                    self.testing.status = "RETRIABLE"
                    raise err
                await workflow.sleep(self._retry_delay(retriers[index], used[index]))
                used[index] += 1
                retry_count += 1
                continue
            for catcher in state.get("Catch", []):
                if _matches(catcher["ErrorEquals"], err.error):
                    try:
                        output = apply_result_path(
                            catcher.get("ResultPath", ABSENT), value, err.as_output()
                        )
                    except Exception as path_err:
                        raise _as_states_error(path_err) from None
                    if self.testing is not None:
                        self.testing.status = "CAUGHT_ERROR"
                        self.testing.caught = err
                    return output, catcher["Next"]
            raise err

    def _retry_delay(self, retrier: dict[str, Any], attempt: int) -> timedelta:
        delay = float(retrier.get("IntervalSeconds", 1)) * math.pow(
            float(retrier.get("BackoffRate", 2.0)), attempt
        )
        if "MaxDelaySeconds" in retrier:
            delay = min(delay, float(retrier["MaxDelaySeconds"]))
        if retrier.get("JitterStrategy") == "FULL":
            delay *= workflow.random().random()
        return timedelta(seconds=delay)

    async def _body(
        self,
        name: str,
        state: dict[str, Any],
        value: Any,
        context: dict[str, Any],
        thread: Thread,
    ) -> Any:
        kind = state["Type"]
        effective = apply_input_path(state.get("InputPath", ABSENT), value, context)
        self._inspect("afterInputPath", effective)
        if kind == "Task":
            result = await self._task(name, state, effective, context, thread)
        elif kind == "Parallel":
            result = await self._parallel(name, state, effective, context, thread)
        else:
            result = await self._map(name, state, effective, context, thread)
        self._inspect("result", result)
        if "ResultSelector" in state:
            result = apply_parameters(state["ResultSelector"], result, context, self.intrinsic)
            self._inspect("afterResultSelector", result)
        output = apply_result_path(state.get("ResultPath", ABSENT), value, result)
        self._inspect("afterResultPath", output)
        return apply_output_path(state.get("OutputPath", ABSENT), output, context)

    def _parameters(self, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> Any:
        if "Parameters" not in state:
            return effective
        return apply_parameters(state["Parameters"], effective, context, self.intrinsic)

    def _seconds(
        self, state: dict[str, Any], field: str, effective: Any, context: dict[str, Any]
    ) -> float | None:
        found = self._count(state, field, effective, context, minimum=1)
        return None if found is None else float(found)

    async def _task(
        self,
        name: str,
        state: dict[str, Any],
        effective: Any,
        context: dict[str, Any],
        thread: Thread,
    ) -> Any:
        target = parse_resource(state["Resource"])
        token = None
        if target.wait_for_token or target.kind == "activity":
            token = self.tasks.new_token()
            context = {**context, "Task": {"Token": token}}
        parameters = self._parameters(state, effective, context)
        if "Parameters" in state:
            self._inspect("afterParameters", parameters)
        self._check_size(name, parameters)
        timeout = self._seconds(state, "TimeoutSeconds", effective, context)
        heartbeat = self._seconds(state, "HeartbeatSeconds", effective, context)
        return await self.tasks.run(
            TaskCall(name, target, parameters, thread, timeout, heartbeat, token)
        )

    async def _parallel(
        self,
        name: str,
        state: dict[str, Any],
        effective: Any,
        context: dict[str, Any],
        thread: Thread,
    ) -> list[Any]:
        branch_input = self._parameters(state, effective, context)
        self._check_size(name, branch_input)
        self.log.add(thread, "ParallelStateStarted", workflow.now())
        started = thread.last
        branches = [
            functools.partial(self.branch, branch, branch_input, Thread(last=started))
            for branch in state["Branches"]
        ]
        try:
            results = await run_all_or_first_failure(branches, limit=0)
        except StatesError:
            self.log.add(thread, "ParallelStateFailed", workflow.now())
            raise
        self.log.add(thread, "ParallelStateSucceeded", workflow.now())
        return results

    async def _map(
        self,
        name: str,
        state: dict[str, Any],
        effective: Any,
        context: dict[str, Any],
        thread: Thread,
    ) -> list[Any]:
        items = (
            select(state["ItemsPath"], effective, context) if "ItemsPath" in state else (effective)
        )
        if not isinstance(items, list):
            raise StatesError(
                RUNTIME,
                f"Map state input must be an array, but the selected value is {items!r}"[:1000],
            )
        inputs = self._map_inputs(state, items, effective, context)
        processor = state.get("ItemProcessor") or state["Iterator"]
        limit = self._count(state, "MaxConcurrency", effective, context) or 0
        tolerated = self._tolerance(state, effective, context, len(inputs))
        self.log.add(thread, "MapStateStarted", workflow.now(), {"length": len(inputs)})
        try:
            if self.map_chunks is not None and len(inputs) > INLINE_ITERATIONS:
                results, failures = await self.map_chunks(
                    name, processor, inputs, limit, tolerated is not None, thread
                )
                if tolerated is not None and failures > tolerated:
                    raise StatesError(TOLERATED_FAILURE, _TOLERANCE_CAUSE)
            else:
                results, _ = await self.iterations(
                    name, processor, inputs, 0, limit, tolerated, thread.last
                )
        except StatesError as err:
            self.log.add(thread, "MapStateFailed", workflow.now())
            if tolerated is not None and err.error != TOLERATED_FAILURE:
                raise StatesError(TOLERATED_FAILURE, _TOLERANCE_CAUSE) from err
            raise
        self.log.add(thread, "MapStateSucceeded", workflow.now())
        return results

    async def iterations(
        self,
        name: str,
        processor: dict[str, Any],
        inputs: list[Any],
        first_index: int,
        limit: int,
        tolerated: int | None,
        started: int,
    ) -> tuple[list[Any], int]:
        """Run a Map's iterations (`first_index` onwards), at most `limit` at once (0: all):
        their results in order, and how many failed. The first failure past `tolerated`
        (None: none tolerated) stops the others and is raised."""
        failures = 0

        async def iteration(index: int, item_input: Any) -> Any:
            nonlocal failures
            own = Thread(last=started)
            details = {"name": name, "index": index}
            self.log.add(own, "MapIterationStarted", workflow.now(), details)
            try:
                result = await self.branch(processor, item_input, own)
            except StatesError as err:
                self.log.add(own, "MapIterationFailed", workflow.now(), details)
                failures += 1
                if tolerated is None or failures > tolerated:
                    raise
                # Choice: a tolerated failure leaves its error where its result would be.
                return err.as_output()
            except asyncio.CancelledError:
                self.log.add(own, "MapIterationAborted", workflow.now(), details)
                raise
            self.log.add(own, "MapIterationSucceeded", workflow.now(), details)
            return result

        runs = [
            functools.partial(iteration, first_index + i, item_input)
            for i, item_input in enumerate(inputs)
        ]
        return await run_all_or_first_failure(runs, limit=limit), failures

    def _map_inputs(
        self, state: dict[str, Any], items: list[Any], effective: Any, context: dict[str, Any]
    ) -> list[Any]:
        selector = state.get("ItemSelector", state.get("Parameters"))
        inputs: list[Any] = []
        for index, item in enumerate(items):
            if selector is None:
                inputs.append(item)
                continue
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            inputs.append(apply_parameters(selector, effective, item_context, self.intrinsic))
        batcher = state.get("ItemBatcher")
        if batcher is None:
            return inputs
        size = self._count(batcher, "MaxItemsPerBatch", effective, context) or len(inputs) or 1
        batch_input = batcher.get("BatchInput")
        batches = []
        for start in range(0, len(inputs), size):
            batch: dict[str, Any] = {}
            if batch_input is not None:
                batch["BatchInput"] = apply_parameters(
                    batch_input, effective, context, self.intrinsic
                )
            batch["Items"] = inputs[start : start + size]
            batches.append(batch)
        return batches

    def _count(
        self,
        block: dict[str, Any],
        field: str,
        effective: Any,
        context: dict[str, Any],
        minimum: int = 0,
    ) -> int | None:
        """`field`'s literal value, or the integer its `...Path` form selects (at least
        `minimum`), or None when neither is there."""
        if field in block:
            value: int = block[field]
            return value
        if f"{field}Path" not in block:
            return None
        found = select(block[f"{field}Path"], effective, context)
        if isinstance(found, bool) or not isinstance(found, int) or found < minimum:
            kind = "positive" if minimum > 0 else "non-negative"
            raise StatesError(
                RUNTIME,
                f"The {field}Path parameter does not reference a valid {kind} integer "
                f"value: {found!r}",
            )
        return found

    def _tolerance(
        self, state: dict[str, Any], effective: Any, context: dict[str, Any], total: int
    ) -> int | None:
        count = self._count(state, "ToleratedFailureCount", effective, context)
        percentage: float | None = None
        if "ToleratedFailurePercentage" in state:
            percentage = float(state["ToleratedFailurePercentage"])
        elif "ToleratedFailurePercentagePath" in state:
            found = select(state["ToleratedFailurePercentagePath"], effective, context)
            if (
                isinstance(found, bool)
                or not isinstance(found, int | float)
                or not (0 <= found <= 100)
            ):
                raise StatesError(
                    RUNTIME,
                    "The ToleratedFailurePercentagePath parameter does not reference a number "
                    f"between 0 and 100: {found!r}",
                )
            percentage = float(found)
        if count is None and percentage is None:
            return None
        limits = [count] if count is not None else []
        if percentage is not None:
            limits.append(math.floor(total * percentage / 100))
        return min(limits)


async def run_all_or_first_failure(
    runs: Sequence[Callable[[], Awaitable[Any]]], limit: int
) -> list[Any]:
    """Start `runs` concurrently, at most `limit` at once (0: no limit); on the first failure
    start no more, cancel the rest and raise it. Results keep the order of `runs`.

    A run is started only when admitted, and never after a failure: the failed run releases
    its place before the failure reaches the caller, and the next queued run would otherwise
    take it and start (AWS: "If any iteration fails, entire Map state fails, and all
    iterations are terminated")."""
    gate = asyncio.Semaphore(limit) if limit > 0 else None
    failed = False

    async def watched(run: Callable[[], Awaitable[Any]]) -> Any:
        nonlocal failed
        try:
            return await run()
        except Exception:
            failed = True
            raise

    async def gated(run: Callable[[], Awaitable[Any]]) -> Any:
        if gate is None:
            return await watched(run)
        async with gate:
            if failed:
                raise asyncio.CancelledError
            return await watched(run)

    tasks = [asyncio.ensure_future(gated(run)) for run in runs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        # Let the cancelled siblings record how they ended before the failure moves on.
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _parse_timestamp(text: str) -> datetime:
    # fromisoformat takes at most microseconds and a "Z" since Python 3.11.
    head, _, rest = text.partition(".")
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)].ljust(6, "0") + rest[digits:]
    return datetime.fromisoformat(text)
