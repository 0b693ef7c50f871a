"""What JSON the system accepts: only what it can process and store faithfully.

A request body is checked once, at the door (the API's body guard), against the limits of
everything behind it:
- Temporal's data converter (pydantic's JSON parser) refuses documents nested 200 levels or
  more, and a run whose input it cannot decode could never start; its serializer refuses 255;
- Postgres's JSONB refuses the NUL character;
- a lone UTF-16 surrogate (`"\\ud800"`) cannot be encoded as UTF-8 at all;
- `NaN`, `Infinity` and numbers too large for a double are not JSON, and were stored as null;
- Python refuses integers of more than 4,300 digits.

MAX_JSON_DEPTH leaves room below the converter's limit for the envelopes a payload travels in
(a workflow input, an activity input, a run description).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_JSON_DEPTH = 128
"""The deepest nesting of arrays and objects a request body may have (the top level is 1)."""

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class JsonProblem:
    """Where a document breaks a limit, and which."""

    path: Path
    message: str
    kind: str


class _Refused:
    """Stands in, while parsing, for a number that cannot be kept faithfully."""

    def __init__(self, message: str) -> None:
        self.message = message


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text} is too large for a number")


def _int(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:
        return _Refused(f"an integer of {len(text)} digits is too long")


def find_problem(body: bytes) -> JsonProblem | None:
    """The first thing in `body` that cannot be processed and stored faithfully, or None.

    Malformed JSON is not reported here: the route's own parser names it.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return JsonProblem((), f"the body is not valid UTF-8 (byte {err.start})", "utf8_invalid")
    try:
        document = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        return _too_deep(())
    except ValueError:
        return None
    return find_value_problem(document)


def find_value_problem(document: Any) -> JsonProblem | None:
    """The first thing in a parsed document that breaks the limits above, or None."""
    stack: list[tuple[Any, Path, int]] = [(document, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, _Refused):
            return JsonProblem(path, value.message, "number_invalid")
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                return JsonProblem(path, problem, "string_invalid")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return _too_deep(path)
        if isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    return JsonProblem((*path, key), f"the key {problem}", "string_invalid")
                stack.append((item, (*path, key), depth + 1))
        else:
            stack.extend((item, (*path, index), depth + 1) for index, item in enumerate(value))
    return None


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not a character"
    return None


def _too_deep(path: Path) -> JsonProblem:
    return JsonProblem(
        path, f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects", "too_deep"
    )


def depth_of(document: Any) -> int:
    """How deeply arrays and objects nest in a parsed document (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in value)
    return deepest
