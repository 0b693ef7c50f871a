"""API keys with scopes, and a per-key rate limit.

With no key configured (the dev default, bound to 127.0.0.1) every request passes. With any
key configured, every endpoint except /health needs a key with the route's scope (or
`admin`): a missing or unknown key gets 401, a key without the scope 403, a key over its
rate 429. Keys are compared in constant time and never logged or passed to a workflow.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, HTTPException, Request

from api.schemas import json_error
from core.keys import ApiKeySpec, digest

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: json_error("missing or unknown API key"),
    403: json_error("the key lacks this route's scope"),
    429: json_error("the key is over its rate limit"),
}


class UnknownScope(ValueError):
    """A configured key holds a scope no route of this deployment checks."""


class KeyRing:
    def __init__(self, specs: Sequence[ApiKeySpec], known_scopes: Sequence[str]) -> None:
        for spec in specs:
            unknown = [scope for scope in spec.scopes if scope not in known_scopes]
            if unknown:
                # A misspelt scope would otherwise just fail every request with 403.
                raise UnknownScope(
                    f"API key {spec.name!r} holds unknown scope(s) {', '.join(unknown)}; "
                    f"the scopes are {', '.join(known_scopes)}"
                )
        self._specs = [(bytes.fromhex(spec.sha256), spec) for spec in specs]

    @property
    def enabled(self) -> bool:
        return bool(self._specs)

    def verify(self, presented: str) -> ApiKeySpec | None:
        """The key's spec, or None. Every stored digest is compared, match or not, in
        constant time, so timing tells nothing about which digest came close."""
        candidate = bytes.fromhex(digest(presented))
        found: ApiKeySpec | None = None
        for stored, spec in self._specs:
            if hmac.compare_digest(stored, candidate):
                found = spec
        return found


@dataclass
class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute, in bursts of up to as many."""

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, name: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        rate = self.per_minute / 60
        tokens, last = self._buckets.get(name, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[name] = (tokens - 1, now)
            return 0.0
        self._buckets[name] = (tokens, now)
        return (1 - tokens) / rate


def presented_key(request: Request) -> str | None:
    """The key a request carries, either way, without the white space around it (HTTP does
    not count it as part of a header's value)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key", "").strip() or None


def require(scope: str) -> Any:
    """A route dependency: the request's key must carry `scope` (or `admin`)."""

    async def check(request: Request) -> None:
        state = request.app.state.statewright
        keys: KeyRing = state.keys
        if not keys.enabled:
            return
        presented = presented_key(request)
        if presented is None:
            raise HTTPException(
                status_code=401,
                detail="missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        spec = keys.verify(presented)
        if spec is None:
            raise HTTPException(
                status_code=401, detail="unknown API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope not in spec.scopes and "admin" not in spec.scopes:
            raise HTTPException(
                status_code=403, detail=f"API key {spec.name!r} lacks the scope {scope!r}"
            )
        wait = state.limiter.allow(spec.name)
        if wait:
            raise HTTPException(
                status_code=429,
                detail=f"API key {spec.name!r} is over its limit of "
                f"{state.limiter.per_minute} requests a minute",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        request.state.api_key_name = spec.name

    check.required_scope = scope  # type: ignore[attr-defined]  # read by the coverage test
    return Depends(check)
