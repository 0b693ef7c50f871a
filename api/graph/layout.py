"""Where each state of a definition goes on the page: a layered drawing, top to bottom.

States are ranked by the longest forward path from `StartAt` (loops go back up along a lane
beside the drawing), edges that skip ranks pass through placeholders so they never cut a
state, and each rank is ordered by its neighbours' positions, then spread as evenly as the
gaps allow (isotonic regression: every state as close as it can be to the states it links
to). A Parallel or a Map is a box around its own drawing, which is laid out first, the same
way; the box then takes its place in the drawing around it like any state.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from api.graph.definition import blocks_of, is_terminal, states_of, transitions

START = "\x00start"
END = "\x00end"
"""Keys of the Start and End markers; no state name holds a NUL."""

NODE_H = 46.0
MIN_W = 130.0
MAX_W = 250.0
CHAR_W = 7.4
TEXT_PAD = 14.0
LABEL_CHAR_W = 6.1
MARKER_W, MARKER_H = 64.0, 26.0
LAYER_GAP = 66.0
NODE_GAP = 40.0
PLACEHOLDER_W = 12.0
BOX_PAD = 18.0
BOX_HEAD = 34.0
BRANCH_GAP = 28.0
LANE_GAP = 20.0
MARGIN = 16.0
BADGE_W = 48.0
SWEEPS = 3


@dataclass(frozen=True, slots=True)
class Node:
    """A state (or the Start/End marker) and the rectangle it is drawn in."""

    key: str
    """The state's name; `START` or `END` for the markers."""
    type: str
    """The state's `Type`, or `Start`/`End`."""
    x: float
    y: float
    w: float
    h: float
    parent: str | None = None
    """The Parallel or Map whose box holds this node."""
    depth: int = 0
    role: str = "state"
    """`state`; `box` for a Parallel or Map drawn around its branches; `start`, `end`."""

    def moved(self, dx: float, dy: float) -> Node:
        return replace(self, x=self.x + dx, y=self.y + dy)


@dataclass(frozen=True, slots=True)
class Edge:
    """A transition, as the line that draws it."""

    source: str
    target: str
    kind: str
    """`next`, `choice`, `default`, `catch`; `start` and `end` for the markers' lines."""
    label: str
    title: str
    points: tuple[tuple[float, float], ...]
    label_at: tuple[float, float]
    label_anchor: str = "middle"
    back: bool = False
    """Goes back up to an earlier rank, along a lane beside the drawing."""

    def moved(self, dx: float, dy: float) -> Edge:
        return replace(
            self,
            points=tuple((x + dx, y + dy) for x, y in self.points),
            label_at=(self.label_at[0] + dx, self.label_at[1] + dy),
        )


@dataclass(frozen=True)
class Graph:
    """A definition, laid out: containers come before the nodes they hold."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    dividers: tuple[tuple[float, float, float, float], ...]
    """Lines between a Parallel's branches: (x1, y1, x2, y2)."""
    width: float
    height: float

    def node(self, key: str) -> Node:
        return next(n for n in self.nodes if n.key == key)


