"""What the API needs from each workflow declared in the manifest (`statewright.flows`), and
what it derives from them: the routes it mounts, the workflow types `GET /runs` lists, and the
scopes an API key may hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

SHARED_SCOPES = ("runs:read", "runs:cancel", "admin")
"""Scopes of the routes every deployment has: reading and cancelling runs, and the store."""


class ApiFlow(Protocol):
    """A workflow as the API sees it."""

    @property
    def name(self) -> str:
        """The flow's name; its start routes need the scope `<name>:write`."""
        ...

    @property
    def workflow(self) -> type: ...

    @property
    def routes(self) -> APIRouter | None: ...


def workflow_type(workflow: type) -> str:
    """The name Temporal knows a workflow class by."""
    return str(workflow.__temporal_workflow_definition.name)  # type: ignore[attr-defined]


def workflow_types(flows: Sequence[ApiFlow]) -> list[str]:
    return [workflow_type(flow.workflow) for flow in flows]


def write_scope(flow: ApiFlow) -> str:
    return f"{flow.name}:write"


def scopes(flows: Sequence[ApiFlow]) -> list[str]:
    """Every scope a key may hold on a deployment of `flows`."""
    return [*(write_scope(flow) for flow in flows if flow.routes is not None), *SHARED_SCOPES]
