"""JSONPath and the JSONPath data flow of Amazon States Language states.

Pure and deterministic (standard library only) so it can run inside Temporal workflow code.

AWS evaluates JSONPath with Jayway JsonPath, so evaluation and error wording follow Jayway:

* a *definite* path (only names and single indexes) yields the one node it names, or fails;
* an *indefinite* path (wildcards, unions, slices, filters, ``..``) yields a list of matches,
  which may be empty;
* a missing property in the middle of a definite prefix fails even for indefinite paths
  (``$.missing[*]``), like Jayway's ``Missing property in path``.

Workflow variables (AWS, "Passing data between states with variables": "To reference a variable,
you also use the ``$`` symbol before a variable name, for example, ``$x`` or
``$order.numItems``"): a path that starts with ``$`` and a name (a letter or ``_``, then letters,
digits or ``_``) selects inside that variable, given through the ``variables`` keyword. ``$``
alone, ``$.x``, ``$[...]`` and ``$$...`` keep their meaning. AWS allows variables in every
JSONPath field except ``ResultPath``, so ``apply_result_path`` refuses them.

Choices made where AWS is not documented:

* Reading a variable that has no value is ``States.Runtime`` with the cause
  ``Invalid path '$x.a' : The variable '$x' is not defined``; a missing part inside a defined
  variable is reported like a missing part of the input, with the variable's value as the node.
* Filters (``[?(...)]``) cannot read variables; inside a filter ``$`` is still the root of the
  document the path reads.
"""

from __future__ import annotations

import copy
import enum
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

# --- Error names and cause formats, kept together so they can be matched against AWS. ---
RUNTIME: Final = "States.Runtime"
# Observed on AWS when ResultPath (or another reference path) steps into a non-object.
REFERENCE_PATH_CONFLICT: Final = "States.ReferencePathConflict"
_INVALID_PATH: Final = "Invalid path '{path}' : {detail}"
_NO_RESULTS: Final = "No results for path: {location}"
_MISSING_PROPERTY: Final = "Missing property in path {location}"
_NOT_AN_OBJECT: Final = (
    "Expected to find an object with property {fragment} in path {location} but found '{found}'"
)
_NOT_AN_ARRAY: Final = (
    "Filter: {fragment} can only be applied to arrays. Current context is: {node}"
)
_PARAMETER_NOT_FOUND: Final = (
    "The JSONPath '{path}' specified for the field '{field}' "
    "could not be found in the input '{node}'"
)
_UNABLE_TO_APPLY: Final = 'Unable to apply step "{step}" to input {node}'
_UNDEFINED_VARIABLE: Final = "The variable '${name}' is not defined"

# Jayway parses indexes as Java ints.
_MAX_INDEX: Final = 2**31 - 1


class PathError(Exception):
    """A runtime failure while applying a path, as an ASL error name and an AWS-like cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class Absent(enum.Enum):
    """Marks a field left out of the state definition, as opposed to set to ``null``."""

    ABSENT = enum.auto()


ABSENT: Final = Absent.ABSENT
PathField = str | None | Literal[Absent.ABSENT]
"""The value of InputPath, OutputPath or ResultPath: a path, ``null`` or absent."""

Intrinsic = Callable[[str, Any, Any], Any]
"""Callback evaluating an intrinsic function call: ``(expression, data, context) -> value``."""


def _json(node: Any) -> str:
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)


# --- Syntax tree. ---


@dataclass(frozen=True)
class Name:
    """A property, ``.key`` or ``['key']``."""

    key: str


@dataclass(frozen=True)
class Index:
    """A single array index, ``[3]`` or ``[-1]`` (counted from the end, as Jayway does)."""

    index: int


@dataclass(frozen=True)
class Wildcard:
    """``.*`` or ``[*]``: every member of an object or array."""


@dataclass(frozen=True)
class Union:
    """``[0,2]`` or ``['a','b']``."""

    items: tuple[str | int, ...]


@dataclass(frozen=True)
class Slice:
    """``[start:end]``; either bound may be omitted or negative."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class Descend:
    """``..`` followed by a segment: that segment applied at every depth."""

    child: Segment


@dataclass(frozen=True)
class Constant:
    """A constant in a filter expression."""

    value: Any


@dataclass(frozen=True)
class Operand:
    """A path inside a filter: relative to the current item (``@``) or the root (``$``)."""

    relative: bool
    segments: tuple[Name | Index, ...]


@dataclass(frozen=True)
class Compare:
    """``left op right``, or an existence test when ``op`` is empty."""

    left: Operand | Constant
    op: str
    right: Operand | Constant


