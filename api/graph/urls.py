"""Where the inspector's pages live, for links from anywhere in the API."""

from __future__ import annotations

from urllib.parse import quote


def page_path(workflow_id: str) -> str:
    """The execution page of a run, by its workflow id (or an execution's ARN)."""
    return f"/executions/{quote(workflow_id, safe=':')}"


def machine_path(name: str) -> str:
    """A state machine's page, by its name."""
    return f"/state-machines/{quote(name, safe=':')}"
