"""The support-case steps. Each writes the case and one status event, once per (run, step)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.business_metrics import count
from activities.outcomes import outcome
from core.db import SessionFactory
from core.models import CaseEventRow, SupportCaseRow
from workflows.contracts import CaseProgress, CaseStatus, CaseStep, case_workflow_id

CASE_COUNTERS: dict[str, str] = {
    "RESOLVED": "statewright_cases_resolved",
    "ESCALATED": "statewright_cases_escalated",
    "AWAITING_TIER2": "statewright_cases_awaiting_tier2",
}
"""The case statuses that move a business counter when a step first records them."""


class CaseActivities:
    """Holds the session factory and the random source that decides Work on Case.

    The random source is injected, so a demo can be seeded and a test can script outcomes.
    """

    def __init__(self, sessions: SessionFactory, rng: random.Random) -> None:
        self._sessions = sessions
        self._rng = rng

    @activity.defn(name="open_case")
    async def open_case(self, step: CaseStep) -> CaseProgress:
        return await self._record(step, "OPEN", f"Case {step.case_id}: opened...")

    @activity.defn(name="assign_case")
    async def assign_case(self, step: CaseStep) -> CaseProgress:
        return await self._record(step, "ASSIGNED", step.message + "assigned...")

    @activity.defn(name="work_on_case")
    async def work_on_case(self, step: CaseStep) -> CaseProgress:
        """Resolved or not, at random, as in the seed. A retry returns the first draw."""
        done = await self._recorded(step)
        if done is not None:
            return done
        resolved = self._rng.random() >= 0.5
        if resolved:
            return await self._record(step, "RESOLVED", step.message + "resolved...")
        return await self._record(step, "UNRESOLVED", step.message + "unresolved...")

    @activity.defn(name="close_case")
    async def close_case(self, step: CaseStep) -> CaseProgress:
        return await self._record(step, "CLOSED", step.message + "closed.")

    @activity.defn(name="escalate_case")
    async def escalate_case(self, step: CaseStep) -> CaseProgress:
        """Escalate, keeping the error that sent us here when a step failed (SFN's Catch).
        A case whose run now waits for tier 2 is AWAITING_TIER2, not ESCALATED."""
        detail = {"error": step.error} if step.error else None
        status: CaseStatus = "AWAITING_TIER2" if step.awaiting_tier2 else "ESCALATED"
        return await self._record(step, status, step.message + "escalating.", detail)

    @activity.defn(name="cancel_case")
    async def cancel_case(self, step: CaseStep) -> CaseProgress:
        """The case's run was cancelled: the case says so, whatever it was waiting for."""
        return await self._record(step, "CANCELED", step.message + " canceled.")

    @activity.defn(name="resolve_case")
    async def resolve_case(self, step: CaseStep) -> CaseProgress:
        """Tier 2's resolution, as a person sent it."""
        assert step.resolution is not None, "resolve_case needs tier 2's resolution"
        message = f"{step.message} resolved by tier 2 ({step.resolution.agent})..."
        return await self._record(step, "RESOLVED", message, step.resolution.model_dump())

    @activity.defn(name="expire_case")
    async def expire_case(self, step: CaseStep) -> CaseProgress:
        return await self._record(step, "EXPIRED", step.message + " tier 2 deadline passed.")

    async def _recorded(self, step: CaseStep) -> CaseProgress | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(CaseEventRow.status, CaseEventRow.message).where(
                        CaseEventRow.run_id == step.run_id, CaseEventRow.step == step.step
                    )
                )
            ).first()
        if row is None:
            return None
        return CaseProgress(case_id=step.case_id, status=row.status, message=row.message)

    async def _record(
        self,
        step: CaseStep,
        status: CaseStatus,
        message: str,
        detail: dict[str, Any] | None = None,
    ) -> CaseProgress:
        """Write the event and move the case, unless this (run, step) was written before; then
        return what was written then, so a retry changes nothing."""
        async with self._sessions.begin() as session:
            await _ensure_case(session, step)
            written = await session.scalar(
                insert(CaseEventRow)
                .values(
                    case_id=step.case_id,
                    run_id=step.run_id,
                    step=step.step,
                    status=status,
                    message=message,
                    detail=detail,
                )
                .on_conflict_do_nothing()
                .returning(CaseEventRow.id)
            )
            if written is not None:
                # A step of a cancelled run that still lands (a cancel does not wait for a
                # running step) is in the history, but the case stays CANCELED.
                cancelled = (SupportCaseRow.run_id == step.run_id) & (
                    SupportCaseRow.status == "CANCELED"
                )
                await session.execute(
                    update(SupportCaseRow)
                    .where(SupportCaseRow.case_id == step.case_id, ~cancelled)
                    .values(
                        status=status,
                        message=message,
                        workflow_id=case_workflow_id(step.case_id),
                        run_id=step.run_id,
                        updated_at=func.now(),
                    )
                )
                counted = CASE_COUNTERS.get(status)
                if counted is not None:
                    count(counted)
                if status in ("ESCALATED", "AWAITING_TIER2"):
                    # An expected outcome: one line, where it happened, once.
                    why = f" after a failed step ({step.error})" if step.error else ""
                    waits = ", waiting for tier 2" if status == "AWAITING_TIER2" else ""
                    outcome("case %s escalated%s%s", step.case_id, why, waits)
                return CaseProgress(case_id=step.case_id, status=status, message=message)
        earlier = await self._recorded(step)
        assert earlier is not None
        return earlier


async def _ensure_case(session: AsyncSession, step: CaseStep) -> None:
    await session.execute(
        insert(SupportCaseRow)
        .values(
            case_id=step.case_id,
            status="OPEN",
            message="",
            workflow_id=case_workflow_id(step.case_id),
            run_id=step.run_id,
        )
        .on_conflict_do_nothing()
    )
