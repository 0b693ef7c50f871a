"""The worker's activity interceptor: every step's exception is classified once, here."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.failures import classify, describe_original
from activities.outcomes import step_fields
from workflows.step_functions import expected

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
            # A step with no retry window (`workflows.step_functions.UNTIL_DONE`) must finish.
            must_finish = not info.schedule_to_close_timeout
            verdict = classify(err, info.activity_type, info.attempt, must_finish=must_finish)
            where = f"{info.activity_type} attempt {info.attempt} of {info.workflow_id}"
            extra = step_fields()
            if verdict.error is err and isinstance(err, ApplicationError) and err.non_retryable:
                # A business rule said no: one line, and the error as raised, with no trace.
                log.info("%s: %s", where, err, extra=extra)
                raise expected(err) from None
            if verdict.infrastructure:
                log.warning(
                    "%s: %s (%s)", where, verdict.error, describe_original(err), extra=extra
                )
                raise expected(verdict.error) from None
            # A bug: its traceback is logged by the SDK, and kept in the failure.
            log.warning("%s: %s (%s)", where, verdict.error, describe_original(err), extra=extra)
            raise verdict.error.with_traceback(err.__traceback__) from None
