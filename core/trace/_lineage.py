"""Lineage: every ancestor (backward) or descendant (forward) of a set of containers.

Why: genealogy is a graph (merges join branches), deep (dozens of splits), and contains
mistakes (cycles, self-references), so a recursive query per seed is neither portable
nor safe. The graph is grown level by level: each level is a few IN-list batch queries
on the slow lane (``stream_batched`` + ``in_ids``, ≤ 1000 ids each) over the new frontier
only, and the set of known containers makes it cycle-safe. Edges (shared/domain.md),
always oriented parent → child (ancestor → descendant):

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

Design for speed (the incident: 70K seeds, 114K containers, 97K edges): no Python object
per row (per-row objects, tuple sets and sorts once cost more than the queries). A
level's rows stay Arrow from the driver to the result: kinds are computed per batch in
the slow lane's workers (``_shape``); edges, frontiers and the known set with Arrow
compute (``is_in`` hashing the smaller side, filters, ``take``); the result's edges are
deduplicated and sorted as integer keys (ranks of the ids) and its roots found by a
vectorised breadth-first search over them (numpy). Fewer queries: a wafer lot already
known is not looked up again, forward children come from one query per batch
(splitfromid or originalcontainerid), and wafer children skip the merge lookups their
filter already excludes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.sql import Executable

from core.db import IdSet, sorted_ids
from core.errors import InputError
from core.i18n import N_
from core.trace._queries import merges_query, nodes_query, wafer_children_query

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
# The row of a node query (queries._node_select), before _shape adds serial and kind.
ROW_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()),
    ("mfgordername", pa.string()), ("firstname", pa.string()), ("splitfromid", pa.string()),
    ("originalcontainerid", pa.string()), ("finishedname", pa.string()),
    ("merged", pa.int64()),
])
MERGES_SCHEMA = pa.schema([("containerid", pa.string()), ("lotid", pa.string())])
ORDER_PREFIXES = pa.array(["GA", "GC", "GD"])
EMPTY_ROWS, EMPTY_MERGES = ROW_SCHEMA.empty_table(), MERGES_SCHEMA.empty_table()
EMPTY_EDGES = EDGES_SCHEMA.empty_table()
EDGE_ORDER = pa.array(sorted(EDGE_KINDS))  # edge kind codes, in the edge table's order

Progress = Callable[..., None]


class LineageError(InputError):
    """Bad lineage input (unknown direction, no seeds)."""


@dataclass
class Lineage:
    direction: str
    seeds: list[str]
    nodes: pa.Table
    edges: pa.Table
    roots: list[str]
    truncated: str | None
    levels: int
    _sorted_ids: pa.Array | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def container_ids(self) -> list[str]:
        """Every container of the lineage, sorted."""
        return self.container_id_array.to_pylist()

    @property
    def container_id_array(self) -> pa.Array:
        """``container_ids`` as an Arrow array: what ``fetch_domain`` and ``spool_query``
        take without making 114K Python strings (a GIL hold) first."""
        if self._sorted_ids is None:
            self._sorted_ids = sorted_ids(self.nodes.column("containerid"))
        return self._sorted_ids

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


# --- rows: kinds and edges, vectorised ------------------------------------------------------


def _truthy(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Not null and not empty (Python truthiness of an optional string)."""
    return pc.fill_null(pc.not_equal(values, ""), False)


