"""SIGKILL the worker while 50 interpreted executions are in flight, with Waits, Maps, Retries
and handler calls under way: once a worker is back, every one completes, with the output it
would have had without the crash."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.reliability.stack import ProcessStack
from tests.sfn.harness import ROLE, lambda_arn

EXECUTIONS = 50
ITEMS = 3
DEFINITION = {
    "StartAt": "PerItem",
    "States": {
        "PerItem": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Pause",
                "States": {
                    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Flaky"},
                    "Flaky": {
                        "Type": "Task",
                        "Resource": lambda_arn("flaky"),
                        "Parameters": {"key.$": "$.key", "failures": 1},
                        "Retry": [
                            {"ErrorEquals": ["CustomError"], "IntervalSeconds": 1, "MaxAttempts": 5}
                        ],
                        # Its answer counts calls, which a crash changes; the output must not.
                        "ResultPath": None,
                        "Next": "Slow",
                    },
                    "Slow": {
                        "Type": "Task",
                        "Resource": lambda_arn("sleep"),
                        "Parameters": {"seconds": 1, "key.$": "$.key"},
                        "Next": "Local",
                    },
                    "Local": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "local-echo", "Payload.$": "$"},
                        "OutputPath": "$.Payload",
                        "End": True,
                    },
                },
            },
            "End": True,
        }
    },
}


def expected(run: int) -> list[dict[str, Any]]:
    return [{"seconds": 1, "key": f"{run}-{item}"} for item in range(ITEMS)]


@pytest.mark.slow
def test_executions_survive_a_worker_sigkill(tmp_path: Path) -> None:
    stack = ProcessStack(
        tmp_path / "stack", worker_env={"STATEWRIGHT_TASK_MODULES": "tests.sfn.handlers"}
    )
    stack.start()
    try:
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=stack.api_url,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="not-a-secret-in-dev-mode",
            config=Config(retries={"max_attempts": 5}),
        )
        arn = sfn.create_state_machine(
            name=f"crash-{uuid.uuid4().hex[:8]}", definition=json.dumps(DEFINITION), roleArn=ROLE
        )["stateMachineArn"]
        executions = {}
        for run in range(EXECUTIONS):
            items = [{"key": f"{run}-{item}"} for item in range(ITEMS)]
            started = sfn.start_execution(
                stateMachineArn=arn, name=f"run-{run}", input=json.dumps({"items": items})
            )
            executions[run] = started["executionArn"]
        time.sleep(2.5)
        running = sum(
            sfn.describe_execution(executionArn=e)["status"] == "RUNNING"
            for e in executions.values()
        )
        stack.kill_worker()
        time.sleep(1)
        stack.start_worker()
        deadline = time.monotonic() + 240
        outcomes: dict[int, dict[str, Any]] = {}
        while len(outcomes) < EXECUTIONS and time.monotonic() < deadline:
            for run, execution in executions.items():
                if run not in outcomes:
                    described = sfn.describe_execution(executionArn=execution)
                    if described["status"] != "RUNNING":
                        outcomes[run] = described
            time.sleep(0.5)
        print(f"\n{running} of {EXECUTIONS} executions were running at the SIGKILL")
        assert running > EXECUTIONS // 2, "the kill must land while most are in flight"
        assert len(outcomes) == EXECUTIONS, f"{EXECUTIONS - len(outcomes)} never finished"
        for run, described in outcomes.items():
            assert described["status"] == "SUCCEEDED", described
            assert json.loads(described["output"]) == expected(run)
    finally:
        stack.stop()
