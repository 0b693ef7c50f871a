"""JSONata states and workflow variables (`Assign`), end to end on the real worker, as AWS's
developer guide describes them: `$states`, Arguments and Output, Condition, expressions in
Wait, Fail, Map and Task fields, catchers' `$states.errorOutput`, and variables' scopes."""

from __future__ import annotations

import re
from typing import Any

from tests.sfn.harness import Executor, lambda_arn


def jsonata(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


async def test_pass_output_reads_states_input_context_and_now(sfn: Executor) -> None:
    definition = jsonata(
        {
            "P": {
                "Type": "Pass",
                "Output": {
                    "double": "{% $states.input.n * 2 %}",
                    "state": "{% $states.context.State.Name %}",
                    "now": "{% $now() %}",
                    "literal": "kept as it is",
                },
                "End": True,
            }
        },
        "P",
    )
    out = await sfn.run(definition, {"n": 21})
    assert out.status == "SUCCEEDED"
    assert out.output["double"] == 42
    assert out.output["state"] == "P"
    assert out.output["literal"] == "kept as it is"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", out.output["now"])


async def test_task_arguments_result_output_and_lambda_invoke(sfn: Executor) -> None:
    definition = jsonata(
        {
            "Add": {
                "Type": "Task",
                "Resource": lambda_arn("add"),
                "Arguments": {"a": "{% $states.input.a %}", "b": "{% $states.input.b %}"},
                "Output": "{% {'sum': $states.result, 'was': $states.input} %}",
                "Next": "Echo",
            },
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "echo", "Payload": "{% $states.input.sum %}"},
                "Output": "{% $states.result.Payload %}",
                "End": True,
            },
        },
        "Add",
    )
    out = await sfn.run(definition, {"a": 2, "b": 3})
    assert (out.status, out.output) == ("SUCCEEDED", 5)
    scheduled = next(e for e in out.events if e["type"] == "LambdaFunctionScheduled")
    assert scheduled["lambdaFunctionScheduledEventDetails"]["input"] == '{"a":2,"b":3}'


async def test_choice_conditions_default_and_no_match(sfn: Executor) -> None:
    choice = {
        "Type": "Choice",
        "Choices": [
            {"Condition": "{% $states.input.n > 10 %}", "Next": "Big"},
            {"Condition": "{% $states.input.n > 5 %}", "Next": "Medium", "Output": "mid"},
        ],
        "Default": "Small",
    }
    states = {
        "Route": choice,
        "Big": {"Type": "Pass", "Output": "big", "End": True},
        "Medium": {"Type": "Succeed"},
        "Small": {"Type": "Pass", "Output": "small", "End": True},
    }
    assert (await sfn.run(jsonata(states, "Route"), {"n": 11})).output == "big"
    # A matching rule's own Output is the Choice state's output.
    assert (await sfn.run(jsonata(states, "Route"), {"n": 6})).output == "mid"
    assert (await sfn.run(jsonata(states, "Route"), {"n": 1})).output == "small"
    del choice["Default"]
    del states["Small"]
    out = await sfn.run(jsonata({**states, "Route": choice}, "Route"), {"n": 1})
    assert (out.status, out.error) == ("FAILED", "States.NoChoiceMatched")


async def test_wait_and_fail_take_expressions(sfn: Executor) -> None:
    definition = jsonata(
        {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.pause %}", "Next": "F"},
            "F": {
                "Type": "Fail",
                "Error": "{% 'Code.' & $states.input.code %}",
                "Cause": "{% 'waited ' & $string($states.input.pause) & ' s' %}",
            },
        },
        "W",
    )
    out = await sfn.run(definition, {"pause": 1, "code": "X"})
    assert (out.status, out.error, out.cause) == ("FAILED", "Code.X", "waited 1 s")
    waited = [e for e in out.events if e["type"] in ("WaitStateEntered", "WaitStateExited")]
    assert waited[1]["timestamp"] - waited[0]["timestamp"] >= 1