@dataclass(frozen=True)
class Logical:
    """``&&``, ``||`` or ``!`` over filter expressions."""

    op: str
    args: tuple[Expr, ...]


Expr = Compare | Logical


@dataclass(frozen=True)
class Filter:
    """``[?(expression)]``."""

    expr: Expr


Segment = Name | Index | Wildcard | Union | Slice | Descend | Filter


@dataclass(frozen=True)
class Path:
    """A parsed JSONPath.

    ``context`` is true for ``$$`` paths, which read the context object; ``variable`` names the
    workflow variable a ``$name...`` path reads, and is None for every other path.
    """

    text: str
    context: bool
    segments: tuple[Segment, ...]
    variable: str | None = None

    @property
    def definite(self) -> bool:
        """True if the path can name at most one node (only names and single indexes)."""
        return all(isinstance(s, Name | Index) for s in self.segments)

    def location(self, upto: int | None = None) -> str:
        """The path in Jayway's normalized form, e.g. ``$['a'][0]``, as AWS prints it."""
        root = "$" + (self.variable or "")
        return root + "".join(_fragment(s) for s in self.segments[:upto])


def _fragment(segment: Segment) -> str:
    match segment:
        case Name(key):
            return f"['{key}']"
        case Index(index):
            return f"[{index}]"
        case Wildcard():
            return "[*]"
        case Union(items):
            return "[" + ",".join(f"'{i}'" if isinstance(i, str) else str(i) for i in items) + "]"
        case Slice(start, end):
            return f"[{'' if start is None else start}:{'' if end is None else end}]"
        case Descend(child):
            return ".." + _fragment(child)
        case Filter():
            return "[?]"


# --- Parser. ---

