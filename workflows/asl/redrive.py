"""Where an execution stood when it ended, so that a redrive continues from there.

AWS's `RedriveExecution` restarts a failed, aborted or timed-out execution from the state
that did not finish, with the input that state had, and does not run again what succeeded:
inside a Parallel or an inline Map only the branches and iterations that did not succeed run
again. The interpreter keeps that position as a tree of plain dicts, one node per line of
execution (the execution itself, each branch, each iteration):

    {"at": state name, "input": its input, "variables": the scope as it entered,
     "children": {Map or Parallel state name: {"<index>": node, ...}}}

or `{"done": True, "output": ...}` for a branch or iteration that finished. A Map or
Parallel state that ends (succeeds or is caught) drops its children: only the states in
flight keep any. The tree is what the `redrive_plan` query answers; a redriven run gets it
back in its input and each line of execution resumes from its own node.

Large Maps (past `map_chunks.INLINE_ITERATIONS`) run in child workflows of 500 iterations;
there a redrive keeps the chunks that finished and runs again, whole, those that did not.
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]


def entered(node: Node | None, name: str, value: Any, variables: dict[str, Any]) -> None:
    """A line of execution entered state `name` with `value`."""
    if node is not None:
        node["at"] = name
        node["input"] = value
        node["variables"] = dict(variables) if variables else {}


def settled(node: Node | None, name: str) -> None:
    """State `name` ended without failing: its branches' positions are spent."""
    if node is not None and "children" in node:
        node["children"].pop(name, None)


def finished(node: Node | None, output: Any) -> None:
    """A branch or an iteration finished with `output`."""
    if node is not None:
        node.clear()
        node["done"] = True
        node["output"] = output


def branches_of(node: Node | None, name: str) -> Node | None:
    """A fresh set of child nodes for Map or Parallel state `name` (None: not tracked)."""
    if node is None:
        return None
    own: Node = {}
    node.setdefault("children", {})[name] = own
    return own


def is_done(plan: Node | None) -> bool:
    return plan is not None and plan.get("done") is True


def claim(nodes: Node | None, plans: Node | None, key: str) -> tuple[Node | None, Node | None]:
    """Branch or iteration `key` of a Map or Parallel state being run: its earlier run's
    node (None if it had none), and the node that tracks it now. A branch that finished
    before keeps its earlier node, done, and is not run again (`is_done`)."""
    plan = plans.get(key) if plans else None
    if nodes is None:
        return plan, None
    if is_done(plan):
        nodes[key] = plan
        return plan, plan
    node: Node = {}
    nodes[key] = node
    return plan, node
