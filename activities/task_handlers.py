"""Task handlers: the Python functions a state machine's Task states run, as Lambda runs them.

A handler is registered under a function name with `@task("NAME")` (re-exported as
`statewright.tasks.task`) in a module the worker imports (`STATEWRIGHT_TASK_MODULES`). A Task
whose resource is `arn:aws:lambda:...:function:NAME`, or `lambda:invoke` with `FunctionName`
NAME, calls it with the task's input and takes its return value as the result.

An exception a handler raises is the task's error, shaped as Lambda shapes a Python
function's error: the error is the exception's class name, the cause a JSON object with
`errorMessage`, `errorType`, `requestId` and `stackTrace`; the state's `Retry` decides what
happens next. One kind is not: an infrastructure error (the database or a dependency away, a
deadlock, a connection or pool timeout, as `activities.failures` tells them, or a
`DependencyUnavailable` a handler raises) is retried here until it works or the state's
`TimeoutSeconds` ends, so an outage never fails accepted work.
Like Lambda, a handler may run more than once for one task (a worker lost mid-call, a
retry), so it must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import logging
import os
import random
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.dependencies import Dependencies
from activities.failures import DEPENDENCY_UNAVAILABLE, transient
from activities.http_task import HttpTaskError, invoke_http
from activities.payment_provider import PaymentProvider
from core.db import SessionFactory
from core.publisher import PagePublisher
from workflows.asl import handler_modes
from workflows.asl.events import MAX_PAYLOAD_BYTES, payload_size
from workflows.contracts import TASK_FAILED_TYPE, HttpTaskCall, TaskHandlerCall
from workflows.ids import EXECUTION_RUNS

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
NOT_FOUND: Final = "Lambda.ResourceNotFoundException"
MARSHAL_ERROR: Final = "Runtime.MarshalError"
HEARTBEAT_EVERY: Final = 2.0
"""Seconds between heartbeats of a regular handler call, well inside the workflow's
worker-loss timeout."""


@dataclass(frozen=True)
class Registered:
    """A handler and how it runs."""

    function: Callable[..., Any]
    local: bool


HANDLERS: dict[str, Registered] = {}
"""Every handler registered in this process, by function name."""


def task(name: str, *, local: bool = False) -> Callable[[F], F]:
    """Register the decorated function as the handler of the Lambda function `name`.

    `local=True` runs it as a Temporal local activity: no round trip through the server, for
    short calls (a database statement). The default, a regular activity, suits calls whose
    latency is not yours to bound, and survives the worker's death mid-call by running again
    on another worker.
    """

    def register(function: F) -> F:
        if name in HANDLERS and _origin(HANDLERS[name].function) != _origin(function):
            # The same function again is a module imported twice; another one is a clash.
            raise ValueError(
                f"two task handlers are registered as {name!r}: "
                f"{_origin(HANDLERS[name].function)} and {_origin(function)}"
            )
        HANDLERS[name] = Registered(function, local)
        if local:
            handler_modes.declare_local(name)
        else:
            handler_modes.declare_regular(name)
        return function

    return register


def _origin(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def load_task_modules(modules: str | Iterable[str]) -> list[str]:
    """Import the handler modules (a comma-separated list or names); returns the function
    names registered, which the worker logs. An unimportable module is an error at start,
    not at the first task."""
    names = modules.split(",") if isinstance(modules, str) else list(modules)
    for module in (name.strip() for name in names):
        if module:
            importlib.import_module(module)
    return sorted(HANDLERS)


@dataclass(frozen=True)
class TaskContext:
    """What a handler that takes a second argument gets, as a Lambda function gets its
    `context`: which call this is, and what the worker was handed (`Dependencies`). A
    dependency the worker was not given is None; a handler that needs it says so."""

    function_name: str
    aws_request_id: str
    """Unique to the call; the same on every retry of one attempt of the task."""
    execution_arn: str
    state_name: str
    sessions: SessionFactory | None
    """Statewright's Postgres, for handlers that keep their data there."""
    run_id: str = ""
    """The Temporal run that makes this call: the execution's run (`GET /runs/{id}` shows
    it), or, inside a large Map, the run of the chunk of iterations."""
    provider: PaymentProvider | None = None
    """The payment provider the hand-written payments use."""
    rng: random.Random | None = None
    """The worker's random source: the same one the hand-written support cases draw from,
    so a demo can seed it and a test can script it."""
    reports_api_url: str | None = None
    """The reporting API's base URL (seed 001)."""
    reports_api_key: str | None = None
    """The reporting API's key, if it wants one; never part of a task's input or output."""
    publisher: PagePublisher | None = None
    """Where the report page is published, and working files are staged."""


def execution_workflow_id(execution_arn: str) -> str:
    """The Temporal workflow id of the execution `execution_arn` names, as the Step Functions
    API starts it (`execution-<state machine>:<execution>`): `GET /runs/{id}` reads it."""
    fields = execution_arn.split(":")
    if len(fields) < 8 or fields[5] != "execution":
        raise ValueError(f"not an execution ARN: {execution_arn!r}")
    return EXECUTION_RUNS.of(f"{fields[6]}:{fields[7]}")


class DependencyUnavailable(ConnectionError):
    """Raised by a handler when a dependency is away (no connection, a 5xx, a provider
    outage): an infrastructure error, so the call is tried again below the state, never the
    task's error."""


_ERROR_CLASSES: dict[str, type[Exception]] = {}


