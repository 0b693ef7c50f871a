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
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

from workflows.asl import choice, redrive
from workflows.asl.events import MAX_PAYLOAD_BYTES, EventLog, Thread, payload, payload_size
from workflows.asl.intrinsics import Sources, evaluate_expression
from workflows.asl.jsonata_states import JsonataStates
from workflows.asl.map_chunks import INLINE_ITERATIONS
from workflows.asl.paths import (
    ABSENT,
    RUNTIME,
    PathField,
    apply_result_path,
)
from workflows.asl.resources import parse_resource
from workflows.asl.state_data import (
    DATA_LIMIT,
    JSONATA,
    TOLERANCE_CAUSE,
    TOLERATED_FAILURE,
    Context,
    Execution,
    StatesError,
    TaskCall,
    TaskRunner,
    apply_input_path,
    apply_output_path,
    apply_parameters,
    as_states_error,
    choose,
    iso_time,
    matches_error,
    parse_timestamp,
    select,
    tolerated_failures,
    variables_of,
)
from workflows.asl.validate import is_timestamp


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
    [str, dict[str, Any], list[Any], int, bool, Thread, dict[str, Any]],
    Awaitable[tuple[list[Any], int]],
]
"""Runs a large Map's iterations in child workflows (`map_chunks`): `(state name, processor,
inputs, MaxConcurrency, whether failures are tolerated, thread, variables)` to `(results,
failures)`."""


