"""Seed 004: Open, Assign, Work on Case, then a Choice: Close, or Escalate.

Faithful to the seed, an unresolved case escalates and fails with "Engage Tier 2 Support.".
The seed's closing advice is followed too: `retry` loops back to Work on Case (bounded), and
`tier2` waits for a person, with a deadline. A step that still fails after its retries is
caught and escalated with the error recorded, as Step Functions' Catch to Next would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
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
    from workflows.step_functions import (
        UNTIL_DONE,
        RunFailure,
        StepPolicy,
        catch,
        fail,
        finish,
        local_step,
        step_policy,
    )

WORK_RETRY = step_policy()
NOT_WAITING = "NotWaitingForTier2"
# Escalating, closing and recording tier 2's answer are how failures are handled: they must
# not fail themselves, so they retry for as long as it takes.
BOOKKEEPING_RETRY = UNTIL_DONE


@workflow.defn(name="SupportCaseWorkflow")
class SupportCaseWorkflow:
    """One support case from opening to closing, or to escalation.

    Every step is a short database write: as local activities they need no server round trip.
    """

    def __init__(self) -> None:
        self._waiting_for_tier2 = False
        self._resolution: Tier2Resolution | None = None
        # The step running or last run, where it left the case, and Work on Case's count.
        self._activity = ""
        self._progress = CaseProgress(case_id="", status="OPEN", message="")
        self._attempts = 0

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
        self._progress = CaseProgress(case_id=case.case_id, status="OPEN", message="")
        # A cancelled run leaves the case CANCELED, not where it happened to be (ESCALATED,
        # or waiting for tier 2, forever).
        return await catch(self._work(case), on_cancel=self._withdraw)

    async def _work(self, case: CaseInput) -> CaseResult:
        caught: str | None = await catch(self._work_on_case(case), on_failure=self._as_caught)
        if caught is None and self._progress.status == "RESOLVED":
            progress = await self._advance("close_case", "close", BOOKKEEPING_RETRY)
            return self._result(progress)
        return await self._escalate(case, caught)

    async def _work_on_case(self, case: CaseInput) -> None:
        """Open, Assign, and Work on Case, looping back while the case allows."""
        await self._advance("open_case", "open", WORK_RETRY)
        await self._advance("assign_case", "assign", WORK_RETRY)
        while True:
            self._attempts += 1
            progress = await self._advance("work_on_case", f"work-{self._attempts}", WORK_RETRY)
            if progress.status == "RESOLVED":
                return
            if case.on_unresolved != "retry" or self._attempts >= case.max_work_attempts:
                return

    async def _as_caught(self, failure: RunFailure) -> str:
        """Catch to Next: the failed step's error, as the escalation records it. Case steps
        are local, and a local step's failure does not name its step, so this does."""
        return f"{self._activity} failed: {failure.message}"

    async def _escalate(self, case: CaseInput, error: str | None) -> CaseResult:
        await self._advance(
            "escalate_case",
            "escalate",
            BOOKKEEPING_RETRY,
            error=error,
            awaiting_tier2=case.on_unresolved == "tier2",
        )
        if case.on_unresolved != "tier2":
            raise fail(CASE_ESCALATED, ESCALATION_CAUSE)
        self._waiting_for_tier2 = True
        try:
            await workflow.wait_condition(
                lambda: self._resolution is not None,
                timeout=timedelta(seconds=case.tier2_deadline_seconds),
            )
        except TimeoutError:
            self._waiting_for_tier2 = False
            await self._advance("expire_case", "tier2-expired", BOOKKEEPING_RETRY)
            raise fail(TIER2_EXPIRED, "tier 2 deadline passed") from None
        self._waiting_for_tier2 = False
        resolution = self._resolution
        await self._advance(
            "resolve_case", "tier2-resolve", BOOKKEEPING_RETRY, resolution=resolution
        )
        progress = await self._advance("close_case", "close", BOOKKEEPING_RETRY)
        return self._result(progress, resolution)

    async def _withdraw(self, cancel: BaseException) -> NoReturn:
        """The run was cancelled: the case says so, wherever it stood, and the run ends
        CANCELED."""
        self._waiting_for_tier2 = False
        await finish(self._advance("cancel_case", "cancel", BOOKKEEPING_RETRY))
        raise cancel

    async def _advance(
        self,
        activity: str,
        name: str,
        retry: StepPolicy,
        *,
        error: str | None = None,
        resolution: Tier2Resolution | None = None,
        awaiting_tier2: bool = False,
    ) -> CaseProgress:
        """Run one case step on the case as it stands, and keep where it leaves the case."""
        self._activity = activity
        request = CaseStep(
            case_id=self._progress.case_id,
            run_id=workflow.info().run_id,
            step=name,
            message=self._progress.message,
            error=error,
            resolution=resolution,
            awaiting_tier2=awaiting_tier2,
        )
        self._progress = await local_step(activity, request, CaseProgress, retry)
        return self._progress

    def _result(
        self, progress: CaseProgress, resolution: Tier2Resolution | None = None
    ) -> CaseResult:
        return CaseResult(
            case_id=progress.case_id,
            status=progress.status,
            message=progress.message,
            work_attempts=self._attempts,
            resolution=resolution,
        )
