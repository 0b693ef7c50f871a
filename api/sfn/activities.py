"""Activities: queues of tasks that outside workers poll with `GetActivityTask` and answer
with `SendTaskSuccess`/`SendTaskFailure` (`callbacks`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from temporalio.service import RPCError, RPCStatusCode

from api.sfn import shapes
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from core.models import SfnActivityRow
from workflows.asl.tokens import read_token
from workflows.contracts import ActivityStarted
from workflows.state_machines import StateMachineWorkflow

LONG_POLL: Final = 50.0
"""How long `GetActivityTask` waits for a task. AWS waits up to 60 s and asks clients to
read for 65 s; boto3's default read timeout is 60 s, so 50 s keeps default clients working."""
POLL_EVERY: Final = 0.2

_CLAIM: Final = text(
    """
    UPDATE sfn_activity_tasks SET claimed_at = :now, worker_name = :worker
    WHERE token = (
        SELECT token FROM sfn_activity_tasks
        WHERE activity_name = :name AND claimed_at IS NULL
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        LIMIT 1
    )
    RETURNING token, input
    """
)


async def _load(sfn: Sfn, arn: str) -> SfnActivityRow:
    name = sfn.arns.activity_name(arn)
    async with sfn.sessions() as session:
        row = await session.get(SfnActivityRow, name)
    if row is None:
        raise SfnError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    return row


def _described(sfn: Sfn, row: SfnActivityRow) -> dict[str, Any]:
    return {
        "activityArn": sfn.arns.activity(row.name),
        "name": row.name,
        "creationDate": shapes.epoch(row.created_at),
    }


async def create(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    name = shapes.check_name(shapes.required(params, "name"), "activity")
    async with sfn.sessions.begin() as session:
        # Creating an activity that exists is idempotent on AWS.
        await session.execute(
            insert(SfnActivityRow)
            .values(name=name, created_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = await session.get(SfnActivityRow, name)
    assert row is not None
    return {"activityArn": sfn.arns.activity(name), "creationDate": shapes.epoch(row.created_at)}


async def describe(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    return _described(sfn, await _load(sfn, shapes.required(params, "activityArn")))


async def delete(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    name = sfn.arns.activity_name(shapes.required(params, "activityArn"))
    async with sfn.sessions.begin() as session:
        row = await session.get(SfnActivityRow, name)
        if row is not None:
            await session.delete(row)
    return {}


async def list_activities(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    limit, after = shapes.page_after(params)
    async with sfn.sessions() as session:
        rows = (
            await session.scalars(
                select(SfnActivityRow)
                .where(SfnActivityRow.name > after)
                .order_by(SfnActivityRow.name)
                .limit(limit + 1)
            )
        ).all()
    return {
        "activities": [_described(sfn, row) for row in rows[:limit]],
        **shapes.next_token([row.name for row in rows], limit),
    }


async def get_task(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    """Hand the oldest waiting task of the activity to this worker, waiting for one up to
    LONG_POLL seconds; an empty answer if none came."""
    row = await _load(sfn, shapes.required(params, "activityArn"))
    worker = shapes.string(params, "workerName", max_length=80)
    deadline = asyncio.get_running_loop().time() + LONG_POLL
    while True:
        async with sfn.sessions.begin() as session:
            claimed = (
                await session.execute(
                    _CLAIM, {"now": datetime.now(UTC), "worker": worker, "name": row.name}
                )
            ).first()
        if claimed is not None:
            token, task_input = claimed
            await _tell_started(sfn, token, worker)
            return {"taskToken": token, "input": task_input}
        if asyncio.get_running_loop().time() >= deadline:
            return {}
        await asyncio.sleep(POLL_EVERY)


async def _tell_started(sfn: Sfn, token: str, worker: str | None) -> None:
    workflow_id, _ = read_token(token)
    client = await sfn.temporal()
    # Only the history's ActivityStarted event depends on it: the task is the worker's now.
    try:
        await client.get_workflow_handle(workflow_id).signal(
            StateMachineWorkflow.activity_started,
            ActivityStarted(token=token, worker_name=worker),
        )
    except RPCError as err:
        # The execution ended meanwhile; the worker's answer will be refused with TaskTimedOut.
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
