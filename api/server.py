"""How the API is served: uvicorn on uvloop and httptools, with a deadline on reading requests.

uvicorn has no timeout for a client that sends its headers or body slowly: such a client
holds its connection, and the memory and task behind it, for as long as it likes. Here every
request must arrive whole within `http_read_timeout_seconds` of its first byte (of the
connection, for the first request); past that the connection is closed. Idle keep-alive
connections are closed by uvicorn's own `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.settings import Settings

KEEP_ALIVE_SECONDS = 5
GRACEFUL_SHUTDOWN_SECONDS = 10


class _DeadlineProtocol(HttpToolsProtocol):
    """httptools' protocol, closing a connection whose request is not whole in time."""

    read_timeout: float = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.logger.info(
                "closing a connection whose request took over %.0fs", self.read_timeout
            )
            self.transport.close()


def protocol_for(settings: Settings) -> type[HttpToolsProtocol]:
    """The HTTP protocol class with the configured read deadline."""
    return type(
        "DeadlineProtocol",
        (_DeadlineProtocol,),
        {"read_timeout": settings.http_read_timeout_seconds},
    )


def server_config(
    app: FastAPI,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    log_level: str = "info",
) -> uvicorn.Config:
    """The uvicorn configuration for `app`: the same in production and in the tests, which
    pass their own address."""
    return uvicorn.Config(
        app,
        host=settings.api_host if host is None else host,
        port=settings.api_port if port is None else port,
        log_level=log_level,
        access_log=False,
        # uvloop and httptools: less CPU per request, measured with `statewright bench`.
        loop="uvloop",
        http=protocol_for(settings),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # On SIGTERM, requests in flight get this long to finish; a stalled one is cut off.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
