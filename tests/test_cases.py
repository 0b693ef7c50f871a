"""SupportCaseWorkflow: every branch against a real Postgres and Temporal server; the tier 2
deadline on the time-skipping server.

The HTTP tests run both ways (`STATEWRIGHT_ENGINE`): on `SupportCaseWorkflow`, and on seed
004's own state machine with its task handlers, which draw from the same scripted random
source. Those that check what only the hand-written workflow does say so."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities
from core.db import SessionFactory
from core.models import CaseEventRow, SupportCaseRow
from tests.conftest import ENGINES, hand_written_only
from tests.helpers import (
    ScriptedRandom,
    step,
    until_waiting_for_tier2,
    wait_for_run,
    worker_with,
)
from workflows.cases import SupportCaseWorkflow
from workflows.contracts import CaseInput, CaseProgress, CaseStep

RESOLVE, LEAVE_OPEN = 0.9, 0.1
SEED_STEPS = {
    "OpenCaseFunction": "open_case",
    "AssignCaseFunction": "assign_case",
    "WorkOnCaseFunction": "work_on_case",
    "CloseCaseFunction": "close_case",
    "EscalateCaseFunction": "escalate_case",
}
"""Seed 004's task handlers, by the hand-written activity that does the same step."""


@pytest.fixture(params=ENGINES)
def statewright_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def step_names(run: dict[str, Any]) -> list[str]:
    """The run's steps, by the hand-written activities' names whichever engine ran it."""
    if run["workflow_type"] == "StateMachineExecution":
        return [SEED_STEPS[s["input"]["function"]] for s in run["steps"]]
    return [s["name"] for s in run["steps"]]


def drawn(run: dict[str, Any]) -> str:
    """What Work on Case drew: RESOLVED or UNRESOLVED."""
    if run["workflow_type"] == "StateMachineExecution":
        work = next(s for s in run["steps"] if s["input"]["function"] == "WorkOnCaseFunction")
        return "RESOLVED" if work["result"]["Status"] == 1 else "UNRESOLVED"
    return str(step(run, "work_on_case")["result"]["status"])


def message(run: dict[str, Any]) -> str:
    """The message a completed run ends with."""
    result = run["result"]
    return str(result["Message"] if "Message" in result else result["message"])


def escalated(run: dict[str, Any]) -> None:
    """The run failed as the seed's Fail state fails it."""
    assert run["status"] == "FAILED"
    assert run["error"]["message"] == "Engage Tier 2 Support."
    if run["workflow_type"] != "StateMachineExecution":
        assert run["error"]["type"] == "CaseEscalated"


def new_case() -> str:
    return f"c-{random.getrandbits(48):012x}"


async def history(sessions: SessionFactory, case_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(CaseEventRow.status)
            .where(CaseEventRow.case_id == case_id)
            .order_by(CaseEventRow.id)
        )
        return list(rows)


async def case_row(sessions: SessionFactory, case_id: str) -> SupportCaseRow:
    async with sessions() as session:
        row = await session.get(SupportCaseRow, case_id)
    assert row is not None
    return row


