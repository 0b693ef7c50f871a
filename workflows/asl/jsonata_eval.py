"""Deterministic JSONata evaluation for Amazon States Language states that use JSONata.

Pure (standard library plus ``jsonata-python``) so that Temporal workflow code can call it.

Entry points:

* ``is_expression(value)``: is ``value`` a ``{% ... %}`` string, which AWS evaluates as JSONata?
* ``evaluate(text, states, variables, sources)``: the value of one ``{% ... %}`` string, with
  ``$states`` bound to ``states`` and every workflow variable bound by name (``$name``).
* ``resolve(template, states, variables, sources)``: a JSONata-mode field (``Arguments``,
  ``Output``, ``Assign``, ``Items``, ``ItemSelector``...) with every expression string replaced by
  its value.
* ``syntax_error(text)`` and ``unsupported_reference(text)`` for create-time validation.

AWS behaviour followed (developer guide, "Transforming data with JSONata in Step Functions" and
"Passing data between states with variables"):

* A string is an expression when the whole string starts with ``{%`` and ends with ``%}``; any
  other string is a literal and is kept as it is.
* ``$states`` holds ``input``, ``context`` and, where they exist, ``result`` and ``errorOutput``.
* An expression that evaluates to nothing (``undefined``), at the top of a field or nested
  anywhere inside one, fails with ``States.QueryEvaluationError`` ("JSON cannot represent an
  undefined value"). A JSON ``null`` is a value and is kept.
* Every JSONata error is ``States.QueryEvaluationError``. Causes are worded as AWS words them:
  ``The JSONata expression '<expr>' specified for the field 'Output/v' returned nothing
  (undefined).`` and ``... threw an error during evaluation. T0410: <message>``. Fields are named
  relative to the state, ``/`` before each object key and ``[i]`` for each array index.
* Step Functions' own functions: ``$partition``, ``$range``, ``$hash``, ``$random`` (with an
  optional seed), ``$uuid`` and ``$parse``; ``$eval`` is not available (calling it fails with
  T1006, as on AWS). Non-integer integer arguments are truncated towards zero.

Choices made where AWS does not document the behaviour (several follow what third-party
emulators measured against AWS and report publicly):

* ``$partition`` with a chunk size below 1 or an empty array, ``$range`` with a missing or zero
  step or a step pointing away from the end, and ``$hash`` without an algorithm evaluate to
  nothing, so the field fails as undefined. A one-element ``$range`` is the bare number.
* ``$range`` refuses ranges of more than ``MAX_RANGE_ITEMS`` items, before allocating them.
* An unknown ``$hash`` algorithm and text ``$parse`` cannot read are errors.
* A non-finite number in a result is written as ``"Infinity"``, ``"-Infinity"`` or ``"NaN"``, as
  JavaScript names it; a whole number below 1e21 is an ``int`` (JSON has one number type and AWS
  writes ``2``, not ``2.0``); a function in a result counts as undefined (``JSON.stringify``).
* An expression may take at most ``MAX_STEPS`` evaluation steps, so a runaway recursion fails
  the state deterministically instead of hanging the workflow task.

Replay safety. Given the same text, bindings and ``Sources``, evaluation returns the same value:

* ``$now()`` and ``$millis()`` read ``Sources.now`` (the workflow's clock, ``workflow.now()``);
  ``$random()``, ``$shuffle()`` and ``$uuid()`` read ``Sources.random`` and ``Sources.uuid4``
  (``workflow.random().random`` and ``workflow.uuid4``). A seeded ``$random(seed)`` is a pure
  function of the seed.
* jsonata-python reads the wall clock in ``Jsonata.__init__`` and ``Jsonata.evaluate``; this
  module builds and runs parsed expressions itself (``_new_program``, ``_run``) and never calls
  either. The one remaining clock read in the library, ``$toMillis(ts, picture)`` filling
  components the picture leaves out from "now", is redirected to ``Sources.now`` through a
  context variable (``_install_clock``); outside an evaluation the library behaves as before.
* No I/O, no global random state; inputs are copied on the way in and results built afresh on
  the way out, so callers' data is never mutated or aliased.

Import this module through ``workflow.unsafe.imports_passed_through()``: the parse cache and the
library (which sets the recursion limit and builds its function table at import) are then shared
by every workflow run instead of being re-imported into each sandbox.

Measured cost (CPython 3.11 in this two-core container, under load; printed by
``tests/asl/test_jsonata.py::test_evaluation_cost``): evaluating
``{% $states.input.order.total * 2 %}`` takes 75-200 µs with the parse cached and 0.5-0.8 ms
when it must be parsed first, so the cache saves about 0.4-0.6 ms per expression; ``resolve``
of an ``Arguments`` template with five expressions takes about 0.5-0.7 ms. Nearly all of it is
the library's own tree walk (about 8 µs per evaluation step).
"""