_NAME_STOP: Final = frozenset(".[]()'\",*?@$!=<>&| \t\r\n")
_NUMBER: Final = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_INTEGER: Final = re.compile(r"-?\d+")
# A letter or underscore, then letters, digits or underscores (Unicode-aware, like AWS's
# identifier rule for variable names).
_VARIABLE: Final = re.compile(r"[^\W\d]\w*")
_COMPARISONS: Final = ("==", "!=", "<=", ">=", "<", ">")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> ValueError:
        return ValueError(f"Invalid JSONPath {self.text!r} at position {self.pos}: {message}")

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def eat(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            raise self.fail(f"expected {token!r}")

    def spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def path(self) -> Path:
        if not self.eat("$"):
            raise self.fail("a path must start with '$'")
        context = self.eat("$")
        variable = None
        if not context and (match := _VARIABLE.match(self.text, self.pos)):
            variable = match.group()
            self.pos = match.end()
        segments: list[Segment] = []
        while self.pos < len(self.text):
            segments.append(self.segment())
        return Path(self.text, context, tuple(segments), variable)

    def segment(self) -> Segment:
        if self.eat(".."):
            if self.eat("*"):
                return Descend(Wildcard())
            if self.peek() == "[":
                return Descend(self.bracket())
            return Descend(Name(self.name()))
        if self.eat("."):
            return Wildcard() if self.eat("*") else Name(self.name())
        if self.peek() == "[":
            return self.bracket()
        raise self.fail(f"unexpected {self.peek()!r}")

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() not in _NAME_STOP:
            self.pos += 1
        if self.pos == start:
            raise self.fail("expected a property name")
        return self.text[start : self.pos]

    def bracket(self) -> Segment:
        self.expect("[")
        self.spaces()
        segment: Segment
        if self.eat("*"):
            segment = Wildcard()
        elif self.eat("?"):
            self.spaces()
            self.expect("(")
            segment = Filter(self.or_expr())
            self.spaces()
            self.expect(")")
        elif self.peek() in ("'", '"'):
            keys = [self.string()]
            self.spaces()
            while self.eat(","):
                self.spaces()
                keys.append(self.string())
                self.spaces()
            segment = Name(keys[0]) if len(keys) == 1 else Union(tuple(keys))
        else:
            segment = self.indexes()
        self.spaces()
        self.expect("]")
        return segment

    def indexes(self) -> Segment:
        start = None if self.peek() == ":" else self.integer()
        self.spaces()
        if self.eat(":"):
            self.spaces()
            end = None if self.peek() == "]" else self.integer()
            return Slice(start, end)
        assert start is not None
        items: list[str | int] = [start]
        while self.eat(","):
            self.spaces()
            items.append(self.integer())
            self.spaces()
        return Index(start) if len(items) == 1 else Union(tuple(items))

    def integer(self) -> int:
        match = _INTEGER.match(self.text, self.pos)
        if not match:
            raise self.fail("expected an index, '*', a quoted name or '?('")
        value = int(match.group())
        if abs(value) > _MAX_INDEX:
            raise self.fail("index out of range")
        self.pos = match.end()
        return value

    def string(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            raise self.fail("expected a quoted string")
        self.pos += 1
        chars: list[str] = []
        while (char := self.peek()) != quote:
            if not char:
                raise self.fail("unterminated string")
            if char == "\\":
                self.pos += 1
                char = self.peek()
                if not char:
                    raise self.fail("unterminated string")
            chars.append(char)
            self.pos += 1
        self.pos += 1
        return "".join(chars)

    def or_expr(self) -> Expr:
        args = [self.and_expr()]
        self.spaces()
        while self.eat("||"):
            args.append(self.and_expr())
            self.spaces()
        return args[0] if len(args) == 1 else Logical("||", tuple(args))

    def and_expr(self) -> Expr:
        args = [self.unary()]
        self.spaces()
        while self.eat("&&"):
            args.append(self.unary())
            self.spaces()
        return args[0] if len(args) == 1 else Logical("&&", tuple(args))

    def unary(self) -> Expr:
        self.spaces()
        if self.peek() == "!" and self.peek(1) != "=":
            self.pos += 1
            return Logical("!", (self.unary(),))
        if self.eat("("):
            expr = self.or_expr()
            self.spaces()
            self.expect(")")
            return expr
        left = self.operand()
        self.spaces()
        for op in _COMPARISONS:
            if self.eat(op):
                self.spaces()
                return Compare(left, op, self.operand())
        if not isinstance(left, Operand):
            raise self.fail("expected a comparison operator")
        return Compare(left, "", Constant(None))

    def operand(self) -> Operand | Constant:
        char = self.peek()
        if char in ("@", "$"):
            self.pos += 1
            segments: list[Name | Index] = []
            while self.peek() in (".", "["):
                segment = self.segment()
                if not isinstance(segment, Name | Index):
                    raise self.fail("only names and indexes are supported inside filters")
                segments.append(segment)
            return Operand(char == "@", tuple(segments))
        if char in ("'", '"'):
            return Constant(self.string())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.eat(word):
                return Constant(value)
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = match.group()
            return Constant(float(number) if any(c in number for c in ".eE") else int(number))
        raise self.fail("expected '@', '$', a string, a number, true, false or null")


def parse_path(text: str) -> Path:
    """Parse a JSONPath as ASL uses it; raise ``ValueError`` naming the path and position.

    ``$name...`` parses as a path into the workflow variable ``name`` (``Path.variable``).
    """
    return _Parser(text).path()


def is_reference_path(
    text: str, *, allow_context: bool = False, allow_variables: bool = True
) -> bool:
    """True if ``text`` is an ASL Reference Path: it names one node (only names and indexes).

    ``$$`` paths count only with ``allow_context``; ``$name`` paths unless ``allow_variables`` is
    false (``ResultPath`` may not use variables).
    """
    try:
        path = parse_path(text)
    except ValueError:
        return False
    return (
        path.definite
        and (allow_context or not path.context)
        and (allow_variables or path.variable is None)
    )


def _as_path(path: str | Path) -> Path:
    return path if isinstance(path, Path) else parse_path(path)


# --- Evaluation. ---


class _NotFound(Exception):
    """Raised where Jayway throws PathNotFoundException; the message is the detail."""


def _type_name(node: Any) -> str:
    names = {list: "array", dict: "object", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(node), "number")


def _walk(path: Path, i: int, node: Any, root: Any, out: list[Any], lenient: bool = False) -> None:
    segments = path.segments
    if i == len(segments):
        out.append(node)
        return
    segment = segments[i]
    # Jayway only raises for a failed step when everything up to it is definite.
    strict = not lenient and all(isinstance(s, Name | Index) for s in segments[: i + 1])
    match segment:
        case Name(key):
            if isinstance(node, dict):
                if key in node:
                    _walk(path, i + 1, node[key], root, out)
                elif strict and i + 1 < len(segments):
                    raise _NotFound(_MISSING_PROPERTY.format(location=path.location(i + 1)))
            elif strict:
                detail = _NOT_AN_OBJECT.format(
                    fragment=_fragment(segment), location=path.location(i), found=_type_name(node)
                )
                raise _NotFound(detail)
        case Index(index):
            if isinstance(node, list):
                if _in_range(index, node):
                    _walk(path, i + 1, node[index], root, out)
            elif strict:
                fragment, text = _fragment(segment), _json(node)
                raise _NotFound(_NOT_AN_ARRAY.format(fragment=fragment, node=text))
        case Wildcard():
            for child in _children(node):
                _walk(path, i + 1, child, root, out)
        case Union(items):
            for item in items:
                found = (isinstance(node, dict) and item in node) or (
                    isinstance(item, int) and isinstance(node, list) and _in_range(item, node)
                )
                if found:
                    _walk(path, i + 1, node[item], root, out)
        case Slice(start, end):
            if isinstance(node, list):
                for child in node[start:end]:
                    _walk(path, i + 1, child, root, out)
        case Filter(expr):
            # Jayway filters the items of an array, but an object is tested as itself.
            candidates = (
                node if isinstance(node, list) else [node] if isinstance(node, dict) else []
            )
            for child in candidates:
                if _test(expr, child, root):
                    _walk(path, i + 1, child, root, out)
        case Descend(child):
            step = Path(path.text, path.context, (child, *segments[i + 1 :]), path.variable)
            for descendant in _descendants(node):
                _walk(step, 0, descendant, root, out, lenient=True)


def _in_range(index: int, node: list[Any]) -> bool:
    return -len(node) <= index < len(node)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def _descendants(node: Any) -> list[Any]:
    # Iterative, so that deeply nested input cannot exhaust the Python stack.
    found: list[Any] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(_children(current)))
    return found


_MISSING: Final = object()


def _operand(operand: Operand | Constant, item: Any, root: Any) -> Any:
    if isinstance(operand, Constant):
        return operand.value
    node = item if operand.relative else root
    for segment in operand.segments:
        if isinstance(segment, Name) and isinstance(node, dict) and segment.key in node:
            node = node[segment.key]
        elif (
            isinstance(segment, Index) and isinstance(node, list) and _in_range(segment.index, node)
        ):
            node = node[segment.index]
        else:
            return _MISSING
    return node


def _kind(value: Any) -> str:
    # bool is an int subclass in Python, but JSON true is not the number 1.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _test(expr: Expr, item: Any, root: Any) -> bool:
    if isinstance(expr, Logical):
        if expr.op == "!":
            return not _test(expr.args[0], item, root)
        results = (_test(arg, item, root) for arg in expr.args)
        return all(results) if expr.op == "&&" else any(results)
    left = _operand(expr.left, item, root)
    if not expr.op:
        return left is not _MISSING
    right = _operand(expr.right, item, root)
    if left is _MISSING or right is _MISSING:
        return False
    same = _kind(left) == _kind(right)
    if expr.op in ("==", "!="):
        return (same and left == right) == (expr.op == "==")
    # Ordering is only defined between two numbers or two strings; anything else never matches.
    if not same or _kind(left) not in ("number", "str"):
        return False
    ordered: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return ordered[expr.op](left, right)


def _undefined_variable(path: Path) -> PathError:
    detail = _UNDEFINED_VARIABLE.format(name=path.variable)
    return PathError(RUNTIME, _INVALID_PATH.format(path=path.text, detail=detail))


def _root(path: Path, data: Any, context: Any, variables: Mapping[str, Any] | None) -> Any:
    """What ``path`` reads: a variable's value, the context object, or the data."""
    if path.variable is not None:
        if variables is None or path.variable not in variables:
            raise _undefined_variable(path)
        return variables[path.variable]
    return context if path.context else data


def select(
    path: str | Path,
    data: Any,
    context: Any = None,
    *,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate ``path`` against ``data`` (``context`` for ``$$`` paths, ``variables`` for ``$x``).

    A definite path returns the node it names, or raises ``PathError("States.Runtime")`` if
    there is none. An indefinite path returns the list of matches, empty if nothing matched.
    A ``$name`` path whose variable is not in ``variables`` raises ``PathError`` naming it.
    The result may share structure with the input; copy it before mutating it.
    """
    parsed = _as_path(path)
    root = _root(parsed, data, context, variables)
    out: list[Any] = []
    try:
        _walk(parsed, 0, root, root, out)
        if parsed.definite and not out:
            raise _NotFound(_NO_RESULTS.format(location=parsed.location()))
    except _NotFound as exc:
        raise PathError(RUNTIME, _INVALID_PATH.format(path=parsed.text, detail=exc)) from None
    return out[0] if parsed.definite else out


# --- The data flow of a state. ---


def _filter_path(
    path: PathField, data: Any, context: Any, variables: Mapping[str, Any] | None
) -> Any:
    if path is ABSENT:
        return copy.deepcopy(data)
    if path is None:
        return {}
    return copy.deepcopy(select(path, data, context, variables=variables))


def apply_input_path(
    input_path: PathField,
    data: Any,
    context: Any = None,
    *,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Apply ``InputPath``: absent means ``$``, ``null`` means ``{}``; ``$x`` reads a variable."""
    return _filter_path(input_path, data, context, variables)


def apply_output_path(
    output_path: PathField,
    data: Any,
    context: Any = None,
    *,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Apply ``OutputPath``: absent means ``$``, ``null`` means ``{}``; ``$x`` reads a variable."""
    return _filter_path(output_path, data, context, variables)


def apply_parameters(
    template: Any,
    data: Any,
    context: Any = None,
    intrinsic: Intrinsic | None = None,
    *,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Resolve a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``, and
    ``Assign`` in JSONPath states).

    Keys ending in ``.$`` take a path (``$...`` reads ``data``, ``$$...`` the context, ``$x...``
    the workflow variable ``x`` in ``variables``) or an intrinsic function call, passed to
    ``intrinsic``; the ``.$`` is dropped from the key. An intrinsic whose arguments may read
    variables needs a callback that resolves paths with them, e.g. with
    ``functools.partial(select, variables=variables)`` as its path resolver.
    Raises ``ValueError`` for an invalid template and ``PathError`` when a path finds nothing.
    """
    if isinstance(template, list):
        return [
            apply_parameters(item, data, context, intrinsic, variables=variables)
            for item in template
        ]
    if not isinstance(template, dict):
        return copy.deepcopy(template)
    resolved: dict[str, Any] = {}
    for key, value in template.items():
        if not key.endswith(".$"):
            out_key = key
            out_value = apply_parameters(value, data, context, intrinsic, variables=variables)
        else:
            out_key = key[:-2]
            out_value = _resolve_field(key, value, data, context, intrinsic, variables)
        if out_key in resolved:
            raise ValueError(f"Payload template has the field {out_key!r} twice")
        resolved[out_key] = out_value
    return resolved


def _resolve_field(
    key: str,
    value: Any,
    data: Any,
    context: Any,
    intrinsic: Intrinsic | None,
    variables: Mapping[str, Any] | None,
) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"The value of field {key!r} must be a path or an intrinsic function")
    if not value.startswith("$"):
        if intrinsic is None:
            raise ValueError(f"The value of field {key!r} is not a path: {value!r}")
        return intrinsic(value, data, context)
    path = parse_path(value)
    # Raised as it is: the variable has no value at all, which is not a missing part of a node.
    root = _root(path, data, context, variables)
    try:
        return copy.deepcopy(select(path, data, context, variables=variables))
    except PathError:
        cause = _PARAMETER_NOT_FOUND.format(path=value, field=key, node=_json(root))
        raise PathError(RUNTIME, cause) from None


def apply_result_path(result_path: PathField, state_input: Any, result: Any) -> Any:
    """Combine a state's input and result as ``ResultPath`` says; never mutates either.

    Absent or ``$``: the result. ``null``: the input. Otherwise the result is written at the
    reference path inside a copy of the input, creating missing objects on the way.
    """
    if result_path is ABSENT:
        return copy.deepcopy(result)
    if result_path is None:
        return copy.deepcopy(state_input)
    path = parse_path(result_path)
    if path.context or not path.definite:
        raise ValueError(f"ResultPath {result_path!r} is not a reference path")
    if path.variable is not None:
        # AWS: "Variables cannot be used in ResultPath."
        raise ValueError(f"ResultPath {result_path!r} cannot use a variable")
    if not path.segments:
        return copy.deepcopy(result)
    output = copy.deepcopy(state_input)
    node = output
    segments = path.segments
    for i, segment in enumerate(segments):
        if isinstance(segment, Name) and isinstance(node, dict):
            if i == len(segments) - 1:
                node[segment.key] = copy.deepcopy(result)
                return output
            # Only a following name can be created; an index needs an existing array.
            if segment.key not in node and isinstance(segments[i + 1], Name):
                node[segment.key] = {}
            if segment.key in node:
                node = node[segment.key]
                continue
        elif (
            isinstance(segment, Index) and isinstance(node, list) and _in_range(segment.index, node)
        ):
            if i == len(segments) - 1:
                node[segment.index] = copy.deepcopy(result)
                return output
            node = node[segment.index]
            continue
        step = segment.key if isinstance(segment, Name) else _fragment(segment)
        raise PathError(
            REFERENCE_PATH_CONFLICT, _UNABLE_TO_APPLY.format(step=step, node=_json(state_input))
        )
    raise AssertionError("unreachable: a non-empty path either writes or fails")
