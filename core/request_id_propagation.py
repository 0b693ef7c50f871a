"""Carries the request id (`core.request_ids`) through Temporal: from the client's start
call, in a header, to the workflow; from the workflow to every activity it schedules; and
into each activity's context, so their log lines carry it.

The header changes no decision of the workflow: replaying a history with or without it
takes the same path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import temporalio.client
import temporalio.worker
from temporalio.api.common.v1 import Payload
from temporalio.converter import default as default_converter

from core.request_ids import HEADER, REQUEST_ID


def _payload(value: str) -> Payload:
    return default_converter().payload_converter.to_payloads([value])[0]


def _value(headers: Mapping[str, Payload]) -> str | None:
    found = headers.get(HEADER)
    if found is None:
        return None
    value = default_converter().payload_converter.from_payloads([found], [str])[0]
    return value if isinstance(value, str) else None


def _with_id(headers: Mapping[str, Payload], request_id: str | None) -> Mapping[str, Payload]:
    if request_id is None:
        return headers
    return {**headers, HEADER: _payload(request_id)}


class RequestIdPropagation(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Client and worker interceptor: install it on both sides."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ClientOutbound(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _WorkflowInbound


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        input.headers = _with_id(input.headers, REQUEST_ID.get())
        return await super().start_workflow(input)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        token = REQUEST_ID.set(_value(input.headers))
        try:
            return await super().execute_activity(input)
        finally:
            REQUEST_ID.reset(token)


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound, self))

    request_id: str | None = None

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        self.request_id = _value(input.headers)
        REQUEST_ID.set(self.request_id)  # the workflow's own task: its log lines carry it
        return await super().execute_workflow(input)


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def __init__(
        self, next: temporalio.worker.WorkflowOutboundInterceptor, inbound: _WorkflowInbound
    ) -> None:
        super().__init__(next)
        self._inbound = inbound

    def start_activity(self, input: temporalio.worker.StartActivityInput) -> Any:
        input.headers = _with_id(input.headers, self._inbound.request_id)
        return super().start_activity(input)

    def start_local_activity(self, input: temporalio.worker.StartLocalActivityInput) -> Any:
        input.headers = _with_id(input.headers, self._inbound.request_id)
        return super().start_local_activity(input)
