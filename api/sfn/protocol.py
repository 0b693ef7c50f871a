"""The AWS JSON 1.0 endpoint: `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>`.

Access. With no SigV4 credentials file configured and no API keys (the dev default, bound to
127.0.0.1) any signature, or none, is accepted, as Step Functions Local does. With a
credentials file (`STATEWRIGHT_SFN_CREDENTIALS_FILE`), a request must be signed with one of
its keys for the service `states` in the configured region, and the key needs the scope
`sfn:write` for operations that change something, `runs:read` (or the write
scope) for the rest, or `admin`. With API keys on but no credentials file, the endpoint is
closed: an open door beside a locked API would be a hole.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import DBAPIError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AppState
from api.gateway import TemporalUnavailable
from api.sfn import activities, callbacks, executions, redrive, state_machines, state_test
from api.sfn.arns import Arns
from api.sfn.context import Operation, Sfn
from api.sfn.errors import SfnError
from api.sfn.sigv4 import Credential, SignatureError, verify_request

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "application/x-amz-json-1.0"
TARGET_PREFIX: Final = "AWSStepFunctions."
WRITE_SCOPE: Final = "sfn:write"
READ_SCOPE: Final = "runs:read"

OPERATIONS: Final[dict[str, Operation]] = {
    "CreateStateMachine": state_machines.create,
    "DescribeStateMachine": state_machines.describe,
    "UpdateStateMachine": state_machines.update,
    "DeleteStateMachine": state_machines.delete,
    "ListStateMachines": state_machines.list_machines,
    "ValidateStateMachineDefinition": state_machines.validate,
    "StartExecution": executions.start,
    "StartSyncExecution": executions.start_sync,
    "DescribeExecution": executions.describe,
    "ListExecutions": executions.list_executions,
    "StopExecution": executions.stop,
    "RedriveExecution": redrive.redrive,
    "GetExecutionHistory": executions.history,
    "DescribeStateMachineForExecution": executions.describe_machine_for_execution,
    "SendTaskSuccess": callbacks.send_success,
    "SendTaskFailure": callbacks.send_failure,
    "SendTaskHeartbeat": callbacks.send_heartbeat,
    "CreateActivity": activities.create,
    "DescribeActivity": activities.describe,
    "DeleteActivity": activities.delete,
    "ListActivities": activities.list_activities,
    "GetActivityTask": activities.get_task,
    "TestState": state_test.test_state,
}
"""Every operation served, by its name in `X-Amz-Target`."""

READ_ONLY: Final = frozenset(
    name
    for name in OPERATIONS
    if name.startswith(("Describe", "List", "GetExecution"))
    or name == "ValidateStateMachineDefinition"
)
"""Operations that change nothing. `GetActivityTask` is not one: it takes a task."""

router = APIRouter(tags=["aws"])


def _answer(status: int, body: Mapping[str, Any]) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=CONTENT_TYPE,
    )


def _error(err: SfnError) -> Response:
    return _answer(err.status, err.body())


class Access:
    """Who may call the AWS API on this deployment."""

    def __init__(self, state: AppState) -> None:
        settings = state.settings
        self.region = settings.aws_region
        self.credentials: dict[str, Credential] | None = state.sfn_credentials
        self.closed = self.credentials is None and state.keys.enabled

    def check(self, request: Request, body: bytes, operation: str) -> None:
        if self.closed:
            raise SfnError(
                "UnrecognizedClientException",
                "The Step Functions API needs SigV4 credentials on this deployment: set "
                "STATEWRIGHT_SFN_CREDENTIALS_FILE",
            )
        if self.credentials is None:
            return
        try:
            credential = verify_request(
                method=request.method,
                path=request.scope.get("raw_path", b"/").decode("latin-1"),
                query=request.scope.get("query_string", b"").decode("latin-1"),
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]
                ],
                body=body,
                credentials=self.credentials,
                region=self.region,
                now=datetime.now(UTC),
            )
        except SignatureError as err:
            status = 403 if err.code != "IncompleteSignatureException" else 400
            raise SfnError(err.code, err.message, status=status) from None
        scopes = set(credential.scopes)
        allowed = {"admin", WRITE_SCOPE} | ({READ_SCOPE} if operation in READ_ONLY else set())
        if not scopes & allowed:
            raise SfnError(
                "AccessDeniedException",
                f"User: {credential.access_key_id} is not authorized to perform: "
                f"states:{operation}",
            )


def sfn_of(state: AppState) -> Sfn:
    """What the operations work with, from the app's state."""
    return Sfn(
        settings=state.settings,
        sessions=state.sessions,
        temporal=state.temporal.client,
        arns=Arns(state.settings.aws_region, state.settings.aws_account),
        machines=state.sfn_machines,
        histories=state.sfn_histories,
    )


@router.post("/", include_in_schema=False)
async def aws_json(request: Request) -> Response:
    """One AWS Step Functions API call."""
    state: AppState = request.app.state.statewright
    target = request.headers.get("x-amz-target", "")
    operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
    body = await request.body()
    try:
        access = Access(state)
        if access.closed:
            # Before anything else: a closed endpoint does not even say what it offers.
            access.check(request, body, operation)
        if operation not in OPERATIONS:
            raise SfnError(
                "UnknownOperationException",
                f"The operation {target or '(no X-Amz-Target)'} is not one this service offers",
            )
        access.check(request, body, operation)
        params = _params(body)
        return _answer(200, await OPERATIONS[operation](sfn_of(state), params))
    except SfnError as err:
        return _error(err)
    except TemporalUnavailable as err:
        log.warning("Temporal unavailable: %s", err)
        return _error(SfnError("ServiceUnavailable", "Temporal is unreachable", status=503))
    except RPCError as err:
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            log.warning("Temporal unavailable: %s", err)
            return _error(SfnError("ServiceUnavailable", "Temporal is unreachable", status=503))
        log.exception("Temporal refused %s", operation)
        return _error(SfnError("InternalFailure", "the request failed unexpectedly", 500))
    except DBAPIError as err:
        log.warning("database unavailable: %s", err)
        return _error(SfnError("ServiceUnavailable", "the database is unreachable", 503))


def _params(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        params = json.loads(body)
    except ValueError:
        raise SfnError("SerializationException", "The request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise SfnError("SerializationException", "The request body must be a JSON object")
    return params
