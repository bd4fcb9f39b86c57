"""The containers and their lineage: wafer lots, GA/GC lots, splits, merges, GD rework.

Why: the trace engine must follow every edge of domain.md (split, merge, wafer origin,
rework) through a graph that is deep, joins branches and contains mistakes. This module
grows that graph generation by generation (core.demo.timeline simulates each one):
wafer lots are cut into GA/GC production lots; lots are split (children named with
``-01``/``-01C`` suffixes, a few planted chains 10+ deep); lots wishing to merge are
combined 2–5 at a time into a lot finished under a serial number; some lots give GD
rework lots. Then it names everything, assigns ids and plants one split cycle and one
self-reference, as real data has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from core import schema as t
from core.demo.columns import Clock, IdMaker, arrow_table, ints, strings, take
from core.demo.reference import (
    MATERIALS,
    MERGE_START,
    PRODUCTS,
    Factory,
)
from core.demo.scales import Scale
from core.demo.signals import PLANTED_SIGNALS, PLANTED_WAFER
from core.demo.timeline import (
    KIND_COMBINED,
    KIND_GA,
    KIND_GC,
    KIND_GD,
    KIND_SPLIT,
    Batch,
    Sim,
    next_generation,
    simulate,
)

_WAFER_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no Q: the planted wafer name uses it


@dataclass
class Genealogy:
    lots: Sim  # every production lot, parents before children
    now_h: float
    start: datetime  # time 0 of the hours
    wafer_product: np.ndarray
    wafer_t0: np.ndarray
    wafer_name: list[str]
    lot_name: list[str]
    lot_wo: list[str | None]
    splitfrom: np.ndarray  # lot index or -1 (after planting the cycle and self-reference)
    original: np.ndarray  # lot index or -1
    comb_lot: np.ndarray  # per merge row: combined lot index
    comb_src: np.ndarray  # per merge row: source lot index
    serial: list[str | None]  # finished serial per lot (combined lots only)
    wafer_id: np.ndarray
    lot_id: np.ndarray
    mat_lot_code: np.ndarray  # material lots that are containers (codes into factory)
    mat_id: np.ndarray
    mat_t0: np.ndarray

    @property
    def n(self) -> int:
        return len(self.lots.parent)


def _yymm(start: datetime, hours: np.ndarray) -> list[str]:
    return [(start + timedelta(hours=float(h))).strftime("%y%m") for h in hours]


def grow(rng: np.random.Generator, ids: IdMaker, fac: Factory, scale: Scale,
         start: datetime) -> Genealogy:
    """Build the whole lineage up to now (``scale.days`` after ``start``), one stage after
    the other. The stages draw from ``rng`` in this order: changing the order (or what a
    stage draws) changes the demo data (tests/test_demo.py keeps its digest)."""
    now_h = scale.days * 24.0
    wafers = _wafer_lots(rng, scale, now_h)
    sims: list[Sim] = []
    _simulate_generations(rng, fac, scale, _root_lots(rng, scale, wafers, now_h), sims, now_h)
    merges = _merge_groups(rng, Sim.concat_sims(sims), now_h)
    _simulate_generations(rng, fac, scale, merges.combined, sims, now_h)
    lots = Sim.concat_sims(sims)
    names = _names(rng, start, scale, lots, wafers, merges, now_h)
    splitfrom, original = _links(lots, wafers.roots, now_h)
    wafer_id, lot_id = ids.draw(len(wafers.t0)), ids.draw(len(lots.parent))
    mat_lot_code, mat_t0 = _material_containers(rng, fac, lots, now_h)
    mat_id = ids.draw(len(mat_lot_code))
    return Genealogy(
        lots=lots, now_h=now_h, start=start, wafer_product=wafers.product, wafer_t0=wafers.t0,
        wafer_name=names.wafer_name, lot_name=names.lot_name, lot_wo=names.lot_wo,
        splitfrom=splitfrom, original=original, comb_lot=merges.comb_lot,
        comb_src=merges.comb_src, serial=names.serial, wafer_id=wafer_id, lot_id=lot_id,
        mat_lot_code=mat_lot_code, mat_id=mat_id, mat_t0=mat_t0[mat_lot_code],
    )


@dataclass
class _Wafers:
    product: np.ndarray  # product index per wafer lot
    t0: np.ndarray  # start hour per wafer lot, ascending
    of_root: np.ndarray  # wafer lot of each root production lot
    root_t0: np.ndarray  # start hour of each root production lot
    planted: int  # the wafer lot carrying the planted wafer signal

    @property
    def roots(self) -> int:
        return len(self.of_root)


def _wafer_lots(rng: np.random.Generator, scale: Scale, now_h: float) -> _Wafers:
    """Wafer lots (product, start) and how many production lots each is cut into."""
    nw = scale.wafer_lots
    weights = np.array([p.weight for p in PRODUCTS], dtype=float)
    wafer_product = rng.choice(len(PRODUCTS), size=nw, p=weights / weights.sum())
    wafer_t0 = np.sort(rng.uniform(-72.0, now_h - 12.0, nw))
    per = 1 + rng.poisson(scale.roots_per_wafer, nw)
    w_of_root = np.repeat(np.arange(nw), per)
    r_t0 = wafer_t0[w_of_root] + rng.uniform(2.0, 72.0, len(w_of_root))
    keep = r_t0 <= now_h - 1.0
    planted_wafer = int(np.argmin(np.abs(wafer_t0 - (now_h - 90 * 24))))
    return _Wafers(wafer_product, wafer_t0, w_of_root[keep], r_t0[keep], planted_wafer)


def _root_lots(rng: np.random.Generator, scale: Scale, wafers: _Wafers, now_h: float
               ) -> Batch:
    """The production lots cut from the wafer lots (quantity, planted wafer signal, the
    few planted deep split chains)."""
    w_of_root, r_t0, nr = wafers.of_root, wafers.root_t0, wafers.roots
    wafer_product = wafers.product
    wafer_bit = next(s.bit for s in PLANTED_SIGNALS if s.kind == "wafer_lot")
    lo = np.array([PRODUCTS[p].qty[0] for p in wafer_product[w_of_root]])
    hi = np.array([PRODUCTS[p].qty[1] for p in wafer_product[w_of_root]])
    qty0 = (rng.uniform(lo, hi) // 100 * 100).astype(np.int64)
    deep_left = np.zeros(nr, dtype=np.int64)
    for i, depth in enumerate(scale.deep_chains):
        cand = np.argsort(np.abs(r_t0 - (now_h - (45 + 9 * i) * 24)))
        cand = cand[deep_left[cand] == 0]
        deep_left[cand[0]] = depth
    return Batch(
        parent=np.full(nr, -1, dtype=np.int64),
        kind=np.full(nr, KIND_GA, dtype=np.int64),
        product=wafer_product[w_of_root],
        wafer=w_of_root,
        start_step=np.zeros(nr, dtype=np.int64),
        t0=r_t0,
        qty0=qty0,
        bits0=np.where(w_of_root == wafers.planted, 1 << wafer_bit, 0).astype(np.int64),
        depth=np.zeros(nr, dtype=np.int64),
        deep_left=deep_left,
        gd_link=np.full(nr, -1, dtype=np.int64),
    )


def _simulate_generations(rng: np.random.Generator, fac: Factory, scale: Scale,
                          batch: Batch, sims: list[Sim], now_h: float) -> None:
    """Simulate ``batch`` and every generation it gives (splits, rework), appending each
    to ``sims`` (lot indexes continue after the lots already there)."""
    offset = sum(len(s.parent) for s in sims)
    while len(batch):
        sim = simulate(rng, fac, scale, batch)
        sims.append(sim)
        batch = next_generation(rng, sim, offset, now_h)
        offset += len(sim.parent)


@dataclass
class _Merges:
    combined: Batch  # the combined lots made by now
    comb_lot: np.ndarray  # per merge row: combined lot index
    comb_src: np.ndarray  # per merge row: source lot index


def _merge_groups(rng: np.random.Generator, first: Sim, now_h: float) -> _Merges:
    """Lots that want to merge are combined 2-5 at a time, per product."""
    cand = np.flatnonzero(first.merge_src)
    ready = first.arrive[cand, MERGE_START]
    order = np.lexsort((ready, first.product[cand]))
    cand, ready = cand[order], ready[order]
    sizes = rng.integers(2, 6, size=len(cand) + 1)
    gid = np.repeat(np.arange(len(sizes)), sizes)[: len(cand)]
    prod_c = first.product[cand]
    brk = np.r_[True, (gid[1:] != gid[:-1]) | (prod_c[1:] != prod_c[:-1])]
    grp = np.cumsum(brk) - 1
    gsize = np.bincount(grp)
    # a lone source joins the group before it when that one has the same product
    lone = np.flatnonzero(gsize[grp] == 1)
    for i in lone:
        if i > 0 and prod_c[i - 1] == prod_c[i]:
            grp[i] = grp[i - 1]
    _, grp = np.unique(grp, return_inverse=True)
    ng = int(grp.max()) + 1 if len(grp) else 0
    g_ready = np.full(ng, -np.inf)
    np.maximum.at(g_ready, grp, ready)
    g_t0 = g_ready + rng.uniform(1.0, 8.0, ng)
    g_first = np.full(ng, -1, dtype=np.int64)
    g_first[grp[::-1]] = cand[::-1]
    g_qty = np.bincount(grp, weights=first.qty_end[cand], minlength=ng).astype(np.int64)
    g_bits = np.zeros(ng, dtype=np.int64)
    np.bitwise_or.at(g_bits, grp, first.bits_all[cand])
    made = g_t0 <= now_h
    new_idx = np.cumsum(made) - 1 + len(first.parent)
    row_ok = made[grp]
    nc = int(made.sum())
    combined = Batch(
        parent=np.full(nc, -1, dtype=np.int64),
        kind=np.full(nc, KIND_COMBINED, dtype=np.int64),
        product=first.product[g_first[made]],
        wafer=first.wafer[g_first[made]],
        start_step=np.full(nc, MERGE_START, dtype=np.int64),
        t0=g_t0[made],
        qty0=g_qty[made],
        bits0=g_bits[made],
        depth=np.zeros(nc, dtype=np.int64),
        deep_left=np.zeros(nc, dtype=np.int64),
        gd_link=np.full(nc, -1, dtype=np.int64),
    )
    return _Merges(combined, comb_lot=new_idx[grp[row_ok]], comb_src=cand[row_ok])


@dataclass
class _Names:
    wafer_name: list[str]
    lot_name: list[str]
    lot_wo: list[str | None]
    serial: list[str | None]  # finished serial per lot (combined lots only)


def _names(rng: np.random.Generator, start: datetime, scale: Scale, lots: Sim,
           wafers: _Wafers, merges: _Merges, now_h: float) -> _Names:
    """Names and work orders: wafer lots, then the roots' work orders (which also decide
    GA or GC), then split, rework and combined lots from their parents."""
    wafer_name = _wafer_names(start, wafers)
    n = len(lots.parent)
    lot_wo: list[str | None] = [None] * n
    lot_name: list[str] = [""] * n
    _root_names(rng, start, scale, lots, wafers.roots, lot_wo, lot_name, now_h)
    serial = _child_names(rng, start, lots, wafers.roots, merges, lot_wo, lot_name)
    return _Names(wafer_name, lot_name, lot_wo, serial)


def _wafer_names(start: datetime, wafers: _Wafers) -> list[str]:
    nw = len(wafers.t0)
    wafer_year = [y[:2] for y in _yymm(start, wafers.t0)]
    wafer_name = [
        f"W{wafer_year[i]}{_WAFER_LETTERS[(i // 10000) % len(_WAFER_LETTERS)]}"
        f"{(i * 7919) % 10000:04d}.{1 + i % 9}"
        for i in range(nw)
    ]
    wafer_name[wafers.planted] = PLANTED_WAFER
    return wafer_name


def _root_names(rng: np.random.Generator, start: datetime, scale: Scale, lots: Sim, nr: int,
                lot_wo: list[str | None], lot_name: list[str], now_h: float) -> None:
    """Work orders: consecutive roots of one product, 1-4 lots each; GA (80%) or GC (sets
    the roots' kind); a few dummy work orders. Fills the roots' ``lot_wo``/``lot_name``."""
    ridx = np.arange(nr)
    r_order = np.lexsort((lots.t0[ridx], lots.product[ridx]))
    wo_size = rng.integers(1, 5, size=nr + 1)
    wo_of = np.repeat(np.arange(nr + 1), wo_size)[:nr]
    brk = np.r_[True, (wo_of[1:] != wo_of[:-1])
                | (lots.product[r_order][1:] != lots.product[r_order][:-1])]
    wo_grp = np.cumsum(brk) - 1
    n_wo = int(wo_grp[-1]) + 1 if nr else 0
    wo_gc = rng.random(n_wo) < 0.2
    wo_first_t = np.full(n_wo, np.inf)
    np.minimum.at(wo_first_t, wo_grp, lots.t0[r_order])
    seq: dict[str, int] = {}
    wo_names: list[str] = []
    for k, ym in enumerate(_yymm(start, np.minimum(wo_first_t, now_h))):
        prefix = ("GC" if wo_gc[k] else "GA") + ym
        seq[prefix] = seq.get(prefix, 1000 + 37 * len(seq) % 500) + 1
        wo_names.append(f"{prefix}{seq[prefix]:04d}")
    lot_in_wo = np.zeros(nr, dtype=np.int64)
    pos = np.arange(nr) - np.searchsorted(wo_grp, wo_grp)
    lot_in_wo[r_order] = pos + 1
    kind = lots.kind.copy()
    kind[r_order] = np.where(wo_gc[wo_grp], KIND_GC, KIND_GA)
    lots.kind = kind
    dummy = set(np.argsort(np.abs(lots.t0[:nr] - (now_h - 6 * 24)))[: scale.dummy_lots].tolist())
    for j, i in enumerate(r_order):
        wo = wo_names[wo_grp[j]]
        if i in dummy:
            wo = f"{wo[:6]}DUMMY{sorted(dummy).index(i) + 1:02d}"
        lot_wo[i] = wo
        lot_name[i] = f"{wo}-{'B' if i % 13 == 0 else 'A'}00-{lot_in_wo[i]:03d}"


def _child_names(rng: np.random.Generator, start: datetime, lots: Sim, nr: int,
                 merges: _Merges, lot_wo: list[str | None], lot_name: list[str]
                 ) -> list[str | None]:
    """Split lots (``-01``/``-01C``), GD rework lots and combined lots (``-M``, with a
    finished serial) named from their parents; returns the serial per lot."""
    n = len(lots.parent)
    child_no = np.zeros(n, dtype=np.int64)
    gd_seq: dict[str, int] = {}
    gd_yymm = _yymm(start, lots.t0)
    comb_first = np.full(n, -1, dtype=np.int64)
    comb_first[merges.comb_lot[::-1]] = merges.comb_src[::-1]
    suffix_c = rng.random(n) < 0.2
    serial: list[str | None] = [None] * n
    n_serial = 0
    for i in range(nr, n):
        k = lots.kind[i]
        par = lots.parent[i]
        if k == KIND_SPLIT:
            child_no[par] += 1
            lot_wo[i] = lot_wo[par]
            lot_name[i] = f"{lot_name[par]}-{child_no[par]:02d}{'C' if suffix_c[i] else ''}"
        elif k == KIND_GD:
            prefix = "GD" + gd_yymm[i]
            gd_seq[prefix] = gd_seq.get(prefix, 100) + 1
            lot_wo[i] = f"{prefix}{gd_seq[prefix]:04d}"
            lot_name[i] = f"{lot_wo[i]}-A00-001"
        else:  # combined
            src = comb_first[i]
            lot_wo[i] = lot_wo[src]
            lot_name[i] = f"{lot_name[src]}-M"
            n_serial += 1
            serial[i] = f"S{gd_yymm[i]}A{n_serial:05d}"
    return serial


def _links(lots: Sim, nr: int, now_h: float) -> tuple[np.ndarray, np.ndarray]:
    """``splitfrom`` and ``original`` per lot, with the mistakes real data has: one split
    cycle (A.splitfromid = B and B.splitfromid = A) and one self-reference."""
    splitfrom = np.where((lots.kind == KIND_SPLIT) | ((lots.kind == KIND_GD) & (lots.gd_link >= 1)),
                         lots.parent, -1)
    original = np.where((lots.kind == KIND_GD) & (lots.gd_link <= 1), lots.parent, -1)
    roots_with_child = np.flatnonzero((lots.n_children[:nr] > 0) & (lots.deep_left[:nr] == 0))
    if len(roots_with_child) >= 2:
        by_age = roots_with_child[np.argsort(np.abs(lots.t0[roots_with_child] - (now_h - 45 * 24)))]
        cyc = int(by_age[0])
        kids = np.flatnonzero((lots.parent == cyc) & (lots.kind == KIND_SPLIT))
        if len(kids):
            splitfrom[cyc] = kids[0]  # A.splitfromid = B and B.splitfromid = A
        selfref = int(by_age[1])
        splitfrom[selfref] = selfref
    return splitfrom, original


def _material_containers(rng: np.random.Generator, fac: Factory, lots: Sim, now_h: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Which material lots are containers too (60% of those used and started by now):
    their codes into the factory's material lots, and every material lot's start hour."""
    n_mat_lots = len(fac.material_lot_name)
    life = np.array([MATERIALS[m].life_hours for m in fac.material_lot_material])
    k_in = np.arange(n_mat_lots) - fac.material_lot_start[fac.material_lot_material]
    mat_t0 = k_in * life - 24.0
    used = np.zeros(n_mat_lots, dtype=bool)
    used[lots.mat_lot[lots.mat_lot >= 0]] = True
    is_cont = (rng.random(n_mat_lots) < 0.6) & (mat_t0 <= now_h) & used
    return np.flatnonzero(is_cont), mat_t0


def container_table(g: Genealogy, fac: Factory, spec_now: np.ndarray, qty_now: np.ndarray,
                    clock: Clock) -> pa.Table:
    """dw_mes_container: wafer lots, production lots, material lots (in that order)."""
    nw, n, nm = len(g.wafer_name), g.n, len(g.mat_id)
    lots = g.lots
    prod = np.concatenate([g.wafer_product, lots.product, np.full(nm, -1)])
    wafer_of = np.concatenate([np.arange(nw), lots.wafer, np.full(nm, -1)])

    def attr(name: str) -> pa.Array:
        return take([getattr(p, name) for p in PRODUCTS], prod)

    all_ids = np.concatenate([g.wafer_id, g.lot_id, g.mat_id])
    link_ids = pa.array(all_ids[nw: nw + n])
    mat_names = [fac.material_lot_name[c] for c in g.mat_lot_code]
    mat_part = [MATERIALS[fac.material_lot_material[c]].part for c in g.mat_lot_code]
    wafer_dies = (np.array([PRODUCTS[p].qty[1] for p in g.wafer_product]) * 1.1).astype(np.int64)
    mat_qty = (np.arange(nm) * 37 % 900 + 100).astype(np.int64)
    cols = {
        "containerid": strings(all_ids),
        "containername": strings(g.wafer_name + g.lot_name + mat_names),
        "mfgordername": strings([None] * nw + g.lot_wo + [None] * nm),
        "objecttype": strings(["LOT"] * (nw + n) + ["MATERIAL"] * nm),
        "firstname": pa.concat_arrays([
            strings(g.wafer_name), take(g.wafer_name, wafer_of[nw: nw + n]),
            pa.nulls(nm, pa.string())]),
        "splitfromid": pa.concat_arrays([
            pa.nulls(nw, pa.string()), take(link_ids, g.splitfrom), pa.nulls(nm, pa.string())]),
        "originalcontainerid": pa.concat_arrays([
            pa.nulls(nw, pa.string()), take(link_ids, g.original), pa.nulls(nm, pa.string())]),
        "specname": pa.concat_arrays([
            strings(["WAFER_BANK"] * nw), take(fac.spec_name, spec_now),
            strings(["原物料倉"] * nm)]),
        "qty": ints(np.concatenate([wafer_dies, qty_now, mat_qty])),
        "pj_type": attr("pj_type"),
        "pj_bop": attr("pj_bop"),
        "pj_function": attr("pj_function"),
        "productlinename": attr("package"),
        "productname": pa.concat_arrays([
            take([p.productname for p in PRODUCTS], prod[: nw + n]), strings(mat_part)]),
        "createdate": clock.ts(np.concatenate([g.wafer_t0, g.lots.t0, g.mat_t0])),
    }
    return arrow_table(t.container, cols)


def combined_table(g: Genealogy, clock: Clock) -> pa.Table:
    """dw_mes_pj_combinedassylots: one row per (combined lot, source lot)."""
    lots = g.lots
    src, tgt = g.comb_src, g.comb_lot
    total = np.bincount(tgt, weights=lots.qty_end[src], minlength=g.n)[tgt]
    ratio = np.where(total > 0, lots.qty_end[src] / np.maximum(total, 1), 0.0)
    ids = pa.array(g.lot_id)
    root_t0 = lots.t0.copy()
    for _ in range(64):  # the start of a source lot is the start of its first ancestor
        par = np.where(lots.parent >= 0, lots.parent, np.arange(g.n))
        if np.array_equal(root_t0, root_t0[par]):
            break
        root_t0 = np.minimum(root_t0, root_t0[par])
    cols = {
        "lotid": take(ids, tgt),
        "containerid": take(ids, src),
        "containername": take(g.lot_name, src),
        "finishedname": take(g.serial, tgt),
        "pj_workorder": take(g.lot_wo, tgt),
        "pj_combinedratio": np.round(ratio, 4),
        "pj_gooddieqty": ints(lots.qty_end[src]),
        "originalstartdate": clock.ts(root_t0[src]),
    }
    return arrow_table(t.combinedassylots, cols)