async def open_case(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/cases", json=body)
    assert response.status_code == 202, response.text
    return await wait_for_run(http, response.json()["workflow_id"])


async def test_resolved_case_is_closed(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(RESOLVE)):
        run = await open_case(http, case_id=case_id)

    assert run["status"] == "COMPLETED"
    assert message(run) == f"Case {case_id}: opened...assigned...resolved...closed."
    assert step_names(run) == [
        "open_case",
        "assign_case",
        "work_on_case",
        "close_case",
    ]
    assert await history(sessions, case_id) == ["OPEN", "ASSIGNED", "RESOLVED", "CLOSED"]
    case = (await http.get(f"/cases/{case_id}")).json()
    assert case["status"] == "CLOSED" and case["message"] == message(run)
    assert (case["workflow_id"], case["run_id"]) == (run["workflow_id"], run["run_id"])
    assert [event["status"] for event in case["history"]] == [
        "OPEN",
        "ASSIGNED",
        "RESOLVED",
        "CLOSED",
    ]
    assert all(event["at"] for event in case["history"])


async def test_unresolved_case_escalates_and_fails_as_in_the_seed(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(LEAVE_OPEN)):
        run = await open_case(http, inputCaseID=case_id, on_unresolved="fail")

    escalated(run)
    assert step_names(run) == ["open_case", "assign_case", "work_on_case", "escalate_case"]
    assert await history(sessions, case_id) == ["OPEN", "ASSIGNED", "UNRESOLVED", "ESCALATED"]
    case = await case_row(sessions, case_id)
    assert case.status == "ESCALATED"
    assert case.message == f"Case {case_id}: opened...assigned...unresolved...escalating."


@hand_written_only("the policy `retry` is the hand-written workflow's: seed 004 only escalates")
async def test_retry_loops_back_until_resolved(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    case_id = new_case()
    rng = ScriptedRandom(LEAVE_OPEN, LEAVE_OPEN, RESOLVE)
    async with worker_with(client, task_queue, sessions, rng=rng):
        run = await open_case(http, case_id=case_id, on_unresolved="retry")

    assert run["status"] == "COMPLETED"
    assert run["result"]["work_attempts"] == 3
    assert run["result"]["message"] == (
        f"Case {case_id}: opened...assigned...unresolved...unresolved...resolved...closed."
    )
    assert await history(sessions, case_id) == [
        "OPEN",
        "ASSIGNED",
        "UNRESOLVED",
        "UNRESOLVED",
        "RESOLVED",
        "CLOSED",
    ]


@hand_written_only("the policy `retry` is the hand-written workflow's: seed 004 only escalates")
async def test_retry_exhausts_its_attempts_then_escalates(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    case_id = new_case()
    rng = ScriptedRandom(LEAVE_OPEN, LEAVE_OPEN)
    async with worker_with(client, task_queue, sessions, rng=rng):
        run = await open_case(http, case_id=case_id, on_unresolved="retry", max_work_attempts=2)

    assert run["status"] == "FAILED"
    assert run["error"]["message"] == "Engage Tier 2 Support."
    assert [s["name"] for s in run["steps"]].count("work_on_case") == 2
    assert await history(sessions, case_id) == [
        "OPEN",
        "ASSIGNED",
        "UNRESOLVED",
        "UNRESOLVED",
        "ESCALATED",
    ]


@hand_written_only("the policy `tier2` is the hand-written workflow's: seed 004 only fails")
async def test_tier2_resolution_closes_the_case(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(LEAVE_OPEN)):
        started = await http.post("/cases", json={"case_id": case_id, "on_unresolved": "tier2"})
        workflow_id = started.json()["workflow_id"]
        await until_waiting_for_tier2(client.get_workflow_handle(workflow_id))
        waiting = (await http.get(f"/cases/{case_id}")).json()
        resolve = {"resolution": "replaced the router", "agent": "alice"}
        answered = await http.post(f"/cases/{case_id}/resolve", json=resolve)
        again = await http.post(f"/cases/{case_id}/resolve", json=resolve)
        run = await wait_for_run(http, workflow_id)

    assert waiting["status"] == "AWAITING_TIER2", "waiting, not failed: not ESCALATED"
    assert answered.status_code == 202, answered.text
    assert answered.json()["status"] == "RESOLUTION_SENT"
    assert again.status_code == 409, "one answer only"
    assert again.json()["detail"] in (
        f"case {case_id!r} is not waiting for tier 2: it was already resolved by tier 2 (alice)",
        f"case {case_id!r} is not waiting for tier 2: it was already resolved",
        f"case {case_id!r} is not waiting for tier 2: it was already resolved and closed",
    )
    assert run["status"] == "COMPLETED"
    assert run["result"]["resolution"] == resolve
    assert run["result"]["message"] == (
        f"Case {case_id}: opened...assigned...unresolved...escalating."
        " resolved by tier 2 (alice)...closed."
    )
    assert await history(sessions, case_id) == [
        "OPEN",
        "ASSIGNED",
        "UNRESOLVED",
        "AWAITING_TIER2",
        "RESOLVED",
        "CLOSED",
    ]
    case = (await http.get(f"/cases/{case_id}")).json()
    assert case["history"][4]["detail"] == resolve
    late = await http.post(f"/cases/{case_id}/resolve", json=resolve)
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"case {case_id!r} is not waiting for tier 2: it was already resolved and closed"
    )
    unknown = await http.post("/cases/no-such-case/resolve", json=resolve)
    assert unknown.status_code == 404


@hand_written_only("the policy `tier2` is the hand-written workflow's: seed 004 only fails")
async def test_resolve_before_escalation_is_409(
    http: httpx.AsyncClient, task_queue: str, sessions: SessionFactory
) -> None:
    # No worker: the run exists but has not reached escalation.
    case_id = new_case()
    await http.post("/cases", json={"case_id": case_id, "on_unresolved": "tier2"})
    response = await http.post(f"/cases/{case_id}/resolve", json={"resolution": "x", "agent": "a"})
    assert response.status_code == 409
    assert response.json()["detail"].endswith("it is still being worked")
    workflow_id = f"case-{case_id}"
    await http.post(f"/runs/{workflow_id}/cancel")


async def test_tier2_deadline_fails_the_run(
    time_skipping_env: WorkflowEnvironment, sessions: SessionFactory, task_queue: str
) -> None:
    """A day passes in a moment on the time-skipping server."""
    client = time_skipping_env.client
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(LEAVE_OPEN)):
        handle = await client.start_workflow(
            SupportCaseWorkflow.run,
            CaseInput(case_id=case_id, on_unresolved="tier2", tier2_deadline_seconds=24 * 3600),
            id=f"case-{case_id}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type) == ("tier 2 deadline passed", "Tier2DeadlinePassed")
    assert await history(sessions, case_id) == [
        "OPEN",
        "ASSIGNED",
        "UNRESOLVED",
        "AWAITING_TIER2",
        "EXPIRED",
    ]
    assert (await case_row(sessions, case_id)).status == "EXPIRED"


@hand_written_only("the Catch that escalates a failing step is the hand-written workflow's")
async def test_a_step_that_keeps_failing_is_caught_and_escalated(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """Step Functions' Catch to Next: a step that fails unexpectedly (a bug) is retried a few
    times; then the run does not crash: the case escalates with the error recorded, in words
    that carry nothing of the original exception."""

    @activity.defn(name="assign_case")
    async def assignment_bug(_: CaseStep) -> CaseProgress:
        raise KeyError("column agent_id of table assignments")

    case_id = new_case()
    async with worker_with(client, task_queue, sessions, assignment_bug):
        run = await open_case(http, case_id=case_id)

    assert run["status"] == "FAILED"
    assert run["error"]["message"] == "Engage Tier 2 Support."
    assign = step(run, "assign_case")
    assert assign["status"] == "FAILED" and assign["attempts"] == 5, "retried, then caught"
    assert step(run, "escalate_case")["status"] == "COMPLETED"
    case = (await http.get(f"/cases/{case_id}")).json()
    assert [e["status"] for e in case["history"]] == ["OPEN", "ESCALATED"]
    error = case["history"][1]["detail"]["error"]
    assert error == (
        "assign_case failed: unexpected KeyError in assign_case (gave up after 5 attempts)"
    )
    assert "agent_id" not in str(run), "the original message stays in the worker's log"


@hand_written_only("swaps a hand-written activity; handlers' outages: test_seed_machines")
async def test_an_unreachable_dependency_is_retried_not_escalated(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """An infrastructure error is never the case's fault: a step whose dependency is away
    for more attempts than an unexpected error gets is retried until it is back, and the
    case goes on as if nothing happened."""
    real = CaseActivities(sessions, ScriptedRandom(RESOLVE))
    failures = 6

    @activity.defn(name="assign_case")
    async def assignment_service_away(request: CaseStep) -> CaseProgress:
        if activity.info().attempt <= failures:
            raise ConnectionError("assignment service unreachable")
        return await real.assign_case(request)

    case_id = new_case()
    async with worker_with(
        client, task_queue, sessions, assignment_service_away, rng=ScriptedRandom(RESOLVE)
    ):
        run = await open_case(http, case_id=case_id)

    assert run["status"] == "COMPLETED", run["error"]
    assign = step(run, "assign_case")
    assert assign["status"] == "COMPLETED" and assign["attempts"] == failures + 1
    assert await history(sessions, case_id) == ["OPEN", "ASSIGNED", "RESOLVED", "CLOSED"]


async def test_a_retried_step_writes_one_event(sessions: SessionFactory) -> None:
    activities = CaseActivities(sessions, ScriptedRandom(LEAVE_OPEN, RESOLVE))
    case_id = new_case()
    step_in = CaseStep(case_id=case_id, run_id="run-1", step="open", message="")
    first, again = await activities.open_case(step_in), await activities.open_case(step_in)
    work = step_in.model_copy(update={"step": "work-1", "message": first.message})
    drawn, redrawn = await activities.work_on_case(work), await activities.work_on_case(work)

    assert first == again
    assert drawn == redrawn, "a retry returns the first draw, it does not roll again"
    assert drawn.status == "UNRESOLVED"
    assert await history(sessions, case_id) == ["OPEN", "UNRESOLVED"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"case_id": ""}, "case_id"),
        ({"case_id": "x" * 65}, "case_id"),
        ({"case_id": "has space"}, "case_id"),
        ({"case_id": "42", "on_unresolved": "ignore"}, "on_unresolved"),
        ({"case_id": "42", "on_unresolved": "retry", "max_work_attempts": 0}, "max_work_attempts"),
        ({}, "case_id"),
    ],
)
async def test_bad_case_input_is_422(
    http: httpx.AsyncClient, client: Client, task_queue: str, body: dict[str, Any], loc: str
) -> None:
    response = await http.post("/cases", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == loc
    assert [wf async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")] == []


async def test_case_keys(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """A key names one run, running or closed; another body under it is 409; the case can be
    posted again without it, and its history keeps both runs."""
    case_id = new_case()
    key = {"Idempotency-Key": f"open-{case_id}"}
    first = await http.post("/cases", json={"case_id": case_id}, headers=key)
    running = await http.post("/cases", json={"inputCaseID": case_id}, headers=key)
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(RESOLVE, RESOLVE)):
        await wait_for_run(http, first.json()["workflow_id"])
        repeat = await http.post("/cases", json={"case_id": case_id}, headers=key)
        changed = await http.post(
            "/cases", json={"case_id": case_id, "max_work_attempts": 2}, headers=key
        )
        again = await http.post("/cases", json={"case_id": case_id})
        second = await wait_for_run(http, again.json()["workflow_id"])

    assert first.status_code == 202, first.text
    for replayed in (running, repeat):
        assert replayed.status_code == 202 and replayed.json() == first.json()
        assert replayed.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409
    assert again.status_code == 202 and again.json()["run_id"] != first.json()["run_id"]
    assert second["status"] == "COMPLETED"
    case = (await http.get(f"/cases/{case_id}")).json()
    assert len({event["run_id"] for event in case["history"]}) == 2, "both runs are in history"


@hand_written_only("one run per case comes from the workflow id `case-<id>`; the seed has none")
async def test_one_run_per_case_at_a_time(http: httpx.AsyncClient) -> None:
    case_id = new_case()
    # No worker: the first run stays in progress.
    first = await http.post("/cases", json={"case_id": case_id})
    busy = await http.post("/cases", json={"case_id": case_id})
    assert first.status_code == 202
    assert busy.status_code == 409 and "already has a run in progress" in busy.json()["detail"]
    await http.post(f"/runs/{first.json()['workflow_id']}/cancel")


@pytest.mark.parametrize("statewright_engine", ["asl"])
async def test_the_seed_takes_no_policy_but_fail(http: httpx.AsyncClient) -> None:
    for policy in ("retry", "tier2"):
        response = await http.post("/cases", json={"case_id": new_case(), "on_unresolved": policy})
        assert response.status_code == 422, response.text
        error = response.json()["detail"][0]
        assert error["loc"] == ["body", "on_unresolved"]
        assert "STATEWRIGHT_ENGINE=workflows" in error["msg"]


@pytest.mark.parametrize("statewright_engine", ["asl"])
async def test_resolving_a_seed_case_is_409(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """Nothing of seed 004's waits for tier 2: a case it worked is found, and refused."""
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(LEAVE_OPEN)):
        run = await open_case(http, case_id=case_id)
    answer = {"resolution": "x", "agent": "a"}
    response = await http.post(f"/cases/{case_id}/resolve", json=answer)
    assert run["status"] == "FAILED"
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"case {case_id!r} is not waiting for tier 2: "
        "it was escalated without a tier 2 wait, and its run failed"
    )


async def test_forty_cases_show_both_outcomes_and_match_their_runs(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """The seed's randomness, seeded as `STATEWRIGHT_CASE_RANDOM_SEED` would seed it."""
    case_ids = [new_case() for _ in range(40)]
    async with worker_with(client, task_queue, sessions, rng=random.Random(2026)):
        started = await asyncio.gather(
            *(http.post("/cases", json={"case_id": case_id}) for case_id in case_ids)
        )
        assert all(response.status_code == 202 for response in started)
        runs = await asyncio.gather(
            *(wait_for_run(http, response.json()["workflow_id"]) for response in started)
        )

    outcomes = {run["status"] for run in runs}
    assert outcomes == {"COMPLETED", "FAILED"}, "40 draws show both outcomes"
    for case_id, run in zip(case_ids, runs, strict=True):
        case = (await http.get(f"/cases/{case_id}")).json()
        statuses = [event["status"] for event in case["history"]]
        draw = drawn(run)
        assert statuses == ["OPEN", "ASSIGNED", draw, case["status"]]
        assert case["run_id"] == run["run_id"]
        if run["status"] == "COMPLETED":
            assert (draw, case["status"]) == ("RESOLVED", "CLOSED")
            assert case["message"] == message(run)
        else:
            assert (draw, case["status"]) == ("UNRESOLVED", "ESCALATED")
            escalated(run)


@hand_written_only("the policy `tier2` is the hand-written workflow's: seed 004 only fails")
async def test_a_cancelled_case_says_so(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """Cancelled while it waits for tier 2: the case row follows the run's end (it stayed
    ESCALATED forever before), and a late answer is refused for what it is."""
    case_id = new_case()
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(LEAVE_OPEN)):
        started = await http.post("/cases", json={"case_id": case_id, "on_unresolved": "tier2"})
        workflow_id = started.json()["workflow_id"]
        await until_waiting_for_tier2(client.get_workflow_handle(workflow_id))
        assert (await http.post(f"/runs/{workflow_id}/cancel")).status_code == 202
        run = await wait_for_run(http, workflow_id)

    assert run["status"] == "CANCELED"
    case = (await http.get(f"/cases/{case_id}")).json()
    assert case["status"] == "CANCELED"
    assert [e["status"] for e in case["history"]] == [
        "OPEN",
        "ASSIGNED",
        "UNRESOLVED",
        "AWAITING_TIER2",
        "CANCELED",
    ]
    late = await http.post(f"/cases/{case_id}/resolve", json={"resolution": "x", "agent": "a"})
    assert late.status_code == 409
    assert late.json()["detail"].endswith("its run was cancelled")