async def test_map_items_item_selector_and_parallel_arguments(sfn: Executor) -> None:
    definition = jsonata(
        {
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.orders %}",
                "ItemSelector": {
                    "index": "{% $states.context.Map.Item.Index %}",
                    "id": "{% $states.context.Map.Item.Value.id %}",
                    "tag": "{% $states.input.tag %}",
                },
                "MaxConcurrency": "{% $states.input.width %}",
                "ItemProcessor": {
                    "StartAt": "Echo",
                    "States": {"Echo": {"Type": "Pass", "End": True}},
                },
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Arguments": "{% $count($states.input) %}",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {"Type": "Pass", "Output": "{% $states.input * 10 %}", "End": True}
                        },
                    },
                ],
                "Output": "{% $states.result %}",
                "End": True,
            },
        },
        "Each",
    )
    items = {"orders": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "tag": "t", "width": 2}
    out = await sfn.run(definition, items)
    assert out.status == "SUCCEEDED"
    assert out.output == [3, 30]
    started = next(e for e in out.events if e["type"] == "MapStateStarted")
    assert started["mapStateStartedEventDetails"] == {"length": 3}


async def test_catch_output_assign_and_query_errors(sfn: Executor) -> None:
    definition = jsonata(
        {
            "Boom": {
                "Type": "Task",
                "Resource": lambda_arn("fail"),
                "Arguments": {"message": "{% 'no ' & $states.input.what %}"},
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"problem": "{% $states.errorOutput.Error %}"},
                        "Output": "{% $states.errorOutput %}",
                        "Next": "Report",
                    }
                ],
                "End": True,
            },
            "Report": {
                "Type": "Pass",
                "Output": (
                    "{% {'error': $problem, 'message': $parse($states.input.Cause).errorMessage} %}"
                ),
                "End": True,
            },
        },
        "Boom",
    )
    out = await sfn.run(definition, {"what": "luck"})
    assert out.status == "SUCCEEDED"
    assert out.output == {"error": "CustomError", "message": "no luck"}
    undefined = jsonata(
        {"P": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True}}, "P"
    )
    out = await sfn.run(undefined, {"here": 1})
    assert (out.status, out.error) == ("FAILED", "States.QueryEvaluationError")
    assert "undefined" in (out.cause or "")


async def test_jsonpath_variables_assign_read_and_swap(sfn: Executor) -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"a": 1, "b.$": "$.start"}, "Next": "Swap"},
            # Every Assign reads the variables as they were on entry: a true swap.
            "Swap": {"Type": "Pass", "Assign": {"a.$": "$b", "b.$": "$a"}, "Next": "Add"},
            "Add": {
                "Type": "Task",
                "Resource": lambda_arn("add"),
                "Parameters": {"a.$": "$a", "b.$": "$b"},
                "Assign": {"sum.$": "$"},
                "ResultPath": None,
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$sum", "NumericEquals": 3, "Next": "Done"}],
                "Default": "Wrong",
            },
            "Wrong": {"Type": "Fail", "Error": "Wrong"},
            "Done": {
                "Type": "Pass",
                "Parameters": {
                    "a.$": "$a",
                    "b.$": "$b",
                    "sum.$": "$sum",
                    "msg.$": "States.Format('{}+{}', $a, $b)",
                },
                "End": True,
            },
        },
    }
    out = await sfn.run(definition, {"start": 2})
    assert out.status == "SUCCEEDED", out
    assert out.output == {"a": 2, "b": 1, "sum": 3, "msg": "2+1"}


async def test_inner_scopes_read_outer_variables_and_keep_their_own(sfn: Executor) -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"base": 100}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {
                        "Inner": {
                            "Type": "Pass",
                            "Assign": {"mine.$": "$"},
                            "Next": "Read",
                        },
                        "Read": {
                            "Type": "Pass",
                            "QueryLanguage": "JSONata",
                            "Output": "{% $base + $mine %}",
                            "End": True,
                        },
                    },
                },
                "Next": "After",
            },
            "After": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                # `mine` was assigned only inside the iterations: not visible here.
                "Output": "{% {'results': $states.input, 'base': $base, 'mine': $exists($mine)} %}",
                "End": True,
            },
        },
    }
    out = await sfn.run(definition, [1, 2, 3])
    assert out.status == "SUCCEEDED", out
    assert out.output == {"results": [101, 102, 103], "base": 100, "mine": False}
