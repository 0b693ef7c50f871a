"""Unit tests for workflows.asl.paths: JSONPath and the ASL JSONPath data flow."""

from __future__ import annotations

import contextlib
import copy
from functools import partial
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.asl.intrinsics import Sources, evaluate_expression
from workflows.asl.paths import (
    ABSENT,
    PathError,
    apply_input_path,
    apply_output_path,
    apply_parameters,
    apply_result_path,
    is_reference_path,
    parse_path,
    select,
)

CONTEXT: dict[str, Any] = {
    "Execution": {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1",
        "Input": {"order": 7},
        "Name": "run-1",
    },
    "State": {"Name": "First", "EnteredTime": "2024-01-01T00:00:00Z"},
    "Map": {"Item": {"Index": 2, "Value": {"id": "x"}}},
}


# --- Developer guide examples: InputPath, Parameters and ResultSelector. ---


def test_guide_input_path_example() -> None:
    data = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
    }
    assert apply_input_path("$.dataset2", data) == {"val1": "a", "val2": "b", "val3": "c"}


def test_guide_parameters_example() -> None:
    data = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    template = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert apply_parameters(template, data) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_guide_result_selector_example() -> None:
    result = {
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
            "ClusterId": "AKIAIOSFODNN7EXAMPLE",
        },
    }
    selector = {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}
    assert apply_parameters(selector, result) == {
        "ClusterId": "AKIAIOSFODNN7EXAMPLE",
        "ResourceType": "elasticmapreduce",
    }


# --- Developer guide examples: ResultPath. ---

GUIDE_INPUT = {
    "comment": "This is a test of the input and output of a Task state.",
    "details": "Default example",
    "who": "AWS Step Functions",
}
GUIDE_RESULT = "Hello, AWS Step Functions!"


def test_result_path_dollar_replaces_input() -> None:
    assert apply_result_path("$", GUIDE_INPUT, GUIDE_RESULT) == GUIDE_RESULT
    assert apply_result_path(ABSENT, GUIDE_INPUT, GUIDE_RESULT) == GUIDE_RESULT


def test_result_path_taskresult_adds_field() -> None:
    assert apply_result_path("$.taskresult", GUIDE_INPUT, GUIDE_RESULT) == {
        **GUIDE_INPUT,
        "taskresult": GUIDE_RESULT,
    }


def test_result_path_null_discards_result() -> None:
    assert apply_result_path(None, GUIDE_INPUT, GUIDE_RESULT) == GUIDE_INPUT


def test_result_path_into_existing_object() -> None:
    data = {**GUIDE_INPUT, "strings": {"string1": "foo", "string2": "bar"}}
    out = apply_result_path("$.strings.lambdaresult", data, GUIDE_RESULT)
    assert out["strings"] == {"string1": "foo", "string2": "bar", "lambdaresult": GUIDE_RESULT}


def test_result_path_creates_intermediate_objects() -> None:
    assert apply_result_path("$.a.b.c", {"x": 1}, [1, 2]) == {"x": 1, "a": {"b": {"c": [1, 2]}}}


def test_result_path_overwrites_existing_value() -> None:
    assert apply_result_path("$.x", {"x": {"old": True}}, 5) == {"x": 5}


def test_result_path_into_list_element() -> None:
    assert apply_result_path("$.a[1].b", {"a": [{}, {"c": 1}]}, 2) == {"a": [{}, {"c": 1, "b": 2}]}


@pytest.mark.parametrize(
    ("path", "state_input"),
    [
        ("$.x", "a string"),
        ("$.x", [1, 2]),
        ("$.x", None),
        ("$.a.b", {"a": 3}),
        ("$.a.b", {"a": [1]}),
        ("$.a[0]", {"a": {"0": 1}}),
        ("$.a[5]", {"a": [1]}),
        ("$.a[0]", {}),
    ],
)
def test_result_path_into_non_object_fails(path: str, state_input: Any) -> None:
    with pytest.raises(PathError) as info:
        apply_result_path(path, state_input, "r")
    assert info.value.error == "States.ReferencePathConflict"
    assert info.value.cause.startswith("Unable to apply step ")


