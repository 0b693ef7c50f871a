"""A minimal HTTP/1.1 keep-alive client for the bench's load generator.

The load generator shares the machine's cores with the stack it measures, so its own CPU per
request is part of what the bench sees. httpx cost about 2 ms of CPU per POST here; this client
does the little the bench needs (a JSON POST, a `Content-Length` answer) for a fraction of that,
so the figures describe the stack rather than the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class BenchHttpError(RuntimeError):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    server_timing: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

REUSE_WITHIN_S = 2.0
"""How long an idle connection may be reused. The API closes one idle for 5 s
(`api.server.KEEP_ALIVE_SECONDS`); a request sent as it does gets no answer at all, which an
open-loop run at a low rate met a few times a minute."""


class BenchHttpClient:
    """POSTs JSON over a pool of kept-alive connections, at most one request per connection."""

    def __init__(
        self, base_url: str, headers: dict[str, str] | None = None, *, timeout_s: float = 60
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the bench speaks plain http only, not {base_url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._prefix = parts.path.rstrip("/")
        fixed = {"Host": parts.netloc, "Content-Type": "application/json", **(headers or {})}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._idle: list[tuple[float, Connection]] = []
        self._timeout_s = timeout_s

    async def post(self, path: str, body: Any, target: str | None = None) -> Answer:
        """POST `body` as JSON; with `target`, as an AWS JSON 1.0 call of that operation."""
        data = json.dumps(body).encode()
        extra = f"X-Amz-Target: {target}\r\n" if target else ""
        request = (
            f"POST {self._prefix}{path} HTTP/1.1\r\n{self._head}{extra}"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data
        async with asyncio.timeout(self._timeout_s):
            return await self._exchange(request)

    async def _exchange(self, request: bytes) -> Answer:
        reader, writer = await self._connection()
        try:
            writer.write(request)
            answer, keep = await _read_answer(reader)
        except BaseException:
            # A request that failed half-way leaves the connection in an unknown state.
            writer.close()
            raise
        if keep:
            self._idle.append((time.monotonic(), (reader, writer)))
        else:
            writer.close()
        return answer

    async def _connection(self) -> Connection:
        """The most recently used idle connection still safe to reuse, else a new one."""
        while self._idle:
            since, (reader, writer) = self._idle.pop()
            if time.monotonic() - since < REUSE_WITHIN_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self._host, self._port)

    async def aclose(self) -> None:
        while self._idle:
            _, (_, writer) = self._idle.pop()
            writer.close()

    async def __aenter__(self) -> BenchHttpClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    status_line = await reader.readline()
    try:
        version, code, *_ = status_line.decode("latin-1").split(" ", 2)
        status = int(code)
    except ValueError:
        raise BenchHttpError(f"not an HTTP status line: {status_line[:80]!r}") from None
    length: int | None = None
    timing: str | None = None
    keep = version == "HTTP/1.1"
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, raw = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), raw.strip().lower()
        if name == "server-timing":
            timing = raw.strip()
        elif name == "content-length":
            length = int(value)
        elif name == "connection":
            keep = value == "keep-alive" or (keep and value != "close")
        elif name == "transfer-encoding" and value != "identity":
            raise BenchHttpError(f"unsupported transfer encoding {value!r}")
    if length is None:
        raise BenchHttpError("the answer has no Content-Length")
    return Answer(status, await reader.readexactly(length), timing), keep


def timing_ms(header: str | None, metric: str) -> float | None:
    """The `dur` of one metric in a `Server-Timing` header, in milliseconds."""
    for entry in (header or "").split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        if name == metric:
            for param in params:
                key, _, value = param.partition("=")
                if key == "dur":
                    return float(value)
    return None