class Interpreter(JsonataStates):
    """One execution of one definition."""

    def __init__(
        self,
        execution: Execution,
        tasks: TaskRunner,
        log: EventLog,
        map_chunks: MapChunks | None = None,
        language: str = "JSONPath",
    ) -> None:
        self.execution = execution
        self.tasks = tasks
        self.log = log
        self.map_chunks = map_chunks
        self.language = language
        """The definition's `QueryLanguage`: each state's unless it names its own."""
        self.testing: TestReport | None = None
        """Set by `test_state`: retries are reported, not made, and the data flow is kept."""
        self.sources = Sources(random=workflow.random().random, uuid4=workflow.uuid4)

    # --- The run and its branches. ---

    async def run(self, definition: dict[str, Any], value: Any) -> Any:
        """The execution's output; raises `StatesError` if it fails."""
        return await self.branch(definition, value, Thread(last=len(self.log.events)))

    async def branch(
        self,
        machine: dict[str, Any],
        value: Any,
        thread: Thread,
        variables: dict[str, Any] | None = None,
    ) -> Any:
        """Run a state machine, a Parallel branch or a Map's item processor from `StartAt`.

        `variables` is the branch's scope: a copy of the enclosing one, so what the branch
        assigns stays in it, as AWS scopes variables."""
        scope = {} if variables is None else variables
        name: str | None = machine["StartAt"]
        states = machine["States"]
        plan, thread.resume = thread.resume, None
        if plan is not None and plan.get("at") in states:
            # A redrive: start where the earlier run of this line stood, as it stood there.
            name, value = plan["at"], plan.get("input")
            scope = dict(plan.get("variables") or {})
            thread.pending = plan.get("children") or None
        while name is not None:
            value, name = await self.state(name, states[name], value, thread, scope)
            thread.pending = None
        redrive.finished(thread.node, value)
        return value

    async def state(
        self,
        name: str,
        state: dict[str, Any],
        value: Any,
        thread: Thread,
        variables: dict[str, Any] | None = None,
    ) -> tuple[Any, str | None]:
        """Run one state: its output and the state to go to next (None at the end)."""
        scope = {} if variables is None else variables
        kind = state["Type"]
        self.log.add(
            thread, f"{kind}StateEntered", workflow.now(), {"name": name, **payload("input", value)}
        )
        entered = workflow.now()
        redrive.entered(thread.node, name, value, scope)
        context = self.context(name, entered, 0, scope)
        jsonata = state.get("QueryLanguage", self.language) == JSONATA
        if kind in ("Task", "Parallel", "Map"):
            output, next_state, assigned = await self._with_retry_and_catch(
                name, state, value, thread, entered, scope, jsonata
            )
            redrive.settled(thread.node, name)
        else:
            try:
                if jsonata:
                    output, next_state, assigned = await self._jsonata_simple(
                        kind, state, value, context
                    )
                else:
                    output, next_state, assigned = await self._simple(kind, state, value, context)
            except Exception as err:
                raise as_states_error(err) from None
        self._check_size(name, output)
        # Every Assign of the state read the variables as they were when it was entered.
        scope.update(assigned)
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
        self,
        name: str,
        entered: datetime,
        retry_count: int,
        variables: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Context:
        """The context object (`$$`) as a state sees it, and the variables it may read."""
        execution = self.execution
        context = Context(
            {
                "Execution": {
                    "Id": execution.arn,
                    "Input": execution.input,
                    "Name": execution.name,
                    "RoleArn": execution.role_arn,
                    "StartTime": iso_time(execution.start_time),
                    "RedriveCount": execution.redrive_count,
                    **(
                        {"RedriveTime": iso_time(execution.redrive_time)}
                        if execution.redrive_time is not None
                        else {}
                    ),
                },
                "State": {
                    "EnteredTime": iso_time(entered),
                    "Name": name,
                    "RetryCount": retry_count,
                },
                "StateMachine": {
                    "Id": execution.state_machine_arn,
                    "Name": execution.state_machine_name,
                },
                **extra,
            }
        )
        context.variables = variables
        return context

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
        self, kind: str, state: dict[str, Any], value: Any, context: Context
    ) -> tuple[Any, str | None, dict[str, Any]]:
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
            assigned = self._assign(state, result, context)
            output = apply_result_path(state.get("ResultPath", ABSENT), value, result)
            self._inspect("afterResultPath", output)
            return apply_output_path(output_path, output, context), self._next(state), assigned
        if kind == "Choice":
            next_state, rule = self._choose(state, effective, context)
            assigned = {
                **self._assign(state, effective, context),
                **self._assign(rule or {}, effective, context),
            }
            return apply_output_path(output_path, effective, context), next_state, assigned
        if kind == "Wait":
            assigned = self._assign(state, effective, context)
            if self.testing is None:  # TestState reports where a Wait goes, without waiting
                await self._wait(state, effective, context)
            output = apply_output_path(output_path, effective, context)
            return output, self._next(state), assigned
        if kind == "Succeed":
            return apply_output_path(output_path, effective, context), None, {}
        raise StatesError(RUNTIME, f"Unknown state type {kind!r}")

    def _assign(self, block: dict[str, Any], data: Any, context: Context) -> dict[str, Any]:
        """A JSONPath `Assign`: its `.$` values read `data` (the state's result, or its
        input where it has none), the context and the variables as they were on entry."""
        if "Assign" not in block:
            return {}
        assigned: dict[str, Any] = apply_parameters(block["Assign"], data, context, self.intrinsic)
        return assigned

    def _choose(
        self, state: dict[str, Any], data: Any, context: Context
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The next state, and the rule that chose it (None for the Default)."""
        for rule in state["Choices"]:
            if choice.matches(rule, data, context, variables=variables_of(context)):
                return rule["Next"], rule
        return choose(state, data, context), None

    @staticmethod
    def _next(state: dict[str, Any]) -> str | None:
        next_state: str | None = None if state.get("End") else state["Next"]
        return next_state

    def _fail_error(self, state: dict[str, Any], value: Any, context: Context) -> StatesError:
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
            return as_states_error(err)
        # AWS leaves the error out of the history when a Fail state names none.
        return StatesError(error or "", cause)

    async def _wait(self, state: dict[str, Any], value: Any, context: Context) -> None:
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
            delay = (parse_timestamp(stamp) - now).total_seconds()
        if delay > 0:
            await workflow.sleep(timedelta(seconds=delay))

    # --- Task, Parallel and Map: retried and caught as their blocks say. ---

    async def _with_retry_and_catch(
        self,
        name: str,
        state: dict[str, Any],
        value: Any,
        thread: Thread,
        entered: datetime,
        variables: dict[str, Any],
        jsonata: bool = False,
    ) -> tuple[Any, str | None, dict[str, Any]]:
        retriers: list[dict[str, Any]] = state.get("Retry", [])
        used = [0] * len(retriers)
        retry_count = 0
        body = self._jsonata_body if jsonata else self._body
        while True:
            # Choice: a retry does not enter the state again (no new StateEntered event), so
            # $$.State.EnteredTime stays the time of entry; only RetryCount changes.
            context = self.context(name, entered, retry_count, variables)
            try:
                output, assigned = await body(name, state, value, context, thread)
                self._check_size(name, output)
                return output, self._next(state), assigned
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = as_states_error(exc)
            index = next(
                (i for i, r in enumerate(retriers) if matches_error(r["ErrorEquals"], err.error)),
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
                if matches_error(catcher["ErrorEquals"], err.error):
                    try:
                        output, assigned = self._caught(catcher, value, err, context, jsonata)
                    except Exception as path_err:
                        raise as_states_error(path_err) from None
                    if self.testing is not None:
                        self.testing.status = "CAUGHT_ERROR"
                        self.testing.caught = err
                    return output, catcher["Next"], assigned
            raise err

    def _caught(
        self,
        catcher: dict[str, Any],
        value: Any,
        err: StatesError,
        context: Context,
        jsonata: bool,
    ) -> tuple[Any, dict[str, Any]]:
        """A catcher's output and assignments, from the error output `{Error, Cause}`."""
        error_output = err.as_output()
        if not jsonata:
            output = apply_result_path(catcher.get("ResultPath", ABSENT), value, error_output)
            return output, self._assign(catcher, error_output, context)
        states = {"input": value, "context": dict(context), "errorOutput": error_output}
        output = (
            self._resolve(catcher["Output"], states, context, "Output")
            if "Output" in catcher
            else error_output
        )
        return output, self._resolve_assign(catcher, states, context)

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
        context: Context,
        thread: Thread,
    ) -> tuple[Any, dict[str, Any]]:
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
        assigned = self._assign(state, result, context)
        output = apply_result_path(state.get("ResultPath", ABSENT), value, result)
        self._inspect("afterResultPath", output)
        return apply_output_path(state.get("OutputPath", ABSENT), output, context), assigned

    def _parameters(self, state: dict[str, Any], effective: Any, context: Context) -> Any:
        if "Parameters" not in state:
            return effective
        return apply_parameters(state["Parameters"], effective, context, self.intrinsic)

    def _seconds(
        self, state: dict[str, Any], field: str, effective: Any, context: Context
    ) -> float | None:
        found = self._count(state, field, effective, context, minimum=1)
        return None if found is None else float(found)

    async def _task(
        self,
        name: str,
        state: dict[str, Any],
        effective: Any,
        context: Context,
        thread: Thread,
    ) -> Any:
        target = parse_resource(state["Resource"])
        token = None
        if target.wait_for_token or target.kind == "activity":
            token = self.tasks.new_token()
            context = context.extended(Task={"Token": token})
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
        context: Context,
        thread: Thread,
    ) -> list[Any]:
        branch_input = self._parameters(state, effective, context)
        return await self._run_parallel(name, state, branch_input, context, thread)

    async def _run_parallel(
        self,
        name: str,
        state: dict[str, Any],
        branch_input: Any,
        context: Context,
        thread: Thread,
    ) -> list[Any]:
        self._check_size(name, branch_input)
        self.log.add(thread, "ParallelStateStarted", workflow.now())
        started = thread.last
        nodes = redrive.branches_of(thread.node, name)
        plans = thread.pending.pop(name, None) if thread.pending else None

        def run_branch(index: int, branch: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
            plan, node = redrive.claim(nodes, plans, str(index))
            if plan is not None and redrive.is_done(plan):
                return functools.partial(_already, plan.get("output"))
            return functools.partial(
                self.branch,
                branch,
                branch_input,
                Thread(last=started, node=node, resume=plan),
                dict(variables_of(context) or {}),
            )

        branches = [run_branch(index, branch) for index, branch in enumerate(state["Branches"])]
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
        context: Context,
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
        limit = self._count(state, "MaxConcurrency", effective, context) or 0
        tolerated = self._tolerance(state, effective, context, len(inputs))
        return await self._run_map(name, state, inputs, limit, tolerated, context, thread)

    async def _run_map(
        self,
        name: str,
        state: dict[str, Any],
        inputs: list[Any],
        limit: int,
        tolerated: int | None,
        context: Context,
        thread: Thread,
    ) -> list[Any]:
        """A Map's iterations over `inputs`, inline or in chunks; its result."""
        processor = state.get("ItemProcessor") or state["Iterator"]
        variables = variables_of(context) or {}
        self.log.add(thread, "MapStateStarted", workflow.now(), {"length": len(inputs)})
        try:
            if self.map_chunks is not None and len(inputs) > INLINE_ITERATIONS:
                results, failures = await self.map_chunks(
                    name, processor, inputs, limit, tolerated is not None, thread, variables
                )
                if tolerated is not None and failures > tolerated:
                    raise StatesError(TOLERATED_FAILURE, TOLERANCE_CAUSE)
            else:
                nodes = redrive.branches_of(thread.node, name)
                plans = thread.pending.pop(name, None) if thread.pending else None
                results, _ = await self.iterations(
                    name,
                    processor,
                    inputs,
                    0,
                    limit,
                    tolerated,
                    thread.last,
                    variables,
                    nodes=nodes,
                    plans=plans,
                )
        except StatesError as err:
            self.log.add(thread, "MapStateFailed", workflow.now())
            if tolerated is not None and err.error != TOLERATED_FAILURE:
                raise StatesError(TOLERATED_FAILURE, TOLERANCE_CAUSE) from err
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
        variables: dict[str, Any] | None = None,
        *,
        nodes: dict[str, Any] | None = None,
        plans: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """Run a Map's iterations (`first_index` onwards), at most `limit` at once (0: all):
        their results in order, and how many failed. The first failure past `tolerated`
        (None: none tolerated) stops the others and is raised.

        `nodes` receives each iteration's position (`redrive`); `plans` holds where an
        earlier run's iterations ended: one that finished there is not run again."""
        failures = 0

        async def iteration(index: int, item_input: Any) -> Any:
            nonlocal failures
            plan, node = redrive.claim(nodes, plans, str(index))
            if plan is not None and redrive.is_done(plan):
                return plan.get("output")
            own = Thread(last=started, node=node, resume=plan)
            details = {"name": name, "index": index}
            self.log.add(own, "MapIterationStarted", workflow.now(), details)
            try:
                result = await self.branch(processor, item_input, own, dict(variables or {}))
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
        self, state: dict[str, Any], items: list[Any], effective: Any, context: Context
    ) -> list[Any]:
        selector = state.get("ItemSelector", state.get("Parameters"))
        inputs: list[Any] = []
        for index, item in enumerate(items):
            if selector is None:
                inputs.append(item)
                continue
            item_context = context.extended(Map={"Item": {"Index": index, "Value": item}})
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
        context: Context,
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
        self, state: dict[str, Any], effective: Any, context: Context, total: int
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
        return tolerated_failures(count, percentage, total)


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


async def _already(output: Any) -> Any:
    """A branch that finished in an earlier run: its output, without running it again."""
    return output
