"""A Map past INLINE_ITERATIONS runs its iterations in child workflows of CHUNK_SIZE, so the
execution's own history stays small; results, failures, MaxConcurrency and the AWS history
come out as they would inline."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.sfn.aws import Aws
from tests.sfn.harness import Executor, lambda_arn
from workflows.asl.map_chunks import CHUNK_SIZE, INLINE_ITERATIONS, plan

COUNT = INLINE_ITERATIONS * 2 + 50  # five chunks


def map_of(task: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "T", "States": {"T": {**task, "End": True}}},
                "End": True,
                **fields,
            }
        },
    }


LOCAL_ECHO = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "local-echo", "Payload.$": "$"},
    "OutputPath": "$.Payload",
}


def test_the_plan_keeps_max_concurrency_across_chunks() -> None:
    total = CHUNK_SIZE * 2 + 50
    assert [len(r) for r in plan(total, 0).chunks] == [CHUNK_SIZE, CHUNK_SIZE, 50]
    assert (plan(total, 0).chunks_at_once, plan(total, 0).per_chunk) == (0, 0)
    assert (plan(total, 1).chunks_at_once, plan(total, 1).per_chunk) == (1, 1)
    assert (plan(total, 10).chunks_at_once, plan(total, 10).per_chunk) == (1, 10)
    assert (plan(total, 25).chunks_at_once, plan(total, 25).per_chunk) == (2, 12)
    assert (plan(total, 40).chunks_at_once, plan(total, 40).per_chunk) == (3, 13)
    assert (plan(total, 1000).chunks_at_once, plan(total, 1000).per_chunk) == (3, 333)
    for limit in range(1, 300):
        chosen = plan(total, limit)
        assert chosen.chunks_at_once * chosen.per_chunk <= limit


async def test_a_large_map_runs_in_chunks_with_results_in_order(
    sfn: Executor, client: Client
) -> None:
    handle = await sfn.start(map_of(LOCAL_ECHO, MaxConcurrency=40), list(range(COUNT)))
    out = await sfn.outcome(handle)
    assert out.status == "SUCCEEDED"
    assert out.output == list(range(COUNT))
    history = await handle.fetch_history()
    children = [
        e
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert len(children) == len(plan(COUNT, 40).chunks) == 5
    # The execution's own history is a few events per chunk, not several per iteration.
    assert len(history.events) < 60, len(history.events)


async def test_a_failed_iteration_in_a_later_chunk_fails_the_map_with_its_error(
    sfn: Executor,
) -> None:
    failing = {
        "Type": "Task",
        "Resource": lambda_arn("scripted"),
        "Parameters": {"key.$": "States.Format('big-{}', $.n)", "errors.$": "$.errors"},
    }
    items = [{"n": i, "errors": ["Boom"] if i == COUNT - 1 else []} for i in range(COUNT)]
    out = await sfn.run(map_of(failing), items)
    assert out.status == "FAILED"
    assert out.error == "Boom"


async def test_tolerated_failures_are_counted_across_chunks(sfn: Executor) -> None:
    failing = {"Type": "Task", "Resource": lambda_arn("fail")}
    bad = {INLINE_ITERATIONS + 1, COUNT - 1}
    items = [{"message": "bad"} if i in bad else {"fine": i} for i in range(COUNT)]
    echo = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.message", "IsPresent": True, "Next": "F"}],
        "Default": "P",
    }
    processor = {
        "StartAt": "C",
        "States": {
            "C": echo,
            "F": {**failing, "End": True},
            "P": {"Type": "Pass", "End": True},
        },
    }
    definition: dict[str, Any] = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": processor,
                "ToleratedFailureCount": 2,
                "End": True,
            }
        },
    }
    out = await sfn.run(definition, items)
    assert out.status == "SUCCEEDED"
    assert [i for i, r in enumerate(out.output) if "Error" in r] == sorted(bad)
    definition["States"]["Each"]["ToleratedFailureCount"] = 1
    out = await sfn.run(definition, items)
    assert (out.status, out.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


@pytest.fixture
async def aws(api: str, worker: Worker) -> Aws:
    return Aws(api)


async def test_the_history_holds_every_iteration_numbered_in_order(aws: Aws) -> None:
    arn = await aws.machine(f"large-{uuid.uuid4().hex[:8]}", map_of(LOCAL_ECHO))
    started = await aws(
        "start_execution", stateMachineArn=arn, input=json.dumps(list(range(COUNT)))
    )
    done = await aws.finished(started["executionArn"], within=60)
    assert done["status"] == "SUCCEEDED"
    events = []
    token = None
    while True:
        page = await aws(
            "get_execution_history",
            executionArn=started["executionArn"],
            maxResults=1000,
            **({"nextToken": token} if token else {}),
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    started_indexes = sorted(
        e["mapIterationStartedEventDetails"]["index"]
        for e in events
        if e["type"] == "MapIterationStarted"
    )
    assert started_indexes == list(range(COUNT))
    assert not any(e["type"].startswith("Statewright") for e in events)
    types = [e["type"] for e in events]
    assert types[:3] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]
    assert types[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]


async def test_iterations_in_chunks_see_the_execution_in_the_context_object(
    sfn: Executor,
) -> None:
    reads_context = {
        "Type": "Pass",
        "Parameters": {"tag.$": "$$.Execution.Input.tag", "item.$": "$$.Execution.Name"},
    }
    definition = map_of(reads_context, ItemsPath="$.items")
    name = f"ctx-{uuid.uuid4().hex[:8]}"
    handle = await sfn.start(definition, {"tag": "t-1", "items": list(range(COUNT))}, name=name)
    out = await sfn.outcome(handle)
    assert out.output == [{"tag": "t-1", "item": name}] * COUNT
