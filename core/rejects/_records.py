"""Per-record rules of a reject load, applied once per load: the "load" half of the
reject measures (core.rejects._load calls ``prepare``; core.rejects._slicer slices).

Why its own module: these rules (first listed machine, reason code, the NNN_/XXX_/ZZZ_
flags, the charged total, station group) decide what each loaded record counts as; they
are read and tested apart from the slicing machinery, and each is applied once per
distinct value (reasons, steps, machine lists) rather than per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core import machines as machine_rule
from core.rejects._queries import BUCKETS
from core.stations import StationMap

_NNN = re.compile(r"[0-9]{3}_")
_CODE = re.compile(r"[^_ -]*")


machines = machine_rule.listed  # the rule lives in core/machines.py
first_machine = machine_rule.first


def reason_code(reason: str | None) -> str:
    """The part of a loss reason before the first '_', ' ' or '-' (domain.md)."""
    m = _CODE.match(reason or "")
    return m.group(0) if m else ""


def reason_flags(reason: str | None, exclusion: Iterable[str]) -> dict[str, Any]:
    """Policy facts of one loss reason. On the exclusion list means equal to an entry
    (full name), or its code equals an entry and a separator follows the code (an entry
    holding '%' is never taken as a code, as when this was a LIKE pattern)."""
    names = set(exclusion)
    code = reason_code(reason)  # holds no separator by construction
    by_code = code in names and "%" not in code and len(code) < len(reason or "")
    excluded = reason is not None and (reason in names or by_code)
    return {
        "reason_code": code,
        "excluded": excluded,
        "is_nnn": reason is not None and _NNN.match(reason) is not None,
        "is_xxx_zzz": reason is not None and reason.startswith(("XXX_", "ZZZ_")),
    }


def prepare(
    table: pa.Table, stations: StationMap | None = None, exclusion: Sequence[str] = ()
) -> pa.Table:
    """The loaded rows with the derived columns the slices use (computed once per load,
    per distinct value where the value decides)."""
    # one lookup per row, the rules once per distinct reason
    reasons = pc.unique(table["reason"])
    where = pc.index_in(table["reason"], value_set=reasons)  # null is a value too
    flags = [reason_flags(r, exclusion) for r in reasons.to_pylist()]
    n = table.num_rows
    groups = (stations.step_groups(table["spec"], table["workcenter"]) if stations is not None
              else pa.nulls(n, pa.string()))
    charged = pc.fill_null(table[BUCKETS[0]], 0)
    for b in BUCKETS[1:]:
        charged = pc.add(charged, pc.fill_null(table[b], 0))
    equipment = pc.unique(table["machine"])
    first = pa.array([first_machine(v) for v in equipment.to_pylist()], pa.string())
    derived: dict[str, Any] = {
        "station_group": groups,
        "machine_first": pc.take(first, pc.index_in(table["machine"], value_set=equipment)),
        "day": pc.cast(table["txndate"], pa.date32()),
        "charged": pc.cast(charged, pa.int64()),
        **{
            name: pc.take(pa.array([f[name] for f in flags], typ), where)
            for name, typ in (("reason_code", pa.string()), ("excluded", pa.bool_()),
                              ("is_nnn", pa.bool_()), ("is_xxx_zzz", pa.bool_()))
        },
        "is_pb": pc.fill_null(pc.starts_with(table["package"], "PB_"), False),
        "is_material": pc.fill_null(pc.equal(table["objecttype"], "MATERIAL"), False),
    }
    out = table
    for name, col in derived.items():
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, col)
    return out
