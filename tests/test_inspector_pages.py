"""The graph inspector's pages, over HTTP against a real worker, Temporal and Postgres, and in
headless Chromium with no network: an execution drawn on its state machine's graph and
coloured by what it did in each state, its details on click, the state machine page, a
hand-written run drawn on its seed's graph, and 404s that say what was not found."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from api.graph.page import script_json
from api.graph.progress import history_progress
from core.db import SessionFactory
from core.settings import Settings
from statewright.flows import FLOWS
from tests.browser import webdriver
from tests.conftest import REPO, serve
from tests.helpers import ScriptedRandom, stock_items, wait_for_run, worker_with
from tests.sfn.aws import Aws
from tests.sfn.handlers import BROKEN
from tests.sfn.harness import ACCOUNT, REGION, ROLE, lambda_arn
from workflows.bench import BenchNoopWorkflow
from workflows.contracts import ExecutionInput, NoopShape
from workflows.seeds import SUPPORT_CASE
from workflows.state_machines import StateMachineWorkflow

ARTIFACTS = Path(os.environ.get("STATEWRIGHT_TEST_ARTIFACTS") or REPO / "test-artifacts")
DRAWN = re.compile(r'class="(?:node|box) st-([\w-]+)" data-state="([^"]+)"')
DATA = re.compile(r'<script type="application/json" id="inspector-data">(.*?)</script>', re.S)


def save_artifact(name: str, content: bytes) -> None:
    """Keep a file for people to look at after the run (CI uploads the folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(content)


@dataclass
class Site:
    base: str
    http: httpx.AsyncClient
    aws: Aws
    rng: ScriptedRandom

    async def deploy(self, prefix: str, definition: dict[str, Any]) -> str:
        return await self.aws.machine(f"{prefix}-{uuid.uuid4().hex[:8]}", definition)

    async def execute(self, machine: str, value: Any, name: str = "") -> dict[str, Any]:
        """Start an execution and wait for its end: DescribeExecution's answer."""
        started = await self.aws(
            "start_execution",
            stateMachineArn=machine,
            input=json.dumps(value),
            **({"name": name} if name else {}),
        )
        return await self.aws.finished(started["executionArn"])

    async def page(self, path: str) -> tuple[str, dict[str, Any]]:
        """An execution page's HTML and the data it embeds."""
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        (embedded,) = DATA.findall(response.text)
        return response.text, json.loads(embedded)


@pytest.fixture
async def site(
    settings: Settings, database_url: str, client: Client, task_queue: str, sessions: SessionFactory
) -> AsyncIterator[Site]:
    rng = ScriptedRandom()
    async with serve(create_app(FLOWS, settings, database_url, client), settings) as base:
        worker = worker_with(client, task_queue, sessions, rng=rng)
        async with worker, httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield Site(base, http, Aws(base), rng)


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {name: s["status"] for name, s in data["progress"]["states"].items()}


def drawn_status(html: str) -> dict[str, str]:
    """Each state's status class as the served SVG draws it."""
    return {
        name: status
        for status, name in re.findall(
            r'class="(?:node|box) st-([\w-]+)" data-state="([^"]+)"', html
        )
    }


MIXED = {
    "Comment": "A retried task, a caught error and a Map",
    "StartAt": "Flaky",
    "States": {
        "Flaky": {
            "Type": "Task",
            "Resource": lambda_arn("flaky"),
            "Parameters": {"key.$": "$.key", "failures": 1},
            "Retry": [
                {
                    "ErrorEquals": ["CustomError"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 2,
                    "BackoffRate": 1,
                }
            ],
            "ResultPath": "$.flaky",
            "Next": "Risky",
        },
        "Risky": {
            "Type": "Task",
            "Resource": lambda_arn("fail"),
            "Parameters": {"message": "</script><script>alert(1)</script>"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Items"}],
            "Next": "Never",
        },
        "Never": {"Type": "Pass", "End": True},
        "Items": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Task", "Resource": lambda_arn("echo"), "End": True}},
            },
            "ResultPath": "$.echoed",
            "End": True,
        },
    },
}

MAP_FAILS = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Ok?",
                "States": {
                    "Ok?": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Fine"}],
                        "Default": "Boom",
                    },
                    "Fine": {"Type": "Pass", "End": True},
                    "Boom": {"Type": "Task", "Resource": lambda_arn("fail"), "End": True},
                },
            },
            "End": True,
        }
    },
}


