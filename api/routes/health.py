"""Liveness of the two things every request needs: Postgres and Temporal."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import State
from api.schemas import HealthOut
from core.db import ping

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(state: State) -> JSONResponse:
    postgres, temporal = await asyncio.gather(_postgres(state), _temporal(state))
    healthy = postgres == "ok" and temporal == "ok"
    body = HealthOut(
        status="ok" if healthy else "unavailable", postgres=postgres, temporal=temporal
    )
    return JSONResponse(status_code=200 if healthy else 503, content=body.model_dump())


async def _postgres(state: State) -> str:
    try:
        await asyncio.wait_for(ping(state.engine), CHECK_TIMEOUT_S)
    except Exception as err:
        return f"unreachable: {type(err).__name__}"
    return "ok"


async def _temporal(state: State) -> str:
    try:
        client = await state.temporal.client()
        ok = await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT_S)
    except Exception as err:
        return f"unreachable: {type(err).__name__}"
    return "ok" if ok else "not serving"
