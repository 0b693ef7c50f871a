"""Unit tests for the ASL intrinsic functions: parsing, evaluation, errors, determinism."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.asl.intrinsics import (
    FUNCTION_NAMES,
    MAX_INTRINSIC_CALLS,
    Call,
    IntrinsicError,
    LiteralArgument,
    PathArgument,
    Sources,
    StringArgument,
    evaluate,
    evaluate_expression,
    parse_call,
)

# ---- helpers ------------------------------------------------------------------------------------


def resolve(path: str, data: Any, context: Any) -> Any:
    """A tiny resolver for ``$``, ``$.a.b`` and ``$$.x.y``; enough for these tests."""
    root, rest = (context, path[2:]) if path.startswith("$$") else (data, path[1:])
    value = root
    for part in filter(None, rest.split(".")):
        value = value[part]
    return value


def counting_sources() -> Sources:
    counter = itertools.count()
    return Sources(
        random=lambda: 0.5,
        uuid4=lambda: uuid.UUID(int=next(counter), version=4),
    )


def explode() -> Any:
    raise AssertionError("sources must not be used")


NO_SOURCES = Sources(random=explode, uuid4=explode)


def run(text: str, data: Any = None, context: Any = None, sources: Sources = NO_SOURCES) -> Any:
    return evaluate_expression(text, data, context, sources, resolve)


def fails(text: str, data: Any = None, match: str = "") -> IntrinsicError:
    with pytest.raises(IntrinsicError, match=match) as info:
        run(text, data)
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause == str(info.value)
    return info.value


NINE = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}


# ---- the AWS developer guide's own examples -----------------------------------------------------


def test_format_doc_examples() -> None:
    data = {"name": "Arnav", "template": "Hello, my name is {}."}
    assert run("States.Format('Hello, my name is {}.', $.name)", data) == "Hello, my name is Arnav."
    assert run("States.Format($.template, $.name)", data) == "Hello, my name is Arnav."


def test_string_to_json_doc_example() -> None:
    data = {"escapedJsonString": '{"foo": "bar"}'}
    assert run("States.StringToJson($.escapedJsonString)", data) == {"foo": "bar"}


def test_json_to_string_doc_example_is_compact() -> None:
    data = {"unescapedJson": {"foo": "bar"}}
    assert run("States.JsonToString($.unescapedJson)", data) == '{"foo":"bar"}'


def test_array_doc_examples() -> None:
    assert run("States.Array($.Id)", {"Id": 123456}) == [123456]
    data = {"someJson": {"random": "abcdefg"}}
    assert run("States.Array('Foo', 2020, $.someJson, null)", data) == [
        "Foo",
        2020,
        {"random": "abcdefg"},
        None,
    ]
    assert run("States.Array()") == []


def test_array_partition_doc_example() -> None:
    assert run("States.ArrayPartition($.inputArray, 4)", NINE) == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9],
    ]


def test_array_contains_doc_example() -> None:
    data = {**NINE, "lookingFor": 5}
    assert run("States.ArrayContains($.inputArray, $.lookingFor)", data) is True
    assert run("States.ArrayContains($.inputArray, 10)", data) is False


def test_array_range_doc_example() -> None:
    assert run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]


def test_array_get_item_doc_example() -> None:
    assert run("States.ArrayGetItem($.inputArray, $.index)", {**NINE, "index": 5}) == 6


def test_array_length_doc_example() -> None:
    assert run("States.ArrayLength($.inputArray)", NINE) == 9


def test_array_unique_doc_example() -> None:
    data = {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}
    assert run("States.ArrayUnique($.inputArray)", data) == [1, 2, 3, 4]


def test_base64_doc_examples() -> None:
    assert run("States.Base64Encode($.input)", {"input": "Data to encode"}) == (
        "RGF0YSB0byBlbmNvZGU="
    )
    assert run("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}) == (
        "Data to encode"
    )


def test_hash_doc_example() -> None:
    data = {"Data": "input data", "Algorithm": "SHA-1"}
    assert run("States.Hash($.Data, $.Algorithm)", data) == (
        "aaff4a450a104cd177d28d18d74485e8cae074b7"
    )


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ],
)
def test_hash_algorithms(algorithm: str, name: str) -> None:
    expected = hashlib.new(name, "héllo".encode()).hexdigest()
    assert run(f"States.Hash('héllo', '{algorithm}')") == expected


def test_json_merge_doc_example_is_shallow() -> None:
    data = {
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
    }
    assert run("States.JsonMerge($.json1, $.json2, false)", data) == {
        "a": {"a3": 1, "a4": 2},
        "b": 2,
        "c": 3,
    }


def test_math_add_doc_example() -> None:
    assert run("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}) == 110


def test_math_random_doc_example_range() -> None:
    data = {"start": 1, "end": 999}
    sources = Sources(random=lambda: 0.456, uuid4=explode)
    value = run("States.MathRandom($.start, $.end)", data, sources=sources)
    assert value == 1 + math.floor(0.456 * 998)


def test_string_split_doc_examples() -> None:
    data = {"inputString": "1,2,3,4,5", "splitter": ","}
    assert run("States.StringSplit($.inputString, $.splitter)", data) == ["1", "2", "3", "4", "5"]
    data = {"inputString": "This.is+a,test=string", "splitter": ".+,="}
    assert run("States.StringSplit($.inputString, $.splitter)", data) == [
        "This",
        "is",
        "a",
        "test",
        "string",
    ]


def test_uuid_comes_from_sources() -> None:
    value = run("States.UUID()", sources=counting_sources())
    assert value == str(uuid.UUID(int=0, version=4))
    assert uuid.UUID(value).version == 4


def test_nested_doc_example() -> None:
    # The guide's nine-call example uses '{}.{}.{}' with only two values, which its own
    # States.Format rule (as many values as placeholders) refuses; two placeholders here.
    data = {"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/r/1.2.3"}}
    text = (
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit("
        "$.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    assert run(text, data) == "1.2"
    fails(text.replace("'{}.{}'", "'{}.{}.{}'"), data, match="2 argument")


# ---- parsing ------------------------------------------------------------------------------------


def test_parse_tree() -> None:
    call = parse_call("States.Format('a{}b', $.x, 1, -2.5, true, false, null, States.UUID())")
    assert call == Call(
        "States.Format",
        (
            StringArgument("a{}b", ("a", "b")),
            PathArgument("$.x"),
            LiteralArgument(1),
            LiteralArgument(-2.5),
            LiteralArgument(True),
            LiteralArgument(False),
            LiteralArgument(None),
            Call("States.UUID", ()),
        ),
    )


def test_parse_escapes() -> None:
    call = parse_call(r"States.Format('it\'s \{\} {} \\ done')")
    arg = call.args[0]
    assert isinstance(arg, StringArgument)
    assert arg.value == "it's {} {} \\ done"
    assert arg.pieces == ("it's {} ", " \\ done")


def test_escaped_braces_are_not_placeholders() -> None:
    assert run(r"States.Format('\{\} and {}', 'x')") == "{} and x"
    assert run(r"States.Format('\{}')") == "{}"


def test_escaped_quote_in_json_definition() -> None:
    # How the expression looks inside a JSON definition file.
    definition = json.loads(r"""{"k.$": "States.Format('it\\'s {}', $.a)"}""")
    assert run(definition["k.$"], {"a": 1}) == "it's 1"


def test_whitespace_is_allowed_around_arguments() -> None:
    assert run("  States.Array(  1 ,\t'a' ,\n$.x  )  ", {"x": 2}) == [1, "a", 2]
    assert run("States.Array( )") == []


@pytest.mark.parametrize(
    "path",
    [
        "$['a,b']",
        "$.a[?(@.b == 'x)')]",
        '$["q\\"(,"]',
        "$..book[(@.length-1)]",
        "$$.Map.Item.Value",
        "$",
    ],
)
def test_paths_with_brackets_quotes_and_parentheses(path: str) -> None:
    call = parse_call(f"States.Array({path}, 1)")
    assert call.args == (PathArgument(path), LiteralArgument(1))


def test_context_path_goes_to_resolver() -> None:
    context = {"Execution": {"Id": "exec-1"}}
    assert run("States.Format('id={}', $$.Execution.Id)", {}, context) == "id=exec-1"


def test_resolver_receives_raw_path() -> None:
    seen: list[str] = []

    def recording(path: str, data: Any, context: Any) -> Any:
        seen.append(path)
        return 1

    evaluate(parse_call("States.Array($['x'][0], $$.y)"), {}, {}, NO_SOURCES, recording)
    assert seen == ["$['x'][0]", "$$.y"]


def test_numbers() -> None:
    assert run("States.Array(0, -1, 1.5, 1e3, -2E-2)") == [0, -1, 1.5, 1000.0, -0.02]
    assert isinstance(run("States.Array(10)")[0], int)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("States.Format('abc", 14),
        ("States.Array(1 2)", 15),
        ("States.Array(1,", 15),
        ("States.Array(", 13),
        ("States.Array", 12),
        ("States.Array(1) x", 16),
        ("States.Array(01)", 14),
        ("States.Array(1.)", 14),
        ("States.Array(--1)", 13),
        ("States.Array(tru)", 13),
        ("States.Array(truex)", 13),
        ("States.Array(@)", 13),
        ("States.Array('a'b)", 16),
        (r"States.Array('bad \n escape')", 18),
        ("States.Array($.a[0)", 18),
        ("States.Array($.a[0", 13),
        ("States.Array($.a])", 16),
        ("States.Array($['a)", 13),
        ("", 0),
        ("true", 0),
        ("$.a", 0),
        ("States.Array (1)", 12),
        ("States.Array(1e999)", 13),
    ],
)
def test_syntax_errors_name_expression_and_position(text: str, position: int) -> None:
    with pytest.raises(ValueError, match=f"at position {position}$") as info:
        parse_call(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["States.Nope(1)", "Foo()", "States.format('x')", "States.Array(States.Bogus())"],
)
def test_unknown_functions_refused_at_parse_time(text: str) -> None:
    with pytest.raises(ValueError, match="unknown intrinsic function"):
        parse_call(text)


@pytest.mark.parametrize(
    "text",
    [
        "States.UUID(1)",
        "States.Format()",
        "States.StringToJson()",
        "States.JsonToString(1, 2)",
        "States.ArrayPartition($.a)",
        "States.ArrayContains($.a)",
        "States.ArrayRange(1, 2)",
        "States.ArrayGetItem($.a)",
        "States.ArrayLength()",
        "States.ArrayUnique($.a, 1)",
        "States.Base64Encode()",
        "States.Base64Decode('a', 'b')",
        "States.Hash('a')",
        "States.JsonMerge($.a, $.b)",
        "States.MathRandom(1)",
        "States.MathRandom(1, 2, 3, 4)",
        "States.MathAdd(1)",
        "States.StringSplit('a')",
    ],
)
def test_wrong_argument_counts_refused_at_parse_time(text: str) -> None:
    with pytest.raises(ValueError, match="expects"):
        parse_call(text)


def test_wrong_argument_count_in_hand_built_call_is_an_intrinsic_failure() -> None:
    with pytest.raises(IntrinsicError, match="expected 2 argument"):
        evaluate(Call("States.MathAdd", ()), {}, {}, NO_SOURCES, resolve)
    with pytest.raises(IntrinsicError, match="not a supported"):
        evaluate(Call("States.Nope", ()), {}, {}, NO_SOURCES, resolve)


def test_call_limit() -> None:
    ten = "States.Array(" * 10 + ")" * 10
    assert parse_call(ten).name == "States.Array"
    with pytest.raises(ValueError, match=f"more than {MAX_INTRINSIC_CALLS}"):
        parse_call("States.Array(" * 11 + ")" * 11)


def test_hostile_deep_nesting_fails_fast() -> None:
    with pytest.raises(ValueError, match="more than"):
        parse_call("States.Array(" * 100_000 + ")" * 100_000)
    with pytest.raises(ValueError, match="unbalanced"):
        parse_call("States.Array($" + "[" * 100_000 + ")")
    with pytest.raises(ValueError, match="unterminated path"):
        parse_call("States.Array($" + "(" * 100_000)


def test_huge_number_literal() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_call("States.Array(" + "9" * 5000 + ")")
    assert run("States.Array(" + "9" * 100 + ")") == [int("9" * 100)]


def test_function_names_cover_the_guide() -> None:
    assert len(FUNCTION_NAMES) == 18


# ---- runtime errors -----------------------------------------------------------------------------


def test_format_placeholder_mismatch() -> None:
    fails("States.Format('{} {}', 1)", match="2 placeholder")
    fails("States.Format('none', 1)", match="0 placeholder")
    fails("States.Format($.t, 1, 2)", {"t": "{}"}, match="1 placeholder")


def test_format_template_must_be_string() -> None:
    fails("States.Format(1)", match="first argument must be a string")
    fails("States.Format($.t)", {"t": None}, match="first argument must be a string")


def test_format_renders_values() -> None:
    data = {"o": {"a": 1, "b": [True, None, "x"]}, "f": 1.5, "i": 7}
    assert run("States.Format('{}|{}|{}|{}|{}|{}', $.i, $.f, true, null, 'x', $.o)", data) == (
        "7|1.5|true|null|x|{a=1, b=[true, null, x]}"
    )


def test_string_to_json_errors() -> None:
    fails("States.StringToJson('not json')", match="not valid JSON")
    fails("States.StringToJson('')", match="not valid JSON")
    fails("States.StringToJson('NaN')", match="not valid JSON")
    fails("States.StringToJson(1)", match="must be a string")
    assert run("States.StringToJson('[1, 2]')") == [1, 2]


def test_json_to_string_of_scalars_and_unicode() -> None:
    assert run("States.JsonToString($.v)", {"v": [1, "é", None, {"a": True}]}) == (
        '[1,"é",null,{"a":true}]'
    )
    fails("States.JsonToString($.v)", {"v": float("nan")}, match="cannot be represented")


def test_array_partition_errors() -> None:
    fails("States.ArrayPartition($.inputArray, 0)", NINE, match="chunk size")
    fails("States.ArrayPartition($.inputArray, -3)", NINE, match="chunk size")
    fails("States.ArrayPartition('abc', 2)", match="first argument must be an array")
    fails("States.ArrayPartition($.inputArray, 'x')", NINE, match="second argument must be")
    fails("States.ArrayPartition($.inputArray, true)", NINE, match="second argument must be")


def test_array_partition_rounds_float_chunk_size() -> None:
    assert run("States.ArrayPartition($.inputArray, 3.6)", NINE) == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9],
    ]
    fails("States.ArrayPartition($.inputArray, 0.4)", NINE, match="chunk size")


def test_array_input_size_limit() -> None:
    big = {"a": ["x" * 1000] * 300}
    fails("States.ArrayPartition($.a, 2)", big, match="payload size")
    fails("States.ArrayContains($.a, 'x')", big, match="payload size")


def test_array_contains_json_equality() -> None:
    data = {"a": [1, {"k": [1, 2]}, "s", None]}
    assert run("States.ArrayContains($.a, $.v)", {**data, "v": {"k": [1, 2]}}) is True
    assert run("States.ArrayContains($.a, 1.0)", data) is True
    assert run("States.ArrayContains($.a, true)", data) is False
    assert run("States.ArrayContains($.a, null)", data) is True
    fails("States.ArrayContains($.a, 1)", {"a": {"x": 1}}, match="must be an array")


def test_array_range_rules() -> None:
    assert run("States.ArrayRange(9, 1, -2)") == [9, 7, 5, 3, 1]
    assert run("States.ArrayRange(1, 10, 2)") == [1, 3, 5, 7, 9]
    assert run("States.ArrayRange(5, 1, 1)") == []
    assert run("States.ArrayRange(0.6, 2.4, 1)") == [1, 2]
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    fails("States.ArrayRange(1, 1001, 1)", match="1001 items")
    fails("States.ArrayRange(0, 2000000000, 1)", match="items")
    fails("States.ArrayRange(1, 9, 0)", match="must not be zero")
    fails("States.ArrayRange(1, 9, 0.4)", match="must not be zero")
    fails("States.ArrayRange(1, '9', 1)", match="second argument must be an integer")
    fails("States.ArrayRange(true, 9, 1)", match="first argument must be an integer")


def test_array_get_item_errors() -> None:
    fails("States.ArrayGetItem($.inputArray, 9)", NINE, match="out of bounds")
    fails("States.ArrayGetItem($.inputArray, -1)", NINE, match="out of bounds")
    fails("States.ArrayGetItem($.inputArray, false)", NINE, match="must be an integer")
    fails("States.ArrayGetItem('x', 0)", match="must be an array")
    assert run("States.ArrayGetItem($.inputArray, 0.5)", NINE) == 2


def test_array_length_and_unique_errors() -> None:
    fails("States.ArrayLength('abc')", match="must be an array")
    fails("States.ArrayUnique(null)", match="must be an array")
    assert run("States.ArrayLength($.a)", {"a": []}) == 0


def test_array_unique_keeps_booleans_apart_from_numbers() -> None:
    data = {"a": [1, True, 1.0, 0, False, {"x": 1}, {"x": 1.0}, [1], [True]]}
    assert run("States.ArrayUnique($.a)", data) == [1, True, 0, False, {"x": 1}, [1], [True]]


def test_base64_errors() -> None:
    fails("States.Base64Decode('not base64!')", match="not valid Base64")
    fails("States.Base64Decode('abc')", match="not valid Base64")
    fails("States.Base64Decode('é')", match="not valid Base64")
    fails("States.Base64Decode('//8=')", match="not UTF-8")
    fails("States.Base64Encode(1)", match="must be a string")
    fails("States.Base64Decode($.v)", {"v": ["a"]}, match="must be a string")


def test_string_input_limits() -> None:
    ok = {"s": "a" * 10_000}
    assert run("States.Base64Encode($.s)", ok)
    assert run("States.Hash($.s, 'MD5')", ok)
    too_long = {"s": "a" * 10_001}
    fails("States.Base64Encode($.s)", too_long, match="10001 characters")
    fails("States.Base64Decode($.s)", too_long, match="10001 characters")
    fails("States.Hash($.s, 'MD5')", too_long, match="10001 characters")


def test_hash_errors() -> None:
    fails("States.Hash('x', 'SHA-2')", match="'SHA-2' is not supported")
    fails("States.Hash('x', 'sha-256')", match="not supported")
    fails("States.Hash('x', 1)", match="not supported")
    fails("States.Hash(1, 'MD5')", match="must be a string")


def test_json_merge_errors() -> None:
    data = {"a": {"x": 1}, "b": {"y": 2}}
    fails("States.JsonMerge($.a, $.b, true)", data, match="only shallow")
    fails("States.JsonMerge($.a, $.b, 0)", data, match="only shallow")
    fails("States.JsonMerge($.a, 'b', false)", data, match="second argument must be a JSON")
    fails("States.JsonMerge(States.Array(), $.b, false)", data, match="first argument")


def test_math_add_rules() -> None:
    assert run("States.MathAdd(1.5, 2.5)") == 5
    assert run("States.MathAdd(-1.5, -2.5)") == -3
    assert run("States.MathAdd(2147483646, 1)") == 2147483647
    fails("States.MathAdd(2147483647, 1)", match="outside the integer range")
    fails("States.MathAdd(99999999999, 1)", match="first argument must be an integer between")
    fails("States.MathAdd(true, 1)", match="first argument must be an integer")
    fails("States.MathAdd(1, '2')", match="second argument must be an integer")
    fails("States.MathAdd(1, $.v)", {"v": float("inf")}, match="second argument")


def test_math_random_rules() -> None:
    low = Sources(random=lambda: 0.0, uuid4=explode)
    high = Sources(random=lambda: 0.9999999999999999, uuid4=explode)
    assert run("States.MathRandom(1, 5)", sources=low) == 1
    assert run("States.MathRandom(1, 5)", sources=high) == 4
    assert run("States.MathRandom(-10, -9)", sources=high) == -10
    fails("States.MathRandom(5, 5)", match="less than")
    fails("States.MathRandom(6, 5)", match="less than")
    fails("States.MathRandom('1', 5)", match="first argument")
    fails("States.MathRandom(1, 5, true)", match="third argument")


def test_string_split_edges() -> None:
    assert run("States.StringSplit(',a,,b,', ',')") == ["a", "b"]
    assert run("States.StringSplit('', ',')") == []
    assert run("States.StringSplit('abc', '')") == ["abc"]
    fails("States.StringSplit(1, ',')", match="first argument must be a string")
    fails("States.StringSplit('a', null)", match="second argument must be a string")


def test_path_errors_propagate_from_resolver() -> None:
    with pytest.raises(KeyError):
        run("States.Array($.missing)", {})


# ---- determinism --------------------------------------------------------------------------------


def test_same_sources_same_uuid_and_random() -> None:
    text = "States.Array(States.UUID(), States.UUID(), States.MathRandom(0, 1000000))"
    assert run(text, sources=counting_sources()) == run(text, sources=counting_sources())
    first, second, _ = run(text, sources=counting_sources())
    assert first != second


def test_seeded_random_ignores_sources_and_is_pure() -> None:
    text = "States.MathRandom(0, 1000000, 42)"
    value = run(text)
    assert run(text) == value
    assert run(text, sources=counting_sources()) == value
    assert 0 <= value < 1000000
    assert run("States.MathRandom(0, 1000000, 43)") != value
    assert run("States.MathRandom(0, 1000000, 42.2)") == value


def test_parse_is_pure() -> None:
    text = "States.Format('{}', States.ArrayGetItem($.a, 0))"
    assert parse_call(text) == parse_call(text)
    assert hash(parse_call(text)) == hash(parse_call(text))


# ---- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


def call(name: str, *values: Any) -> Any:
    """Evaluate ``name`` with every value passed in through a path."""
    data = {f"v{i}": value for i, value in enumerate(values)}
    args = ", ".join(f"$.v{i}" for i in range(len(values)))
    return run(f"{name}({args})", data)


@given(st.text(max_size=2000))
def test_base64_round_trip(text: str) -> None:
    encoded = call("States.Base64Encode", text)
    assert encoded == base64.b64encode(text.encode()).decode()
    assert call("States.Base64Decode", encoded) == text


@given(json_values)
def test_json_round_trip(value: Any) -> None:
    text = call("States.JsonToString", value)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert call("States.StringToJson", text) == value


@given(st.lists(st.integers(), max_size=50), st.integers(min_value=1, max_value=60))
def test_partition_length(items: list[int], size: int) -> None:
    chunks = call("States.ArrayPartition", items, size)
    assert call("States.ArrayLength", chunks) == math.ceil(len(items) / size)
    assert [item for chunk in chunks for item in chunk] == items


@given(st.lists(json_values, max_size=10))
def test_unique_is_idempotent_and_contained(items: list[Any]) -> None:
    unique = call("States.ArrayUnique", items)
    assert call("States.ArrayUnique", unique) == unique
    for item in items:
        assert call("States.ArrayContains", unique, item) is True


@given(
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=-50, max_value=50).filter(bool),
)
def test_array_range_matches_python_range(start: int, end: int, step: int) -> None:
    expected = list(range(start, end + (1 if step > 0 else -1), step))
    if len(expected) > 1000:
        with pytest.raises(IntrinsicError):
            call("States.ArrayRange", start, end, step)
    else:
        assert call("States.ArrayRange", start, end, step) == expected


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1001), st.integers(), st.floats(0, 1))
def test_math_random_in_range(start: int, seed: int, unit: float) -> None:
    end = start + 1 + abs(seed) % 1000
    sources = Sources(random=lambda: unit, uuid4=explode)
    data = {"s": start, "e": end, "seed": seed % 2**31}
    assert start <= run("States.MathRandom($.s, $.e)", data, sources=sources) < end
    assert start <= run("States.MathRandom($.s, $.e, $.seed)", data) < end


@given(st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=50))
def test_string_literal_escaping_round_trips(text: str) -> None:
    escaped = "".join("\\" + ch if ch in "'{}\\" else ch for ch in text)
    assert run(f"States.Format('{escaped}')") == text