# --- Executions of the Step Functions API. ---


async def test_failed_support_case_in_chromium(site: Site, tmp_path: Path) -> None:
    """Seed 004, unmodified, escalated: the Fail state shows the failure, the states before it
    what they did; clicking Work on Case shows its input and output."""
    site.rng.values = [0.1]  # Work on Case draws "unresolved"
    case_id = f"c{uuid.uuid4().hex[:8]}"
    machine = await site.aws.machine(
        f"{SUPPORT_CASE.name}-{uuid.uuid4().hex[:6]}", SUPPORT_CASE.definition()
    )
    done = await site.execute(machine, {"inputCaseID": case_id}, name=f"escalated-{case_id}")
    assert done["status"] == "FAILED", done

    # Tall enough for the whole graph, for the screenshot the README shows.
    async with webdriver(tmp_path / "profile", size=(1280, 1400)) as browser:
        await browser.open(f"{site.base}/executions/{done['executionArn']}")
        await browser.wait_for("return document.querySelector('[data-state=\"Fail\"]') !== null")
        fills = await browser.run(
            """
            const fill = (css) => getComputedStyle(document.querySelector(css)).fill;
            const state = (name) => fill(`[data-state="${name}"] rect`);
            return {
              fail: state("Fail"), escalate: state("Escalate Case"), work: state("Work on Case"),
              choice: state("Is Case Resolved"), close: state("Close Case"),
              failed: fill(".legend .st-failed rect"),
              succeeded: fill(".legend .st-succeeded rect"),
              notReached: fill(".legend .st-not-reached rect"),
            };
            """
        )
        assert len({fills["failed"], fills["succeeded"], fills["notReached"]}) == 3, fills
        # The execution failed in the Fail state; Escalate Case did its work and succeeded.
        assert fills["fail"] == fills["failed"], fills
        assert fills["escalate"] == fills["work"] == fills["choice"] == fills["succeeded"]
        assert fills["close"] == fills["notReached"], fills

        await browser.click('[data-state="Work on Case"]')
        details = await browser.wait_for(
            """
            const panel = document.getElementById("details");
            return panel.querySelector("h2").textContent === "Work on Case" && panel.innerText;
            """
        )
        assert "Input" in details and "Output" in details
        assert f"Case {case_id}: opened...assigned..." in details
        assert f"Case {case_id}: opened...assigned...unresolved..." in details
        assert '"Status": 0' in details
        assert "Attempts: 1" in details

        page = await browser.run(
            """
            return {
              status: document.getElementById("status").textContent,
              redrive: !document.getElementById("redrive").hidden,
              error: document.getElementById("execution-error").textContent,
              live: !document.getElementById("live").hidden,
              hosts: performance.getEntriesByType("resource").map((r) => new URL(r.name).host),
            };
            """
        )
        assert page["status"] == "FAILED" and page["redrive"] and not page["live"]
        assert "Engage Tier 2 Support." in page["error"]
        assert set(page["hosts"]) <= {site.base.removeprefix("http://")}, page["hosts"]
        save_artifact("execution-page.png", await browser.screenshot())


async def test_a_page_shows_retries_catches_and_a_maps_iterations(site: Site) -> None:
    machine = await site.deploy("mixed", MIXED)
    key = uuid.uuid4().hex
    done = await site.execute(machine, {"key": key, "items": [1, 2, 3]})
    assert done["status"] == "SUCCEEDED", done

    html, data = await site.page(f"/executions/{done['executionArn']}")
    states = data["progress"]["states"]
    assert statuses(data) == {
        "Flaky": "succeeded",
        "Risky": "caught",
        "Never": "not-reached",
        "Items": "succeeded",
        "Echo": "succeeded",
    }
    assert drawn_status(html) == statuses(data), "the SVG is coloured as the data says"
    (flaky,) = states["Flaky"]["visits"]
    assert [a["status"] for a in flaky["attempts"]] == ["failed", "succeeded"]
    assert flaky["attempts"][0]["error"] == "CustomError"
    assert json.loads(flaky["output"])["flaky"] == {"calls": 2}
    (risky,) = states["Risky"]["visits"]
    assert risky["error"] == "CustomError"
    assert "</script><script>alert(1)</script>" in risky["cause"]
    assert states["Items"]["iterations"] == {"started": 3, "succeeded": 3}
    assert states["Items"]["badge"] == "\u00d73"
    assert states["Echo"]["visit_count"] == 3 and states["Echo"]["counts"] == {"succeeded": 3}
    assert sorted(v["iteration"] for v in states["Echo"]["visits"]) == [0, 1, 2]
    # The error text is inside the page's JSON, but never as markup.
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == 2, "the script tag and the data's own, nothing else"
    assert data["progress"] == (await site.http.get(data["progress_url"])).json()