def lambda_error(err: ApplicationError) -> Exception:
    """What a handler raises for an error of a hand-written activity it reuses: a retryable
    one is a dependency away (`DependencyUnavailable`); a non-retryable one (a business
    error) becomes an exception whose class is named by the error's type, so the task fails
    with the error name the hand-written workflow reports (`InvalidOrder`, ...)."""
    if not err.non_retryable:
        return DependencyUnavailable(err.message)
    kind = err.type or "Error"
    if kind not in _ERROR_CLASSES:
        _ERROR_CLASSES[kind] = type(kind, (Exception,), {"__module__": __name__})
    return _ERROR_CLASSES[kind](err.message)


class TaskActivities:
    """Runs task handlers and HTTP tasks for the interpreter (`workflows.asl.tasks`)."""

    def __init__(
        self,
        handlers: Mapping[str, Registered] | None = None,
        sessions: SessionFactory | None = None,
        dependencies: Dependencies | None = None,
    ) -> None:
        self.handlers = HANDLERS if handlers is None else handlers
        self.dependencies = dependencies
        if sessions is None and dependencies is not None:
            sessions = dependencies.sessions
        self.sessions = sessions
        self._http: httpx.AsyncClient | None = None

    @activity.defn(name="run_task_handler")
    async def run_task_handler(self, call: TaskHandlerCall) -> Any:
        """Call the handler `call.function` with `call.payload`."""
        registered = self.handlers.get(call.function)
        if registered is None:
            raise _task_error(NOT_FOUND, f"Function not found: {call.function}")
        beating = None
        if not activity.info().is_local:
            beating = asyncio.create_task(_heartbeat())
        try:
            result = await _call(registered.function, call.payload, self._context(call))
        except Exception as exc:
            retry = (
                ApplicationError(str(exc), type=DEPENDENCY_UNAVAILABLE)
                if isinstance(exc, DependencyUnavailable)
                else transient(exc)
            )
            if retry is not None:
                # Unlike Lambda: the database or a dependency being away is not the task's
                # error; the call is tried again until it works, or the state's TimeoutSeconds.
                log.warning("task handler %s met %s; retrying", call.function, retry.message)
                raise retry from exc
            # Anything else the handler raised is the task's error.
            raise _task_error(type(exc).__name__, _lambda_cause(exc)) from None
        finally:
            if beating is not None:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating
        try:
            size = payload_size(result)
        except (TypeError, ValueError) as exc:
            # Lambda's Python runtime reports this as its own fault, not the handler's: the
            # errorType is Runtime.MarshalError and the stack trace is empty.
            cause = _runtime_fault(MARSHAL_ERROR, f"Unable to marshal response: {exc}")
            raise _task_error(MARSHAL_ERROR, cause) from None
        if size > MAX_PAYLOAD_BYTES:
            raise _task_error(
                "States.DataLimitExceeded",
                f"The result of {call.function} is {size} bytes, over the limit of "
                f"{MAX_PAYLOAD_BYTES} bytes",
            )
        return result

    def _context(self, call: TaskHandlerCall) -> TaskContext:
        deps = self.dependencies
        return TaskContext(
            function_name=call.function,
            aws_request_id=activity.info().activity_id,
            execution_arn=call.execution_arn,
            state_name=call.state_name,
            sessions=self.sessions,
            run_id=activity.info().workflow_run_id or "",
            provider=deps.provider if deps else None,
            rng=deps.rng if deps else None,
            reports_api_url=deps.reports_api_url if deps else None,
            reports_api_key=deps.reports_api_key if deps else None,
            publisher=deps.publisher if deps else None,
        )

    @activity.defn(name="run_http_task")
    async def run_http_task(self, call: HttpTaskCall) -> Any:
        """Make the HTTP call an `http:invoke` task's `Parameters` describe."""
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        try:
            return await invoke_http(call.parameters, client=self._http)
        except HttpTaskError as err:
            raise _task_error(err.error, err.cause) from None


async def _call(function: Callable[..., Any], event: Any, context: TaskContext) -> Any:
    # A handler takes the event, or the event and the context, as a Lambda handler does.
    args = (event, context) if _takes_context(function) else (event,)
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    # A blocking handler must not stall the worker's event loop.
    return await asyncio.to_thread(function, *args)


def _takes_context(function: Callable[..., Any]) -> bool:
    parameters = inspect.signature(function).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


async def _heartbeat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return os.path.basename(path)
    return os.path.basename(path) if relative.startswith("..") else relative


def _task_error(error: str, cause: str) -> ApplicationError:
    return ApplicationError(
        f"{error}: {cause}",
        error,
        cause,
        type=TASK_FAILED_TYPE,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def _lambda_cause(exc: BaseException) -> str:
    """The error document Lambda's Python runtime writes for an exception a handler raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    # The handler's own frames, not the activity machinery's above them; paths relative to
    # the working directory, so a history does not carry the machine's layout.
    own = [frame for frame in frames if frame.filename != __file__]
    for frame in own:
        frame.filename = _relative(frame.filename)
    return _error_document(str(exc), type(exc).__name__, traceback.format_list(own))


def _runtime_fault(error_type: str, message: str) -> str:
    """The error document of a fault of the runtime itself (`Runtime.*`): no stack trace."""
    return _error_document(message, error_type, [])


def _error_document(message: str, error_type: str, stack: list[str]) -> str:
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": activity.info().activity_id,
            "stackTrace": stack,
        },
        ensure_ascii=False,
    )