def test_result_path_conflict_wording() -> None:
    with pytest.raises(PathError) as info:
        apply_result_path("$.a.b", {"a": 3}, "r")
    assert info.value.cause == 'Unable to apply step "b" to input {"a":3}'


@pytest.mark.parametrize("path", ["$..a", "$.a[*]", "$.a[0,1]", "$$.Execution", "$.a[?(@.x)]"])
def test_result_path_must_be_reference_path(path: str) -> None:
    with pytest.raises(ValueError):
        apply_result_path(path, {}, 1)


def test_result_path_never_mutates() -> None:
    state_input = {"a": {"b": [1, {"c": 2}]}}
    result = {"r": [1]}
    before_input, before_result = copy.deepcopy(state_input), copy.deepcopy(result)
    out = apply_result_path("$.a.new", state_input, result)
    out["a"]["b"][1]["c"] = 99
    out["a"]["new"]["r"].append(2)
    assert state_input == before_input
    assert result == before_result


# --- InputPath / OutputPath. ---


def test_input_and_output_path_absent_and_null() -> None:
    data = {"a": 1}
    assert apply_input_path(ABSENT, data) == data
    assert apply_input_path(None, data) == {}
    assert apply_output_path(ABSENT, data) == data
    assert apply_output_path(None, data) == {}
    assert apply_output_path("$.a", data) == 1


def test_input_path_missing_has_aws_wording() -> None:
    with pytest.raises(PathError) as info:
        apply_input_path("$.missing", {"a": 1})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == "Invalid path '$.missing' : No results for path: $['missing']"


def test_input_path_context() -> None:
    assert apply_input_path("$$.Execution.Input", {"ignored": 1}, CONTEXT) == {"order": 7}


def test_input_path_result_is_a_copy() -> None:
    data = {"a": {"b": 1}}
    out = apply_input_path("$.a", data)
    out["b"] = 2
    assert data == {"a": {"b": 1}}


# --- Parsing. ---


@pytest.mark.parametrize(
    "text",
    [
        "$",
        "$.a.b",
        "$['a']",
        '$["a b"]',
        "$.a[0]",
        "$.a[-1]",
        "$.a[*]",
        "$.a.*",
        "$.a[0,2]",
        "$.a[1:3]",
        "$.a[:2]",
        "$.a[-2:]",
        "$..b",
        "$..*",
        "$.a[?(@.x > 1)]",
        "$.a[?(@.x == 'y' && @.z != null || !@.w)]",
        "$$",
        "$$.Execution.Id",
        "$.ключ.名前",
        "$['']",
        "$['a.b']['c\\'d']",
        "$.my-key_1",
    ],
)
def test_parse_accepts(text: str) -> None:
    assert parse_path(text).text == text


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("a.b", 0),
        ("$.", 2),
        ("$.a.", 4),
        # "$a" is a variable path now; a name cannot start with a digit.
        ("$1", 1),
        ("$[", 2),
        ("$['a'", 5),
        ("$['a", 4),
        ("$.a[1", 5),
        ("$.a[x]", 4),
        ("$.a b", 3),
        ("$[?(@.x >)]", 9),
        ("$[?(@.x > 1]", 11),
        ("$[99999999999999999999]", 2),
        ("$.a[1:2:3]", 7),
    ],
)
def test_parse_rejects_with_position(text: str, position: int) -> None:
    with pytest.raises(ValueError, match=f"at position {position}:") as info:
        parse_path(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", True),
        ("$.a.b", True),
        ("$['a b'][0]", True),
        ("$.a[-1]", True),
        ("$$.Execution.Id", False),
        ("$.a[*]", False),
        ("$.a[0,1]", False),
        ("$.a[1:2]", False),
        ("$..a", False),
        ("$.a[?(@.x)]", False),
        ("$.", False),
        ("a", False),
    ],
)
def test_is_reference_path(text: str, expected: bool) -> None:
    assert is_reference_path(text) is expected