async def test_a_failed_iteration_fails_its_map_with_counts(site: Site) -> None:
    machine = await site.deploy("map-fails", MAP_FAILS)
    done = await site.execute(machine, {"items": [{"ok": True}, {"ok": False}, {"ok": True}]})
    assert done["status"] == "FAILED", done

    _, data = await site.page(f"/executions/{done['executionArn']}")
    states = data["progress"]["states"]
    assert statuses(data) == {
        "Each": "failed",
        "Ok?": "succeeded",
        "Fine": "succeeded",
        "Boom": "failed",
    }
    assert states["Each"]["iterations"] == {"started": 2, "succeeded": 1, "failed": 1}
    assert states["Each"]["badge"] == "1/2 failed"
    (boom,) = states["Boom"]["visits"]
    assert boom["iteration"] == 1 and boom["error"] == "CustomError"
    assert data["progress"]["execution"]["error"] == "CustomError"
    assert data["progress"]["redrivable"] is True


async def test_a_running_execution_is_polled_until_it_ends(site: Site, tmp_path: Path) -> None:
    definition = {
        "StartAt": "Nap",
        "States": {
            "Nap": {
                "Type": "Task",
                "Resource": lambda_arn("sleep"),
                "Parameters": {"seconds": 2},
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    machine = await site.deploy("napper", definition)
    started = await site.aws("start_execution", stateMachineArn=machine, input="{}")
    async with webdriver(tmp_path / "profile") as browser:
        await browser.open(f"{site.base}/executions/{started['executionArn']}")
        first = await browser.wait_for(
            "return document.querySelector('[data-state=\"Nap\"]').getAttribute('class')"
        )
        assert "st-running" in first
        assert await browser.run("return !document.getElementById('live').hidden")
        # No reload: the page's own polling recolours it once the execution ends.
        await browser.wait_for(
            """return document.getElementById("status").textContent === "SUCCEEDED"
                && document.querySelector('[data-state="Done"]').classList.contains(
                    "st-succeeded")""",
            within=30,
        )
        assert await browser.run("return document.getElementById('live').hidden")


async def test_redrive_then_the_page_follows_the_new_run(site: Site, tmp_path: Path) -> None:
    """Redrive posts to `/runs/{id}/redrive`, says what it answered, and the page refreshes
    again until the redriven run ends; a refusal (409) is shown as it came."""
    key = uuid.uuid4().hex
    definition = {
        "StartAt": "Fix",
        "States": {
            "Fix": {
                "Type": "Task",
                "Resource": lambda_arn("fixable"),
                "Parameters": {"key": key, "value": 7},
                "End": True,
            }
        },
    }
    BROKEN.add(key)  # a dependency that is down, until the redrive
    machine = await site.deploy("fixable", definition)
    done = await site.execute(machine, {})
    assert done["status"] == "FAILED", done
    BROKEN.discard(key)

    site.rng.values = [0.1]
    case = (await site.http.post("/cases", json={"case_id": f"c{key[:8]}"})).json()
    assert (await wait_for_run(site.http, case["workflow_id"]))["status"] == "FAILED"

    async with webdriver(tmp_path / "profile") as browser:
        await browser.open(f"{site.base}/executions/{done['executionArn']}")
        await browser.wait_for("return !document.getElementById('redrive').hidden")
        await browser.click("#redrive")
        message = await browser.wait_for(
            "return document.getElementById('redrive-message').textContent"
        )
        assert message.startswith("Redrive accepted: run "), message
        await browser.wait_for(
            """return document.getElementById("status").textContent === "SUCCEEDED"
                && document.querySelector('[data-state="Fix"]').classList.contains(
                    "st-succeeded")""",
            within=30,
        )
        assert await browser.run("return document.getElementById('redrive').hidden")

        await browser.open(f"{site.base}{case['page_url']}")
        await browser.wait_for("return !document.getElementById('redrive').hidden")
        await browser.click("#redrive")
        refused = await browser.wait_for(
            "return document.getElementById('redrive-message').textContent"
        )
    assert refused.startswith("Redrive refused (HTTP 409): "), refused
    assert case["workflow_id"] in refused, "the API's own words, shown as they came"


async def test_an_execution_under_an_id_of_its_own(
    site: Site, client: Client, task_queue: str
) -> None:
    """A definition run by the interpreter under a workflow id that is not an execution's
    (`execution-<machine>:<name>`) is still drawn from its own history."""
    definition = {
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Task", "Resource": lambda_arn("echo"), "End": True}},
    }
    name = uuid.uuid4().hex
    request = ExecutionInput(
        definition=definition,
        input={"hello": "world"},
        execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:own:{name}",
        name=name,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:own",
        state_machine_name="own",
        role_arn=ROLE,
        region=REGION,
        account=ACCOUNT,
    )
    workflow_id = f"own-{name}"
    handle = await client.start_workflow(
        StateMachineWorkflow.run, request, id=workflow_id, task_queue=task_queue
    )
    assert await handle.result() == {"hello": "world"}

    _, data = await site.page(f"/executions/{workflow_id}")
    assert data["progress"]["status"] == "SUCCEEDED"
    assert statuses(data) == {"Echo": "succeeded"}
    (echo,) = data["progress"]["states"]["Echo"]["visits"]
    assert json.loads(echo["output"]) == {"hello": "world"}


# --- State machines. ---


async def test_state_machine_page_lists_executions_with_links(site: Site) -> None:
    machine = await site.deploy("mixed", MIXED)
    name = machine.rsplit(":", 1)[1]
    done = await site.execute(machine, {"key": uuid.uuid4().hex, "items": []}, name="first")
    for ref in (name, machine):
        response = await site.http.get(f"/state-machines/{ref}")
        assert response.status_code == 200, response.text
        html = response.text
        assert f'href="/executions/{done["executionArn"]}"' in html
        assert "SUCCEEDED" in html and ">first</a>" in html
        assert set(re.findall(r'data-state="([^"]+)"', html)) == {
            "Flaky",
            "Risky",
            "Never",
            "Items",
            "Echo",
        }
        data = json.loads(DATA.findall(html)[0])
        assert data["page"] == "machine"
        assert json.loads(data["states"]["Flaky"]["definition"])["Next"] == "Risky"
    execution = await site.http.get(f"/executions/{done['executionArn']}")
    assert f'href="/state-machines/{name}"' in execution.text


async def test_an_unregistered_seed_still_has_a_page(site: Site) -> None:
    # Earlier tests in the session (the asl engine's) may have registered it.
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{SUPPORT_CASE.name}"
    listed = await site.aws("list_state_machines", maxResults=1000)
    if arn in [machine["stateMachineArn"] for machine in listed["stateMachines"]]:
        await site.aws("delete_state_machine", stateMachineArn=arn)
    response = await site.http.get(f"/state-machines/{SUPPORT_CASE.name}")
    assert response.status_code == 200
    assert "not registered on this deployment" in response.text
    assert 'data-state="Escalate Case"' in response.text


# --- Hand-written workflows, on their seed's graph. ---


async def test_a_case_run_is_drawn_on_seed_004(site: Site) -> None:
    site.rng.values = [0.1]
    case_id = f"c{uuid.uuid4().hex[:8]}"
    started = await site.http.post("/cases", json={"case_id": case_id})
    assert started.status_code == 202
    ref = started.json()
    assert ref["page_url"] == f"/executions/{ref['workflow_id']}"
    run = await wait_for_run(site.http, ref["workflow_id"])
    assert run["status"] == "FAILED" and run["page_url"] == ref["page_url"]

    html, data = await site.page(ref["page_url"])
    assert statuses(data) == {
        "Open Case": "succeeded",
        "Assign Case": "succeeded",
        "Work on Case": "succeeded",
        "Is Case Resolved": "succeeded",
        "Escalate Case": "succeeded",
        "Fail": "failed",
        "Close Case": "not-reached",
    }
    assert drawn_status(html) == statuses(data)
    (work,) = data["progress"]["states"]["Work on Case"]["visits"]
    assert work["step"] == "work_on_case"
    assert "unresolved" in work["output"]
    (fail,) = data["progress"]["states"]["Fail"]["visits"]
    assert fail["cause"].startswith("Engage Tier 2 Support.")
    assert data["progress"]["unmapped"] == []
    assert data["progress"]["redrivable"] is True
    assert 'id="redrive" type="button">' in html, "shown: the run failed"
    listed = (await site.http.get("/runs", params={"case_id": case_id})).json()["runs"]
    assert [r["page_url"] for r in listed] == [ref["page_url"]]


async def test_an_order_run_is_drawn_on_seed_000(
    site: Site, sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 1})
    cart = {"order": [{"item_id": a, "quantity": 2}, {"item_id": b, "quantity": 1}]}
    ref = (await site.http.post("/orders", json=cart)).json()
    assert ref["page_url"] == f"/executions/order-{ref['order_id']}"
    assert (await wait_for_run(site.http, ref["workflow_id"]))["status"] == "COMPLETED"

    html, data = await site.page(ref["page_url"])
    assert set(statuses(data).values()) == {"succeeded"}, statuses(data)
    states = data["progress"]["states"]
    assert [v["step"] for v in states["createOrderTask"]["visits"]] == [
        "create_order",
        "complete_order",
    ]
    assert states["parallelState"]["visits"], "a Parallel no activity does: from its branches"
    assert data["progress"]["unmapped"] == []
    assert 'id="redrive" type="button" hidden>' in html, "hidden: the order completed"

    sold_out = {"order": [{"item_id": b, "quantity": 5}]}
    ref = (await site.http.post("/orders", json=sold_out)).json()
    run = await wait_for_run(site.http, ref["workflow_id"])
    assert run["status"] == "FAILED"
    _, data = await site.page(ref["page_url"])
    assert statuses(data) == {
        "isItemInStockMappedTask": "failed",
        "isItemInStockTask": "failed",
        "parallelState": "not-reached",
        "updateItemStockMappedTask": "not-reached",
        "updateItemStockTask": "not-reached",
        "createOrderTask": "not-reached",
    }
    (check,) = data["progress"]["states"]["isItemInStockMappedTask"]["visits"]
    assert check["step"] == "check_stock" and "stock" in check["cause"].lower()
    steps = {s["name"] for s in run["steps"]} - {"check_stock"}
    assert {v["step"] for v in data["progress"]["unmapped"]} == steps


async def test_steps_with_no_seed_state_are_listed_below_the_graph(site: Site) -> None:
    site.rng.values = [0.1]
    case_id = f"c{uuid.uuid4().hex[:8]}"
    ref = (
        await site.http.post("/cases", json={"case_id": case_id, "on_unresolved": "tier2"})
    ).json()
    _, waiting = await site.page(ref["page_url"])
    for _ in range(100):
        if waiting["progress"]["states"]["Escalate Case"]["status"] == "succeeded":
            break
        _, waiting = await site.page(ref["page_url"])
    assert waiting["progress"]["status"] == "RUNNING" and not waiting["progress"]["closed"]
    assert waiting["progress"]["redrivable"] is False

    assert (await site.http.post(f"/runs/{ref['workflow_id']}/cancel")).status_code == 202
    run = await wait_for_run(site.http, ref["workflow_id"])
    html, data = await site.page(ref["page_url"])
    assert (
        [v["step"] for v in data["progress"]["unmapped"]]
        == [s["name"] for s in run["steps"] if s["name"] == "cancel_case"]
        == ["cancel_case"]
    )
    assert "Steps with no state in the graph" in html and ">cancel_case</td>" in html
    assert data["progress"]["redrivable"] is True, run["status"]


async def test_a_run_with_no_seed_lists_its_steps(
    site: Site, client: Client, task_queue: str
) -> None:
    workflow_id = f"bench-noop-{uuid.uuid4().hex}"
    handle = await client.start_workflow(
        BenchNoopWorkflow.run, NoopShape(stages=[2]), id=workflow_id, task_queue=task_queue
    )
    await handle.result()
    html, data = await site.page(f"/executions/{workflow_id}")
    assert "no seed" in html and "<svg" not in html
    assert [v["step"] for v in data["progress"]["unmapped"]] == ["bench_noop", "bench_noop"]
    assert data["progress"]["status"] == "COMPLETED"


# --- What is not there. ---


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/executions/order-no-such-order", "No run or execution 'order-no-such-order'"),
        (
            "/executions/arn:aws:states:us-east-1:123456789012:execution:nope:nothing",
            "No execution 'nothing' of state machine 'nope'",
        ),
        ("/executions/execution-nope:nothing", "No execution 'nothing' of state machine 'nope'"),
        (
            "/executions/arn:aws:states:eu-west-3:123456789012:execution:m:n",
            "is not an execution ARN of this deployment",
        ),
        ("/state-machines/no-such-machine", "No state machine 'no-such-machine'"),
        ("/state-machines/arn:aws:states:us-east-1:1:thing", "No state machine"),
    ],
)
async def test_unknown_ids_are_a_clear_404(site: Site, path: str, says: str) -> None:
    response = await site.http.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert says in response.text.replace("&#x27;", "'"), response.text


