"""Unit tests for workflows.asl.jsonata_eval: deterministic JSONata evaluation for ASL."""

from __future__ import annotations

import copy
import hashlib
import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonata  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.asl import jsonata_eval
from workflows.asl.jsonata_eval import (
    MAX_RANGE_ITEMS,
    QueryError,
    Sources,
    evaluate,
    expression_body,
    is_expression,
    resolve,
    states_fields,
    syntax_error,
    unsupported_reference,
)

NOW = datetime(2024, 3, 14, 1, 59, 26, 535_000, tzinfo=UTC)


def sources(
    *, now: datetime = NOW, randoms: tuple[float, ...] = (0.25, 0.75, 0.5, 0.125)
) -> Sources:
    """Sources whose readings are fixed: a clock, a cycle of floats and numbered UUIDs."""
    floats: Iterator[float] = itertools.cycle(randoms)
    counter = itertools.count(1)
    return Sources(
        now=now,
        random=lambda: next(floats),
        uuid4=lambda: uuid.UUID(int=next(counter), version=4),
    )


STATES: dict[str, Any] = {
    "input": {
        "customer": {"firstName": "Martha", "lastName": "Rivera"},
        "order": {"items": 7, "total": 27.91},
        "nothing": None,
        "list": [1, None, "x"],
    },
    "context": {"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:run"}},
}


