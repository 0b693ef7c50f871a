"""The request id: one id from an HTTP request to the workflow it started and its steps.

The API takes it from `X-Request-ID` (or makes one) and keeps it in `REQUEST_ID` while it
serves the request. A start call carries it to Temporal in a header (`HEADER`), the worker
reads it back for the workflow and hands it on to each activity the workflow schedules, and
every log line of those carries it (`RequestIdFilter`).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Final

REQUEST_ID: ContextVar[str | None] = ContextVar("statewright_request_id", default=None)
HEADER: Final = "statewright-request-id"
"""The Temporal header that carries the id from a start call to the workflow and its steps."""


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record: the current request's, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True
