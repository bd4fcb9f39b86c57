"""The event tables: WIP history, rejects, material consumption, holds, maintenance jobs.

Why: these are the big tables (millions of rows at the incident scale) and the ones the
pages measure, so each must carry the traps of the real warehouse: partial track-outs
(several rows per track-in), checkpoint steps without a machine, lots still running,
reject events split into 1–4 reason rows that repeat the move-in quantity, reasons that
are not ``NNN_`` shaped, nulls in the scrap buckets, machine lists in one field, open
holds, jobs listing the lots on a machine. Rows are derived from the simulated routes
(core.demo.timeline) with numpy only; text comes from vocabularies by code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core import schema as t
from core.demo.columns import Clock, IdMaker, arrow_table, ints, nums, strings, take
from core.demo.genealogy import Genealogy
from core.demo.reference import (
    CAUSE_CODES,
    FUTURE_HOLD_COMMENTS,
    HOLD_COMMENTS,
    HOLD_DEPTS,
    JOB_MODELS,
    MATERIALS,
    NON_QUALITY_HOLD_REASONS,
    QUALITY_HOLD_REASONS,
    REASON_INDEX,
    REASONS,
    REJECT_COMMENTS,
    REPAIR_CODES,
    STEPS,
    SYMPTOM_CODES,
    TMTT,
    WC_INDEX,
    WORKCENTERS,
    Factory,
    S,
    reason_weights,
)
from core.demo.scales import Scale
from core.demo.signals import PLANTED_SIGNALS

_GROUP_OF_STEP = np.array([s.group for s in STEPS])
WC_NAMES = [wc.name for wc in WORKCENTERS]


@dataclass
class Vocab:
    """Shared text columns: ids of lots, machines and specs, lot names, work orders."""

    lot_id: pa.Array
    lot_name: pa.Array
    lot_wo: pa.Array
    machine_id: pa.Array
    machine_name: pa.Array
    spec_id: pa.Array
    spec_name: pa.Array


def wip_history(rng: np.random.Generator, g: Genealogy, v: Vocab, clock: Clock) -> pa.Table:
    """dw_mes_lotwiphistory: one row per started lot pass, partial track-outs repeated
    (each row's trackinqty is what was left in the lot when that part was tracked out)."""
    lots, now = g.lots, g.now_h
    li, si = np.nonzero(lots.mask & (lots.t_in <= now))
    n = len(li)
    t_in, t_out = lots.t_in[li, si], lots.t_out[li, si]
    running = t_out > now
    machine = lots.machine[li, si]
    qin = lots.qin[li, si]
    qout = qin - lots.scrap[li, si]
    # partial track-outs: common at TMTT (reels are packed and moved as they fill)
    part = ~running & (machine >= 0) & (rng.random(n) < np.where(si == TMTT, 0.4, 0.09))
    reps = np.where(part, rng.integers(2, 5, n), 1)
    row = np.repeat(np.arange(n), reps)
    k = np.arange(len(row)) - np.repeat(np.cumsum(reps) - reps, reps)
    m = reps[row]
    out_ts = t_in[row] + (t_out[row] - t_in[row]) * (k + 1) / m
    q = qout[row]
    q_part = (q * (k + 1)) // m - (q * k) // m
    # each row carries what is still in the lot, as the MES writes it: a track-in of 1000
    # tracked out in three parts gives trackinqty 1000, 600, 200 (shared/schema.md)
    q_left = qin[row] - (q * k) // m
    li, si = li[row], si[row]
    run = running[row]
    card_step = (si == TMTT) | (si == S["fg"])
    card = pc.binary_join_element_wise(take(v.lot_name, np.where(card_step, li, -1)), "-RC01", "")
    cols = {
        "containerid": take(v.lot_id, li),
        "workcentername": take(WC_NAMES, lots.wc[li, si]),
        "specname": take(v.spec_name, lots.spec[li, si]),
        "equipmentid": take(v.machine_id, machine[row]),
        "equipmentname": take(v.machine_name, machine[row]),
        "trackintimestamp": clock.ts(t_in[row]),
        "trackouttimestamp": clock.ts(out_ts, null=run),
        "trackinqty": ints(q_left),
        "trackoutqty": ints(q_part, null=run),
        "finishedruncard": card,
        "pj_workorder": take(v.lot_wo, li),
    }
    return arrow_table(t.lotwiphistory, cols)


def reject_history(rng: np.random.Generator, ids: IdMaker, g: Genealogy, fac: Factory,
                   v: Vocab, clock: Clock) -> pa.Table:
    """dw_mes_lotrejecthistory: reject events of finished passes, one row per reason."""
    lots, now = g.lots, g.now_h
    li, si = np.nonzero(lots.mask & (lots.t_out <= now) & (lots.scrap > 0))
    ne = len(li)
    total = lots.scrap[li, si]
    planted = np.where((si == TMTT)[:, None], lots.planted[li], 0)
    # an event has at most 4 reason rows: signals beyond the third fold into the first
    nth = np.cumsum(planted > 0, axis=1)
    fold = np.where(nth > 3, planted, 0).sum(axis=1)
    planted = np.where(nth > 3, 0, planted)
    first_sig = np.argmax(planted > 0, axis=1)
    planted[np.arange(ne), first_sig] += fold
    n_p = (planted > 0).sum(axis=1)
    base = total - planted.sum(axis=1)
    k_base = np.where(base > 0, rng.choice([1, 2, 3, 4], size=ne, p=[0.55, 0.3, 0.1, 0.05]), 0)
    k_base = np.minimum(np.minimum(k_base, base), np.maximum(4 - n_p, 1))
    ev_b = np.repeat(np.arange(ne), k_base)
    share = rng.uniform(0.2, 1.0, len(ev_b))
    share_sum = np.bincount(ev_b, weights=share, minlength=ne)[ev_b]
    qb = np.floor(base[ev_b] * share / share_sum).astype(np.int64)
    first_row = np.r_[True, ev_b[1:] != ev_b[:-1]] if len(ev_b) else np.zeros(0, bool)
    short = base - np.bincount(ev_b, weights=qb, minlength=ne).astype(np.int64)
    qb = qb + np.where(first_row, short[ev_b], 0)
    grp = _GROUP_OF_STEP[si[ev_b]]
    w = reason_weights()
    reason_b = np.zeros(len(ev_b), dtype=np.int64)
    for gi in np.unique(grp):
        sel = grp == gi
        reason_b[sel] = rng.choice(len(REASONS), size=int(sel.sum()), p=w[gi])
    ev_p, bit = np.nonzero(planted > 0)
    qp = planted[ev_p, bit]
    sig_reason = np.array([REASON_INDEX[s.reason] for s in PLANTED_SIGNALS])
    ev = np.concatenate([ev_b, ev_p])
    order = np.argsort(ev, kind="stable")
    ev = ev[order]
    qty = np.concatenate([qb, qp])[order]
    reason = np.concatenate([reason_b, sig_reason[bit]])[order]
    nr = len(ev)
    # -- per event -----------------------------------------------------------------------------
    hml = ids.draw(ne)
    hml_null = rng.random(ne) < 0.01
    txn = lots.t_in[li, si] + (lots.t_out[li, si] - lots.t_in[li, si]) * rng.uniform(0.4, 1, ne)
    mach = lots.machine[li, si]
    wc = lots.wc[li, si]
    other = fac.wc_machine_start[wc] + (
        mach - fac.wc_machine_start[wc] + rng.integers(1, 4, ne)) % fac.wc_machine_count[wc]
    listed = rng.random(ne) < 0.03
    eq_name = pc.if_else(
        pa.array(listed[ev]),
        pc.binary_join_element_wise(take(v.machine_name, mach[ev]),
                                    take(v.machine_name, other[ev]), ","),
        take(v.machine_name, mach[ev]),
    )
    # -- per row: which charged bucket, defects, comments --------------------------------------
    bucket = rng.choice(5, size=nr, p=[0.86, 0.04, 0.04, 0.03, 0.03])
    zero_fill = rng.random(nr) < 0.5
    bucket_cols = {}
    for bi, name in enumerate(("rejectqty", "standbyqty", "qtytoprocess", "inprocessqty",
                               "processedqty")):
        vals = np.where(bucket == bi, qty, 0)
        bucket_cols[name] = ints(vals, null=(bucket != bi) & ~zero_fill)
    du = rng.random(nr)
    defect = np.where(du < 0.12, rng.poisson(np.maximum(qty, 1) * 0.5) + 1, 0)
    comment = np.where(rng.random(nr) < 0.08, rng.integers(0, len(REJECT_COMMENTS), nr), -1)
    cols = {
        "historymainlineid": take(strings(hml), np.where(hml_null, -1, np.arange(ne))[ev]),
        "containerid": take(v.lot_id, li[ev]),
        "pj_workorder": take(v.lot_wo, li[ev]),
        "workcentername": take(WC_NAMES, wc[ev]),
        "specid": take(v.spec_id, lots.spec[li, si][ev]),
        "specname": take(v.spec_name, lots.spec[li, si][ev]),
        "equipmentname": eq_name,
        "txndate": clock.ts(txn[ev]),
        "moveinqty": ints(lots.qin[li, si][ev]),
        "lossreasonname": take([r for r, _ in REASONS], reason),
        "rejectcategoryname": take([c for _, c in REASONS], reason),
        **bucket_cols,
        "defectqty": ints(defect, null=du > 0.5),
        "rejectcomment": take(REJECT_COMMENTS, comment),
    }
    lot_rows = arrow_table(t.lotrejecthistory, cols)
    return pa.concat_tables([lot_rows, _material_rejects(rng, ids, g, fac, v, clock, ne)])


def _material_rejects(rng: np.random.Generator, ids: IdMaker, g: Genealogy, fac: Factory,
                      v: Vocab, clock: Clock, n_lot_events: int) -> pa.Table:
    """A few rejects booked on MATERIAL containers (pages leave them out by default)."""
    nm = len(g.mat_id)
    n = min(nm, max(3, n_lot_events // 300))
    pick = np.sort(rng.choice(nm, size=n, replace=False)) if n else np.zeros(0, np.int64)
    when = np.maximum(g.mat_t0[pick], 0) + rng.uniform(24, 96, n)
    when = np.minimum(when, g.now_h - 1)
    qty = rng.integers(1, 50, n)
    spec = fac.spec_code[S["db"], WC_INDEX["焊_DB_料"], 1]
    cols = {
        "historymainlineid": strings(ids.draw(n)),
        "containerid": strings(g.mat_id[pick]),
        "workcentername": strings(["焊_DB_料"] * n),
        "specid": take(v.spec_id, np.full(n, spec)),
        "specname": take(v.spec_name, np.full(n, spec)),
        "txndate": clock.ts(when),
        "moveinqty": ints(qty * 10),
        "lossreasonname": strings(["012_來料不良"] * n),
        "rejectcategoryname": strings(["材料不良"] * n),
        "rejectqty": ints(qty),
    }
    return arrow_table(t.lotrejecthistory, cols)


def material_history(rng: np.random.Generator, g: Genealogy, fac: Factory, v: Vocab,
                     clock: Clock) -> pa.Table:
    """dw_mes_lotmaterialshistory: lead frame, die attach, wire, compound, plating anode."""
    lots, now = g.lots, g.now_h
    step_of = np.array([S[m.step] for m in MATERIALS])
    valid = (lots.mat_lot >= 0) & (lots.t_in[:, step_of] <= now)
    li, mi = np.nonzero(valid)
    si = step_of[mi]
    qin = lots.qin[li, si]
    per = np.array([m.per_piece for m in MATERIALS])[mi]
    cols = {
        "containerid": take(v.lot_id, li),
        "workcentername": take(WC_NAMES, lots.wc[li, si]),
        "specname": take(v.spec_name, lots.spec[li, si]),
        "equipmentname": take(v.machine_name, lots.machine[li, si]),
        "materialpartname": take([m.part for m in MATERIALS], mi),
        "materiallotname": take(fac.material_lot_name, lots.mat_lot[li, mi]),
        "qtyconsumed": nums(qin * per * rng.uniform(0.97, 1.05, len(li))),
        "txndate": clock.ts(lots.t_in[li, si] + rng.uniform(0.0, 0.3, len(li))),
    }
    return arrow_table(t.lotmaterialshistory, cols)


@dataclass
class OpenHolds:
    """Lots on hold now (chosen by core.demo.snapshots), with their hold details."""

    lot: np.ndarray
    wc: np.ndarray  # workcenter code where the lot waits
    qty: np.ndarray
    since: np.ndarray  # hours
    reason: np.ndarray  # code into hold_reasons()
    emp: np.ndarray
    dept: np.ndarray
    comment: np.ndarray
    future: np.ndarray  # code into FUTURE_HOLD_COMMENTS or -1


def hold_reasons() -> tuple[list[str | None], np.ndarray]:
    """Hold reasons (quality first, then non-quality) and their draw weights."""
    names = [r for r, _ in QUALITY_HOLD_REASONS] + list(NON_QUALITY_HOLD_REASONS)
    wq = np.array([w for _, w in QUALITY_HOLD_REASONS])
    wq = 0.72 * wq / wq.sum()
    wn = np.full(len(NON_QUALITY_HOLD_REASONS), 0.28 / len(NON_QUALITY_HOLD_REASONS))
    return names, np.concatenate([wq, wn])


def hold_history(rng: np.random.Generator, g: Genealogy, scale: Scale, v: Vocab,
                 open_holds: OpenHolds, clock: Clock) -> pa.Table:
    """dw_mes_holdreleasehistory: released holds before track-ins, plus the open holds."""
    lots, now = g.lots, g.now_h
    li, si = np.nonzero(lots.mask & (lots.t_in <= now))
    pick = rng.random(len(li)) < scale.hold_prob
    li, si = li[pick], si[pick]
    n = len(li)
    bucket = rng.choice(4, size=n, p=[0.4, 0.33, 0.18, 0.09])
    lo = np.array([0.1, 4, 24, 72])[bucket]
    hi = np.array([4, 24, 72, 240])[bucket]
    dur = rng.uniform(lo, hi)
    release = lots.t_in[li, si] - rng.uniform(0.05, 0.5, n)
    hold = release - dur
    names, w = hold_reasons()
    reason = rng.choice(len(names), size=n, p=w)
    no = len(open_holds.lot)
    all_lot = np.concatenate([li, open_holds.lot])
    all_wc = np.concatenate([lots.wc[li, si], open_holds.wc])
    all_reason = np.concatenate([reason, open_holds.reason])
    all_hold = np.concatenate([hold, open_holds.since])
    qty = np.concatenate([lots.qin[li, si], open_holds.qty])
    is_open = np.r_[np.zeros(n, bool), np.ones(no, bool)]
    emp = np.concatenate([rng.integers(0, 400, n), open_holds.emp])
    dept = np.concatenate([rng.integers(0, len(HOLD_DEPTS), n), open_holds.dept])
    comment = np.concatenate([rng.integers(0, len(HOLD_COMMENTS), n), open_holds.comment])
    future = np.concatenate([np.where(rng.random(n) < 0.06,
                                      rng.integers(0, len(FUTURE_HOLD_COMMENTS), n), -1),
                             open_holds.future])
    order = np.argsort(all_hold, kind="stable")
    tot = n + no
    emp_vocab = [f"A{k:04d}" for k in range(1000, 1400)]
    quality = all_reason < len(QUALITY_HOLD_REASONS)
    ncr = np.where(quality & (rng.random(tot) < 0.3), np.arange(tot) % 9000, -1)
    ncr_vocab = pa.array([f"NCR-{k + 1000:04d}" for k in range(9000)])
    rel_emp = rng.integers(0, 400, tot)
    cols = {
        "containerid": take(v.lot_id, all_lot[order]),
        "pj_workorder": take(v.lot_wo, all_lot[order]),
        "workcentername": take(WC_NAMES, all_wc[order]),
        "qty": ints(qty[order]),
        "holdtxndate": clock.ts(all_hold[order]),
        "releasetxndate": clock.ts(np.r_[release, np.zeros(no)][order], null=is_open[order]),
        "holdemp": take(emp_vocab, emp[order]),
        "holdempdeptname": take(HOLD_DEPTS, dept[order]),
        "holdreasonname": take(names, all_reason[order]),
        "holdcomments": take(HOLD_COMMENTS, comment[order]),
        "releaseemp": take(emp_vocab, np.where(is_open, -1, rel_emp)[order]),
        "releasecomments": take(["OK release", "PE確認可放行", "QC確認OK", "工程判定放行"],
                                np.where(is_open, -1, rel_emp % 4)[order]),
        "ncrid": take(ncr_vocab, ncr[order]),
        "futureholdcomments": take(FUTURE_HOLD_COMMENTS, future[order]),
    }
    return arrow_table(t.holdreleasehistory, cols)


def jobs(rng: np.random.Generator, ids: IdMaker, g: Genealogy, fac: Factory, scale: Scale,
         v: Vocab, clock: Clock) -> pa.Table:
    """dw_mes_job: maintenance jobs per machine, with the lots seen on it just before."""
    lots, now = g.lots, g.now_h
    n_m = len(fac.machine_name)
    per = rng.poisson(scale.jobs_per_machine_day * scale.days, n_m)
    mach = np.repeat(np.arange(n_m), per)
    n = len(mach)
    create = np.sort(rng.uniform(0, now, n))
    mach = mach[rng.permutation(n)]
    model = rng.choice(len(JOB_MODELS), size=n, p=[0.3, 0.2, 0.08, 0.25, 0.12, 0.05])
    is_bm = model == 3
    dur = np.where(is_bm, rng.lognormal(1.0, 0.9, n), rng.uniform(0.5, 4.0, n))
    complete = create + dur
    open_ = complete > now
    status = np.where(open_, np.where(rng.random(n) < 0.5, 0, 1),
                      rng.choice([2, 3, 4], size=n, p=[0.85, 0.1, 0.05]))
    # lots on the machine in the 12 hours before the job
    li, si = np.nonzero((lots.machine >= 0) & (lots.t_in <= now))
    m_of = lots.machine[li, si]
    key = m_of * 1e6 + lots.t_in[li, si]
    order = np.argsort(key, kind="stable")
    key, li = key[order], li[order]
    a = np.searchsorted(key, mach * 1e6 + create - 12)
    b = np.searchsorted(key, mach * 1e6 + create)
    a = np.maximum(a, b - 100)
    lot_ids = np.asarray(v.lot_id.to_numpy(zero_copy_only=False))
    lot_names = np.asarray(v.lot_name.to_numpy(zero_copy_only=False))
    cids = [",".join(lot_ids[li[x:y]]) if y > x else None for x, y in zip(a, b, strict=True)]
    cnames = [",".join(lot_names[li[x:y]])[:4000] if y > x else None
              for x, y in zip(a, b, strict=True)]
    code = np.where(is_bm, rng.integers(0, 1000, n), -1)
    cols = {
        "jobid": strings(ids.draw(n)),
        "resourceid": take(v.machine_id, mach),
        "resourcename": take(v.machine_name, mach),
        "jobstatus": take(["Open", "InProgress", "Completed", "Closed", "Cancelled"], status),
        "jobmodelname": take([m for m, _ in JOB_MODELS], model),
        "jobordername": take([o for _, o in JOB_MODELS], model),
        "createdate": clock.ts(create),
        "completedate": clock.ts(complete, null=open_),
        "causecodename": take(CAUSE_CODES, np.where(code >= 0, code % len(CAUSE_CODES), -1)),
        "repaircodename": take(REPAIR_CODES, np.where(code >= 0, code % len(REPAIR_CODES), -1)),
        "symptomcodename": take(SYMPTOM_CODES,
                                np.where(code >= 0, code % len(SYMPTOM_CODES), -1)),
        "containerids": strings(cids),
        "containernames": strings(cnames),
    }
    return arrow_table(t.job, cols)
