"""The AWS Step Functions API, driven by boto3's real client: state machines, executions,
histories and callbacks, with AWS's shapes and error codes."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError
from temporalio.client import Client
from temporalio.worker import Worker

from api.sfn.executions import workflow_id
from tests.sfn.aws import Aws
from tests.sfn.harness import Executor, lambda_arn

HELLO = {
    "Comment": "Adds two numbers, then greets",
    "StartAt": "Add",
    "States": {
        "Add": {
            "Type": "Task",
            "Resource": lambda_arn("add"),
            "ResultPath": "$.sum",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
async def aws(api: str, worker: Worker) -> Aws:
    return Aws(api)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


async def test_create_start_describe_and_read_history(aws: Aws) -> None:
    name = unique("hello")
    arn = await aws.machine(name, HELLO)
    assert arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    described = await aws("describe_state_machine", stateMachineArn=arn)
    assert described["name"] == name and described["status"] == "ACTIVE"
    assert json.loads(described["definition"]) == HELLO
    assert described["type"] == "STANDARD"

    started = await aws(
        "start_execution", stateMachineArn=arn, name="first", input=json.dumps({"a": 2, "b": 3})
    )
    assert started["executionArn"].endswith(f":execution:{name}:first")
    done = await aws.finished(started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"a": 2, "b": 3, "sum": 5}
    assert json.loads(done["input"]) == {"a": 2, "b": 3}
    assert done["stopDate"] >= done["startDate"]

    history = await aws("get_execution_history", executionArn=started["executionArn"])
    types = [event["type"] for event in history["events"]]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    succeeded = history["events"][4]["lambdaFunctionSucceededEventDetails"]
    assert json.loads(succeeded["output"]) == 5

    listed = await aws("list_executions", stateMachineArn=arn)
    assert [e["name"] for e in listed["executions"]] == ["first"]
    assert listed["executions"][0]["status"] == "SUCCEEDED"


async def test_execution_names_are_idempotent_while_running(aws: Aws) -> None:
    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}}
    arn = await aws.machine(unique("waits"), waits)
    first = await aws("start_execution", stateMachineArn=arn, name="once", input='{"x": 1}')
    again = await aws("start_execution", stateMachineArn=arn, name="once", input='{"x": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert abs(again["startDate"].timestamp() - first["startDate"].timestamp()) < 1
    with pytest.raises(ClientError) as err:
        await aws("start_execution", stateMachineArn=arn, name="once", input='{"x": 2}')
    assert code_of(err) == "ExecutionAlreadyExists"
    await aws.finished(first["executionArn"])
    # Closed: the same name is refused even with the same input.
    with pytest.raises(ClientError) as err:
        await aws("start_execution", stateMachineArn=arn, name="once", input='{"x": 1}')
    assert code_of(err) == "ExecutionAlreadyExists"


async def test_bad_definitions_and_names_get_aws_error_codes(aws: Aws) -> None:
    broken = {"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": True}}}
    with pytest.raises(ClientError) as err:
        await aws.machine(unique("broken"), broken)
    assert code_of(err) == "InvalidDefinition"
    assert "Nowhere" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        await aws.machine("has space", HELLO)
    assert code_of(err) == "InvalidName"
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique("absent")
    with pytest.raises(ClientError) as err:
        await aws("describe_state_machine", stateMachineArn=missing)
    assert code_of(err) == "StateMachineDoesNotExist"
    arn = await aws.machine(unique("input"), HELLO)
    with pytest.raises(ClientError) as err:
        await aws("start_execution", stateMachineArn=arn, input="{not json")
    assert code_of(err) == "InvalidExecutionInput"
    validated = await aws("validate_state_machine_definition", definition=json.dumps(broken))
    assert validated["result"] == "FAIL"
    assert validated["diagnostics"][0]["code"] == "MISSING_TRANSITION_TARGET"


async def test_failed_execution_reports_error_and_cause(aws: Aws) -> None:
    failing = {
        "StartAt": "Boom",
        "States": {"Boom": {"Type": "Task", "Resource": lambda_arn("fail"), "End": True}},
    }
    arn = await aws.machine(unique("failing"), failing)
    started = await aws("start_execution", stateMachineArn=arn, input='{"message": "nope"}')
    done = await aws.finished(started["executionArn"])
    assert done["status"] == "FAILED"
    assert done["error"] == "CustomError"
    assert json.loads(done["cause"])["errorMessage"] == "nope"
    assert "output" not in done


async def test_stop_execution_aborts_with_error_and_cause(aws: Aws) -> None:
    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    arn = await aws.machine(unique("stoppable"), waits)
    started = await aws("start_execution", stateMachineArn=arn)
    await aws("stop_execution", executionArn=started["executionArn"], error="Ops", cause="manual")
    done = await aws.finished(started["executionArn"])
    assert (done["status"], done["error"], done["cause"]) == ("ABORTED", "Ops", "manual")
    history = await aws("get_execution_history", executionArn=started["executionArn"])
    last = history["events"][-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Ops", "cause": "manual"}
    listed = await aws("list_executions", stateMachineArn=arn, statusFilter="ABORTED")
    assert [e["executionArn"] for e in listed["executions"]] == [started["executionArn"]]


async def test_start_sync_execution_answers_with_the_result(aws: Aws) -> None:
    arn = await aws.machine(unique("express"), HELLO, type="EXPRESS")
    done = await aws("start_sync_execution", stateMachineArn=arn, input='{"a": 1, "b": 1}')
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["sum"] == 2
    standard = await aws.machine(unique("standard"), HELLO)
    with pytest.raises(ClientError) as err:
        await aws("start_sync_execution", stateMachineArn=standard, input="{}")
    assert code_of(err) == "StateMachineTypeNotSupported"


async def test_update_keeps_revisions_and_pins_running_executions(aws: Aws) -> None:
    arn = await aws.machine(unique("revised"), HELLO)
    before = await aws("describe_state_machine", stateMachineArn=arn)
    changed = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}}
    updated = await aws("update_state_machine", stateMachineArn=arn, definition=json.dumps(changed))
    assert updated["revisionId"] != before["revisionId"]
    started = await aws("start_execution", stateMachineArn=arn)
    done = await aws.finished(started["executionArn"])
    assert json.loads(done["output"]) == "v2"
    found = await aws("describe_state_machine_for_execution", executionArn=started["executionArn"])
    assert json.loads(found["definition"]) == changed
    assert found["revisionId"] == updated["revisionId"]


async def test_list_and_delete_state_machines(aws: Aws) -> None:
    names = sorted(unique("listed") for _ in range(3))
    for name in names:
        await aws.machine(name, HELLO)
    seen: list[str] = []
    token = None
    while True:
        params = {"maxResults": 2, **({"nextToken": token} if token else {})}
        page = await aws("list_state_machines", **params)
        seen += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if not token:
            break
    assert set(names) <= set(seen)
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{names[0]}"
    await aws("delete_state_machine", stateMachineArn=arn)
    with pytest.raises(ClientError) as err:
        await aws("describe_state_machine", stateMachineArn=arn)
    assert code_of(err) == "StateMachineDoesNotExist"


async def test_executions_are_found_in_temporal_by_machine_and_name(
    aws: Aws, client: Client
) -> None:
    name = unique("findable")
    arn = await aws.machine(name, HELLO)
    started = await aws(
        "start_execution", stateMachineArn=arn, name="needle", input='{"a": 4, "b": 5}'
    )
    await aws.finished(started["executionArn"])
    # The queries a person types into the Temporal UI's search box.
    by_machine = [w.id async for w in client.list_workflows(f'StateMachineName = "{name}"')]
    by_both = [
        w.id
        async for w in client.list_workflows(
            f'StateMachineName = "{name}" AND ExecutionName = "needle"'
        )
    ]
    assert by_machine == by_both == [f"execution-{name}:needle"]
    # Input and output are plain JSON in the history the UI shows.
    history = await client.get_workflow_handle(by_machine[0]).fetch_history()
    started_event = history.events[0].workflow_execution_started_event_attributes
    shown = json.loads(started_event.input.payloads[0].data)
    assert shown["input"] == {"a": 4, "b": 5}
    assert shown["definition"] == HELLO
    completed = history.events[-1].workflow_execution_completed_event_attributes
    assert json.loads(completed.result.payloads[0].data) == {"a": 4, "b": 5, "sum": 9}


async def test_an_execution_stopped_before_any_worker_ran_it_has_a_history(
    aws: Aws, client: Client
) -> None:
    # Started on a queue no worker polls, then stopped: no workflow code ever ran.
    name = unique("idle")
    await Executor(client, "nobody-polls-this").start(HELLO, {"a": 1}, name=name)
    await client.get_workflow_handle(workflow_id("test-machine", name)).terminate(
        "Ops", "before it ran", reason="test"
    )
    execution = f"arn:aws:states:us-east-1:123456789012:execution:test-machine:{name}"
    history = await aws("get_execution_history", executionArn=execution)
    assert [e["type"] for e in history["events"]] == ["ExecutionStarted", "ExecutionAborted"]
    assert json.loads(history["events"][0]["executionStartedEventDetails"]["input"]) == {"a": 1}
    assert history["events"][1]["executionAbortedEventDetails"] == {
        "error": "Ops",
        "cause": "before it ran",
    }


async def test_started_executions_pin_their_handlers_modes_instead_of_markers(
    aws: Aws, client: Client
) -> None:
    local = {
        "StartAt": "Echo",
        "States": {
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "local-echo", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "Add",
            },
            "Add": {"Type": "Task", "Resource": lambda_arn("add"), "End": True},
        },
    }
    name = unique("pinned")
    arn = await aws.machine(name, local)
    started = await aws("start_execution", stateMachineArn=arn, input='{"a": 1, "b": 2}')
    assert (await aws.finished(started["executionArn"]))["status"] == "SUCCEEDED"
    history = await client.get_workflow_handle(
        workflow_id(name, started["executionArn"].rsplit(":", 1)[1])
    ).fetch_history()
    first = history.events[0].workflow_execution_started_event_attributes
    pinned = json.loads(first.input.payloads[0].data)["handler_modes"]
    # Every handler named in the definition; "echo", a part of "local-echo", too.
    assert (pinned["local-echo"], pinned["add"]) == (True, False)
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    # The local handler's own marker only: its mode came with the input, not a patch marker.
    assert markers == ["core_local_activity"]


async def test_a_jsonata_machine_is_created_and_run_through_the_api(aws: Aws) -> None:
    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "Add",
        "States": {
            "Add": {
                "Type": "Task",
                "Resource": lambda_arn("add"),
                "Arguments": {"a": "{% $states.input.x %}", "b": 10},
                "Assign": {"sum": "{% $states.result %}"},
                "Output": "{% {'total': $states.result} %}",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed", "Output": "{% {'sum': $sum, 'in': $states.input} %}"},
        },
    }
    arn = await aws.machine(unique("jsonata"), jsonata)
    started = await aws("start_execution", stateMachineArn=arn, input='{"x": 5}')
    done = await aws.finished(started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"sum": 15, "in": {"total": 15}}
    broken = {
        **jsonata,
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input. %}", "End": True}},
        "StartAt": "P",
    }
    with pytest.raises(ClientError) as err:
        await aws.machine(unique("broken-jsonata"), broken)
    assert code_of(err) == "InvalidDefinition"
    assert "INVALID_JSONATA_EXPRESSION" in err.value.response["Error"]["Message"]


async def test_a_machine_timeout_ends_the_execution_timed_out(aws: Aws) -> None:
    slow = {
        "TimeoutSeconds": 1,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}},
    }
    arn = await aws.machine(unique("timeout"), slow)
    started = await aws("start_execution", stateMachineArn=arn)
    done = await aws.finished(started["executionArn"])
    assert (done["status"], done["error"]) == ("TIMED_OUT", "States.Timeout")
    history = await aws("get_execution_history", executionArn=started["executionArn"])
    assert history["events"][-1]["type"] == "ExecutionTimedOut"
    listed = await aws("list_executions", stateMachineArn=arn, statusFilter="TIMED_OUT")
    assert [e["executionArn"] for e in listed["executions"]] == [started["executionArn"]]


async def test_history_reversed_and_without_data(aws: Aws) -> None:
    arn = await aws.machine(unique("history"), HELLO)
    started = await aws("start_execution", stateMachineArn=arn, input='{"a": 1, "b": 1}')
    await aws.finished(started["executionArn"])
    forward = (await aws("get_execution_history", executionArn=started["executionArn"]))["events"]
    backward = await aws(
        "get_execution_history",
        executionArn=started["executionArn"],
        reverseOrder=True,
        includeExecutionData=False,
        maxResults=3,
    )
    assert [e["id"] for e in backward["events"]] == [e["id"] for e in forward[::-1][:3]]
    assert "nextToken" in backward
    assert all(
        "output" not in details and "input" not in details
        for event in backward["events"]
        for key, details in event.items()
        if key.endswith("EventDetails")
    )


async def test_start_sync_execution_is_taken_on_boto3s_sync_host_too(
    api: str, worker: Worker
) -> None:
    aws = Aws(api)
    arn = await aws.machine(unique("sync-host"), HELLO, type="EXPRESS")
    port = api.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=api) as http:
        # What boto3 sends with its default config: the operation's `sync-` host prefix.
        response = await http.post(
            "/",
            content=json.dumps({"stateMachineArn": arn, "input": '{"a": 2, "b": 2}'}),
            headers={
                "Host": f"sync-127.0.0.1:{port}",
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AWSStepFunctions.StartSyncExecution",
            },
        )
    assert response.status_code == 200, response.text
    assert json.loads(response.json()["output"])["sum"] == 4
