"""Seed 004: Open, Assign, Work on Case, then a Choice: Close, or Escalate.

Faithful to the seed, an unresolved case escalates and fails with "Engage Tier 2 Support.".
The seed's closing advice is followed too: `retry` loops back to Work on Case (bounded), and
`tier2` waits for a person, with a deadline. A step that still fails after its retries is
caught and escalated with the error recorded, as Step Functions' Catch to Next would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from workflows.concurrency import finish
    from workflows.contracts import (
        CASE_ESCALATED,
        ESCALATION_CAUSE,
        TIER2_EXPIRED,
        CaseInput,
        CaseProgress,
        CaseResult,
        CaseStep,
        Tier2Resolution,
    )
    from workflows.failures import StepError, expected
    from workflows.retry import UNTIL_DONE, StepPolicy, step_policy
    from workflows.steps import step

WORK_RETRY = step_policy()
NOT_WAITING = "NotWaitingForTier2"
# Escalating, closing and recording tier 2's answer are how failures are handled: they must
# not fail themselves, so they retry for as long as it takes.
BOOKKEEPING_RETRY = UNTIL_DONE


@workflow.defn(name="SupportCaseWorkflow")
class SupportCaseWorkflow:
    """One support case from opening to closing, or to escalation."""

    def __init__(self) -> None:
        self._waiting_for_tier2 = False
        self._resolution: Tier2Resolution | None = None
        self._activity = ""
        self._progress: CaseProgress | None = None

    @workflow.update(name="tier2_resolution")
    def tier2_resolution(self, resolution: Tier2Resolution) -> str:
        """Tier 2's answer, accepted only while the case waits for one, and only once."""
        self._resolution = resolution
        return "accepted"

    @tier2_resolution.validator
    def _validate_tier2_resolution(self, resolution: Tier2Resolution) -> None:
        if self._resolution is not None:
            agent = self._resolution.agent
            raise ApplicationError(f"it was already resolved by tier 2 ({agent})", type=NOT_WAITING)
        if not self._waiting_for_tier2:
            raise ApplicationError("it is not waiting for tier 2", type=NOT_WAITING)

    @workflow.query(name="waiting_for_tier2")
    def waiting_for_tier2(self) -> bool:
        return self._waiting_for_tier2

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        # A cancelled run leaves the case CANCELED, not where it happened to be (ESCALATED,
        # or waiting for tier 2, forever).
        try:
            return await self._work(case)
        except (*StepError, asyncio.CancelledError) as err:
            if not is_cancelled_exception(err):
                raise
            progress = self._progress or CaseProgress(
                case_id=case.case_id, status="OPEN", message=""
            )
            self._waiting_for_tier2 = False
            await finish(self._step("cancel_case", "cancel", progress, BOOKKEEPING_RETRY))
            raise

    async def _work(self, case: CaseInput) -> CaseResult:
        progress = CaseProgress(case_id=case.case_id, status="OPEN", message="")
        attempts = 0
        try:
            progress = await self._step("open_case", "open", progress, WORK_RETRY)
            progress = await self._step("assign_case", "assign", progress, WORK_RETRY)
            while True:
                attempts += 1
                progress = await self._step(
                    "work_on_case", f"work-{attempts}", progress, WORK_RETRY
                )
                if progress.status == "RESOLVED":
                    break
                if case.on_unresolved != "retry" or attempts >= case.max_work_attempts:
                    break
        except StepError as err:
            if is_cancelled_exception(err):
                raise
            # A local activity's failure arrives as its own error, not wrapped.
            cause = (err.cause or err) if isinstance(err, ActivityError) else err
            what = cause.message if isinstance(cause, ApplicationError) else str(cause)
            caught = f"{self._activity} failed: {what}"
            return await self._escalate(case, progress, attempts, caught)
        if progress.status == "RESOLVED":
            progress = await self._step("close_case", "close", progress, BOOKKEEPING_RETRY)
            return self._result(progress, attempts)
        return await self._escalate(case, progress, attempts, None)

    async def _escalate(
        self, case: CaseInput, progress: CaseProgress, attempts: int, error: str | None
    ) -> CaseResult:
        progress = await self._step(
            "escalate_case",
            "escalate",
            progress,
            BOOKKEEPING_RETRY,
            error=error,
            awaiting_tier2=case.on_unresolved == "tier2",
        )
        if case.on_unresolved != "tier2":
            raise expected(
                ApplicationError(ESCALATION_CAUSE, type=CASE_ESCALATED, non_retryable=True)
            )
        self._waiting_for_tier2 = True
        try:
            await workflow.wait_condition(
                lambda: self._resolution is not None,
                timeout=timedelta(seconds=case.tier2_deadline_seconds),
            )
        except TimeoutError:
            self._waiting_for_tier2 = False
            await self._step("expire_case", "tier2-expired", progress, BOOKKEEPING_RETRY)
            raise expected(
                ApplicationError("tier 2 deadline passed", type=TIER2_EXPIRED, non_retryable=True)
            ) from None
        self._waiting_for_tier2 = False
        resolution = self._resolution
        progress = await self._step(
            "resolve_case", "tier2-resolve", progress, BOOKKEEPING_RETRY, resolution=resolution
        )
        progress = await self._step("close_case", "close", progress, BOOKKEEPING_RETRY)
        return self._result(progress, attempts, resolution)

    async def _step(
        self,
        activity: str,
        name: str,
        progress: CaseProgress,
        retry: StepPolicy,
        *,
        error: str | None = None,
        resolution: Tier2Resolution | None = None,
        awaiting_tier2: bool = False,
    ) -> CaseProgress:
        self._activity = activity
        request = CaseStep(
            case_id=progress.case_id,
            run_id=workflow.info().run_id,
            step=name,
            message=progress.message,
            error=error,
            resolution=resolution,
            awaiting_tier2=awaiting_tier2,
        )
        # Every step is a short database write: as local activities they need no server
        # round trip.
        self._progress = await step(True, activity, request, CaseProgress, retry)
        return self._progress

    @staticmethod
    def _result(
        progress: CaseProgress, attempts: int, resolution: Tier2Resolution | None = None
    ) -> CaseResult:
        return CaseResult(
            case_id=progress.case_id,
            status=progress.status,
            message=progress.message,
            work_attempts=attempts,
            resolution=resolution,
        )