def run(expression: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Evaluate ``{% expression %}`` against STATES with fixed sources."""
    return evaluate(
        "{% " + expression + " %}", STATES, variables or {}, kwargs.pop("src", sources()), **kwargs
    )


def cause(expression: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> str:
    """The cause of the QueryError evaluating ``expression`` raises."""
    with pytest.raises(QueryError) as raised:
        run(expression, variables, **kwargs)
    assert raised.value.error == "States.QueryEvaluationError"
    return raised.value.cause


# --- Expression strings. ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $x %}", True),
        ("{%$x%}", True),
        ("{%\n  $x\n%}", True),
        ("{%%}", True),
        ("{%}", False),
        (" {% $x %}", False),
        ("{% $x %} ", False),
        ("{% $x", False),
        ("$x %}", False),
        ("$customerName", False),
        (5, False),
        (None, False),
        (["{% $x %}"], False),
    ],
)
def test_is_expression(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected


def test_expression_body_strips_delimiters_and_whitespace() -> None:
    assert expression_body("{%  $states.input  %}") == "$states.input"
    with pytest.raises(ValueError, match="Not a JSONata expression"):
        expression_body("$states.input")


def test_evaluate_refuses_a_plain_string() -> None:
    with pytest.raises(ValueError):
        evaluate("$states.input", STATES, {}, sources())


def test_sources_need_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Sources(now=datetime(2024, 1, 1), random=lambda: 0.0, uuid4=uuid.uuid4)


# --- $states and variables. ---


def test_states_binding_exposes_every_member() -> None:
    states = {
        "input": {"a": 1},
        "context": {"State": {"Name": "S"}},
        "result": {"Payload": 2},
        "errorOutput": {"Error": "E"},
    }
    value = evaluate(
        "{% [$states.input.a, $states.context.State.Name, $states.result.Payload,"
        " $states.errorOutput.Error] %}",
        states,
        {},
        sources(),
    )
    assert value == [1, "S", 2, "E"]


def test_variables_are_bound_by_name() -> None:
    variables = {"customerName": "María", "order": {"lines": [{"qty": 2}, {"qty": 3}]}}
    assert run("$customerName", variables) == "María"
    assert run("$sum($order.lines.qty)", variables) == 5


def test_a_variable_named_states_cannot_hide_the_reserved_one() -> None:
    assert run("$states.input.order.items", {"states": {"input": "hijacked"}}) == 7


def test_an_unknown_variable_is_undefined() -> None:
    assert cause("$unset") == "The JSONata expression '$unset' returned nothing (undefined)."


def test_aws_conversion_example() -> None:
    """The guide's JSONPath-to-JSONata example: the same result from Arguments."""
    arguments = {
        "static": "Hello",
        "title": "{% $states.input.title %}",
        "name": "{% $customerName %}",
        "not-evaluated": "$customerName",
    }
    value = resolve(arguments, {"input": {"title": "Doctor"}}, {"customerName": "María"}, sources())
    assert value == {
        "static": "Hello",
        "title": "Doctor",
        "name": "María",
        "not-evaluated": "$customerName",
    }


def test_aws_input_and_output_example() -> None:
    output = {
        "lastName": "{% 'Last=>' & $states.input.customer.lastName %}",
        "orderValue": "{% $states.input.order.total %}",
    }
    assert resolve(output, STATES, {}, sources()) == {
        "lastName": "Last=>Rivera",
        "orderValue": 27.91,
    }


def test_aws_filtering_example() -> None:
    products = [
        {"calories": 140, "flavour": "Cola", "name": "Product-1"},
        {"calories": 0, "flavour": "Cola", "name": "Product-2"},
        {"calories": 160, "flavour": "Orange", "name": "Product-3"},
        {"calories": 0, "flavour": "Lime", "name": "Product-5"},
    ]
    value = resolve(
        {"dietProducts": "{% $states.input.products[calories=0] %}"},
        {"input": {"products": products}},
        {},
        sources(),
    )
    assert value == {"dietProducts": [products[1], products[3]]}


def test_assign_evaluates_every_expression_with_entry_values() -> None:
    """The guide's evaluation-order example: $x=3, $a=6 give x=6 and nextX=3."""
    assigned = resolve({"x": "{% $a %}", "nextX": "{% $x %}"}, STATES, {"x": 3, "a": 6}, sources())
    assert assigned == {"x": 6, "nextX": 3}


# --- Undefined, null and errors. ---


def test_null_is_a_value_and_undefined_is_an_error() -> None:
    assert run("$states.input.nothing") is None
    assert run("$states.input.list") == [1, None, "x"]
    assert run("$exists($states.input.nothing)") is True
    assert cause("$states.input.missing", field="Output") == (
        "The JSONata expression '$states.input.missing' specified for the field 'Output' "
        "returned nothing (undefined)."
    )


def test_undefined_inside_a_jsonata_constructor_is_dropped_not_an_error() -> None:
    # JSONata's own semantics; only the value of a whole field must be defined.
    assert run("{'kept': 1, 'dropped': $states.input.missing}") == {"kept": 1}
    assert run("[1, $states.input.missing, 2]") == [1, 2]


def test_resolve_names_the_nested_field_that_is_undefined() -> None:
    template = {"a": {"b": ["literal", "{% $states.input.missing %}"]}}
    with pytest.raises(QueryError) as raised:
        resolve(template, STATES, {}, sources(), field="Output")
    assert raised.value.cause == (
        "The JSONata expression '$states.input.missing' specified for the field "
        "'Output/a/b[1]' returned nothing (undefined)."
    )


def test_resolve_keeps_literals_and_nulls() -> None:
    template = {
        "n": None,
        "flag": True,
        "num": 1.5,
        "list": [None, {"x": "{% $states.input.nothing %}"}],
        "text": "plain {% not an expression",
    }
    assert resolve(template, STATES, {}, sources(), field="Arguments") == {
        "n": None,
        "flag": True,
        "num": 1.5,
        "list": [None, {"x": None}],
        "text": "plain {% not an expression",
    }


def test_resolve_of_a_whole_field_expression() -> None:
    assert resolve("{% $states.input.order %}", STATES, {}, sources(), field="Output") == {
        "items": 7,
        "total": 27.91,
    }


def test_jsonata_errors_carry_the_code() -> None:
    assert cause("$abs('x')", field="Arguments/n") == (
        "The JSONata expression '$abs('x')' specified for the field 'Arguments/n' threw an "
        "error during evaluation. T0410: Argument 1 of function abs does not match function "
        "signature"
    )


def test_non_jsonata_failures_use_a_colon() -> None:
    assert cause("1/0") == (
        "The JSONata expression '1/0' threw an error during evaluation: float division by zero"
    )


def test_a_syntax_error_at_run_time_is_a_query_error() -> None:
    assert "S0207" in cause("1 +")


def test_eval_is_not_available() -> None:
    # AWS: "$eval is not available; use $parse instead."
    assert "T1006" in cause("$eval('1 + 1')")


def test_error_function_message_reaches_the_cause() -> None:
    assert cause("$error('out of stock')").endswith("D3137: out of stock")


def test_runaway_recursion_hits_the_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonata_eval, "MAX_STEPS", 2_000)
    message = cause("($loop := function($n){ $loop($n + 1) }; $loop(0))")
    assert "exceeded the limit of 2000 evaluation steps" in message


