"""What the worker needs from each workflow declared in the manifest (`statewright.flows`):
the workflow class, and its activities bound to their dependencies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from activities.dependencies import Dependencies


class WorkerFlow(Protocol):
    """A workflow as the worker sees it."""

    @property
    def workflow(self) -> type: ...

    @property
    def activities(self) -> Callable[[Dependencies], Iterable[object]]: ...

    @property
    def eager(self) -> bool:
        """Whether the API may start its runs eagerly, with a worker in its own process."""
        ...


def activity_functions(target: object) -> list[Callable[..., Any]]:
    """`target` if it is an activity function, else every activity method of the object
    `target`: an activity class is registered whole, so a new step needs no list edit."""
    if hasattr(target, "__temporal_activity_definition"):
        return [target]  # type: ignore[list-item]
    found = [
        getattr(target, name)
        for name in sorted(dir(type(target)))
        if hasattr(getattr(type(target), name), "__temporal_activity_definition")
    ]
    if not found:
        raise TypeError(f"{target!r} is neither an activity nor holds any")
    return found


def workflows_of(flows: Sequence[WorkerFlow]) -> list[type]:
    return [flow.workflow for flow in flows]


def activities_of(flows: Sequence[WorkerFlow], deps: Dependencies) -> list[Callable[..., Any]]:
    """Every activity of every flow, bound to `deps`. Two flows may not share a name."""
    bound: dict[str, Callable[..., Any]] = {}
    for flow in flows:
        for target in flow.activities(deps):
            for fn in activity_functions(target):
                name = fn.__temporal_activity_definition.name  # type: ignore[attr-defined]
                if name in bound:
                    raise ValueError(f"two activities are named {name!r}")
                bound[name] = fn
    return list(bound.values())
