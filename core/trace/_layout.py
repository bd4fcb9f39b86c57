"""Lineage graph layout: generations, layered positions and the part of a big graph drawn.

Why here and not in the trace page: pages are UI only (docs/engineering.md). Where each
container sits in the graph is a rule about the lineage (the longest parent→child path
from a root, splits fanning out, merges converging), so it lives beside the lineage, pure
functions over node and edge frames, tested without Streamlit; the page only draws.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable

import pandas as pd

#: How many parent/child steps around a focused container the graph draws when the whole
#: lineage is over settings.graph_max_nodes.
FOCUS_STEPS = 3


def generations(ids: list[str], edges: pd.DataFrame) -> dict[str, int]:
    """Generation of each container: the longest parent→child path from a root (Kahn's
    order; containers caught in a cycle keep the generation reached before it)."""
    indeg = dict.fromkeys(ids, 0)
    children: dict[str, list[str]] = defaultdict(list)
    for p, c in zip(edges["parent_id"], edges["child_id"], strict=True):
        if p in indeg and c in indeg and p != c:
            children[p].append(c)
            indeg[c] += 1
    gen = dict.fromkeys(ids, 0)
    queue = deque(i for i, d in indeg.items() if d == 0)
    while queue:
        n = queue.popleft()
        for c in children[n]:
            gen[c] = max(gen[c], gen[n] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                queue.append(c)
    return gen


def layered_positions(nodes: pd.DataFrame, edges: pd.DataFrame
                      ) -> dict[str, tuple[float, float]]:
    """Layered layout: x = generation (wafer lots and other roots left, serials right),
    y = rank within the layer (by the mean rank of its already placed neighbours, then
    kind and name), so splits fan out and merges converge."""
    gen = generations(list(nodes["containerid"]), edges)
    near: dict[str, list[str]] = defaultdict(list)
    for p, c in zip(edges["parent_id"], edges["child_id"], strict=True):
        near[c].append(p)
        near[p].append(c)
    rows = {r.containerid: r for r in nodes.itertuples(index=False)}
    pos: dict[str, tuple[float, float]] = {}
    for g in sorted(set(gen.values())):
        layer = [cid for cid, v in gen.items() if v == g]

        def score(cid: str) -> tuple[float, str, str]:
            placed = [pos[n][1] for n in near.get(cid, []) if n in pos]
            r = rows[cid]
            return (sum(placed) / len(placed) if placed else 0.0, str(r.kind),
                    str(r.containername))

        layer.sort(key=score)
        for i, cid in enumerate(layer):
            pos[cid] = (float(g), i - (len(layer) - 1) / 2)
    return pos


def widest_layer(pos: dict[str, tuple[float, float]]) -> int:
    """The most containers in one generation (the graph's height follows it)."""
    return max(Counter(x for x, _ in pos.values()).values(), default=1)


def drawn_part(nodes: pd.DataFrame, edges: pd.DataFrame, focus_ids: Iterable[str],
               max_nodes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The nodes and edges the graph draws: all of them up to ``max_nodes``; over it the
    containers within FOCUS_STEPS steps of the focused ones, else the shallowest (nodes
    come ordered by depth), at most ``max_nodes`` either way."""
    focus = set(focus_ids)
    shown = nodes
    if len(nodes) > max_nodes:
        if focus:
            near = set(focus)
            for _ in range(FOCUS_STEPS):
                near |= set(edges[edges["parent_id"].isin(near)]["child_id"])
                near |= set(edges[edges["child_id"].isin(near)]["parent_id"])
            shown = nodes[nodes["containerid"].isin(near)].head(max_nodes)
        else:
            shown = nodes.head(max_nodes)
    ids = set(shown["containerid"])
    return shown, edges[edges["parent_id"].isin(ids) & edges["child_id"].isin(ids)]


def focus_matches(nodes: pd.DataFrame, focus: str) -> pd.DataFrame:
    """Containers a focus text names: an exact name or id, else names containing it."""
    hit = nodes[(nodes["containername"] == focus) | (nodes["containerid"] == focus)]
    if hit.empty:
        hit = nodes[nodes["containername"].fillna("").str.contains(focus, regex=False)]
    return hit


def with_descendants(edges: pd.DataFrame, ids: Iterable[str]) -> list[str]:
    """``ids`` and every container below them in the lineage (their sub-lots: children,
    the children's children, ...), sorted; cycle-safe. What the Trace page's domain tables
    show when nodes of the graph are selected."""
    children: dict[str, list[str]] = defaultdict(list)
    for p, c in zip(edges["parent_id"], edges["child_id"], strict=True):
        children[p].append(c)
    seen = set(ids)
    todo = deque(seen)
    while todo:
        for c in children.get(todo.popleft(), ()):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return sorted(seen)
