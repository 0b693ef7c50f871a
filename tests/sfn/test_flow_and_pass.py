"""Pass, Succeed and Fail states, the JSONPath data flow between states, the context object
and the 256 KiB limit, as AWS documents them."""

from __future__ import annotations

import pytest

from tests.sfn.harness import Executor, lambda_arn


async def test_pass_states_chain_their_data_flow(sfn: Executor) -> None:
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.order",
                "Parameters": {"id.$": "$.id", "label.$": "States.Format('order {}', $.id)"},
                "ResultPath": "$.shaped",
                "Next": "Fixed",
            },
            "Fixed": {
                "Type": "Pass",
                "Result": {"answer": 42},
                "ResultPath": "$.fixed",
                "OutputPath": "$",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed", "OutputPath": "$.shaped"},
        },
    }
    # ResultPath writes into the raw input, not into what InputPath selected.
    out = await sfn.run(definition, {"order": {"id": 7}, "keep": True})
    assert out.status == "SUCCEEDED"
    assert out.output == {"id": 7, "label": "order 7"}
    assert out.types() == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    entered = out.events[1]
    assert entered["stateEnteredEventDetails"]["name"] == "Shape"
    assert entered["previousEventId"] == 1
    assert [event["id"] for event in out.events] == list(range(1, 9))


async def test_null_paths_discard_input_and_result(sfn: Executor) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": "ignored", "ResultPath": None, "Next": "B"},
            "B": {"Type": "Pass", "InputPath": None, "End": True},
        },
    }
    out = await sfn.run(definition, {"x": 1})
    assert out.output == {}


async def test_context_object_names_the_execution_and_state(sfn: Executor) -> None:
    definition = {
        "StartAt": "Look",
        "States": {
            "Look": {
                "Type": "Pass",
                "Parameters": {
                    "execution.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "input.$": "$$.Execution.Input",
                    "state.$": "$$.State.Name",
                    "entered.$": "$$.State.EnteredTime",
                    "machine.$": "$$.StateMachine.Name",
                    "retries.$": "$$.State.RetryCount",
                },
                "End": True,
            }
        },
    }
    handle = await sfn.start(definition, {"v": 1}, name="ctx-check")
    out = await sfn.outcome(handle)
    assert out.output["execution"].endswith(":execution:test-machine:ctx-check")
    assert out.output["execution"].startswith("arn:aws:states:us-east-1:123456789012:")
    assert out.output["name"] == "ctx-check"
    assert out.output["input"] == {"v": 1}
    assert out.output["state"] == "Look"
    assert out.output["machine"] == "test-machine"
    assert out.output["retries"] == 0
    assert out.output["entered"].endswith("Z") and len(out.output["entered"]) == 24


async def test_fail_state_fails_with_its_error_and_cause(sfn: Executor) -> None:
    definition = {
        "StartAt": "Stop",
        "States": {"Stop": {"Type": "Fail", "Error": "Bad.Thing", "Cause": "it was bad"}},
    }
    out = await sfn.run(definition)
    assert (out.status, out.error, out.cause) == ("FAILED", "Bad.Thing", "it was bad")
    assert out.types()[-2:] == ["FailStateEntered", "ExecutionFailed"]
    assert out.events[-1]["executionFailedEventDetails"] == {
        "error": "Bad.Thing",
        "cause": "it was bad",
    }


async def test_fail_state_paths_read_the_input(sfn: Executor) -> None:
    definition = {
        "StartAt": "Stop",
        "States": {
            "Stop": {
                "Type": "Fail",
                "ErrorPath": "$.code",
                "CausePath": "States.Format('{} went wrong', $.what)",
            }
        },
    }
    out = await sfn.run(definition, {"code": "E42", "what": "everything"})
    assert (out.error, out.cause) == ("E42", "everything went wrong")


async def test_a_missing_input_path_fails_with_states_runtime(sfn: Executor) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.nope", "End": True}},
    }
    out = await sfn.run(definition, {"x": 1})
    assert out.status == "FAILED"
    assert out.error == "States.Runtime"
    assert "$.nope" in (out.cause or "")


async def test_output_over_256_kib_fails_with_data_limit_exceeded(sfn: Executor) -> None:
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": lambda_arn("huge"),
                # Not even States.ALL catches this terminal error.
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    out = await sfn.run(definition, {"bytes": 256 * 1024 + 1})
    assert out.status == "FAILED"
    assert out.error == "States.DataLimitExceeded"


@pytest.mark.parametrize("size", [256 * 1024 - 2])
async def test_output_at_the_limit_passes(sfn: Executor, size: int) -> None:
    definition = {
        "StartAt": "Big",
        "States": {"Big": {"Type": "Task", "Resource": lambda_arn("huge"), "End": True}},
    }
    out = await sfn.run(definition, {"bytes": size})
    assert out.status == "SUCCEEDED"
    assert len(out.output) == size  # plus two quotes: exactly 256 KiB of JSON
