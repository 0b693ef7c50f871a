"""What every operation of the Step Functions API works with."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from api.sfn.arns import Arns
from core.db import SessionFactory
from core.settings import Settings


@dataclass
class MachineCache:
    """State machines read recently, for `StartExecution`: a start reads its machine from
    here for up to `ttl_s` after another did. AWS documents the same window: executions
    started just after `UpdateStateMachine` may still run the previous definition. This
    process's own updates and deletes take effect at once."""

    ttl_s: float = 1.0
    entries: dict[str, tuple[float, Any, dict[str, Any]]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[Any, dict[str, Any]] | None:
        entry = self.entries.get(name)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2]

    def put(self, name: str, row: Any, definition: dict[str, Any]) -> None:
        self.entries[name] = (time.monotonic() + self.ttl_s, row, definition)

    def forget(self, name: str) -> None:
        self.entries.pop(name, None)


@dataclass
class HistoryCache:
    """The AWS histories of closed executions, which never change: a history is built by
    replaying the execution (and each chunk of its large Maps) on a worker, so reading one
    page after another would replay it once per page without this."""

    size: int = 32
    entries: OrderedDict[str, list[dict[str, Any]]] = field(default_factory=OrderedDict)

    def get(self, key: str) -> list[dict[str, Any]] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: str, events: list[dict[str, Any]]) -> None:
        self.entries[key] = events
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


@dataclass
class Sfn:
    settings: Settings
    sessions: SessionFactory
    temporal: Callable[[], Awaitable[Client]]
    arns: Arns
    machines: MachineCache = field(default_factory=MachineCache)
    histories: HistoryCache = field(default_factory=HistoryCache)


Operation = Callable[[Sfn, dict[str, Any]], Awaitable[dict[str, Any]]]
"""One API operation: the request's members in, the response's members out."""
