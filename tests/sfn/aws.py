"""boto3's real Step Functions client against our API, called off the event loop (the API
under test serves on the same loop, and boto3 blocks)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
from botocore.config import Config

from tests.sfn.harness import ROLE


class Aws:
    def __init__(
        self,
        endpoint: str,
        key: str = "AKIDEXAMPLE",
        secret: str = "not-a-secret-in-dev-mode",
        **config: Any,
    ) -> None:
        self.client = boto3.client(
            "stepfunctions",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            # boto3 puts `sync-` before the host of StartSyncExecution; an IP has no such name.
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, **config),
        )

    async def __call__(self, operation: str, **params: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, operation), **params)

    async def machine(self, name: str, definition: dict[str, Any], **params: Any) -> str:
        created = await self(
            "create_state_machine",
            name=name,
            definition=json.dumps(definition),
            roleArn=ROLE,
            **params,
        )
        arn: str = created["stateMachineArn"]
        return arn

    async def finished(self, execution_arn: str, within: float = 30) -> dict[str, Any]:
        """DescribeExecution once the execution has ended."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            described: dict[str, Any] = await self("describe_execution", executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            assert asyncio.get_running_loop().time() < deadline, described
            await asyncio.sleep(0.1)
