"""Every failure becomes a clear JSON answer; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from temporalio.service import RPCError, RPCStatusCode

from api.gateway import TemporalUnavailable
from api.starts import IdempotencyConflict

log = logging.getLogger(__name__)

UNAVAILABLE_CODES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep where and what; drop the echoed input, which may be large or sensitive."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


def unprocessable(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> JSONResponse:
    """A 422 shaped like FastAPI's own validation errors, for checks a schema cannot make."""
    return JSONResponse(
        status_code=422, content={"detail": [{"loc": list(loc), "msg": msg, "type": kind}]}
    )


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": field_errors(exc.errors())})


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


async def _temporal_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("Temporal unavailable: %s", exc)
    return JSONResponse(status_code=503, content={"detail": "Temporal is unreachable"})


async def _temporal_rpc(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RPCError)
    if exc.status in UNAVAILABLE_CODES:
        return await _temporal_down(request, exc)
    return await _unexpected(request, exc)


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse(status_code=503, content={"detail": "the database is unreachable"})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await _database_down(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(IdempotencyConflict, _conflict)
    app.add_exception_handler(TemporalUnavailable, _temporal_down)
    app.add_exception_handler(RPCError, _temporal_rpc)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
