"""The Temporal client factory, with the data converter every process must share."""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from core.settings import Settings

log = logging.getLogger(__name__)


class TemporalUnreachable(RuntimeError):
    """No Temporal server answered at the configured address."""


# Workers, the API and the replay tests must all decode payloads the same way.
DATA_CONVERTER: DataConverter = pydantic_data_converter


async def connect(settings: Settings) -> Client:
    """Connect to the configured Temporal server and namespace."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


async def connect_patiently(settings: Settings, wait_s: float = 60) -> Client:
    """Connect, retrying for `wait_s` seconds: in a deployment Temporal may start after us."""
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return await connect(settings)
        except RuntimeError as err:
            if time.monotonic() + delay > deadline:
                raise TemporalUnreachable(
                    f"no Temporal server answered at {settings.temporal_target} within "
                    f"{wait_s:.0f}s; run `statewright up`, or set TEMPORAL_ADDRESS"
                ) from err
            log.warning("waiting for Temporal at %s", settings.temporal_target)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)
