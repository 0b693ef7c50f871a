"""The Temporal client factory, with the data converter every process must share."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadConverter
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, FailureError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.request_id_propagation import RequestIdPropagation
from core.settings import Settings

log = logging.getLogger(__name__)


class TemporalUnreachable(RuntimeError):
    """No Temporal server answered at the configured address."""


BENIGN = ApplicationErrorCategory.BENIGN
UNDECODABLE_PAYLOAD = "UndecodablePayload"
"""Error type of a run whose input or a step's result cannot be decoded (or encoded)."""


class FaithfulPayloadConverter(PydanticPayloadConverter):
    """Pydantic's converter, but a payload it cannot convert fails the run, not its task.

    The SDK retries a workflow task that raises a plain exception, forever: a run whose input
    cannot be decoded would sit RUNNING, deaf to cancels. An `ApplicationError` raised while
    converting fails the run instead, with a message that says why. The API refuses such
    payloads at the door (`core.json_limits`); this covers runs started any other way.
    """

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        try:
            return super().to_payloads(values)
        except FailureError:
            raise
        except Exception as err:
            raise _unconvertible("encode", err) from None

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        try:
            return super().from_payloads(payloads, type_hints)
        except FailureError:
            raise
        except Exception as err:
            raise _unconvertible("decode", err) from None


def _unconvertible(verb: str, err: Exception) -> ApplicationError:
    reason = str(err.__cause__ or err).strip().splitlines()
    # Pydantic's messages quote the input; keep the reason, never the payload.
    summary = next(
        (line.strip() for line in reason[1:2] if line.strip()), reason[0] if reason else ""
    )
    summary = summary.split(" [type=")[0][:200]
    return ApplicationError(
        f"cannot {verb} a payload: {summary}", type=UNDECODABLE_PAYLOAD, non_retryable=True
    )


class ExpectedFailuresWithoutTraces(DefaultFailureConverter):
    """An expected failure (a business rule, an outage being retried: an `ApplicationError`
    of category BENIGN) travels with its type and message only. Its stack trace would say
    nothing about it, and would show the worker's file paths in the Temporal UI. Unexpected
    errors keep their traces."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        if isinstance(exception, ApplicationError) and exception.category == BENIGN:
            failure.stack_trace = ""


# Workers, the API and the replay tests must all decode payloads the same way.
DATA_CONVERTER: DataConverter = DataConverter(
    payload_converter_class=FaithfulPayloadConverter,
    failure_converter_class=ExpectedFailuresWithoutTraces,
)


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect to the configured Temporal server and namespace; `runtime` carries the SDK's
    telemetry (`metrics_runtime`)."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )


def with_request_ids(client: Client, *more: ClientInterceptor) -> Client:
    """`client`, carrying the request id with its start calls (and `more` interceptors, such
    as tracing's), unless it already does."""
    config = client.config()
    carries = any(isinstance(i, RequestIdPropagation) for i in config["interceptors"])
    added = [*([] if carries else [RequestIdPropagation()]), *more]
    if not added:
        return client
    config["interceptors"] = [*config["interceptors"], *added]
    return Client(**config)


def metrics_runtime(host: str, port: int) -> Runtime | None:
    """An SDK runtime that serves its own metrics (workflow task and activity latencies,
    schedule-to-start, sticky cache, slots) at `http://host:port/metrics`; None when `port`
    is 0 or cannot be bound, so a taken port costs the metrics, never the worker."""
    if port == 0:
        return None
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                # Prometheus's own conventions: counters end in _total, durations in seconds.
                metrics=PrometheusConfig(
                    bind_address=f"{host}:{port}",
                    counters_total_suffix=True,
                    durations_as_seconds=True,
                )
            )
        )
    except Exception as err:  # the SDK reports a taken port as a plain error
        log.warning("worker metrics are off: could not serve them on %s:%s (%s)", host, port, err)
        return None


async def connect_patiently(
    settings: Settings, wait_s: float = 60, runtime: Runtime | None = None
) -> Client:
    """Connect, retrying for `wait_s` seconds: in a deployment Temporal may start after us."""
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return await connect(settings, runtime)
        except RuntimeError as err:
            if time.monotonic() + delay > deadline:
                raise TemporalUnreachable(
                    f"no Temporal server answered at {settings.temporal_target} within "
                    f"{wait_s:.0f}s; run `statewright up`, or set TEMPORAL_ADDRESS"
                ) from err
            log.warning("waiting for Temporal at %s", settings.temporal_target)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)


def on_task_queues(queues: Sequence[str]) -> str:
    """A visibility clause for runs on any of `queues` (names from settings, never a request)."""
    return f"TaskQueue IN ({', '.join(repr(queue) for queue in queues)})"
