"""Headless Chromium for page tests, with the network closed: every page must work offline.

Chromium resolves no host name but 127.0.0.1 here, so a page that loads anything from a CDN
shows up broken, as it would for a user with no internet.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

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
