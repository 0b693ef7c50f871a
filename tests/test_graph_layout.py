"""The inspector's graph layout (`api.graph.layout`), pure: every state of a definition is a
node, every transition an edge with a label, Parallel and Map are boxes that hold their
branches, and no two nodes overlap. Checked on the five seeds' own definitions and on
definitions that nest Parallel and Map inside each other, with loops and Catch rules."""

from __future__ import annotations

from typing import Any

import pytest

from api.graph.definition import rule_text, transitions, walk
from api.graph.layout import END, START, Edge, Graph, Node, layout
from api.graph.svg import render
from workflows.seeds import SEEDS


def task(next_state: str | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    state.update({"Next": next_state} if next_state else {"End": True})
    state.update(extra)
    return state


NESTED: dict[str, Any] = {
    "StartAt": "Fan out",
    "States": {
        "Fan out": {
            "Type": "Parallel",
            "Next": "Decide",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
            "Branches": [
                {
                    "StartAt": "Each item",
                    "States": {
                        "Each item": {
                            "Type": "Map",
                            "End": True,
                            "ItemProcessor": {
                                "StartAt": "Check item",
                                "States": {
                                    "Check item": task(
                                        "Item ok?",
                                        Catch=[{"ErrorEquals": ["Bad"], "Next": "Skip item"}],
                                    ),
                                    "Item ok?": {
                                        "Type": "Choice",
                                        "Choices": [
                                            {
                                                "Variable": "$.ok",
                                                "BooleanEquals": True,
                                                "Next": "Inner map",
                                            }
                                        ],
                                        "Default": "Skip item",
                                    },
                                    "Inner map": {
                                        "Type": "Map",
                                        "End": True,
                                        "Iterator": {
                                            "StartAt": "Leaf",
                                            "States": {"Leaf": task()},
                                        },
                                    },
                                    "Skip item": {"Type": "Pass", "End": True},
                                },
                            },
                        }
                    },
                },
                {
                    "StartAt": "Side task",
                    "States": {
                        "Side task": task("Side wait"),
                        "Side wait": {"Type": "Wait", "Seconds": 1, "End": True},
                    },
                },
                {"StartAt": "Lonely", "States": {"Lonely": {"Type": "Succeed"}}},
            ],
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.again", "BooleanEquals": True, "Next": "Fan out"},
                {
                    "And": [
                        {"Variable": "$.n", "NumericGreaterThan": 3},
                        {"Not": {"Variable": "$.x", "IsPresent": True}},
                    ],
                    "Next": "Done",
                },
            ],
            "Default": "Recover",
        },
        "Recover": task("Done"),
        "Done": {"Type": "Succeed"},
    },
}

DEFINITIONS = {seed.name: seed.definition() for seed in SEEDS} | {"nested": NESTED}


@pytest.fixture(params=sorted(DEFINITIONS))
def case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Graph]:
    definition = DEFINITIONS[request.param]
    return definition, layout(definition)


def states(graph: Graph) -> dict[str, Node]:
    return {n.key: n for n in graph.nodes if n.role in ("state", "box")}


def ancestors(graph: Graph, node: Node) -> set[str]:
    found: set[str] = set()
    parent = node.parent
    while parent is not None:
        found.add(parent)
        parent = graph.node(parent).parent
    return found


def inside(inner: Node, outer: Node) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.w <= outer.x + outer.w
        and inner.y + inner.h <= outer.y + outer.h
    )


def overlap(a: Node, b: Node) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def test_every_state_is_a_node_once(case: tuple[dict[str, Any], Graph]) -> None:
    definition, graph = case
    names = [info.name for info in walk(definition)]
    keys = [n.key for n in graph.nodes if n.role in ("state", "box")]
    assert sorted(keys) == sorted(names)
    assert len(keys) == len(set(keys))
    for info in walk(definition):
        node = graph.node(info.name)
        assert node.parent == info.container
        assert node.type == info.state["Type"]
        assert node.role == ("box" if info.state["Type"] in ("Parallel", "Map") else "state")