def test_is_reference_path_context_opt_in() -> None:
    assert is_reference_path("$$.Execution.Input", allow_context=True)


# --- Selection. ---

DATA: dict[str, Any] = {
    "a": {"b": [10, 20, {"c": "deep"}]},
    "a.b": "dotted",
    "a b": "spaced",
    "it's": "quoted",
    "": "empty",
    "ключ": {"名前": "unicode"},
    "items": [
        {"x": 1, "name": "one"},
        {"x": 2, "name": "two", "tag": "t"},
        {"x": "2", "name": "string two"},
        {"x": True, "name": "true"},
        {"x": None, "name": "null"},
    ],
    "n": 5,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a.b[0]", 10),
        ("$.a.b[-1].c", "deep"),
        ("$['a.b']", "dotted"),
        ('$["a b"]', "spaced"),
        ('$["it\'s"]', "quoted"),
        ("$['']", "empty"),
        ("$.ключ.名前", "unicode"),
        ("$.a.b[*]", [10, 20, {"c": "deep"}]),
        ("$.a.b[0,2]", [10, {"c": "deep"}]),
        ("$.a.b[1:]", [20, {"c": "deep"}]),
        ("$.a.b[5:9]", []),
        ("$..c", ["deep"]),
        ("$.items[*].name", ["one", "two", "string two", "true", "null"]),
        ("$.items[?(@.x > 1)].name", ["two"]),
        ("$.items[?(@.x >= 1 && @.x < 2)].name", ["one"]),
        ("$.items[?(@.x == '2')].name", ["string two"]),
        ("$.items[?(@.x == 2)].name", ["two"]),
        ("$.items[?(@.x == true)].name", ["true"]),
        ("$.items[?(@.x == 1)].name", ["one"]),
        ("$.items[?(@.x == null)].name", ["null"]),
        ("$.items[?(@.x != 2)].name", ["one", "string two", "true", "null"]),
        ("$.items[?(@.x > '1')].name", ["string two"]),
        ("$.items[?(@.tag)].name", ["two"]),
        ("$.items[?(!@.tag)].name", ["one", "string two", "true", "null"]),
        ("$.items[?(@.x == 1 || @.tag == 't')].name", ["one", "two"]),
        ("$.items[?(@.x > $.n)].name", []),
        ("$.items[?(@.missing > 1)]", []),
        ("$.items[0,1]['name','x']", ["one", 1, "two", 2]),
    ],
)
def test_select(path: str, expected: Any) -> None:
    assert select(path, DATA) == expected


def test_select_root_and_context() -> None:
    assert select("$", DATA) is DATA
    assert select("$$", {}, CONTEXT) is CONTEXT
    assert select("$$.Execution.Id", {}, CONTEXT) == CONTEXT["Execution"]["Id"]
    assert select("$$.Map.Item.Value.id", {}, CONTEXT) == "x"


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("$.missing", "No results for path: $['missing']"),
        ("$.a.b[3]", "No results for path: $['a']['b'][3]"),
        ("$.a.b[2147483647]", "No results for path: $['a']['b'][2147483647]"),
        ("$.a.b[-4]", "No results for path: $['a']['b'][-4]"),
        ("$.a.missing.c", "Missing property in path $['a']['missing']"),
        ("$.missing[*]", "Missing property in path $['missing']"),
        (
            "$.n.x",
            "Expected to find an object with property ['x'] in path $['n'] but found 'number'",
        ),
        ("$.a[0]", 'Filter: [0] can only be applied to arrays. Current context is: {"b":'),
    ],
)
def test_select_definite_miss(path: str, cause: str) -> None:
    with pytest.raises(PathError) as info:
        select(path, DATA)
    assert info.value.error == "States.Runtime"
    assert info.value.cause.startswith(f"Invalid path '{path}' : {cause}")