def _prefix(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.utf8_upper(pc.utf8_slice_codeunits(pc.fill_null(values, ""), 0, 2))


def _shape(rows: pa.Table) -> pa.Table:
    """A node query's rows with ``serial`` (a merge result) and ``kind``: SERIAL if merged;
    WAFER if the name is its own firstname and there is no work order; else GA/GC/GD from
    the work order's, then the name's first two letters; else LOT. Thread-safe."""
    rows = rows.select(ROW_SCHEMA.names).cast(ROW_SCHEMA)
    serial = pc.fill_null(pc.not_equal(rows["merged"], 0), False)
    name, wo = rows["containername"], rows["mfgordername"]
    wafer = pc.and_(pc.fill_null(pc.equal(name, rows["firstname"]), False),
                    pc.invert(_truthy(wo)))
    by_wo, by_name = _prefix(wo), _prefix(name)
    kind = pc.case_when(
        pc.make_struct(serial, wafer, pc.is_in(by_wo, value_set=ORDER_PREFIXES),
                       pc.is_in(by_name, value_set=ORDER_PREFIXES),
                       field_names=["serial", "wafer", "wo", "name"]),
        "SERIAL", "WAFER", by_wo, by_name, "LOT",
    )
    return rows.append_column("serial", serial).append_column("kind", kind)


def _shape_merges(rows: pa.Table) -> pa.Table:
    return rows.select(MERGES_SCHEMA.names).cast(MERGES_SCHEMA)


def _edges(parent: pa.Array, child: pa.Array, kind: str | pa.Array) -> pa.Table:
    if isinstance(kind, str):
        kind = pa.repeat(pa.scalar(kind, pa.string()), len(child))
    return pa.Table.from_arrays([parent, child, kind], schema=EDGES_SCHEMA)


def _own_edges(rows: pa.Table) -> pa.Table:
    """Split and rework edges into each row's container, from the row itself: rework
    from originalcontainerid; from splitfromid (unless it equals originalcontainerid) a
    rework edge into a GD lot without originalcontainerid, else a split edge.
    Self-references are ignored."""
    cid = rows["containerid"]
    raw_original, raw_split = rows["originalcontainerid"], rows["splitfromid"]
    null = pa.scalar(None, pa.string())
    original = pc.if_else(pc.fill_null(pc.equal(raw_original, cid), False), null, raw_original)
    split = pc.if_else(pc.fill_null(pc.equal(raw_split, cid), False), null, raw_split)
    rework = _truthy(original)
    from_split = pc.and_(_truthy(split),
                         pc.fill_null(pc.not_equal(raw_split, raw_original), True))
    split_kind = pc.if_else(pc.and_(pc.is_null(original), pc.equal(rows["kind"], "GD")),
                            "rework", "split")
    return pa.concat_tables([
        _edges(original.filter(rework), cid.filter(rework), "rework"),
        _edges(split.filter(from_split), cid.filter(from_split), split_kind.filter(from_split)),
    ])


def _wafer_roots(rows: pa.Table) -> pa.Table:
    """Rows cut directly from their wafer lot (they get a wafer edge)."""
    mask = pc.and_(
        pc.and_(pc.is_null(rows["splitfromid"]), pc.is_null(rows["originalcontainerid"])),
        pc.and_(pc.invert(rows["serial"]), _truthy(rows["firstname"])),
    )
    mask = pc.and_(mask, pc.fill_null(pc.not_equal(rows["containername"], rows["firstname"]),
                                      True))
    return rows.filter(mask)


def _unique_rows(rows: pa.Table) -> pa.Table:
    """One row per containerid (rows of one container are identical: the same select)."""
    ids = rows["containerid"]
    unique = pc.unique(ids)
    if len(unique) == rows.num_rows:
        return rows
    return rows.take(pc.index_in(unique, value_set=ids))


def _sorted_by_id(rows: pa.Table) -> pa.Table:
    return rows.take(pc.sort_indices(rows["containerid"]))


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _isin(values: pa.Array | pa.ChunkedArray, *pools: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values[i]`` is in one of ``pools`` (null never is). Arrow's ``is_in`` hashes its
    value set, which costs several times probing it, so when the pool is much bigger
    than ``values`` (the known set against a late level) the pool probes ``values``
    first and only the ids in common are hashed."""
    pool = pa.concat_arrays([_flat(p) for p in pools]) if len(pools) > 1 else _flat(pools[0])
    if len(pool) > 4 * len(values):
        pool = pool.filter(pc.is_in(pool, value_set=pc.unique(values)))
    return pc.is_in(values, value_set=pool)


# --- queries ---------------------------------------------------------------------------------


class _Walker:
    def __init__(self, lanes: Lanes, cancel: CancelToken | None) -> None:
        self.lanes = lanes
        self.cancel = cancel

    def batched(
        self,
        build: Callable[[list[str]], Executable],
        values: pa.Array | pa.ChunkedArray,
        empty: pa.Table,
        shape: Callable[[pa.Table], pa.Table],
    ) -> pa.Table:
        """Rows of ``build`` over the distinct non-empty ``values`` (sorted, in IN-list
        batches), each batch shaped in the lane's worker, as one table; no query when
        there is nothing to look up (``shape(empty)`` then)."""
        todo = sorted_ids(values.filter(_truthy(values)))
        tables: list[pa.Table] = []
        if len(todo):
            for batch in self.lanes.slow.stream_batched(
                build, todo, cancel=self.cancel, transform=shape
            ):
                if batch.table is not None:
                    tables.append(batch.table)
        return pa.concat_tables(tables) if tables else shape(empty)

    def nodes(self, by: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
        return self.batched(lambda c: nodes_query(by, c), values, EMPTY_ROWS, _shape)

    def wafer_children(self, names: pa.Array | pa.ChunkedArray) -> pa.Table:
        return self.batched(wafer_children_query, names, EMPTY_ROWS, _shape)

    def merges(self, by: str, ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        return self.batched(lambda c: merges_query(by, c), ids, EMPTY_MERGES, _shape_merges)


# --- the walk --------------------------------------------------------------------------------


def trace_lineage(
    lanes: Lanes,
    seed_ids: IdSet,
    direction: str,
    *,
    settings: Settings,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
) -> Lineage:
    """Ancestors (``backward``) or descendants (``forward``) of ``seed_ids``, seeds
    included. Deterministic for a given database: nodes sorted by depth then id, edges
    sorted, roots sorted. ``seed_ids`` may be an Arrow array (no Python strings for a big
    seed set). Raises LineageError for bad input, LaneError from the lanes."""
    if direction not in DIRECTIONS:
        raise LineageError(f"Unknown direction {direction!r}: use backward or forward.")
    seed_array = sorted_ids(seed_ids)
    seed_array = seed_array.filter(_truthy(seed_array))  # sorted(set()): a 50 ms GIL hold
    if not len(seed_array):
        raise LineageError("No seed containers: nothing to trace.")
    seeds = seed_array.to_pylist()
    walk = _Walker(lanes, cancel)
    max_depth, max_nodes = settings.trace_max_depth, settings.trace_max_nodes
    frontier = _sorted_by_id(_unique_rows(walk.nodes("containerid", seed_array)))
    truncated: str | None = None
    if frontier.num_rows > max_nodes:
        frontier = frontier.slice(0, max_nodes)
        truncated = f"trace_max_nodes ({max_nodes:,} containers)"
    known: list[pa.Table] = [frontier]  # one table per depth, each sorted by id
    known_ids = frontier["containerid"].combine_chunks()
    edges: list[pa.Table] = []
    level = 0
    step = _backward_level if direction == "backward" else _forward_level
    while frontier.num_rows and truncated is None:
        level += 1
        found, new_edges = step(walk, frontier, known, known_ids)
        edges.append(new_edges)
        new = _sorted_by_id(found.filter(pc.invert(_isin(found["containerid"], known_ids))))
        if progress is not None:
            progress(done=level, total=None, rows=len(known_ids) + new.num_rows,
                     message=N_("levels walked, containers found"))
        if not new.num_rows:
            break
        if level > max_depth:
            truncated = f"trace_max_depth ({max_depth} levels)"
            break
        room = max_nodes - len(known_ids)
        if new.num_rows > room:
            new = new.slice(0, room)
            truncated = f"trace_max_nodes ({max_nodes:,} containers)"
        known.append(new)
        known_ids = pa.concat_arrays([known_ids, new["containerid"].combine_chunks()])
        frontier = new
    return _build(direction, seeds, known, edges, truncated, level)


def _backward_level(
    walk: _Walker, frontier: pa.Table, known: list[pa.Table], known_ids: pa.Array
) -> tuple[pa.Table, pa.Table]:
    """Parents of the frontier: split/rework parents from its own rows, merge sources of
    its combined lots, and the wafer lot of each lot cut directly from one."""
    own = _own_edges(frontier)
    sources = walk.merges("lotid", frontier["containerid"].filter(frontier["serial"]))
    merges = _edges(sources["containerid"], sources["lotid"], "merge")
    cut = _wafer_roots(frontier)
    wafers = _wafer_lots(walk, cut["firstname"], known)
    at = pc.index_in(cut["firstname"], value_set=wafers["containername"])
    has = pc.is_valid(at)
    wafer_edges = _edges(wafers["containerid"].take(at.filter(has)),
                         cut["containerid"].filter(has), "wafer")
    level_edges = pa.concat_tables([own, merges, wafer_edges])
    parents = level_edges["parent_id"]
    seen = pc.or_(_isin(parents, known_ids), _isin(parents, wafers["containerid"]))
    found = pa.concat_tables([wafers, walk.nodes("containerid", parents.filter(pc.invert(seen)))])
    # Edges to parents that do not exist in the warehouse are dropped.
    level_edges = level_edges.filter(pc.or_(seen, _isin(parents, found["containerid"])))
    return _unique_rows(found), level_edges


def _wafer_lots(walk: _Walker, names: pa.ChunkedArray, known: list[pa.Table]) -> pa.Table:
    """The WAFER containers named ``names``: from the known rows when a container of that
    name is known already (names are unique), else queried by name."""
    rows = pa.concat_tables(known)
    at_known = _isin(rows["containername"], names)
    known_named = rows.filter(at_known)
    ask = names.filter(pc.invert(_isin(names, known_named["containername"])))
    wafers = pa.concat_tables([known_named, walk.nodes("containername", ask)])
    return _unique_rows(wafers.filter(pc.equal(wafers["kind"], "WAFER")))


def _forward_level(
    walk: _Walker, frontier: pa.Table, known: list[pa.Table], known_ids: pa.Array
) -> tuple[pa.Table, pa.Table]:
    """Children of the frontier: lots split or reworked from it (their own rows name the
    parent), combined lots it was merged into, and lots cut directly from its wafer lots."""
    ids = frontier["containerid"]
    children = walk.nodes("parent", ids)
    own = _own_edges(children)
    own = own.filter(_isin(own["parent_id"], ids))
    sources = walk.merges("containerid", ids)
    merges = _edges(sources["containerid"], sources["lotid"], "merge")
    wafers = frontier.filter(pc.equal(frontier["kind"], "WAFER"))
    cut = walk.wafer_children(wafers["containername"])
    at = pc.index_in(cut["firstname"], value_set=wafers["containername"])
    wafer_edges = _edges(wafers["containerid"].take(at), cut["containerid"], "wafer")
    kids = pa.concat_tables([
        children.filter(_isin(children["containerid"], own["child_id"])), cut,
    ])
    level_edges = pa.concat_tables([own, merges, wafer_edges])
    targets = level_edges["child_id"]
    seen = pc.or_(_isin(targets, known_ids), _isin(targets, kids["containerid"]))
    lots = targets.filter(pc.invert(seen))  # only merge targets can be missing here
    found = pa.concat_tables([kids, walk.nodes("containerid", lots)])
    level_edges = level_edges.filter(pc.or_(seen, _isin(targets, found["containerid"])))
    return _unique_rows(found), level_edges


# --- the result ------------------------------------------------------------------------------


def _build(
    direction: str,
    seeds: list[str],
    known: list[pa.Table],
    edges: list[pa.Table],
    truncated: str | None,
    levels: int,
) -> Lineage:
    # ``known`` holds one id-sorted table per depth (depth 0: the seeds found), so its
    # concatenation is in (depth, id) order already.
    depth = pa.concat_arrays([
        pa.repeat(pa.scalar(d, pa.int64()), part.num_rows) for d, part in enumerate(known)
    ])
    rows = pa.concat_tables(known).combine_chunks()
    ids = rows["containerid"].combine_chunks()
    nodes = pa.Table.from_arrays(
        [ids, rows["containername"], rows["kind"], depth, pc.equal(depth, 0),
         rows["mfgordername"], rows["firstname"], rows["finishedname"]],
        schema=NODES_SCHEMA,
    )
    by_id = ids.take(pc.sort_indices(ids))  # node number = rank of its id
    parent, child, kind = _ranked_edges(by_id, pa.concat_tables([EMPTY_EDGES, *edges]))
    edge_table = pa.Table.from_arrays(
        [by_id.take(parent), by_id.take(child), EDGE_ORDER.take(kind)], schema=EDGES_SCHEMA
    )
    lineage = Lineage(direction, seeds, nodes, edge_table, _roots(by_id, parent, child),
                      truncated, levels)
    lineage._sorted_ids = by_id
    return lineage


def _ranked_edges(
    by_id: pa.Array, edges: pa.Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct edges between nodes (no self-loops), as node numbers and kind codes,
    sorted by (parent id, child id, kind), the order of the edge table."""
    n, m = len(by_id), edges.num_rows
    ends = pc.index_in(pa.concat_arrays([_flat(edges["parent_id"]), _flat(edges["child_id"])]),
                       value_set=by_id)
    # a cut graph has edges to nodes left out: those have no number and are dropped
    ends = ends.to_numpy(zero_copy_only=False) if ends.null_count == 0 else (
        pc.fill_null(ends, -1).to_numpy())
    parent, child = ends[:m].astype(np.int64), ends[m:].astype(np.int64)
    kind = pc.index_in(edges["edge_kind"], value_set=EDGE_ORDER).to_numpy(zero_copy_only=False)
    keep = (parent >= 0) & (child >= 0) & (parent != child)
    kinds = len(EDGE_ORDER)
    keys = np.unique((parent[keep] * n + child[keep]) * kinds + kind[keep])
    return keys // kinds // n, keys // kinds % n, keys % kinds


def _roots(by_id: pa.Array, parent: np.ndarray, child: np.ndarray) -> list[str]:
    """Nodes without a parent in the graph, sorted; a cycle nobody enters contributes its
    smallest id, so every node is reachable from some root. ``parent``/``child`` are node
    numbers (ranks of the ids) sorted by parent."""
    n = len(by_id)
    start = np.searchsorted(parent, np.arange(n + 1))  # children of i: start[i]:start[i+1]
    seen = np.zeros(n, dtype=bool)

    def reach(frontier: np.ndarray) -> None:
        seen[frontier] = True
        while frontier.size:
            lo = start[frontier]
            counts = start[frontier + 1] - lo
            total = int(counts.sum())
            if not total:
                return
            at = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
            frontier = np.unique(child[at])
            frontier = frontier[~seen[frontier]]
            seen[frontier] = True

    has_parent = np.zeros(n, dtype=bool)
    has_parent[child] = True
    roots = [np.flatnonzero(~has_parent)]
    reach(roots[0])
    for i in np.flatnonzero(~seen):  # ascending id order: a cycle's smallest id first
        if not seen[i]:
            roots.append(np.array([i]))
            reach(roots[-1])
    return by_id.take(pa.array(np.sort(np.concatenate(roots)))).to_pylist()
