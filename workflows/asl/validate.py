"""Create-time validation of an Amazon States Language definition, as ``CreateStateMachine`` does.

Pure and deterministic (standard library plus ``paths`` and ``intrinsics``) so it can run both in
the API and inside Temporal workflow code.

``validate_definition`` returns every ``Problem`` found, in document order; ``check_definition``
raises ``InvalidDefinition`` whose message is rendered the way AWS renders it::

    Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field "Next" is required
    at /States/Hello, MISSING_TRANSITION_TARGET: Missing 'Next' target: Foo at /States/Bar/Next'

Locations are JSON pointers (RFC 6901); the document itself is written ``/`` rather than the
empty pointer so that ``at /`` stays readable. Choices made where AWS is not documented:

* State names must be unique across the whole definition, branches and item processors included
  (AWS documents this), and the second occurrence is the one reported.
* Only JSONPath is supported: ``QueryLanguage: JSONata`` and the JSONata-only fields
  (``Arguments``, ``Output``, ``Items``) are refused, as are AWS fields this project does not run
  yet (``Assign``, ``Credentials``) and distributed Map (``ProcessorConfig.Mode: DISTRIBUTED``,
  ``ItemReader``, ``ResultWriter``, ``Label``).
* Comparison operands of ``Timestamp*`` operators must be valid timestamps, like ``Wait``'s.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from workflows.asl.intrinsics import parse_call
from workflows.asl.paths import parse_path

# --- Problem codes, as AWS names them in InvalidDefinition messages. ---
SCHEMA_VALIDATION_FAILED: Final = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON_DESCRIPTION: Final = "INVALID_JSON_DESCRIPTION"
MISSING_TRANSITION_TARGET: Final = "MISSING_TRANSITION_TARGET"
UNREACHABLE_STATE: Final = "UNREACHABLE_STATE"
DUPLICATE_STATE_NAME: Final = "DUPLICATE_STATE_NAME"
NO_TERMINAL_STATE: Final = "NO_TERMINAL_STATE"
INVALID_RESOURCE: Final = "INVALID_RESOURCE"

ROOT: Final = "/"
MAX_STATE_NAME: Final = 80
STATES_ALL: Final = "States.ALL"

STATE_TYPES: Final = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End", "InputPath", "OutputPath"})
_RESULT: Final = frozenset({"ResultPath", "Parameters", "ResultSelector", "Retry", "Catch"})
_FIELDS: Final[dict[str, frozenset[str]]] = {
    "Task": _COMMON
    | _FLOW
    | _RESULT
    | {"Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds"}
    | {"HeartbeatSecondsPath"},
    "Pass": _COMMON | _FLOW | {"ResultPath", "Parameters", "Result"},
    "Choice": _COMMON | {"InputPath", "OutputPath", "Choices", "Default"},
    "Wait": _COMMON | _FLOW | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
    "Succeed": _COMMON | {"InputPath", "OutputPath"},
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _FLOW | _RESULT | {"Branches"},
    "Map": _COMMON
    | _FLOW
    | _RESULT
    | {"ItemsPath", "ItemSelector", "ItemProcessor", "Iterator", "ItemBatcher"}
    | {"MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount"}
    | {"ToleratedFailureCountPath", "ToleratedFailurePercentage"}
    | {"ToleratedFailurePercentagePath"},
}
"""The fields each state type accepts in JSONPath mode (and that Statewright runs)."""

_NOT_YET: Final[dict[str, str]] = {
    "Arguments": "is only used with JSONata, which is not supported yet",
    "Output": "is only used with JSONata, which is not supported yet",
    "Items": "is only used with JSONata, which is not supported yet",
    "Assign": "(workflow variables) is not supported yet",
    "Credentials": "(cross-account tasks) is not supported yet",
    "ItemReader": "belongs to distributed Map, which is not supported yet",
    "ResultWriter": "belongs to distributed Map, which is not supported yet",
    "Label": "belongs to distributed Map, which is not supported yet",
}
"""Fields AWS knows but Statewright does not run yet, with the reason given for refusing them."""

_TOP_FIELDS: Final = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)
_BRANCH_FIELDS: Final = frozenset({"StartAt", "States", "Comment"})
_RETRY_FIELDS: Final = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds"}
    | {"JitterStrategy", "Comment"}
)
_CATCH_FIELDS: Final = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment"})

_STRING_OPS: Final = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
_OPERATORS: Final[dict[str, str]] = {
    **{f"String{op}": "string" for op in _STRING_OPS},
    **{f"String{op}Path": "path" for op in _STRING_OPS},
    "StringMatches": "string",
    **{f"Numeric{op}": "number" for op in _STRING_OPS},
    **{f"Numeric{op}Path": "path" for op in _STRING_OPS},
    "BooleanEquals": "boolean",
    "BooleanEqualsPath": "path",
    **{f"Timestamp{op}": "timestamp" for op in _STRING_OPS},
    **{f"Timestamp{op}Path": "path" for op in _STRING_OPS},
    **{
        name: "boolean"
        for name in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
    },
}
"""Every choice comparison operator and the kind of operand it takes."""
_LOGIC: Final = ("And", "Or", "Not")

_REGION: Final = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_ACCOUNT: Final = r"\d{12}"
_PARTITION: Final = r"arn:aws(?:-cn|-us-gov)?"
_RESOURCES: Final = (
    re.compile(
        rf"{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:[A-Za-z0-9_-]{{1,64}}"
        r"(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?"
    ),
    re.compile(rf"{_PARTITION}:states:::lambda:invoke(?:\.waitForTaskToken)?"),
    re.compile(rf"{_PARTITION}:states:::http:invoke"),
    re.compile(rf"{_PARTITION}:states:{_REGION}:{_ACCOUNT}:activity:[A-Za-z0-9_.-]{{1,80}}"),
)
"""The Task resources Statewright can run."""

# ASL narrows RFC 3339: an uppercase T and Z, and a numeric offset otherwise.
_TIMESTAMP: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)


@dataclass(frozen=True)
class Problem:
    """One reason a definition is refused: an AWS code, a message and a JSON-pointer location."""

    code: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message} at {self.location}"


class InvalidDefinition(Exception):
    """A definition AWS would refuse with ``InvalidDefinition``; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(
            "Invalid State Machine Definition: '" + ", ".join(map(str, self.problems)) + "'"
        )