def test_select_context_miss() -> None:
    with pytest.raises(PathError, match="Missing property in path"):
        select("$$.Task.Token", {}, CONTEXT)


def test_select_indefinite_miss_is_empty_list() -> None:
    assert select("$.items[?(@.x > 100)]", DATA) == []
    assert select("$..nothing", DATA) == []
    assert select("$.n[*]", DATA) == []


def test_recursive_descent_over_deep_input() -> None:
    deep: Any = {"v": 0}
    for i in range(1, 3000):
        deep = {"v": i, "k": deep}
    assert len(select("$..v", deep)) == 3000


# --- Parameters / ResultSelector / ItemSelector. ---


def test_parameters_context_and_static_values() -> None:
    template = {
        "id.$": "$$.Execution.Id",
        "item.$": "$$.Map.Item.Value",
        "static": {"nested": [1, {"x.$": "$.a.b[0]"}, "$.not.a.path"]},
        "n": None,
        "flag": False,
    }
    assert apply_parameters(template, DATA, CONTEXT) == {
        "id": CONTEXT["Execution"]["Id"],
        "item": {"id": "x"},
        "static": {"nested": [1, {"x": 10}, "$.not.a.path"]},
        "n": None,
        "flag": False,
    }


def test_parameters_keys_with_special_characters() -> None:
    template = {"a.b.$": "$['a.b']", "sp ace.$": "$['a b']", ".$": "$.n", "名前.$": "$.ключ.名前"}
    assert apply_parameters(template, DATA) == {
        "a.b": "dotted",
        "sp ace": "spaced",
        "": 5,
        "名前": "unicode",
    }


def test_parameters_indefinite_path_gives_list() -> None:
    assert apply_parameters({"names.$": "$.items[0:2].name"}, DATA) == {"names": ["one", "two"]}


def test_parameters_missing_path_has_aws_wording() -> None:
    with pytest.raises(PathError) as info:
        apply_parameters({"JobName.$": "$.JobName"}, {})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "The JSONPath '$.JobName' specified for the field 'JobName.$' "
        "could not be found in the input '{}'"
    )


@pytest.mark.parametrize("value", [1, None, True, ["$.a"], {"x": "$.a"}])
def test_parameters_non_string_path_value_is_invalid(value: Any) -> None:
    with pytest.raises(ValueError, match=r"x\.\$"):
        apply_parameters({"x.$": value}, DATA)


def test_parameters_bad_path_is_invalid() -> None:
    with pytest.raises(ValueError, match="position"):
        apply_parameters({"x.$": "$.a["}, DATA)


def test_parameters_duplicate_output_key_is_invalid() -> None:
    with pytest.raises(ValueError, match="twice"):
        apply_parameters({"a": 1, "a.$": "$.n"}, DATA)


def test_parameters_intrinsic_callback() -> None:
    calls: list[tuple[str, Any, Any]] = []

    def intrinsic(expression: str, data: Any, context: Any) -> Any:
        calls.append((expression, data, context))
        return "called"

    out = apply_parameters({"v.$": "States.Format('{}', $.n)"}, DATA, CONTEXT, intrinsic)
    assert out == {"v": "called"}
    assert calls == [("States.Format('{}', $.n)", DATA, CONTEXT)]
    with pytest.raises(ValueError, match="not a path"):
        apply_parameters({"v.$": "States.UUID()"}, DATA)


def test_parameters_deeply_nested_template() -> None:
    template: Any = {"leaf.$": "$.n"}
    expected: Any = {"leaf": 5}
    for _ in range(200):
        template = {"k": [template]}
        expected = {"k": [expected]}
    assert apply_parameters(template, DATA) == expected


