"""Amazon States Language intrinsic functions (``States.Format`` and friends) for JSONPath states.

This module runs inside Temporal workflow code, so it is pure and deterministic: standard library
only, no I/O, no clock, no global random state. Randomness and UUIDs come from the ``Sources``
the caller passes in (the workflow passes its replay-safe ``workflow.random()`` and
``workflow.uuid4()``), and JSONPath arguments are resolved through a callback, so this module knows
nothing about JSONPath itself.

Two entry points:

* ``parse_call(text)`` turns the value of a ``"key.$"`` field into a ``Call`` tree, raising
  ``ValueError`` (naming the expression and the position) for anything malformed. Run it when a
  state machine is created so bad expressions become ``InvalidDefinition``.
* ``evaluate(call, data, context, sources, resolve_path)`` computes the value, raising
  ``IntrinsicError`` (``States.IntrinsicFailure``) for the runtime errors AWS documents.

Choices made where the AWS developer guide is silent (see also ``_format_value``):

* Integer arguments (``ArrayPartition``, ``ArrayRange``, ``ArrayGetItem``, ``MathRandom``,
  ``MathAdd``) accept floats and round them to the nearest integer, halves away from zero for
  positives and towards zero for negatives (Java's ``Math.round``, which AWS's interpreter uses),
  as the guide documents. Booleans are never numbers. Values must fit a signed 32-bit integer,
  and so must the sum ``MathAdd`` returns.
* ``States.MathRandom`` returns an integer with ``start <= n < end``; ``start >= end`` fails. With
  a seed it is a pure function of ``(start, end, seed)`` and ignores the sources.
* ``States.StringSplit`` treats every character of the second argument as a delimiter and drops
  empty tokens, as in the guide's example ``StringSplit('This.is+a,test=string', '.+,=')``.
* ``States.Base64Decode`` fails when the decoded bytes are not UTF-8 text.
* ``States.Hash`` hashes the UTF-8 bytes of a string; non-string data fails.
* A lone ``{`` or ``}`` in a string literal is kept as a literal character; only an unescaped
  ``{}`` pair is a ``States.Format`` placeholder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeAlias

__all__ = [
    "FUNCTION_NAMES",
    "MAX_INTRINSIC_CALLS",
    "Argument",
    "Call",
    "IntrinsicError",
    "LiteralArgument",
    "PathArgument",
    "PathResolver",
    "Sources",
    "StringArgument",
    "evaluate",
    "evaluate_expression",
    "parse_call",
]

# The guide: "You can nest up to 10 intrinsic functions within a field"; its nine-function
# example counts every call in the field, so this caps calls, not depth.
MAX_INTRINSIC_CALLS: Final = 10
# The guide caps the input of Base64Encode, Base64Decode and Hash at 10,000 characters.
MAX_STRING_INPUT_CHARS: Final = 10_000
# Arrays fed to ArrayPartition/ArrayContains "can't exceed the payload size limit of 256 KiB".
MAX_ARRAY_INPUT_BYTES: Final = 256 * 1024
# ArrayRange: "The newly generated array can't contain more than 1000 items."
MAX_ARRAY_RANGE_ITEMS: Final = 1000
# The interpreter is Java; integer arguments are documented in the signed 32-bit range.
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
HASH_ALGORITHMS: Final[Mapping[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

# Every runtime failure message, in one place so the wording can be aligned with AWS's.
_MESSAGES: Final[Mapping[str, str]] = {
    "unknown_function": "The function '{fn}' is not a supported intrinsic function.",
    "arity": "Invalid arguments in {fn}: expected {expected} but got {got}.",
    "not_string": "Invalid arguments in {fn}: the {ordinal} argument must be a string.",
    "not_array": "Invalid arguments in {fn}: the {ordinal} argument must be an array.",
    "not_object": "Invalid arguments in {fn}: the {ordinal} argument must be a JSON object.",
    "not_integer": "Invalid arguments in {fn}: the {ordinal} argument must be an integer.",
    "int_range": (
        "Invalid arguments in {fn}: the {ordinal} argument must be an integer between "
        f"{INT_MIN} and {INT_MAX}."
    ),
    "format_count": (
        "Invalid arguments in States.Format: the format string has {placeholders} "
        "placeholder(s) but {values} argument(s) were given to fill them."
    ),
    "invalid_json": "Invalid arguments in States.StringToJson: the string is not valid JSON.",
    "not_json": (
        "Invalid arguments in States.JsonToString: the value cannot be represented as JSON."
    ),
    "string_too_long": (
        "Invalid arguments in {fn}: the input string has {length} characters; "
        f"the maximum is {MAX_STRING_INPUT_CHARS}."
    ),
    "array_too_large": (
        "Invalid arguments in {fn}: the input array exceeds the payload size limit of "
        f"{MAX_ARRAY_INPUT_BYTES} bytes."
    ),
    "invalid_base64": "Invalid arguments in States.Base64Decode: the input is not valid Base64.",
    "base64_not_text": (
        "Invalid arguments in States.Base64Decode: the decoded data is not UTF-8 text."
    ),
    "index_out_of_bounds": (
        "Invalid arguments in States.ArrayGetItem: index {index} is out of bounds for an array "
        "of length {length}."
    ),
    "chunk_size": (
        "Invalid arguments in States.ArrayPartition: the chunk size must be a positive, "
        "non-zero integer, but got {size}."
    ),
    "range_step_zero": (
        "Invalid arguments in States.ArrayRange: the step (third argument) must not be zero."
    ),
    "range_too_large": (
        "Invalid arguments in States.ArrayRange: the array would contain {count} items; "
        f"the maximum is {MAX_ARRAY_RANGE_ITEMS}."
    ),
    "hash_algorithm": (
        "Invalid arguments in States.Hash: the algorithm '{algorithm}' is not supported; "
        "use one of " + ", ".join(HASH_ALGORITHMS) + "."
    ),
    "deep_merge": (
        "Invalid arguments in States.JsonMerge: the third argument must be the boolean false; "
        "only shallow merging is supported."
    ),
    "random_range": (
        "Invalid arguments in States.MathRandom: the start ({start}) must be less than the "
        "end ({end})."
    ),
    "add_overflow": (
        "Invalid arguments in States.MathAdd: the sum {total} is outside the integer range "
        f"{INT_MIN} to {INT_MAX}."
    ),
}

_ORDINALS: Final = ("first", "second", "third")


class IntrinsicError(Exception):
    """A runtime failure of an intrinsic function: the ASL error ``States.IntrinsicFailure``."""

    error: Final[str] = "States.IntrinsicFailure"

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _fail(key: str, **values: object) -> IntrinsicError:
    return IntrinsicError(_MESSAGES[key].format(**values))


@dataclass(frozen=True, slots=True)
class Sources:
    """Where non-determinism comes from: the workflow passes replay-safe callables.

    ``random`` returns a float in ``[0, 1)`` (e.g. ``workflow.random().random``); ``uuid4``
    returns a version 4 UUID or its string form (e.g. ``workflow.uuid4``).
    """

    random: Callable[[], float]
    uuid4: Callable[[], object]


PathResolver: TypeAlias = Callable[[str, Any, Any], Any]
"""``resolve_path(path_text, data, context)``: the value a ``$``/``$$`` path selects."""


@dataclass(frozen=True, slots=True)
class PathArgument:
    """A JSONPath argument (``$.a.b``, ``$$.Execution.Id``, ``$['x']``), resolved at run time."""

    path: str


@dataclass(frozen=True, slots=True)
class LiteralArgument:
    """A ``true``/``false``/``null`` or number literal."""

    value: bool | int | float | None


@dataclass(frozen=True, slots=True)
class StringArgument:
    """A single-quoted string literal, escapes already decoded.

    ``pieces`` is the value split at unescaped ``{}`` pairs, so ``States.Format`` can tell a
    placeholder from an escaped ``\\{\\}``; ``"{}".join(pieces)`` is not always ``value``.
    """

    value: str
    pieces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """An intrinsic function invocation such as ``States.Format('{}', $.x)``."""

    name: str
    args: tuple[Argument, ...]


Argument: TypeAlias = PathArgument | LiteralArgument | StringArgument | Call
"""Any one argument of an intrinsic invocation."""


# ---- parsing ------------------------------------------------------------------------------------

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ESCAPABLE: Final = frozenset("'{}\\")
_KEYWORDS: Final[Mapping[str, bool | None]] = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.calls = 0

    def error(self, reason: str, pos: int | None = None) -> ValueError:
        at = self.pos if pos is None else pos
        return ValueError(f"Invalid intrinsic function {self.text!r}: {reason} at position {at}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Call:
        self.skip_ws()
        match = _NAME_RE.match(self.text, self.pos)
        if match is None or match.group() in _KEYWORDS:
            raise self.error("expected an intrinsic function name")
        call = self.parse_call()
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the closing parenthesis")
        return call

    def parse_call(self) -> Call:
        start = self.pos
        match = _NAME_RE.match(self.text, self.pos)
        if match is None:
            raise self.error("expected an intrinsic function name")
        name = match.group()
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unknown intrinsic function {name!r}", start)
        self.calls += 1
        # Checked before recursing so hostile nesting fails fast instead of hitting the stack.
        if self.calls > MAX_INTRINSIC_CALLS:
            raise self.error(
                f"more than {MAX_INTRINSIC_CALLS} intrinsic functions in one field", start
            )
        self.pos = match.end()
        if self.peek() != "(":
            raise self.error(f"expected '(' after {name}")
        self.pos += 1
        args: list[Argument] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.parse_argument())
                self.skip_ws()
                char = self.peek()
                if char == ",":
                    self.pos += 1
                elif char == ")":
                    self.pos += 1
                    break
                elif char == "":
                    raise self.error(f"unterminated argument list of {name}")
                else:
                    raise self.error(f"expected ',' or ')' but found {char!r}")
        if not spec.accepts(len(args)):
            raise self.error(f"{name} expects {spec.expected()} but got {len(args)}", start)
        return Call(name, tuple(args))

    def parse_argument(self) -> Argument:
        self.skip_ws()
        char = self.peek()
        if char == "":
            raise self.error("expected an argument but the expression ended")
        if char == "'":
            return self.parse_string()
        if char == "$":
            return self.parse_path()
        if char == "-" or char.isdigit():
            return self.parse_number()
        match = _NAME_RE.match(self.text, self.pos)
        if match is not None:
            word = match.group()
            if word in _KEYWORDS:
                self.pos = match.end()
                self.expect_argument_end()
                return LiteralArgument(_KEYWORDS[word])
            return self.parse_call()
        raise self.error(f"unexpected character {char!r}")

    def expect_argument_end(self) -> None:
        char = self.peek()
        if char not in (",", ")", "") and not char.isspace():
            raise self.error(f"unexpected character {char!r}")

    def parse_string(self) -> StringArgument:
        start = self.pos
        self.pos += 1
        pieces: list[str] = []
        current: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\":
                escaped = text[self.pos + 1 : self.pos + 2]
                if escaped not in _ESCAPABLE:
                    # The guide: an open escape backslash is an error; report it up front.
                    raise self.error("invalid escape sequence in string literal")
                current.append(escaped)
                self.pos += 2
            elif char == "'":
                self.pos += 1
                pieces.append("".join(current))
                self.expect_argument_end()
                return StringArgument("{}".join(pieces), tuple(pieces))
            elif char == "{" and text.startswith("}", self.pos + 1):
                pieces.append("".join(current))
                current = []
                self.pos += 2
            else:
                current.append(char)
                self.pos += 1
        raise self.error("unterminated string literal", start)

    def parse_path(self) -> PathArgument:
        start = self.pos
        text = self.text
        # Closers still expected, innermost last; a list, not recursion, so depth costs no stack.
        closers: list[str] = []
        quote = ""
        while self.pos < len(text):
            char = text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                closers.append("]" if char == "[" else ")")
            elif char in "])":
                if not closers and char == ")":
                    break
                if not closers or closers.pop() != char:
                    raise self.error(f"unbalanced {char!r} in path")
            elif not closers and (char == "," or char.isspace()):
                break
            self.pos += 1
        if quote or closers:
            raise self.error("unterminated path", start)
        return PathArgument(text[start : self.pos])

    def parse_number(self) -> LiteralArgument:
        start = self.pos
        match = _NUMBER_RE.match(self.text, self.pos)
        if match is None:
            raise self.error("invalid number")
        self.pos = match.end()
        self.expect_argument_end()
        literal = match.group()
        if literal.lstrip("-").isdigit():
            try:
                return LiteralArgument(int(literal))
            except ValueError:
                # Python refuses int() of more than 4300 digits; that is no JSON number we serve.
                raise self.error("number literal too large", start) from None
        number = float(literal)
        if not math.isfinite(number):
            raise self.error("number literal out of range", start)
        return LiteralArgument(number)


def parse_call(text: str) -> Call:
    """Parse an intrinsic invocation such as ``States.Format('Hello {}', $.name)``.

    Raises ``ValueError`` naming the expression and the position on a syntax error, an unknown
    function, a wrong argument count, or more than ``MAX_INTRINSIC_CALLS`` calls.
    """
    return _Parser(text).parse()


# ---- evaluation ---------------------------------------------------------------------------------


def evaluate(
    call: Call,
    data: Any,
    context: Any,
    sources: Sources,
    resolve_path: PathResolver,
) -> Any:
    """Evaluate a parsed call; path arguments go through ``resolve_path(path, data, context)``.

    Raises ``IntrinsicError`` for the failures AWS reports as ``States.IntrinsicFailure``;
    whatever ``resolve_path`` raises propagates unchanged.
    """
    spec = _FUNCTIONS.get(call.name)
    if spec is None:
        raise _fail("unknown_function", fn=call.name)
    if not spec.accepts(len(call.args)):
        raise _fail("arity", fn=call.name, expected=spec.expected(), got=len(call.args))
    values = [_argument_value(arg, data, context, sources, resolve_path) for arg in call.args]
    return spec.impl(_Invocation(call, values, sources))


def evaluate_expression(
    text: str,
    data: Any,
    context: Any,
    sources: Sources,
    resolve_path: PathResolver,
) -> Any:
    """``evaluate(parse_call(text), ...)``: parse errors raise ``ValueError``."""
    return evaluate(parse_call(text), data, context, sources, resolve_path)


def _argument_value(
    arg: Argument, data: Any, context: Any, sources: Sources, resolve_path: PathResolver
) -> Any:
    if isinstance(arg, PathArgument):
        return resolve_path(arg.path, data, context)
    if isinstance(arg, Call):
        return evaluate(arg, data, context, sources, resolve_path)
    return arg.value


@dataclass(frozen=True, slots=True)
class _Invocation:
    call: Call
    values: list[Any]
    sources: Sources

    @property
    def fn(self) -> str:
        return self.call.name


@dataclass(frozen=True, slots=True)
class _Spec:
    min_args: int
    max_args: int | None
    impl: Callable[[_Invocation], Any]

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)

    def expected(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument(s)"
        if self.max_args == self.min_args:
            return f"{self.min_args} argument(s)"
        return f"{self.min_args} to {self.max_args} arguments"


# ---- argument checks ----------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    # bool is a subclass of int in Python, but JSON true is never a number.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(inv: _Invocation, index: int) -> str:
    value = inv.values[index]
    if not isinstance(value, str):
        raise _fail("not_string", fn=inv.fn, ordinal=_ORDINALS[index])
    return value


def _array(inv: _Invocation, index: int) -> list[Any]:
    value = inv.values[index]
    if not isinstance(value, list):
        raise _fail("not_array", fn=inv.fn, ordinal=_ORDINALS[index])
    return value


def _object(inv: _Invocation, index: int) -> dict[str, Any]:
    value = inv.values[index]
    if not isinstance(value, dict):
        raise _fail("not_object", fn=inv.fn, ordinal=_ORDINALS[index])
    return value


def _java_round(value: float) -> int:
    # Decimal keeps the float exact, so 0.49999999999999994 rounds to 0 as in Java 7+.
    return math.floor(Decimal(value) + Decimal("0.5"))


def _integer(inv: _Invocation, index: int) -> int:
    value = inv.values[index]
    ordinal = _ORDINALS[index]
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise _fail("not_integer", fn=inv.fn, ordinal=ordinal)
    number = _java_round(value) if isinstance(value, float) else int(value)
    if not INT_MIN <= number <= INT_MAX:
        raise _fail("int_range", fn=inv.fn, ordinal=ordinal)
    return number


def _limited_string(inv: _Invocation, index: int) -> str:
    value = _string(inv, index)
    if len(value) > MAX_STRING_INPUT_CHARS:
        raise _fail("string_too_long", fn=inv.fn, length=len(value))
    return value


def _limited_array(inv: _Invocation, index: int) -> list[Any]:
    value = _array(inv, index)
    try:
        size = len(_compact_json(value).encode())
    except (TypeError, ValueError, RecursionError):
        size = 0
    if size > MAX_ARRAY_INPUT_BYTES:
        raise _fail("array_too_large", fn=inv.fn)
    return value


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json_key(value: Any) -> object:
    """A hashable key under which two values are equal exactly when they are equal JSON."""
    if value is None or isinstance(value, bool | str):
        return (type(value).__name__, value)
    if _is_number(value):
        # 1 and 1.0 are the same JSON number; Decimal compares and hashes them equal.
        return ("number", Decimal(value))
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _json_key(item)) for key, item in value.items()))
    return ("other", repr(value))


# ---- the functions ------------------------------------------------------------------------------


def _format_value(value: Any) -> str:
    """How ``States.Format`` renders an argument.

    Strings as they are, ``null``/``true``/``false``, numbers as JSON (an integer has no ``.0``).
    Objects and arrays follow what AWS's Java interpreter is observed to produce, e.g.
    ``{a=1, b=[x, y]}``, rather than JSON: the guide does not specify it.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _states_format(inv: _Invocation) -> str:
    template = _string(inv, 0)
    first = inv.call.args[0]
    # A literal template knows which braces were escaped; a template read from a path does not.
    pieces = first.pieces if isinstance(first, StringArgument) else tuple(template.split("{}"))
    values = inv.values[1:]
    if len(pieces) - 1 != len(values):
        raise _fail("format_count", placeholders=len(pieces) - 1, values=len(values))
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.append(_format_value(value))
        out.append(piece)
    return "".join(out)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _string_to_json(inv: _Invocation) -> Any:
    text = _string(inv, 0)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _fail("invalid_json") from None


