"""The published report page, read from whichever page publisher is configured."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse

from api.auth import require
from api.deps import State
from api.schemas import json_error
from core.publisher import PAGE_NAMES

router = APIRouter(prefix="/site", tags=["site"])


@router.get(
    "/{name}",
    dependencies=[require("runs:read")],
    response_class=HTMLResponse,
    responses={404: json_error("no such page, or nothing published yet")},
)
async def site_page(
    name: Annotated[str, Path(description=" or ".join(PAGE_NAMES))], state: State
) -> HTMLResponse:
    if name not in PAGE_NAMES:
        raise HTTPException(status_code=404, detail=f"no page {name!r}; try /site/report.html")
    content = await state.publisher.read(name)
    if content is None:
        raise HTTPException(status_code=404, detail="no report has been published yet")
    return HTMLResponse(content, headers={"Cache-Control": "no-cache"})
