"""The pages a person opens, in headless Chromium with no network: the landing page, the
API docs (Swagger UI) and the reference (ReDoc). Before, /docs and /redoc loaded their
scripts from a CDN and were blank white pages offline, and `GET /` was a 404."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from core.settings import Settings
from tests.browser import rendered_dom


async def test_docs_render_every_operation_offline(
    api: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    dom = await rendered_dom(f"{api}/docs", tmp_path / "profile", script_ms=15_000)

    rendered = set(
        re.findall(
            r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', dom, flags=re.DOTALL
        )
    )
    schema = (await http.get("/openapi.json")).json()
    operations = {
        (method.upper(), path) for path, methods in schema["paths"].items() for method in methods
    }
    assert len(operations) >= 20
    assert rendered == operations, operations ^ rendered
    assert "Failed to load API definition" not in dom


async def test_redoc_renders_the_reference_offline(api: str, tmp_path: Path) -> None:
    dom = await rendered_dom(f"{api}/redoc", tmp_path / "profile", script_ms=15_000)

    assert "Statewright" in dom
    assert "/orders" in dom and "/webhooks" in dom, dom[:2000]


async def test_no_page_asks_for_anything_from_another_host(http: httpx.AsyncClient) -> None:
    for path in ("/", "/docs", "/redoc"):
        page = (await http.get(path)).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        foreign = [s for s in sources if s.startswith(("http:", "https:", "//"))]
        if path == "/":
            # The landing page links to the Temporal UI, which is ours too.
            foreign = [s for s in foreign if not s.startswith("http://127.0.0.1:")]
        assert foreign == [], (path, foreign)


async def test_assets_are_served_and_unknown_ones_are_404(http: httpx.AsyncClient) -> None:
    script = await http.get("/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 100_000
    assert (await http.get("/assets/../pyproject.toml")).status_code == 404
    assert (await http.get("/assets/other.js")).status_code == 404


async def test_the_landing_page_links_everything_a_newcomer_needs(
    api: str, settings: Settings, tmp_path: Path
) -> None:
    dom = await rendered_dom(f"{api}/", tmp_path / "profile")

    links = dict(re.findall(r'<a href="([^"]+)">([^<]+)</a>', dom))
    assert links == {
        "/docs": "API docs",
        "/redoc": "API reference",
        settings.temporal_ui_url: "Temporal UI",
        "/site/report.html": "Report page",
        "/runs": "Recent runs",
        "/state-machines/seed-004-support-case": "Seed state machines",
        "/health": "Health",
    }
