"""Reading a request's members as AWS validates them, and writing AWS's shapes back."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, Final

from api.sfn.errors import SfnError, validation
from workflows.asl.events import MAX_PAYLOAD_BYTES

_FORBIDDEN_NAME: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def string(
    params: dict[str, Any], member: str, *, required: bool = False, max_length: int = 2048
) -> str | None:
    """`params[member]` as a string; `ValidationException` as AWS words it if it is not."""
    value = params.get(member)
    if value is None:
        if required:
            raise validation(
                f"1 validation error detected: Value null at '{member}' failed to satisfy "
                "constraint: Member must not be null"
            )
        return None
    if not isinstance(value, str):
        raise SfnError("SerializationException", f"{member} must be a string")
    if len(value) > max_length:
        raise validation(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_length}"
        )
    return value


def required(params: dict[str, Any], member: str, *, max_length: int = 2048) -> str:
    value = string(params, member, required=True, max_length=max_length)
    assert value is not None
    return value


def integer(params: dict[str, Any], member: str, *, low: int, high: int) -> int | None:
    value = params.get(member)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SfnError("SerializationException", f"{member} must be an integer")
    if not low <= value <= high:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value between {low} and {high}"
        )
    return value


def boolean(params: dict[str, Any], member: str, default: bool) -> bool:
    value = params.get(member, default)
    if not isinstance(value, bool):
        raise SfnError("SerializationException", f"{member} must be a boolean")
    return value


def check_name(name: str, what: str) -> str:
    """A state machine's, an execution's or an activity's name, as AWS allows them."""
    if not 1 <= len(name) <= 80 or _FORBIDDEN_NAME.search(name):
        raise SfnError("InvalidName", f"Invalid Name: '{name}' is not a valid {what} name")
    return name


def json_document(text: str, member: str, code: str) -> Any:
    """A JSON payload member (`input`, `output`), at most 256 KiB."""
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise validation(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PAYLOAD_BYTES}"
        )
    try:
        return json.loads(text)
    except ValueError as err:
        raise SfnError(code, f"Invalid {member}: {err}") from None


def epoch(at: datetime | None) -> float | None:
    """A timestamp as the JSON 1.0 protocol carries it: seconds since the epoch."""
    return None if at is None else at.timestamp()


def without_none(shape: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in shape.items() if value is not None}


def page_after(params: dict[str, Any]) -> tuple[int, str]:
    """`(maxResults, the name after which the page starts)` of a list request paged by name;
    the `nextToken` is the last name of the page before, encoded."""
    limit = integer(params, "maxResults", low=0, high=1000) or 100
    token = string(params, "nextToken", max_length=1024)
    if not token:
        return limit, ""
    try:
        return limit, base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        raise SfnError("InvalidToken", f"Invalid Token: '{token}'") from None


def next_token(names: list[str], limit: int) -> dict[str, str]:
    """`{"nextToken": ...}` when `names` (a page read with one name more than `limit`) goes
    on past this page, else nothing."""
    if len(names) <= limit:
        return {}
    return {"nextToken": base64.urlsafe_b64encode(names[limit - 1].encode()).decode()}