def test_every_transition_is_a_labelled_edge(case: tuple[dict[str, Any], Graph]) -> None:
    definition, graph = case
    drawn = [(e.source, e.target, e.kind, e.title) for e in graph.edges]
    expected = [
        (info.name, t.target, t.kind, t.title)
        for info in walk(definition)
        for t in transitions(info.state)
    ]
    assert expected, "every definition here has transitions"
    for transition in expected:
        assert drawn.count(transition) == expected.count(transition), transition
    for edge in graph.edges:
        if edge.kind in ("next", "choice", "default", "catch"):
            assert edge.label and edge.title, edge
        assert len(edge.points) >= 2


def test_start_and_end_markers_frame_the_top_level(case: tuple[dict[str, Any], Graph]) -> None:
    definition, graph = case
    start, end = graph.node(START), graph.node(END)
    assert [e.target for e in graph.edges if e.source == START] == [definition["StartAt"]]
    top = [n for n in states(graph).values() if n.parent is None]
    assert all(start.y + start.h <= n.y and n.y + n.h <= end.y for n in top)
    ends = {e.source for e in graph.edges if e.target == END}
    assert ends == {
        name
        for name, state in definition["States"].items()
        if state.get("End") or state["Type"] in ("Succeed", "Fail")
    }


def test_boxes_nest_and_hold_their_states(case: tuple[dict[str, Any], Graph]) -> None:
    _, graph = case
    order = [n.key for n in graph.nodes]
    for node in states(graph).values():
        if node.parent is None:
            assert node.depth == 0
            continue
        box = graph.node(node.parent)
        assert box.role == "box"
        assert node.depth == box.depth + 1
        assert inside(node, box), (node, box)
        assert node.y >= box.y + 20, "below the box's title"
        # A box is drawn before what it holds, so that it stays behind it.
        assert order.index(box.key) < order.index(node.key)


def test_no_two_nodes_overlap(case: tuple[dict[str, Any], Graph]) -> None:
    _, graph = case
    nodes = list(graph.nodes)
    for i, a in enumerate(nodes):
        assert a.x >= 0 and a.x + a.w <= graph.width, a
        assert a.y >= 0 and a.y + a.h <= graph.height, a
        for b in nodes[i + 1 :]:
            if a.key in ancestors(graph, b) or b.key in ancestors(graph, a):
                continue
            assert not overlap(a, b), (a, b)


def crosses(edge: Edge, node: Node) -> bool:
    """Whether the edge's line (point to point) passes through the inside of `node`."""
    margin = 2.0
    for (x0, y0), (x1, y1) in zip(edge.points, edge.points[1:], strict=False):
        for step in range(1, 40):
            t = step / 40
            x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            if (
                node.x + margin < x < node.x + node.w - margin
                and node.y + margin < y < node.y + node.h - margin
            ):
                return True
    return False


def test_edges_go_round_the_states_they_do_not_link(case: tuple[dict[str, Any], Graph]) -> None:
    _, graph = case
    for edge in graph.edges:
        ends = {edge.source, edge.target}
        for key in list(ends):
            if key in states(graph):
                ends |= ancestors(graph, graph.node(key))
        for node in graph.nodes:
            if node.key not in ends:
                assert not crosses(edge, node), (edge.source, edge.target, node.key)


