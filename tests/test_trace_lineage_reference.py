"""Lineage against a row-by-row reference, on real DuckDB and PostgreSQL.

Why: ``trace_lineage`` derives kinds, edges, frontiers, depths and roots with Arrow and
numpy over batched query results. This file spells the genealogy rules of
shared/domain.md out one row at a time in plain Python (the engine's original
formulation, over dicts instead of queries) and checks that the engine returns exactly
the same nodes (kind, depth, seed flag, attributes, order), edges (order), roots,
truncation and level count. Data: random genealogies with cycles, self-references,
merges of merges, self-merges, GD rework, dangling references, empty strings and
lower-case prefixes, traced both ways under both bounds with tiny IN-list batches (so
every level takes several batches arriving in any order); and one hand-built genealogy
for the cases a random one may miss (a cycle entered from outside, a wafer lot met
again at a later level, a merge and a split between the same two lots, a lot merged
into itself, a name that is its own firstname but has a work order).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import schema as t
from core.db import open_lanes
from core.db._engines import make_engine
from core.trace import trace_lineage
from tests.conftest import make_settings

# --- the reference ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    cid: str
    name: str
    wo: str | None
    first: str | None
    split: str | None
    orig: str | None


@dataclass
class Genealogy:
    rows: list[Row]
    merges: list[tuple[str, str, str | None]]  # (combined lotid, source containerid, serial)

    def __post_init__(self) -> None:
        self.by_id = {r.cid: r for r in self.rows}
        self.by_name = {r.name: r for r in self.rows}
        self.merged = {lot for lot, _s, _f in self.merges}

    def finished(self, cid: str) -> str | None:
        names = [f for lot, _s, f in self.merges if lot == cid and f is not None]
        return max(names) if names else None

    def kind(self, r: Row) -> str:
        if r.cid in self.merged:
            return "SERIAL"
        if r.name == r.first and not r.wo:
            return "WAFER"
        for text in (r.wo, r.name):
            if (text or "")[:2].upper() in ("GA", "GC", "GD"):
                return (text or "")[:2].upper()
        return "LOT"

    def own_edges(self, r: Row) -> set[tuple[str, str, str]]:
        out = set()
        orig = r.orig if r.orig != r.cid else None
        split = r.split if r.split != r.cid else None
        if orig:
            out.add((orig, r.cid, "rework"))
        if split and split != r.orig:
            gd = orig is None and self.kind(r) == "GD"
            out.add((split, r.cid, "rework" if gd else "split"))
        return out

    def cut_from_wafer(self, r: Row) -> bool:
        return (r.split is None and r.orig is None and r.cid not in self.merged
                and bool(r.first) and r.name != r.first)

    def backward(self, frontier: list[Row], known: dict[str, Row]):
        edges: set[tuple[str, str, str]] = set()
        for r in frontier:
            edges |= self.own_edges(r)
        lots = {r.cid for r in frontier if r.cid in self.merged}
        edges |= {(src, lot, "merge") for lot, src, _f in self.merges if lot in lots}
        found: dict[str, Row] = {}
        for r in frontier:
            wafer = self.by_name.get(r.first or "") if self.cut_from_wafer(r) else None
            if wafer is not None and self.kind(wafer) == "WAFER":
                edges.add((wafer.cid, r.cid, "wafer"))
                found[wafer.cid] = wafer
        for p, _c, _k in edges:
            if p not in known and p not in found and p in self.by_id:
                found[p] = self.by_id[p]
        return found, {e for e in edges if e[0] in known or e[0] in found}

    def forward(self, frontier: list[Row], known: dict[str, Row]):
        ids = {r.cid for r in frontier}
        found: dict[str, Row] = {}
        edges: set[tuple[str, str, str]] = set()
        for child in self.rows:
            if child.split in ids or child.orig in ids:
                for e in self.own_edges(child):
                    if e[0] in ids:
                        edges.add(e)
                        found.setdefault(child.cid, child)
        lots = set()
        for lot, src, _f in self.merges:
            if src in ids:
                edges.add((src, lot, "merge"))
                lots.add(lot)
        wafers = {r.name: r.cid for r in frontier if self.kind(r) == "WAFER" and r.name}
        for child in self.rows:
            if (child.first in wafers and child.split is None and child.orig is None
                    and child.name != child.first and child.cid not in self.merged):
                edges.add((wafers[child.first], child.cid, "wafer"))
                found.setdefault(child.cid, child)
        for lot in lots:
            if lot not in known and lot not in found and lot in self.by_id:
                found[lot] = self.by_id[lot]
        return found, {e for e in edges if e[1] in known or e[1] in found}

    def lineage(self, seed_ids: list[str], direction: str, max_depth: int, max_nodes: int):
        seeds = sorted({s for s in seed_ids if s})
        known = {s: self.by_id[s] for s in seeds if s in self.by_id}
        truncated = None
        if len(known) > max_nodes:
            known = {k: known[k] for k in sorted(known)[:max_nodes]}
            truncated = f"trace_max_nodes ({max_nodes:,} containers)"
        depth = dict.fromkeys(known, 0)
        edges: set[tuple[str, str, str]] = set()
        frontier, level = sorted(known), 0
        step = self.backward if direction == "backward" else self.forward
        while frontier and truncated is None:
            level += 1
            found, new_edges = step([known[c] for c in frontier], known)
            edges |= new_edges
            new = sorted(set(found) - set(known))
            if not new:
                break
            if level > max_depth:
                truncated = f"trace_max_depth ({max_depth} levels)"
                break
            if len(new) > max_nodes - len(known):
                new = new[: max_nodes - len(known)]
                truncated = f"trace_max_nodes ({max_nodes:,} containers)"
            for c in new:
                known[c], depth[c] = found[c], level
            frontier = new
        nodes = [
            (c, known[c].name, self.kind(known[c]), depth[c], c in seeds, known[c].wo,
             known[c].first, self.finished(c))
            for c in sorted(known, key=lambda c: (depth[c], c))
        ]
        kept = sorted(e for e in edges if e[0] in known and e[1] in known and e[0] != e[1])
        return nodes, kept, self.roots(sorted(known), kept), truncated, level

    @staticmethod
    def roots(ids: list[str], edges: list[tuple[str, str, str]]) -> list[str]:
        children: dict[str, list[str]] = {}
        for p, c, _k in edges:
            children.setdefault(p, []).append(c)
        has_parent = {c for _p, c, _k in edges}
        roots = [c for c in ids if c not in has_parent]
        seen: set[str] = set()

        def reach(start: str) -> None:
            stack = [start]
            while stack:
                cur = stack.pop()
                if cur not in seen:
                    seen.add(cur)
                    stack.extend(children.get(cur, ()))

        for r in roots:
            reach(r)
        for c in ids:
            if c not in seen:
                roots.append(c)
                reach(c)
        return sorted(roots)


def engine_result(lin) -> tuple:
    n = lin.nodes.to_pydict()
    nodes = list(zip(n["containerid"], n["containername"], n["kind"], n["depth"], n["is_seed"],
                     n["mfgordername"], n["firstname"], n["finishedname"], strict=True))
    e = lin.edges.to_pydict()
    edges = list(zip(e["parent_id"], e["child_id"], e["edge_kind"], strict=True))
    return nodes, edges, lin.roots, lin.truncated, lin.levels


# --- data ------------------------------------------------------------------------------------


def random_genealogy(seed: int, n: int = 220) -> Genealogy:
    rng = random.Random(seed)
    ids: list[str] = []
    while len(ids) < n:
        cid = f"{rng.getrandbits(64):016X}"
        if cid not in ids:
            ids.append(cid)
    dangling = [f"{rng.getrandbits(64):016X}" for _ in range(5)]
    wafers = [f"W{i:03d}" for i in range(n // 10)]
    rows: list[Row] = []
    for i, cid in enumerate(ids):
        if i < len(wafers):  # wafer lots; a few with a work order (then not WAFER)
            wo = rng.choice([None, None, None, "", "GA26019999"])
            rows.append(Row(cid, wafers[i], wo, wafers[i], None, None))
            continue
        prefix = rng.choice(["GA", "GC", "GD", "ga", "gd", "LT", "Gx"])
        wo = rng.choice([None, "", f"GA2601{i:04d}", f"GC2601{i:04d}", f"GD2601{i:04d}",
                         f"gd2601{i:04d}", f"XX2601{i:04d}"])
        first = rng.choices(
            [rng.choice(wafers), None, "", "NOWAFER", rows[rng.randrange(i)].name],
            weights=[80, 5, 3, 3, 9],
        )[0]
        split = rng.choices(
            [None, ids[rng.randrange(i)], rng.choice(ids), cid, rng.choice(dangling), ""],
            weights=[40, 40, 8, 3, 5, 4],
        )[0]
        orig = rng.choices(
            [None, ids[rng.randrange(i)], split, cid, rng.choice(dangling)],
            weights=[75, 12, 6, 3, 4],
        )[0]
        rows.append(Row(cid, f"{prefix}{i:04d}-{rng.randrange(100):02d}", wo, first, split,
                        orig))
    merges: set[tuple[str, str]] = set()
    serial: dict[str, str | None] = {}
    for _ in range(n // 8):
        lot = rng.choice([*ids[len(wafers):], rng.choice(dangling)])
        for src in rng.sample(ids, rng.randint(2, 4)):
            merges.add((lot, src))
        if rng.random() < 0.1:
            merges.add((lot, lot))  # a lot merged into itself
        if rng.random() < 0.1:
            merges.add((lot, rng.choice(dangling)))
        serial.setdefault(lot, rng.choice([f"S{rng.randrange(10**5):05d}", None]))
    rows_m = [(lot, src, serial[lot] if rng.random() < 0.9 else None)
              for lot, src in sorted(merges)]
    return Genealogy(rows, rows_m)


def hand_genealogy() -> Genealogy:
    """Named cases: see the module docstring."""
    def cid(name: str) -> str:
        return name.encode().hex().upper().ljust(16, "0")[:16]

    rows = [
        Row(cid("W1"), "W1", None, "W1", None, None),
        Row(cid("W2"), "W2", None, "W2", None, None),
        Row(cid("GA-L1"), "GA-L1", "GA26010001", "W1", None, None),  # cut from W1
        Row(cid("GA-L2"), "GA-L2", "GA26010001", "W1", None, None),  # cut from W1
        Row(cid("GA-L3"), "GA-L3", "GA26010001", "W1", cid("GA-L2"), None),
        # a cycle X <-> Y entered from outside: E is merged into X
        Row(cid("GA-E"), "GA-E", "GA26010002", "W2", None, None),
        Row(cid("GA-X"), "GA-X", "GA26010002", "W2", cid("GA-Y"), None),
        Row(cid("GA-Y"), "GA-Y", "GA26010002", "W2", cid("GA-X"), None),
        # B split from A and also combined from A: two edges between one pair
        Row(cid("GA-A"), "GA-A", "GA26010003", "W2", None, None),
        Row(cid("GA-B"), "GA-B", "GA26010003", "W2", cid("GA-A"), None),
        Row(cid("GA-S"), "GA-S", "GA26010004", "W2", None, None),  # merged into itself
        # its own firstname but a work order: not a wafer lot, its lots get no wafer edge
        Row(cid("FAKE"), "FAKE", "GC26010005", "FAKE", None, None),
        Row(cid("GC-F1"), "GC-F1", "GC26010005", "FAKE", None, None),
    ]
    merges = [(cid("GA-X"), cid("GA-E"), "SER-X"), (cid("GA-B"), cid("GA-A"), None),
              (cid("GA-S"), cid("GA-S"), "SER-S"), (cid("GA-S"), cid("GA-A"), "SER-T")]
    return Genealogy(rows, merges)


def load(g: Genealogy, url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    if url.startswith("duckdb"):
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    t.metadata.create_all(engine, tables=[t.container, t.combinedassylots])
    with engine.begin() as conn:
        conn.execute(t.container.insert(), [
            {"containerid": r.cid, "containername": r.name, "mfgordername": r.wo,
             "objecttype": "LOT", "firstname": r.first, "splitfromid": r.split,
             "originalcontainerid": r.orig} for r in g.rows
        ])
        conn.execute(t.combinedassylots.insert(), [
            {"lotid": lot, "containerid": src, "finishedname": f} for lot, src, f in g.merges
        ])
    engine.dispose()


RANDOM_SEEDS = {"duckdb": (11, 12), "postgresql": (21,)}
BOUNDS = [{}, {"trace_max_depth": 1}, {"trace_max_depth": 3}, {"trace_max_nodes": 40}]


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, object, dict[int, tuple[Genealogy, object]]]]:
    """Every genealogy of this file loaded into its own schema of one database."""
    cases = {s: random_genealogy(s) for s in RANDOM_SEEDS[request.param]} | {
        0: hand_genealogy()}
    dropped: list[str] = []
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp('lineage_ref') / 'ref.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
    out = {}
    for key, g in cases.items():
        schema = f"ref_{uuid.uuid4().hex[:8]}"
        if request.param == "postgresql":
            engine = sa.create_engine(url)
            with engine.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            dropped.append(schema)
        load(g, url, schema)
        out[key] = (g, make_settings(url, schema=schema, in_list_max=16))
    yield request.param, url, out
    engine = sa.create_engine(url) if dropped else None
    for schema in dropped:
        with engine.begin() as c:  # type: ignore[union-attr]
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    if engine is not None:
        engine.dispose()


def _check(g: Genealogy, settings, seeds: list[str], direction: str) -> None:
    lanes = open_lanes(settings)
    try:
        lin = trace_lineage(lanes, seeds, direction, settings=settings)
    finally:
        lanes.close()
    expected = g.lineage(seeds, direction, settings.trace_max_depth, settings.trace_max_nodes)
    got = engine_result(lin)
    for part, want, have in zip(("nodes", "edges", "roots", "truncated", "levels"),
                                expected, got, strict=True):
        assert have == want, f"{direction} {part} differ"


@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_random_genealogies_match_the_reference(backend, direction: str) -> None:
    _name, _url, cases = backend
    for key, (g, settings) in cases.items():
        if key == 0:
            continue
        rng = random.Random(key)
        ids = [r.cid for r in g.rows]
        seed_sets = [[*rng.sample(ids, 12), "FFFFFFFFFFFFFFF0", ""],
                     [r.cid for r in g.rows if r.name.startswith("W")][:6]]
        for seeds in seed_sets:
            for bounds in BOUNDS:
                _check(g, settings.replace(**bounds), seeds, direction)


def test_hand_built_cases_match_the_reference_and_known_answers(backend) -> None:
    _name, _url, cases = backend
    g, settings = cases[0]
    c = {r.name: r.cid for r in g.rows}
    names = {v: k for k, v in c.items()}
    for direction in ("backward", "forward"):
        for seeds in ([c["GA-L1"], c["GA-L3"], c["GC-F1"], c["GA-S"]], [c["GA-X"], c["GA-B"]],
                      [c["W1"], c["W2"], c["FAKE"]]):
            _check(g, settings, seeds, direction)
    lanes = open_lanes(settings)
    try:
        back = trace_lineage(lanes, [c["GA-L1"], c["GA-L3"], c["GC-F1"]], "backward",
                             settings=settings)
        cyc = trace_lineage(lanes, [c["GA-X"], c["GA-B"], c["GA-S"]], "backward",
                            settings=settings)
    finally:
        lanes.close()
    edges = {(names[p], names[ch], k) for p, ch, k in engine_result(back)[1]}
    # W1 found at level 1 (for L1), met again at level 2 (for L2): both wafer edges
    assert {("W1", "GA-L1", "wafer"), ("W1", "GA-L2", "wafer")} <= edges
    assert not any(p == "FAKE" for p, _c, _k in edges)  # not a wafer lot: no wafer edge
    assert [names[r] for r in back.roots] == sorted(["W1", "GC-F1"], key=lambda n: c[n])
    edges = engine_result(cyc)[1]
    assert [(names[p], names[ch], k) for p, ch, k in edges if names[ch] == "GA-B"] == [
        ("GA-A", "GA-B", "merge"), ("GA-A", "GA-B", "split")]
    assert (c["GA-S"], c["GA-S"], "merge") not in edges  # a self-merge is no edge
    # the X <-> Y cycle is entered from E (merged into X): no extra root inside it
    assert {names[r] for r in cyc.roots} == {"W2"}
