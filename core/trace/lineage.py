"""Lineage: every ancestor (backward) or descendant (forward) of a set of containers.

Why: genealogy is a graph (merges join branches), deep (dozens of splits), and contains
mistakes (cycles, self-references), so a recursive query per seed is neither portable
nor safe. The graph is grown level by level: each level is a few IN-list batch queries
on the slow lane (``stream_batched`` + ``in_ids``, ≤ 1000 ids each) over the new frontier
only, and a visited set makes it cycle-safe. Edges (shared/domain.md), always oriented
parent → child (ancestor → descendant):

- ``split``: child.splitfromid → child (not for a GD lot without originalcontainerid);
- ``rework``: a GD lot's originalcontainerid (or its splitfromid when that is empty) → it;
- ``merge``: each source containerid → its combined lotid (dw_mes_pj_combinedassylots);
- ``wafer``: the wafer lot named the lot's firstname → a lot cut directly from it (no
  split or rework parent, not a merge result, not a wafer lot itself).

Edges derive from the child's own row, so both directions see the same edge set.
Node kinds: SERIAL (a combined lot, finished as a serial), WAFER (a lot whose name is its
own firstname), GA/GC/GD (work order, else name prefix), LOT otherwise. Bounds
(``trace_max_depth``, ``trace_max_nodes``) never cut silently: ``Lineage.truncated``
names the bound; nodes past a cut are left out in a deterministic (sorted) order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy.sql import Executable

from core.trace.queries import merges_query, nodes_query, wafer_children_query

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes

DIRECTIONS = ("backward", "forward")
NODE_KINDS = ("WAFER", "GA", "GC", "GD", "LOT", "SERIAL")
EDGE_KINDS = ("split", "merge", "wafer", "rework")

NODES_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()), ("kind", pa.string()),
    ("depth", pa.int64()), ("is_seed", pa.bool_()), ("mfgordername", pa.string()),
    ("firstname", pa.string()), ("finishedname", pa.string()),
])
EDGES_SCHEMA = pa.schema([
    ("parent_id", pa.string()), ("child_id", pa.string()), ("edge_kind", pa.string()),
])

Progress = Callable[..., None]


class LineageError(ValueError):
    """Bad lineage input (unknown direction, no seeds)."""


@dataclass
class Node:
    cid: str
    name: str | None
    wo: str | None
    firstname: str | None
    splitfrom: str | None
    original: str | None
    finished: str | None
    merged: bool

    @property
    def kind(self) -> str:
        if self.merged:
            return "SERIAL"
        if self.name is not None and self.name == self.firstname and not self.wo:
            return "WAFER"
        for text in (self.wo, self.name):
            prefix = (text or "")[:2].upper()
            if prefix in ("GA", "GC", "GD"):
                return prefix
        return "LOT"

    @property
    def is_wafer_root(self) -> bool:
        """Cut directly from its wafer lot (gets a wafer edge)."""
        return (
            self.splitfrom is None and self.original is None and not self.merged
            and bool(self.firstname) and self.name != self.firstname
        )

    def own_edges(self) -> list[tuple[str, str, str]]:
        """Split and rework edges into this node, from its own row."""
        out: list[tuple[str, str, str]] = []
        original = self.original if self.original != self.cid else None
        splitfrom = self.splitfrom if self.splitfrom != self.cid else None
        if original:
            out.append((original, self.cid, "rework"))
        if splitfrom and splitfrom != self.original:
            if original is None and self.kind == "GD":
                out.append((splitfrom, self.cid, "rework"))
            else:
                out.append((splitfrom, self.cid, "split"))
        return out


@dataclass
class Lineage:
    direction: str
    seeds: list[str]
    nodes: pa.Table
    edges: pa.Table
    roots: list[str]
    truncated: str | None
    levels: int

    @property
    def container_ids(self) -> list[str]:
        return sorted(self.nodes.column("containerid").to_pylist())

    def summary(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "seeds": len(self.seeds),
            "nodes": self.nodes.num_rows,
            "edges": self.edges.num_rows,
            "roots": len(self.roots),
            "levels": self.levels,
            "truncated": self.truncated,
        }


def _node_from(row: dict[str, Any]) -> Node:
    return Node(
        row["containerid"], row["containername"], row["mfgordername"], row["firstname"],
        row["splitfromid"], row["originalcontainerid"], row["finishedname"],
        bool(row["merged"]),
    )


class _Walker:
    def __init__(self, lanes: Lanes, cancel: CancelToken | None) -> None:
        self.lanes = lanes
        self.cancel = cancel

    def batched(
        self, build: Callable[[list[str]], Executable], values: Iterable[str]
    ) -> Iterable[dict[str, Any]]:
        todo = sorted(set(values))
        if not todo:
            return
        for batch in self.lanes.slow.stream_batched(build, todo, cancel=self.cancel):
            if batch.table is not None:
                yield from batch.table.to_pylist()

    def nodes(self, by: str, values: Iterable[str]) -> list[Node]:
        return [_node_from(r) for r in self.batched(lambda c: nodes_query(by, c), values)]

    def wafer_children(self, names: Iterable[str | None]) -> list[Node]:
        todo = [n for n in names if n]
        return [_node_from(r) for r in self.batched(wafer_children_query, todo)]

    def merges(self, by: str, ids: Iterable[str]) -> list[tuple[str, str]]:
        return [
            (r["containerid"], r["lotid"])
            for r in self.batched(lambda c: merges_query(by, c), ids)
        ]


def trace_lineage(
    lanes: Lanes,
    seed_ids: Sequence[str],
    direction: str,
    *,
    settings: Settings,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
) -> Lineage:
    """Ancestors (``backward``) or descendants (``forward``) of ``seed_ids``, seeds
    included. Deterministic for a given database: nodes sorted by depth then id, edges
    sorted, roots sorted. Raises LineageError for bad input, LaneError from the lanes."""
    if direction not in DIRECTIONS:
        raise LineageError(f"Unknown direction {direction!r}: use backward or forward.")
    seeds = sorted({s for s in seed_ids if s})
    if not seeds:
        raise LineageError("No seed containers: nothing to trace.")
    walk = _Walker(lanes, cancel)
    max_depth, max_nodes = settings.trace_max_depth, settings.trace_max_nodes
    known: dict[str, Node] = {n.cid: n for n in walk.nodes("containerid", seeds)}
    depth: dict[str, int] = dict.fromkeys(known, 0)
    edges: set[tuple[str, str, str]] = set()
    truncated: str | None = None
    if len(known) > max_nodes:
        keep = sorted(known)[:max_nodes]
        known = {k: known[k] for k in keep}
        depth = dict.fromkeys(known, 0)
        truncated = f"trace_max_nodes ({max_nodes:,} containers)"
    frontier = sorted(known)
    level = 0
    step = _backward_level if direction == "backward" else _forward_level
    while frontier and truncated is None:
        level += 1
        found, new_edges = step(walk, [known[c] for c in frontier], known)
        edges |= new_edges
        new = sorted(set(found) - set(known))
        if progress is not None:
            progress(done=level, total=None, rows=len(known) + len(new),
                     message=f"level {level}: {len(new):,} new containers")
        if not new:
            break
        if level > max_depth:
            truncated = f"trace_max_depth ({max_depth} levels)"
            break
        room = max_nodes - len(known)
        if len(new) > room:
            new = new[:room]
            truncated = f"trace_max_nodes ({max_nodes:,} containers)"
        for cid in new:
            known[cid] = found[cid]
            depth[cid] = level
        frontier = new
    return _build(direction, seeds, known, depth, edges, truncated, level)


def _backward_level(
    walk: _Walker, frontier: list[Node], known: dict[str, Node]
) -> tuple[dict[str, Node], set[tuple[str, str, str]]]:
    edges: set[tuple[str, str, str]] = set()
    for node in frontier:
        edges.update(node.own_edges())
    merged = [n.cid for n in frontier if n.merged]
    for src, lot in walk.merges("lotid", merged):
        edges.add((src, lot, "merge"))
    found: dict[str, Node] = {}
    wafer_names = {n.firstname for n in frontier if n.is_wafer_root}
    by_name = {n.name: n for n in walk.nodes("containername", wafer_names) if n.kind == "WAFER"}
    for node in frontier:
        if node.is_wafer_root and node.firstname in by_name:
            wafer = by_name[node.firstname]
            edges.add((wafer.cid, node.cid, "wafer"))
            found[wafer.cid] = wafer
    missing = {p for p, _c, _k in edges} - set(known) - set(found)
    for n in walk.nodes("containerid", missing):
        found[n.cid] = n
    # Edges to parents that do not exist in the warehouse are dropped.
    edges = {e for e in edges if e[0] in known or e[0] in found}
    return found, edges


def _forward_level(
    walk: _Walker, frontier: list[Node], known: dict[str, Node]
) -> tuple[dict[str, Node], set[tuple[str, str, str]]]:
    ids = {n.cid for n in frontier}
    found: dict[str, Node] = {}
    edges: set[tuple[str, str, str]] = set()
    for by in ("splitfromid", "originalcontainerid"):
        for child in walk.nodes(by, ids):
            for edge in child.own_edges():
                if edge[0] in ids:
                    edges.add(edge)
                    found.setdefault(child.cid, child)
    lots: set[str] = set()
    for src, lot in walk.merges("containerid", ids):
        edges.add((src, lot, "merge"))
        lots.add(lot)
    wafers = {n.name: n.cid for n in frontier if n.kind == "WAFER"}
    for child in walk.wafer_children(wafers):
        edges.add((wafers[child.firstname], child.cid, "wafer"))
        found.setdefault(child.cid, child)
    missing = lots - set(known) - set(found)
    for n in walk.nodes("containerid", missing):
        found[n.cid] = n
    edges = {e for e in edges if e[1] in known or e[1] in found}
    return found, edges


def _build(
    direction: str,
    seeds: list[str],
    known: dict[str, Node],
    depth: dict[str, int],
    edges: set[tuple[str, str, str]],
    truncated: str | None,
    levels: int,
) -> Lineage:
    seed_set = set(seeds)
    order = sorted(known, key=lambda c: (depth[c], c))
    nodes = pa.Table.from_pydict(
        {
            "containerid": order,
            "containername": [known[c].name for c in order],
            "kind": [known[c].kind for c in order],
            "depth": [depth[c] for c in order],
            "is_seed": [c in seed_set for c in order],
            "mfgordername": [known[c].wo for c in order],
            "firstname": [known[c].firstname for c in order],
            "finishedname": [known[c].finished for c in order],
        },
        schema=NODES_SCHEMA,
    )
    kept = sorted(e for e in edges if e[0] in known and e[1] in known and e[0] != e[1])
    edge_table = pa.Table.from_pydict(
        {
            "parent_id": [e[0] for e in kept],
            "child_id": [e[1] for e in kept],
            "edge_kind": [e[2] for e in kept],
        },
        schema=EDGES_SCHEMA,
    )
    return Lineage(direction, seeds, nodes, edge_table, _roots(known, kept), truncated, levels)


def _roots(known: dict[str, Node], edges: list[tuple[str, str, str]]) -> list[str]:
    """Nodes without a parent in the graph, sorted; a cycle nobody enters contributes its
    smallest id, so every node is reachable from some root."""
    children: dict[str, list[str]] = {}
    has_parent: set[str] = set()
    for p, c, _k in edges:
        children.setdefault(p, []).append(c)
        has_parent.add(c)
    roots = sorted(c for c in known if c not in has_parent)
    seen: set[str] = set()

    def reach(start: str) -> None:
        stack = [start]
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            stack.extend(children.get(cur, ()))

    for r in roots:
        reach(r)
    for cid in sorted(known):
        if cid not in seen:
            roots.append(cid)
            reach(cid)
    return sorted(roots)