def test_a_function_value_has_no_json_form() -> None:
    assert "returned nothing (undefined)" in cause("function($v){ $v }")
    assert run("{'f': function($v){ $v }, 'g': 1}") == {"g": 1}
    assert run("[function($v){ $v }, 1]") == [None, 1]


# --- Results are plain JSON, built afresh. ---


def test_whole_numbers_are_ints() -> None:
    value = run("4 / 2")
    assert value == 2 and isinstance(value, int)
    assert run("5 / 2") == 2.5


def test_non_finite_numbers_are_named_like_javascript() -> None:
    assert jsonata_eval._to_json([float("inf"), float("-inf"), float("nan")]) == [
        "Infinity",
        "-Infinity",
        "NaN",
    ]


def test_input_is_never_mutated_or_aliased() -> None:
    states = copy.deepcopy(STATES)
    before = copy.deepcopy(states)
    value = evaluate("{% $states.input %}", states, {"v": {"a": [1]}}, sources())
    value["customer"]["lastName"] = "changed"
    value["list"].append(99)
    assert states == before
    assigned = evaluate("{% $v %}", states, {"v": {"a": [1]}}, sources())
    assigned["a"].append(2)
    assert run("$v", {"v": {"a": [1]}}) == {"a": [1]}


# --- Deterministic replacements for the library's clock and randomness. ---


def test_now_is_the_workflow_clock_in_utc_with_milliseconds() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=2)))
    assert run("$now()", src=sources(now=local)) == "2024-03-14T01:59:26.535Z"
    assert run("$now('[H01]:[m01]', '+0100')") == "02:59"


def test_millis_is_the_workflow_clock() -> None:
    assert run("$millis()") == int(NOW.timestamp() * 1000) == 1_710_381_566_535


def test_to_millis_with_a_picture_fills_the_date_from_the_workflow_clock() -> None:
    # The picture has no date: the library takes it from "now", which must be Sources.now.
    expected = int(datetime(2024, 3, 14, 10, 30, tzinfo=UTC).timestamp() * 1000)
    assert run("$toMillis('10:30', '[H]:[m]')") == expected
    later = datetime(2030, 1, 2, tzinfo=UTC)
    assert run("$toMillis('10:30', '[H]:[m]')", src=sources(now=later)) == int(
        datetime(2030, 1, 2, 10, 30, tzinfo=UTC).timestamp() * 1000
    )


def test_random_without_a_seed_reads_the_source() -> None:
    src = sources(randoms=(0.25, 0.75))
    assert run("[$random(), $random()]", src=src) == [0.25, 0.75]


def test_random_clamps_a_source_that_returns_one() -> None:
    assert run("$random()", src=sources(randoms=(1.0,))) == 0.0


def test_random_with_a_seed_is_a_pure_function_of_the_seed() -> None:
    first = run("$random(42)", src=sources(randoms=(0.1,)))
    second = run("$random(42)", src=sources(randoms=(0.9,)))
    assert first == second and 0 <= first < 1
    assert run("$random(42.9)") == first  # truncated towards zero
    assert run("$random(43)") != first


