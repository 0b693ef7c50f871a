"""Seed 004's five Lambda functions, as task handlers on our Postgres: `OpenCaseFunction`,
`AssignCaseFunction`, `WorkOnCaseFunction`, `CloseCaseFunction` and `EscalateCaseFunction`.

Input and output are the seed's. Open Case takes `{"inputCaseID": "001"}` and returns
`{"Case": "001", "Message": "Case 001: opened..."}`; every later step takes the one before's
output, appends to `Message` ("assigned...", "resolved..." or "unresolved...", "closed.",
"escalating.") and passes the rest on. Work on Case adds `"Status": 1` (resolved) or `0`,
which the seed's Choice reads.

They write what the hand-written `CaseActivities` write: the case in `support_cases` (so
`GET /cases/{case_id}` reads it) and one `case_events` row per (execution, step), with the
hand-written step names (`open`, `assign`, `work-1`, `close`, `escalate`) and statuses
(OPEN, ASSIGNED, RESOLVED or UNRESOLVED, CLOSED, ESCALATED). A handler that runs again for
the same step (a retry, a worker lost mid-call) writes nothing new and returns what the first
run wrote. Two things differ, on purpose: the case's `workflow_id` is the execution's own
(`execution-<machine>:<name>`), so the case's `status_url` leads to the run that worked it,
and `run_id` is that execution's Temporal run id.

Work on Case draws as `CaseActivities.work_on_case` does, from the worker's random source
(`Dependencies.rng`): `rng.random() >= 0.5` resolves the case, so a test scripts both engines
with the same values. A retry reads the recorded event first and returns the first draw. The
seed works on a case once per execution; a definition that loops back to Work on Case gets
that first draw again.
"""

from __future__ import annotations

import random
import re
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from activities.task_handlers import TaskContext, execution_workflow_id, task
from core.db import SessionFactory
from core.models import ID_LENGTH, CaseEventRow, SupportCaseRow
from workflows.contracts import CaseStatus

RESOLVED: Final = 1
UNRESOLVED: Final = 0
_PRINTABLE: Final = re.compile(r"[^\x00-\x1f\x7f]+")


class InvalidCase(Exception):
    """The input names no usable case: no `inputCaseID` (or `Case`), or not a short text."""


def _case_id(value: Any, field: str) -> str:
    # The seed's sample id is text ("001"); a number is taken as its text, as AWS's console
    # users type either.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _PRINTABLE.fullmatch(value) or len(value) > ID_LENGTH:
        raise InvalidCase(
            f"the input needs {field!r}: a case id of 1 to {ID_LENGTH} printable characters"
        )
    return value


def _progress(event: Any) -> tuple[dict[str, Any], str, str]:
    """A later step's input as the step before returned it: (the whole, case id, message)."""
    if not isinstance(event, dict):
        raise InvalidCase("the input must be the step before's output: {'Case', 'Message'}")
    message = event.get("Message", "")
    if not isinstance(message, str):
        raise InvalidCase("'Message' must be text")
    return event, _case_id(event.get("Case"), "Case"), message


def _sessions(context: TaskContext) -> SessionFactory:
    if context.sessions is None:
        raise RuntimeError("this handler needs the worker's database")
    return context.sessions


def _run_id(context: TaskContext) -> str:
    # Events are unique per (run, step): with no run to key them, two executions would
    # share one event per step.
    if not context.run_id:
        raise RuntimeError("this handler needs the run it is called from (TaskContext.run_id)")
    return context.run_id


def _rng(context: TaskContext) -> random.Random:
    if context.rng is None:
        raise RuntimeError("this handler needs the worker's random source")
    return context.rng


