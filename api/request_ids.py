"""The request id of every HTTP request, and one access log line per request.

The id comes from `X-Request-ID` when the client sends a usable one (1 to 128 visible ASCII
characters), or is made here; the answer carries it back in `X-Request-ID`. While the request
is served it is `core.request_ids.REQUEST_ID`, so the start call carries it to the workflow.
The access line has the method, the route template, the status and the time taken: never a
key, a body or a query string.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.request_ids import REQUEST_ID

HEADER: Final = b"x-request-id"
_USABLE: Final = re.compile(rb"^[\x21-\x7e]{1,128}$")
access = logging.getLogger("statewright.access")


class RequestIds:
    """Pure ASGI middleware: gives each request its id, and logs it once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(HEADER)
        request_id = sent.decode() if sent and _USABLE.match(sent) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        began = time.perf_counter()
        status = 500

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER],
                    (HEADER, request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, answered)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            access.info(
                "%s %s %s %.1f ms",
                scope.get("method", ""),
                route,
                status,
                (time.perf_counter() - began) * 1000,
                extra={"status": status, "route": route, "method": scope.get("method", "")},
            )
            REQUEST_ID.reset(token)
