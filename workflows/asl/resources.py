"""What a Task state's `Resource` names, and how AWS records and shapes a call to it.

Four kinds run here (`validate` refuses the rest at create time):

- a Lambda function's ARN: the function's handler gets the state's input and its result is
  the task's result; history events `LambdaFunction*`;
- `arn:aws:states:::lambda:invoke` (optionally `.waitForTaskToken`): the handler named by
  `Parameters.FunctionName` gets `Parameters.Payload`, and the result is wrapped as the Lambda
  API answers (`Payload`, `StatusCode`, ...); history events `Task*`;
- `arn:aws:states:::http:invoke`: an HTTP call; events `Task*`;
- an activity's ARN: a worker fetches the task with `GetActivityTask` and answers with
  `SendTaskSuccess`/`SendTaskFailure`; events `Activity*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

Kind = Literal["lambda", "lambda:invoke", "http:invoke", "activity"]

_LAMBDA_ARN: Final = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[$A-Za-z0-9_-]+))?"
)
_INTEGRATION: Final = re.compile(
    r"arn:aws[a-z-]*:states:::(?P<service>lambda|http):invoke(?P<token>\.waitForTaskToken)?"
)
_ACTIVITY_ARN: Final = re.compile(
    r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:(?P<name>[A-Za-z0-9_.-]{1,80})"
)
_FUNCTION_NAME: Final = re.compile(
    # A name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, with an optional qualifier.
    r"(?:(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::[$A-Za-z0-9_-]+)?"
)


@dataclass(frozen=True)
class Target:
    """A Task state's resource, parsed."""

    kind: Kind
    resource: str
    """The resource as the definition wrote it."""
    name: str | None = None
    """The Lambda function or activity named by the ARN itself; None when `Parameters` names
    it (`lambda:invoke`) or nothing does (`http:invoke`)."""
    wait_for_token: bool = False

    @property
    def resource_type(self) -> str:
        """`resourceType` of `Task*` events: the service's name."""
        return "http" if self.kind == "http:invoke" else "lambda"

    @property
    def short_resource(self) -> str:
        """`resource` of `Task*` events: the API action, with its pattern."""
        return "invoke.waitForTaskToken" if self.wait_for_token else "invoke"


def parse_resource(resource: str) -> Target:
    """The target of a resource ARN that `validate` accepted."""
    if match := _LAMBDA_ARN.fullmatch(resource):
        return Target("lambda", resource, match["name"])
    if match := _INTEGRATION.fullmatch(resource):
        kind: Kind = "lambda:invoke" if match["service"] == "lambda" else "http:invoke"
        return Target(kind, resource, None, wait_for_token=bool(match["token"]))
    if match := _ACTIVITY_ARN.fullmatch(resource):
        return Target("activity", resource, match["name"])
    raise ValueError(f"Statewright cannot run the resource {resource!r}")


def function_name(value: Any) -> str | None:
    """The handler a `lambda:invoke` task's `FunctionName` names, or None if it names none."""
    if not isinstance(value, str):
        return None
    match = _FUNCTION_NAME.fullmatch(value)
    return match["name"] if match else None


def function_arn(name: str, region: str, account: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def lambda_response(payload: Any, request_id: str) -> dict[str, Any]:
    """What `lambda:invoke` returns for a function's result: the Lambda Invoke API's answer,
    with the function's result under `Payload`."""
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [value] for key, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
