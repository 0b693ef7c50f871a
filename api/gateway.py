"""A lazily connected Temporal client: the API starts even while Temporal is still coming up."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from core.settings import Settings
from core.temporal import connect


class TemporalUnavailable(Exception):
    """Temporal did not answer; the API turns this into a 503."""


class TemporalGateway:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(connect(self._settings), timeout=5)
                except (RuntimeError, OSError, TimeoutError) as err:
                    raise TemporalUnavailable(
                        f"Temporal at {self._settings.temporal_target} is unreachable"
                    ) from err
            return self._client
