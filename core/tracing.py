"""Traces, off by default. With `OTEL_EXPORTER_OTLP_ENDPOINT` set (OpenTelemetry's own
setting, with its companions such as `OTEL_SERVICE_NAME`), the API, the workflows and the
activities emit spans over OTLP/HTTP: the HTTP request (FastAPI's instrumentation), the
start call, the workflow run and each step (Temporal's tracing interceptor). One order is
one trace.
"""

from __future__ import annotations

import os

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def provider_from_environment(service: str) -> TracerProvider | None:
    """A tracer provider exporting over OTLP when the endpoint is configured; else None."""
    if not os.environ.get(ENDPOINT_VARIABLE):
        return None
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def temporal_tracing(provider: TracerProvider) -> TracingInterceptor:
    """Temporal's interceptor, for a client and a worker: spans for starts, runs and steps."""
    return TracingInterceptor(tracer=provider.get_tracer("statewright"))
