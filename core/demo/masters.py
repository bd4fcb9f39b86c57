"""Reference tables: station-group mapping, machines, excluded scrap reasons.

Why: the dashboard reads the workcenter → station group mapping from
dw_mes_spec_workcenter_v (never hard-coded twice), machines from dw_mes_resource and the
yield-neutral reasons from erp_pj_wip_scrap_reasons_exclude; these small tables come from
the same vocabulary (core.demo.reference) as every event row, so they always match.
Sequences are stored as text, as in the warehouse.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from core import schema as t
from core.demo.columns import arrow_table, strings, take
from core.demo.reference import (
    EXCLUDED_REASONS,
    FAMILIES,
    GROUPS,
    STEPS,
    WC_INDEX,
    WORKCENTERS,
    Factory,
)


def spec_sequence(step: int) -> str:
    """specsequence of a step (text, as stored upstream)."""
    return str(100 + 10 * step)


def spec_workcenter_table(fac: Factory) -> pa.Table:
    rows: list[tuple[str, str, str, str, str]] = []
    for si, step in enumerate(STEPS):
        for wc in step.wcs:
            for fi in range(len(FAMILIES)):
                code = fac.spec_code[si, WC_INDEX[wc], fi]
                rows.append((fac.spec_name[code], spec_sequence(si), wc, GROUPS[step.group],
                             str(step.group)))
    names = ("spec", "specsequence", "work_center", "work_center_group",
             "workcentersequence_group")
    return arrow_table(t.spec_workcenter,
                       {n: strings([r[i] for r in rows]) for i, n in enumerate(names)})


def resource_table(fac: Factory, machine_id: np.ndarray) -> pa.Table:
    wc_names = [wc.name for wc in WORKCENTERS]
    return arrow_table(t.resource, {
        "resourceid": strings(machine_id),
        "resourcename": strings(fac.machine_name),
        "resourcefamilyname": strings(fac.machine_family),
        "workcentername": take(wc_names, fac.machine_wc),
    })


def exclude_table(reason_id: np.ndarray) -> pa.Table:
    return arrow_table(t.scrap_reasons_exclude, {
        "reason_id": strings(reason_id),
        "reason_name": strings([r[0] for r in EXCLUDED_REASONS]),
        "description": strings([r[1] for r in EXCLUDED_REASONS]),
        "enable_flag": strings([r[2] for r in EXCLUDED_REASONS]),
    })
