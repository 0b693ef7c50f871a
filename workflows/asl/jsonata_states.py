"""JSONata states: `Arguments`, `Output`, `Assign`, Choice `Condition`s and `{% %}`
expressions in any field that takes one, with `$states` (input, result, errorOutput,
context) and the variables of the state's scope. The JSONata half of the interpreter: a
mixin of `engine.Interpreter`, which runs the states' common parts (retries, catchers,
Parallel branches, Map iterations) for both languages.

Expressions are evaluated inline (`jsonata_eval`), replay-safe: time and randomness come from
the workflow's own sources.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows.asl import jsonata_eval
from workflows.asl.choice import NO_CHOICE_MATCHED
from workflows.asl.events import Thread
from workflows.asl.jsonata_eval import QUERY_EVALUATION_ERROR
from workflows.asl.jsonata_eval import Sources as JsonataSources
from workflows.asl.resources import parse_resource
from workflows.asl.state_data import (
    Context,
    StatesError,
    TaskCall,
    TaskRunner,
    as_states_error,
    parse_timestamp,
    tolerated_failures,
    variables_of,
)
from workflows.asl.validate import is_timestamp


class JsonataStates:
    """The JSONata states of `engine.Interpreter`."""

    if TYPE_CHECKING:
        # What the interpreter provides; declared for the type checker.
        tasks: TaskRunner
        testing: Any

        def _inspect(self, stage: str, value: Any) -> Any: ...

        def _check_size(self, name: str, value: Any) -> None: ...

        @staticmethod
        def _next(state: dict[str, Any]) -> str | None: ...

        async def _run_parallel(
            self,
            name: str,
            state: dict[str, Any],
            branch_input: Any,
            context: Context,
            thread: Thread,
        ) -> list[Any]: ...

        async def _run_map(
            self,
            name: str,
            state: dict[str, Any],
            inputs: list[Any],
            limit: int,
            tolerated: int | None,
            context: Context,
            thread: Thread,
        ) -> list[Any]: ...

    def _sources(self) -> JsonataSources:
        return JsonataSources(
            now=workflow.now(), random=workflow.random().random, uuid4=workflow.uuid4
        )

    def _resolve(self, template: Any, states: dict[str, Any], context: Context, field: str) -> Any:
        return jsonata_eval.resolve(
            template, states, variables_of(context) or {}, self._sources(), field=field
        )

    def _resolve_assign(
        self, block: dict[str, Any], states: dict[str, Any], context: Context
    ) -> dict[str, Any]:
        if "Assign" not in block:
            return {}
        assigned: dict[str, Any] = self._resolve(block["Assign"], states, context, "Assign")
        return assigned

    def _jsonata_value(
        self, state: dict[str, Any], field: str, states: dict[str, Any], context: Context
    ) -> Any:
        """A field that is a literal or a `{% %}` expression; None when it is absent."""
        value = state.get(field)
        if isinstance(value, str) and jsonata_eval.is_expression(value):
            return jsonata_eval.evaluate(
                value, states, variables_of(context) or {}, self._sources(), field=field
            )
        return value

    def _jsonata_count(
        self,
        state: dict[str, Any],
        field: str,
        states: dict[str, Any],
        context: Context,
        minimum: int = 0,
    ) -> int | None:
        found = self._jsonata_value(state, field, states, context)
        if found is None:
            return None
        if isinstance(found, float) and found.is_integer():
            found = int(found)
        if isinstance(found, bool) or not isinstance(found, int) or found < minimum:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The field '{field}' must be an integer of at least {minimum}, not {found!r}",
            )
        return found

    async def _jsonata_simple(
        self, kind: str, state: dict[str, Any], value: Any, context: Context
    ) -> tuple[Any, str | None, dict[str, Any]]:
        states: dict[str, Any] = {"input": value, "context": dict(context)}
        if kind == "Fail":
            raise self._jsonata_fail(state, states, context)
        next_state: str | None = None
        rule: dict[str, Any] | None = None
        if kind == "Choice":
            next_state, rule = self._jsonata_choose(state, states, context)
        elif kind == "Wait":
            if self.testing is None:
                await self._jsonata_wait(state, states, context)
            next_state = self._next(state)
        elif kind == "Pass":
            next_state = self._next(state)
        # A matching Choice rule's own Output and Assign come first.
        source = rule if rule is not None and "Output" in rule else state
        output = (
            self._resolve(source["Output"], states, context, "Output")
            if "Output" in source
            else value
        )
        assigned = self._resolve_assign(state, states, context)
        if rule is not None:
            assigned.update(self._resolve_assign(rule, states, context))
        return output, next_state, assigned

    def _jsonata_choose(
        self, state: dict[str, Any], states: dict[str, Any], context: Context
    ) -> tuple[str | None, dict[str, Any] | None]:
        for index, rule in enumerate(state["Choices"]):
            field = f"Choices[{index}]/Condition"
            holds = jsonata_eval.evaluate(
                rule["Condition"], states, variables_of(context) or {}, self._sources(), field=field
            )
            if not isinstance(holds, bool):
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The Condition of Choices[{index}] must evaluate to a boolean, not {holds!r}",
                )
            if holds:
                next_state: str = rule["Next"]
                return next_state, rule
        if "Default" in state:
            default: str = state["Default"]
            return default, None
        raise StatesError(
            NO_CHOICE_MATCHED, "No Choice Rules matched and no Default was specified."
        )

    async def _jsonata_wait(
        self, state: dict[str, Any], states: dict[str, Any], context: Context
    ) -> None:
        if "Seconds" in state:
            seconds = self._jsonata_count(state, "Seconds", states, context)
            delay = float(seconds or 0)
        else:
            stamp = self._jsonata_value(state, "Timestamp", states, context)
            if not isinstance(stamp, str) or not is_timestamp(stamp):
                raise StatesError(
                    QUERY_EVALUATION_ERROR, f"The Timestamp is not a valid timestamp: {stamp!r}"
                )
            delay = (parse_timestamp(stamp) - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(timedelta(seconds=delay))

    def _jsonata_fail(
        self, state: dict[str, Any], states: dict[str, Any], context: Context
    ) -> StatesError:
        try:
            error = self._jsonata_value(state, "Error", states, context)
            cause = self._jsonata_value(state, "Cause", states, context)
        except Exception as err:
            return as_states_error(err)
        for name, found in (("Error", error), ("Cause", cause)):
            if found is not None and not isinstance(found, str):
                return StatesError(
                    QUERY_EVALUATION_ERROR, f"The field '{name}' must be a string, not {found!r}"
                )
        return StatesError(error or "", cause)

    async def _jsonata_body(
        self,
        name: str,
        state: dict[str, Any],
        value: Any,
        context: Context,
        thread: Thread,
    ) -> tuple[Any, dict[str, Any]]:
        kind = state["Type"]
        states: dict[str, Any] = {"input": value, "context": dict(context)}
        if kind == "Task":
            result = await self._jsonata_task(name, state, states, context, thread)
        elif kind == "Parallel":
            branch_input = (
                self._resolve(state["Arguments"], states, context, "Arguments")
                if "Arguments" in state
                else value
            )
            self._inspect("afterArguments", branch_input)
            result = await self._run_parallel(name, state, branch_input, context, thread)
        else:
            result = await self._jsonata_map(name, state, states, context, thread)
        self._inspect("result", result)
        states["result"] = result
        output = (
            self._resolve(state["Output"], states, context, "Output")
            if "Output" in state
            else result
        )
        return output, self._resolve_assign(state, states, context)

    async def _jsonata_task(
        self,
        name: str,
        state: dict[str, Any],
        states: dict[str, Any],
        context: Context,
        thread: Thread,
    ) -> Any:
        target = parse_resource(state["Resource"])
        token = None
        if target.wait_for_token or target.kind == "activity":
            token = self.tasks.new_token()
            context = context.extended(Task={"Token": token})
            states = {**states, "context": dict(context)}
        arguments = (
            self._resolve(state["Arguments"], states, context, "Arguments")
            if "Arguments" in state
            else states["input"]
        )
        self._inspect("afterArguments", arguments)
        self._check_size(name, arguments)
        timeout = self._jsonata_count(state, "TimeoutSeconds", states, context, minimum=1)
        heartbeat = self._jsonata_count(state, "HeartbeatSeconds", states, context, minimum=1)
        return await self.tasks.run(
            TaskCall(
                name,
                target,
                arguments,
                thread,
                None if timeout is None else float(timeout),
                None if heartbeat is None else float(heartbeat),
                token,
            )
        )

    async def _jsonata_map(
        self,
        name: str,
        state: dict[str, Any],
        states: dict[str, Any],
        context: Context,
        thread: Thread,
    ) -> list[Any]:
        items = (
            self._resolve(state["Items"], states, context, "Items")
            if "Items" in state
            else states["input"]
        )
        if not isinstance(items, list):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The Map state's items must be an array, not {items!r}"[:1000],
            )
        inputs = []
        for index, item in enumerate(items):
            if "ItemSelector" not in state:
                inputs.append(item)
                continue
            item_context = context.extended(Map={"Item": {"Index": index, "Value": item}})
            item_states = {**states, "context": dict(item_context)}
            inputs.append(
                self._resolve(state["ItemSelector"], item_states, item_context, "ItemSelector")
            )
        limit = self._jsonata_count(state, "MaxConcurrency", states, context) or 0
        count = self._jsonata_count(state, "ToleratedFailureCount", states, context)
        percentage = self._jsonata_value(state, "ToleratedFailurePercentage", states, context)
        tolerated = tolerated_failures(count, percentage, len(inputs))
        return await self._run_map(name, state, inputs, limit, tolerated, context, thread)
