"""Unit tests for workflows.asl.validate: create-time validation of ASL definitions."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from workflows.asl.validate import (
    InvalidDefinition,
    Problem,
    check_definition,
    is_timestamp,
    validate_definition,
)

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:process"


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    """A definition starting at the first state unless told otherwise."""
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}


def one_state(state: dict[str, Any]) -> dict[str, Any]:
    return machine({"S": state})


def codes(definition: str | dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.code, p.location) for p in validate_definition(definition)]


def only(definition: str | dict[str, Any]) -> Problem:
    problems = validate_definition(definition)
    assert len(problems) == 1, problems
    return problems[0]


# --- Valid definitions. ---

SHOPPING_ORDER: dict[str, Any] = {
    "Comment": "Validate, then charge and reserve each item in parallel, then ship.",
    "Version": "1.0",
    "TimeoutSeconds": 3600,
    "QueryLanguage": "JSONPath",
    "StartAt": "Validate",
    "States": {
        "Validate": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": LAMBDA,
                "Payload.$": "$",
                "Meta": {"count.$": "States.ArrayLength($.items)", "run.$": "$$.Execution.Id"},
            },
            "ResultSelector": {"order.$": "$.Payload"},
            "ResultPath": "$.validated",
            "TimeoutSeconds": 60,
            "HeartbeatSeconds": 10,
            "Retry": [
                {
                    "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 6,
                    "BackoffRate": 2,
                    "MaxDelaySeconds": 30,
                    "JitterStrategy": "FULL",
                },
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0},
            ],
            "Catch": [
                {"ErrorEquals": ["Invalid"], "ResultPath": "$.error", "Next": "Rejected"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Rejected"},
            ],
            "Next": "Fulfil",
        },
        "Fulfil": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Charge",
                    "States": {
                        "Charge": {
                            "Type": "Task",
                            "Resource": f"{LAMBDA}:live",
                            "TimeoutSecondsPath": "$.timeout",
                            "End": True,
                        }
                    },
                },
                {
                    "Comment": "One reservation per line item.",
                    "StartAt": "Reserve items",
                    "States": {
                        "Reserve items": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemSelector": {"sku.$": "$$.Map.Item.Value.sku", "qty": 1},
                            "MaxConcurrency": 5,
                            "ToleratedFailurePercentage": 10,
                            "ItemBatcher": {"MaxItemsPerBatch": 10},
                            "ItemProcessor": {
                                "ProcessorConfig": {"Mode": "INLINE"},
                                "StartAt": "Reserve",
                                "States": {
                                    "Reserve": {
                                        "Type": "Task",
                                        "Resource": (
                                            "arn:aws:states:::lambda:invoke.waitForTaskToken"
                                        ),
                                        "Parameters": {"token.$": "$$.Task.Token"},
                                        "End": True,
                                    }
                                },
                            },
                            "ResultPath": "$.reservations",
                            "End": True,
                        }
                    },
                },
            ],
            "ResultSelector": {"charge.$": "$[0]", "reservations.$": "$[1].reservations"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rejected"}],
            "Next": "Ship",
        },
        "Ship": {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": "https://example.com/ship", "Method": "POST"},
            "OutputPath": "$.ResponseBody",
            "Next": "Shipped",
        },
        "Shipped": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "OrderRejected", "CausePath": "$.error.Cause"},
    },
}

EVERY_OPERATOR: dict[str, Any] = machine(
    {
        "Route": {
            "Type": "Choice",
            "InputPath": "$",
            "Choices": [
                {"Variable": "$.s", "StringEquals": "a", "Next": "Done"},
                {"Variable": "$.s", "StringEqualsPath": "$.t", "Next": "Done"},
                {"Variable": "$.s", "StringLessThan": "b", "Next": "Done"},
                {"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t", "Next": "Done"},
                {"Variable": "$.s", "StringMatches": "log-*.txt", "Next": "Done"},
                {"Variable": "$.n", "NumericEquals": 1, "Next": "Done"},
                {"Variable": "$.n", "NumericLessThanEquals": 2.5, "Next": "Done"},
                {"Variable": "$.n", "NumericGreaterThanPath": "$.m", "Next": "Done"},
                {"Variable": "$.b", "BooleanEquals": True, "Next": "Done"},
                {"Variable": "$.b", "BooleanEqualsPath": "$$.Execution.Input.b", "Next": "Done"},
                {"Variable": "$.t", "TimestampEquals": "2016-03-14T01:59:00Z", "Next": "Done"},
                {
                    "Variable": "$.t",
                    "TimestampLessThan": "2016-03-14T01:59:00.123+02:00",
                    "Next": "Done",
                },
                {"Variable": "$.t", "TimestampGreaterThanPath": "$.u", "Next": "Done"},
                {"Variable": "$.x", "IsNull": False, "Next": "Done"},
                {"Variable": "$.x", "IsPresent": True, "Next": "Done"},
                {"Variable": "$.x", "IsNumeric": True, "Next": "Done"},
                {"Variable": "$.x", "IsString": True, "Next": "Done"},
                {"Variable": "$.x", "IsBoolean": True, "Next": "Done"},
                {"Variable": "$.x", "IsTimestamp": True, "Next": "Done"},
                {
                    "And": [
                        {"Variable": "$.n", "NumericGreaterThan": 0},
                        {
                            "Or": [
                                {"Variable": "$.s", "StringEquals": "x"},
                                {"Not": {"Variable": "$.b", "BooleanEquals": False}},
                            ]
                        },
                    ],
                    "Next": "Wait a bit",
                },
            ],
            "Default": "Wait until",
        },
        "Wait a bit": {"Type": "Wait", "Seconds": 0, "Next": "Wait until"},
        "Wait until": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "Next": "Wait path"},
        "Wait path": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Wait stamp"},
        "Wait stamp": {"Type": "Wait", "TimestampPath": "$.when", "Next": "Shape"},
        "Shape": {
            "Type": "Pass",
            "Result": {"x": 1},
            "ResultPath": "$.shape",
            "Parameters": {"list": [{"a.$": "$.x"}], "f.$": "States.Format('{}', $.s)"},
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "Iterator": {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": True}}},
            "MaxConcurrencyPath": "$.limit",
            "ToleratedFailureCountPath": "$.tolerated",
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Next": "Activity",
        },
        "Activity": task(
            Resource="arn:aws:states:us-east-1:123456789012:activity:approve",
            HeartbeatSecondsPath="$.beat",
            End=None,
            Next="Done",
        ),
        "Done": {"Type": "Succeed"},
    }
)
del EVERY_OPERATOR["States"]["Activity"]["End"]


@pytest.mark.parametrize(
    "definition",
    [
        SHOPPING_ORDER,
        EVERY_OPERATOR,
        one_state({"Type": "Pass", "End": True}),
        one_state({"Type": "Succeed", "Comment": "nothing to do"}),
        one_state({"Type": "Fail", "ErrorPath": "States.Format('E{}', $.code)", "Cause": "x"}),
        one_state(task(Resource=f"{LAMBDA}:7", Comment="version qualifier")),
    ],
    ids=["shopping-order", "every-operator", "pass", "succeed", "fail", "lambda-version"],
)
def test_valid_definitions_have_no_problems(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []
    assert validate_definition(json.dumps(definition)) == []
    assert check_definition(json.dumps(definition)) == definition


# --- Rendering. ---


def test_invalid_definition_renders_like_aws() -> None:
    definition = machine({"Hello": {"Type": "Pass"}, "Bar": {"Type": "Pass", "Next": "Foo"}})
    with pytest.raises(InvalidDefinition) as raised:
        check_definition(definition)
    assert str(raised.value) == (
        "Invalid State Machine Definition: '"
        'SCHEMA_VALIDATION_FAILED: The field "Next" is required at /States/Hello, '
        "MISSING_TRANSITION_TARGET: Missing 'Next' target: Foo at /States/Bar/Next, "
        'UNREACHABLE_STATE: State "Bar" is not reachable. at /States/Bar, '
        "NO_TERMINAL_STATE: No terminal state found in the state machine at /States'"
    )
    assert [p.code for p in raised.value.problems] == [
        "SCHEMA_VALIDATION_FAILED",
        "MISSING_TRANSITION_TARGET",
        "UNREACHABLE_STATE",
        "NO_TERMINAL_STATE",
    ]


def test_problem_renders_code_message_location() -> None:
    assert str(Problem("X", "message", "/States/A")) == "X: message at /States/A"


# --- 1. Document and top level. ---


@pytest.mark.parametrize("text", ["{", "{'StartAt': 1}", '{"a": NaN}', ""])
def test_bad_json(text: str) -> None:
    problem = only(text)
    assert (problem.code, problem.location) == ("INVALID_JSON_DESCRIPTION", "/")


def test_top_level_must_be_an_object() -> None:
    problem = only("[]")
    assert problem == Problem(
        "SCHEMA_VALIDATION_FAILED", "The state machine definition must be a JSON object", "/"
    )


def test_top_level_required_fields() -> None:
    assert validate_definition({}) == [
        Problem("SCHEMA_VALIDATION_FAILED", 'The field "StartAt" is required', "/"),
        Problem("SCHEMA_VALIDATION_FAILED", 'The field "States" is required', "/"),
    ]


def test_states_must_be_a_non_empty_object() -> None:
    problem = only({"StartAt": "A", "States": {}})
    assert problem.location == "/States"
    assert problem.message == 'The value for the field "States" must be a non-empty object'


def test_start_at_must_name_a_state() -> None:
    problem = only(machine({"A": {"Type": "Succeed"}}, start="B") | {})
    assert problem == Problem(
        "MISSING_TRANSITION_TARGET", "Missing 'StartAt' target: B", "/StartAt"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Version", "2.0", 'The value for the field "Version" must be "1.0"'),
        (
            "TimeoutSeconds",
            0,
            'The value for the field "TimeoutSeconds" must be a positive integer',
        ),
        ("TimeoutSeconds", True, 'The value for the field "TimeoutSeconds" must be a positive'),
        ("QueryLanguage", "XPath", 'The value for the field "QueryLanguage" must be one of'),
        ("QueryLanguage", "jsonata", 'The value for the field "QueryLanguage" must be one of'),
        ("Extra", 1, 'The field "Extra" is not supported by Step Functions'),
    ],
)
def test_top_level_optional_fields(field: str, value: Any, message: str) -> None:
    problem = only(one_state({"Type": "Succeed"}) | {field: value})
    assert problem.code == "SCHEMA_VALIDATION_FAILED"
    assert problem.location == f"/{field}"
    assert problem.message.startswith(message)


# --- 2. States, transitions, reachability. ---


def test_state_type() -> None:
    assert only(one_state({"Type": "Lambda"})).message.startswith(
        'The value for the field "Type" must be one of Task, Pass'
    )
    assert only(one_state({"End": True})) == Problem(
        "SCHEMA_VALIDATION_FAILED", 'The field "Type" is required', "/States/S"
    )


def test_state_name_length() -> None:
    name = "n" * 81
    problem = only(machine({name: {"Type": "Succeed"}}))
    assert problem.location == f"/States/{name}"
    assert "at most 80 characters" in problem.message
    assert validate_definition(machine({"n" * 80: {"Type": "Succeed"}})) == []


@pytest.mark.parametrize("kind", ["Pass", "Wait", "Parallel", "Map", "Task"])
def test_next_or_end_required(kind: str) -> None:
    state = copy.deepcopy(SHOPPING_ORDER)["States"]["Fulfil"] if kind == "Parallel" else {}
    problems = validate_definition(one_state({**state, "Type": kind, "Next": "S", "End": True}))
    assert (
        Problem(
            "SCHEMA_VALIDATION_FAILED",
            'The fields "Next" and "End" cannot both be set',
            "/States/S",
        )
        in problems
    )


def test_end_false_still_needs_next() -> None:
    problems = validate_definition(
        machine({"A": {"Type": "Pass", "End": False}, "B": {"Type": "Succeed"}})
    )
    assert Problem("SCHEMA_VALIDATION_FAILED", 'The field "Next" is required', "/States/A") in (
        problems
    )


@pytest.mark.parametrize("kind", ["Choice", "Succeed", "Fail"])
def test_no_next_or_end_on_choice_succeed_fail(kind: str) -> None:
    state: dict[str, Any] = {"Type": kind, "Next": "Z", "End": True}
    if kind == "Choice":
        state["Choices"] = [{"Variable": "$.x", "IsNull": True, "Next": "Z"}]
    problems = validate_definition(machine({"S": state, "Z": {"Type": "Succeed"}}))
    # Z is unreachable from Succeed and Fail, whose Next is not a transition.
    assert [(p.message, p.location) for p in problems if p.code != "UNREACHABLE_STATE"] == [
        ('The field "Next" is not supported by Step Functions', "/States/S/Next"),
        ('The field "End" is not supported by Step Functions', "/States/S/End"),
    ]


def test_missing_targets_everywhere() -> None:
    definition = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Nowhere"}],
                "Default": "Gone",
            },
            "T": task(End=None, Next="Lost", Catch=[{"ErrorEquals": ["E"], "Next": "Absent"}]),
        }
    )
    del definition["States"]["T"]["End"]
    problems = [p for p in validate_definition(definition) if p.code != "UNREACHABLE_STATE"]
    assert [(p.code, p.message, p.location) for p in problems] == [
        ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nowhere", "/States/C/Choices/0/Next"),
        ("MISSING_TRANSITION_TARGET", "Missing 'Default' target: Gone", "/States/C/Default"),
        ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: Lost", "/States/T/Next"),
        ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: Absent", "/States/T/Catch/0/Next"),
        ("NO_TERMINAL_STATE", "No terminal state found in the state machine", "/States"),
    ]


def test_unreachable_states() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Succeed"},
            "Island": {"Type": "Pass", "Next": "Island too"},
            "Island too": {"Type": "Pass", "Next": "Island"},
        }
    )
    assert validate_definition(definition) == [
        Problem("UNREACHABLE_STATE", 'State "Island" is not reachable.', "/States/Island"),
        Problem("UNREACHABLE_STATE", 'State "Island too" is not reachable.', "/States/Island too"),
    ]


def test_catch_and_default_make_states_reachable() -> None:
    definition = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "T"}],
                "Default": "D",
            },
            "T": task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "F"}]),
            "D": {"Type": "Succeed"},
            "F": {"Type": "Fail"},
        }
    )
    assert validate_definition(definition) == []


def test_no_terminal_state() -> None:
    definition = machine(
        {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}
    )
    assert only(definition) == Problem(
        "NO_TERMINAL_STATE", "No terminal state found in the state machine", "/States"
    )


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Pass", "Resource"),
        ("Wait", "Resource"),
        ("Task", "Seconds"),
        ("Pass", "Branches"),
        ("Task", "Choices"),
        ("Succeed", "ResultPath"),
        ("Pass", "Retry"),
        ("Wait", "Parameters"),
        ("Pass", "Bogus"),
    ],
)
def test_fields_per_state_type(kind: str, field: str) -> None:
    state: dict[str, Any] = {"Type": kind, field: None}
    if kind in ("Pass", "Wait", "Task"):
        state["End"] = True
    if kind == "Wait":
        state["Seconds"] = 1
    if kind == "Task":
        state["Resource"] = LAMBDA
    problems = validate_definition(one_state(state))
    assert problems[0] == Problem(
        "SCHEMA_VALIDATION_FAILED",
        f'The field "{field}" is not supported by Step Functions',
        f"/States/S/{field}",
    )


def test_credentials_are_not_supported_yet() -> None:
    problem = only(one_state(task(Credentials={"RoleArn": "arn:aws:iam::1:role/r"})))
    assert problem == Problem(
        "SCHEMA_VALIDATION_FAILED",
        'The field "Credentials" (cross-account tasks) is not supported yet',
        "/States/S/Credentials",
    )


def test_state_query_language_jsonata_accepted() -> None:
    assert validate_definition(one_state({"Type": "Succeed", "QueryLanguage": "JSONata"})) == []


# --- 3. Paths and payload templates. ---


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("InputPath", "$.a["),
        ("InputPath", "a.b"),
        ("OutputPath", 5),
        ("ResultPath", "$.items[*]"),
        ("ResultPath", "$$.Execution"),
        ("ResultPath", "$..x"),
    ],
)
def test_bad_paths(field: str, value: Any) -> None:
    problem = only(one_state({"Type": "Pass", "End": True, field: value}))
    assert problem.code == "SCHEMA_VALIDATION_FAILED"
    assert problem.location == f"/States/S/{field}"
    assert problem.message.startswith(f'The value for the field "{field}" must be')


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath"])
def test_null_paths_allowed(field: str) -> None:
    assert validate_definition(one_state({"Type": "Pass", "End": True, field: None})) == []


def test_items_path_must_be_a_reference_path() -> None:
    definition = copy.deepcopy(EVERY_OPERATOR)
    definition["States"]["Each"]["ItemsPath"] = "$.items[?(@.a)]"
    problem = only(definition)
    assert problem.location == "/States/Each/ItemsPath"
    assert "reference path" in problem.message


@pytest.mark.parametrize(
    ("template", "location"),
    [
        ({"a.$": "$.x["}, "/States/S/Parameters/a.$"),
        ({"a": {"b.$": "States.Nope(1)"}}, "/States/S/Parameters/a/b.$"),
        ({"a": [{"b/c.$": "States.Format()"}]}, "/States/S/Parameters/a/0/b~1c.$"),
        ({"a.$": 7}, "/States/S/Parameters/a.$"),
        ({"a.$": "plain text"}, "/States/S/Parameters/a.$"),
    ],
)
def test_payload_template_expressions(template: dict[str, Any], location: str) -> None:
    problem = only(one_state({"Type": "Pass", "End": True, "Parameters": template}))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)


@pytest.mark.parametrize("field", ["ResultSelector", "ItemSelector"])
def test_result_and_item_selectors_checked(field: str) -> None:
    definition = copy.deepcopy(EVERY_OPERATOR)
    definition["States"]["Each"][field] = {"bad.$": "$["}
    problem = only(definition)
    assert problem.location == f"/States/Each/{field}/bad.$"
    assert "valid JSONPath or a valid intrinsic function call" in problem.message


# --- 4. Task. ---


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::sqs:sendMessage",
        "arn:aws:states:::lambda:invoke.sync",
        "arn:aws:lambda:us-east-1:123:function:short-account",
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:states:us-east-1:123456789012:activity:",
        "https://example.com",
    ],
)
def test_invalid_resource(resource: str) -> None:
    problem = only(one_state(task(Resource=resource)))
    assert problem.code == "INVALID_RESOURCE"
    assert problem.location == "/States/S/Resource"
    assert f"The resource provided {resource} is not recognized" in problem.message


@pytest.mark.parametrize(
    "resource",
    [
        LAMBDA,
        f"{LAMBDA}:$LATEST",
        f"{LAMBDA}:prod",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::http:invoke",
        "arn:aws:states:eu-west-2:123456789012:activity:Approve-1",
    ],
)
def test_valid_resources(resource: str) -> None:
    assert validate_definition(one_state(task(Resource=resource))) == []


def test_task_resource_required_and_string() -> None:
    state = task()
    del state["Resource"]
    assert only(one_state(state)) == Problem(
        "SCHEMA_VALIDATION_FAILED", 'The field "Resource" is required', "/States/S"
    )
    assert only(one_state(task(Resource=7))).location == "/States/S/Resource"


@pytest.mark.parametrize(
    ("fields", "location", "message"),
    [
        ({"TimeoutSeconds": 0}, "/States/S/TimeoutSeconds", "must be a positive integer"),
        ({"HeartbeatSeconds": 1.5}, "/States/S/HeartbeatSeconds", "must be a positive integer"),
        (
            {"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"},
            "/States/S",
            'Only one of the fields "TimeoutSeconds", "TimeoutSecondsPath" may be set',
        ),
        (
            {"HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.t"},
            "/States/S",
            'Only one of the fields "HeartbeatSeconds", "HeartbeatSecondsPath" may be set',
        ),
        (
            {"TimeoutSeconds": 5, "HeartbeatSeconds": 5},
            "/States/S/HeartbeatSeconds",
            "must be smaller than",
        ),
        ({"TimeoutSecondsPath": "$.a[*]"}, "/States/S/TimeoutSecondsPath", "reference path"),
    ],
)
def test_task_timeouts(fields: dict[str, Any], location: str, message: str) -> None:
    problem = only(one_state(task(**fields)))
    assert problem.location == location
    assert message in problem.message


# --- 5. Wait. ---


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({}, "/States/S"),
        ({"Seconds": 1, "SecondsPath": "$.s"}, "/States/S"),
        ({"Timestamp": "2016-03-14T01:59:00Z", "TimestampPath": "$.t"}, "/States/S"),
        ({"Seconds": -1}, "/States/S/Seconds"),
        ({"Seconds": "10"}, "/States/S/Seconds"),
        ({"Timestamp": "2016-03-14 01:59:00Z"}, "/States/S/Timestamp"),
        ({"Timestamp": "2016-02-30T01:59:00Z"}, "/States/S/Timestamp"),
        ({"Timestamp": "2016-03-14T01:59:00"}, "/States/S/Timestamp"),
        ({"SecondsPath": "seconds"}, "/States/S/SecondsPath"),
    ],
)
def test_wait(fields: dict[str, Any], location: str) -> None:
    problem = only(one_state({"Type": "Wait", "End": True, **fields}))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2016-03-14T01:59:00Z", True),
        ("2016-03-14T01:59:00.123456789Z", True),
        ("2016-03-14T01:59:00-05:30", True),
        ("2016-03-14t01:59:00z", False),
        ("2016-13-14T01:59:00Z", False),
        ("2016-03-14T25:59:00Z", False),
        ("2016-03-14", False),
    ],
)
def test_is_timestamp(text: str, valid: bool) -> None:
    assert is_timestamp(text) is valid


# --- 6. Fail. ---


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"Error": "E", "ErrorPath": "$.e"}, "/States/S"),
        ({"Cause": "C", "CausePath": "$.c"}, "/States/S"),
        ({"Error": 5}, "/States/S/Error"),
        ({"CausePath": "$.a[*]"}, "/States/S/CausePath"),
        ({"ErrorPath": "States.Unknown()"}, "/States/S/ErrorPath"),
    ],
)
def test_fail(fields: dict[str, Any], location: str) -> None:
    problem = only(one_state({"Type": "Fail", **fields}))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)


# --- 7. Choice. ---


def choice(*rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return machine(
        {"C": {"Type": "Choice", "Choices": list(rules), **fields}, "Z": {"Type": "Succeed"}}
    )


def test_choices_required_and_non_empty() -> None:
    problems = validate_definition(choice(Default="Z"))
    assert problems == [
        Problem(
            "SCHEMA_VALIDATION_FAILED",
            'The value for the field "Choices" must be a non-empty array',
            "/States/C/Choices",
        )
    ]


@pytest.mark.parametrize(
    ("rule", "location", "message"),
    [
        (
            {"Variable": "$.x", "Next": "Z"},
            "/States/C/Choices/0",
            "A choice rule must have exactly one comparison operator",
        ),
        (
            {"Variable": "$.x", "IsNull": True, "IsString": True, "Next": "Z"},
            "/States/C/Choices/0",
            '(found: "IsNull", "IsString")',
        ),
        ({"IsNull": True, "Next": "Z"}, "/States/C/Choices/0", 'The field "Variable" is required'),
        ({"Variable": "$.x[", "IsNull": True, "Next": "Z"}, "/States/C/Choices/0/Variable", ""),
        (
            {"Variable": "$.x", "IsNull": True},
            "/States/C/Choices/0",
            'The field "Next" is required',
        ),
        (
            {"Variable": "$.x", "StringEquals": 1, "Next": "Z"},
            "/States/C/Choices/0/StringEquals",
            "must be a string",
        ),
        (
            {"Variable": "$.x", "NumericEquals": "1", "Next": "Z"},
            "/States/C/Choices/0/NumericEquals",
            "must be a number",
        ),
        (
            {"Variable": "$.x", "NumericLessThan": True, "Next": "Z"},
            "/States/C/Choices/0/NumericLessThan",
            "must be a number",
        ),
        (
            {"Variable": "$.x", "BooleanEquals": "true", "Next": "Z"},
            "/States/C/Choices/0/BooleanEquals",
            "must be a boolean",
        ),
        (
            {"Variable": "$.x", "TimestampEquals": "yesterday", "Next": "Z"},
            "/States/C/Choices/0/TimestampEquals",
            "must be an RFC 3339 timestamp",
        ),
        (
            {"Variable": "$.x", "IsPresent": 1, "Next": "Z"},
            "/States/C/Choices/0/IsPresent",
            "must be a boolean",
        ),
        (
            {"Variable": "$.x", "StringEqualsPath": "x", "Next": "Z"},
            "/States/C/Choices/0/StringEqualsPath",
            "must be a valid JSONPath",
        ),
        ({"And": [], "Next": "Z"}, "/States/C/Choices/0/And", "must be a non-empty array"),
        ({"Or": {}, "Next": "Z"}, "/States/C/Choices/0/Or", "must be a non-empty array"),
        (
            {"Not": {"Variable": "$.x", "IsNull": True, "Next": "Z"}, "Next": "Z"},
            "/States/C/Choices/0/Not/Next",
            'The field "Next" is not supported in a nested choice rule',
        ),
        (
            {"And": [{"Variable": "$.x", "IsNull": "yes"}], "Next": "Z"},
            "/States/C/Choices/0/And/0/IsNull",
            "must be a boolean",
        ),
        (
            {"Variable": "$.x", "Not": {"Variable": "$.x", "IsNull": True}, "Next": "Z"},
            "/States/C/Choices/0/Variable",
            'The field "Variable" is not supported with "Not"',
        ),
        ("rule", "/States/C/Choices/0", "A choice rule must be a JSON object"),
    ],
)
def test_choice_rules(rule: Any, location: str, message: str) -> None:
    problem = only(choice(rule, Default="Z"))
    assert problem.code == "SCHEMA_VALIDATION_FAILED"
    assert problem.location == location
    assert message in problem.message


def test_unknown_operator_is_named() -> None:
    rule = {"Variable": "$.x", "StringMatchesPath": "$.y", "Next": "Z"}
    assert [p.message for p in validate_definition(choice(rule, Default="Z"))] == [
        'The field "StringMatchesPath" is not supported by Step Functions',
        "A choice rule must have exactly one comparison operator or one of "
        '"And", "Or", "Not" (found: none)',
    ]


# --- 8. Retry and Catch. ---


@pytest.mark.parametrize(
    ("retry", "location", "message"),
    [
        ([{}], "/States/S/Retry/0", 'The field "ErrorEquals" is required'),
        ([{"ErrorEquals": []}], "/States/S/Retry/0/ErrorEquals", "non-empty array"),
        ([{"ErrorEquals": [1]}], "/States/S/Retry/0/ErrorEquals", "non-empty array"),
        (
            [{"ErrorEquals": ["States.ALL", "E"]}],
            "/States/S/Retry/0/ErrorEquals",
            "must appear alone",
        ),
        (
            [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}],
            "/States/S/Retry/0/ErrorEquals",
            "must be the last one",
        ),
        ([{"ErrorEquals": ["E"], "IntervalSeconds": 0}], "/States/S/Retry/0/IntervalSeconds", ""),
        ([{"ErrorEquals": ["E"], "MaxAttempts": -1}], "/States/S/Retry/0/MaxAttempts", ""),
        ([{"ErrorEquals": ["E"], "BackoffRate": 0.5}], "/States/S/Retry/0/BackoffRate", ""),
        ([{"ErrorEquals": ["E"], "MaxDelaySeconds": 0}], "/States/S/Retry/0/MaxDelaySeconds", ""),
        (
            [{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}],
            "/States/S/Retry/0/JitterStrategy",
            "",
        ),
        ([{"ErrorEquals": ["E"], "Next": "S"}], "/States/S/Retry/0/Next", "not supported"),
        ({"ErrorEquals": ["E"]}, "/States/S/Retry", "must be an array"),
    ],
)
def test_retry(retry: Any, location: str, message: str) -> None:
    problem = only(one_state(task(Retry=retry)))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)
    assert message in problem.message


@pytest.mark.parametrize(
    ("catch", "location", "message"),
    [
        ([{"ErrorEquals": ["E"]}], "/States/S/Catch/0", 'The field "Next" is required'),
        ([{"Next": "S"}], "/States/S/Catch/0", 'The field "ErrorEquals" is required'),
        (
            [{"ErrorEquals": ["E"], "Next": "S", "ResultPath": "$.a[*]"}],
            "/States/S/Catch/0/ResultPath",
            "reference path",
        ),
        (
            [{"ErrorEquals": ["States.ALL"], "Next": "S"}, {"ErrorEquals": ["E"], "Next": "S"}],
            "/States/S/Catch/0/ErrorEquals",
            "must be the last one",
        ),
        (
            [{"ErrorEquals": ["E"], "Next": "S", "MaxAttempts": 1}],
            "/States/S/Catch/0/MaxAttempts",
            "",
        ),
    ],
)
def test_catch(catch: Any, location: str, message: str) -> None:
    problem = only(one_state(task(Catch=catch)))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)
    assert message in problem.message


# --- 9. Parallel and Map. ---


def parallel(*branches: Any) -> dict[str, Any]:
    return one_state({"Type": "Parallel", "Branches": list(branches), "End": True})


def test_parallel_branches_required() -> None:
    assert only(parallel()).location == "/States/S/Branches"
    state = {"Type": "Parallel", "End": True}
    assert only(one_state(state)) == Problem(
        "SCHEMA_VALIDATION_FAILED", 'The field "Branches" is required', "/States/S"
    )


def test_parallel_branches_are_nested_machines() -> None:
    good = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    bad = {
        "StartAt": "B",
        "States": {"B": {"Type": "Pass", "Next": "S"}, "C": {"Type": "Pass"}},
        "TimeoutSeconds": 5,
    }
    assert codes(parallel(good, bad, "branch")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Branches/1/TimeoutSeconds"),
        # A branch may not transition to a state outside it.
        ("MISSING_TRANSITION_TARGET", "/States/S/Branches/1/States/B/Next"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Branches/1/States/C"),
        ("UNREACHABLE_STATE", "/States/S/Branches/1/States/C"),
        ("NO_TERMINAL_STATE", "/States/S/Branches/1/States"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Branches/2"),
    ]


def map_state(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}
    return one_state({"Type": "Map", "ItemProcessor": processor, "End": True, **fields})


def test_map_processor_is_a_nested_machine() -> None:
    definition = map_state()
    definition["States"]["S"]["ItemProcessor"]["States"]["I"]["Next"] = "S"
    assert codes(definition) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/ItemProcessor/States/I"),
        ("MISSING_TRANSITION_TARGET", "/States/S/ItemProcessor/States/I/Next"),
    ]
    iterator = one_state(
        {
            "Type": "Map",
            "Iterator": {"StartAt": "X", "States": {"X": {"Type": "Pass"}}},
            "End": True,
        }
    )
    assert codes(iterator) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Iterator/States/X"),
        ("NO_TERMINAL_STATE", "/States/S/Iterator/States"),
    ]


def test_map_needs_a_processor() -> None:
    assert only(one_state({"Type": "Map", "End": True})) == Problem(
        "SCHEMA_VALIDATION_FAILED", 'The field "ItemProcessor" is required', "/States/S"
    )


@pytest.mark.parametrize(
    ("fields", "location", "message"),
    [
        ({"ItemReader": {}}, "/States/S/ItemReader", "distributed Map"),
        ({"ResultWriter": {}}, "/States/S/ResultWriter", "distributed Map"),
        ({"MaxConcurrency": -1}, "/States/S/MaxConcurrency", "non-negative integer"),
        ({"MaxConcurrency": 1, "MaxConcurrencyPath": "$.m"}, "/States/S", "Only one"),
        ({"ToleratedFailureCount": -1}, "/States/S/ToleratedFailureCount", "non-negative"),
        ({"ToleratedFailurePercentage": 101}, "/States/S/ToleratedFailurePercentage", "0 to 100"),
        ({"ToleratedFailurePercentagePath": "x"}, "/States/S/ToleratedFailurePercentagePath", ""),
        ({"ItemSelector": {}, "Parameters": {}}, "/States/S", "Only one"),
        ({"ItemBatcher": 5}, "/States/S/ItemBatcher", "must be an object"),
        ({"Iterator": {}}, "/States/S", "Only one"),
    ],
)
def test_map_fields(fields: dict[str, Any], location: str, message: str) -> None:
    problem = only(map_state(**fields))
    assert (problem.code, problem.location) == ("SCHEMA_VALIDATION_FAILED", location)
    assert message in problem.message


def test_distributed_map_refused() -> None:
    definition = map_state()
    definition["States"]["S"]["ItemProcessor"]["ProcessorConfig"] = {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    problem = only(definition)
    assert problem.location == "/States/S/ItemProcessor/ProcessorConfig/Mode"
    assert "Distributed Map" in problem.message and "not supported yet" in problem.message


# --- 10. Duplicate state names. ---


def test_duplicate_names_across_branches() -> None:
    definition = one_state(
        {
            "Type": "Parallel",
            "Branches": [{"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}],
            "End": True,
        }
    )
    assert only(definition) == Problem(
        "DUPLICATE_STATE_NAME", "Duplicate State name: S", "/States/S/Branches/0/States/S"
    )


def test_duplicate_names_in_one_states_object() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}'
    assert only(text) == Problem("DUPLICATE_STATE_NAME", "Duplicate State name: A", "/States/A")


def test_duplicate_fields_in_a_state() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed", "Type": "Succeed"}}}'
    assert only(text) == Problem(
        "SCHEMA_VALIDATION_FAILED", 'The field "Type" appears more than once', "/States/A/Type"
    )


# --- Several problems at once. ---


def test_every_problem_is_reported() -> None:
    definition = {
        "StartAt": "Start",
        "Bogus": True,
        "States": {
            "Start": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": -5, "Next": "Missing"},
            "Orphan": {"Type": "Succeed"},
        },
    }
    problems = validate_definition(definition)
    assert [(p.code, p.location) for p in problems] == [
        ("SCHEMA_VALIDATION_FAILED", "/Bogus"),
        ("INVALID_RESOURCE", "/States/Start/Resource"),
        ("SCHEMA_VALIDATION_FAILED", "/States/W/Seconds"),
        ("MISSING_TRANSITION_TARGET", "/States/W/Next"),
        ("UNREACHABLE_STATE", "/States/Orphan"),
    ]
    with pytest.raises(InvalidDefinition) as raised:
        check_definition(json.dumps(definition))
    assert raised.value.problems == problems
    assert str(raised.value).count(", ") >= len(problems) - 1


# --- 11. JSONata and variables. ---

INVOKE = "arn:aws:states:::lambda:invoke"
# AWS's wording, as ValidateStateMachineDefinition reports it (third-party measurement).
JSONPATH_ONLY = (
    "The QueryLanguage is set to 'JSONata', but field '{}' is only supported for the "
    "'JSONPath' QueryLanguage"
)
JSONATA_ONLY = (
    "The QueryLanguage is set to 'JSONPath', but field '{}' is only supported for the "
    "'JSONata' QueryLanguage"
)


def jsonata(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    """A definition whose top-level QueryLanguage is JSONata."""
    return machine(states, start, QueryLanguage="JSONata")


def one_jsonata(state: dict[str, Any]) -> dict[str, Any]:
    """A JSONata machine of one state (and a Succeed named Z for a Choice to route to)."""
    states = {"S": state}
    if state.get("Type") == "Choice":
        states["Z"] = {"Type": "Succeed"}
    return jsonata(states)


def processor(state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"StartAt": "I", "States": {"I": state or {"Type": "Pass", "End": True}}}


# A price-watching workflow in the style of the developer guide's JSONata examples: variables
# stored by Assign, a Choice on them, Wait on an expression, a Map over an expression, a catcher
# reading $states.errorOutput, and a Fail whose error is an expression.
PRICE_WATCH: dict[str, Any] = jsonata(
    {
        "Store inputs": {
            "Type": "Pass",
            "Assign": {
                "desiredPrice": "{% $states.input.desired_price %}",
                "maximumWait": "{% $states.input.max_days %}",
            },
            "Next": "Get current price",
        },
        "Get current price": {
            "Type": "Task",
            "Resource": INVOKE,
            "Arguments": {
                "FunctionName": LAMBDA,
                "Payload": {"product": "{% $states.context.Execution.Input.product %}"},
            },
            "Assign": {"currentPrice": "{% $states.result.Payload.current_price %}"},
            "Output": "{% $states.result.Payload %}",
            "TimeoutSeconds": "{% $maximumWait * 60 %}",
            "HeartbeatSeconds": 30,
            "Retry": [{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 1}],
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"failure": "{% $states.errorOutput %}"},
                    "Output": "{% $states.errorOutput.Cause %}",
                    "Next": "Give up",
                }
            ],
            "Next": "Check price",
        },
        "Check price": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $currentPrice <= $desiredPrice %}",
                    "Assign": {"found": True},
                    "Output": {"price": "{% $currentPrice %}"},
                    "Next": "Notify",
                },
                {"Condition": False, "Next": "Give up"},
            ],
            "Default": "Pause",
            "Assign": {"found": False},
            "Output": "{% $states.input %}",
        },
        "Pause": {"Type": "Wait", "Seconds": "{% $maximumWait %}", "Next": "Until"},
        "Until": {
            "Type": "Wait",
            "Timestamp": "{% $states.input.when %}",
            "Assign": {"waited": True},
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemSelector": {"item": "{% $states.context.Map.Item.Value %}", "fixed": 1},
            "MaxConcurrency": "{% $count($states.input.items) %}",
            "ToleratedFailureCount": 2,
            "ToleratedFailurePercentage": "{% 10 %}",
            "ItemBatcher": {"MaxItemsPerBatch": "{% 5 %}"},
            "ItemProcessor": processor(
                {"Type": "Pass", "Output": "{% $states.input.item %}", "End": True}
            ),
            "Output": "{% $states.result %}",
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Arguments": {"customer": "{% $states.input.customer %}"},
            "Branches": [
                {
                    "StartAt": "Greet",
                    "States": {
                        "Greet": {
                            "Type": "Succeed",
                            "Output": {
                                "lastName": "{% 'Last=>' & $states.input.customer.lastName %}"
                            },
                        }
                    },
                }
            ],
            "Assign": {"greeting": "{% $states.result[0] %}"},
            "Next": "Notify",
        },
        "Notify": {
            "Type": "Succeed",
            "Output": {"dietProducts": "{% $states.input.products[calories=0] %}"},
        },
        "Give up": {"Type": "Fail", "Error": "{% $failure.Error %}", "Cause": "Price not found"},
    }
)

# JSONPath states that read variables, and a JSONata state inside a JSONPath machine (the guide:
# "you can incrementally adopt JSONata in an existing state machine").
MIXED: dict[str, Any] = machine(
    {
        "Remember": {
            "Type": "Pass",
            "Assign": {
                "customerName.$": "$.name",
                "details": {"status": "SUCCESS", "lineItems.$": "$.order.items"},
                "startTime.$": "$$.Execution.StartTime",
                "count.$": "States.ArrayLength($.order.items)",
            },
            "Next": "Call",
        },
        "Call": {
            "Type": "Task",
            "Resource": INVOKE,
            "InputPath": "$details",
            "Parameters": {
                "static": "Hello",
                "title.$": "$.title",
                "name.$": "$customerName",
                "message.$": "States.Format('Order for {}', $customerName)",
                "not-evaluated": "$customerName",
            },
            "TimeoutSecondsPath": "$limits.timeout",
            "ResultPath": "$.result",
            "Assign": {"code.$": "$.result.code"},
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error"}, "Next": "Done"}
            ],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$customerName",
                    "StringEqualsPath": "$details.status",
                    "Assign": {"routed": True},
                    "Next": "Modern",
                }
            ],
            "Default": "Modern",
        },
        "Modern": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {"name": "{% $customerName %}"},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    }
)


@pytest.mark.parametrize("definition", [PRICE_WATCH, MIXED], ids=["jsonata", "mixed"])
def test_valid_jsonata_and_variable_definitions(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []
    assert validate_definition(json.dumps(definition)) == []


def test_jsonata_machine_cannot_have_a_jsonpath_state() -> None:
    definition = jsonata(
        {"S": {"Type": "Pass", "QueryLanguage": "JSONPath", "Parameters": {"a": 1}, "End": True}}
    )
    # The refused language is the whole answer: Parameters is not reported on top of it.
    assert only(definition) == Problem(
        "SCHEMA_VALIDATION_FAILED",
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        "/States/S/QueryLanguage",
    )


def test_nested_states_inherit_the_top_level_language() -> None:
    # A JSONata Parallel in a JSONPath machine does not make its branch states JSONata.
    branch = {"StartAt": "B", "States": {"B": {"Type": "Succeed", "Output": {"a": 1}}}}
    definition = one_state(
        {"Type": "Parallel", "QueryLanguage": "JSONata", "Branches": [branch], "End": True}
    )
    assert only(definition) == Problem(
        "SCHEMA_VALIDATION_FAILED",
        JSONATA_ONLY.format("Output"),
        "/States/S/Branches/0/States/B/Output",
    )
    # ...and a JSONata machine's Map processor states are JSONata.
    inner = one_jsonata(
        {
            "Type": "Map",
            "ItemProcessor": processor({"Type": "Pass", "InputPath": "$.a", "End": True}),
            "End": True,
        }
    )
    assert only(inner).message == JSONPATH_ONLY.format("InputPath")


def test_processor_cannot_declare_a_query_language() -> None:
    state = {"Type": "Map", "ItemProcessor": processor() | {"QueryLanguage": "JSONata"}}
    problem = only(one_jsonata(state | {"End": True}))
    assert problem.location == "/States/S/ItemProcessor/QueryLanguage"
    assert problem.message == 'The field "QueryLanguage" is not supported by Step Functions'


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("Task", "InputPath", "$.a"),
        ("Task", "OutputPath", "$.a"),
        ("Task", "Parameters", {}),
        ("Task", "ResultSelector", {}),
        ("Task", "ResultPath", "$.a"),
        ("Task", "TimeoutSecondsPath", "$.t"),
        ("Task", "HeartbeatSecondsPath", "$.t"),
        ("Pass", "Result", {"a": 1}),
        ("Pass", "Parameters", {}),
        ("Choice", "InputPath", "$.a"),
        ("Wait", "SecondsPath", "$.s"),
        ("Wait", "TimestampPath", "$.t"),
        ("Succeed", "OutputPath", "$.a"),
        ("Fail", "ErrorPath", "$.e"),
        ("Fail", "CausePath", "$.c"),
        ("Parallel", "ResultPath", "$.r"),
        ("Map", "ItemsPath", "$.items"),
        ("Map", "MaxConcurrencyPath", "$.m"),
        ("Map", "ToleratedFailureCountPath", "$.t"),
        ("Map", "ToleratedFailurePercentagePath", "$.t"),
    ],
)
def test_jsonpath_only_fields_refused_in_jsonata_states(kind: str, field: str, value: Any) -> None:
    state = base_state(kind) | {field: value}
    if field in ("SecondsPath", "TimestampPath"):
        del state["Seconds"]  # A Wait takes exactly one of them.
    assert only(one_jsonata(state)) == Problem(
        "SCHEMA_VALIDATION_FAILED", JSONPATH_ONLY.format(field), f"/States/S/{field}"
    )


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Task", "Arguments"),
        ("Task", "Output"),
        ("Pass", "Output"),
        ("Wait", "Output"),
        ("Succeed", "Output"),
        ("Parallel", "Arguments"),
        ("Map", "Items"),
    ],
)
def test_jsonata_only_fields_refused_in_jsonpath_states(kind: str, field: str) -> None:
    state = base_state(kind) | {field: [1]}
    assert only(one_state(state)) == Problem(
        "SCHEMA_VALIDATION_FAILED", JSONATA_ONLY.format(field), f"/States/S/{field}"
    )


def base_state(kind: str) -> dict[str, Any]:
    """A minimal valid state of each type (a Choice routes to a Succeed named Z)."""
    return {
        "Task": task(),
        "Pass": {"Type": "Pass", "End": True},
        "Choice": {"Type": "Choice", "Choices": [{"Condition": True, "Next": "Z"}]},
        "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
        "Succeed": {"Type": "Succeed"},
        "Fail": {"Type": "Fail"},
        "Parallel": {"Type": "Parallel", "Branches": [processor()], "End": True},
        "Map": {"Type": "Map", "ItemProcessor": processor(), "End": True},
    }[kind]


@pytest.mark.parametrize("field", ["Output", "Arguments", "Assign"])
def test_fields_no_language_allows_on_fail(field: str) -> None:
    problem = only(one_jsonata({"Type": "Fail", field: {}}))
    assert problem.message == f'The field "{field}" is not supported by Step Functions'


@pytest.mark.parametrize(
    ("rule", "location", "message"),
    [
        (
            {"Variable": "$.x", "Condition": True, "Next": "Z"},
            "/States/C/Choices/0/Variable",
            JSONPATH_ONLY.format("Variable"),
        ),
        (
            {"And": [{"Variable": "$.x", "IsNull": True}], "Condition": True, "Next": "Z"},
            "/States/C/Choices/0/And",
            JSONPATH_ONLY.format("And"),
        ),
        ({"Next": "Z"}, "/States/C/Choices/0", 'The field "Condition" is required'),
        ({"Condition": True}, "/States/C/Choices/0", 'The field "Next" is required'),
        (
            {"Condition": "$x > 1", "Next": "Z"},
            "/States/C/Choices/0/Condition",
            'The value for the field "Condition" must be a boolean or a JSONata expression',
        ),
        (
            {"Condition": True, "Assign": [], "Next": "Z"},
            "/States/C/Choices/0/Assign",
            'The value for the field "Assign" must be an object',
        ),
    ],
)
def test_jsonata_choice_rules(rule: dict[str, Any], location: str, message: str) -> None:
    definition = jsonata(
        {"C": {"Type": "Choice", "Choices": [rule], "Default": "Z"}, "Z": {"Type": "Succeed"}}
    )
    assert only(definition) == Problem("SCHEMA_VALIDATION_FAILED", message, location)


@pytest.mark.parametrize("field", ["Condition", "Output"])
def test_jsonata_rule_fields_refused_in_jsonpath_rules(field: str) -> None:
    rule = {"Variable": "$.x", "IsNull": True, field: True, "Next": "Z"}
    problem = only(choice(rule, Default="Z"))
    assert (problem.message, problem.location) == (
        JSONATA_ONLY.format(field),
        f"/States/C/Choices/0/{field}",
    )


def test_assign_only_on_top_level_jsonpath_rules() -> None:
    nested = {"Not": {"Variable": "$.x", "IsNull": True, "Assign": {"a": 1}}, "Next": "Z"}
    assert only(choice(nested, Default="Z")).location == "/States/C/Choices/0/Not/Assign"


@pytest.mark.parametrize(
    ("language", "catcher", "location", "message"),
    [
        (
            "JSONata",
            {"ResultPath": "$.error"},
            "/States/S/Catch/0/ResultPath",
            JSONPATH_ONLY.format("ResultPath"),
        ),
        (
            "JSONPath",
            {"Output": "{% $states.errorOutput %}"},
            "/States/S/Catch/0/Output",
            JSONATA_ONLY.format("Output"),
        ),
        (
            "JSONPath",
            {"ResultPath": "$error"},
            "/States/S/Catch/0/ResultPath",
            "The value for the field \"ResultPath\" must be a valid reference path: '$error' "
            "may not read a variable",
        ),
    ],
)
def test_catcher_fields_follow_the_language(
    language: str, catcher: dict[str, Any], location: str, message: str
) -> None:
    state = task(
        QueryLanguage=language, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "S", **catcher}]
    )
    assert only(one_state(state)) == Problem("SCHEMA_VALIDATION_FAILED", message, location)


def test_result_path_cannot_read_a_variable() -> None:
    problem = only(one_state({"Type": "Pass", "ResultPath": "$x.y", "End": True}))
    assert problem.location == "/States/S/ResultPath"
    assert problem.message.endswith("'$x.y' may not read a variable")


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "InputPath": "$order", "OutputPath": "$order.lines[0]", "End": True},
        {"Type": "Pass", "Parameters": {"n.$": "$order.number"}, "End": True},
        {"Type": "Wait", "SecondsPath": "$delay", "End": True},
        {"Type": "Fail", "ErrorPath": "$failure.Error", "CausePath": "States.Format('{}', $c)"},
        task(TimeoutSecondsPath="$limits.timeout"),
        {
            "Type": "Map",
            "ItemsPath": "$batch",
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "w.$": "$weight"},
            "ItemProcessor": processor(),
            "End": True,
        },
    ],
)
def test_jsonpath_fields_may_read_variables(state: dict[str, Any]) -> None:
    assert validate_definition(one_state(state)) == []


@pytest.mark.parametrize(
    ("state", "location", "message"),
    [
        (
            task(TimeoutSeconds="60"),
            "/States/S/TimeoutSeconds",
            'The value for the field "TimeoutSeconds" must be a positive integer or a JSONata '
            "expression",
        ),
        (
            task(HeartbeatSeconds=0),
            "/States/S/HeartbeatSeconds",
            'The value for the field "HeartbeatSeconds" must be a positive integer or a JSONata '
            "expression",
        ),
        (
            {"Type": "Wait", "Seconds": -1, "End": True},
            "/States/S/Seconds",
            'The value for the field "Seconds" must be a non-negative integer or a JSONata '
            "expression",
        ),
        (
            {"Type": "Wait", "Timestamp": "tomorrow", "End": True},
            "/States/S/Timestamp",
            'The value for the field "Timestamp" must be an RFC 3339 timestamp such as '
            "2016-03-14T01:59:00Z or a JSONata expression",
        ),
        (
            {"Type": "Map", "ItemProcessor": processor(), "MaxConcurrency": "5", "End": True},
            "/States/S/MaxConcurrency",
            'The value for the field "MaxConcurrency" must be a non-negative integer or a '
            "JSONata expression",
        ),
        (
            {
                "Type": "Map",
                "ItemProcessor": processor(),
                "ToleratedFailurePercentage": 120,
                "End": True,
            },
            "/States/S/ToleratedFailurePercentage",
            'The value for the field "ToleratedFailurePercentage" must be a number from 0 to '
            "100 or a JSONata expression",
        ),
        (
            {"Type": "Map", "ItemProcessor": processor(), "Items": {"a": 1}, "End": True},
            "/States/S/Items",
            'The value for the field "Items" must be a JSON array or a JSONata expression',
        ),
        (
            {"Type": "Map", "ItemProcessor": processor(), "ItemSelector": 3, "End": True},
            "/States/S/ItemSelector",
            'The value for the field "ItemSelector" must be an object or a JSONata expression',
        ),
        (
            {"Type": "Fail", "Error": 5},
            "/States/S/Error",
            'The value for the field "Error" must be a string',
        ),
    ],
)
def test_jsonata_literal_or_expression_fields(
    state: dict[str, Any], location: str, message: str
) -> None:
    assert only(one_jsonata(state)) == Problem("SCHEMA_VALIDATION_FAILED", message, location)


def test_expression_fields_accept_literals_too() -> None:
    state = {
        "Type": "Map",
        "Items": [1, "{% $two %}", 3],
        "MaxConcurrency": 2,
        "ToleratedFailurePercentage": 5.5,
        "ItemProcessor": processor(),
        "End": True,
    }
    assert validate_definition(one_jsonata(state)) == []
    waiting = {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": True}
    assert validate_definition(one_jsonata(waiting)) == []


def test_heartbeat_is_compared_with_the_timeout_only_when_both_are_literals() -> None:
    assert (
        validate_definition(one_jsonata(task(TimeoutSeconds="{% 5 %}", HeartbeatSeconds=9))) == []
    )
    assert (
        validate_definition(one_jsonata(task(TimeoutSeconds=5, HeartbeatSeconds="{% 9 %}"))) == []
    )
    assert only(one_jsonata(task(TimeoutSeconds=5, HeartbeatSeconds=9))).message.startswith(
        'The value for the field "HeartbeatSeconds" must be smaller'
    )


# --- Expressions are parsed, and may read only what AWS offers there. ---


@pytest.mark.parametrize(
    ("state", "location", "message"),
    [
        (
            task(Arguments={"Payload": {"n": "{% 1 + %}"}}),
            "/States/S/Arguments/Payload/n",
            "Unexpected end of expression in the JSONata expression '1 +'",
        ),
        (
            {"Type": "Pass", "Output": ["{% a[1,2) %}"], "End": True},
            "/States/S/Output/0",
            "Expected ], got , in the JSONata expression 'a[1,2)'",
        ),
        (
            {"Type": "Choice", "Choices": [{"Condition": "{% $x = %}", "Next": "Z"}]},
            "/States/S/Choices/0/Condition",
            "Unexpected end of expression in the JSONata expression '$x ='",
        ),
        (
            task(TimeoutSeconds="{% ( %}"),
            "/States/S/TimeoutSeconds",
            "Expected ) before end of expression in the JSONata expression '('",
        ),
        (
            {"Type": "Fail", "Cause": "{% 'unterminated %}"},
            "/States/S/Cause",
            "String literal must be terminated by a matching quote in the JSONata expression "
            "''unterminated'",
        ),
        (
            {"Type": "Pass", "Assign": {"x": "{% %}"}, "End": True},
            "/States/S/Assign/x",
            "Unexpected end of expression in the JSONata expression ''",
        ),
    ],
)
def test_expression_syntax_errors(state: dict[str, Any], location: str, message: str) -> None:
    assert only(one_jsonata(state)) == Problem("INVALID_JSONATA_EXPRESSION", message, location)


@pytest.mark.parametrize(
    ("state", "location", "message"),
    [
        (
            {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": True},
            "/States/S/Output/v",
            "Reference to 'phone' at the top level is not supported.",
        ),
        (
            {"Type": "Wait", "Seconds": "{% $$.delay %}", "End": True},
            "/States/S/Seconds",
            "Reference to '$$' is not supported.",
        ),
        (
            task(Arguments="{% $states.result %}"),
            "/States/S/Arguments",
            "Reference to '$states.result' is not supported here; it is only available in the "
            "Output and Assign fields of Task, Parallel and Map states.",
        ),
        (
            {"Type": "Pass", "Output": "{% $states.result %}", "End": True},
            "/States/S/Output",
            "Reference to '$states.result' is not supported here; it is only available in the "
            "Output and Assign fields of Task, Parallel and Map states.",
        ),
        (
            task(Output="{% $states.errorOutput %}"),
            "/States/S/Output",
            "Reference to '$states.errorOutput' is not supported here; it is only available in "
            "the Output and Assign fields of a Catch.",
        ),
        (
            task(
                Catch=[
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.result %}",
                        "Next": "S",
                    }
                ]
            ),
            "/States/S/Catch/0/Output",
            "Reference to '$states.result' is not supported here; it is only available in the "
            "Output and Assign fields of Task, Parallel and Map states.",
        ),
    ],
)
def test_unsupported_references(state: dict[str, Any], location: str, message: str) -> None:
    assert only(one_jsonata(state)) == Problem("UNSUPPORTED_JSONATA_EXPRESSION", message, location)


@pytest.mark.parametrize("text", [" {% $x %}", "{% $x %} ", "{% $x", "$x %}"])
def test_strings_that_are_almost_expressions_are_refused(text: str) -> None:
    problem = only(one_jsonata({"Type": "Pass", "Output": {"v": text}, "End": True}))
    assert problem.location == "/States/S/Output/v"
    assert problem.message.startswith('A JSONata expression must start with "{%"')


def test_expression_like_strings_are_literals_in_jsonpath_states() -> None:
    state = {"Type": "Pass", "Parameters": {"v": " {% not evaluated"}, "End": True}
    assert validate_definition(one_state(state)) == []


# --- Assign. ---


@pytest.mark.parametrize(
    "name", ["x", "productName", "_private", "café", "変数", "a1_b2", "n" * 80]
)
def test_valid_variable_names(name: str) -> None:
    assert validate_definition(one_state({"Type": "Pass", "Assign": {name: 1}, "End": True})) == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("$x", "must start with a letter or '_'"),
        ("x.y", "must start with a letter or '_'"),
        ("x[2]", "must start with a letter or '_'"),
        ("1st", "must start with a letter or '_'"),
        ("has space", "must start with a letter or '_'"),
        ("", "must start with a letter or '_'"),
        ("n" * 81, "at most 80 characters"),
        ("states", "the name 'states' is reserved for $states"),
    ],
)
def test_invalid_variable_names(name: str, reason: str) -> None:
    for definition in (
        one_state({"Type": "Pass", "Assign": {name: 1}, "End": True}),
        one_jsonata({"Type": "Pass", "Assign": {name: 1}, "End": True}),
    ):
        problem = only(definition)
        assert problem.location == "/States/S/Assign/" + name.replace("~", "~0")
        assert problem.message.startswith(f'The variable name "{name}" is not valid: ')
        assert reason in problem.message


def test_jsonpath_assign_values_are_checked_like_parameters() -> None:
    state = {
        "Type": "Pass",
        "Assign": {"ok.$": "$.a", "bad.$": "$.a[", "nested": {"deep.$": 5}},
        "End": True,
    }
    assert codes(one_state(state)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Assign/bad.$"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Assign/nested/deep.$"),
    ]


def test_jsonata_assign_keys_cannot_use_the_jsonpath_suffix() -> None:
    problem = only(one_jsonata({"Type": "Pass", "Assign": {"a.$": "$.a"}, "End": True}))
    assert problem.message.startswith('The variable name "a.$" is not valid')


def test_a_variable_is_assigned_once_per_assign() -> None:
    problem = only(one_state({"Type": "Pass", "Assign": {"x": 1, "x.$": "$.x"}, "End": True}))
    assert problem == Problem(
        "SCHEMA_VALIDATION_FAILED",
        'The variable "x" is assigned more than once',
        "/States/S/Assign/x.$",
    )


def test_assign_must_be_an_object() -> None:
    problem = only(one_state({"Type": "Pass", "Assign": "x", "End": True}))
    assert problem == Problem(
        "SCHEMA_VALIDATION_FAILED",
        'The value for the field "Assign" must be an object',
        "/States/S/Assign",
    )


@pytest.mark.parametrize("kind", ["Succeed", "Fail"])
def test_assign_not_on_succeed_or_fail(kind: str) -> None:
    problem = only(one_state({"Type": kind, "Assign": {"x": 1}}))
    assert problem.message == 'The field "Assign" is not supported by Step Functions'


def test_duplicate_assign_keys_in_text_are_reported() -> None:
    text = (
        '{"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Pass", '
        '"Assign": {"x": 1, "x": 2}, "End": true}}}'
    )
    assert only(text) == Problem(
        "SCHEMA_VALIDATION_FAILED",
        'The field "x" appears more than once',
        "/States/S/Assign/x",
    )


def test_inner_scopes_cannot_reassign_outer_variables() -> None:
    inner = processor({"Type": "Pass", "Assign": {"total": 1, "local": 2}, "End": True})
    definition = machine(
        {
            "Start": {"Type": "Pass", "Assign": {"total": 0}, "Next": "Each"},
            "Each": {"Type": "Map", "ItemProcessor": inner, "End": True},
        }
    )
    assert only(definition) == Problem(
        "SCHEMA_VALIDATION_FAILED",
        'The variable "total" is already assigned in an enclosing scope (at '
        "/States/Start/Assign/total); a Parallel branch or Map iteration cannot assign it again",
        "/States/Each/ItemProcessor/States/I/Assign/total",
    )


def test_sibling_branches_and_outer_catchers_may_share_names() -> None:
    branch_a = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"r": 1}, "End": True}}}
    branch_b = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"r": 2}, "End": True}}}
    catcher = {"ErrorEquals": ["States.ALL"], "Assign": {"failed": True}, "Next": "Done"}
    definition = machine(
        {
            "Fan out": {
                "Type": "Parallel",
                "Branches": [branch_a, branch_b],
                "Catch": [catcher],
                "Assign": {"failed": False},
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        }
    )
    assert validate_definition(definition) == []


def test_jsonata_problems_render_like_aws() -> None:
    definition = one_jsonata({"Type": "Pass", "Output": "{% 1 + %}", "End": True})
    with pytest.raises(InvalidDefinition) as raised:
        check_definition(json.dumps(definition))
    assert str(raised.value) == (
        "Invalid State Machine Definition: 'INVALID_JSONATA_EXPRESSION: Unexpected end of "
        "expression in the JSONata expression '1 +' at /States/S/Output'"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("ItemReader", {}), ("ResultWriter", {}), ("Label", "l")],
)
def test_distributed_map_fields_still_refused_in_jsonata(field: str, value: Any) -> None:
    state = {"Type": "Map", "ItemProcessor": processor(), "End": True, field: value}
    problem = only(one_jsonata(state))
    assert problem.location == f"/States/S/{field}"
    assert "distributed Map, which is not supported yet" in problem.message
