"""The inspector's HTML pages: an execution, a state machine, and the 404 page. Pure functions
from data to markup; the stylesheet and script are static files (`api/static/`), so every
page works with no network."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from typing import Any, Final

from api.graph.definition import walk
from api.graph.layout import Graph, layout
from api.graph.progress import STATUSES, Progress, Visit
from api.graph.svg import render
from api.graph.urls import machine_path

STATIC: Final = "/static"
LEGEND: Final = {
    "succeeded": "Succeeded",
    "failed": "Failed",
    "caught": "Caught error",
    "running": "Running",
    "aborted": "Stopped",
    "not-reached": "Not reached",
}


def script_json(value: Any) -> str:
    """JSON that is safe inside `<script>`: no `<`, `>` or `&` (so no `</script>` and no
    `<!--`), and no line separators that older parsers end a string at."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@lru_cache(maxsize=64)
def _cached_layout(text: str) -> Graph:
    return layout(json.loads(text))


def forget_layouts() -> None:
    """Empty the layout cache (for timing a first render)."""
    _cached_layout.cache_clear()


def graph_of(definition: dict[str, Any]) -> Graph:
    """The definition's layout; a definition never changes once written, so each is laid
    out once (a page that polls asks for the same one again and again)."""
    return _cached_layout(json.dumps(definition, sort_keys=True))


@dataclass(frozen=True)
class ExecutionView:
    """Everything the execution page shows."""

    workflow_id: str
    title: str
    subtitle: str
    progress: Progress
    definition: dict[str, Any] | None
    """The graph to draw; None for a run of a workflow with no seed: its steps only."""
    progress_url: str
    redrive_url: str
    started: datetime | None = None
    closed: datetime | None = None
    machine: str | None = None
    links: Sequence[tuple[str, str]] = ()
    note: str | None = None


@dataclass(frozen=True)
class ExecutionRow:
    name: str
    status: str
    href: str
    started: datetime | None = None
    stopped: datetime | None = None


@dataclass(frozen=True)
class MachineView:
    """Everything the state machine page shows."""

    name: str
    arn: str
    type: str
    definition: dict[str, Any]
    executions: Sequence[ExecutionRow] = field(default_factory=tuple)
    created: datetime | None = None
    note: str | None = None


def _time(at: datetime | None) -> str:
    if at is None:
        return "\u2014"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _head(title: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} \u00b7 Statewright</title>\n"
        f'<link rel="stylesheet" href="{STATIC}/inspector.css">\n'
        f'<script src="{STATIC}/inspector.js" defer></script>\n</head>\n'
    )


def _crumbs(*parts: tuple[str | None, str]) -> str:
    items = ['<a href="/">Statewright</a>']
    for href, text in parts:
        if href is None:
            items.append(f"<span>{escape(text)}</span>")
        else:
            items.append(f'<a href="{escape(href)}">{escape(text)}</a>')
    return '<nav class="crumbs">' + " / ".join(items) + "</nav>\n"


def _legend() -> str:
    items = "".join(
        f'<li><svg class="swatch" width="22" height="14" aria-hidden="true">'
        f'<g class="node st-{status}"><rect x="1" y="1" width="20" height="12" rx="3"/></g>'
        f"</svg><span>{escape(LEGEND[status])}</span></li>"
        for status in STATUSES
    )
    return f'<ul class="legend" aria-label="legend">{items}</ul>\n'


def _pre(element_id: str, text: str | None) -> str:
    return f'<pre id="{element_id}">{escape(_pretty(text))}</pre>'


def _pretty(text: str | None) -> str:
    if text is None:
        return "\u2014"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _step_rows(visits: Sequence[Visit]) -> str:
    rows = []
    for v in visits:
        error = " ".join(x for x in (v.error, v.cause) if x)
        rows.append(
            f'<tr class="st-{escape(v.status)}"><td>{escape(v.step or "?")}</td>'
            f"<td>{escape(v.status)}</td><td>{v.attempt_count}</td>"
            f"<td>{escape(error)}</td></tr>"
        )
    return "".join(rows)


