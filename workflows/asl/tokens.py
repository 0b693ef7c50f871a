"""Task tokens: how `SendTaskSuccess` finds the execution and the task waiting for it.

A token names the execution's workflow id and a key unique within it. It is not a secret:
AWS tokens are not either, and whoever may call `SendTaskSuccess` may also stop the execution.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

MAX_TOKEN_LENGTH: Final = 1024
"""AWS's limit on a task token's length."""


def make_token(workflow_id: str, key: str) -> str:
    raw = json.dumps({"w": workflow_id, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(token: str) -> tuple[str, str]:
    """`(workflow_id, key)`; `ValueError` if `token` was not made by `make_token`."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ValueError("the task token is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValueError("the task token is not one this service issued") from None
    if not (
        isinstance(fields, dict)
        and isinstance(fields.get("w"), str)
        and isinstance(fields.get("k"), str)
    ):
        raise ValueError("the task token is not one this service issued")
    return fields["w"], fields["k"]
