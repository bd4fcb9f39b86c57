"""One generation of lots walking the route: times, machines, materials, quantities.

Why: every event table must tell one consistent story (a lot's track-in quantity is its
previous track-out, a split child starts where and when its parent was split, a child
inherits what its parent was exposed to before the split). Each lot is simulated as a
row of dense (lots x steps) matrices, a whole generation at once with numpy: lots of a
generation only depend on their parents, which an earlier generation already produced.

A ``Batch`` describes new lots (where and when they start, with how many pieces and
which inherited exposure); ``simulate`` returns a ``Sim`` holding their whole future,
including decisions that create the next generation (splits, rework, merge wishes).
Times are float hours since the start of the data; the cut at "now" is applied later.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from core.demo.reference import (
    FAMILIES,
    GD_STEPS,
    MATERIALS,
    MERGE_LAST,
    N_STEPS,
    QUEUE_HOURS,
    REJECT_EVENT_PROB,
    REJECT_RATE,
    SPLIT_WEIGHTS,
    STEPS,
    TMTT,
    Factory,
    S,
)
from core.demo.scales import Scale
from core.demo.signals import PLANTED_SIGNALS

KIND_GA, KIND_GC, KIND_SPLIT, KIND_GD, KIND_COMBINED = range(5)
_EQUIP = np.array([s.equipment for s in STEPS])
_HOURS = np.array([s.hours for s in STEPS])
_STEP_IDX = np.arange(N_STEPS)
N_SIGNALS = len(PLANTED_SIGNALS)


@dataclass
class Batch:
    """New lots of one generation (all arrays of equal length)."""

    parent: np.ndarray  # global index of the lot split from / reworked from, -1: none
    kind: np.ndarray
    product: np.ndarray
    wafer: np.ndarray
    start_step: np.ndarray
    t0: np.ndarray  # hours: creation time
    qty0: np.ndarray
    bits0: np.ndarray  # exposure inherited from ancestors (signal bit mask)
    depth: np.ndarray  # split depth below the first production lot
    deep_left: np.ndarray  # forced splits still to come (planted deep chains)
    gd_link: np.ndarray  # GD lots: 0 originalcontainerid, 1 both, 2 splitfromid only

    def __len__(self) -> int:
        return len(self.parent)

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        return Batch(**{
            f.name: np.concatenate([getattr(b, f.name) for b in batches])
            for f in fields(Batch)
        })

    def select(self, keep: np.ndarray) -> Batch:
        return Batch(**{f.name: getattr(self, f.name)[keep] for f in fields(Batch)})


@dataclass
class Sim(Batch):
    """A simulated generation: the batch plus its whole route."""

    end_step: np.ndarray
    merge_src: np.ndarray
    split_step: np.ndarray  # -1: not split
    n_children: np.ndarray
    consumed: np.ndarray
    split_taken: np.ndarray
    gd_step: np.ndarray  # -1: no rework
    gd_taken: np.ndarray
    qty_end: np.ndarray
    bits_all: np.ndarray
    mask: np.ndarray  # (n, steps) the lot passes the step
    wc: np.ndarray
    spec: np.ndarray
    machine: np.ndarray  # -1: none
    arrive: np.ndarray  # ready for the step (prev out)
    t_in: np.ndarray
    t_out: np.ndarray
    qin: np.ndarray
    scrap: np.ndarray  # charged scrap at the step
    planted: np.ndarray  # (n, signals) extra TMTT scrap
    bits_before: np.ndarray  # (n, steps)
    mat_lot: np.ndarray  # (n, materials) lot code or -1

    @staticmethod
    def concat_sims(sims: list[Sim]) -> Sim:
        return Sim(**{f.name: np.concatenate([getattr(s, f.name) for s in sims])
                      for f in fields(Sim)})


def _pick_step(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray,
               weights: np.ndarray) -> np.ndarray:
    """A step in [lo, hi] per row, drawn by ``weights``; -1 where no step has weight."""
    w = weights[None, :] * ((lo[:, None] <= _STEP_IDX) & (hi[:, None] >= _STEP_IDX))
    cum = np.cumsum(w, axis=1)
    tot = cum[:, -1]
    u = rng.random(len(lo)) * tot
    pick = np.argmax(cum > u[:, None], axis=1)
    return np.where(tot > 0, pick, -1)


def _lognormal(rng: np.random.Generator, mean: np.ndarray | float, sigma: float,
               shape: tuple[int, ...]) -> np.ndarray:
    return mean * rng.lognormal(-0.5 * sigma * sigma, sigma, size=shape)


def simulate(rng: np.random.Generator, fac: Factory, scale: Scale, b: Batch) -> Sim:
    """Walk every lot of ``b`` along its route (see module docstring)."""
    n = len(b)
    prod = b.product
    fam = fac.product_family[prod]
    deep = b.deep_left > 0
    # -- decisions: merge, split, rework -------------------------------------------------------
    merge = (~deep & (b.kind != KIND_COMBINED) & (b.start_step <= MERGE_LAST)
             & (rng.random(n) < scale.merge_prob))
    end = np.where(merge, MERGE_LAST, N_STEPS - 1)
    p_split = np.where(b.kind == KIND_GD, 0.3, 1.0) * scale.split_prob * 0.55 ** b.depth
    split = deep | (rng.random(n) < p_split)
    split_step = _pick_step(rng, b.start_step, end, SPLIT_WEIGHTS)
    split_step = np.where(deep, np.maximum(b.start_step, TMTT), split_step)
    split &= split_step >= 0
    split_step = np.where(split, split_step, -1)
    n_children = 1 + np.minimum(rng.poisson(0.5, n), 3)
    consumed = split & ~deep & (rng.random(n) < 0.35)
    n_children = np.where(consumed, np.maximum(n_children, 2), n_children)
    n_children = np.where(deep, 1, np.where(split, n_children, 0))
    split_frac = np.where(consumed, 1.0, np.where(deep, 0.8, rng.uniform(0.15, 0.5, n)))
    end = np.where(consumed, split_step - 1, end)
    gd_choice = np.asarray(GD_STEPS)[rng.integers(0, len(GD_STEPS), n)]
    gd = (rng.random(n) < scale.gd_prob) & (gd_choice >= b.start_step) & (gd_choice < end)
    gd_step = np.where(gd, gd_choice, -1)
    gd_frac = rng.uniform(0.01, 0.06, n)
    # -- route and places ----------------------------------------------------------------------
    mask = fac.route[prod].copy()
    mask[:, S["replate"]] = rng.random(n) < 0.03
    mask &= (b.start_step[:, None] <= _STEP_IDX) & (end[:, None] >= _STEP_IDX)
    wc = fac.step_wc[prod]
    spec = fac.spec_code[_STEP_IDX[None, :], wc, fam[:, None]]
    u = rng.random((n, N_STEPS))
    machine = fac.wc_machine_start[wc] + np.floor(
        fac.wc_machine_count[wc] * u**1.15).astype(np.int64)
    machine = np.where(mask & _EQUIP[None, :], machine, -1)
    # -- times ---------------------------------------------------------------------------------
    q = _lognormal(rng, QUEUE_HOURS, 0.8, (n, N_STEPS))
    first = _STEP_IDX[None, :] == b.start_step[:, None]
    q = np.where(first, q * 0.2, q)
    p = np.where(_EQUIP, _lognormal(rng, _HOURS, 0.45, (n, N_STEPS)),
                 rng.uniform(0.05, 0.6, (n, N_STEPS)) * _HOURS / 0.3)
    q *= mask
    p *= mask
    cum = np.cumsum(q + p, axis=1)
    t_out = b.t0[:, None] + cum
    t_in = t_out - p
    arrive = t_in - q
    # -- materials -----------------------------------------------------------------------------
    mat_lot = np.full((n, len(MATERIALS)), -1, dtype=np.int64)
    jitter = rng.random((n, len(MATERIALS))) * 0.8
    for mi, m in enumerate(MATERIALS):
        si = S[m.step]
        uses = mask[:, si] & np.isin(fam, [FAMILIES.index(f) for f in m.families])
        k = np.floor(t_in[:, si] / m.life_hours + jitter[:, mi]).astype(np.int64)
        k = np.clip(k, 0, fac.material_lot_count[mi] - 1) + fac.material_lot_start[mi]
        mat_lot[:, mi] = np.where(uses, k, -1)
    # -- exposure to the planted signals -------------------------------------------------------
    own = np.zeros((n, N_STEPS), dtype=np.int64)
    for sig in PLANTED_SIGNALS:
        si = S[sig.step]
        if sig.kind == "machine":
            hit = machine[:, si] == fac.machine_name.index(sig.name)
        elif sig.kind == "material_lot":
            mi = next(i for i, m in enumerate(MATERIALS) if m.part == sig.where)
            hit = mat_lot[:, mi] == fac.material_lot_name.index(sig.name)
        else:
            continue  # wafer exposure is inherited (bits0)
        own[:, si] |= np.where(hit, 1 << sig.bit, 0)
    acc = np.bitwise_or.accumulate(own, axis=1)
    bits_before = np.empty_like(acc)
    bits_before[:, 0] = 0
    bits_before[:, 1:] = acc[:, :-1]
    bits_before |= b.bits0[:, None]
    bits_all = acc[:, -1] | b.bits0
    # -- quantities, step by step --------------------------------------------------------------
    cur = b.qty0.astype(np.int64).copy()
    qin = np.zeros((n, N_STEPS), dtype=np.int64)
    scrap = np.zeros((n, N_STEPS), dtype=np.int64)
    planted = np.zeros((n, N_SIGNALS), dtype=np.int64)
    split_taken = np.zeros(n, dtype=np.int64)
    gd_taken = np.zeros(n, dtype=np.int64)
    ev_u = rng.random((n, N_STEPS))
    severity = rng.gamma(1.5, 1 / 1.5, (n, N_STEPS))
    for j in range(N_STEPS):
        sj = split_step == j
        if sj.any():
            take = (cur[sj] * split_frac[sj]).astype(np.int64)
            split_taken[sj] = take
            cur[sj] -= take
        gj = gd_step + 1 == j
        if gj.any():
            take = (cur[gj] * gd_frac[gj]).astype(np.int64)
            gd_taken[gj] = take
            cur[gj] -= take
        m = mask[:, j]
        qin[:, j] = np.where(m, cur, 0)
        if not _EQUIP[j]:
            continue
        ev = m & (ev_u[:, j] < REJECT_EVENT_PROB[j]) & (cur > 0)
        lam = cur * REJECT_RATE[j] * severity[:, j]
        s = np.where(ev, np.maximum(1, rng.poisson(lam)), 0)
        if j == TMTT:
            for sig in PLANTED_SIGNALS:
                exposed = m & (((bits_before[:, j] >> sig.bit) & 1) == 1)
                extra = np.where(exposed, rng.poisson(cur * sig.extra_rate), 0)
                planted[:, sig.bit] = extra
                s = s + extra
        s = np.minimum(s, cur // 2)
        scrap[:, j] = s
        cur = cur - s
    return Sim(
        **{f.name: getattr(b, f.name) for f in fields(Batch)},
        end_step=end, merge_src=merge & ~consumed, split_step=split_step,
        n_children=n_children, consumed=consumed, split_taken=split_taken,
        gd_step=np.where(gd_taken > 0, gd_step, -1), gd_taken=gd_taken, qty_end=cur,
        bits_all=bits_all, mask=mask, wc=np.where(mask, wc, -1), spec=np.where(mask, spec, -1),
        machine=machine, arrive=arrive, t_in=t_in, t_out=t_out, qin=qin, scrap=scrap,
        planted=planted, bits_before=bits_before, mat_lot=mat_lot,
    )


def next_generation(rng: np.random.Generator, sim: Sim, offset: int, now_h: float) -> Batch:
    """Split children and GD rework lots of a simulated generation, created before now.

    ``offset`` is the global index of the generation's first lot."""
    idx = np.flatnonzero(sim.n_children > 0)
    par = np.repeat(idx, sim.n_children[idx])
    nc = len(par)
    share = rng.uniform(0.3, 1.0, nc)
    tot = np.bincount(par, weights=share, minlength=len(sim))[par]
    s = sim.split_step[par]
    split = Batch(
        parent=par + offset,
        kind=np.full(nc, KIND_SPLIT, dtype=np.int64),
        product=sim.product[par],
        wafer=sim.wafer[par],
        start_step=s,
        t0=sim.arrive[par, s] + rng.uniform(0.05, 1.0, nc),
        qty0=np.floor(sim.split_taken[par] * share / tot).astype(np.int64),
        bits0=sim.bits_before[par, s],
        depth=sim.depth[par] + 1,
        deep_left=np.maximum(sim.deep_left[par] - 1, 0),
        gd_link=np.full(nc, -1, dtype=np.int64),
    )
    g = np.flatnonzero(sim.gd_step >= 0)
    r = sim.gd_step[g]
    ng = len(g)
    rework = Batch(
        parent=g + offset,
        kind=np.full(ng, KIND_GD, dtype=np.int64),
        product=sim.product[g],
        wafer=sim.wafer[g],
        start_step=r,
        t0=sim.t_out[g, r] + rng.uniform(12, 96, ng),
        qty0=sim.gd_taken[g],
        bits0=sim.bits_before[g, r + 1],
        depth=sim.depth[g],
        deep_left=np.zeros(ng, dtype=np.int64),
        gd_link=rng.choice(3, size=ng, p=[0.7, 0.2, 0.1]),
    )
    out = Batch.concat([split, rework])
    return out.select(out.t0 <= now_h)