@dataclass
class _Block:
    """One state machine (the definition, a branch, an item processor), at the origin."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    dividers: list[tuple[float, float, float, float]] = field(default_factory=list)
    w: float = 0.0
    h: float = 0.0

    def add_moved(self, other: _Block, dx: float, dy: float) -> None:
        self.nodes += [n.moved(dx, dy) for n in other.nodes]
        self.edges += [e.moved(dx, dy) for e in other.edges]
        self.dividers += [(a + dx, b + dy, c + dx, d + dy) for a, b, c, d in other.dividers]


@dataclass
class _Link:
    source: str
    target: str
    kind: str
    label: str
    title: str
    back: bool = False
    chain: list[str] = field(default_factory=list)
    """Placeholders, one per rank the edge crosses."""


def layout(definition: dict[str, Any]) -> Graph:
    """Lay out a whole definition, with Start and End markers."""
    block = _layout_block(definition, parent=None, depth=0, markers=True)
    nodes = tuple(n.moved(MARGIN, MARGIN) for n in block.nodes)
    edges = tuple(e.moved(MARGIN, MARGIN) for e in block.edges)
    dividers = tuple(
        (a + MARGIN, b + MARGIN, c + MARGIN, d + MARGIN) for a, b, c, d in block.dividers
    )
    return Graph(nodes, edges, dividers, block.w + 2 * MARGIN, block.h + 2 * MARGIN)


def text_width(text: str, char_w: float = CHAR_W) -> float:
    return len(text) * char_w


def _leaf_width(name: str, kind: str) -> float:
    return min(MAX_W, max(MIN_W, text_width(max(name, kind, key=len)) + 2 * TEXT_PAD))


def _layout_block(machine: dict[str, Any], parent: str | None, depth: int, markers: bool) -> _Block:
    states = states_of(machine)
    start = machine.get("StartAt")
    inner: dict[str, list[_Block]] = {}
    size: dict[str, tuple[float, float]] = {}
    for name, state in states.items():
        kind = str(state.get("Type", "?"))
        blocks = blocks_of(state)
        if blocks:
            inner[name] = [_layout_block(b, name, depth + 1, markers=False) for b in blocks]
            size[name] = _box_size(name, kind, inner[name])
        else:
            size[name] = (_leaf_width(name, kind), NODE_H)
    links = _links(states, start if isinstance(start, str) else None, markers)
    if markers:
        size[START] = size[END] = (MARKER_W, MARKER_H)
    keys = ([START] if markers else []) + list(states) + ([END] if markers else [])
    first = START if markers else start
    order, backs = _depth_first(keys, first if isinstance(first, str) else None, links)
    for link in links:
        link.back = (link.source, link.target, link.kind, link.title) in backs
    rank = _ranks(order, links, markers)
    layers, widths = _layers(order, rank, links, size)
    ups, downs = _neighbours(links)
    _order_layers(layers, ups, downs)
    xs = _place(layers, widths, ups, downs)
    tops, heights = _rows(layers, size)
    block = _Block()
    placed: dict[str, Node] = {}
    for r, layer in enumerate(layers):
        for key in layer:
            if key not in size:
                continue
            w, h = size[key]
            y = tops[r] + (heights[r] - h) / 2
            node = _node(key, states, xs[key], y, w, h, parent, depth)
            placed[key] = node
            block.nodes.append(node)
            if key in inner:
                _fill_box(block, node, inner[key])
    block.edges += _forward_edges(links, placed, xs, rank, tops, heights)
    block.edges += _back_edges(links, placed, layers, xs, widths)
    _normalise(block)
    return block


def _node(
    key: str,
    states: dict[str, dict[str, Any]],
    x: float,
    y: float,
    w: float,
    h: float,
    parent: str | None,
    depth: int,
) -> Node:
    if key in (START, END):
        role = "start" if key == START else "end"
        return Node(key, role.title(), x, y, w, h, parent, depth, role)
    state = states[key]
    role = "box" if blocks_of(state) else "state"
    return Node(key, str(state.get("Type", "?")), x, y, w, h, parent, depth, role)


def _box_size(name: str, kind: str, blocks: Sequence[_Block]) -> tuple[float, float]:
    content_w = sum(b.w for b in blocks) + BRANCH_GAP * (len(blocks) - 1)
    content_h = max((b.h for b in blocks), default=0.0)
    # Room for the title and, beside it, an iteration count.
    head_w = min(MAX_W * 1.5, text_width(f"{kind}: {name}") + 2 * TEXT_PAD + BADGE_W)
    return max(content_w + 2 * BOX_PAD, head_w, MIN_W), BOX_HEAD + content_h + BOX_PAD


def _fill_box(block: _Block, box: Node, blocks: Sequence[_Block]) -> None:
    content_w = sum(b.w for b in blocks) + BRANCH_GAP * (len(blocks) - 1)
    x = box.x + (box.w - content_w) / 2
    y = box.y + BOX_HEAD
    for i, inner in enumerate(blocks):
        if i:
            mid = x - BRANCH_GAP / 2
            block.dividers.append((mid, y - 4, mid, box.y + box.h - BOX_PAD / 2))
        block.add_moved(inner, x, y)
        x += inner.w + BRANCH_GAP


def _links(states: dict[str, dict[str, Any]], start: str | None, markers: bool) -> list[_Link]:
    links: list[_Link] = []
    if markers and start in states:
        links.append(_Link(START, start, "start", "", "Start"))
    for name, state in states.items():
        for t in transitions(state):
            if t.target in states:
                links.append(_Link(name, t.target, t.kind, t.label, t.title))
        if markers and is_terminal(state):
            links.append(_Link(name, END, "end", "", "End"))
    return links


def _depth_first(
    keys: list[str], first: str | None, links: list[_Link]
) -> tuple[list[str], set[tuple[str, str, str, str]]]:
    """Keys in reverse post-order from `first` (then any left over), and the back edges."""
    out: dict[str, list[_Link]] = {k: [] for k in keys}
    for link in links:
        out[link.source].append(link)
    colour: dict[str, int] = {}  # 1: on the stack, 2: done
    finished: list[str] = []
    backs: set[tuple[str, str, str, str]] = set()
    roots = ([first] if first in out else []) + keys
    for root in roots:
        if root in colour:
            continue
        colour[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            key, i = stack.pop()
            if i < len(out[key]):
                stack.append((key, i + 1))
                link = out[key][i]
                seen = colour.get(link.target)
                if seen == 1:
                    backs.add((link.source, link.target, link.kind, link.title))
                elif seen is None:
                    colour[link.target] = 1
                    stack.append((link.target, 0))
            else:
                colour[key] = 2
                finished.append(key)
    finished.reverse()
    return finished, backs


def _ranks(order: list[str], links: list[_Link], markers: bool) -> dict[str, int]:
    rank = dict.fromkeys(order, 0)
    into: dict[str, list[str]] = {k: [] for k in order}
    for link in links:
        if not link.back:
            into[link.target].append(link.source)
    for key in order:
        if into[key]:
            rank[key] = max(rank[s] + 1 for s in into[key])
    if markers and END in rank:
        rank[END] = max(r for k, r in rank.items() if k != END) + 1
    return rank


def _layers(
    order: list[str], rank: dict[str, int], links: list[_Link], size: dict[str, tuple[float, float]]
) -> tuple[list[list[str]], dict[str, float]]:
    count = max(rank.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for key in order:
        layers[rank[key]].append(key)
    widths = {key: w for key, (w, _) in size.items()}
    placeholders = 0
    for link in links:
        if link.back:
            continue
        source_rank = rank[link.source]
        for r in range(source_rank + 1, rank[link.target]):
            placeholders += 1
            key = f"\x00p{placeholders}"
            link.chain.append(key)
            widths[key] = PLACEHOLDER_W
            # Near its source, so the first ordering keeps it beside where it comes from.
            layers[r].append(key)
            rank[key] = r
    return layers, widths


def _neighbours(links: list[_Link]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for link in links:
        if link.back:
            continue
        path = [link.source, *link.chain, link.target]
        for a, b in itertools.pairwise(path):
            downs.setdefault(a, []).append(b)
            ups.setdefault(b, []).append(a)
    return ups, downs


def _order_layers(
    layers: list[list[str]], ups: dict[str, list[str]], downs: dict[str, list[str]]
) -> None:
    """Order each rank by the mean position of its neighbours (the barycentre heuristic)."""
    position = {key: float(i) for layer in layers for i, key in enumerate(layer)}

    def sweep(rows: Sequence[list[str]], neighbours: dict[str, list[str]]) -> None:
        for layer in rows:

            def centre(key: str) -> float:
                near = neighbours.get(key)
                if not near:
                    return position[key]
                return sum(position[n] for n in near) / len(near)

            layer.sort(key=centre)
            for i, key in enumerate(layer):
                position[key] = float(i)

    for _ in range(SWEEPS):
        sweep(layers[1:], ups)
        sweep(layers[-2::-1], downs)


def _place(
    layers: list[list[str]],
    widths: dict[str, float],
    ups: dict[str, list[str]],
    downs: dict[str, list[str]],
) -> dict[str, float]:
    """Left x of every key: each rank packed in order, then pulled towards its neighbours."""
    xs: dict[str, float] = {}
    for layer in layers:
        x = 0.0
        for key in layer:
            xs[key] = x
            x += widths[key] + NODE_GAP

    def centre(key: str) -> float:
        return xs[key] + widths[key] / 2

    def pull(rows: Sequence[list[str]], neighbours: dict[str, list[str]]) -> None:
        for layer in rows:
            wanted = []
            for key in layer:
                near = neighbours.get(key)
                wanted.append(sum(centre(n) for n in near) / len(near) if near else centre(key))
            lefts = _spread([widths[k] for k in layer], wanted)
            for key, left in zip(layer, lefts, strict=True):
                xs[key] = left

    for _ in range(SWEEPS):
        pull(layers[1:], ups)
        pull(layers[-2::-1], downs)
    pull(layers[1:], ups)
    return xs


def _spread(widths: list[float], centres: list[float]) -> list[float]:
    """Left edges, in order, at least NODE_GAP apart, as near the wanted centres as possible
    in least squares (pool adjacent violators)."""
    offsets: list[float] = []
    run = 0.0
    for w in widths:
        offsets.append(run)
        run += w + NODE_GAP
    targets = [c - w / 2 - o for c, w, o in zip(centres, widths, offsets, strict=True)]
    pools: list[list[float]] = []  # [sum, count]
    for t in targets:
        pools.append([t, 1.0])
        while len(pools) > 1 and pools[-2][0] / pools[-2][1] > pools[-1][0] / pools[-1][1]:
            total, count = pools.pop()
            pools[-1][0] += total
            pools[-1][1] += count
    lefts: list[float] = []
    for total, count in pools:
        lefts += [total / count] * int(count)
    return [y + o for y, o in zip(lefts, offsets, strict=True)]


def _rows(
    layers: list[list[str]], size: dict[str, tuple[float, float]]
) -> tuple[list[float], list[float]]:
    tops: list[float] = []
    heights: list[float] = []
    y = 0.0
    for layer in layers:
        h = max((size[k][1] for k in layer if k in size), default=MARKER_H)
        tops.append(y)
        heights.append(h)
        y += h + LAYER_GAP
    return tops, heights


def _forward_edges(
    links: list[_Link],
    placed: dict[str, Node],
    xs: dict[str, float],
    rank: dict[str, int],
    tops: list[float],
    heights: list[float],
) -> list[Edge]:
    forward = [link for link in links if not link.back]
    middles: dict[int, list[tuple[float, float]]] = {}
    for i, link in enumerate(forward):
        middles[i] = []
        for key in link.chain:
            x = xs[key] + PLACEHOLDER_W / 2
            r = rank[key]
            middles[i] += [(x, tops[r]), (x, tops[r] + heights[r])]
    out_ports = _ports(
        forward, placed, lambda i, link: _first_x(middles[i], placed[link.target]), by="source"
    )
    in_ports = _ports(
        forward, placed, lambda i, link: _last_x(middles[i], placed[link.source]), by="target"
    )
    fans = _fan_positions(forward)
    edges: list[Edge] = []
    for i, link in enumerate(forward):
        source, target = placed[link.source], placed[link.target]
        points = [(out_ports[i], source.y + source.h), *middles[i], (in_ports[i], target.y)]
        (x0, y0), (x1, y1) = points[0], points[1]
        t = fans[i]
        label_at = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
        edges.append(
            Edge(
                link.source,
                link.target,
                link.kind,
                link.label,
                link.title,
                tuple(points),
                label_at,
            )
        )
    return edges


def _first_x(middle: list[tuple[float, float]], target: Node) -> float:
    return middle[0][0] if middle else target.x + target.w / 2


def _last_x(middle: list[tuple[float, float]], source: Node) -> float:
    return middle[-1][0] if middle else source.x + source.w / 2


def _ports(links: list[_Link], placed: dict[str, Node], toward: Any, by: str) -> dict[int, float]:
    """Where each edge leaves its source (or enters its target): spread along the side in
    the order of where the edges go, so that edges of one state neither cross nor overlap."""
    groups: dict[str, list[tuple[float, int]]] = {}
    for i, link in enumerate(links):
        key = link.source if by == "source" else link.target
        groups.setdefault(key, []).append((toward(i, link), i))
    ports: dict[int, float] = {}
    for key, members in groups.items():
        node = placed[key]
        members.sort()
        for j, (_, i) in enumerate(members):
            ports[i] = node.x + node.w * (j + 1) / (len(members) + 1)
    return ports


def _fan_positions(links: list[_Link]) -> dict[int, float]:
    """How far along its first segment each edge's label sits: a state's labels are
    staggered so that they do not sit on one line."""
    by_source: dict[str, list[int]] = {}
    for i, link in enumerate(links):
        by_source.setdefault(link.source, []).append(i)
    fans: dict[int, float] = {}
    for members in by_source.values():
        labelled = [i for i in members if links[i].label]
        for j, i in enumerate(labelled):
            fans[i] = 0.3 + 0.4 * j / (len(labelled) - 1) if len(labelled) > 1 else 0.5
        for i in members:
            fans.setdefault(i, 0.5)
    return fans


def _back_edges(
    links: list[_Link],
    placed: dict[str, Node],
    layers: list[list[str]],
    xs: dict[str, float],
    widths: dict[str, float],
) -> list[Edge]:
    """Loops: out of the source's side, along a lane outside the drawing, into the target's
    side. Each goes on the side with fewer states in its way."""
    backs = [link for link in links if link.back]
    if not backs:
        return []
    position: dict[str, tuple[int, int]] = {}
    for layer in layers:
        real = [k for k in layer if k in placed]
        for i, key in enumerate(real):
            position[key] = (i, len(real))
    left_edge = min((xs[k] for k in placed), default=0.0)
    right_edge = max((xs[k] + widths[k] for k in placed), default=0.0)
    right_lane = right_edge + LANE_GAP
    left_lane = left_edge - LANE_GAP
    edges: list[Edge] = []
    for link in backs:
        source, target = placed[link.source], placed[link.target]
        (si, sn), (ti, tn) = position[link.source], position[link.target]
        in_way_right = (sn - 1 - si) + (tn - 1 - ti)
        in_way_left = si + ti
        label_w = text_width(link.label, LABEL_CHAR_W)
        y0 = source.y + source.h / 2 - 6
        y1 = target.y + target.h / 2 + 6
        if in_way_right <= in_way_left:
            lane = right_lane
            right_lane += label_w + LANE_GAP + 8
            x0, x1 = source.x + source.w, target.x + target.w
            label_at, anchor = (lane + 4, (y0 + y1) / 2), "start"
        else:
            lane = left_lane
            left_lane -= label_w + LANE_GAP + 8
            x0, x1 = source.x, target.x
            label_at, anchor = (lane - 4, (y0 + y1) / 2), "end"
        points = ((x0, y0), (lane, y0), (lane, y1), (x1, y1))
        edges.append(
            Edge(
                link.source,
                link.target,
                link.kind,
                link.label,
                link.title,
                points,
                label_at,
                anchor,
                back=True,
            )
        )
    return edges


def _normalise(block: _Block) -> None:
    """Move the block so that everything it draws starts at (0, 0); set its size."""
    xs: list[float] = []
    ys: list[float] = []
    for n in block.nodes:
        xs += [n.x, n.x + n.w]
        ys += [n.y, n.y + n.h]
    for e in block.edges:
        xs += [x for x, _ in e.points]
        ys += [y for _, y in e.points]
        label_w = text_width(e.label, LABEL_CHAR_W)
        lx = e.label_at[0]
        if e.label_anchor == "start":
            xs.append(lx + label_w)
        elif e.label_anchor == "end":
            xs.append(lx - label_w)
        else:
            xs += [lx - label_w / 2, lx + label_w / 2]
    if not xs:
        block.w, block.h = MIN_W, 20.0
        return
    dx, dy = -min(xs), -min(ys)
    block.nodes = [n.moved(dx, dy) for n in block.nodes]
    block.edges = [e.moved(dx, dy) for e in block.edges]
    block.dividers = [(a + dx, b + dy, c + dx, d + dy) for a, b, c, d in block.dividers]
    block.w, block.h = max(xs) + dx, max(ys) + dy
