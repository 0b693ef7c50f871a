"""The API's eager-start worker (`api.eager`), built from the manifest.

It lives with the launchers because it pairs the API with workflows and activities, which
only the top layer may import together.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from api.eager import WorkerFactory
from core.db import SessionFactory
from core.settings import Settings
from statewright.flows import FLOWS
from worker.main import EAGER_QUEUE_POLLERS, build_worker, dependencies, eager_flows


def eager_worker(settings: Settings) -> WorkerFactory | None:
    """What `api.app.create_app` needs to start the manifest's eager flows eagerly, or None
    when `STATEWRIGHT_EAGER_START` is off."""
    flows = eager_flows(FLOWS)
    if not settings.eager_start or not flows:
        return None

    def build(client: Client, sessions: SessionFactory) -> Worker:
        deps = dependencies(settings, sessions)
        # Workflows and their local steps only: the API process polls for no activity
        # task (an idle activity poller cost 4% of its loop, measured with py-spy).
        return build_worker(
            flows,
            client,
            settings.eager_task_queue,
            deps,
            pollers=EAGER_QUEUE_POLLERS,
            remote_activities=False,
        )

    return build
