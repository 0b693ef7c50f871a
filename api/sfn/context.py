"""What every operation of the Step Functions API works with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from api.sfn.arns import Arns
from core.db import SessionFactory
from core.settings import Settings


@dataclass
class Sfn:
    settings: Settings
    sessions: SessionFactory
    temporal: Callable[[], Awaitable[Client]]
    arns: Arns


Operation = Callable[[Sfn, dict[str, Any]], Awaitable[dict[str, Any]]]
"""One API operation: the request's members in, the response's members out."""