def test_edges_start_and_end_on_their_nodes(case: tuple[dict[str, Any], Graph]) -> None:
    _, graph = case
    for edge in graph.edges:
        source, target = graph.node(edge.source), graph.node(edge.target)
        (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
        assert source.x - 0.5 <= x0 <= source.x + source.w + 0.5, edge
        assert source.y - 0.5 <= y0 <= source.y + source.h + 0.5, edge
        assert target.x - 0.5 <= x1 <= target.x + target.w + 0.5, edge
        assert target.y - 0.5 <= y1 <= target.y + target.h + 0.5, edge


def test_a_loop_goes_back_up_beside_the_drawing() -> None:
    graph = layout(DEFINITIONS["seed-001-report-runner"])
    (loop,) = [e for e in graph.edges if e.back]
    assert (loop.source, loop.target, loop.kind) == (
        "CheckIfDoneState",
        "WaitBeforeCheckState",
        "default",
    )
    assert loop.label == "Default"
    lane = loop.points[1][0]
    assert all(lane >= n.x + n.w or lane <= n.x for n in graph.nodes)
    forward = [e for e in graph.edges if not e.back]
    assert all(graph.node(e.source).y < graph.node(e.target).y for e in forward), (
        "every other edge goes down"
    )


def test_nested_boxes_are_three_deep_and_branches_sit_side_by_side() -> None:
    graph = layout(NESTED)
    assert graph.node("Leaf").depth == 3
    assert [graph.node(k).parent for k in ("Each item", "Check item", "Inner map", "Leaf")] == [
        "Fan out",
        "Each item",
        "Each item",
        "Inner map",
    ]
    branches = [graph.node(k) for k in ("Each item", "Side task", "Lonely")]
    assert all(overlap_x is False for overlap_x in _x_overlaps(branches))
    assert len(graph.dividers) == 2, "a line between each pair of the three branches"


def _x_overlaps(nodes: list[Node]) -> list[bool]:
    return [
        a.x < b.x + b.w and b.x < a.x + a.w for i, a in enumerate(nodes) for b in nodes[i + 1 :]
    ]


def test_labels_say_what_each_rule_tests() -> None:
    choice = NESTED["States"]["Decide"]
    labels = [(t.kind, t.title) for t in transitions(choice)]
    assert labels == [
        ("choice", "$.again == true"),
        ("choice", "($.n > 3) and (not ($.x is present))"),
        ("default", "Default"),
    ]
    assert [t.title for t in transitions(NESTED["States"]["Fan out"])] == [
        "Next",
        "Catch States.ALL",
    ]
    seed = DEFINITIONS["seed-004-support-case"]["States"]["Is Case Resolved"]
    assert [t.label for t in transitions(seed)] == ["$.Status == 1", "$.Status == 0"]
    assert rule_text({"Variable": "$.u", "IsNull": False, "Next": "x"}) == "$.u is not null"
    assert rule_text({"Variable": "$.a", "StringEqualsPath": "$.b"}) == "$.a == $.b"
    assert rule_text({"Condition": "{% $x > 1 %}", "Next": "x"}) == "{% $x > 1 %}"
    long = rule_text({"Variable": "$.a", "StringEquals": "x" * 80})
    (cut,) = transitions(
        {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x" * 80, "Next": "n"}]}
    )
    assert cut.title == long and len(cut.label) <= 34 and cut.label.endswith("\u2026")


def test_names_and_labels_are_escaped_in_the_svg() -> None:
    hostile = "<script>alert('x')</script>"
    definition = {
        "StartAt": hostile,
        "States": {
            hostile: {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.a", "StringEquals": "</svg><b>", "Next": 'q"uote & co'}
                ],
                "Default": 'q"uote & co',
            },
            'q"uote & co': {"Type": "Succeed"},
        },
    }
    svg = render(layout(definition), {hostile: "failed"})
    assert "<script" not in svg and "</svg><b>" not in svg
    assert 'data-state="&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"' in svg
    assert 'data-state="q&quot;uote &amp; co"' in svg
    assert 'class="node st-failed"' in svg
    assert svg.count("<svg") == 1 and svg.endswith("</svg>")


def test_a_hundred_states_lay_out_without_overlap() -> None:
    definition = chain(100)
    graph = layout(definition)
    nodes = [n for n in graph.nodes if n.role == "state"]
    assert len(nodes) == 100
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            assert not overlap(a, b)


def chain(count: int) -> dict[str, Any]:
    """`count` states: tasks in a line, with a Choice every tenth that may skip ahead."""
    names = [f"Step {i:03d}" for i in range(count)]
    states_: dict[str, Any] = {}
    for i, name in enumerate(names):
        after = names[i + 1] if i + 1 < count else None
        if i % 10 == 9 and i + 3 < count:
            states_[name] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.skip", "BooleanEquals": True, "Next": names[i + 3]}],
                "Default": after,
            }
        else:
            states_[name] = task(after)
    return {"StartAt": names[0], "States": states_}