def test_parameters_never_mutate_and_do_not_alias() -> None:
    template = {"a.$": "$.a", "static": {"list": [1]}}
    before_template, before_data = copy.deepcopy(template), copy.deepcopy(DATA)
    out = apply_parameters(template, DATA)
    out["a"]["b"].append(1)
    out["static"]["list"].append(2)
    assert template == before_template
    assert before_data == DATA


# --- Properties. ---

KEYS = st.text(min_size=0, max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)


def _reference(keys: list[str]) -> str:
    quoted = "".join("['" + k.replace("\\", "\\\\").replace("'", "\\'") + "']" for k in keys)
    return "$" + quoted


@given(keys=st.lists(KEYS, min_size=1, max_size=4), base=st.dictionaries(KEYS, JSON), value=JSON)
def test_write_then_read_same_reference_path(keys: list[str], base: Any, value: Any) -> None:
    path = _reference(keys)
    before = copy.deepcopy(base)
    try:
        out = apply_result_path(path, base, value)
    except PathError:
        return  # an intermediate node was not an object
    assert select(path, out) == value
    assert base == before


@given(keys=st.lists(KEYS, min_size=1, max_size=4), value=JSON)
def test_write_into_empty_object_always_succeeds(keys: list[str], value: Any) -> None:
    out = apply_result_path(_reference(keys), {}, value)
    assert select(_reference(keys), out) == value


@given(data=JSON)
def test_dollar_paths_are_identity(data: Any) -> None:
    assert select("$", data) == data
    assert apply_input_path("$", data) == data


STATIC = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(KEYS.filter(lambda k: not k.endswith(".$")), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(template=STATIC)
def test_templates_without_path_keys_are_copied(template: Any) -> None:
    assert apply_parameters(template, {"a": 1}) == template


@given(text=st.text(alphabet="$.[]'\"*?@()0123456789-:,ab =!<>&|\\", max_size=20))
def test_parse_only_raises_value_error(text: str) -> None:
    """Arbitrary path-like text either parses and evaluates, or raises ValueError."""
    try:
        path = parse_path(text)
    except ValueError:
        return
    with contextlib.suppress(PathError):
        select(path, DATA, CONTEXT)


# --- Workflow variables ("Passing data between states with variables"). ---

VARIABLES: dict[str, Any] = {
    "order": {"number": 42, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}]},
    "customerName": "María",
    "_private": [10, 20],
    "nothing": None,
}


@pytest.mark.parametrize(
    ("text", "variable", "location"),
    [
        ("$order", "order", "$order"),
        ("$order.number", "order", "$order['number']"),
        ("$order.lines[0].sku", "order", "$order['lines'][0]['sku']"),
        ("$_private[-1]", "_private", "$_private[-1]"),
        ("$ключ.名前", "ключ", "$ключ['名前']"),
        ("$x1", "x1", "$x1"),
    ],
)
def test_parse_variable_paths(text: str, variable: str, location: str) -> None:
    path = parse_path(text)
    assert (path.variable, path.context, path.location()) == (variable, False, location)


@pytest.mark.parametrize("text", ["$", "$.order", "$['order']", "$$.Execution", "$..order"])
def test_other_dollar_forms_keep_their_meaning(text: str) -> None:
    assert parse_path(text).variable is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$order", VARIABLES["order"]),
        ("$customerName", "María"),
        ("$order.number", 42),
        ("$order.lines[1].qty", 3),
        ("$order.lines[*].sku", ["a", "b"]),
        ("$order..qty", [2, 3]),
        ("$order.lines[?(@.qty > 2)].sku", ["b"]),
        ("$_private[0]", 10),
        ("$nothing", None),
    ],
)
def test_select_reads_variables(path: str, expected: Any) -> None:
    assert select(path, {"order": "from the input"}, CONTEXT, variables=VARIABLES) == expected


def test_dollar_still_reads_the_data_when_variables_are_given() -> None:
    data = {"order": "input"}
    assert select("$.order", data, CONTEXT, variables=VARIABLES) == "input"
    assert select("$", data, CONTEXT, variables=VARIABLES) == data
    assert select("$$.Execution.Name", data, CONTEXT, variables=VARIABLES) == "run-1"


