"""The manifest (`statewright.flows`) is the one place a workflow is declared. A throwaway
workflow, declared only here, passes through the same derivation as the real five: the worker
registers it, the API mounts its routes, lists its type and knows its scope, and its run
view shows its steps' inputs."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from temporalio import activity, workflow
from temporalio.client import Client

from api.app import create_app
from api.auth import require
from api.deps import ClientDep, SettingsDep
from api.flows import scopes, workflow_type
from api.starts import accepted, run_ref, start_run
from core.db import SessionFactory
from core.keys import ApiKeySpec, digest
from core.settings import Settings
from statewright.flows import FLOWS, Flow
from tests.conftest import serve
from tests.helpers import activity_name, dependencies_for_tests, wait_for_run
from worker.flows import activities_of, workflows_of
from worker.main import build_worker
from workflows.ids import WorkflowIds


class ShoutActivities:
    """An activity class as the real flows have them; no list of its methods anywhere."""

    @activity.defn(name="throwaway_shout")
    async def shout(self, word: str) -> str:
        return word.upper()


@workflow.defn(name="ThrowawayShoutWorkflow")
class ShoutWorkflow:
    @workflow.run
    async def run(self, word: str) -> str:
        shouted: str = await workflow.execute_local_activity(
            "throwaway_shout", word, result_type=str, start_to_close_timeout=timedelta(seconds=5)
        )
        return shouted


SHOUTS = WorkflowIds("shout")
router = APIRouter(tags=["shouts"])


@router.post("/shouts/{word}", dependencies=[require("shouts:write")], status_code=202)
async def start_shout(word: str, client: ClientDep, settings: SettingsDep) -> JSONResponse:
    started = await start_run(
        client,
        ShoutWorkflow.run,
        word,
        workflow_id=SHOUTS.of(word),
        task_queue=settings.task_queue,
        key=None,
        request=word,
    )
    return accepted(run_ref(settings, started), started)


SHOUT = Flow(
    "shouts", ShoutWorkflow, SHOUTS, activities=lambda d: [ShoutActivities()], routes=router
)
WITH_SHOUTS = (*FLOWS, SHOUT)


async def test_a_flow_declared_once_runs_end_to_end(
    settings: Settings, database_url: str, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    key = "sw_throwaway"
    keyed = settings.model_copy(
        update={
            "api_keys": [ApiKeySpec(name="t", sha256=digest(key), scopes=["shouts:write"])],
            "allow_open_api": True,
        }
    )
    reader = settings.model_copy(update={"api_keys": []})
    deps = dependencies_for_tests(sessions)
    async with (
        build_worker(WITH_SHOUTS, client, task_queue, deps),
        serve(create_app(WITH_SHOUTS, keyed, database_url, client), keyed) as base,
        serve(create_app(WITH_SHOUTS, reader, database_url, client), reader) as open_base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        httpx.AsyncClient(base_url=open_base, timeout=30) as open_http,
    ):
        word = f"hello{task_queue[-8:]}"
        started = await http.post(f"/shouts/{word}", headers={"X-API-Key": key})
        assert started.status_code == 202, started.text
        assert started.json()["workflow_id"] == f"shout-{word}"

        run = await wait_for_run(open_http, f"shout-{word}")
        listed = await open_http.get("/runs", params={"workflow_type": "ThrowawayShoutWorkflow"})

    assert run["status"] == "COMPLETED"
    assert run["result"] == word.upper()
    # The run view replays the history through the flow's own workflow to find the input.
    assert [(s["name"], s["input"]) for s in run["steps"]] == [("throwaway_shout", word)]
    assert f"shout-{word}" in [r["workflow_id"] for r in listed.json()["runs"]]


async def test_what_is_derived_from_a_declaration(sessions: SessionFactory) -> None:
    assert "ThrowawayShoutWorkflow" in [workflow_type(w) for w in workflows_of(WITH_SHOUTS)]
    bound = activities_of(WITH_SHOUTS, dependencies_for_tests(sessions))
    names = [activity_name(fn) for fn in bound]
    assert "throwaway_shout" in names
    assert "shouts:write" in scopes(WITH_SHOUTS)
    assert "shouts:write" not in scopes(FLOWS)
    schema = create_app(WITH_SHOUTS, Settings(), "postgresql+psycopg://unused/none").openapi()
    assert "/shouts/{word}" in schema["paths"]
    assert "ThrowawayShoutWorkflow" in schema["components"]["schemas"]["WorkflowType"]["enum"]
    assert "shouts" in [tag["name"] for tag in schema["tags"]]


async def test_flows_never_collide(sessions: SessionFactory) -> None:
    """Names, workflow types, id prefixes and activity names are each one flow's own."""
    for facet in (
        [flow.name for flow in FLOWS],
        [workflow_type(flow.workflow) for flow in FLOWS],
        [flow.ids.prefix for flow in FLOWS],
    ):
        assert len(facet) == len(set(facet)), facet
    prefixes = [flow.ids.prefix for flow in FLOWS]
    # "report-runner-now" starts with no other prefix plus "-", or ids could be ambiguous.
    for one in prefixes:
        assert not [other for other in prefixes if other != one and one.startswith(other + "-")]
    activities_of(FLOWS, dependencies_for_tests(sessions))  # raises on two of one name


async def test_two_activities_of_one_name_are_refused(sessions: SessionFactory) -> None:
    twice = Flow("again", ShoutWorkflow, SHOUTS, activities=lambda d: [ShoutActivities()])
    with pytest.raises(ValueError, match="two activities are named 'throwaway_shout'"):
        activities_of((SHOUT, twice), dependencies_for_tests(sessions))
