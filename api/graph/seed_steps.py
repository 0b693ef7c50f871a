"""A hand-written workflow's run, drawn on its seed's graph.

Each activity the run scheduled lands on the seed state it does the work of
(`SeedMachine.steps`); activities with no such state (compensation, cancel) are listed apart.
States no activity does (a Choice, a Wait, a Pass, the Fail state) are inferred from their
neighbours: a state between two reached states was passed through; a failed run that no step
failed ended in the Fail state its last state leads to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from api.graph.definition import StateInfo, blocks_of, index, states_of, transitions
from api.graph.progress import (
    ABORTED,
    CAUGHT,
    FAILED,
    NOT_REACHED,
    RUNNING,
    SUCCEEDED,
    Progress,
    StateProgress,
    Visit,
    summarise,
)

REDRIVABLE: Final = frozenset({"FAILED", "TIMED_OUT", "CANCELED", "TERMINATED"})
_STEP_STATUS: Final = {
    "COMPLETED": SUCCEEDED,
    "FAILED": FAILED,
    "TIMED_OUT": FAILED,
    "CANCELED": ABORTED,
}
_PASSED: Final = "inferred: the run went through this state, which no activity does"


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _error(error: Any) -> tuple[str | None, str | None]:
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    cause = error.get("cause")
    text = f"{message}\ncaused by: {cause}" if cause else message
    return error.get("type") or "Error", text


def _visit(step: dict[str, Any], run_status: str) -> Visit:
    status = _STEP_STATUS.get(str(step.get("status")))
    if status is None:
        status = RUNNING if run_status == "RUNNING" else ABORTED
    error, cause = _error(step.get("error"))
    return Visit(
        status=status,
        entered=_epoch(step.get("scheduled_at")),
        exited=_epoch(step.get("closed_at")),
        input=_text(step.get("input")),
        output=_text(step.get("result")),
        error=error,
        cause=cause,
        attempt_count=int(step.get("attempts") or 0),
        step=str(step.get("name")),
        note="retrying" if step.get("status") == "RETRYING" else None,
    )


def run_progress(
    definition: dict[str, Any], steps: Mapping[str, str], run: dict[str, Any]
) -> Progress:
    """The run (`GET /runs/{id}`'s JSON) on its seed's graph; `steps` maps activity names
    to the seed's state names."""
    status = str(run.get("status", "UNKNOWN"))
    error, cause = _error(run.get("error"))
    progress = Progress(
        status=status,
        closed=status != "RUNNING",
        input=_text(run.get("input")),
        output=_text(run.get("result")),
        error=error,
        cause=cause,
        redrivable=status in REDRIVABLE,
    )
    states = index(definition)
    by_state: dict[str, list[Visit]] = {}
    for step in run.get("steps", []):
        visit = _visit(step, status)
        state = steps.get(visit.step or "")
        if state in states:
            by_state.setdefault(state, []).append(visit)
        else:
            progress.unmapped.append(visit)
    _caught(by_state, status)
    progress.states = {
        name: summarise(by_state[name]) if name in by_state else StateProgress() for name in states
    }
    _infer(definition, states, set(steps.values()), progress, by_state)
    return progress


def _caught(by_state: dict[str, list[Visit]], status: str) -> None:
    """A failed step the run went on from, to another state's work, was handled."""
    for name, visits in by_state.items():
        for visit in visits:
            if visit.status != FAILED:
                continue
            later = any(
                other.entered is not None
                and visit.exited is not None
                and other.entered >= visit.exited
                for state, others in by_state.items()
                if state != name
                for other in others
            )
            if later or status == "COMPLETED":
                visit.status = CAUGHT


def _infer(
    definition: dict[str, Any],
    states: dict[str, StateInfo],
    mapped: set[str],
    progress: Progress,
    by_state: dict[str, list[Visit]],
) -> None:
    preds: dict[str, list[str]] = {name: [] for name in states}
    succs: dict[str, list[str]] = {name: [] for name in states}
    for name, info in states.items():
        for t in transitions(info.state):
            if t.target in preds:
                preds[t.target].append(name)
                succs[name].append(t.target)
    starts = _start_states(definition)
    result = progress.states

    def reached(name: str) -> bool:
        return result[name].status != NOT_REACHED

    changed = True
    while changed:
        changed = False
        for name, info in states.items():
            if name in mapped or reached(name) or info.state.get("Type") == "Fail":
                continue
            holder = info.container
            if holder in mapped and reached(holder) and not preds[name] and not succs[name]:
                # Alone in its branch of a state an activity does (the seed's Map of one
                # task): that activity did this state's work too.
                result[name] = summarise(list(result[holder].visits))
                changed = True
                continue
            children = [n for n, i in states.items() if i.container == name]
            if children:
                inner = [result[c] for c in children if reached(c)]
                if inner:
                    visits = [v for s in inner for v in s.visits]
                    result[name] = summarise(visits)
                    changed = True
                continue
            came = name in starts or any(reached(p) for p in preds[name])
            ends = not succs[name] and progress.status == "COMPLETED"
            went = ends or any(reached(s) for s in succs[name])
            if came and went:
                result[name] = summarise([Visit(status=SUCCEEDED, note=_PASSED)])
                changed = True
    _failed_in_fail_state(states, preds, progress)
    _waiting(states, succs, mapped, progress, by_state)


def _start_states(definition: dict[str, Any]) -> set[str]:
    found = set()
    pending = [definition]
    while pending:
        block = pending.pop()
        if isinstance(block.get("StartAt"), str):
            found.add(block["StartAt"])
        for state in states_of(block).values():
            pending += blocks_of(state)
    return found


def _failed_in_fail_state(
    states: dict[str, StateInfo], preds: dict[str, list[str]], progress: Progress
) -> None:
    result = progress.states
    if progress.status != "FAILED" or any(s.status == FAILED for s in result.values()):
        return
    candidates = [
        name
        for name, info in states.items()
        if info.state.get("Type") == "Fail"
        and any(result[p].status != NOT_REACHED for p in preds[name])
    ]
    if not candidates:
        return
    said = {progress.error, progress.cause}
    chosen = next(
        (n for n in candidates if states[n].state.get("Cause") in said),
        candidates[0],
    )
    result[chosen] = summarise(
        [
            Visit(
                status=FAILED,
                error=progress.error,
                cause=progress.cause,
                note="the run failed here, after its last step",
            )
        ]
    )


def _waiting(
    states: dict[str, StateInfo],
    succs: dict[str, list[str]],
    mapped: set[str],
    progress: Progress,
    by_state: dict[str, list[Visit]],
) -> None:
    """A running run with no step in progress waits in a state no activity does (a Wait)."""
    result = progress.states
    if progress.status != "RUNNING" or any(s.status == RUNNING for s in result.values()):
        return
    done = [
        (visit.exited, name)
        for name, visits in by_state.items()
        for visit in visits
        if visit.exited is not None
    ]
    if not done:
        return
    _, last = max(done)
    pending = list(succs[last])
    seen: set[str] = set()
    while pending:
        name = pending.pop(0)
        if name in seen or name in mapped:
            continue
        seen.add(name)
        if states[name].state.get("Type") in ("Wait", "Pass", "Task"):
            result[name] = summarise([Visit(status=RUNNING, note="the run waits here")])
            return
        pending += succs[name]