@pytest.mark.parametrize("variables", [None, {}, {"other": 1}])
def test_undefined_variable_is_a_runtime_error_naming_it(variables: Any) -> None:
    with pytest.raises(PathError) as raised:
        select("$order.number", {"order": {"number": 1}}, variables=variables)
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == (
        "Invalid path '$order.number' : The variable '$order' is not defined"
    )


def test_missing_part_of_a_variable_is_reported_like_a_missing_part_of_input() -> None:
    with pytest.raises(PathError) as raised:
        select("$order.missing", {}, variables=VARIABLES)
    assert raised.value.cause == (
        "Invalid path '$order.missing' : No results for path: $order['missing']"
    )


def test_parameters_read_variables() -> None:
    """The guide's example: "name.$": "$customerName" next to a literal "$customerName"."""
    template = {
        "static": "Hello",
        "title.$": "$.title",
        "name.$": "$customerName",
        "not-evaluated": "$customerName",
        "lines": [{"first.$": "$order.lines[0].sku"}],
    }
    assert apply_parameters(template, {"title": "Doctor"}, variables=VARIABLES) == {
        "static": "Hello",
        "title": "Doctor",
        "name": "María",
        "not-evaluated": "$customerName",
        "lines": [{"first": "a"}],
    }


def test_parameters_copy_variable_values() -> None:
    out = apply_parameters({"o.$": "$order"}, {}, variables=VARIABLES)
    out["o"]["lines"].clear()
    assert len(VARIABLES["order"]["lines"]) == 2


def test_parameters_missing_part_of_a_variable_has_aws_wording() -> None:
    with pytest.raises(PathError) as raised:
        apply_parameters({"n.$": "$customerName.first"}, {}, variables=VARIABLES)
    assert raised.value.cause == (
        "The JSONPath '$customerName.first' specified for the field 'n.$' could not be found "
        "in the input '\"María\"'"
    )


def test_parameters_undefined_variable_names_the_variable() -> None:
    with pytest.raises(PathError) as raised:
        apply_parameters({"n.$": "$unset"}, {"unset": 1}, variables=VARIABLES)
    assert "The variable '$unset' is not defined" in raised.value.cause


def test_parameters_pass_variables_to_intrinsic_resolvers() -> None:
    """Intrinsic arguments read variables through a resolver bound to them."""
    resolver = partial(select, variables=VARIABLES)
    sources = Sources(random=lambda: 0.5, uuid4=lambda: "id")

    def intrinsic(text: str, data: Any, context: Any) -> Any:
        return evaluate_expression(text, data, context, sources, resolver)

    template = {"message.$": "States.Format('The order number is {}', $order.number)"}
    assert apply_parameters(template, {}, intrinsic=intrinsic, variables=VARIABLES) == {
        "message": "The order number is 42"
    }


def test_input_and_output_path_read_variables() -> None:
    assert apply_input_path("$order.number", {}, variables=VARIABLES) == 42
    assert apply_output_path("$customerName", {}, variables=VARIABLES) == "María"
    with pytest.raises(PathError):
        apply_input_path("$order", {"order": 1})


def test_result_path_cannot_use_a_variable() -> None:
    # AWS: "Variables cannot be used in ResultPath."
    with pytest.raises(ValueError, match="cannot use a variable"):
        apply_result_path("$order.result", {}, 1)


def test_is_reference_path_with_variables() -> None:
    assert is_reference_path("$order.lines[0]")
    assert not is_reference_path("$order.lines[*]")
    assert not is_reference_path("$order", allow_variables=False)
    assert is_reference_path("$.order", allow_variables=False)


@given(name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), value=JSON)
def test_any_variable_name_selects_its_value(name: str, value: Any) -> None:
    assert select(f"${name}", {}, variables={name: value}) == value
