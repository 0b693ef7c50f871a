"""What an execution did in each state, read from its AWS-shaped history.

Only `StateEntered`/`StateExited` and Map iteration events name their state; every other
event belongs to the state its `previousEventId` chain leads back to, as AWS links them (a
Parallel branch or a Map iteration continues from its own last event). A state entered many
times (a loop, or a state inside a Map) has one visit per entry, and its status sums them up:
failed if any visit failed, with a count of each outcome.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from api.graph.definition import StateInfo, index, transitions

SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CAUGHT: Final = "caught"
RUNNING: Final = "running"
ABORTED: Final = "aborted"
NOT_REACHED: Final = "not-reached"
STATUSES: Final = (SUCCEEDED, FAILED, CAUGHT, RUNNING, ABORTED, NOT_REACHED)
"""Every status a state can show, in the legend's order."""
_PRECEDENCE: Final = (FAILED, RUNNING, CAUGHT, ABORTED, SUCCEEDED)
"""A state visited many times shows the first of these that any visit had."""

SHOWN_VISITS: Final = 20
"""Visits kept per state for the page (failed ones first); the counts cover them all."""
SHOWN_TEXT: Final = 64 * 1024
"""Characters of an input or output kept for the page; the history has the rest."""

_SCHEDULED: Final = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_TASK_OK: Final = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"})
_TASK_FAILED: Final = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
    }
)
_BODY_STARTED: Final = frozenset({"MapStateStarted", "ParallelStateStarted"})
_BODY_FAILED: Final = frozenset({"MapStateFailed", "ParallelStateFailed", "MapStateAborted"})
_BODY_OK: Final = frozenset({"MapStateSucceeded", "ParallelStateSucceeded"})
_ITERATION_END: Final = {
    "MapIterationSucceeded": SUCCEEDED,
    "MapIterationFailed": FAILED,
    "MapIterationAborted": ABORTED,
}
_EXECUTION_END: Final = frozenset(
    {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut", "ExecutionSucceeded"}
)


@dataclass
class Attempt:
    """One try of a Task (or of a Parallel's or Map's body), as its Retry makes them."""

    number: int
    status: str = RUNNING
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    cause: str | None = None


@dataclass
class Visit:
    """One entry into a state, up to its exit (or to where the execution stopped)."""

    status: str = RUNNING
    entered: float | None = None
    exited: float | None = None
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    attempt_count: int = 0
    iteration: int | None = None
    """The Map iteration (its index) that made this visit, for a state inside a Map."""
    step: str | None = None
    """The hand-written workflow's activity that did this visit's work."""
    note: str | None = None


@dataclass
class StateProgress:
    status: str = NOT_REACHED
    visits: list[Visit] = field(default_factory=list)
    visit_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    iterations: dict[str, int] = field(default_factory=dict)
    """A Map's iterations: `length`, `started`, `succeeded`, `failed`, `aborted`."""

    @property
    def badge(self) -> str:
        """A short count for the graph: a Map's iterations, or a state's many visits."""
        if self.iterations:
            total = self.iterations.get("length", self.iterations.get("started", 0))
            failed = self.iterations.get("failed", 0)
            return f"{failed}/{total} failed" if failed else f"\u00d7{total}"
        if self.visit_count > 1:
            failed = self.counts.get(FAILED, 0)
            return f"{failed}/{self.visit_count} failed" if failed else f"\u00d7{self.visit_count}"
        return ""


@dataclass
class Progress:
    """An execution, state by state; also what the page's script polls for."""

    status: str
    """The execution's status, in its own vocabulary (AWS's, or Temporal's for a run)."""
    closed: bool
    states: dict[str, StateProgress] = field(default_factory=dict)
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    unmapped: list[Visit] = field(default_factory=list)
    """Steps of a hand-written run that have no state in the graph (compensation, cancel)."""
    redrivable: bool = False

    def statuses(self) -> dict[str, str]:
        return {name: state.status for name, state in self.states.items()}

    def badges(self) -> dict[str, str]:
        return {name: s.badge for name, s in self.states.items() if s.badge}

    def to_json(self) -> dict[str, Any]:
        """The JSON the page embeds and `GET /executions/{id}/progress` answers."""
        return {
            "status": self.status,
            "closed": self.closed,
            "redrivable": self.redrivable,
            "execution": _compact(
                {
                    "input": self.input,
                    "output": self.output,
                    "error": self.error,
                    "cause": self.cause,
                }
            ),
            "states": {
                name: _compact(
                    {
                        "status": s.status,
                        "badge": s.badge,
                        "visit_count": s.visit_count,
                        "counts": s.counts,
                        "iterations": s.iterations,
                        "visits": [_visit_json(v) for v in s.visits],
                    }
                )
                for name, s in self.states.items()
            },
            "unmapped": [_visit_json(v) for v in self.unmapped],
        }


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", {}, [])}


def shown(text: str | None) -> str | None:
    """A payload as the page shows it: cut at SHOWN_TEXT characters, saying so."""
    if text is None or len(text) <= SHOWN_TEXT:
        return text
    return text[:SHOWN_TEXT] + f"\n\u2026 ({len(text) - SHOWN_TEXT} more characters)"


def _visit_json(visit: Visit) -> dict[str, Any]:
    return _compact(
        {
            "status": visit.status,
            "entered": visit.entered,
            "exited": visit.exited,
            "input": shown(visit.input),
            "output": shown(visit.output),
            "error": visit.error,
            "cause": shown(visit.cause),
            "attempt_count": visit.attempt_count,
            "attempts": [
                _compact(
                    {
                        "number": a.number,
                        "status": a.status,
                        "started": a.started,
                        "ended": a.ended,
                        "error": a.error,
                        "cause": shown(a.cause),
                    }
                )
                for a in visit.attempts
            ],
            "iteration": visit.iteration,
            "step": visit.step,
            "note": visit.note,
        }
    )


def summarise(
    visits: list[Visit],
    iterations: dict[str, int] | None = None,
    current: list[Visit] | None = None,
) -> StateProgress:
    """One state's progress from all its visits; its status from the `current` ones (by
    default all; after a redrive, those of the latest run)."""
    counts = Counter(v.status for v in visits)
    latest = Counter(v.status for v in (visits if current is None else current))
    status = next((s for s in _PRECEDENCE if latest.get(s)), NOT_REACHED)
    kept = [v for v in visits if v.status == FAILED][:SHOWN_VISITS]
    rest = [v for v in visits if v.status != FAILED]
    if len(kept) < SHOWN_VISITS:
        kept += rest[-(SHOWN_VISITS - len(kept)) :]
    return StateProgress(
        status=status,
        visits=kept,
        visit_count=len(visits),
        counts=dict(counts),
        iterations=iterations or {},
    )


# --- AWS histories. ---


@dataclass
class _Open:
    """A visit while the history is read: where it sits, and what it saw."""

    name: str
    visit: Visit
    parent: _Open | None
    exit_id: int | None = None
    iterations: Counter[str] = field(default_factory=Counter)
    epoch: int = 0
    """Redrives before this visit: a state's status is its latest run's."""


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def history_progress(
    definition: dict[str, Any], events: list[dict[str, Any]], status: str
) -> Progress:
    """Each state's progress in an execution with these history events (AWS's shapes, as
    `GetExecutionHistory` gives them) and this AWS status (RUNNING, SUCCEEDED, ...)."""
    states = index(definition)
    closed = status != "RUNNING"
    progress = Progress(status=status, closed=closed)
    owner: dict[int, _Open | None] = {0: None}
    exits: set[int] = set()
    iteration_starts: dict[int, int] = {}
    visits: dict[str, list[_Open]] = {}
    redrives = 0
    last_id = 0
    for event in events:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        prev = int(event.get("previousEventId", 0))
        details = _details(event)
        at = event.get("timestamp")
        if event_id <= last_id:
            # Ids start again: the events of a later run (a redrive) follow, numbered apart.
            owner, exits, iteration_starts = {0: None}, set(), {}
        last_id = event_id
        before = owner.get(prev)
        if kind == "ExecutionRedriven":
            redrives += 1
            progress.output = progress.error = progress.cause = None
            owner[event_id] = None
        elif kind.endswith("StateEntered"):
            opened = _enter(details, at, before, prev, exits, iteration_starts, states)
            opened.epoch = redrives
            visits.setdefault(opened.name, []).append(opened)
            owner[event_id] = opened
        elif kind.endswith("StateExited"):
            found = _climb(before, details.get("name"))
            if found is not None:
                found.visit.exited = at
                found.visit.output = details.get("output")
                found.exit_id = event_id
            exits.add(event_id)
            owner[event_id] = found
        elif kind == "MapIterationStarted":
            owner[event_id] = before
            iteration_starts[event_id] = int(details.get("index", 0))
            if before is not None:
                before.iterations["started"] += 1
        elif kind in _ITERATION_END:
            found = _climb(before, details.get("name"))
            owner[event_id] = found
            if found is not None:
                found.iterations[_ITERATION_END[kind]] += 1
        else:
            owner[event_id] = before
            _apply(kind, details, at, before, progress)
    for name, entries in visits.items():
        for entry in entries:
            # A visit of a run that a redrive followed ended with that run.
            earlier = entry.epoch < redrives
            _settle(entry, states.get(name), closed or earlier, status)
            if earlier:
                entry.visit.note = "before the execution was redriven"
    for name in states:
        entries = visits.get(name, [])
        counted: Counter[str] = Counter()
        for entry in entries:
            counted.update(entry.iterations)
        latest = max((e.epoch for e in entries), default=0)
        progress.states[name] = summarise(
            [e.visit for e in entries],
            dict(counted),
            current=[e.visit for e in entries if e.epoch == latest],
        )
    progress.redrivable = status in ("FAILED", "TIMED_OUT", "ABORTED")
    return progress


def _enter(
    details: dict[str, Any],
    at: Any,
    before: _Open | None,
    prev: int,
    exits: set[int],
    iteration_starts: dict[int, int],
    states: dict[str, StateInfo],
) -> _Open:
    name = str(details.get("name", "?"))
    # After a state's exit comes its successor, a sibling; otherwise this is the first state
    # of a branch or an iteration, held by the Parallel or Map that `before` is.
    sibling = prev in exits and before is not None
    parent = before.parent if sibling and before is not None else before
    visit = Visit(entered=at, input=details.get("input"))
    if prev in iteration_starts:
        visit.iteration = iteration_starts[prev]
    elif sibling and before is not None:
        visit.iteration = before.visit.iteration
    if sibling and before is not None:
        _note_catch(before, name, states)
    return _Open(name, visit, parent)


def _note_catch(before: _Open, successor: str, states: dict[str, StateInfo]) -> None:
    """A state left by one of its Catch rules, which no Next names, caught an error even
    when no task event says so (a failed InputPath, say)."""
    info = states.get(before.name)
    if info is None:
        return
    ways = transitions(info.state)
    caught = any(t.target == successor and t.kind == "catch" for t in ways)
    plain = any(t.target == successor and t.kind != "catch" for t in ways)
    if caught and not plain:
        before.visit.status = CAUGHT


def _climb(opened: _Open | None, name: Any) -> _Open | None:
    """The visit of state `name` that holds `opened` (or is it)."""
    while opened is not None and opened.name != name:
        opened = opened.parent
    return opened


def _apply(
    kind: str, details: dict[str, Any], at: Any, opened: _Open | None, progress: Progress
) -> None:
    if kind == "ExecutionStarted":
        progress.input = details.get("input")
        return
    if kind in _EXECUTION_END:
        progress.output = details.get("output", progress.output)
        progress.error = details.get("error", progress.error)
        progress.cause = details.get("cause", progress.cause)
        # The state the execution failed in (a Fail state, an uncaught error): an abort
        # stops a state without it failing there.
        ended_here = kind in ("ExecutionFailed", "ExecutionTimedOut")
        if opened is not None and ended_here and opened.visit.error is None:
            opened.visit.error = details.get("error")
            opened.visit.cause = details.get("cause")
        return
    if opened is None:
        return
    visit = opened.visit
    if kind in _SCHEDULED or kind in _BODY_STARTED:
        visit.attempts.append(Attempt(len(visit.attempts) + 1, started=at))
        visit.attempt_count = len(visit.attempts)
    elif kind in _TASK_OK or kind in _BODY_OK:
        if visit.attempts:
            visit.attempts[-1].status, visit.attempts[-1].ended = SUCCEEDED, at
        visit.error = visit.cause = None
    elif kind in _TASK_FAILED or kind in _BODY_FAILED:
        error, cause = details.get("error"), details.get("cause")
        if visit.attempts:
            attempt = visit.attempts[-1]
            attempt.status, attempt.ended = FAILED, at
            attempt.error, attempt.cause = error, cause
        if error is not None or visit.error is None:
            visit.error, visit.cause = error, cause


def _settle(opened: _Open, info: StateInfo | None, closed: bool, status: str) -> None:
    """A visit's status, once the whole history is read."""
    visit = opened.visit
    last = visit.attempts[-1] if visit.attempts else None
    failed_last = last is not None and last.status == FAILED
    if info is not None and info.state.get("Type") == "Fail":
        visit.status = FAILED
        visit.error = visit.error or info.state.get("Error")
        visit.cause = visit.cause or info.state.get("Cause")
        return
    if opened.exit_id is not None:
        if failed_last or visit.status == CAUGHT:
            visit.status = CAUGHT
            if last is not None and visit.error is None:
                visit.error, visit.cause = last.error, last.cause
        else:
            visit.status = SUCCEEDED
        return
    if not closed:
        visit.status = RUNNING
        if failed_last:
            visit.note = "retrying: the last attempt failed"
        return
    if failed_last or visit.error is not None:
        visit.status = FAILED
        return
    visit.status = ABORTED
    visit.note = f"stopped here: the execution ended {status}"
