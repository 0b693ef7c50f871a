"""TestState through boto3: one state run once, with AWS's statuses and inspection data."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from temporalio.worker import Worker

from tests.sfn.aws import Aws
from tests.sfn.harness import ROLE, lambda_arn


@pytest.fixture
async def aws(api: str, worker: Worker) -> Aws:
    return Aws(api)


async def test_a_pass_state_shows_each_stage_of_its_data_flow(aws: Aws) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.order",
        "Parameters": {"id.$": "$.id", "twice.$": "States.MathAdd($.id, $.id)"},
        "ResultPath": "$.shaped",
        "Next": "Later",
    }
    answer = await aws(
        "test_state",
        definition=json.dumps(state),
        roleArn=ROLE,
        input=json.dumps({"order": {"id": 4}}),
        inspectionLevel="DEBUG",
    )
    assert answer["status"] == "SUCCEEDED"
    assert answer["nextState"] == "Later"
    assert json.loads(answer["output"]) == {"order": {"id": 4}, "shaped": {"id": 4, "twice": 8}}
    data = {stage: json.loads(text) for stage, text in answer["inspectionData"].items()}
    assert data["input"] == {"order": {"id": 4}}
    assert data["afterInputPath"] == {"id": 4}
    assert data["afterParameters"] == {"id": 4, "twice": 8}
    assert data["afterResultPath"] == json.loads(answer["output"])


async def test_a_task_state_calls_its_handler_and_reports_retriable_and_caught(aws: Aws) -> None:
    task = {
        "Type": "Task",
        "Resource": lambda_arn("add"),
        "ResultSelector": {"sum.$": "$"},
        "End": True,
    }
    answer = await aws(
        "test_state", definition=json.dumps(task), input='{"a": 1, "b": 2}', roleArn=ROLE
    )
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"sum": 3})
    assert "inspectionData" not in answer  # INFO, the default level
    failing = {
        "Type": "Task",
        "Resource": lambda_arn("fail"),
        "Retry": [{"ErrorEquals": ["CustomError"], "MaxAttempts": 2}],
        "End": True,
    }
    answer = await aws("test_state", definition=json.dumps(failing), input="{}", roleArn=ROLE)
    assert (answer["status"], answer["error"]) == ("RETRIABLE", "CustomError")
    caught = {
        "Type": "Task",
        "Resource": lambda_arn("fail"),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.problem", "Next": "Fix"}],
        "End": True,
    }
    answer = await aws("test_state", definition=json.dumps(caught), input='{"k": 1}', roleArn=ROLE)
    assert (answer["status"], answer["nextState"], answer["error"]) == (
        "CAUGHT_ERROR",
        "Fix",
        "CustomError",
    )
    assert json.loads(answer["output"])["problem"]["Error"] == "CustomError"


async def test_a_state_picked_from_a_machine_and_bad_definitions(aws: Aws) -> None:
    machine = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Route"},
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Fail", "Error": "TooSmall"},
        },
    }
    answer = await aws(
        "test_state", definition=json.dumps(machine), stateName="Route", input='{"n": 5}'
    )
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "Big")
    answer = await aws("test_state", definition=json.dumps(machine), stateName="Small", input="{}")
    assert (answer["status"], answer["error"]) == ("FAILED", "TooSmall")
    with pytest.raises(ClientError) as err:
        await aws("test_state", definition=json.dumps({"Type": "Pass", "Nxt": "X"}))
    assert err.value.response["Error"]["Code"] == "InvalidDefinition"
    assert "Nxt" in err.value.response["Error"]["Message"]
    # A TestState call is not an execution: it is listed nowhere.
    arn = await aws.machine(f"tested-{uuid.uuid4().hex[:8]}", machine)
    assert (await aws("list_executions", stateMachineArn=arn))["executions"] == []


async def test_a_jsonata_state_is_tested_with_its_variables(aws: Aws) -> None:
    state = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Output": "{% $states.input.a + 1 %}",
        "Assign": {"seen": "{% $states.input.a %}"},
        "End": True,
    }
    answer = await aws("test_state", definition=json.dumps(state), input='{"a": 1}')
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", 2)
