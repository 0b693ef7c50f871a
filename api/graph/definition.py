"""Reading an ASL definition as a graph: its states at every depth, and each state's
transitions (`Next`, Choice rules, `Default`, `Catch`) with a label a person can read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CONTAINERS = ("Parallel", "Map")
LABEL_CHARS = 34
"""Longer labels are cut with an ellipsis; the whole text stays in the edge's title."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One way out of a state."""

    target: str
    kind: str
    """`next`, `choice`, `default` or `catch`."""
    label: str
    """Short enough to draw beside the edge."""
    title: str
    """The whole text, for a tooltip."""


@dataclass(frozen=True, slots=True)
class StateInfo:
    """A state, wherever it sits in the definition."""

    name: str
    state: dict[str, Any]
    container: str | None
    """The Parallel or Map state whose branch holds it; None at the top level."""


def blocks_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The state machines nested in a Parallel (its branches) or a Map (its item processor)."""
    kind = state.get("Type")
    if kind == "Parallel":
        return [b for b in state.get("Branches", []) if isinstance(b, dict)]
    if kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if isinstance(processor, dict) else []
    return []


def states_of(block: dict[str, Any]) -> dict[str, dict[str, Any]]:
    states = block.get("States")
    if not isinstance(states, dict):
        return {}
    return {name: s for name, s in states.items() if isinstance(s, dict)}


def walk(definition: dict[str, Any], container: str | None = None) -> Iterator[StateInfo]:
    """Every state of the definition, outer states before the ones they hold."""
    for name, state in states_of(definition).items():
        yield StateInfo(name, state, container)
        for block in blocks_of(state):
            yield from walk(block, name)


def index(definition: dict[str, Any]) -> dict[str, StateInfo]:
    """The states by name. ASL names are unique across the whole machine, nested or not."""
    found: dict[str, StateInfo] = {}
    for info in walk(definition):
        found.setdefault(info.name, info)
    return found


def is_terminal(state: dict[str, Any]) -> bool:
    return bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail")


def transitions(state: dict[str, Any]) -> list[Transition]:
    """The state's ways out, in the order the definition lists them."""
    out: list[Transition] = []
    if state.get("Type") == "Choice":
        for rule in state.get("Choices", []):
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                out.append(_labelled(rule["Next"], "choice", rule_text(rule)))
        if isinstance(state.get("Default"), str):
            out.append(Transition(state["Default"], "default", "Default", "Default"))
    elif isinstance(state.get("Next"), str):
        out.append(Transition(state["Next"], "next", "Next", "Next"))
    for catcher in state.get("Catch", []):
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            errors = catcher.get("ErrorEquals", [])
            names = ", ".join(str(e) for e in errors) if isinstance(errors, list) else "?"
            out.append(_labelled(catcher["Next"], "catch", f"Catch {names}"))
    return out


def _labelled(target: str, kind: str, text: str) -> Transition:
    short = text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"
    return Transition(target, kind, short, text)


_SYMBOLS = (
    ("GreaterThanEquals", ">="),
    ("LessThanEquals", "<="),
    ("GreaterThan", ">"),
    ("LessThan", "<"),
    ("Equals", "=="),
    ("Matches", "matches"),
)


def rule_text(rule: dict[str, Any]) -> str:
    """A Choice rule as one line: `$.Status == 1`, `not ($.a is null)`, a JSONata condition."""
    if "Condition" in rule:
        return str(rule["Condition"])
    if isinstance(rule.get("And"), list):
        return " and ".join(f"({rule_text(r)})" for r in rule["And"] if isinstance(r, dict))
    if isinstance(rule.get("Or"), list):
        return " or ".join(f"({rule_text(r)})" for r in rule["Or"] if isinstance(r, dict))
    if isinstance(rule.get("Not"), dict):
        return f"not ({rule_text(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Assign", "Comment"):
            continue
        if key.startswith("Is"):
            test = key[2:].lower()
            return f"{variable} is {test}" if value is True else f"{variable} is not {test}"
        operand = str(value) if key.endswith("Path") else json.dumps(value, ensure_ascii=False)
        comparator = key.removesuffix("Path")
        for suffix, symbol in _SYMBOLS:
            if comparator.endswith(suffix):
                return f"{variable} {symbol} {operand}"
        return f"{variable} {key} {operand}"
    return variable
