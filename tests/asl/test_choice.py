"""Unit tests for workflows.asl.choice: evaluating Choice state rules as AWS does."""

from __future__ import annotations

from typing import Any, Final

import pytest

from workflows.asl.choice import NO_CHOICE_MATCHED, choose, matches
from workflows.asl.paths import RUNTIME, PathError

CONTEXT: dict[str, Any] = {
    "Execution": {"Name": "run-1", "Input": {"limit": 10}},
    "State": {"Name": "Decide", "RetryCount": 0},
}

# The developer guide's Choice state example.
GUIDE_STATE: dict[str, Any] = {
    "Type": "Choice",
    "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
    ],
    "Default": "DefaultState",
}


T0: Final = "2020-01-01T00:00:00Z"


def rule(op: str, operand: Any, variable: str = "$.v") -> dict[str, Any]:
    return {"Variable": variable, op: operand}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "Public", "value": 0}, "Public"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
        ({"type": "Private", "value": 25}, "ValueInTwenties"),
        ({"type": "Private", "value": 30}, "DefaultState"),
        ({"type": "Private", "value": 19.5}, "DefaultState"),
    ],
)
def test_developer_guide_example(data: dict[str, Any], expected: str) -> None:
    assert choose(GUIDE_STATE, data, CONTEXT) == expected


