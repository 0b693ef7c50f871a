"""The worker's activity interceptor: every step's exception is classified once, here."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.failures import classify, describe_original

log = logging.getLogger("statewright.steps")


class StepFailures(Interceptor):
    """Turns an activity's exception into what its workflow and clients may see, and logs the
    original (`activities.failures`)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ClassifyingInbound(next)


class _ClassifyingInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as err:
            info = activity.info()
            # A step scheduled with no retry window (workflows.retry.UNTIL_DONE) must finish.
            must_finish = not info.schedule_to_close_timeout
            verdict = classify(err, info.activity_type, info.attempt, must_finish=must_finish)
            if verdict.error is err:
                raise
            log.warning(
                "%s attempt %d of %s: %s (%s)",
                info.activity_type,
                info.attempt,
                info.workflow_id,
                verdict.error,
                describe_original(err),
            )
            # `from None`: the original, with its SQL, must not travel into the history as
            # the failure's cause; it is in the log line above.
            raise verdict.error from None