from __future__ import annotations

import contextvars
import copy
import datetime as _datetime
import functools
import hashlib
import json
import math
import re
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from jsonata import datetimeutils as _jsonata_datetimeutils  # type: ignore[import-untyped]
from jsonata import functions as _jsonata_functions
from jsonata import jexception as _jsonata_errors
from jsonata import jsonata as _jsonata_module
from jsonata import parser as _jsonata_parser
from jsonata import regex_engine as _jsonata_regex
from jsonata import utils as _jsonata_utils

__all__ = [
    "HASH_ALGORITHMS",
    "MAX_RANGE_ITEMS",
    "MAX_STEPS",
    "QUERY_EVALUATION_ERROR",
    "QueryError",
    "Sources",
    "evaluate",
    "expression_body",
    "is_expression",
    "resolve",
    "states_fields",
    "syntax_error",
    "unsupported_reference",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
HASH_ALGORITHMS: Final[Mapping[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
"""``$hash`` algorithms, as the developer guide lists them (case-sensitive)."""
# A third-party measurement found AWS accepting $range(1, 360145, 1) and refusing one item more.
MAX_RANGE_ITEMS: Final = 360_145
# A step costs about 8 µs here, so this is about 1.6 s: several times what transforming a whole
# 256 KiB payload takes, and under Temporal's two-second deadlock detection for a workflow task.
MAX_STEPS: Final = 200_000
_CACHE_SIZE: Final = 4096
# JavaScript writes whole numbers in full below 1e21 and in exponent notation from there.
_MAX_PLAIN_INTEGER: Final = 1e21

_Jsonata: Final[Any] = _jsonata_module.Jsonata
_Symbol: Final[Any] = _jsonata_parser.Parser.Symbol
_NULL: Final[Any] = _jsonata_utils.Utils.NULL_VALUE


@dataclass(frozen=True)
class Sources:
    """Where time and randomness come from; the workflow passes its replay-safe readings.

    ``now`` is timezone-aware (``workflow.now()``); ``random`` returns a float in ``[0, 1)``
    (``workflow.random().random``); ``uuid4`` returns a version 4 UUID or its text
    (``workflow.uuid4``).
    """

    now: datetime
    random: Callable[[], float]
    uuid4: Callable[[], object]

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("Sources.now must be timezone-aware")


class QueryError(Exception):
    """A failed JSONata evaluation: the ASL error ``States.QueryEvaluationError``."""

    error: Final[str] = QUERY_EVALUATION_ERROR

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def is_expression(value: Any) -> bool:
    """True if ``value`` is a JSONata expression string: ``{%`` at its start, ``%}`` at its end.

    AWS evaluates the string only when it opens and closes with the delimiters, with no
    whitespace outside them; whitespace inside is part of the expression.
    """
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith("{%")
        and value.endswith("%}")
    )


def expression_body(text: str) -> str:
    """The JSONata inside ``{% ... %}``, stripped: how AWS quotes the expression in causes."""
    if not is_expression(text):
        raise ValueError(f"Not a JSONata expression string: {text!r}")
    return text[2:-2].strip()


# --- Parsing, cached. ---


@dataclass(frozen=True)
class _Compiled:
    """A parsed expression and the ``$names`` it mentions (only those need binding)."""

    program: Any
    names: frozenset[str]


def _symbols(root: Any) -> Iterator[Any]:
    """Every AST node under ``root``; iterative, and safe if the library links nodes in cycles."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
            continue
        if not isinstance(item, _Symbol) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(
            value
            for key, value in vars(item).items()
            if key != "_outer_instance" and isinstance(value, _Symbol | list | tuple)
        )


def _new_program(body: str) -> Any:
    """Parse ``body`` into a ``Jsonata`` object without running ``Jsonata.__init__``.

    The constructor reads the wall clock (``Timebox.current_milli_time``) and publishes the
    object as the thread's current instance; neither may happen inside workflow code. These are
    the attributes ``Jsonata.__init__`` sets in jsonata-python 0.7.1 (a test compares the two).
    """
    program = _Jsonata.__new__(_Jsonata)
    program.regex_engine = _jsonata_regex.default_regex_engine
    program.timeout = None
    program.stack = None
    program.parser = _Jsonata.get_parser()
    program.ast = program.parser.parse(body, program.regex_engine)
    program.errors = program.ast.errors
    program.ast.errors = None
    program.environment = program.create_frame(_STEP_FUNCTIONS_FRAME)
    program.timestamp = 0
    program.input = None
    program.validate_input = True
    program.output_convert_nulls = False
    return program


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(body: str) -> _Compiled:
    """Parse once per expression text: the same expressions run for every execution."""
    program = _new_program(body)
    if program.errors:
        raise program.errors[0]
    names = frozenset(
        node.value
        for node in _symbols(program.ast)
        if node.type == "variable" and isinstance(node.value, str) and node.value
    )
    return _Compiled(program, names)


def _jsonata_text(error: BaseException) -> str:
    """A library error's text; its catalog says "Object" where JSONata's says "function"."""
    return re.sub(r"\bObject\b", "function", str(error))


def _message(error: BaseException) -> str:
    """How a cause ends: ``T0410: <message>`` for JSONata errors, the bare text otherwise."""
    if isinstance(error, _jsonata_errors.JException):
        return f"{error.error}: {_jsonata_text(error)}"
    return str(error) or type(error).__name__


def syntax_error(text: str) -> str | None:
    """Why the ``{% ... %}`` string ``text`` does not parse as JSONata, or None if it does."""
    try:
        _compile(expression_body(text))
    except _jsonata_errors.JException as error:
        return _jsonata_text(error)
    except Exception as error:
        # The library's tokenizer can crash (IndexError on a trailing "/"): still a syntax error.
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return None


# --- References AWS refuses at create time. ---

# Attributes whose expressions are evaluated against the same context as their node. Everything
# else (predicates, stages, sort terms, groupings, transforms, path steps after the first) is
# evaluated against some item, never against the missing top-level context.
_SAME_CONTEXT: Final = frozenset(
    {
        "lhs",
        "rhs",
        "expression",
        "expressions",
        "condition",
        "then",
        "_else",
        "procedure",
        "arguments",
        "body",
        "lhs_object",
    }
)

# Path steps that read the context item, and how to name them when it is missing.
_CONTEXT_STEPS: Final[Mapping[str, str]] = {
    "name": "",
    "wildcard": "*",
    "descendant": "**",
    "parent": "%",
}


def unsupported_reference(text: str) -> str | None:
    """Why AWS refuses the references in ``text`` (``UNSUPPORTED_JSONATA_EXPRESSION``), or None.

    A JSONata state has no context item: the input is ``$states.input``. AWS refuses ``$$`` and
    a path that starts from the missing context (``phone``, ``$.phone``) at the top level, where
    a lambda body counts as the place it is defined. Names inside predicates and later path
    steps are relative to an item and are fine. ``text`` must parse.
    """
    root = _compile(expression_body(text)).program.ast
    stack: list[tuple[Any, bool]] = [(root, True)]
    seen: set[int] = set()
    while stack:
        item, top = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend((child, top) for child in item)
            continue
        if not isinstance(item, _Symbol) or id(item) in seen:
            continue
        seen.add(id(item))
        if item.type == "variable" and item.value == "$":
            return "Reference to '$$' is not supported."
        if top and item.type == "variable" and item.value == "":
            return "Reference to '$' at the top level is not supported."
        if top and item.type in _CONTEXT_STEPS:
            name = item.value if item.type == "name" else _CONTEXT_STEPS[item.type]
            return f"Reference to '{name}' at the top level is not supported."
        for key, value in vars(item).items():
            if key == "_outer_instance" or not isinstance(value, _Symbol | list | tuple):
                continue
            if key == "steps" and item.type == "path" and isinstance(value, list) and value:
                stack.append((value[0], top))
                stack.extend((step, False) for step in value[1:])
            else:
                stack.append((value, top and key in _SAME_CONTEXT))
    return None


def states_fields(text: str) -> frozenset[str]:
    """The ``$states.<field>`` names ``text`` reads (``input``, ``result``...); ``text`` parses.

    Validation uses it to refuse ``$states.result`` and ``$states.errorOutput`` where AWS does
    not provide them.
    """
    fields: set[str] = set()
    for node in _symbols(_compile(expression_body(text)).program.ast):
        steps = getattr(node, "steps", None) if node.type == "path" else None
        if (
            isinstance(steps, list)
            and len(steps) > 1
            and steps[0].type == "variable"
            and steps[0].value == "states"
            and steps[1].type == "name"
        ):
            fields.add(str(steps[1].value))
    return frozenset(fields)


# --- Step Functions' functions, and deterministic replacements for the library's. ---

_SOURCES: Final[contextvars.ContextVar[Sources]] = contextvars.ContextVar("jsonata_sources")


class _FunctionError(Exception):
    """A failure of one of the functions defined here (the message becomes the cause's tail)."""


class _Native:
    """Adapts a Python callable to jsonata-python's function protocol (``call(input, args)``)."""

    def __init__(self, function: Callable[..., Any], arity: int) -> None:
        self.function = function
        self.arity = arity

    def call(self, focus: Any, args: Any) -> Any:
        values = list(args) if isinstance(args, list) else []
        values += [None] * (self.arity - len(values))
        return self.function(*values[: self.arity])


def _sources() -> Sources:
    return _SOURCES.get()


def _millis() -> int:
    return int(_sources().now.timestamp() * 1000)


def _integer(value: Any, function: str) -> int:
    """An integer argument; AWS truncates non-integers (a third party measured: towards zero)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _FunctionError(f"Invalid arguments in {function}: expected a number, got {value!r}")
    try:
        return int(value)
    except (OverflowError, ValueError):
        raise _FunctionError(f"Invalid arguments in {function}: {value} is not finite") from None


def _now(picture: Any, timezone: Any) -> Any:
    if picture is None and timezone is None:
        stamp = _sources().now.astimezone(UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return _jsonata_functions.Functions.datetime_from_millis(_millis(), picture, timezone)


def _unit(value: Any) -> float:
    unit = float(value)
    # A source returning exactly 1.0 (or garbage) must not escape [0, 1).
    return unit if 0.0 <= unit < 1.0 else 0.0


def _seeded_unit(seed: int) -> float:
    # SHA-256 rather than random.Random: stable across Python versions and free of any state.
    digest = hashlib.sha256(f"$random:{seed}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def _random(seed: Any) -> float:
    if seed is None:
        return _unit(_sources().random())
    return _seeded_unit(_integer(seed, "$random"))


def _shuffle(array: Any) -> Any:
    if array is None:
        return None
    items = list(array)
    random = _sources().random
    # Fisher-Yates, as jsonata-js does it, drawing from the workflow's seeded source.
    for i in range(len(items) - 1, 0, -1):
        j = min(int(_unit(random()) * (i + 1)), i)
        items[i], items[j] = items[j], items[i]
    return items


def _partition(array: Any, size: Any) -> Any:
    if array is None or size is None:
        return None
    chunk = _integer(size, "$partition")
    items = list(array)
    if chunk < 1 or not items:
        return None
    return [items[at : at + chunk] for at in range(0, len(items), chunk)]


def _range(start: Any, end: Any, step: Any) -> Any:
    if start is None or end is None or step is None:
        return None
    first, last, delta = (_integer(v, "$range") for v in (start, end, step))
    if delta == 0 or (last - first) * delta < 0:
        return None
    count = (last - first) // delta + 1
    if count > MAX_RANGE_ITEMS:
        raise _FunctionError(
            f"Invalid arguments in $range: the array would have {count} items; "
            f"the maximum is {MAX_RANGE_ITEMS}"
        )
    values = [first + i * delta for i in range(count)]
    return values[0] if count == 1 else values


def _hash(data: Any, algorithm: Any) -> Any:
    if data is None or algorithm is None:
        return None
    name = HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise _FunctionError(
            f"Invalid arguments in $hash: the algorithm {algorithm!r} is not supported; "
            "use one of " + ", ".join(HASH_ALGORITHMS)
        )
    return hashlib.new(name, str(data).encode()).hexdigest()


def _uuid() -> str:
    return str(_sources().uuid4())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(text: Any) -> Any:
    if text is None:
        return None
    try:
        return _to_jsonata(json.loads(text, parse_constant=_reject_constant))
    except (ValueError, RecursionError):
        raise _FunctionError("Invalid arguments in $parse: the string is not valid JSON") from None


def _function(function: Callable[..., Any], arity: int, signature: str) -> Any:
    return _Jsonata.JFunction(_Native(function, arity), signature)


def _step_functions_frame() -> Any:
    """A frame between the library's built-ins and each expression: AWS's functions win."""
    frame = _Jsonata.Frame(_Jsonata.static_frame)
    replacements: dict[str, Any] = {
        "partition": _function(_partition, 2, "<an:a>"),
        "range": _function(_range, 3, "<nnn?:a>"),
        "hash": _function(_hash, 2, "<ss?:s>"),
        "random": _function(_random, 1, "<n?:n>"),
        "uuid": _function(_uuid, 0, "<:s>"),
        "parse": _function(_parse, 1, "<s-:x>"),
        "now": _function(_now, 2, "<s?s?:s>"),
        "millis": _function(_millis, 0, "<:n>"),
        "shuffle": _function(_shuffle, 1, "<a:a>"),
        # AWS does not offer $eval; binding nothing makes a call fail with T1006, as on AWS.
        "eval": None,
    }
    for name, value in replacements.items():
        frame.bind(name, value)
    return frame


_STEP_FUNCTIONS_FRAME: Final[Any] = _step_functions_frame()


# --- The one clock read left in the library. ---

_NOW: Final[contextvars.ContextVar[datetime]] = contextvars.ContextVar("jsonata_now")
_CLOCK_LOCK: Final = threading.Lock()


class _WorkflowClock(_datetime.datetime):
    """``datetime`` whose ``utcnow`` is the evaluation's ``Sources.now`` while one is running."""

    @classmethod
    def utcnow(cls) -> _WorkflowClock:
        now = _NOW.get(None)
        if now is None:
            return super().utcnow()
        stamp = now.astimezone(UTC)
        return cls(
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
            stamp.microsecond,
        )


def _install_clock() -> None:
    """Point ``datetimeutils``' ``datetime.datetime.utcnow()`` at ``_WorkflowClock``.

    ``$toMillis(timestamp, picture)`` fills the components its picture leaves out from
    ``utcnow()``. The replacement module forwards every other name to ``datetime``, and outside
    an evaluation ``utcnow`` is the real one, so other users of the library see no change.
    """
    with _CLOCK_LOCK:
        current = _jsonata_datetimeutils.datetime
        if getattr(current, "datetime", None) is _WorkflowClock:
            return
        shim = types.ModuleType("datetime")
        shim.__dict__.update(vars(_datetime))
        shim.datetime = _WorkflowClock  # type: ignore[attr-defined]
        _jsonata_datetimeutils.datetime = shim


_install_clock()


# --- Values in and out. ---


class _Undefined(Exception):
    """The value (or the function it is) has no JSON form."""


def _scalar(value: Any) -> Any:
    if value is None or value is _NULL:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < _MAX_PLAIN_INTEGER:
            return int(value)
        return value
    raise _Undefined


def _rebuild(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """A copy of a JSON-like tree, built without recursion (values may nest deeper than
    Python's recursion limit), each leaf through `leaf`. A leaf that raises `_Undefined` is
    left out of an object and is null in an array, as `JSON.stringify` does."""
    if not isinstance(value, dict | list):
        return leaf(value)
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            if isinstance(item, dict | list):
                child: Any = {} if isinstance(item, dict) else []
                stack.append((item, child))
            else:
                try:
                    child = leaf(item)
                except _Undefined:
                    if isinstance(target, dict):
                        continue
                    child = None
            if isinstance(target, dict):
                target[str(key)] = child
            else:
                target.append(child)
    return root


def _to_jsonata(value: Any) -> Any:
    """A copy of a JSON value with ``null`` as the library's ``NULL_VALUE`` (None is undefined)."""
    return _rebuild(value, lambda item: _NULL if item is None else item)


def _to_json(value: Any) -> Any:
    """Plain JSON from a library result, built afresh (``JSON.stringify`` rules for functions)."""
    return _rebuild(value, _scalar)


# --- Running an expression. ---


class _StepBudget:
    """Counts evaluation steps (the library calls ``__evaluate_entry`` once per AST node)."""

    def __init__(self) -> None:
        self.left = MAX_STEPS

    def __call__(self, node: Any, focus: Any, environment: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise _FunctionError(
                f"Expression evaluation exceeded the limit of {MAX_STEPS} evaluation steps"
            )


def _run(compiled: _Compiled, bindings: Mapping[str, Any], millis: int) -> Any:
    """``Jsonata.evaluate`` without its clock read, on a private copy of the parsed program.

    The copy keeps concurrent evaluations of one cached expression from sharing the mutable
    ``input`` and ``environment`` the library stores on the instance while it runs.
    """
    program = copy.copy(compiled.program)
    program.timestamp = millis
    environment = program.create_frame(program.environment)
    for name, value in bindings.items():
        environment.bind(name, value)
    # There is no context item: AWS refuses top-level paths, so `$` is undefined.
    environment.bind("$", None)
    environment.bind("__evaluate_entry", _StepBudget())
    current = _Jsonata.CURRENT
    previous = getattr(current, "jsonata", None)
    # Functions such as $now read the thread's current instance; make it this one.
    current.jsonata = program
    try:
        return program.eval(program.ast, None, environment)
    finally:
        if previous is None:
            del current.jsonata
        else:
            current.jsonata = previous


def _sentence(body: str, field: str | None) -> str:
    where = f" specified for the field '{field}'" if field else ""
    return f"The JSONata expression '{body}'{where}"


def evaluate(
    text: str,
    states: dict[str, Any],
    variables: Mapping[str, Any],
    sources: Sources,
    *,
    field: str | None = None,
) -> Any:
    """The value of the ``{% ... %}`` string ``text``, as plain JSON.

    ``$states`` is ``states`` (``input``, ``context`` and, where they exist, ``result`` and
    ``errorOutput``); each entry of ``variables`` is ``$name``. ``field`` names where the
    expression sits (``Output/v``, ``Choices[0]/Condition``) for the cause of a failure.
    Raises ``QueryError`` when evaluation fails or the value is undefined, and ``ValueError``
    if ``text`` is not an expression string.
    """
    body = expression_body(text)
    try:
        compiled = _compile(body)
    except Exception as error:
        # Validation refuses what does not parse; a definition that skipped it fails here.
        raise QueryError(
            f"{_sentence(body, field)} threw an error during evaluation. {_message(error)}"
        ) from None
    bindings = {name: _to_jsonata(variables[name]) for name in compiled.names if name in variables}
    if "states" in compiled.names:
        # Bound after the variables: `states` is reserved and always means this object.
        bindings["states"] = _to_jsonata(states)
    sources_token = _SOURCES.set(sources)
    now_token = _NOW.set(sources.now)
    try:
        raw = _run(compiled, bindings, int(sources.now.timestamp() * 1000))
    except _FunctionError as error:
        raise QueryError(
            f"{_sentence(body, field)} threw an error during evaluation: {error}"
        ) from None
    except Exception as error:
        # Everything the library raises (JException, TypeError, ZeroDivisionError,
        # RecursionError...) is a failed evaluation of this one expression.
        separator = ". " if isinstance(error, _jsonata_errors.JException) else ": "
        raise QueryError(
            f"{_sentence(body, field)} threw an error during evaluation{separator}{_message(error)}"
        ) from None
    finally:
        _NOW.reset(now_token)
        _SOURCES.reset(sources_token)
    try:
        if raw is None:
            raise _Undefined
        return _to_json(raw)
    except _Undefined:
        raise QueryError(f"{_sentence(body, field)} returned nothing (undefined).") from None


def resolve(
    template: Any,
    states: dict[str, Any],
    variables: Mapping[str, Any],
    sources: Sources,
    *,
    field: str = "",
) -> Any:
    """A JSONata-mode field with every expression string replaced by its value.

    Objects and arrays are walked to any depth; other values are copied as they are. ``field``
    is the field's name (``Arguments``), extended with ``/key`` and ``[i]`` on the way down so a
    failure names the exact place, as AWS does. An expression that evaluates to nothing fails
    the whole field with ``QueryError``, wherever it sits: AWS keeps no undefined fields.
    """
    if isinstance(template, str):
        if is_expression(template):
            return evaluate(template, states, variables, sources, field=field or None)
        return template
    if isinstance(template, dict):
        return {
            key: resolve(
                value, states, variables, sources, field=f"{field}/{key}" if field else key
            )
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [
            resolve(value, states, variables, sources, field=f"{field}[{i}]")
            for i, value in enumerate(template)
        ]
    return template
