"""What every state works with: ASL errors, the execution's facts, the context object with
the variables of the state's scope, the JSONPath data flow reading those variables, and
the task interface. Shared by the interpreter (`engine`), its JSONata states
(`jsonata_states`) and its tasks (`tasks`).

Workflow-side only and deterministic, like the rest of `workflows/asl`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from workflows.asl import choice, paths
from workflows.asl.events import Thread
from workflows.asl.intrinsics import IntrinsicError
from workflows.asl.jsonata_eval import QUERY_EVALUATION_ERROR, QueryError
from workflows.asl.paths import RUNTIME, PathError, PathField
from workflows.asl.resources import Target

ALL: Final = "States.ALL"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"
DATA_LIMIT: Final = "States.DataLimitExceeded"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
TOLERATED_FAILURE: Final = "States.ExceedToleratedFailureThreshold"
JSONATA: Final = "JSONata"
TOLERANCE_CAUSE: Final = "The specified tolerated failure threshold was exceeded"
NO_CHOICE_CAUSE: Final = "No Choice Rules matched and no Default was specified."
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
    redrive_time: datetime | None = None


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


class Context(dict[str, Any]):
    """The context object (`$$`) a state sees, with the workflow variables in its scope
    carried beside it, not in it: `$$` paths never see them, `$name` paths do."""

    variables: dict[str, Any] | None = None

    def extended(self, **extra: Any) -> Context:
        """This context with more members (`Task`, `Map`), and the same variables."""
        context = Context({**self, **extra})
        context.variables = self.variables
        return context


def variables_of(context: Any) -> dict[str, Any] | None:
    return getattr(context, "variables", None)


# The data flow with the variables of the state's scope; each takes them from the context.


def select(path: str | paths.Path, data: Any, context: Any = None) -> Any:
    return paths.select(path, data, context, variables=variables_of(context))


def apply_input_path(path: PathField, data: Any, context: Any) -> Any:
    return paths.apply_input_path(path, data, context, variables=variables_of(context))


def apply_output_path(path: PathField, data: Any, context: Any) -> Any:
    return paths.apply_output_path(path, data, context, variables=variables_of(context))


def apply_parameters(template: Any, data: Any, context: Any, intrinsic: paths.Intrinsic) -> Any:
    return paths.apply_parameters(
        template, data, context, intrinsic, variables=variables_of(context)
    )


def choose(state: dict[str, Any], data: Any, context: Any) -> str | None:
    return choice.choose(state, data, context, variables=variables_of(context))


def as_states_error(err: Exception) -> StatesError:
    if isinstance(err, StatesError):
        return err
    if isinstance(err, PathError):
        return StatesError(err.error, err.cause)
    if isinstance(err, IntrinsicError):
        return StatesError(INTRINSIC_FAILURE, err.cause)
    if isinstance(err, QueryError):
        return StatesError(QUERY_EVALUATION_ERROR, err.cause)
    return StatesError(RUNTIME, str(err))


def matches_error(error_equals: list[str], error: str) -> bool:
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


def tolerated_failures(count: int | None, percentage: Any, total: int) -> int | None:
    """How many failed iterations a Map tolerates: the lower of its count and its percentage
    of `total`; None when it sets neither."""
    if percentage is not None and (
        isinstance(percentage, bool)
        or not isinstance(percentage, int | float)
        or not 0 <= percentage <= 100
    ):
        raise StatesError(
            RUNTIME, f"ToleratedFailurePercentage must be a number from 0 to 100: {percentage!r}"
        )
    if count is None and percentage is None:
        return None
    limits = [count] if count is not None else []
    if percentage is not None:
        limits.append(math.floor(total * float(percentage) / 100))
    return min(limits)


def parse_timestamp(text: str) -> datetime:
    # fromisoformat takes at most microseconds and a "Z" since Python 3.11.
    head, _, rest = text.partition(".")
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)].ljust(6, "0") + rest[digits:]
    return datetime.fromisoformat(text)