def test_developer_guide_operator_examples() -> None:
    assert matches(
        {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold"},
        {"rating": 53, "auditThreshold": 50},
        CONTEXT,
    )
    assert matches(rule("StringMatches", "log-*.txt"), {"v": "log-2024-05.txt"}, CONTEXT)
    assert matches(
        {
            "And": [
                {"Variable": "$.value", "IsPresent": True},
                {"Variable": "$.value", "IsNumeric": True},
                {"Variable": "$.value", "NumericGreaterThan": 20},
            ]
        },
        {"value": 21},
        CONTEXT,
    )
    assert not matches(
        {
            "And": [
                {"Variable": "$.value", "IsPresent": True},
                {"Variable": "$.value", "IsNumeric": True},
            ]
        },
        {"value": "21"},
        CONTEXT,
    )


@pytest.mark.parametrize(
    ("op", "operand", "value", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "abd", False),
        ("StringLessThan", "b", "a", True),
        ("StringLessThan", "a", "a", False),
        ("StringGreaterThan", "a", "b", True),
        ("StringGreaterThan", "b", "a", False),
        ("StringLessThanEquals", "a", "a", True),
        ("StringLessThanEquals", "a", "b", False),
        ("StringGreaterThanEquals", "b", "b", True),
        ("StringGreaterThanEquals", "b", "a", False),
        # Code point order: uppercase before lowercase, astral characters after the BMP.
        ("StringLessThan", "a", "Z", True),
        ("StringGreaterThan", "\uffff", "\U0001f600", True),
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", 1.5, 1, False),
        ("NumericLessThan", 2, 1.5, True),
        ("NumericLessThan", 2, 2, False),
        ("NumericGreaterThan", 2, 3, True),
        ("NumericGreaterThan", 2, 2.0, False),
        ("NumericLessThanEquals", 2, 2.0, True),
        ("NumericLessThanEquals", 2, 3, False),
        ("NumericGreaterThanEquals", -1, -1, True),
        ("NumericGreaterThanEquals", -1, -2, False),
        ("BooleanEquals", True, True, True),
        ("BooleanEquals", False, True, False),
        ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
        ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:01Z", False),
        ("TimestampLessThan", "2016-03-14T01:59:00Z", "2016-03-14T01:58:59.999Z", True),
        ("TimestampLessThan", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", False),
        ("TimestampGreaterThan", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00.5Z", True),
        ("TimestampGreaterThan", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", False),
        ("TimestampLessThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
        ("TimestampLessThanEquals", "2016-03-14T01:59:00Z", "2017-01-01T00:00:00Z", False),
        ("TimestampGreaterThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
        ("TimestampGreaterThanEquals", "2016-03-14T01:59:00Z", "2015-01-01T00:00:00Z", False),
    ],
)
def test_comparisons(op: str, operand: Any, value: Any, expected: bool) -> None:
    assert matches(rule(op, operand), {"v": value}, CONTEXT) is expected


@pytest.mark.parametrize(
    ("op", "operand", "value"),
    [
        ("StringEquals", "1", 1),
        ("StringEquals", "true", True),
        ("StringLessThan", "b", None),
        ("StringMatches", "*", 5),
        ("NumericEquals", 1, "1"),
        ("NumericLessThan", 5, [1]),
        ("NumericEquals", 1, True),
        ("NumericEquals", 0, False),
        ("NumericGreaterThanEquals", 0, True),
        ("BooleanEquals", True, 1),
        ("BooleanEquals", False, 0),
        ("BooleanEquals", False, None),
        ("TimestampEquals", "2016-03-14T01:59:00Z", "not a time"),
        ("TimestampLessThan", "2016-03-14T01:59:00Z", 0),
        ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14 01:59:00Z"),
    ],
)
def test_type_mismatch_is_false(op: str, operand: Any, value: Any) -> None:
    assert matches(rule(op, operand), {"v": value}, CONTEXT) is False


def test_type_mismatch_is_false_under_not_too() -> None:
    assert matches({"Not": rule("NumericEquals", 1)}, {"v": "1"}, CONTEXT)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNumeric", 1, True),
        ("IsNumeric", 1.5, True),
        ("IsNumeric", True, False),
        ("IsNumeric", "1", False),
        ("IsString", "", True),
        ("IsString", None, False),
        ("IsBoolean", False, True),
        ("IsBoolean", 0, False),
        ("IsTimestamp", "2016-03-14T01:59:00Z", True),
        ("IsTimestamp", "2016-03-14T01:59:00.123456789+05:30", True),
        ("IsTimestamp", "2016-03-14T01:59:00", False),
        ("IsTimestamp", "2016-02-30T01:59:00Z", False),
        ("IsTimestamp", "2016-03-14", False),
        ("IsTimestamp", 1457920740, False),
    ],
)
def test_type_tests(test: str, value: Any, expected: bool) -> None:
    assert matches(rule(test, True), {"v": value}, CONTEXT) is expected
    assert matches(rule(test, False), {"v": value}, CONTEXT) is not expected


def test_is_present() -> None:
    assert matches(rule("IsPresent", True), {"v": None}, CONTEXT)
    assert not matches(rule("IsPresent", False), {"v": None}, CONTEXT)
    assert not matches(rule("IsPresent", True), {}, CONTEXT)
    assert matches(rule("IsPresent", False), {}, CONTEXT)
    assert matches(rule("IsPresent", False, "$.a.b"), {"a": 3}, CONTEXT)
    assert matches(rule("IsPresent", True, "$$.Execution.Name"), {}, CONTEXT)
    assert matches(rule("IsPresent", False, "$$.Execution.Missing"), {}, CONTEXT)


@pytest.mark.parametrize(
    "missing",
    [
        rule("IsNull", True, "$.missing"),
        rule("IsString", False, "$.missing"),
        rule("StringEquals", "x", "$.missing"),
        rule("NumericEquals", 1, "$.a.b"),
        rule("BooleanEquals", True, "$$.Execution.Missing"),
        {"Not": rule("StringEquals", "x", "$.missing")},
        {"Or": [rule("StringEquals", "y", "$.a"), rule("StringEquals", "x", "$.missing")]},
    ],
)
def test_missing_variable_fails_for_operators_other_than_is_present(
    missing: dict[str, Any],
) -> None:
    with pytest.raises(PathError) as caught:
        matches(missing, {"a": "x"}, CONTEXT)
    assert caught.value.error == RUNTIME
    assert "Invalid path '$" in caught.value.cause


def test_missing_variable_fails_the_choice() -> None:
    state = {"Choices": [rule("NumericEquals", 0, "$.nope") | {"Next": "A"}], "Default": "B"}
    with pytest.raises(PathError) as caught:
        choose(state, {}, CONTEXT)
    assert caught.value.error == RUNTIME


def test_and_or_stop_at_the_deciding_rule() -> None:
    present = rule("IsPresent", True, "$.value")
    numeric = rule("NumericGreaterThan", 1, "$.value")
    assert not matches({"And": [present, numeric]}, {}, CONTEXT)
    assert matches({"Or": [rule("IsPresent", False, "$.value"), numeric]}, {}, CONTEXT)


@pytest.mark.parametrize(
    ("op", "data", "expected"),
    [
        ("StringEqualsPath", {"v": "a", "w": "a"}, True),
        ("StringEqualsPath", {"v": "a", "w": "b"}, False),
        ("StringLessThanPath", {"v": "a", "w": "b"}, True),
        ("StringGreaterThanPath", {"v": "a", "w": "b"}, False),
        ("StringLessThanEqualsPath", {"v": "b", "w": "b"}, True),
        ("StringGreaterThanEqualsPath", {"v": "a", "w": "b"}, False),
        ("NumericEqualsPath", {"v": 2, "w": 2.0}, True),
        ("NumericLessThanPath", {"v": 1, "w": 2}, True),
        ("NumericGreaterThanPath", {"v": 1, "w": 2}, False),
        ("NumericLessThanEqualsPath", {"v": 2, "w": 2}, True),
        ("NumericGreaterThanEqualsPath", {"v": 1, "w": 2}, False),
        ("BooleanEqualsPath", {"v": True, "w": True}, True),
        ("BooleanEqualsPath", {"v": True, "w": False}, False),
        ("TimestampEqualsPath", {"v": T0, "w": "2020-01-01T01:00:00+01:00"}, True),
        ("TimestampLessThanPath", {"v": T0, "w": "2020-01-01T00:30:00+01:00"}, False),
        ("TimestampGreaterThanPath", {"v": T0, "w": "2019-12-31T23:00:00-02:00"}, False),
        ("TimestampLessThanEqualsPath", {"v": T0, "w": "2020-01-01T00:00:00Z"}, True),
        ("TimestampGreaterThanEqualsPath", {"v": T0, "w": "2020-01-01T00:00:01Z"}, False),
        # A path operand of the wrong type is as false as a wrong-typed variable.
        ("NumericEqualsPath", {"v": 1, "w": "1"}, False),
        ("NumericEqualsPath", {"v": 1, "w": True}, False),
        ("BooleanEqualsPath", {"v": False, "w": 0}, False),
        ("StringEqualsPath", {"v": "1", "w": 1}, False),
        ("TimestampEqualsPath", {"v": T0, "w": "yesterday"}, False),
    ],
)
def test_path_operands(op: str, data: dict[str, Any], expected: bool) -> None:
    assert matches(rule(op, "$.w"), data, CONTEXT) is expected


def test_path_operand_may_read_the_context() -> None:
    assert matches(rule("NumericLessThanPath", "$$.Execution.Input.limit"), {"v": 9}, CONTEXT)
    assert not matches(rule("NumericLessThanPath", "$$.Execution.Input.limit"), {"v": 10}, CONTEXT)


def test_missing_path_operand_fails() -> None:
    with pytest.raises(PathError) as caught:
        matches(rule("StringEqualsPath", "$.missing"), {"v": "a"}, CONTEXT)
    assert caught.value.error == RUNTIME
    with pytest.raises(PathError):
        matches(rule("NumericEqualsPath", "$$.Execution.Missing"), {"v": 1}, CONTEXT)


def test_context_variables() -> None:
    assert matches(rule("StringEquals", "run-1", "$$.Execution.Name"), {}, CONTEXT)
    assert matches(rule("NumericEquals", 0, "$$.State.RetryCount"), {}, CONTEXT)
    assert matches(rule("StringEqualsPath", "$.name", "$$.State.Name"), {"name": "Decide"}, CONTEXT)


def test_nested_and_or_not() -> None:
    nested = {
        "Or": [
            {"And": [rule("IsString", True), {"Not": rule("StringEquals", "skip")}]},
            {"Not": {"Or": [rule("IsString", True), rule("IsNumeric", True)]}},
        ]
    }
    assert matches(nested, {"v": "go"}, CONTEXT)
    assert not matches(nested, {"v": "skip"}, CONTEXT)
    assert not matches(nested, {"v": 3}, CONTEXT)
    assert matches(nested, {"v": None}, CONTEXT)
    assert matches({"Not": {"Not": rule("BooleanEquals", True)}}, {"v": True}, CONTEXT)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-a.txt.gz", False),
        ("*", "", True),
        ("*", "anything\nat all", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "a-b-b-c", True),
        ("a*b*c", "acb", False),
        ("**x**", "xx", True),
        ("*.*", "no dot", False),
        (r"a\*b", "a*b", True),
        (r"a\*b", "axb", False),
        (r"a\\*", "a\\anything", True),
        (r"a\\*", "a", False),
        (r"\\\*", "\\*", True),
        ("a.c", "abc", False),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("(x)+", "(x)+", True),
        ("exact", "Exact", False),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert matches(rule("StringMatches", pattern), {"v": value}, CONTEXT) is expected


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("2016-03-14T01:59:00Z", "2016-03-14T02:59:00+01:00"),
        ("2016-03-14T01:59:00Z", "2016-03-13T20:29:00-05:30"),
        ("2016-03-14T01:59:00.5Z", "2016-03-14T01:59:00.500+00:00"),
        ("2016-12-31T23:30:00-01:00", "2017-01-01T00:30:00Z"),
    ],
)
def test_timestamps_with_different_offsets_are_the_same_instant(left: str, right: str) -> None:
    assert matches(rule("TimestampEquals", right), {"v": left}, CONTEXT)
    assert matches(rule("TimestampLessThanEquals", right), {"v": left}, CONTEXT)
    assert not matches(rule("TimestampLessThan", right), {"v": left}, CONTEXT)


def test_timestamps_compare_as_instants_not_strings() -> None:
    # As strings, "02:00+01:00" sorts after "01:30Z"; as instants it is earlier.
    assert matches(
        rule("TimestampLessThan", "2016-03-14T01:30:00Z"),
        {"v": "2016-03-14T02:00:00+01:00"},
        CONTEXT,
    )
    assert matches(
        rule("TimestampGreaterThan", "2016-03-14T01:59:00.123456Z"),
        {"v": "2016-03-14T01:59:00.1234561Z"},
        CONTEXT,
    )


def test_default_and_no_choice_matched() -> None:
    state: dict[str, Any] = {"Choices": [rule("StringEquals", "x") | {"Next": "X"}]}
    assert choose(state, {"v": "x"}, CONTEXT) == "X"
    assert choose(state | {"Default": "D"}, {"v": "y"}, CONTEXT) == "D"
    with pytest.raises(PathError) as caught:
        choose(state, {"v": "y"}, CONTEXT)
    assert caught.value.error == NO_CHOICE_MATCHED == "States.NoChoiceMatched"
    assert caught.value.cause


def test_first_matching_rule_wins() -> None:
    state = {
        "Choices": [
            rule("NumericGreaterThan", 10) | {"Next": "Big"},
            rule("NumericGreaterThan", 0) | {"Next": "Positive"},
            rule("IsNumeric", True) | {"Next": "Number"},
        ],
        "Default": "Other",
    }
    assert choose(state, {"v": 11}, CONTEXT) == "Big"
    assert choose(state, {"v": 5}, CONTEXT) == "Positive"
    assert choose(state, {"v": -5}, CONTEXT) == "Number"
    assert choose(state, {"v": "5"}, CONTEXT) == "Other"


def test_choice_does_not_change_its_input() -> None:
    data = {"v": [1, {"a": 2}], "w": "x"}
    snapshot = {"v": [1, {"a": 2}], "w": "x"}
    choose(GUIDE_STATE | {"Default": "D"}, {"type": "Private", "value": 1}, CONTEXT)
    matches(rule("IsPresent", True), data, CONTEXT)
    assert data == snapshot


# --- Workflow variables in Variable and ...Path operands. ---

VARIABLES: dict[str, Any] = {
    "threshold": 50,
    "customer": {"tier": "gold", "since": "2019-05-01T00:00:00Z"},
    "flags": [True, False],
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$threshold", "NumericGreaterThan": 40}, True),
        ({"Variable": "$customer.tier", "StringEquals": "gold"}, True),
        ({"Variable": "$flags[1]", "BooleanEquals": True}, False),
        ({"Variable": "$customer.since", "TimestampLessThan": T0}, True),
        ({"Variable": "$.rating", "NumericGreaterThanPath": "$threshold"}, True),
        ({"Variable": "$threshold", "NumericLessThanPath": "$.rating"}, True),
        ({"Variable": "$customer.tier", "StringEqualsPath": "$$.Execution.Name"}, False),
        ({"Variable": "$customer", "IsPresent": True}, True),
        ({"Variable": "$unset", "IsPresent": False}, True),
        ({"Variable": "$customer.missing", "IsPresent": True}, False),
        ({"Variable": "$customer.tier", "IsString": True}, True),
    ],
)
def test_rules_read_variables(rule: dict[str, Any], expected: bool) -> None:
    assert matches(rule, {"rating": 53}, CONTEXT, variables=VARIABLES) is expected


