"""Where every lot stands at the snapshot time ("now").

Why: the container table (current spec and quantity), the WIP snapshot, the machine
status and the open holds must agree on one answer to "where is this lot now?". The
simulation runs past now; this module cuts it: a step whose track-out lies after now is
the lot's current step (running on its machine when tracked in, else queueing), a lot
whose route is done is finished, consumed by a split, or merged (or still waiting for
its merge partners).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.demo.genealogy import Genealogy
from core.demo.reference import MERGE_LAST, N_STEPS, STEPS, Factory

_EQUIP = np.array([s.equipment for s in STEPS])


@dataclass
class LotState:
    active: np.ndarray  # in WIP now
    running: np.ndarray  # tracked in on a machine now
    step: np.ndarray  # current (or next) step, -1 when not active
    arrived: np.ndarray  # hours: arrival at the current step
    qty: np.ndarray  # pieces now (0 when consumed or merged)
    spec: np.ndarray  # current or last spec code


def lot_state(g: Genealogy, fac: Factory) -> LotState:
    lots, now = g.lots, g.now_h
    n = g.n
    rows = np.arange(n)
    pending = lots.mask & (lots.t_out > now)
    has_cur = pending.any(axis=1)
    cur = np.where(has_cur, np.argmax(pending, axis=1), -1)
    merged = np.zeros(n, dtype=bool)
    merged[g.comb_src] = True
    waiting = lots.merge_src & ~merged & ~has_cur
    # a waiting merge source sits at the first step after 切彎腳 its route has
    nxt_route = fac.route[lots.product][:, MERGE_LAST + 1:]
    nxt = MERGE_LAST + 1 + np.argmax(nxt_route, axis=1)
    step = np.where(waiting, nxt, cur)
    active = has_cur | waiting
    c = np.clip(cur, 0, N_STEPS - 1)
    running = has_cur & (lots.t_in[rows, c] <= now) & _EQUIP[c]
    arrived = np.where(waiting, lots.arrive[rows, np.clip(nxt, 0, N_STEPS - 1)],
                       lots.arrive[rows, c])
    qty = np.where(has_cur, lots.qin[rows, c], np.where(waiting, lots.qty_end, 0))
    finished = ~active & ~lots.consumed & ~lots.merge_src
    qty = np.where(finished, lots.qty_end, qty)
    done = lots.mask & (lots.t_out <= now)
    last = N_STEPS - 1 - np.argmax(done[:, ::-1], axis=1)
    last_spec = np.where(done.any(axis=1), lots.spec[rows, last],
                         fac.spec_code[lots.start_step, fac.step_wc[lots.product, lots.start_step],
                                       fac.product_family[lots.product]])
    s = np.clip(step, 0, N_STEPS - 1)
    cur_spec = fac.spec_code[s, fac.step_wc[lots.product, s], fac.product_family[lots.product]]
    spec = np.where(active, cur_spec, last_spec)
    return LotState(active=active, running=running, step=np.where(active, step, -1),
                    arrived=arrived, qty=qty.astype(np.int64), spec=spec)
