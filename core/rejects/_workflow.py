"""The workflow of a reject record's lot: where it comes from and what "unknown" means.

Problem: managers want the reject pareto by workflow, but the warehouse keeps a lot's
workflow in one place only: the live WIP snapshot (dw_mes_lot_v.workflowname,
shared/schema.md). No history table (rejects, track-ins, containers) carries it, so a lot
that has left WIP (finished, shipped, scrapped whole) has no workflow to read.

Design: the load reads (containerid, workflowname) of the snapshot's WIP lots (a work
order set: a row without one is raw material, not WIP; about 10K rows) and attaches them
locally by containerid. A lot in WIP takes its workflow as of the snapshot (its workflow
now, which for a reworked lot may differ from the one it was rejected under); a WIP lot
with an empty workflowname shows as ``measures.NONE_LABEL``; a lot not in WIP gets
``UNKNOWN``. ``SOURCE`` says so in one sentence, for the page and the CLI.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.i18n import N_
from core.schema import lot_v

UNKNOWN = "(unknown: left WIP)"
"""The workflow of a lot that is not in the WIP snapshot now."""

SOURCE = N_(
    "Workflow is read from the live WIP snapshot (dw_mes_lot_v.workflowname): the lot's "
    "workflow now, as no history table keeps it. Lots no longer in WIP (finished, shipped "
    "or scrapped) show as '(unknown: left WIP)'; a WIP lot without a workflow as '(none)'."
)
"""Shown with ``_()``; it names ``UNKNOWN`` (a value of the data, not translated)."""


@query("rejects.workflows")
def workflows() -> Select:
    """Workflow of every WIP lot in the snapshot (work order set), with the snapshot time."""
    v = lot_v
    return sa.select(v.c.containerid, v.c.workflowname, v.c.sys_date).where(
        v.c.workorder.is_not(None)
    )


def attach_workflow(table: pa.Table, snapshot: pa.Table) -> pa.Table:
    """``table`` with a ``workflow`` column: the snapshot's workflow of the row's lot,
    null for a WIP lot without one, ``UNKNOWN`` for a lot not in the snapshot."""
    ids = snapshot["containerid"]
    where = pc.index_in(table["containerid"], value_set=ids)
    names = pc.take(snapshot["workflowname"], where)
    in_wip = pc.is_valid(where)
    workflow = pc.if_else(in_wip, names, pa.scalar(UNKNOWN, pa.string()))
    if "workflow" in table.column_names:
        table = table.drop_columns(["workflow"])
    return table.append_column("workflow", workflow)


def as_of(snapshot: pa.Table) -> datetime | None:
    """When the snapshot was taken (None when it holds no WIP lot)."""
    if snapshot.num_rows == 0:
        return None
    value = pc.max(snapshot["sys_date"]).as_py()
    return value if isinstance(value, datetime) else None