async def _recorded(
    sessions: SessionFactory, context: TaskContext, step: str
) -> tuple[str, str] | None:
    """(status, message) this execution's `step` wrote, if it ran before."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(CaseEventRow.status, CaseEventRow.message).where(
                    CaseEventRow.run_id == _run_id(context), CaseEventRow.step == step
                )
            )
        ).first()
    return None if row is None else (row.status, row.message)


async def _record(
    context: TaskContext, case_id: str, step: str, status: CaseStatus, message: str
) -> tuple[str, str]:
    """Write the step's event and move the case, once per (execution, step); a repeat
    returns what the first wrote: (status, message)."""
    sessions = _sessions(context)
    workflow_id = execution_workflow_id(context.execution_arn)
    run_id = _run_id(context)
    async with sessions.begin() as session:
        await session.execute(
            insert(SupportCaseRow)
            .values(
                case_id=case_id,
                status="OPEN",
                message="",
                workflow_id=workflow_id,
                run_id=run_id,
            )
            .on_conflict_do_nothing()
        )
        written = await session.scalar(
            insert(CaseEventRow)
            .values(
                case_id=case_id,
                run_id=run_id,
                step=step,
                status=status,
                message=message,
            )
            .on_conflict_do_nothing()
            .returning(CaseEventRow.id)
        )
        if written is not None:
            await session.execute(
                update(SupportCaseRow)
                .where(SupportCaseRow.case_id == case_id)
                .values(
                    status=status,
                    message=message,
                    workflow_id=workflow_id,
                    run_id=run_id,
                    updated_at=func.now(),
                )
            )
            return status, message
    earlier = await _recorded(sessions, context, step)
    assert earlier is not None, "an event that conflicted on insert is there to read"
    return earlier


@task("OpenCaseFunction", local=True)
async def open_case(event: Any, context: TaskContext) -> dict[str, Any]:
    """Open the case `inputCaseID` names."""
    if not isinstance(event, dict):
        raise InvalidCase("the input must be an object: {'inputCaseID': '001'}")
    # The HTTP API's snake_case name is accepted too, as `POST /cases` accepts the seed's.
    case_id = _case_id(event.get("inputCaseID", event.get("case_id")), "inputCaseID")
    _, message = await _record(context, case_id, "open", "OPEN", f"Case {case_id}: opened...")
    return {"Case": case_id, "Message": message}


@task("AssignCaseFunction", local=True)
async def assign_case(event: Any, context: TaskContext) -> dict[str, Any]:
    """Assign the case to an agent."""
    given, case_id, message = _progress(event)
    _, message = await _record(context, case_id, "assign", "ASSIGNED", message + "assigned...")
    return {**given, "Case": case_id, "Message": message}


@task("WorkOnCaseFunction", local=True)
async def work_on_case(event: Any, context: TaskContext) -> dict[str, Any]:
    """Resolved or not, at random, as in the seed; a retry returns the first draw."""
    given, case_id, message = _progress(event)
    done = await _recorded(_sessions(context), context, "work-1")
    if done is None:
        resolved = _rng(context).random() >= 0.5
        if resolved:
            done = await _record(context, case_id, "work-1", "RESOLVED", message + "resolved...")
        else:
            done = await _record(
                context, case_id, "work-1", "UNRESOLVED", message + "unresolved..."
            )
    status, message = done
    return {
        **given,
        "Case": case_id,
        "Message": message,
        "Status": RESOLVED if status == "RESOLVED" else UNRESOLVED,
    }


@task("CloseCaseFunction", local=True)
async def close_case(event: Any, context: TaskContext) -> dict[str, Any]:
    """Close a resolved case."""
    given, case_id, message = _progress(event)
    _, message = await _record(context, case_id, "close", "CLOSED", message + "closed.")
    return {**given, "Case": case_id, "Message": message}


@task("EscalateCaseFunction", local=True)
async def escalate_case(event: Any, context: TaskContext) -> dict[str, Any]:
    """Escalate an unresolved case; the seed's Fail state then ends the execution."""
    given, case_id, message = _progress(event)
    _, message = await _record(context, case_id, "escalate", "ESCALATED", message + "escalating.")
    return {**given, "Case": case_id, "Message": message}