def test_shuffle_is_a_permutation_drawn_from_the_source() -> None:
    values = list(range(10))
    shuffled = run(f"$shuffle({values})")
    assert sorted(shuffled) == values and shuffled != values
    assert run(f"$shuffle({values})") == shuffled
    assert run(f"$shuffle({values})", src=sources(randoms=(0.9,))) != shuffled


def test_uuid_reads_the_source() -> None:
    src = sources()
    assert run("[$uuid(), $uuid()]", src=src) == [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    ]


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the real clock or random module was used")


def test_no_evaluation_touches_the_real_clock_or_random_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expressions = [
        "$now()",
        "$now('[Y]-[M01]-[D01]')",
        "$millis()",
        "$random()",
        "$random(7)",
        "$shuffle([1, 2, 3, 4, 5])",
        "$uuid()",
        "$partition([1, 2, 3], 2)",
        "$range(0, 10, 2)",
        "$hash('abc', 'SHA-256')",
        "$parse('{\"a\": [1, null]}')",
        "$toMillis('10:30', '[H]:[m]')",
        "$toMillis('2024-03-14T01:59:26.535Z')",
        "$fromMillis(0)",
        "$states.input.order.total * 2",
    ]
    expected = [run(expression) for expression in expressions]
    for name in ("random", "shuffle"):
        monkeypatch.setattr(random, name, _refuse)
    for name in ("time", "time_ns"):
        monkeypatch.setattr(time, name, _refuse)
    # Parse again under the patches too: the library's constructor reads the clock.
    jsonata_eval._compile.cache_clear()
    assert [run(expression) for expression in expressions] == expected


def test_new_program_sets_what_the_library_constructor_sets() -> None:
    """Guards the constructor replacement against a library upgrade adding attributes."""
    real = jsonata.Jsonata("$x")
    ours = jsonata_eval._new_program("$x")
    assert set(vars(ours)) == set(vars(real))


def test_to_millis_outside_an_evaluation_keeps_the_real_clock() -> None:
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    assert jsonata_eval._WorkflowClock.utcnow() >= before


# --- Step Functions' own functions. ---


def test_partition() -> None:
    assert run("$partition([1,2,3,4], 3)") == [[1, 2, 3], [4]]
    assert run("$partition([1,2,3,4,5,6,7,8,9], 3)") == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert run("$partition([1,2,3], 2.9)") == [[1, 2], [3]]
    assert run("$partition([1,2], 5)") == [[1, 2]]


@pytest.mark.parametrize(
    "expression", ["$partition([1,2,3], 0)", "$partition([1,2,3], -2)", "$partition([], 2)"]
)
def test_partition_without_chunks_is_undefined(expression: str) -> None:
    assert "returned nothing (undefined)" in cause(expression)


def test_range() -> None:
    assert run("$range(0, 10, 2)") == [0, 2, 4, 6, 8, 10]
    assert run("$range(0, 9, 2)") == [0, 2, 4, 6, 8]
    assert run("$range(10, 0, -5)") == [10, 5, 0]
    assert run("$range(-1.7, 2, 1)") == [-1, 0, 1, 2]
    assert run("$range(3, 3, 1)") == 3


@pytest.mark.parametrize(
    "expression", ["$range(1, 5, 0)", "$range(5, 1, 1)", "$range(1, 5, -1)", "$range(1, 5)"]
)
def test_range_that_cannot_reach_its_end_is_undefined(expression: str) -> None:
    assert "returned nothing (undefined)" in cause(expression)


def test_range_size_is_capped_before_allocating() -> None:
    assert run(f"$count($range(1, {MAX_RANGE_ITEMS}, 1))") == MAX_RANGE_ITEMS
    message = cause(f"$range(1, {MAX_RANGE_ITEMS + 1}, 1)")
    assert f"the maximum is {MAX_RANGE_ITEMS}" in message


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash(algorithm: str) -> None:
    name = algorithm.lower().replace("-", "")
    assert run(f"$hash('input data', '{algorithm}')") == (
        hashlib.new(name, b"input data").hexdigest()
    )


