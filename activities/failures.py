"""What an activity's exception means, and what of it a client may see.

Every step's exception passes through `classify` (the worker installs it as an activity
interceptor), so the rule of DESIGN.md section 1 holds in one place:

- a business error (a non-retryable `ApplicationError` a step raised on purpose) passes as is;
- an infrastructure error (the database away or restarting, a deadlock, a serialization
  failure, a timeout, a lost connection, a dependency answering 5xx) becomes a retryable
  error with a plain message; the step's policy retries it for the outage window;
- anything else is unexpected (a bug): retried like the rest, but after
  UNEXPECTED_ERROR_ATTEMPTS attempts it becomes non-retryable, so the step fails; except in
  a step that must finish (a compensation, bookkeeping: no retry window), which keeps
  retrying until the bug is fixed and deployed.

The original exception, SQL and all, goes to the worker's log. What reaches the history (and
from there `GET /runs`, an order's `failure_reason` and the Temporal UI) is the plain message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.exceptions import ApplicationError

log = logging.getLogger(__name__)

UNEXPECTED_ERROR_ATTEMPTS = 5

DATABASE_UNAVAILABLE = "DatabaseUnavailable"
DATABASE_CONFLICT = "DatabaseConflict"
DEPENDENCY_UNAVAILABLE = "DependencyUnavailable"
UNEXPECTED = "UnexpectedError"

# SQLSTATE classes and codes that say "try again", not "this request is wrong".
# 08: connection exception; 53: insufficient resources; 57P: operator intervention
# (shutdown, crash recovery); 40001 serialization failure; 40P01 deadlock; 55P03 lock not
# available; 57014 statement timeout or cancel.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57P")
CONFLICT_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock",
    "55P03": "lock timeout",
}
TIMEOUT_SQLSTATE = "57014"


@dataclass(frozen=True)
class Verdict:
    """The error to raise in place of the original, and whether it is infrastructure."""

    error: ApplicationError
    infrastructure: bool


def classify(err: Exception, activity: str, attempt: int, *, must_finish: bool = False) -> Verdict:
    """Decide what `err`, raised by attempt `attempt` of `activity`, means (module doc).
    `must_finish`: the step has no retry window, so it never gives up."""
    if isinstance(err, ApplicationError):
        # Raised on purpose by a step: business errors are non-retryable, and a retryable one
        # (a provider or an API answering 5xx) is a dependency being away.
        return Verdict(err, infrastructure=not err.non_retryable)
    transient = _transient(err)
    if transient is not None:
        kind, what = transient
        return Verdict(ApplicationError(what, type=kind), infrastructure=True)
    retry = must_finish or attempt < UNEXPECTED_ERROR_ATTEMPTS
    message = f"unexpected {type(err).__name__} in {activity}"
    if not retry:
        message += f" (gave up after {attempt} attempts)"
    return Verdict(
        ApplicationError(message, type=UNEXPECTED, non_retryable=not retry),
        infrastructure=False,
    )


def transient(err: Exception) -> ApplicationError | None:
    """A retryable error with a plain message if `err` is an infrastructure error (the
    database or a dependency away, a deadlock, a timeout), else None."""
    found = _transient(err)
    return None if found is None else ApplicationError(found[1], type=found[0])


def _transient(err: Exception) -> tuple[str, str] | None:
    if isinstance(err, DBAPIError):
        code = _sqlstate(err)
        if code in CONFLICT_SQLSTATES:
            return DATABASE_CONFLICT, f"database {CONFLICT_SQLSTATES[code]}; retrying"
        if code == TIMEOUT_SQLSTATE:
            return DATABASE_UNAVAILABLE, "database statement timed out; retrying"
        if (
            err.connection_invalidated
            or code is None
            or code.startswith(TRANSIENT_SQLSTATE_CLASSES)
        ):
            return DATABASE_UNAVAILABLE, "the database is unavailable; retrying"
        return None
    if isinstance(err, PoolTimeout):
        return DATABASE_UNAVAILABLE, "no database connection was free in time; retrying"
    if isinstance(err, httpx.TransportError):
        return DEPENDENCY_UNAVAILABLE, f"a dependency is unreachable ({type(err).__name__})"
    if isinstance(err, (ConnectionError, TimeoutError)):
        return DEPENDENCY_UNAVAILABLE, f"a connection failed ({type(err).__name__})"
    if isinstance(err, OSError):
        # Network errors from the drivers; a missing file or a full disk is not ours to fix by
        # failing the step, and retrying is harmless.
        return DEPENDENCY_UNAVAILABLE, f"an I/O operation failed ({type(err).__name__})"
    return None


def _sqlstate(err: DBAPIError) -> str | None:
    code = getattr(err.orig, "sqlstate", None)
    return code if isinstance(code, str) else None


def describe_original(err: BaseException) -> str:
    """One line about the original exception, for the worker's log (never for a client)."""
    original = err.orig if isinstance(err, DBAPIError) else err
    first = str(original).strip().splitlines()
    return f"{type(original).__name__}: {first[0] if first else ''}"
