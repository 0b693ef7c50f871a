"""Body size (413), content type (415) and faithful-JSON (422) checks, before any route reads
the body."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.json_limits import find_problem

BODY_METHODS = {"POST", "PUT", "PATCH"}


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _too_large(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


def _replay(body: bytearray, receive: Receive) -> Receive:
    """A receive that hands the body already read to the app, then the rest of the stream."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    return replay


class BodyLimits:
    """Pure ASGI middleware: reads a bounded body once and hands it on unchanged."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.max_body_bytes)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._reject(send, 413, _too_large(limit))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._reject(send, 413, _too_large(limit))
                return
            if not message.get("more_body", False):
                break
        if "x-amz-target" in headers and scope["path"] == "/":
            # The AWS API (`api.sfn`) answers in AWS's own shapes, content type included.
            await self.app(scope, _replay(body, receive), send)
            return
        if body and not is_json(headers.get("content-type", "")):
            got = headers.get("content-type") or "none"
            detail = f"unsupported content type {got!r}: send application/json"
            await self._reject(send, 415, detail)
            return
        problem = find_problem(bytes(body)) if body else None
        if problem is not None:
            # Shaped like FastAPI's own 422s: where, what, and a machine-readable kind.
            where = {"loc": ["body", *problem.path], "msg": problem.message, "type": problem.kind}
            await self._reject(send, 422, [where])
            return

        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _reject(send: Send, status: int, detail: object) -> None:
        payload = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