async def test_unknown_progress_is_a_json_404(site: Site) -> None:
    response = await site.http.get("/executions/order-no-such-order/progress")
    assert response.status_code == 404
    assert "No run or execution" in response.json()["detail"]


async def test_static_files_are_ours_and_nothing_else(site: Site) -> None:
    for name, kind in (("inspector.js", "text/javascript"), ("inspector.css", "text/css")):
        response = await site.http.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
    for name in ("../app.py", "other.js", "%2e%2e%2fapp.py"):
        assert (await site.http.get(f"/static/{name}")).status_code == 404
    page = (await site.http.get(f"/state-machines/{SUPPORT_CASE.name}")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert all(s.startswith("/") for s in sources), sources


# --- Pure parts. ---


def test_script_json_cannot_close_its_script_tag() -> None:
    value = {"a": "</script><script>alert(1)</script>", "b": "<!-- x -->", "c": "\u2028&"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_history_progress_of_a_stopped_run_and_a_redrive() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "x", "Next": "B"}, "B": {"Type": "Succeed"}},
    }

    def event(i: int, prev: int, kind: str, **details: Any) -> dict[str, Any]:
        found: dict[str, Any] = {"id": i, "previousEventId": prev, "type": kind}
        if details:
            found["x" + "EventDetails"] = details
        return found

    first = [
        event(1, 0, "ExecutionStarted", input="{}"),
        event(2, 1, "TaskStateEntered", name="A", input="{}"),
        event(3, 2, "TaskScheduled"),
        event(4, 3, "TaskStarted"),
    ]
    stopped = history_progress(definition, first, "ABORTED")
    assert stopped.statuses() == {"A": "aborted", "B": "not-reached"}
    assert stopped.redrivable
    running = history_progress(definition, first, "RUNNING")
    assert running.statuses() == {"A": "running", "B": "not-reached"}
    assert not running.redrivable

    failed = [
        *first,
        event(5, 4, "TaskFailed", error="Boom"),
        event(6, 5, "ExecutionFailed", error="Boom"),
    ]
    redriven = [
        *failed,
        event(1, 0, "ExecutionRedriven", redriveCount=1),
        event(2, 1, "TaskStateEntered", name="A", input="{}"),
        event(3, 2, "TaskScheduled"),
        event(4, 3, "TaskSucceeded", output="{}"),
        event(5, 4, "TaskStateExited", name="A", output="{}"),
        event(6, 5, "SucceedStateEntered", name="B", input="{}"),
        event(7, 6, "SucceedStateExited", name="B", output="{}"),
        event(8, 7, "ExecutionSucceeded", output="{}"),
    ]
    after = history_progress(definition, redriven, "SUCCEEDED")
    assert after.statuses() == {"A": "succeeded", "B": "succeeded"}
    assert after.states["A"].counts == {"failed": 1, "succeeded": 1}
    assert after.error is None and after.output == "{}"
