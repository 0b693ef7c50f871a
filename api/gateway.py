"""A lazily connected Temporal client: the API starts even while Temporal is still coming up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from temporalio.client import Client
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.service import RPCError

from core.search_attributes import ensure_search_attributes
from core.settings import Settings
from core.temporal import connect, with_request_ids

log = logging.getLogger(__name__)


async def _register_search_attributes(client: Client) -> None:
    # The API may serve before any worker has registered them; a start carrying one the
    # server does not know would fail. Without operator rights, an operator must do it.
    try:
        await ensure_search_attributes(client)
    except RPCError as err:
        log.warning("could not register search attributes (%s); register them by hand", err)


class TemporalUnavailable(Exception):
    """Temporal did not answer; the API turns this into a 503."""


class TemporalGateway:
    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        interceptors: Sequence[ClientInterceptor] = (),
        on_connect: Callable[[Client], Awaitable[None]] | None = None,
    ) -> None:
        """`on_connect` runs once, with the client the routes will use, before any route gets
        it: the API's eager-start worker must be on that very client."""
        self._settings = settings
        # The request id goes with every start call (`core.request_id_propagation`), and
        # the trace too when tracing is on.
        self._interceptors = tuple(interceptors)
        self._given = None if client is None else with_request_ids(client, *self._interceptors)
        self._on_connect = on_connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                client = self._given
                if client is None:
                    client = await self._connect()
                    await _register_search_attributes(client)
                if self._on_connect is not None:
                    await self._on_connect(client)
                self._client = client
            return self._client

    async def _connect(self) -> Client:
        try:
            connected = await asyncio.wait_for(connect(self._settings), timeout=5)
        except (RuntimeError, OSError, TimeoutError) as err:
            raise TemporalUnavailable(
                f"Temporal at {self._settings.temporal_target} is unreachable"
            ) from err
        return with_request_ids(connected, *self._interceptors)