def validate_definition(definition: str | dict[str, Any]) -> list[Problem]:
    """Every problem AWS's create-time validation would report for ``definition``, in order.

    ``definition`` is the JSON text or the already parsed object. Only the text form can reveal
    duplicate keys (such as two states with one name), since a ``dict`` has already merged them.
    """
    if isinstance(definition, str):
        try:
            document: Any = json.loads(
                definition, object_pairs_hook=_Object.from_pairs, parse_constant=_no_constant
            )
        except ValueError as error:
            return [Problem(INVALID_JSON_DESCRIPTION, _json_error(error), ROOT)]
    else:
        document = definition
    validator = _Validator()
    validator.machine(document, "", top=True)
    return validator.problems


def check_definition(definition: str | dict[str, Any]) -> dict[str, Any]:
    """Return the parsed definition, or raise ``InvalidDefinition`` listing every problem."""
    problems = validate_definition(definition)
    if problems:
        raise InvalidDefinition(problems)
    if isinstance(definition, str):
        parsed: dict[str, Any] = json.loads(definition)
        return parsed
    return definition


# --- Parsing helpers. ---


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it saw more than once (``dict`` keeps the last)."""

    duplicates: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _Object:
        obj = cls()
        duplicates = []
        for key, value in pairs:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        obj.duplicates = tuple(duplicates)
        return obj


def _no_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON, and so AWS, does not.
    raise ValueError(f"Unexpected token {name}")


def _json_error(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    return str(error)


def _pointer(base: str, *parts: str | int) -> str:
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return base + "".join("/" + p for p in escaped)


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_timestamp(text: str) -> bool:
    """True if ``text`` is an ASL timestamp, e.g. ``2016-03-14T01:59:00Z``."""
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return False
    whole, fraction, zone = match.groups()
    # fromisoformat checks the calendar; it takes at most microseconds, which is all we need.
    micro = f".{(fraction or '0')[:6]}"
    try:
        datetime.fromisoformat(whole + micro + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return False
    return True


def _path_error(text: str, *, reference: bool, context: bool) -> str | None:
    """Why ``text`` is not an acceptable path, or None if it is."""
    try:
        path = parse_path(text)
    except ValueError as error:
        return str(error)
    if reference and not path.definite:
        return f"'{text}' is not a reference path (it must name a single node)"
    if path.context and not context:
        return f"'{text}' may not read the context object"
    return None


def _expression_error(text: str) -> str | None:
    """Why the value of a ``.$`` field is neither a path nor an intrinsic call, or None."""
    try:
        if text.startswith("$"):
            parse_path(text)
        else:
            parse_call(text)
    except ValueError as error:
        return str(error)
    return None


@dataclass
class _Scope:
    """One state machine (the top level, a branch, or an item processor) being validated."""

    states: dict[str, Any]
    edges: dict[str, list[str]]
    terminal: bool = False
    # A state whose type is unknown has unknown transitions: reachability and terminal checks
    # would then only add noise to the problem already reported.
    unknown: bool = False


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.names: set[str] = set()

    def add(self, code: str, message: str, location: str) -> None:
        self.problems.append(Problem(code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.add(SCHEMA_VALIDATION_FAILED, message, location)

    # --- Generic field checks. ---

    def fields(self, node: dict[str, Any], allowed: frozenset[str], loc: str) -> None:
        for key in getattr(node, "duplicates", ()):
            self.schema(f'The field "{key}" appears more than once', _pointer(loc, key))
        for key in node:
            if key in allowed:
                continue
            if key in _NOT_YET:
                self.schema(f'The field "{key}" {_NOT_YET[key]}', _pointer(loc, key))
            else:
                self.schema(
                    f'The field "{key}" is not supported by Step Functions', _pointer(loc, key)
                )

    def required(self, node: dict[str, Any], field: str, loc: str) -> bool:
        if field in node:
            return True
        self.schema(f'The field "{field}" is required', loc)
        return False

    def value(self, field: str, expected: str, loc: str) -> None:
        self.schema(f'The value for the field "{field}" must be {expected}', _pointer(loc, field))

    def integer(self, node: dict[str, Any], field: str, loc: str, minimum: int) -> int | None:
        """Check an optional integer field; return it if present and valid."""
        if field not in node:
            return None
        value = node[field]
        if _is_int(value) and value >= minimum:
            return int(value)
        self.value(field, "a positive integer" if minimum else "a non-negative integer", loc)
        return None

    def string(self, node: dict[str, Any], field: str, loc: str) -> str | None:
        if field not in node:
            return None
        value = node[field]
        if isinstance(value, str):
            return value
        self.value(field, "a string", loc)
        return None

    def one_of(self, node: dict[str, Any], fields: tuple[str, ...], loc: str) -> None:
        present = [f for f in fields if f in node]
        if len(present) > 1:
            self.schema(f"Only one of the fields {_quoted(fields)} may be set", loc)

    def path(
        self,
        node: dict[str, Any],
        field: str,
        loc: str,
        *,
        reference: bool = False,
        context: bool = True,
        nullable: bool = False,
        intrinsic: bool = False,
    ) -> None:
        """Check an optional path field (``InputPath``, ``ResultPath``, ``SecondsPath``...)."""
        if field not in node:
            return
        value = node[field]
        if value is None and nullable:
            return
        if not isinstance(value, str):
            self.value(field, "a path string" + (" or null" if nullable else ""), loc)
            return
        if intrinsic and not value.startswith("$"):
            reason = _expression_error(value)
        else:
            reason = _path_error(value, reference=reference, context=context)
        if reason:
            kind = "reference path" if reference else "JSONPath"
            alternative = " or intrinsic function call" if intrinsic else ""
            self.value(field, f"a valid {kind}{alternative}: {reason}", loc)

    def payload_template(self, node: dict[str, Any], field: str, loc: str) -> None:
        """Check every ``key.$`` in ``Parameters``-like fields holds a path or intrinsic call."""
        if field in node:
            self.template(node[field], _pointer(loc, field))

    def template(self, value: Any, loc: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.template(item, _pointer(loc, i))
            return
        if not isinstance(value, dict):
            return
        for key in getattr(value, "duplicates", ()):
            self.schema(f'The field "{key}" appears more than once', _pointer(loc, key))
        for key, item in value.items():
            where = _pointer(loc, key)
            if not key.endswith(".$"):
                self.template(item, where)
                continue
            if not isinstance(item, str):
                self.schema(
                    f'The value for the field "{key}" must be a path or an intrinsic function '
                    "call string",
                    where,
                )
                continue
            reason = _expression_error(item)
            if reason:
                self.schema(
                    f'The value for the field "{key}" must be a valid JSONPath or a valid '
                    f"intrinsic function call: {reason}",
                    where,
                )

    def query_language(self, node: dict[str, Any], loc: str) -> None:
        if "QueryLanguage" not in node:
            return
        value = node["QueryLanguage"]
        if value == "JSONata":
            self.schema(
                'QueryLanguage "JSONata" is not supported yet; use "JSONPath"',
                _pointer(loc, "QueryLanguage"),
            )
        elif value != "JSONPath":
            self.value("QueryLanguage", 'one of "JSONPath", "JSONata"', loc)

    # --- State machines. ---

    def machine(
        self, node: Any, loc: str, *, top: bool = False, extra: frozenset[str] = _BRANCH_FIELDS
    ) -> None:
        """Validate a state machine: the top level, a Parallel branch or a Map item processor."""
        where = loc or ROOT
        if not isinstance(node, dict):
            self.schema("The state machine definition must be a JSON object", where)
            return
        self.fields(node, _TOP_FIELDS if top else extra, loc)
        if top:
            if "Version" in node and node["Version"] != "1.0":
                self.value("Version", '"1.0"', loc)
            self.integer(node, "TimeoutSeconds", loc, 1)
            self.query_language(node, loc)
        if "Comment" in node:
            self.string(node, "Comment", loc)
        start = None
        if self.required(node, "StartAt", where):
            start = self.string(node, "StartAt", loc)
        states = node.get("States")
        if not self.required(node, "States", where):
            return
        if not isinstance(states, dict) or not states:
            self.value("States", "a non-empty object", loc)
            return
        states_loc = _pointer(loc, "States")
        scope = _Scope(states, {})
        for name in getattr(states, "duplicates", ()):
            self.add(
                DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", _pointer(states_loc, name)
            )
        for name, state in states.items():
            state_loc = _pointer(states_loc, name)
            if name in self.names:
                self.add(DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", state_loc)
            self.names.add(name)
            if len(name) > MAX_STATE_NAME:
                self.schema(
                    f"The state name must be at most {MAX_STATE_NAME} characters long", state_loc
                )
            scope.edges[name] = self.state(state, state_loc, scope)
        if start is not None and start not in states:
            self.add(
                MISSING_TRANSITION_TARGET,
                f"Missing 'StartAt' target: {start}",
                _pointer(loc, "StartAt"),
            )
        elif start is not None and not scope.unknown:
            self.reachability(scope, start, states_loc)
        if not scope.terminal and not scope.unknown:
            self.add(NO_TERMINAL_STATE, "No terminal state found in the state machine", states_loc)

    def reachability(self, scope: _Scope, start: str, states_loc: str) -> None:
        seen = {start}
        queue = deque([start])
        while queue:
            for target in scope.edges.get(queue.popleft(), []):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in scope.states:
            if name not in seen:
                self.add(
                    UNREACHABLE_STATE,
                    f'State "{name}" is not reachable.',
                    _pointer(states_loc, name),
                )

    def transition(self, target: Any, field: str, loc: str, scope: _Scope, out: list[str]) -> None:
        """Check one transition (``Next``, ``Default``, a catcher's ``Next``) and record it."""
        if not isinstance(target, str):
            self.schema(f'The value for the field "{field}" must be a state name', loc)
        elif target not in scope.states:
            self.add(MISSING_TRANSITION_TARGET, f"Missing '{field}' target: {target}", loc)
        else:
            out.append(target)

    # --- States. ---

    def state(self, node: Any, loc: str, scope: _Scope) -> list[str]:
        """Validate one state; return the names of the states it can transition to."""
        edges: list[str] = []
        if not isinstance(node, dict):
            self.schema("A state must be a JSON object", loc)
            scope.unknown = True
            return edges
        if not self.required(node, "Type", loc):
            scope.unknown = True
            return edges
        kind = node["Type"]
        if kind not in STATE_TYPES:
            self.value("Type", f"one of {', '.join(STATE_TYPES)}", loc)
            scope.unknown = True
            return edges
        self.fields(node, _FIELDS[kind], loc)
        self.query_language(node, loc)
        self.string(node, "Comment", loc)
        self.path(node, "InputPath", loc, nullable=True)
        self.path(node, "OutputPath", loc, nullable=True)
        self.path(node, "ResultPath", loc, reference=True, context=False, nullable=True)
        for field in ("Parameters", "ResultSelector", "ItemSelector"):
            self.payload_template(node, field, loc)
        if "ResultSelector" in node and not isinstance(node["ResultSelector"], dict):
            self.value("ResultSelector", "an object", loc)
        checks = {
            "Task": self.state_task,
            "Pass": self.state_pass,
            "Choice": self.state_choice,
            "Wait": self.state_wait,
            "Succeed": self.state_succeed,
            "Fail": self.state_fail,
            "Parallel": self.state_parallel,
            "Map": self.state_map,
        }
        checks[kind](node, loc, scope, edges)
        if kind in ("Task", "Pass", "Wait", "Parallel", "Map"):
            self.next_or_end(node, loc, scope, edges)
        elif kind in ("Succeed", "Fail"):
            scope.terminal = True
        if kind in ("Task", "Parallel", "Map"):
            self.retriers(node, loc)
            self.catchers(node, loc, scope, edges)
        return edges

    def next_or_end(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        end = node.get("End", False)
        if not isinstance(end, bool):
            self.value("End", "a boolean", loc)
            end = False
        if end and "Next" in node:
            self.schema('The fields "Next" and "End" cannot both be set', loc)
        if end:
            scope.terminal = True
        elif "Next" not in node:
            self.schema('The field "Next" is required', loc)
        if "Next" in node:
            self.transition(node["Next"], "Next", _pointer(loc, "Next"), scope, edges)

    def state_task(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        if self.required(node, "Resource", loc):
            resource = self.string(node, "Resource", loc)
            if resource is not None and not any(r.fullmatch(resource) for r in _RESOURCES):
                self.add(
                    INVALID_RESOURCE,
                    f"Invalid Resource: The resource provided {resource} is not recognized. "
                    "The value is not a valid resource ARN, or the resource is not available "
                    "in this region.",
                    _pointer(loc, "Resource"),
                )
        timeout = self.integer(node, "TimeoutSeconds", loc, 1)
        heartbeat = self.integer(node, "HeartbeatSeconds", loc, 1)
        self.path(node, "TimeoutSecondsPath", loc, reference=True)
        self.path(node, "HeartbeatSecondsPath", loc, reference=True)
        self.one_of(node, ("TimeoutSeconds", "TimeoutSecondsPath"), loc)
        self.one_of(node, ("HeartbeatSeconds", "HeartbeatSecondsPath"), loc)
        if timeout is not None and heartbeat is not None and heartbeat >= timeout:
            self.schema(
                'The value for the field "HeartbeatSeconds" must be smaller than the value '
                'for the field "TimeoutSeconds"',
                _pointer(loc, "HeartbeatSeconds"),
            )

    def state_pass(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        """Pass has nothing beyond the common fields; ``Result`` may be any JSON value."""

    def state_succeed(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]
    ) -> None:
        """Succeed has nothing beyond the common fields."""

    def state_wait(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        fields = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
        present = [f for f in fields if f in node]
        if len(present) != 1:
            self.schema(f"Exactly one of the fields {_quoted(fields)} is required", loc)
        self.integer(node, "Seconds", loc, 0)
        if "Timestamp" in node:
            stamp = node["Timestamp"]
            if not isinstance(stamp, str) or not is_timestamp(stamp):
                self.value("Timestamp", "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z", loc)
        self.path(node, "SecondsPath", loc, reference=True)
        self.path(node, "TimestampPath", loc, reference=True)

    def state_fail(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        for field in ("Error", "Cause"):
            self.string(node, field, loc)
            self.path(node, f"{field}Path", loc, reference=True, intrinsic=True)
            self.one_of(node, (field, f"{field}Path"), loc)

    def state_choice(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        if self.required(node, "Choices", loc):
            choices = node["Choices"]
            if not isinstance(choices, list) or not choices:
                self.value("Choices", "a non-empty array", loc)
            else:
                for i, rule in enumerate(choices):
                    rule_loc = _pointer(loc, "Choices", i)
                    self.rule(rule, rule_loc, top=True)
                    if isinstance(rule, dict) and "Next" in rule:
                        self.transition(
                            rule["Next"], "Next", _pointer(rule_loc, "Next"), scope, edges
                        )
        if "Default" in node:
            self.transition(node["Default"], "Default", _pointer(loc, "Default"), scope, edges)

    def rule(self, node: Any, loc: str, *, top: bool) -> None:
        """Validate a choice rule; only top-level rules carry ``Next``."""
        if not isinstance(node, dict):
            self.schema("A choice rule must be a JSON object", loc)
            return
        operators = [k for k in node if k in _OPERATORS]
        logic = [k for k in node if k in _LOGIC]
        # Next is reported apart from unknown fields, with a message saying why.
        self.fields(node, frozenset({"Variable", "Comment", "Next", *operators, *logic}), loc)
        if not top and "Next" in node:
            self.schema(
                'The field "Next" is not supported in a nested choice rule', _pointer(loc, "Next")
            )
        if top:
            self.required(node, "Next", loc)
        if len(operators) + len(logic) != 1:
            found = _quoted(operators + logic) or "none"
            self.schema(
                "A choice rule must have exactly one comparison operator or one of "
                f'"And", "Or", "Not" (found: {found})',
                loc,
            )
        if operators:
            if self.required(node, "Variable", loc):
                self.path(node, "Variable", loc)
            for op in operators:
                self.operand(op, node[op], _pointer(loc, op))
        elif logic:
            if "Variable" in node:
                self.schema(
                    f'The field "Variable" is not supported with "{logic[0]}"',
                    _pointer(loc, "Variable"),
                )
            for op in logic:
                self.logic(op, node[op], _pointer(loc, op))

    def operand(self, op: str, value: Any, loc: str) -> None:
        kind = _OPERATORS[op]
        if kind == "path":
            reason = (
                _path_error(value, reference=False, context=True)
                if isinstance(value, str)
                else "not a string"
            )
            if reason:
                self.schema(
                    f'The value for the field "{op}" must be a valid JSONPath: {reason}', loc
                )
            return
        valid = {
            "string": isinstance(value, str),
            "number": _is_number(value),
            "boolean": isinstance(value, bool),
            "timestamp": isinstance(value, str) and is_timestamp(value),
        }[kind]
        if not valid:
            expected = "an RFC 3339 timestamp" if kind == "timestamp" else f"a {kind}"
            self.schema(f'The value for the field "{op}" must be {expected}', loc)

    def logic(self, op: str, value: Any, loc: str) -> None:
        if op == "Not":
            self.rule(value, loc, top=False)
        elif not isinstance(value, list) or not value:
            self.schema(f'The value for the field "{op}" must be a non-empty array', loc)
        else:
            for i, rule in enumerate(value):
                self.rule(rule, _pointer(loc, i), top=False)

    def retriers(self, node: dict[str, Any], loc: str) -> None:
        if "Retry" not in node:
            return
        retriers = node["Retry"]
        if not isinstance(retriers, list):
            self.value("Retry", "an array", loc)
            return
        for i, retrier in enumerate(retriers):
            where = _pointer(loc, "Retry", i)
            if not isinstance(retrier, dict):
                self.schema("A retrier must be a JSON object", where)
                continue
            self.fields(retrier, _RETRY_FIELDS, where)
            self.error_equals(retrier, where, last=i == len(retriers) - 1)
            self.integer(retrier, "IntervalSeconds", where, 1)
            self.integer(retrier, "MaxAttempts", where, 0)
            self.integer(retrier, "MaxDelaySeconds", where, 1)
            if "BackoffRate" in retrier:
                rate = retrier["BackoffRate"]
                if not _is_number(rate) or rate < 1.0:
                    self.value("BackoffRate", "a number greater than or equal to 1.0", where)
            if "JitterStrategy" in retrier and retrier["JitterStrategy"] not in ("FULL", "NONE"):
                self.value("JitterStrategy", 'one of "FULL", "NONE"', where)

    def catchers(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        if "Catch" not in node:
            return
        catchers = node["Catch"]
        if not isinstance(catchers, list):
            self.value("Catch", "an array", loc)
            return
        for i, catcher in enumerate(catchers):
            where = _pointer(loc, "Catch", i)
            if not isinstance(catcher, dict):
                self.schema("A catcher must be a JSON object", where)
                continue
            self.fields(catcher, _CATCH_FIELDS, where)
            self.error_equals(catcher, where, last=i == len(catchers) - 1)
            self.path(catcher, "ResultPath", where, reference=True, context=False, nullable=True)
            if self.required(catcher, "Next", where):
                self.transition(catcher["Next"], "Next", _pointer(where, "Next"), scope, edges)

    def error_equals(self, node: dict[str, Any], loc: str, *, last: bool) -> None:
        if not self.required(node, "ErrorEquals", loc):
            return
        errors = node["ErrorEquals"]
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(e, str) and e for e in errors)
        ):
            self.value("ErrorEquals", "a non-empty array of error names", loc)
            return
        if STATES_ALL in errors and len(errors) > 1:
            self.schema(
                f'"{STATES_ALL}" must appear alone in "ErrorEquals"', _pointer(loc, "ErrorEquals")
            )
        if STATES_ALL in errors and not last:
            self.schema(
                f'A retrier or catcher matching "{STATES_ALL}" must be the last one',
                _pointer(loc, "ErrorEquals"),
            )

    def state_parallel(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]
    ) -> None:
        if not self.required(node, "Branches", loc):
            return
        branches = node["Branches"]
        if not isinstance(branches, list) or not branches:
            self.value("Branches", "a non-empty array", loc)
            return
        for i, branch in enumerate(branches):
            self.machine(branch, _pointer(loc, "Branches", i))

    def state_map(self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str]) -> None:
        self.path(node, "ItemsPath", loc, reference=True)
        self.one_of(node, ("ItemSelector", "Parameters"), loc)
        self.one_of(node, ("ItemProcessor", "Iterator"), loc)
        if "ItemProcessor" in node:
            processor = node["ItemProcessor"]
            where = _pointer(loc, "ItemProcessor")
            if isinstance(processor, dict) and "ProcessorConfig" in processor:
                self.processor_config(processor["ProcessorConfig"], where)
            self.machine(processor, where, extra=_BRANCH_FIELDS | {"ProcessorConfig"})
        elif "Iterator" in node:
            self.machine(node["Iterator"], _pointer(loc, "Iterator"))
        else:
            self.schema('The field "ItemProcessor" is required', loc)
        self.integer(node, "MaxConcurrency", loc, 0)
        self.path(node, "MaxConcurrencyPath", loc, reference=True)
        self.one_of(node, ("MaxConcurrency", "MaxConcurrencyPath"), loc)
        self.integer(node, "ToleratedFailureCount", loc, 0)
        self.path(node, "ToleratedFailureCountPath", loc, reference=True)
        self.one_of(node, ("ToleratedFailureCount", "ToleratedFailureCountPath"), loc)
        if "ToleratedFailurePercentage" in node:
            share = node["ToleratedFailurePercentage"]
            if not _is_number(share) or not 0 <= share <= 100:
                self.value("ToleratedFailurePercentage", "a number from 0 to 100", loc)
        self.path(node, "ToleratedFailurePercentagePath", loc, reference=True)
        self.one_of(node, ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"), loc)
        if "ItemBatcher" in node and not isinstance(node["ItemBatcher"], dict):
            self.value("ItemBatcher", "an object", loc)

    def processor_config(self, config: Any, loc: str) -> None:
        where = _pointer(loc, "ProcessorConfig")
        if not isinstance(config, dict):
            self.schema('The value for the field "ProcessorConfig" must be an object', where)
            return
        self.fields(config, frozenset({"Mode", "ExecutionType"}), where)
        mode = config.get("Mode", "INLINE")
        if mode == "DISTRIBUTED":
            self.schema(
                'Distributed Map (Mode "DISTRIBUTED") is not supported yet; use "INLINE"',
                _pointer(where, "Mode"),
            )
        elif mode != "INLINE":
            self.value("Mode", 'one of "INLINE", "DISTRIBUTED"', where)
        elif "ExecutionType" in config:
            self.schema(
                'The field "ExecutionType" is only used with distributed Map',
                _pointer(where, "ExecutionType"),
            )