def test_variables_reach_nested_rules() -> None:
    rule = {
        "And": [
            {"Variable": "$threshold", "NumericEquals": 50},
            {"Not": {"Variable": "$customer.tier", "StringEquals": "silver"}},
            {"Or": [{"Variable": "$flags[0]", "BooleanEquals": True}]},
        ]
    }
    assert matches(rule, {}, CONTEXT, variables=VARIABLES) is True


def test_choose_with_variables_and_assign_on_the_rule() -> None:
    state = {
        "Type": "Choice",
        "Choices": [
            {
                "Variable": "$customer.tier",
                "StringEquals": "gold",
                "Assign": {"discount": 20},
                "Next": "Premium",
            }
        ],
        "Default": "Standard",
    }
    assert choose(state, {}, CONTEXT, variables=VARIABLES) == "Premium"
    other = {**VARIABLES, "customer": {"tier": "bronze"}}
    assert choose(state, {}, CONTEXT, variables=other) == "Standard"


def test_undefined_variable_fails_the_rule() -> None:
    with pytest.raises(PathError) as raised:
        matches({"Variable": "$unset", "StringEquals": "x"}, {}, CONTEXT, variables=VARIABLES)
    assert raised.value.error == RUNTIME
    assert "$unset" in raised.value.cause


def test_undefined_variable_in_a_path_operand_names_it() -> None:
    rule = {"Variable": "$.rating", "NumericGreaterThanPath": "$limit"}
    with pytest.raises(PathError) as raised:
        matches(rule, {"rating": 1}, CONTEXT, variables=VARIABLES)
    assert raised.value.cause == "Invalid path '$limit' : The variable '$limit' is not defined"


def test_without_variables_a_variable_path_is_undefined() -> None:
    assert matches({"Variable": "$threshold", "IsPresent": False}, {"threshold": 1}, CONTEXT)
