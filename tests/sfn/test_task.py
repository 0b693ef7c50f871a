"""Task states, as AWS documents them: a Lambda function by its ARN and `lambda:invoke`, run by
local and regular handlers; a Python function's error shapes; the Task's data flow
(`Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`); `TimeoutSeconds`; the history
events each kind writes; and `http:invoke` against a real loopback server."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.sfn.harness import ACCOUNT, REGION, Executor, details, events_of, gaps, lambda_arn

INVOKE = "arn:aws:states:::lambda:invoke"


def task_machine(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {"Type": "Task", "End": True, **state}}}


def invoke(function: str, payload: Any = None, **fields: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {"FunctionName": function}
    if payload is not None:
        parameters["Payload"] = payload
    return task_machine({"Resource": INVOKE, "Parameters": parameters, **fields})


# --- A Lambda function by its ARN. ---


@pytest.mark.parametrize("function", ["echo", "local-echo"])
async def test_lambda_arn_gets_the_input_and_returns_the_result(
    sfn: Executor, function: str
) -> None:
    out = await sfn.run(task_machine({"Resource": lambda_arn(function)}), {"n": 1, "s": "é"})
    assert out.status == "SUCCEEDED"
    assert out.output == {"n": 1, "s": "é"}
    assert out.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = details(events_of(out, "LambdaFunctionScheduled")[0])
    assert scheduled["resource"] == lambda_arn(function)
    assert json.loads(scheduled["input"]) == {"n": 1, "s": "é"}
    assert "timeoutInSeconds" not in scheduled
    succeeded = details(events_of(out, "LambdaFunctionSucceeded")[0])
    assert json.loads(succeeded["output"]) == {"n": 1, "s": "é"}


async def test_parameters_build_the_lambda_input(sfn: Executor) -> None:
    definition = task_machine(
        {"Resource": lambda_arn("add"), "Parameters": {"a.$": "$.x", "b": 2}, "ResultPath": "$.sum"}
    )
    out = await sfn.run(definition, {"x": 40})
    assert out.output == {"x": 40, "sum": 42}


async def test_a_qualified_lambda_arn_runs_the_function(sfn: Executor) -> None:
    out = await sfn.run(
        task_machine({"Resource": lambda_arn("add") + ":$LATEST"}), {"a": 1, "b": 2}
    )
    assert (out.status, out.output) == ("SUCCEEDED", 3)


# --- lambda:invoke. ---


@pytest.mark.parametrize(
    "function",
    [
        "echo",
        "local-echo",
        lambda_arn("echo"),
        lambda_arn("echo") + ":$LATEST",
        f"{ACCOUNT}:function:echo",
    ],
)
async def test_lambda_invoke_answers_as_the_lambda_invoke_api(sfn: Executor, function: str) -> None:
    out = await sfn.run(invoke(function, {"value.$": "$.v"}), {"v": [1, 2]})
    assert out.status == "SUCCEEDED"
    response = out.output
    assert set(response) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }
    assert response["Payload"] == {"value": [1, 2]}
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["SdkHttpMetadata"]["HttpStatusCode"] == 200
    request_id = response["SdkResponseMetadata"]["RequestId"]
    assert response["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"] == request_id


async def test_lambda_invoke_without_payload_sends_an_empty_object(sfn: Executor) -> None:
    out = await sfn.run(invoke("echo"), {"ignored": True})
    assert out.output["Payload"] == {}


async def test_lambda_invoke_writes_task_events_of_resource_type_lambda(sfn: Executor) -> None:
    out = await sfn.run(invoke("add", {"a": 1, "b": 2}, TimeoutSeconds=30))
    assert out.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled, started, succeeded = (
        details(e) for e in events_of(out, "TaskScheduled", "TaskStarted", "TaskSucceeded")
    )
    assert scheduled["resourceType"] == "lambda"
    assert scheduled["resource"] == "invoke"
    assert scheduled["region"] == REGION
    assert scheduled["timeoutInSeconds"] == 30
    assert json.loads(scheduled["parameters"]) == {
        "FunctionName": "add",
        "Payload": {"a": 1, "b": 2},
    }
    assert started == {"resourceType": "lambda", "resource": "invoke"}
    assert json.loads(succeeded["output"])["Payload"] == 3
    assert (succeeded["resourceType"], succeeded["resource"]) == ("lambda", "invoke")


async def test_result_selector_result_path_and_output_path_shape_the_response(
    sfn: Executor,
) -> None:
    definition = invoke(
        "add",
        {"a.$": "$.a", "b": 10},
        ResultSelector={"sum.$": "$.Payload", "status.$": "$.StatusCode", "fixed": "yes"},
        ResultPath="$.result",
        OutputPath="$.result",
    )
    out = await sfn.run(definition, {"a": 5})
    assert out.output == {"sum": 15, "status": 200, "fixed": "yes"}
    exited = details(events_of(out, "TaskStateExited")[0])
    assert json.loads(exited["output"]) == out.output


async def test_result_path_keeps_the_raw_input_beside_the_result(sfn: Executor) -> None:
    # InputPath narrows what the task gets; ResultPath writes into the whole state input.
    definition = task_machine(
        {"Resource": lambda_arn("echo"), "InputPath": "$.inner", "ResultPath": "$.inner.echoed"}
    )
    out = await sfn.run(definition, {"inner": {"v": 1}, "other": 2})
    assert out.output == {"inner": {"v": 1, "echoed": {"v": 1}}, "other": 2}


# --- A Python function's errors, as Lambda shapes them. ---


def assert_lambda_cause(cause: str, error_type: str, message: str) -> None:
    body = json.loads(cause)
    assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert body["errorType"] == error_type
    assert body["errorMessage"] == message
    assert isinstance(body["requestId"], str) and body["requestId"]
    trace = body["stackTrace"]
    assert isinstance(trace, list) and all(isinstance(line, str) for line in trace)
    # The handler's own frames, not the worker's machinery around them.
    assert any("handlers.py" in line and "in fail" in line for line in trace), trace
    assert not any("task_handlers.py" in line for line in trace), trace


@pytest.mark.parametrize("resource", ["arn", "invoke"])
async def test_a_handler_exception_is_the_error_with_a_lambda_cause(
    sfn: Executor, resource: str
) -> None:
    event = {"message": "out of stock"}
    definition = (
        task_machine({"Resource": lambda_arn("fail")})
        if resource == "arn"
        else invoke("fail", {"message.$": "$.message"})
    )
    out = await sfn.run(definition, event)
    assert (out.status, out.error) == ("FAILED", "CustomError")
    assert out.cause is not None
    assert_lambda_cause(out.cause, "CustomError", "out of stock")
    failed_type = "LambdaFunctionFailed" if resource == "arn" else "TaskFailed"
    assert out.types()[-2:] == [failed_type, "ExecutionFailed"]
    failed = details(events_of(out, failed_type)[0])
    assert failed["error"] == "CustomError"
    assert failed["cause"] == out.cause
    if resource == "invoke":
        assert (failed["resourceType"], failed["resource"]) == ("lambda", "invoke")
    assert details(out.events[-1]) == {"error": "CustomError", "cause": out.cause}


@pytest.mark.parametrize("resource", ["arn", "invoke"])
async def test_an_unknown_function_is_resource_not_found(sfn: Executor, resource: str) -> None:
    definition = (
        task_machine({"Resource": lambda_arn("no-such-function")})
        if resource == "arn"
        else invoke("no-such-function", {})
    )
    out = await sfn.run(definition)
    assert (out.status, out.error) == ("FAILED", "Lambda.ResourceNotFoundException")
    assert lambda_arn("no-such-function") in (out.cause or "")
    assert "Status Code: 404" in (out.cause or "")


@pytest.mark.parametrize("resource", ["arn", "invoke"])
async def test_a_result_that_is_not_json_is_a_marshal_error(sfn: Executor, resource: str) -> None:
    definition = (
        task_machine({"Resource": lambda_arn("not-json")})
        if resource == "arn"
        else invoke("not-json", {})
    )
    out = await sfn.run(definition)
    assert (out.status, out.error) == ("FAILED", "Runtime.MarshalError")
    # The Python runtime's own fault: its errorType is the error, and it has no stack trace.
    body = out.cause_json()
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert body["stackTrace"] == []


async def test_a_handler_error_is_caught_by_its_name(sfn: Executor) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda_arn("fail"),
                "Catch": [{"ErrorEquals": ["CustomError"], "ResultPath": "$.err", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    out = await sfn.run(definition, {"message": "nope"})
    assert out.status == "SUCCEEDED"
    assert out.output["message"] == "nope"
    assert out.output["err"]["Error"] == "CustomError"
    assert json.loads(out.output["err"]["Cause"])["errorMessage"] == "nope"


# --- TimeoutSeconds. ---


@pytest.mark.parametrize("function", ["sleep", "local-sleep"])
async def test_timeout_seconds_fails_a_slow_lambda_with_states_timeout(
    sfn: Executor, function: str
) -> None:
    definition = task_machine({"Resource": lambda_arn(function), "TimeoutSeconds": 1})
    out = await sfn.run(definition, {"seconds": 2})
    assert (out.status, out.error) == ("FAILED", "States.Timeout")
    assert out.types()[-2:] == ["LambdaFunctionTimedOut", "ExecutionFailed"]
    assert details(events_of(out, "LambdaFunctionScheduled")[0])["timeoutInSeconds"] == 1
    assert details(events_of(out, "LambdaFunctionTimedOut")[0])["error"] == "States.Timeout"
    (took,) = gaps(out, "LambdaFunctionStarted", "LambdaFunctionTimedOut")
    assert 0.9 <= took < 1.9


async def test_timeout_seconds_path_reads_the_limit_from_the_input(sfn: Executor) -> None:
    definition = invoke("sleep", {"seconds.$": "$.seconds"}, TimeoutSecondsPath="$.limit")
    out = await sfn.run(definition, {"seconds": 2, "limit": 1})
    assert (out.status, out.error) == ("FAILED", "States.Timeout")
    assert details(events_of(out, "TaskScheduled")[0])["timeoutInSeconds"] == 1
    assert out.types()[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    timed_out = details(events_of(out, "TaskTimedOut")[0])
    assert (timed_out["resourceType"], timed_out["error"]) == ("lambda", "States.Timeout")

    out = await sfn.run(definition, {"seconds": 0, "limit": 30})
    assert out.status == "SUCCEEDED"
    assert out.output["Payload"] == {"seconds": 0}


async def test_timeout_seconds_path_must_name_a_positive_integer(sfn: Executor) -> None:
    definition = invoke("echo", {}, TimeoutSecondsPath="$.limit")
    out = await sfn.run(definition, {"limit": "soon"})
    assert (out.status, out.error) == ("FAILED", "States.Runtime")


async def test_a_timeout_is_caught_by_states_timeout(sfn: Executor) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda_arn("sleep"),
                "TimeoutSeconds": 1,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        },
    }
    out = await sfn.run(definition, {"seconds": 2})
    assert out.status == "SUCCEEDED"
    assert out.output["Error"] == "States.Timeout"


# --- http:invoke against a loopback server. ---


class EchoHandler(BaseHTTPRequestHandler):
    """Echoes the request as JSON; `/missing` answers 404."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        status = 404 if url.path == "/missing" else 200
        seen = {
            "method": self.command,
            "path": url.path,
            "query": dict(parse_qsl(url.query)),
            "header": self.headers.get("X-Test"),
            "body": json.loads(body) if body else None,
        }
        reply = json.dumps(seen).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = handle_one


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def http_machine(parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return task_machine(
        {"Resource": "arn:aws:states:::http:invoke", "Parameters": parameters, **fields}
    )


async def test_http_invoke_calls_the_endpoint_and_returns_the_response(
    sfn: Executor, base_url: str
) -> None:
    definition = http_machine(
        {
            "ApiEndpoint": f"{base_url}/orders",
            "Method": "POST",
            "Headers": {"X-Test": "yes"},
            "QueryParameters": {"page": "2"},
            "RequestBody": {"id.$": "$.id"},
        }
    )
    out = await sfn.run(definition, {"id": 7})
    assert out.status == "SUCCEEDED"
    assert out.output["StatusCode"] == 200
    assert out.output["StatusText"] == "OK"
    assert out.output["ResponseBody"] == {
        "method": "POST",
        "path": "/orders",
        "query": {"page": "2"},
        "header": "yes",
        "body": {"id": 7},
    }
    assert out.output["Headers"]["Content-Type"] == ["application/json"]
    scheduled = details(events_of(out, "TaskScheduled")[0])
    assert (scheduled["resourceType"], scheduled["resource"]) == ("http", "invoke")
    assert events_of(out, "TaskSucceeded")


async def test_http_invoke_fails_on_a_non_2xx_status(sfn: Executor, base_url: str) -> None:
    definition = http_machine({"ApiEndpoint": f"{base_url}/missing", "Method": "GET"})
    out = await sfn.run(definition)
    assert (out.status, out.error) == ("FAILED", "States.Http.StatusCode.404")
    assert out.cause_json()["StatusCode"] == 404
    failed = details(events_of(out, "TaskFailed")[0])
    assert (failed["resourceType"], failed["error"]) == ("http", "States.Http.StatusCode.404")


async def test_an_infrastructure_error_in_a_handler_is_retried_not_failed(sfn: Executor) -> None:
    # No Retry block: on Lambda this would fail the execution. Here an outage never does.
    key = f"infra-{uuid.uuid4().hex}"
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": lambda_arn("flaky-connection"), "End": True}},
    }
    out = await sfn.run(definition, {"key": key, "failures": 2})
    assert out.status == "SUCCEEDED"
    assert out.output == {"calls": 3}
    # One attempt of the state as AWS counts them: the retries happened below the state.
    assert out.types().count("LambdaFunctionScheduled") == 1
