"""The HTTP edges the probe found: slow clients, redirects built from the Host header, keys
with white space around them. Each speaks raw HTTP over a socket, as an attacker would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from temporalio.client import Client

from api.app import create_app
from core.keys import ApiKeySpec, digest, new_key
from core.settings import Settings
from statewright.flows import FLOWS
from tests.conftest import serve

READ_TIMEOUT = 1.0


@pytest.fixture
async def impatient_api(
    settings: Settings, database_url: str, client: Client
) -> AsyncIterator[str]:
    """The app with a one-second deadline for a request to arrive whole."""
    impatient = settings.model_copy(update={"http_read_timeout_seconds": READ_TIMEOUT})
    async with serve(create_app(FLOWS, impatient, database_url, client), impatient) as base:
        yield base


@asynccontextmanager
async def open_socket(
    base: str,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    url = urlsplit(base)
    assert url.hostname and url.port
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> float:
    """How long until the server closed the connection (EOF), failing after `seconds`."""
    began = time.monotonic()
    data = await asyncio.wait_for(reader.read(), timeout=seconds)
    assert b"202" not in data and b"200 OK" not in data, data
    return time.monotonic() - began


async def exchange(base: str, request: bytes) -> bytes:
    async with open_socket(base) as (reader, writer):
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=10)


async def test_a_client_sending_headers_slowly_is_cut_off(impatient_api: str) -> None:
    async with open_socket(impatient_api) as (reader, writer):
        writer.write(b"POST /webhooks HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        for _ in range(3):  # a header line now and then keeps nothing alive
            await asyncio.sleep(0.3)
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()

        took = await closed_within(reader, seconds=READ_TIMEOUT + 5)
    assert took < READ_TIMEOUT + 2


async def test_a_client_sending_its_body_slowly_is_cut_off(impatient_api: str) -> None:
    async with open_socket(impatient_api) as (reader, writer):
        writer.write(
            b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"a": '
        )
        await writer.drain()
        await closed_within(reader, seconds=READ_TIMEOUT + 5)


async def test_a_connection_that_never_speaks_is_cut_off(impatient_api: str) -> None:
    async with open_socket(impatient_api) as (reader, _):
        await closed_within(reader, seconds=READ_TIMEOUT + 5)


async def test_a_prompt_client_on_a_kept_alive_connection_is_served(impatient_api: str) -> None:
    """The deadline is per request: two requests apart by more than it, on one connection."""
    async with open_socket(impatient_api) as (reader, writer):
        for _ in range(2):
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(READ_TIMEOUT * 0.6)


@pytest.mark.parametrize("path", ["/runs/", "/orders/", "/site/report.html/", "/health/"])
async def test_no_redirect_is_built_from_the_host_header(api: str, path: str) -> None:
    answer = await exchange(api, f"GET {path} HTTP/1.1\r\nHost: evil.example\r\n\r\n".encode())
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert b"evil.example" not in head, head
    assert head.startswith(b"http/1.1 404"), head


@pytest.mark.parametrize(
    "header", ["X-API-Key: {key} ", "X-API-Key:  {key}", "Authorization: Bearer {key} "]
)
async def test_a_key_with_white_space_around_it_is_the_key(
    settings: Settings, database_url: str, client: Client, header: str
) -> None:
    key = new_key()
    keyed = settings.model_copy(
        update={"api_keys": [ApiKeySpec(name="ops", sha256=digest(key), scopes=["admin"])]}
    )
    async with serve(create_app(FLOWS, keyed, database_url, client), keyed) as base:
        line = header.format(key=key)
        answer = await exchange(base, f"GET /runs HTTP/1.1\r\nHost: x\r\n{line}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