def test_hash_failures() -> None:
    assert "is not supported; use one of MD5, SHA-1" in cause("$hash('x', 'sha256')")
    assert "returned nothing (undefined)" in cause("$hash('x')")
    assert "T0410" in cause("$hash(1, 'MD5')")


def test_parse() -> None:
    assert run("$parse('{\"a\": [1, null, true]}')") == {"a": [1, None, True]}
    assert run("$parse('{\"a\": [1, 2]}').a[1]") == 2
    assert "not valid JSON" in cause("$parse('{')")
    assert "not valid JSON" in cause("$parse('NaN')")


# --- Properties. ---


@given(
    items=st.lists(st.integers(), min_size=1, max_size=40),
    size=st.integers(min_value=1, max_value=45),
)
def test_partition_chunks_concatenate_to_the_array(items: list[int], size: int) -> None:
    # Through a variable: a number literal in JSONata text is a double, unlike a bound int.
    chunks = run(f"$partition($items, {size})", {"items": items})
    assert [item for chunk in chunks for item in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert 1 <= len(chunks[-1]) <= size


@given(
    start=st.integers(min_value=-50, max_value=50),
    end=st.integers(min_value=-50, max_value=50),
    step=st.integers(min_value=-7, max_value=7).filter(bool),
)
def test_range_is_the_arithmetic_progression_up_to_the_end(start: int, end: int, step: int) -> None:
    expression = f"$range({start}, {end}, {step})"
    if (end - start) * step < 0:
        assert "returned nothing" in cause(expression)
        return
    value = run(expression)
    values = value if isinstance(value, list) else [value]
    assert values == list(range(start, end + (1 if step > 0 else -1), step))


@given(seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_seeded_random_is_stable_and_in_range(seed: int) -> None:
    value = run(f"$random({seed})")
    assert 0 <= value < 1
    assert run(f"$random({seed})", src=sources(randoms=(0.9,))) == value


@given(values=st.lists(st.integers(), max_size=20), draws=st.lists(st.floats(0, 0.999), min_size=1))
def test_shuffle_always_permutes(values: list[int], draws: list[float]) -> None:
    shuffled = run("$shuffle($values)", {"values": values}, src=sources(randoms=tuple(draws)))
    shuffled = shuffled if isinstance(shuffled, list) else [shuffled]
    assert sorted(shuffled) == sorted(values)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@given(value=JSON_VALUES)
def test_a_variable_comes_back_unchanged(value: Any) -> None:
    if value is None:
        assert run("$v", {"v": value}) is None
    else:
        assert run("$v", {"v": value}) == value


# --- Parsing, caching, cost. ---


def test_parse_is_cached_by_expression_text() -> None:
    jsonata_eval._compile.cache_clear()
    run("$states.input.order.items + 1")
    run("$states.input.order.items + 1")
    run("$states.input.order.items + 2")
    info = jsonata_eval._compile.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_only_referenced_names_are_bound() -> None:
    compiled = jsonata_eval._compile("$a + $count($b) + $states.input.x")
    assert compiled.names == frozenset({"a", "b", "count", "states"})


def _per_call(action: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls


def test_evaluation_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """Measures evaluation with and without the parse cache; run with -s to see the numbers."""
    text = "{% $states.input.order.total * 2 %}"
    src = sources()
    evaluate(text, STATES, {}, src)
    cached = _per_call(lambda: evaluate(text, STATES, {}, src), 300)

    def uncached() -> object:
        jsonata_eval._compile.cache_clear()
        return evaluate(text, STATES, {}, src)

    parsed = _per_call(uncached, 100)
    template = {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Payload": {
            "total": "{% $states.input.order.total %}",
            "when": "{% $now() %}",
            "count": "{% $count([1, 2, 3]) %}",
            "name": "{% $uppercase($states.input.customer.lastName) %}",
            "json": "{% $string($states.input.order) %}",
        },
    }
    template_cost = _per_call(lambda: resolve(template, STATES, {}, src), 100)
    with capsys.disabled():
        print(
            f"\nJSONata evaluation: {cached * 1e6:.0f} µs cached, {parsed * 1e6:.0f} µs with "
            f"parsing; five-expression Arguments: {template_cost * 1e6:.0f} µs"
        )
    assert cached < parsed


def test_concurrent_evaluations_of_one_cached_expression() -> None:
    text = "{% $sum($states.input.values) %}"

    def total(n: int) -> Any:
        return evaluate(text, {"input": {"values": list(range(n))}}, {}, sources())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(total, range(200)))
    assert results == [sum(range(n)) for n in range(200)]


# --- Create-time helpers. ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% 1 + %}", "Unexpected end of expression"),
        ("{% a[1,2) %}", "Expected ], got ,"),
        ("{% 'unterminated %}", "String literal must be terminated by a matching quote"),
        ("{%%}", ""),
    ],
)
def test_syntax_error(text: str, message: str) -> None:
    error = syntax_error(text)
    assert error is not None and message in error


