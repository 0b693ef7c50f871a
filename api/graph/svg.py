"""A laid-out graph as inline SVG. Every name and label is escaped: a state may be called
`<script>`. Colours come from the page's stylesheet through each state's `st-<status>` class,
so the page script recolours a state by changing its class."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from api.graph.layout import BADGE_W, CHAR_W, LABEL_CHAR_W, TEXT_PAD, Edge, Graph, Node

LABEL_H = 15.0


def fit(text: str, width: float, char_w: float = CHAR_W) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels."""
    room = max(3, int(width / char_w))
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def render(
    graph: Graph,
    statuses: Mapping[str, str],
    badges: Mapping[str, str] | None = None,
    default: str = "not-reached",
) -> str:
    """The graph as an `<svg>` element; each state coloured by `statuses` (by name), with an
    optional short `badges` text (a Map iteration's count) in its corner."""
    badges = badges or {}
    w, h = f"{graph.width:.0f}", f"{graph.height:.0f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {w} {h}" '
        f'width="{w}" height="{h}" role="group" aria-label="state machine graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>",
    ]
    boxes = [n for n in graph.nodes if n.role == "box"]
    for node in boxes:
        out.append(_box(node, statuses.get(node.key, default), badges.get(node.key, "")))
    for x1, y1, x2, y2 in graph.dividers:
        out.append(
            f'<line class="divider" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
        )
    out += [_edge(edge) for edge in graph.edges]
    out += [_label(edge) for edge in graph.edges if edge.label]
    for node in graph.nodes:
        if node.role == "state":
            out.append(_state(node, statuses.get(node.key, default), badges.get(node.key, "")))
        elif node.role in ("start", "end"):
            out.append(_marker(node))
    out.append("</svg>")
    return "".join(out)


def _attrs(node: Node, status: str, kind: str) -> str:
    name = escape(node.key)
    return (
        f'class="{kind} st-{status}" data-state="{name}" data-type="{escape(node.type)}" '
        f'tabindex="0" role="button" aria-label="{name}: {status}"'
    )


def _state(node: Node, status: str, badge: str) -> str:
    cx = node.x + node.w / 2
    room = node.w - 2 * TEXT_PAD
    return (
        f"<g {_attrs(node, status, 'node')}><title>{escape(node.key)} ({escape(node.type)})"
        f'</title><rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" '
        f'height="{node.h:.1f}" rx="8"/>'
        f'<text class="name" x="{cx:.1f}" y="{node.y + 20:.1f}">'
        f"{escape(fit(node.key, room))}</text>"
        f'<text class="kind" x="{cx:.1f}" y="{node.y + 36:.1f}">{escape(node.type)}</text>'
        f'<text class="badge" x="{node.x + node.w - 6:.1f}" y="{node.y + 12:.1f}">'
        f"{escape(badge)}</text></g>"
    )


def _box(node: Node, status: str, badge: str) -> str:
    head = 26.0
    title = fit(f"{node.type}: {node.key}", node.w - 2 * TEXT_PAD - BADGE_W)
    return (
        f"<g {_attrs(node, status, 'box')}><title>{escape(node.key)} ({escape(node.type)})"
        f'</title><rect class="frame" x="{node.x:.1f}" y="{node.y:.1f}" '
        f'width="{node.w:.1f}" height="{node.h:.1f}" rx="10"/>'
        f'<rect class="head" x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" '
        f'height="{head:.1f}" rx="10"/>'
        f'<text class="name" x="{node.x + TEXT_PAD:.1f}" y="{node.y + 17:.1f}">'
        f"{escape(title)}</text>"
        f'<text class="badge" x="{node.x + node.w - 8:.1f}" y="{node.y + 17:.1f}">'
        f"{escape(badge)}</text></g>"
    )


def _marker(node: Node) -> str:
    return (
        f'<g class="marker m-{node.role}"><rect x="{node.x:.1f}" y="{node.y:.1f}" '
        f'width="{node.w:.1f}" height="{node.h:.1f}" rx="{node.h / 2:.1f}"/>'
        f'<text x="{node.x + node.w / 2:.1f}" y="{node.y + node.h / 2 + 4:.1f}">'
        f"{escape(node.type)}</text></g>"
    )


def _path(edge: Edge) -> str:
    (x, y), rest = edge.points[0], edge.points[1:]
    parts = [f"M{x:.1f},{y:.1f}"]
    if edge.back:
        parts += [f"L{px:.1f},{py:.1f}" for px, py in rest]
        return " ".join(parts)
    for px, py in rest:
        mid = (y + py) / 2
        parts.append(f"C{x:.1f},{mid:.1f} {px:.1f},{mid:.1f} {px:.1f},{py:.1f}")
        x, y = px, py
    return " ".join(parts)


def _edge(edge: Edge) -> str:
    return (
        f'<path class="edge k-{edge.kind}" d="{_path(edge)}" marker-end="url(#arrow)">'
        f"<title>{escape(edge.title)}</title></path>"
    )


def _label(edge: Edge) -> str:
    x, y = edge.label_at
    w = len(edge.label) * LABEL_CHAR_W + 8
    left = {"start": x - 2, "end": x - w + 2}.get(edge.label_anchor, x - w / 2)
    return (
        f'<g class="edge-label k-{edge.kind}"><title>{escape(edge.title)}</title>'
        f'<rect x="{left:.1f}" y="{y - LABEL_H / 2:.1f}" width="{w:.1f}" height="{LABEL_H:.1f}" '
        f'rx="3"/><text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="{edge.label_anchor}">'
        f"{escape(edge.label)}</text></g>"
    )
