"""The AWS Step Functions API with AWS's own tools: the aws CLI end to end, callbacks with
boto3, and SigV4 when credentials are configured."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from core.settings import Settings
from statewright.flows import FLOWS
from statewright.tasks import task
from tests.conftest import serve
from tests.sfn.aws import Aws
from tests.sfn.handlers import BROKEN
from tests.sfn.harness import ROLE, lambda_arn

AWS_CLI = Path(sys.executable).with_name("aws")
TOKENS: dict[str, str] = {}
"""Task tokens handed to `remember-token-for-api`, by the key in its payload."""


@task("remember-token-for-api")
def remember_token(event: dict[str, str]) -> dict[str, bool]:
    TOKENS[event["key"]] = event["token"]
    return {"submitted": True}


async def aws_cli(endpoint: str, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret-in-dev-mode",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    proc = await asyncio.create_subprocess_exec(
        str(AWS_CLI),
        "stepfunctions",
        *args,
        "--endpoint-url",
        endpoint,
        "--output",
        "json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out) if out.strip() else None


async def test_the_aws_cli_creates_runs_and_reads_an_execution(api: str, worker: Worker) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    definition = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"},
                "End": True,
            }
        },
    }
    created = await aws_cli(
        api,
        "create-state-machine",
        "--name",
        name,
        "--definition",
        json.dumps(definition),
        "--role-arn",
        ROLE,
    )
    arn = created["stateMachineArn"]
    started = await aws_cli(
        api, "start-execution", "--state-machine-arn", arn, "--input", '{"who": "CLI"}'
    )
    for _ in range(100):
        described = await aws_cli(
            api, "describe-execution", "--execution-arn", started["executionArn"]
        )
        if described["status"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "Hello, CLI!"}
    history = await aws_cli(
        api, "get-execution-history", "--execution-arn", started["executionArn"]
    )
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
    listed = await aws_cli(api, "list-state-machines")
    assert arn in [m["stateMachineArn"] for m in listed["stateMachines"]]


async def test_send_task_success_completes_a_waiting_task(api: str, worker: Worker) -> None:
    aws = Aws(api)
    key = uuid.uuid4().hex
    waiting = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "remember-token-for-api",
                    "Payload": {"key": key, "token.$": "$$.Task.Token"},
                },
                "End": True,
            }
        },
    }
    arn = await aws.machine(f"callback-{key[:8]}", waiting)
    started = await aws("start_execution", stateMachineArn=arn)
    for _ in range(200):
        if key in TOKENS:
            break
        await asyncio.sleep(0.05)
    token = TOKENS[key]
    await aws("send_task_heartbeat", taskToken=token)
    await aws("send_task_success", taskToken=token, output=json.dumps({"approved": True}))
    done = await aws.finished(started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"approved": True}
    # The token is spent: a second answer is refused, as AWS refuses it.
    with pytest.raises(ClientError) as err:
        await aws("send_task_success", taskToken=token, output="{}")
    assert err.value.response["Error"]["Code"] == "TaskTimedOut"
    with pytest.raises(ClientError) as err:
        await aws("send_task_failure", taskToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidToken"
    history = await aws("get_execution_history", executionArn=started["executionArn"])
    types = [event["type"] for event in history["events"]]
    assert types.index("TaskSubmitted") < types.index("TaskSucceeded")


@pytest.fixture
async def signed_api(
    settings: Settings, database_url: str, client: Client, tmp_path: Path
) -> AsyncIterator[str]:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "credentials": [
                    {
                        "access_key_id": "AKIAWRITER",
                        "secret_access_key": "writer-secret-0123456789",
                        "scopes": ["sfn:write"],
                    },
                    {
                        "access_key_id": "AKIAREADER",
                        "secret_access_key": "reader-secret-0123456789",
                        "scopes": ["runs:read"],
                    },
                ]
            }
        )
    )
    credentials.chmod(0o600)
    signed = settings.model_copy(update={"sfn_credentials_file": credentials})
    async with serve(create_app(FLOWS, signed, database_url, client), signed) as base_url:
        yield base_url


def signed_client(endpoint: str, key: str, secret: str) -> Aws:
    return Aws(endpoint, key=key, secret=secret)


async def test_with_credentials_on_requests_must_be_signed_by_a_known_key(
    signed_api: str, worker: Worker
) -> None:
    writer = signed_client(signed_api, "AKIAWRITER", "writer-secret-0123456789")
    reader = signed_client(signed_api, "AKIAREADER", "reader-secret-0123456789")
    forger = signed_client(signed_api, "AKIAWRITER", "a-guessed-secret-0000000")
    stranger = signed_client(signed_api, "AKIASTRANGER", "whatever-secret-000000")
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    arn = await writer.machine(f"signed-{uuid.uuid4().hex[:8]}", definition)
    described = await reader("describe_state_machine", stateMachineArn=arn)
    assert described["stateMachineArn"] == arn
    for client, code in (
        (forger, "InvalidSignatureException"),
        (stranger, "UnrecognizedClientException"),
    ):
        with pytest.raises(ClientError) as err:
            await client("describe_state_machine", stateMachineArn=arn)
        assert err.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as err:
        await reader("start_execution", stateMachineArn=arn)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


def activity_machine(activity_arn: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity_arn, "End": True, **task}},
    }


async def test_activity_workers_poll_and_answer_tasks(api: str, worker: Worker) -> None:
    aws = Aws(api)
    suffix = uuid.uuid4().hex[:8]
    activity = await aws("create_activity", name=f"approve-{suffix}")
    again = await aws("create_activity", name=f"approve-{suffix}")
    assert again["activityArn"] == activity["activityArn"]
    arn = await aws.machine(f"activity-{suffix}", activity_machine(activity["activityArn"]))
    started = await aws("start_execution", stateMachineArn=arn, input='{"amount": 12}')
    task = await aws("get_activity_task", activityArn=activity["activityArn"], workerName="w1")
    assert json.loads(task["input"]) == {"amount": 12}
    await aws("send_task_success", taskToken=task["taskToken"], output='{"approved": true}')
    done = await aws.finished(started["executionArn"])
    assert json.loads(done["output"]) == {"approved": True}
    history = await aws("get_execution_history", executionArn=started["executionArn"])
    types = [event["type"] for event in history["events"]]
    assert types[2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert history["events"][3]["activityStartedEventDetails"] == {"workerName": "w1"}


async def test_an_activity_task_without_heartbeats_times_out(api: str, worker: Worker) -> None:
    aws = Aws(api)
    activity = await aws("create_activity", name=f"slow-{uuid.uuid4().hex[:8]}")
    definition = activity_machine(activity["activityArn"], HeartbeatSeconds=1)
    arn = await aws.machine(f"heartbeat-{uuid.uuid4().hex[:8]}", definition)
    started = await aws("start_execution", stateMachineArn=arn)
    task = await aws("get_activity_task", activityArn=activity["activityArn"])
    done = await aws.finished(started["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", "States.HeartbeatTimeout")
    with pytest.raises(ClientError) as err:
        await aws("send_task_success", taskToken=task["taskToken"], output="{}")
    assert err.value.response["Error"]["Code"] == "TaskTimedOut"


async def test_activities_are_listed_a_page_at_a_time_and_deleted(api: str, worker: Worker) -> None:
    aws = Aws(api)
    names = sorted(f"paged-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for name in names:
        await aws("create_activity", name=name)
    seen: list[str] = []
    token = None
    while True:
        page = await aws("list_activities", maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["activities"]) <= 2
        seen += [activity["name"] for activity in page["activities"]]
        token = page.get("nextToken")
        if not token:
            break
    assert set(names) <= set(seen) and seen == sorted(seen)
    arn = f"arn:aws:states:us-east-1:123456789012:activity:{names[0]}"
    await aws("delete_activity", activityArn=arn)
    with pytest.raises(ClientError) as err:
        await aws("describe_activity", activityArn=arn)
    assert err.value.response["Error"]["Code"] == "ActivityDoesNotExist"


async def test_the_aws_cli_redrives_a_failed_execution(api: str, worker: Worker) -> None:
    key = f"cli-redrive-{uuid.uuid4().hex[:8]}"
    definition = {
        "StartAt": "Down",
        "States": {
            "Down": {
                "Type": "Task",
                "Resource": lambda_arn("fixable"),
                "Parameters": {"key": key, "value": "back"},
                "End": True,
            }
        },
    }
    created = await aws_cli(
        api, "create-state-machine", "--name", key, "--definition", json.dumps(definition),
        "--role-arn", ROLE,
    )  # fmt: skip
    BROKEN.add(key)
    try:
        started = await aws_cli(
            api, "start-execution", "--state-machine-arn", created["stateMachineArn"]
        )
        arn = started["executionArn"]
        described = await _until_ended(api, arn)
        assert described["status"] == "FAILED" and described["redriveStatus"] == "REDRIVABLE"
    finally:
        BROKEN.discard(key)
    redriven = await aws_cli(api, "redrive-execution", "--execution-arn", arn)
    assert "redriveDate" in redriven
    described = await _until_ended(api, arn)
    assert described["status"] == "SUCCEEDED" and described["redriveCount"] == 1
    assert json.loads(described["output"]) == {"value": "back"}


async def _until_ended(api: str, arn: str) -> Any:
    for _ in range(100):
        described = await aws_cli(api, "describe-execution", "--execution-arn", arn)
        if described["status"] != "RUNNING":
            return described
        await asyncio.sleep(0.1)
    raise AssertionError(f"{arn} is still running")