def _json_to_string(inv: _Invocation) -> str:
    try:
        return _compact_json(inv.values[0])
    except (TypeError, ValueError, RecursionError):
        raise _fail("not_json") from None


def _array_fn(inv: _Invocation) -> list[Any]:
    return list(inv.values)


def _array_partition(inv: _Invocation) -> list[list[Any]]:
    array = _limited_array(inv, 0)
    size = _integer(inv, 1)
    if size < 1:
        raise _fail("chunk_size", size=size)
    return [array[at : at + size] for at in range(0, len(array), size)]


def _array_contains(inv: _Invocation) -> bool:
    array = _limited_array(inv, 0)
    wanted = _json_key(inv.values[1])
    return any(_json_key(item) == wanted for item in array)


def _array_range(inv: _Invocation) -> list[int]:
    start, end, step = _integer(inv, 0), _integer(inv, 1), _integer(inv, 2)
    if step == 0:
        raise _fail("range_step_zero")
    # Counted before building, so a hostile range costs nothing.
    count = max(0, (end - start) // step + 1)
    if count > MAX_ARRAY_RANGE_ITEMS:
        raise _fail("range_too_large", count=count)
    return [start + i * step for i in range(count)]


def _array_get_item(inv: _Invocation) -> Any:
    array = _array(inv, 0)
    index = _integer(inv, 1)
    if not 0 <= index < len(array):
        raise _fail("index_out_of_bounds", index=index, length=len(array))
    return array[index]


def _array_length(inv: _Invocation) -> int:
    return len(_array(inv, 0))


def _array_unique(inv: _Invocation) -> list[Any]:
    seen: set[object] = set()
    unique: list[Any] = []
    for item in _array(inv, 0):
        key = _json_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(inv: _Invocation) -> str:
    return base64.b64encode(_limited_string(inv, 0).encode()).decode("ascii")


def _base64_decode(inv: _Invocation) -> str:
    text = _limited_string(inv, 0)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _fail("invalid_base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("base64_not_text") from None


def _hash(inv: _Invocation) -> str:
    data = _limited_string(inv, 0)
    algorithm = inv.values[1]
    name = HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise _fail("hash_algorithm", algorithm=algorithm)
    return hashlib.new(name, data.encode()).hexdigest()


def _json_merge(inv: _Invocation) -> dict[str, Any]:
    first, second = _object(inv, 0), _object(inv, 1)
    if inv.values[2] is not False:
        raise _fail("deep_merge")
    return {**first, **second}


def _seeded_unit(seed: int) -> float:
    # SHA-256 rather than random.Random: stable across Python versions and free of state.
    digest = hashlib.sha256(f"States.MathRandom:{seed}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def _math_random(inv: _Invocation) -> int:
    start, end = _integer(inv, 0), _integer(inv, 1)
    seed = _integer(inv, 2) if len(inv.values) == 3 else None
    if start >= end:
        raise _fail("random_range", start=start, end=end)
    unit = _seeded_unit(seed) if seed is not None else float(inv.sources.random())
    unit = min(max(unit, 0.0), 1.0)
    # Clamped because a unit of exactly 1.0 (or float rounding) must not reach the exclusive end.
    return min(start + math.floor(unit * (end - start)), end - 1)


def _math_add(inv: _Invocation) -> int:
    total = _integer(inv, 0) + _integer(inv, 1)
    if not INT_MIN <= total <= INT_MAX:
        raise _fail("add_overflow", total=total)
    return total


def _string_split(inv: _Invocation) -> list[str]:
    text, delimiters = _string(inv, 0), _string(inv, 1)
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(inv: _Invocation) -> str:
    return str(inv.sources.uuid4())


_FUNCTIONS: Final[Mapping[str, _Spec]] = {
    "States.Format": _Spec(1, None, _states_format),
    "States.StringToJson": _Spec(1, 1, _string_to_json),
    "States.JsonToString": _Spec(1, 1, _json_to_string),
    "States.Array": _Spec(0, None, _array_fn),
    "States.ArrayPartition": _Spec(2, 2, _array_partition),
    "States.ArrayContains": _Spec(2, 2, _array_contains),
    "States.ArrayRange": _Spec(3, 3, _array_range),
    "States.ArrayGetItem": _Spec(2, 2, _array_get_item),
    "States.ArrayLength": _Spec(1, 1, _array_length),
    "States.ArrayUnique": _Spec(1, 1, _array_unique),
    "States.Base64Encode": _Spec(1, 1, _base64_encode),
    "States.Base64Decode": _Spec(1, 1, _base64_decode),
    "States.Hash": _Spec(2, 2, _hash),
    "States.JsonMerge": _Spec(3, 3, _json_merge),
    "States.MathRandom": _Spec(2, 3, _math_random),
    "States.MathAdd": _Spec(2, 2, _math_add),
    "States.StringSplit": _Spec(2, 2, _string_split),
    "States.UUID": _Spec(0, 0, _uuid),
}

FUNCTION_NAMES: Final[frozenset[str]] = frozenset(_FUNCTIONS)
"""Every intrinsic function name ``parse_call`` accepts."""
