"""An execution's history, in AWS Step Functions' own event shapes (`GetExecutionHistory`).

The interpreter appends events as it goes; the API reads them back through a query. Each event
has an id, counted from 1, and the id of the event it followed on its own thread: a Parallel
branch or a Map iteration continues from its own last event, as AWS links them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_PAYLOAD_BYTES = 256 * 1024
"""AWS's limit on a state's input, output and a task's result, counted in UTF-8 bytes."""


def to_json(value: Any) -> str:
    """A JSON value as AWS writes it into a history: compact, UTF-8 kept as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_size(value: Any) -> int:
    return len(to_json(value).encode())


@dataclass(frozen=True, slots=True)
class Json:
    """A payload kept as the value it is until the history is read: most histories are never
    read, and writing each state's input and output as text cost a third of the worker's
    time per state. The interpreter never changes a value once it is recorded."""

    value: Any


@dataclass
class Thread:
    """One line of execution: where its next event links back to, and (for a run that can be
    redriven) its position (`redrive`)."""

    last: int = 0
    node: dict[str, Any] | None = None
    """Where this line stands now (`redrive.Node`); None where nothing can be redriven."""
    resume: dict[str, Any] | None = None
    """The position an earlier run of this line ended at: the line starts there, once."""
    pending: dict[str, Any] | None = None
    """The resumed state's own branches and iterations, by state name: used by its first
    attempt only."""


@dataclass
class EventLog:
    """The events of one execution, in the order they happened."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, thread: Thread, kind: str, at: datetime, details: dict[str, Any] | None = None
    ) -> int:
        """Append an event of type `kind` (for example `TaskStateEntered`) on `thread`.

        `details` go under the key AWS uses for that type, which `detail_key` derives."""
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "timestamp": at.timestamp(),
            "type": kind,
            "id": event_id,
            "previousEventId": thread.last,
        }
        if details is not None:
            event[detail_key(kind)] = details
        self.events.append(event)
        thread.last = event_id
        return event_id

    def rendered(self) -> list[dict[str, Any]]:
        """The events as AWS's API shows them, payloads as JSON text."""
        return [_render(event) for event in self.events]


def _render(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            value = {k: to_json(v.value) if isinstance(v, Json) else v for k, v in value.items()}
        out[key] = value
    return out


_STATE_EVENT = ("StateEntered", "StateExited")
_SHARED_DETAILS = {
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
}


def detail_key(kind: str) -> str:
    """The member of AWS's `HistoryEvent` holding an event type's details.

    Every `<Type>StateEntered` shares `stateEnteredEventDetails` and every `<Type>StateExited`
    `stateExitedEventDetails`; the rest name their own (`TaskScheduled` ->
    `taskScheduledEventDetails`)."""
    for suffix in _STATE_EVENT:
        if kind.endswith(suffix):
            return suffix[0].lower() + suffix[1:] + "EventDetails"
    if kind in _SHARED_DETAILS:
        return _SHARED_DETAILS[kind]
    return kind[0].lower() + kind[1:] + "EventDetails"


def payload(key: str, value: Any) -> dict[str, Any]:
    """`{key: <JSON text>, key + "Details": {"truncated": False}}`, as AWS records payloads;
    the text is written when the history is read (`EventLog.rendered`)."""
    return {key: Json(value), f"{key}Details": {"truncated": False}}


def payload_text(key: str, value: Any) -> dict[str, Any]:
    """`payload`, with the JSON text written now: for answers, not for the history."""
    return {key: to_json(value), f"{key}Details": {"truncated": False}}
