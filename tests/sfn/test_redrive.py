"""`RedriveExecution`, driven by boto3: a failed, aborted or timed-out execution continues
from where it ended. States that succeeded do not run again; in a Map or a Parallel only the
iterations and branches that did not succeed run again. The handler `fixable` fails while its
key is "down" (`BROKEN`), like a dependency that comes back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from api.sfn.executions import workflow_id
from tests.sfn.aws import Aws
from tests.sfn.handlers import BROKEN, SEEN
from tests.sfn.harness import lambda_arn


@pytest.fixture
async def aws(api: str, worker: Worker) -> Aws:
    return Aws(api)


@pytest.fixture
def key() -> Iterator[str]:
    prefix = uuid.uuid4().hex[:10]
    yield prefix
    for down in [k for k in BROKEN if k.startswith(prefix)]:
        BROKEN.discard(down)


def fixable(key: str, value: Any = None, **state: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": lambda_arn("fixable"),
        "Parameters": {"key": key, "value": value},
        **state,
    }


def code_of(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


async def start(aws: Aws, definition: dict[str, Any], value: Any = None, **params: Any) -> str:
    arn = await aws.machine(f"redrive-{uuid.uuid4().hex[:10]}", definition, **params)
    started = await aws(
        "start_execution", stateMachineArn=arn, input=json.dumps(value or {}), name="run"
    )
    execution: str = started["executionArn"]
    return execution


async def history(aws: Aws, execution: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = await aws("get_execution_history", executionArn=execution, maxResults=1000, **token)
        events += page["events"]
        if "nextToken" not in page:
            return events
        token = {"nextToken": page["nextToken"]}


async def test_a_failed_execution_continues_from_the_failed_state(aws: Aws, key: str) -> None:
    definition = {
        "StartAt": "First",
        "States": {
            "First": fixable(f"{key}-first", 1, ResultPath="$.first", Next="Remember"),
            "Remember": {"Type": "Pass", "Assign": {"seen.$": "$.first.value"}, "Next": "Flaky"},
            "Flaky": fixable(f"{key}-flaky", 2, ResultPath="$.flaky", Next="Last"),
            "Last": {
                "Type": "Pass",
                "Parameters": {"first.$": "$.first.value", "seen.$": "$seen", "all.$": "$"},
                "End": True,
            },
        },
    }
    BROKEN.add(f"{key}-flaky")
    execution = await start(aws, definition, {"order": "o-1"})
    failed = await aws.finished(execution)
    assert failed["status"] == "FAILED" and failed["error"] == "CustomError"
    assert failed["redriveStatus"] == "REDRIVABLE" and failed["redriveCount"] == 0
    first_start = failed["startDate"]

    BROKEN.discard(f"{key}-flaky")
    answer = await aws("redrive_execution", executionArn=execution)
    done = await aws.finished(execution)

    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {
        "first": 1,
        "seen": 1,  # the variable assigned before the failure is still there
        "all": {"order": "o-1", "first": {"value": 1}, "flaky": {"value": 2}},
    }
    assert len(SEEN[f"{key}-first"]) == 1, "a state that succeeded ran again"
    assert len(SEEN[f"{key}-flaky"]) == 2
    assert done["redriveCount"] == 1
    assert done["redriveDate"] == answer["redriveDate"]
    assert done["startDate"] == first_start, "AWS keeps the first start date"
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven."

    events = await history(aws, execution)
    types = [event["type"] for event in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    failed_at = types.index("ExecutionFailed")
    assert types[failed_at + 1] == "ExecutionRedriven"
    redriven = events[failed_at + 1]
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert redriven["previousEventId"] == events[failed_at]["id"]
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    after = [
        event["stateEnteredEventDetails"]["name"]
        for event in events[failed_at:]
        if "stateEnteredEventDetails" in event
    ]
    assert after == ["Flaky", "Last"], "the redrive entered states that had succeeded"


async def test_a_map_reruns_only_the_iterations_that_did_not_succeed(aws: Aws, key: str) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemsPath": "$.items",
                "ItemSelector": {"key.$": "$$.Map.Item.Value", "value.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "StartAt": "Call",
                    "States": {
                        "Call": {
                            "Type": "Task",
                            "Resource": lambda_arn("fixable"),
                            "Parameters": {"key.$": "$.key", "value.$": "$.value"},
                            "OutputPath": "$.value",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    items = [f"{key}-{index}" for index in range(6)]
    BROKEN.update({items[2], items[4]})
    execution = await start(aws, definition, {"items": items})
    assert (await aws.finished(execution))["status"] == "FAILED"
    # One at a time: 0 and 1 succeeded, 2 failed, and 3 to 5 never started.
    assert [len(SEEN[item]) for item in items] == [1, 1, 1, 0, 0, 0]

    BROKEN.discard(items[2])
    await aws("redrive_execution", executionArn=execution)
    again = await aws.finished(execution)
    assert again["status"] == "FAILED" and again["redriveCount"] == 1
    assert [len(SEEN[item]) for item in items] == [1, 1, 2, 1, 1, 0]

    BROKEN.discard(items[4])
    await aws("redrive_execution", executionArn=execution)
    done = await aws.finished(execution)
    assert done["status"] == "SUCCEEDED" and done["redriveCount"] == 2
    assert json.loads(done["output"]) == [0, 1, 2, 3, 4, 5]
    assert [len(SEEN[item]) for item in items] == [1, 1, 2, 1, 2, 1]

    events = await history(aws, execution)
    assert [e["type"] for e in events].count("ExecutionRedriven") == 2
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))


async def test_a_parallel_reruns_only_the_failed_branch(aws: Aws, key: str) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Quick",
                        "States": {"Quick": fixable(f"{key}-quick", "q", End=True)},
                    },
                    {
                        "StartAt": "Later",
                        "States": {
                            # The other branch finishes first, so it is not cancelled.
                            "Later": {"Type": "Wait", "Seconds": 1, "Next": "Down"},
                            "Down": fixable(f"{key}-down", "d", End=True),
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    BROKEN.add(f"{key}-down")
    execution = await start(aws, definition)
    assert (await aws.finished(execution))["status"] == "FAILED"
    BROKEN.discard(f"{key}-down")
    await aws("redrive_execution", executionArn=execution)
    done = await aws.finished(execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [{"value": "q"}, {"value": "d"}]
    assert len(SEEN[f"{key}-quick"]) == 1
    assert len(SEEN[f"{key}-down"]) == 2
    events = await history(aws, execution)
    redriven = [e["type"] for e in events].index("ExecutionRedriven")
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in events[redriven:]
        if "stateEnteredEventDetails" in e
    ]
    # The failed branch continues at the state that failed: its Wait is not waited again.
    assert entered == ["Both", "Down"]


async def test_an_aborted_execution_can_be_redriven(aws: Aws, key: str) -> None:
    definition = {
        "StartAt": "First",
        "States": {
            "First": fixable(f"{key}-first", 1, Next="Hold"),
            "Hold": {"Type": "Wait", "Seconds": 600, "End": True},
        },
    }
    execution = await start(aws, definition)
    for _ in range(100):
        events = await history(aws, execution)
        if any(e.get("stateEnteredEventDetails", {}).get("name") == "Hold" for e in events):
            break
        await asyncio.sleep(0.1)
    await aws("stop_execution", executionArn=execution, error="Ops", cause="paused by hand")
    stopped = await aws.finished(execution)
    assert stopped["status"] == "ABORTED" and stopped["redriveStatus"] == "REDRIVABLE"

    await aws("redrive_execution", executionArn=execution)
    running = await aws("describe_execution", executionArn=execution)
    assert running["status"] == "RUNNING" and running["redriveCount"] == 1
    with pytest.raises(ClientError) as refused:
        await aws("redrive_execution", executionArn=execution)
    assert code_of(refused) == "ExecutionNotRedrivable"
    assert "RUNNING" in str(refused.value)
    await aws("stop_execution", executionArn=execution)
    await aws.finished(execution)
    assert len(SEEN[f"{key}-first"]) == 1
    types = [e["type"] for e in await history(aws, execution)]
    assert types.count("ExecutionAborted") == 2 and types.count("ExecutionRedriven") == 1


async def test_a_timed_out_execution_can_be_redriven(aws: Aws, key: str) -> None:
    definition = {
        "TimeoutSeconds": 1,
        "StartAt": "First",
        "States": {
            "First": fixable(f"{key}-first", 1, ResultPath="$.first", Next="Hold"),
            "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "End": True},
        },
    }
    execution = await start(aws, definition, {"wait": 5})
    timed_out = await aws.finished(execution, within=60)
    assert timed_out["status"] == "TIMED_OUT", (timed_out.get("error"), timed_out.get("cause"))
    assert timed_out["redriveStatus"] == "REDRIVABLE"
    await aws("redrive_execution", executionArn=execution)
    again = await aws.finished(execution, within=60)
    assert again["status"] == "TIMED_OUT" and again["redriveCount"] == 1
    assert len(SEEN[f"{key}-first"]) == 1


async def test_what_cannot_be_redriven_is_refused_in_aws_words(aws: Aws, key: str) -> None:
    done = await start(aws, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    await aws.finished(done)
    with pytest.raises(ClientError) as refused:
        await aws("redrive_execution", executionArn=done)
    assert code_of(refused) == "ExecutionNotRedrivable"
    assert refused.value.response["Error"]["Message"] == (
        "Execution is SUCCEEDED and cannot be redriven."
    )

    express = await start(
        aws,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}},
        type="EXPRESS",
    )
    assert (await aws.finished(express))["status"] == "FAILED"
    with pytest.raises(ClientError) as refused:
        await aws("redrive_execution", executionArn=express)
    assert code_of(refused) == "ExecutionNotRedrivable"
    assert "EXPRESS" in refused.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as missing:
        await aws("redrive_execution", executionArn=done.replace(":run", ":never-ran"))
    assert code_of(missing) == "ExecutionDoesNotExist"


async def test_the_same_client_token_redrives_once(aws: Aws, key: str) -> None:
    BROKEN.add(f"{key}-down")
    execution = await start(
        aws, {"StartAt": "Down", "States": {"Down": fixable(f"{key}-down", End=True)}}
    )
    await aws.finished(execution)
    first = await aws("redrive_execution", executionArn=execution, clientToken="once")
    await aws.finished(execution)
    second = await aws("redrive_execution", executionArn=execution, clientToken="once")
    assert second["redriveDate"] == first["redriveDate"]
    assert (await aws.finished(execution))["redriveCount"] == 1
    assert len(SEEN[f"{key}-down"]) == 2


async def test_a_large_map_reruns_only_the_chunks_that_did_not_finish(
    aws: Aws, key: str, client: Client
) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                # One iteration at a time: chunk 0 finishes, then chunk 1 fails at item 700.
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Which",
                    "States": {
                        "Which": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 700, "Next": "Call"}],
                            "Default": "Same",
                        },
                        "Call": fixable(f"{key}-700", 700, OutputPath="$.value", End=True),
                        "Same": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    BROKEN.add(f"{key}-700")
    execution = await start(aws, definition, list(range(1200)))
    assert (await aws.finished(execution, within=120))["status"] == "FAILED"
    BROKEN.discard(f"{key}-700")
    await aws("redrive_execution", executionArn=execution)
    done = await aws.finished(execution, within=120)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == list(range(1200))
    assert len(SEEN[f"{key}-700"]) == 2

    parent = workflow_id(*execution.split(":")[-2:])
    redriven = f"{parent}/redrive-1/map-1"
    # Chunk 0 finished before the failure: the redrive kept its results.
    with pytest.raises(RPCError):
        await client.get_workflow_handle(f"{redriven}/chunk-0").describe()
    for chunk in (1, 2):
        await client.get_workflow_handle(f"{redriven}/chunk-{chunk}").describe()
    events = await history(aws, execution)
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "ExecutionSucceeded"


async def test_redrives_at_once_each_continue_the_latest_run(aws: Aws, key: str) -> None:
    """Six redrives sent together, of an execution that fails again at once: each must
    continue the run before it, so the history holds every run, in order. Unserialised, two
    could read the same run and the later would drop the other's run from the history."""
    # A Fail state fails again within the redriven run's first workflow task: the widest
    # window for a second redrive to read a run that another has just continued.
    execution = await start(
        aws, {"StartAt": "Down", "States": {"Down": {"Type": "Fail", "Error": "Down"}}}
    )
    await aws.finished(execution)

    async def redrive() -> bool:
        try:
            await aws("redrive_execution", executionArn=execution)
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ExecutionNotRedrivable"
            return False
        return True

    accepted = sum(await asyncio.gather(*(redrive() for _ in range(6))))
    assert accepted >= 1
    done = await aws.finished(execution)
    assert done["status"] == "FAILED" and done["redriveCount"] == accepted
    events = await history(aws, execution)
    types = [event["type"] for event in events]
    assert types.count("ExecutionRedriven") == accepted
    assert types.count("ExecutionFailed") == accepted + 1
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    counts = [
        e["executionRedrivenEventDetails"]["redriveCount"]
        for e in events
        if "executionRedrivenEventDetails" in e
    ]
    assert counts == list(range(1, accepted + 1))
