"""Create-time validation of an Amazon States Language definition, as ``CreateStateMachine`` does.

Pure and deterministic (standard library plus ``paths``, ``intrinsics`` and ``jsonata_eval``) so it
can run both in the API and inside Temporal workflow code.

``validate_definition`` returns every ``Problem`` found, in document order; ``check_definition``
raises ``InvalidDefinition`` whose message is rendered the way AWS renders it::

    Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field "Next" is required
    at /States/Hello, MISSING_TRANSITION_TARGET: Missing 'Next' target: Foo at /States/Bar/Next'

Locations are JSON pointers (RFC 6901); the document itself is written ``/`` rather than the
empty pointer so that ``at /`` stays readable.

Query languages, as the developer guide documents them ("State machine structure", "Transforming
data with JSONata", the state pages and "Passing data between states with variables"):

* ``QueryLanguage`` is ``JSONPath`` (the default) or ``JSONata``, at the top level and per state.
  A state without one uses the top-level language, also inside Parallel branches and Map item
  processors. A JSONPath machine may have JSONata states; a JSONata machine may not have a
  JSONPath state ("You cannot revert a top-level JSONata-based state machine to a mix").
* JSONPath-only fields (``InputPath``, ``Parameters``, ``ResultSelector``, ``ResultPath``,
  ``OutputPath``, ``Result``, the ``...Path`` fields, Choice ``Variable`` and comparison
  operators, a catcher's ``ResultPath``) and JSONata-only fields (``Arguments``, ``Output``,
  ``Items``, Choice ``Condition``) are refused in a state of the other language with the
  message AWS gives: ``The QueryLanguage is set to 'JSONata', but field 'InputPath' is only
  supported for the 'JSONPath' QueryLanguage``.
* In JSONata states ``TimeoutSeconds``, ``HeartbeatSeconds``, ``Seconds``, ``Timestamp``,
  ``Error``, ``Cause``, ``MaxConcurrency``, ``ToleratedFailureCount`` and
  ``ToleratedFailurePercentage`` may be ``{% %}`` expressions instead of literals.
* ``Assign`` is accepted in both languages on every state but Succeed and Fail, on top-level
  Choice rules and on catchers. Its keys are variable names: a Unicode identifier of at most 80
  characters, never ``states`` (``$states`` is reserved). In JSONPath states its values use
  ``.$`` keys like ``Parameters``; in JSONata states they may be expressions. A variable
  assigned in a Parallel branch or Map item processor may not share its name with one assigned
  in an enclosing scope. ``ResultPath`` may not read variables.
* Every ``{% %}`` expression is parsed: a syntax error is ``INVALID_JSONATA_EXPRESSION`` naming
  the expression. References AWS refuses are ``UNSUPPORTED_JSONATA_EXPRESSION`` with AWS's
  wording: ``$$``, paths from the (missing) context item such as ``phone`` ("Reference to
  'phone' at the top level is not supported."), ``$states.result`` outside the ``Output`` and
  ``Assign`` of a Task, Parallel or Map, and ``$states.errorOutput`` outside a catcher's.

Choices made where AWS is not documented:

* State names must be unique across the whole definition, branches and item processors included
  (AWS documents this), and the second occurrence is the one reported.
* Locations point at the offending field (``/States/S/InputPath``), also for the two query
  language messages AWS reports at the state itself (``/States/S``).
* Distributed Map (``ProcessorConfig.Mode: DISTRIBUTED``, ``ItemReader``, ``ResultWriter``,
  ``Label``) and ``Credentials`` are refused: Statewright does not run them yet.
* Comparison operands of ``Timestamp*`` operators must be valid timestamps, like ``Wait``'s.
* A JSONata choice rule may carry ``Output`` as well as ``Assign``, as the Amazon States
  Language specification allows. ``Items`` in a JSONata Map is an array or an expression (inline
  Map iterates arrays only).
* A string that is almost an expression (``{%`` or ``%}`` at one end only, or whitespace
  outside the delimiters) is refused in JSONata fields: AWS says such strings are a validation
  error rather than literals.
* Variable names may start with ``_`` (JavaScript's rule, which AWS likens its own to).
* Problems of the scope rule come after all others, once every scope has been read.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from workflows.asl.intrinsics import parse_call
from workflows.asl.jsonata_eval import (
    expression_body,
    is_expression,
    states_fields,
    syntax_error,
    unsupported_reference,
)
from workflows.asl.paths import parse_path

# --- Problem codes, as AWS names them in InvalidDefinition messages. ---
SCHEMA_VALIDATION_FAILED: Final = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON_DESCRIPTION: Final = "INVALID_JSON_DESCRIPTION"
MISSING_TRANSITION_TARGET: Final = "MISSING_TRANSITION_TARGET"
UNREACHABLE_STATE: Final = "UNREACHABLE_STATE"
DUPLICATE_STATE_NAME: Final = "DUPLICATE_STATE_NAME"
NO_TERMINAL_STATE: Final = "NO_TERMINAL_STATE"
INVALID_RESOURCE: Final = "INVALID_RESOURCE"
INVALID_JSONATA_EXPRESSION: Final = "INVALID_JSONATA_EXPRESSION"
UNSUPPORTED_JSONATA_EXPRESSION: Final = "UNSUPPORTED_JSONATA_EXPRESSION"

ROOT: Final = "/"
MAX_STATE_NAME: Final = 80
MAX_VARIABLE_NAME: Final = 80
STATES_ALL: Final = "States.ALL"
JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
QUERY_LANGUAGES: Final = (JSONPATH, JSONATA)

STATE_TYPES: Final = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End"})
_ERRORS: Final = frozenset({"Retry", "Catch"})
_PATH_IO: Final = frozenset({"InputPath", "OutputPath"})
_PATH_RESULT: Final = frozenset({"ResultPath", "Parameters", "ResultSelector"})
_FIELDS: Final[dict[str, frozenset[str]]] = {
    "Task": _COMMON
    | _FLOW
    | _ERRORS
    | {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Assign"},
    "Pass": _COMMON | _FLOW | {"Assign"},
    "Choice": _COMMON | {"Choices", "Default", "Assign"},
    "Wait": _COMMON | _FLOW | {"Seconds", "Timestamp", "Assign"},
    "Succeed": _COMMON,
    "Fail": _COMMON | {"Error", "Cause"},
    "Parallel": _COMMON | _FLOW | _ERRORS | {"Branches", "Assign"},
    "Map": _COMMON
    | _FLOW
    | _ERRORS
    | {"ItemSelector", "ItemProcessor", "Iterator", "ItemBatcher", "Assign"}
    | {"MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"},
}
"""The fields each state type accepts in both query languages (and that Statewright runs)."""

_ONLY: Final[dict[str, dict[str, frozenset[str]]]] = {
    JSONPATH: {
        "Task": _PATH_IO | _PATH_RESULT | {"TimeoutSecondsPath", "HeartbeatSecondsPath"},
        "Pass": _PATH_IO | {"ResultPath", "Parameters", "Result"},
        "Choice": _PATH_IO,
        "Wait": _PATH_IO | {"SecondsPath", "TimestampPath"},
        "Succeed": _PATH_IO,
        "Fail": frozenset({"ErrorPath", "CausePath"}),
        "Parallel": _PATH_IO | _PATH_RESULT,
        "Map": _PATH_IO
        | _PATH_RESULT
        | {"ItemsPath", "MaxConcurrencyPath", "ToleratedFailureCountPath"}
        | {"ToleratedFailurePercentagePath"},
    },
    JSONATA: {
        "Task": frozenset({"Arguments", "Output"}),
        "Pass": frozenset({"Output"}),
        "Choice": frozenset({"Output"}),
        "Wait": frozenset({"Output"}),
        "Succeed": frozenset({"Output"}),
        "Fail": frozenset(),
        "Parallel": frozenset({"Arguments", "Output"}),
        "Map": frozenset({"Items", "Output"}),
    },
}
"""The fields each state type accepts in one query language only."""

_OTHER: Final = {JSONPATH: JSONATA, JSONATA: JSONPATH}
_LANGUAGE_ONLY: Final = (
    "The QueryLanguage is set to '{language}', but field '{field}' is only supported for the "
    "'{other}' QueryLanguage"
)
_NO_DOWNGRADE: Final = (
    "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
)

# How "must be ..." messages mention the alternative a JSONata state has.
_OR_EXPRESSION: Final = {JSONPATH: "", JSONATA: " or a JSONata expression"}

_NOT_YET: Final[dict[str, str]] = {
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
_CATCH_FIELDS: Final[dict[str, frozenset[str]]] = {
    JSONPATH: frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}),
    JSONATA: frozenset({"ErrorEquals", "Next", "Output", "Comment", "Assign"}),
}

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
_JSONPATH_RULE: Final = frozenset({"Variable", *_OPERATORS, *_LOGIC})
_JSONATA_RULE: Final = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})

# $states.result exists after a Task, Parallel or Map produced one; AWS lets only the state's own
# Output and Assign read it.
_RESULT_STATES: Final = frozenset({"Task", "Parallel", "Map"})
_NO_RESULT: Final = (
    "Reference to '$states.result' is not supported here; it is only available in the Output "
    "and Assign fields of Task, Parallel and Map states."
)
_NO_ERROR_OUTPUT: Final = (
    "Reference to '$states.errorOutput' is not supported here; it is only available in the "
    "Output and Assign fields of a Catch."
)

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
    validator.scope_conflicts()
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


def _path_error(text: str, *, reference: bool, context: bool, variables: bool = True) -> str | None:
    """Why ``text`` is not an acceptable path, or None if it is."""
    try:
        path = parse_path(text)
    except ValueError as error:
        return str(error)
    if reference and not path.definite:
        return f"'{text}' is not a reference path (it must name a single node)"
    if path.context and not context:
        return f"'{text}' may not read the context object"
    if path.variable is not None and not variables:
        return f"'{text}' may not read a variable"
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


def variable_name_error(name: str) -> str | None:
    """Why ``name`` cannot be a workflow variable's name, or None if it can.

    AWS: a Unicode identifier (ID_Start, then ID_Continue characters) of at most 80 characters;
    ``states`` is reserved for ``$states``.
    """
    if not name.isidentifier():
        return (
            "a variable name must start with a letter or '_' and contain only letters, digits "
            "and '_' (Unicode identifier rules)"
        )
    if len(name) > MAX_VARIABLE_NAME:
        return f"a variable name must be at most {MAX_VARIABLE_NAME} characters long"
    if name == "states":
        return "the name 'states' is reserved for $states"
    return None


def _almost_expression(text: str) -> bool:
    """``{%`` or ``%}`` at one end only, or whitespace outside them: not a literal, per AWS."""
    stripped = text.strip()
    return not is_expression(text) and (stripped.startswith("{%") or stripped.endswith("%}"))


@dataclass
class _Scope:
    """One state machine (the top level, a branch, or an item processor) being validated."""

    states: dict[str, Any]
    edges: dict[str, list[str]]
    parent: _Scope | None = None
    terminal: bool = False
    # A state whose type is unknown has unknown transitions: reachability and terminal checks
    # would then only add noise to the problem already reported.
    unknown: bool = False
    # Variable name -> where this scope first assigns it.
    assigned: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reads:
    """What ``$states`` offers where an expression sits."""

    result: bool = False
    error_output: bool = False


_NOTHING: Final = _Reads()


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.names: set[str] = set()
        self.scopes: list[_Scope] = []
        # The top-level language: states without their own QueryLanguage use it, in branches too.
        self.machine_language = JSONPATH

    def add(self, code: str, message: str, location: str) -> None:
        self.problems.append(Problem(code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.add(SCHEMA_VALIDATION_FAILED, message, location)

    # --- Generic field checks. ---

    def fields(
        self,
        node: dict[str, Any],
        allowed: frozenset[str],
        loc: str,
        *,
        language: str = JSONPATH,
        other: frozenset[str] = frozenset(),
    ) -> None:
        """Report duplicate and unknown fields; ``other`` are those of the other language."""
        for key in getattr(node, "duplicates", ()):
            self.schema(f'The field "{key}" appears more than once', _pointer(loc, key))
        for key in node:
            if key in allowed:
                continue
            if key in other:
                message = _LANGUAGE_ONLY.format(
                    language=language, field=key, other=_OTHER[language]
                )
                self.schema(message, _pointer(loc, key))
            elif key in _NOT_YET:
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

    def integer(
        self, node: dict[str, Any], field: str, loc: str, minimum: int, language: str = JSONPATH
    ) -> int | None:
        """Check an optional integer field; return it if present and a valid literal.

        In JSONata states the field may be an expression instead (checked, returns None).
        """
        if field not in node or self.expression_field(node, field, loc, language):
            return None
        value = node[field]
        if _is_int(value) and value >= minimum:
            return int(value)
        expected = "a positive integer" if minimum else "a non-negative integer"
        self.value(field, expected + _OR_EXPRESSION[language], loc)
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
        variables: bool = True,
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
            reason = _path_error(value, reference=reference, context=context, variables=variables)
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

    # --- JSONata. ---

    def expression(self, text: str, loc: str, reads: _Reads) -> None:
        """Check one ``{% %}`` string: it parses, and reads only what AWS offers there."""
        reason = syntax_error(text)
        if reason is not None:
            self.add(
                INVALID_JSONATA_EXPRESSION,
                f"{reason} in the JSONata expression '{expression_body(text)}'",
                loc,
            )
            return
        unsupported = unsupported_reference(text)
        if unsupported is not None:
            self.add(UNSUPPORTED_JSONATA_EXPRESSION, unsupported, loc)
            return
        fields = states_fields(text)
        if "result" in fields and not reads.result:
            self.add(UNSUPPORTED_JSONATA_EXPRESSION, _NO_RESULT, loc)
        if "errorOutput" in fields and not reads.error_output:
            self.add(UNSUPPORTED_JSONATA_EXPRESSION, _NO_ERROR_OUTPUT, loc)

    def jsonata_template(self, value: Any, loc: str, reads: _Reads = _NOTHING) -> None:
        """Check a JSONata-mode value: every string in it that is an expression, at any depth."""
        if isinstance(value, str):
            if is_expression(value):
                self.expression(value, loc, reads)
            elif _almost_expression(value):
                self.schema(
                    'A JSONata expression must start with "{%" and end with "%}", with no '
                    "characters before or after them",
                    loc,
                )
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata_template(item, _pointer(loc, i), reads)
        elif isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                self.schema(f'The field "{key}" appears more than once', _pointer(loc, key))
            for key, item in value.items():
                self.jsonata_template(item, _pointer(loc, key), reads)

    def expression_field(
        self, node: dict[str, Any], field: str, loc: str, language: str, reads: _Reads = _NOTHING
    ) -> bool:
        """In a JSONata state, check ``field`` if it holds an expression; True if it did."""
        value = node.get(field)
        if language != JSONATA or not isinstance(value, str) or not is_expression(value):
            return False
        self.expression(value, _pointer(loc, field), reads)
        return True

    def assign(
        self, node: dict[str, Any], loc: str, language: str, scope: _Scope, reads: _Reads
    ) -> None:
        """Check ``Assign``: variable names, then values as the query language reads them."""
        if "Assign" not in node:
            return
        where = _pointer(loc, "Assign")
        assign = node["Assign"]
        if not isinstance(assign, dict):
            self.value("Assign", "an object", loc)
            return
        seen: set[str] = set()
        for key in assign:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            reason = variable_name_error(name)
            if reason:
                self.schema(
                    f'The variable name "{name}" is not valid: {reason}', _pointer(where, key)
                )
            elif name in seen:
                self.schema(
                    f'The variable "{name}" is assigned more than once', _pointer(where, key)
                )
            else:
                seen.add(name)
                scope.assigned.setdefault(name, _pointer(where, key))
        if language == JSONPATH:
            self.template(assign, where)
        else:
            self.jsonata_template(assign, where, reads)

    def scope_conflicts(self) -> None:
        """AWS: a variable assigned in an inner scope may not share a name with an outer one."""
        for scope in self.scopes:
            for name, where in scope.assigned.items():
                outer = scope.parent
                while outer is not None and name not in outer.assigned:
                    outer = outer.parent
                if outer is not None:
                    self.schema(
                        f'The variable "{name}" is already assigned in an enclosing scope '
                        f"(at {outer.assigned[name]}); a Parallel branch or Map iteration "
                        "cannot assign it again",
                        where,
                    )

    def query_language(self, node: dict[str, Any], loc: str, default: str) -> str:
        """Check ``QueryLanguage`` and return the language of ``node`` (``default`` if unset)."""
        if "QueryLanguage" not in node:
            return default
        value = node["QueryLanguage"]
        if value not in QUERY_LANGUAGES:
            self.value("QueryLanguage", 'one of "JSONPath", "JSONata"', loc)
            return default
        language: str = value
        if language == JSONPATH and self.machine_language == JSONATA:
            self.schema(_NO_DOWNGRADE, _pointer(loc, "QueryLanguage"))
        return language

    # --- State machines. ---

    def machine(
        self,
        node: Any,
        loc: str,
        *,
        top: bool = False,
        extra: frozenset[str] = _BRANCH_FIELDS,
        parent: _Scope | None = None,
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
            self.machine_language = self.query_language(node, loc, JSONPATH)
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
        scope = _Scope(states, {}, parent)
        self.scopes.append(scope)
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
        language = self.query_language(node, loc, self.machine_language)
        self.fields(
            node,
            _FIELDS[kind] | _ONLY[language][kind],
            loc,
            language=language,
            other=_ONLY[_OTHER[language]][kind],
        )
        self.string(node, "Comment", loc)
        result = _Reads(result=kind in _RESULT_STATES)
        if language == JSONPATH:
            self.path(node, "InputPath", loc, nullable=True)
            self.path(node, "OutputPath", loc, nullable=True)
            self.path(
                node,
                "ResultPath",
                loc,
                reference=True,
                context=False,
                nullable=True,
                variables=False,
            )
            for field_name in ("Parameters", "ResultSelector", "ItemSelector"):
                self.payload_template(node, field_name, loc)
            if "ResultSelector" in node and not isinstance(node["ResultSelector"], dict):
                self.value("ResultSelector", "an object", loc)
        else:
            if "Arguments" in node:
                self.jsonata_template(node["Arguments"], _pointer(loc, "Arguments"))
            if "Output" in node:
                self.jsonata_template(node["Output"], _pointer(loc, "Output"), result)
            if "ItemSelector" in node:
                selector = node["ItemSelector"]
                if not isinstance(selector, dict) and not is_expression(selector):
                    self.value("ItemSelector", "an object or a JSONata expression", loc)
                else:
                    self.jsonata_template(selector, _pointer(loc, "ItemSelector"))
        self.assign(node, loc, language, scope, result)
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
        checks[kind](node, loc, scope, edges, language)
        if kind in ("Task", "Pass", "Wait", "Parallel", "Map"):
            self.next_or_end(node, loc, scope, edges)
        elif kind in ("Succeed", "Fail"):
            scope.terminal = True
        if kind in ("Task", "Parallel", "Map"):
            self.retriers(node, loc)
            self.catchers(node, loc, scope, edges, language)
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

    def state_task(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
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
        timeout = self.integer(node, "TimeoutSeconds", loc, 1, language)
        heartbeat = self.integer(node, "HeartbeatSeconds", loc, 1, language)
        if language == JSONPATH:
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

    def state_pass(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        """Pass has nothing beyond the common fields; ``Result`` may be any JSON value."""

    def state_succeed(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        """Succeed has nothing beyond the common fields."""

    def state_wait(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        fields = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
        present = [f for f in fields if f in node]
        if len(present) != 1:
            self.schema(f"Exactly one of the fields {_quoted(fields)} is required", loc)
        self.integer(node, "Seconds", loc, 0, language)
        if "Timestamp" in node and not self.expression_field(node, "Timestamp", loc, language):
            stamp = node["Timestamp"]
            if not isinstance(stamp, str) or not is_timestamp(stamp):
                self.value(
                    "Timestamp",
                    "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z" + _OR_EXPRESSION[language],
                    loc,
                )
        if language == JSONPATH:
            self.path(node, "SecondsPath", loc, reference=True)
            self.path(node, "TimestampPath", loc, reference=True)

    def state_fail(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        for field_name in ("Error", "Cause"):
            if not self.expression_field(node, field_name, loc, language):
                self.string(node, field_name, loc)
            if language == JSONPATH:
                self.path(node, f"{field_name}Path", loc, reference=True, intrinsic=True)
                self.one_of(node, (field_name, f"{field_name}Path"), loc)

    def state_choice(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        if self.required(node, "Choices", loc):
            choices = node["Choices"]
            if not isinstance(choices, list) or not choices:
                self.value("Choices", "a non-empty array", loc)
            else:
                for i, rule in enumerate(choices):
                    rule_loc = _pointer(loc, "Choices", i)
                    if language == JSONATA:
                        self.jsonata_rule(rule, rule_loc, scope)
                    else:
                        self.rule(rule, rule_loc, top=True)
                        if isinstance(rule, dict):
                            self.assign(rule, rule_loc, language, scope, _NOTHING)
                    if isinstance(rule, dict) and "Next" in rule:
                        self.transition(
                            rule["Next"], "Next", _pointer(rule_loc, "Next"), scope, edges
                        )
        if "Default" in node:
            self.transition(node["Default"], "Default", _pointer(loc, "Default"), scope, edges)

    def jsonata_rule(self, node: Any, loc: str, scope: _Scope) -> None:
        """Validate a JSONata choice rule: a ``Condition`` and a ``Next``, never nested."""
        if not isinstance(node, dict):
            self.schema("A choice rule must be a JSON object", loc)
            return
        self.fields(node, _JSONATA_RULE, loc, language=JSONATA, other=_JSONPATH_RULE)
        self.required(node, "Next", loc)
        if self.required(node, "Condition", loc):
            condition = node["Condition"]
            if is_expression(condition):
                self.expression(condition, _pointer(loc, "Condition"), _NOTHING)
            elif not isinstance(condition, bool):
                self.value("Condition", "a boolean or a JSONata expression", loc)
        if "Output" in node:
            self.jsonata_template(node["Output"], _pointer(loc, "Output"))
        self.assign(node, loc, JSONATA, scope, _NOTHING)

    def rule(self, node: Any, loc: str, *, top: bool) -> None:
        """Validate a JSONPath choice rule; only top-level rules carry ``Next`` and ``Assign``."""
        if not isinstance(node, dict):
            self.schema("A choice rule must be a JSON object", loc)
            return
        operators = [k for k in node if k in _OPERATORS]
        logic = [k for k in node if k in _LOGIC]
        # Next is reported apart from unknown fields, with a message saying why.
        allowed = {"Variable", "Comment", "Next", *operators, *logic}
        if top:
            allowed.add("Assign")
        self.fields(
            node,
            frozenset(allowed),
            loc,
            other=frozenset({"Condition", "Output"}),
        )
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

    def catchers(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        if "Catch" not in node:
            return
        catchers = node["Catch"]
        if not isinstance(catchers, list):
            self.value("Catch", "an array", loc)
            return
        # A catcher reads the error output, never a result: the state failed.
        reads = _Reads(error_output=True)
        for i, catcher in enumerate(catchers):
            where = _pointer(loc, "Catch", i)
            if not isinstance(catcher, dict):
                self.schema("A catcher must be a JSON object", where)
                continue
            other = _CATCH_FIELDS[_OTHER[language]] - _CATCH_FIELDS[language]
            self.fields(catcher, _CATCH_FIELDS[language], where, language=language, other=other)
            self.error_equals(catcher, where, last=i == len(catchers) - 1)
            if language == JSONPATH:
                self.path(
                    catcher,
                    "ResultPath",
                    where,
                    reference=True,
                    context=False,
                    nullable=True,
                    variables=False,
                )
            elif "Output" in catcher:
                self.jsonata_template(catcher["Output"], _pointer(where, "Output"), reads)
            # A catcher's Assign sets variables in the scope of the state it belongs to.
            self.assign(catcher, where, language, scope, reads)
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
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        if not self.required(node, "Branches", loc):
            return
        branches = node["Branches"]
        if not isinstance(branches, list) or not branches:
            self.value("Branches", "a non-empty array", loc)
            return
        for i, branch in enumerate(branches):
            self.machine(branch, _pointer(loc, "Branches", i), parent=scope)

    def state_map(
        self, node: dict[str, Any], loc: str, scope: _Scope, edges: list[str], language: str
    ) -> None:
        if language == JSONPATH:
            self.path(node, "ItemsPath", loc, reference=True)
            self.one_of(node, ("ItemSelector", "Parameters"), loc)
        elif "Items" in node:
            items = node["Items"]
            if isinstance(items, list) or is_expression(items):
                self.jsonata_template(items, _pointer(loc, "Items"))
            else:
                self.value("Items", "a JSON array or a JSONata expression", loc)
        self.one_of(node, ("ItemProcessor", "Iterator"), loc)
        if "ItemProcessor" in node:
            processor = node["ItemProcessor"]
            where = _pointer(loc, "ItemProcessor")
            if isinstance(processor, dict) and "ProcessorConfig" in processor:
                self.processor_config(processor["ProcessorConfig"], where)
            self.machine(processor, where, extra=_BRANCH_FIELDS | {"ProcessorConfig"}, parent=scope)
        elif "Iterator" in node:
            self.machine(node["Iterator"], _pointer(loc, "Iterator"), parent=scope)
        else:
            self.schema('The field "ItemProcessor" is required', loc)
        self.integer(node, "MaxConcurrency", loc, 0, language)
        self.integer(node, "ToleratedFailureCount", loc, 0, language)
        if "ToleratedFailurePercentage" in node and not self.expression_field(
            node, "ToleratedFailurePercentage", loc, language
        ):
            share = node["ToleratedFailurePercentage"]
            if not _is_number(share) or not 0 <= share <= 100:
                self.value(
                    "ToleratedFailurePercentage",
                    "a number from 0 to 100" + _OR_EXPRESSION[language],
                    loc,
                )
        if language == JSONPATH:
            self.path(node, "MaxConcurrencyPath", loc, reference=True)
            self.one_of(node, ("MaxConcurrency", "MaxConcurrencyPath"), loc)
            self.path(node, "ToleratedFailureCountPath", loc, reference=True)
            self.one_of(node, ("ToleratedFailureCount", "ToleratedFailureCountPath"), loc)
            self.path(node, "ToleratedFailurePercentagePath", loc, reference=True)
            self.one_of(node, ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"), loc)
        if "ItemBatcher" in node:
            batcher = node["ItemBatcher"]
            if not isinstance(batcher, dict):
                self.value("ItemBatcher", "an object", loc)
            elif language == JSONATA:
                self.jsonata_template(batcher, _pointer(loc, "ItemBatcher"))

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
