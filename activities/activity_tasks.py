"""The queue behind Step Functions activities: a Task state on an activity's ARN offers its
input here, and outside workers take it with `GetActivityTask` (`api.sfn.activities`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity

from core.db import SessionFactory
from core.models import SfnActivityTaskRow
from workflows.contracts import ActivityTaskOffer


class ActivityTaskQueue:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    @activity.defn(name="offer_activity_task")
    async def offer(self, offer: ActivityTaskOffer) -> None:
        """Put the task in the queue; a retry finds it there and leaves it."""
        async with self.sessions.begin() as session:
            await session.execute(
                insert(SfnActivityTaskRow)
                .values(
                    token=offer.token,
                    activity_name=offer.activity_name,
                    input=offer.input,
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["token"])
            )

    @activity.defn(name="withdraw_activity_task")
    async def withdraw(self, token: str) -> None:
        """Take the task out, answered or timed out; a retry finds nothing to take."""
        async with self.sessions.begin() as session:
            await session.execute(
                delete(SfnActivityTaskRow).where(SfnActivityTaskRow.token == token)
            )
