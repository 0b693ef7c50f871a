"""Evaluation of a Choice state's rules, as AWS Step Functions evaluates them.

Pure and deterministic (standard library plus ``paths`` and ``validate``) so it can run inside
Temporal workflow code. The definition is assumed to have passed ``validate`` already.

Behaviour followed, where AWS documents or shows it:

* A comparison whose ``Variable`` (or ``...Path`` operand) has the wrong type is false, not an
  error; booleans are never numbers.
* ``IsPresent`` is the only operator that tolerates a ``Variable`` matching nothing; any other
  operator, and any ``...Path`` operand, that matches nothing fails with ``States.Runtime``.
* Strings compare by Unicode code point; numbers by value (``1`` equals ``1.0``); timestamps
  as instants, so different offsets naming the same instant are equal.
* ``Variable`` and ``...Path`` operands may read workflow variables (``$x``, ``$order.total``),
  given through the ``variables`` keyword ("Passing data between states with variables").

Choices made where AWS is not documented:

* ``And`` and ``Or`` stop at the first rule that decides them, so a later rule with a missing
  path is not evaluated and cannot fail the execution.
* In ``StringMatches``, a backslash not followed by ``*`` or ``\\`` stands for itself.
* Timestamp fractions are compared at full precision (beyond microseconds).
* A variable that has no value is not present: ``IsPresent`` is false for it, and any other
  operator fails with ``States.Runtime`` as for a missing path.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from workflows.asl.paths import RUNTIME, PathError, select
from workflows.asl.validate import is_timestamp

NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
_NO_CHOICE_CAUSE: Final = "No Choice Rules matched and no Default was specified."
_INVALID_VARIABLE: Final = (
    "Invalid path '{path}': The choice state's condition path references an invalid value."
)

_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_TIMESTAMP: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_TYPE_TESTS: Final[dict[str, Callable[[Any], bool]]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": lambda value: _is_number(value),
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: isinstance(value, str) and is_timestamp(value),
}

_Instant = tuple[datetime, Decimal]


Variables = Mapping[str, Any] | None
"""The workflow variables ``$x`` paths read, or None when there are none."""


def choose(
    state: dict[str, Any],
    data: Any,
    context: dict[str, Any],
    *,
    variables: Variables = None,
) -> str | None:
    """The state to go to next: the ``Next`` of the first matching rule, else ``Default``.

    ``data`` is the state's effective input (after ``InputPath``), ``context`` the context
    object read by ``$$`` paths and ``variables`` the workflow variables read by ``$x`` paths.
    Raises ``PathError("States.NoChoiceMatched")`` if no rule matches and there is no
    ``Default``, and ``PathError("States.Runtime")`` if a rule reads a path that matches nothing.
    """
    for rule in state["Choices"]:
        if matches(rule, data, context, variables=variables):
            next_state: str = rule["Next"]
            return next_state
    if "Default" in state:
        default: str | None = state["Default"]
        return default
    raise PathError(NO_CHOICE_MATCHED, _NO_CHOICE_CAUSE)


def matches(
    rule: dict[str, Any],
    data: Any,
    context: dict[str, Any],
    *,
    variables: Variables = None,
) -> bool:
    """True if the choice rule ``rule`` (a comparison, ``And``, ``Or`` or ``Not``) holds."""
    if "And" in rule:
        return all(matches(sub, data, context, variables=variables) for sub in rule["And"])
    if "Or" in rule:
        return any(matches(sub, data, context, variables=variables) for sub in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data, context, variables=variables)
    variable: str = rule["Variable"]
    if "IsPresent" in rule:
        try:
            select(variable, data, context, variables=variables)
        except PathError:
            return rule["IsPresent"] is False
        return rule["IsPresent"] is True
    value = _variable(variable, data, context, variables)
    for test, check in _TYPE_TESTS.items():
        if test in rule:
            return check(value) is rule[test]
    return _compare(rule, value, data, context, variables)


def _variable(path: str, data: Any, context: dict[str, Any], variables: Variables) -> Any:
    try:
        return select(path, data, context, variables=variables)
    except PathError:
        raise PathError(RUNTIME, _INVALID_VARIABLE.format(path=path)) from None


def _compare(
    rule: dict[str, Any], value: Any, data: Any, context: dict[str, Any], variables: Variables
) -> bool:
    # Assign (JSONPath choice rules may carry one) is not an operator either.
    op = next(key for key in rule if key not in {"Variable", "Next", "Comment", "Assign"})
    operand = rule[op]
    if op.endswith("Path"):
        op = op.removesuffix("Path")
        # Unlike Variable, a missing operand path is reported with the path module's own cause.
        operand = select(operand, data, context, variables=variables)
    if op == "StringMatches":
        return isinstance(value, str) and _wildcard(operand).fullmatch(value) is not None
    if op == "BooleanEquals":
        return isinstance(value, bool) and isinstance(operand, bool) and value is operand
    for family, convert in (
        ("String", _as_string),
        ("Numeric", _as_number),
        ("Timestamp", _as_instant),
    ):
        if op.startswith(family):
            left, right = convert(value), convert(operand)
            if left is None or right is None:
                return False
            return _COMPARE[op.removeprefix(family)](left, right)
    raise ValueError(f"unknown choice operator {op!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_number(value: Any) -> int | float | None:
    return value if _is_number(value) else None


def _as_instant(value: Any) -> _Instant | None:
    """``value`` as a comparable UTC instant (seconds, fraction), or None if not a timestamp."""
    if not isinstance(value, str) or not is_timestamp(value):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    # The fraction is kept apart from datetime, which would drop digits past microseconds.
    return stamp.astimezone(UTC), Decimal(f"0.{fraction or '0'}")


def _wildcard(pattern: str) -> re.Pattern[str]:
    """A regular expression for a ``StringMatches`` pattern: ``*`` is any run of characters."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)
