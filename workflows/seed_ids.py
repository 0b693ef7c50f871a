"""How the seeds' task handlers name the rows they write, from the execution that writes them.

Pure functions of an execution ARN, shared by the handlers (`activities.*_tasks`) and by the
API's read routes, which must find those rows again without importing the handlers (the API
may not import `activities`; `tests/test_layout.py`).
"""

from __future__ import annotations

import hashlib


def _digest(execution_arn: str) -> str:
    # An execution ARN is longer than a row id may be (64), so rows carry its digest.
    return hashlib.sha256(execution_arn.encode()).hexdigest()[:40]


def order_id_of(execution_arn: str) -> str:
    """The order row an execution of seed 000 writes (`createOrder`) and keys its stock
    ledger rows by (`updateItemStock`)."""
    return "sfn-" + _digest(execution_arn)
