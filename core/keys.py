"""API keys: how they are made, stored (as SHA-256 digests, never in clear) and scoped."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Scope = Annotated[str, StringConstraints(pattern=r"^(admin|[a-z][a-z0-9-]*:(read|write|cancel))$")]
"""`admin`, or `<resource>:<action>`. Which scopes exist depends on the workflows deployed
(each flow's start routes need `<flow>:write`); the API refuses keys with any other."""

KEY_PREFIX = "sw_"


class ApiKeySpec(BaseModel):
    """One configured key: a name for logs and limits, the key's digest, and its scopes."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    scopes: list[Scope] = Field(min_length=1)


def digest(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)
