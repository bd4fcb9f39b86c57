"""The realtime snapshots: current WIP (dw_mes_lot_v) and machine status.

Why: the WIP and hold pages read only these views, refreshed upstream every few
minutes, so they must agree with the history tables at the snapshot time: a RUN lot is
tracked in on the machine the equipment view lists, a HOLD lot has the open hold of
dw_mes_holdreleasehistory, queueing lots wait before their next step. Status mix in the
incident factory: RUN ~10%, HOLD ~2%, the rest QUEUE; plus raw-material rows without a
work order and a few DUMMY lots, which the pages must leave out by default.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core import schema as t
from core.demo.columns import Clock, arrow_table, ints, nums, strings, take
from core.demo.events import OpenHolds, Vocab, hold_reasons
from core.demo.genealogy import Genealogy
from core.demo.masters import spec_sequence
from core.demo.reference import (
    FUTURE_HOLD_COMMENTS,
    GROUPS,
    HOLD_COMMENTS,
    HOLD_DEPTS,
    MATERIALS,
    PRODUCTS,
    QUALITY_HOLD_REASONS,
    STEPS,
    WORKCENTERS,
    Factory,
)
from core.demo.scales import Scale
from core.demo.state import LotState

WC_NAMES = [wc.name for wc in WORKCENTERS]


def pick_holds(rng: np.random.Generator, g: Genealogy, fac: Factory, st: LotState,
               scale: Scale) -> OpenHolds:
    """Queueing lots put on hold after they arrived at their current step."""
    queue = np.flatnonzero(st.active & ~st.running)
    n = min(len(queue), max(scale.min_open_holds, round(0.02 * len(queue))))
    lot = np.sort(rng.choice(queue, size=n, replace=False))
    waited = g.now_h - st.arrived[lot]
    since = g.now_h - waited * rng.uniform(0.05, 0.95, n)
    names, w = hold_reasons()
    step = st.step[lot]
    reason = rng.choice(len(names), size=n, p=w)
    # Small scales draw only a few holds: make sure the snapshot shows both hold types
    # (quality codes come first in hold_reasons()), without drawing again (determinism).
    n_quality = len(QUALITY_HOLD_REASONS)
    if n >= 2 and not (reason < n_quality).any():
        reason[0] = 0
    if n >= 2 and (reason < n_quality).all():
        reason[-1] = n_quality
    return OpenHolds(
        lot=lot,
        wc=fac.step_wc[g.lots.product[lot], step],
        qty=st.qty[lot],
        since=since,
        reason=reason,
        emp=rng.integers(0, 400, n),
        dept=rng.integers(0, len(HOLD_DEPTS), n),
        comment=rng.integers(0, len(HOLD_COMMENTS), n),
        future=np.where(rng.random(n) < 0.1, rng.integers(0, len(FUTURE_HOLD_COMMENTS), n), -1),
    )


def lot_v(g: Genealogy, fac: Factory, st: LotState, holds: OpenHolds, v: Vocab,
          clock: Clock, scale: Scale) -> pa.Table:
    """dw_mes_lot_v: one row per active lot, then raw-material rows."""
    lot = np.flatnonzero(st.active)
    n = len(lot)
    hold_pos = np.full(g.n, -1, dtype=np.int64)
    hold_pos[holds.lot] = np.arange(len(holds.lot))
    hp = hold_pos[lot]
    on_hold = hp >= 0
    running = st.running[lot]
    prod = g.lots.product[lot]
    step = st.step[lot]
    wc = fac.step_wc[prod, step]
    group = np.array([s.group for s in STEPS])[step]
    names, _ = hold_reasons()
    status = np.where(running, 0, np.where(on_hold, 2, 1))

    def attr(name: str, p: np.ndarray) -> pa.Array:
        return take([getattr(x, name) for x in PRODUCTS], p)

    firstname = take(g.wafer_name, g.lots.wafer[lot])
    emp_vocab = [f"A{k:04d}" for k in range(1000, 1400)]
    h = np.where(on_hold, hp, 0)
    lots_part = {
        "containerid": take(v.lot_id, lot),
        "lotid": take(v.lot_name, lot),
        "workorder": take(v.lot_wo, lot),
        "qty": ints(st.qty[lot]),
        "status": take(["RUN", "QUEUE", "HOLD"], status),
        "holdreasonname": take(names, np.where(on_hold, holds.reason[h], -1)),
        "currentholdcount": ints(on_hold.astype(np.int64)),
        "equipmentcount": ints(running.astype(np.int64)),
        "agebydays": nums((g.now_h - st.arrived[lot]) / 24.0, 2),
        "product": attr("productname", prod),
        "productlinename": attr("package", prod),
        "package_lef": attr("package", prod),
        "pj_type": attr("pj_type", prod),
        "pj_function": attr("pj_function", prod),
        "firstname": firstname,
        "waferdesc": pc.binary_join_element_wise(firstname, strings(['6"'] * n),
                                                 attr("pj_type", prod), "/"),
        "specname": take(v.spec_name, st.spec[lot]),
        "specsequence": take([spec_sequence(i) for i in range(len(STEPS))], step),
        "workcentername": take(WC_NAMES, wc),
        "workcenter_group": take(GROUPS, group),
        "workcentersequence_group": take([str(i) for i in range(len(GROUPS))], group),
        "workflowname": take([f"WF_{p.package}_{p.pj_bop}" for p in PRODUCTS], prod),
        "holdemp": take(emp_vocab, np.where(on_hold, holds.emp[h], -1)),
        "deptname": take(HOLD_DEPTS, np.where(on_hold, holds.dept[h], -1)),
        "comment_hold": take(HOLD_COMMENTS, np.where(on_hold, holds.comment[h], -1)),
        "comment_future": take(FUTURE_HOLD_COMMENTS, np.where(on_hold, holds.future[h], -1)),
        "sys_date": clock.ts(np.full(n, g.now_h)),
    }
    # raw material waiting in the store: no work order, not WIP
    recent = np.argsort(-g.mat_t0, kind="stable")[: scale.raw_material_wip]
    nm = len(recent)
    part = [MATERIALS[fac.material_lot_material[c]].part for c in g.mat_lot_code[recent]]
    raw = {
        "containerid": strings(g.mat_id[recent]),
        "lotid": strings([fac.material_lot_name[c] for c in g.mat_lot_code[recent]]),
        "qty": ints(np.arange(nm) * 37 % 900 + 100),
        "status": strings(["QUEUE"] * nm),
        "currentholdcount": ints(np.zeros(nm)),
        "equipmentcount": ints(np.zeros(nm)),
        "agebydays": nums((g.now_h - np.maximum(g.mat_t0[recent], 0)) / 24.0, 2),
        "product": strings(part),
        "specname": strings(["原物料倉"] * nm),
        "workcentername": strings(["原物料倉"] * nm),
        "sys_date": clock.ts(np.full(nm, g.now_h)),
    }
    return pa.concat_tables([arrow_table(t.lot_v, lots_part), arrow_table(t.lot_v, raw)])


def equipment_status(rng: np.random.Generator, g: Genealogy, fac: Factory, st: LotState,
                     v: Vocab, clock: Clock) -> pa.Table:
    """dw_mes_equipmentstatus_wip_v: one row per (machine, running lot), idle machines once."""
    run = np.flatnonzero(st.running)
    mach_run = g.lots.machine[run, st.step[run]]
    order = np.lexsort((run, mach_run))
    run, mach_run = run[order], mach_run[order]
    n_m = len(fac.machine_name)
    busy = np.zeros(n_m, dtype=bool)
    busy[mach_run] = True
    idle = np.flatnonzero(~busy)
    ni = len(idle)
    machine = np.concatenate([mach_run, idle])
    status_run = np.where(rng.random(len(run)) < 0.96, 0, 4)
    status_idle = rng.choice([1, 2, 3, 4, 5], size=ni, p=[0.45, 0.15, 0.15, 0.1, 0.15])
    status = np.concatenate([status_run, status_idle])
    order = np.argsort(machine, kind="stable")
    lot = np.r_[run, np.full(ni, -1)][order]
    machine = machine[order]
    step_run = st.step[run]
    tin = np.r_[g.lots.t_in[run, step_run], np.zeros(ni)][order]
    qin = np.r_[g.lots.qin[run, step_run], np.zeros(ni, dtype=np.int64)][order]
    cols = {
        "resourceid": take(v.machine_id, machine),
        "resourcename": take(v.machine_name, machine),
        "workcentername": take(WC_NAMES, fac.machine_wc[machine]),
        "equipmentassetsstatus": take(["PRD", "SBY", "UDT", "SDT", "EGT", "NST"],
                                      status[order]),
        "runcardlotid": take(v.lot_name, lot),
        "lottrackinqty_pcs": ints(qin, null=lot < 0),
        "lottrackintime": clock.ts(tin, null=lot < 0),
        "sys_date": clock.ts(np.full(len(machine), g.now_h)),
    }
    return arrow_table(t.equipmentstatus_wip_v, cols)