def test_syntax_error_accepts_valid_expressions() -> None:
    assert syntax_error("{% $states.input.a[b > 1].{'c': c} %}") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% phone %}", "Reference to 'phone' at the top level is not supported."),
        ("{% {'v': phone} %}", "Reference to 'phone' at the top level is not supported."),
        ("{% $count(items) %}", "Reference to 'items' at the top level is not supported."),
        ("{% $$ %}", "Reference to '$$' is not supported."),
        ("{% $states.input[$$.x] %}", "Reference to '$$' is not supported."),
        ("{% $.a %}", "Reference to '$' at the top level is not supported."),
        ("{% * %}", "Reference to '*' at the top level is not supported."),
        (
            "{% $map($states.input.a, function($v){ b }) %}",
            "Reference to 'b' at the top level is not supported.",
        ),
    ],
)
def test_unsupported_references(text: str, message: str) -> None:
    assert unsupported_reference(text) == message


@pytest.mark.parametrize(
    "text",
    [
        "{% $states.input.items[price > 100] %}",
        "{% $states.input.items[$.price > 10] %}",
        "{% $states.result.Items.{'id': id} %}",
        "{% $states.input.users.(firstName & ' ' & lastName) %}",
        "{% $states.input.items{name: price} %}",
        "{% $map($states.input.a, function($v){ $v.b }) %}",
        "{% ($x := $states.input; $x.a) %}",
        "{% $sort($states.input.t, function($a, $b){ $a > $b })[0] %}",
        "{% $reduce($states.input.i, function($acc, $i){ $merge([$acc, {$i.k: $i.v}]) }, {}) %}",
    ],
)
def test_supported_references(text: str) -> None:
    assert unsupported_reference(text) is None


def test_states_fields() -> None:
    text = "{% $states.result.x & $string($states.errorOutput) & $states.input.y %}"
    assert states_fields(text) == frozenset({"result", "errorOutput", "input"})
    assert states_fields("{% $count([1]) %}") == frozenset()


@given(text=st.text(alphabet="$.[](){}'\"*?@<>=!&|,:;~^%#0123456789abxy -+/\\", max_size=25))
def test_create_time_helpers_never_raise_on_arbitrary_text(text: str) -> None:
    """Validation calls these on user text: they answer, they do not crash."""
    expression = "{% " + text + " %}"
    error = syntax_error(expression)
    if error is None:
        reference = unsupported_reference(expression)
        assert reference is None or reference.startswith("Reference to '")
        assert all(isinstance(name, str) for name in states_fields(expression))
    else:
        assert isinstance(error, str)
