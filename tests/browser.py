"""Headless Chromium for page tests, with the network closed: every page must work offline.

Chromium resolves no host name but 127.0.0.1 here, so a page that loads anything from a CDN
shows up broken, as it would for a user with no internet.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Every host name but the loopback address fails to resolve: no CDN can answer.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium() -> str:
    """The browser, or skip (fail under CI=true, where .ci/run installs it)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and Chromium is missing: .ci/run must install it")
        pytest.skip("Chromium is not installed (Debian packages chromium, chromium-driver)")
    return browser


async def rendered_dom(url: str, profile: Path, *, script_ms: int = 0) -> str:
    """The DOM of `url` once loaded, after `script_ms` of virtual time for its scripts."""
    command = [chromium(), *OFFLINE_FLAGS, f"--user-data-dir={profile}"]
    if script_ms:
        command.append(f"--virtual-time-budget={script_ms}")
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
"""The W3C WebDriver key under which an element reference comes back."""


class WebDriver:
    """A Chromium session driven over W3C WebDriver (chromedriver), spoken with httpx: clicks
    and screenshots, with no WebDriver library."""

    def __init__(self, http: httpx.AsyncClient, session: str) -> None:
        self._http = http
        self._session = session

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(
            method, f"/session/{self._session}{path}", json=body if body is not None else None
        )
        answer = response.json()
        assert response.status_code == 200, answer
        return answer["value"]

    async def open(self, url: str) -> None:
        await self._call("POST", "/url", {"url": url})

    async def run(self, script: str, *args: Any) -> Any:
        """Run `script` (a function body; `arguments` holds `args`) in the page."""
        return await self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    async def find(self, css: str) -> str:
        found = await self._call("POST", "/element", {"using": "css selector", "value": css})
        assert ELEMENT in found, found
        element: str = found[ELEMENT]
        return element

    async def click(self, css: str) -> None:
        """A real click, at the element's centre, as a person's mouse would make it."""
        await self._call("POST", f"/element/{await self.find(css)}/click", {})

    async def wait_for(self, script: str, *args: Any, within: float = 20) -> Any:
        """Poll `script` until it returns something truthy; return that."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.run(script, *args)
            if value:
                return value
            assert asyncio.get_running_loop().time() < deadline, f"never true: {script}"
            await asyncio.sleep(0.1)

    async def screenshot(self) -> bytes:
        return base64.b64decode(await self._call("GET", "/screenshot"))


def chromedriver() -> str:
    driver = shutil.which("chromedriver")
    if driver is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and chromedriver is missing: .ci/run must install it")
        pytest.skip("chromedriver is not installed (Debian package chromium-driver)")
    return driver


@asynccontextmanager
async def webdriver(
    profile: Path, size: tuple[int, int] = (1400, 1000)
) -> AsyncIterator[WebDriver]:
    """Headless Chromium, offline as `rendered_dom`'s, under chromedriver."""
    browser = chromium()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        chromedriver(),
        f"--port={port}",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for _ in range(100):
                try:
                    if (await http.get("/status")).json()["value"]["ready"]:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            options = {
                "binary": browser,
                "args": [
                    *OFFLINE_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--window-size={size[0]},{size[1]}",
                ],
            }
            created = await http.post(
                "/session",
                json={"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}},
            )
            assert created.status_code == 200, created.text
            session = created.json()["value"]["sessionId"]
            try:
                yield WebDriver(http, session)
            finally:
                await http.delete(f"/session/{session}")
    finally:
        process.terminate()
        await process.wait()