def execution_page(view: ExecutionView) -> str:
    """The execution page: its graph coloured by what it did, details on click, polling
    while it runs, and a Redrive button when it can be redriven."""
    progress = view.progress
    status = progress.status
    types: dict[str, str] = {}
    graph_html = f'<p class="note">{escape(view.note or "")}</p>' if view.note else ""
    if view.definition is not None:
        graph = graph_of(view.definition)
        types = {info.name: str(info.state.get("Type", "?")) for info in walk(view.definition)}
        svg = render(graph, progress.statuses(), progress.badges())
        graph_html += _legend() + f'<div class="graph-scroll">{svg}</div>'
    data = {
        "page": "execution",
        "workflow_id": view.workflow_id,
        "progress_url": view.progress_url,
        "redrive_url": view.redrive_url,
        "types": types,
        "progress": progress.to_json(),
    }
    links = " \u00b7 ".join(
        f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in view.links
    )
    crumbs = _crumbs(
        *([(machine_path(view.machine), view.machine)] if view.machine else []),
        (None, view.title),
    )
    error = ": ".join(x for x in (progress.error, progress.cause) if x)
    unmapped_title = "Steps" if view.definition is None else "Steps with no state in the graph"
    has_graph = view.definition is not None
    return (
        _head(view.title)
        + '<body class="inspector">\n'
        + crumbs
        + '<main>\n<section class="summary">\n'
        f'<h1>{escape(view.title)} <span id="status" class="status s-{escape(status)}">'
        f"{escape(status)}</span></h1>\n"
        f'<p class="sub">{escape(view.subtitle)}</p>\n'
        '<dl class="facts">'
        f"<dt>Started</dt><dd>{_time(view.started)}</dd>"
        f'<dt>Closed</dt><dd id="closed-at">{_time(view.closed)}</dd>'
        f"<dt>Workflow id</dt><dd><code>{escape(view.workflow_id)}</code></dd></dl>\n"
        f'<p class="links">{links}</p>\n'
        '<div class="actions">'
        f'<button id="redrive" type="button"{"" if progress.redrivable else " hidden"}>'
        "Redrive</button>"
        '<span id="redrive-message" role="status"></span>'
        f'<span id="live" class="live"{"" if not progress.closed else " hidden"}>'
        "refreshing while it runs</span></div>\n"
        f'<p id="execution-error" class="error-box"{"" if error else " hidden"}>'
        f"{escape(error)}</p>\n</section>\n"
        f'<section class="inspector-body{"" if has_graph else " no-graph"}">\n'
        f'<div class="graph-pane">{graph_html}</div>\n'
        '<aside id="details" class="details" aria-live="polite"><h2>State details</h2>'
        '<p class="hint">Click a state to see its input, output, error and retries.</p>'
        "</aside>\n</section>\n"
        f'<section id="unmapped-section"{"" if progress.unmapped else " hidden"}>'
        f"<h2>{escape(unmapped_title)}</h2>"
        '<table id="unmapped"><thead><tr><th>Step</th><th>Status</th><th>Attempts</th>'
        f"<th>Error</th></tr></thead><tbody>{_step_rows(progress.unmapped)}</tbody></table>"
        "</section>\n"
        '<section class="io"><div><h2>Input</h2>'
        + _pre("execution-input", progress.input)
        + "</div><div><h2>Output</h2>"
        + _pre("execution-output", progress.output)
        + "</div></section>\n</main>\n"
        f'<script type="application/json" id="inspector-data">{script_json(data)}</script>\n'
        "</body>\n</html>\n"
    )


def machine_page(view: MachineView) -> str:
    """The state machine page: its graph (click a state for its definition) and its recent
    executions, each linked to its execution page."""
    graph = graph_of(view.definition)
    states = {
        info.name: {
            "type": str(info.state.get("Type", "?")),
            "definition": json.dumps(_shallow(info.state), indent=2, ensure_ascii=False),
        }
        for info in walk(view.definition)
    }
    rows = "".join(
        f'<tr class="s-{escape(row.status)}"><td><a href="{escape(row.href)}">'
        f"{escape(row.name)}</a></td><td>{escape(row.status)}</td>"
        f"<td>{_time(row.started)}</td><td>{_time(row.stopped)}</td></tr>"
        for row in view.executions
    )
    table = (
        '<table id="executions"><thead><tr><th>Execution</th><th>Status</th><th>Started</th>'
        f"<th>Stopped</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="note">No executions yet.</p>'
    )
    note = f'<p class="note">{escape(view.note)}</p>' if view.note else ""
    data = {"page": "machine", "states": states}
    comment = view.definition.get("Comment")
    return (
        _head(view.name)
        + '<body class="inspector">\n'
        + _crumbs((None, view.name))
        + '<main>\n<section class="summary">\n'
        f'<h1>{escape(view.name)} <span class="status">{escape(view.type)}</span></h1>\n'
        + (f'<p class="sub">{escape(str(comment))}</p>\n' if comment else "")
        + '<dl class="facts">'
        f"<dt>ARN</dt><dd><code>{escape(view.arn)}</code></dd>"
        f"<dt>Created</dt><dd>{_time(view.created)}</dd></dl>\n{note}</section>\n"
        '<section class="inspector-body">\n<div class="graph-pane">'
        f'<div class="graph-scroll">{render(graph, {}, default="none")}</div></div>\n'
        '<aside id="details" class="details" aria-live="polite"><h2>State details</h2>'
        '<p class="hint">Click a state to see its definition.</p></aside>\n</section>\n'
        f"<section><h2>Recent executions</h2>{table}</section>\n</main>\n"
        f'<script type="application/json" id="inspector-data">{script_json(data)}</script>\n'
        "</body>\n</html>\n"
    )


def _shallow(state: dict[str, Any]) -> dict[str, Any]:
    """A state's definition without the states it holds, which have their own nodes."""
    out = dict(state)
    if "Branches" in out:
        out["Branches"] = [f"({len(b.get('States', {}))} states)" for b in out["Branches"]]
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(out.get(key), dict):
            out[key] = {**out[key], "States": f"({len(out[key].get('States', {}))} states)"}
    return out


def message_page(title: str, message: str) -> str:
    """A page that says one thing: what was not found, and why."""
    return (
        _head(title)
        + '<body class="inspector">\n'
        + _crumbs((None, title))
        + f'<main><section class="summary"><h1>{escape(title)}</h1>'
        f'<p class="message">{escape(message)}</p></section></main>\n</body>\n</html>\n'
    )
