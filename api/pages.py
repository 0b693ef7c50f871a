"""Pages for people: the landing page, the API docs (Swagger UI and ReDoc) and their assets.

Every page works with no network. FastAPI's own docs pages load Swagger UI and ReDoc from a
CDN, so on a machine without internet they were blank; here the same files come from the
`fastapi-offline` package and are served by us. With API keys on, these pages need a key
like every other route but `/health`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from api.auth import require
from api.deps import SettingsDep

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
ASSET_URL = "/assets"


def pages_router(app: FastAPI) -> APIRouter:
    """The landing page, `/openapi.json`, `/docs`, `/redoc` and their assets."""
    router = APIRouter(dependencies=[require("runs:read")], include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def landing(settings: SettingsDep) -> HTMLResponse:
        return HTMLResponse(_landing_html(settings.temporal_ui_url))

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        schema: dict[str, Any] = app.openapi()
        return JSONResponse(schema)

    @router.get("/docs", response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Statewright API",
            swagger_js_url=f"{ASSET_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_URL}/favicon.png",
        )

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Statewright API",
            redoc_js_url=f"{ASSET_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSET_URL}/favicon.png",
            with_google_fonts=False,
        )

    @router.get(f"{ASSET_URL}/{{name}}")
    async def asset(name: str) -> FileResponse:
        if name not in ASSET_TYPES:
            raise HTTPException(status_code=404, detail=f"no asset {name!r}")
        return FileResponse(
            ASSETS / name,
            media_type=ASSET_TYPES[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router


def _landing_html(temporal_ui: str) -> str:
    links = [
        ("/docs", "API docs", "every endpoint, to read and to try (Swagger UI)"),
        ("/redoc", "API reference", "the same, as one page (ReDoc)"),
        (temporal_ui, "Temporal UI", "every run and its history"),
        ("/site/report.html", "Report page", "the report the runner publishes every minute"),
        ("/runs", "Recent runs", "the runs of this deployment, newest first (JSON)"),
        (
            "/state-machines/seed-004-support-case",
            "Seed state machines",
            "a seed's graph and its executions, each drawn as it ran",
        ),
        ("/health", "Health", "whether Postgres, Temporal and a worker answer (JSON)"),
    ]
    items = "\n".join(
        f'    <li><a href="{escape(href)}">{escape(name)}</a>: {escape(what)}</li>'
        for href, name, what in links
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Statewright</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto;
           padding: 0 1rem; line-height: 1.5; color: #1f2328; }}
    a {{ color: #0a58ca; }}
    li {{ margin: 0.4rem 0; }}
  </style>
</head>
<body>
  <h1>Statewright</h1>
  <p>The AWS Step Functions tutorial workflows, run as durable Temporal workflows.</p>
  <ul>
{items}
  </ul>
</body>
</html>
"""
