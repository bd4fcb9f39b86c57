"""One label registry for columns: what a table header, chart axis, hover or CSV header says.

Why: pages showed raw warehouse names (lotid, workcentername, txndate, qtytoprocess,
defective_lots, p_value) and each page renamed a few columns its own way. Every column a
page or a CSV shows is named here once: its English label (a gettext message, so the
zh-TW catalog gives 繁體中文 with the words of shared/terms-zh-TW.md) and its kind, which
says how it is formatted (dashboard.widgets.tables turns kinds into column formats:
thousands separators, two-decimal percentages, YYYY-MM-DD dates). A column that is a
measure of core/glossary.py takes the measure's label and unit from there.

The data keeps its raw column names (selections, URLs and the CLI's JSON use them); only
what is shown is labelled. CSV headers are labelled too, unless the ``csv_headers``
setting or the CLI's ``--raw-headers`` keeps machine names for scripts.

Sections below are per area so that additions in different areas do not collide; add a
column to the area that produces it. ``label()`` of an unknown column returns the raw
name unchanged, so a missing entry stays visible (tests look for raw names on pages).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import glossary
from core.i18n import N_, _

KINDS = ("text", "count", "qty", "percent", "ratio", "p", "number", "hours", "days", "date",
         "datetime")
"""count: lots or rows (whole); qty: pieces (whole); percent: a value already in percent;
ratio: a multiple (lift); p: a probability (p, q); number: any other decimal; hours/days:
durations in that unit; date and datetime: formatted YYYY-MM-DD [HH:mm:ss]."""

_UNIT_KIND = {"pcs": "qty", "%": "percent", "x": "ratio", "h": "hours", "days": "days",
              "lots": "count", "work orders": "count", "holds": "count", "": "count"}
_MEASURE_KIND = {"p_value": "p", "q_value": "p", "top_reason": "text"}
"""Measures whose unit does not say their kind: probabilities (not whole counts) and a
name."""


@dataclass(frozen=True)
class Column:
    name: str
    text: str  # English label, a catalog message
    kind: str = "text"
    help: str = ""


_COLUMNS: dict[str, Column] = {}


def _c(name: str, text: str, kind: str = "text", help: str = "") -> None:
    """Register a column, once: a name means the same column everywhere (a column several
    pages show, such as station_group, is registered in the section of the area that
    produces it; a second registration fails the import)."""
    if kind not in KINDS:
        raise ValueError(f"column {name!r}: kind {kind!r} is not one of {KINDS}")
    if name in glossary.GLOSSARY:  # one home: a measure's label and unit are the glossary's
        raise ValueError(f"column {name!r} is a measure of core/glossary.py: do not register "
                         "it in core/labels.py")
    if name in _COLUMNS:
        raise ValueError(f"column {name!r} is registered twice in core/labels.py")
    _COLUMNS[name] = Column(name, text, kind, help)


# --- warehouse columns (shared/schema.md) ------------------------------------------------
_c("containerid", N_("Container ID"))
_c("containername", N_("LOT ID"))
_c("lotid", N_("LOT ID"))
_c("originalcontainerid", N_("Original container ID"))
_c("splitfromid", N_("Split from"))
_c("finishedname", N_("Serial number"))
_c("finishedruncard", N_("Run card"))
_c("runcardlotid", N_("Run card LOT"))
_c("mfgordername", N_("WORKORDER"))
_c("workorder", N_("WORKORDER"))
_c("pj_workorder", N_("WORKORDER"))
_c("pj_type", N_("TYPE"))
_c("pj_function", N_("FUNCTION"))
_c("pj_bop", N_("BOP"))
_c("productname", N_("Product"))
_c("productlinename", N_("Package"))
_c("specname", N_("Spec"))
_c("workcentername", N_("Station"))
_c("work_center", N_("Station"))
_c("work_center_group", N_("Station group"))
_c("workflowname", N_("Workflow"))
_c("resourcename", N_("Machine"))
_c("equipmentname", N_("Machine"))
_c("resourcefamilyname", N_("Machine model"))
_c("materialpartname", N_("Material part"))
_c("materiallotname", N_("Material lot"))
_c("waferdesc", N_("Wafer LOT"))
_c("lossreasonname", N_("Loss reason"))
_c("reason_name", N_("Loss reason"))
_c("rejectcategoryname", N_("Reject category"))
_c("rejectcomment", N_("Reject comment"))
_c("holdreasonname", N_("Hold Reason"))
_c("holdcomments", N_("Hold comment"))
_c("futureholdcomments", N_("Future Hold comment"))
_c("status", N_("Status"))
_c("jobid", N_("Job ID"))
_c("jobstatus", N_("Job status"))
_c("description", N_("Description"))
_c("objecttype", N_("Object type"))
_c("qty", N_("Qty"), "qty")
_c("qtyconsumed", N_("Qty consumed"), "qty")
_c("moveinqty", N_("Move-in qty"), "qty")
_c("trackinqty", N_("Track-in qty"), "qty")
_c("trackoutqty", N_("Track-out qty"), "qty")
_c("defectqty", N_("Defect qty"), "qty")
_c("currentholdcount", N_("Holds"), "count")
_c("agebydays", N_("Days at station"), "days")
_c("txndate", N_("Transaction time"), "datetime")
_c("createdate", N_("Created"), "datetime")
_c("holdtxndate", N_("Hold time"), "datetime")
_c("releasetxndate", N_("Release time"), "datetime")
_c("trackintimestamp", N_("Track-in time"), "datetime")
_c("trackouttimestamp", N_("Track-out time"), "datetime")
_c("lottrackintime", N_("Track-in time"), "datetime")
_c("originalstartdate", N_("Start date"), "datetime")
_c("sys_date", N_("Data as of"), "datetime")

# --- trace -------------------------------------------------------------------------------
# lineage nodes and edges (core.trace), the machine seeds' lots, and the event domains'
# own columns (history, materials, rejects, holds, machine jobs) the Trace page lists;
# (the containment, reject and hold pages show many of them too)
_c("kind", N_("Kind"))
_c("depth", N_("Depth"), "count", N_("Genealogy steps from the nearest seed."))
_c("is_seed", N_("Seed"))
_c("firstname", N_("Wafer LOT (origin)"))
_c("parent_id", N_("Parent container ID"))
_c("child_id", N_("Child container ID"))
_c("edge_kind", N_("Link"))
_c("seed_machines", N_("Machines run on"))
_c("first_trackin", N_("First Track-in there"), "datetime")
_c("trackins", N_("Track-ins there"), "count")
_c("station_group", N_("Station group"))
_c("station_seq", N_("Station group order"), "count")
_c("equipmentid", N_("Machine ID"))
_c("historymainlineid", N_("History line ID"))
_c("specid", N_("Spec ID"))
_c("charged_qty", N_("Charged scrap"), "qty",
   N_("The five charged buckets summed (REJECTQTY, STANDBYQTY, QTYTOPROCESS, "
      "INPROCESSQTY, PROCESSEDQTY)."))
_c("defect_qty", N_("Uncharged defect"), "qty")
_c("reason_code", N_("Reason code"))
_c("hold_status", N_("Hold status"))
_c("hold_hours", N_("Hold duration (h)"), "hours")
_c("jobmodelname", N_("Job model"))
_c("jobordername", N_("Job order"))
_c("completedate", N_("Completed"), "datetime")
_c("causecodename", N_("Cause"))
_c("repaircodename", N_("Repair"))
_c("symptomcodename", N_("Symptom"))

# --- defect trace and containment --------------------------------------------------------
# (kind, depth, edge_kind, first_trackin, station_group and the job columns: the trace's
# entries; hold_reason, hold_type, days_at_station, wafer_lot: the hold pages')
_c("factor_kind", N_("Factor kind"))
_c("factor", N_("Factor"))
_c("detail", N_("Model / part"))
_c("tested", N_("Tested"))
_c("lift_note", N_("Lift note"))
_c("cumulative_pct", N_("Cumulative %"), "percent")
_c("reason", N_("Loss reason"))
_c("day", N_("Day"), "date")
_c("partial", N_("Partial day"))
_c("lot", N_("LOT ID"))
_c("work_order", N_("WORKORDER"))
_c("package", N_("Package"))
_c("detection_machine", N_("Detection machine"))
_c("detected_at", N_("Detected"), "datetime")
_c("upstream_machines", N_("Upstream machines"))
_c("materials", N_("Material lots"))
_c("passed_at", N_("Passed it"), "datetime")
_c("machine", N_("Machine"))
_c("descendants", N_("Descendants"), "count")
_c("stations_reached", N_("Later stations reached"), "count")
_c("worst_station", N_("Worst later station"))
_c("worst_station_rejects", N_("Its rejects there (pcs)"), "qty")
_c("role", N_("Role"))
_c("workcenter", N_("Station"))
_c("step", N_("Step"))
_c("qty_pcs", N_("Qty (pcs)"), "qty")
_c("on_hold", N_("On hold"))
_c("parent_lot", N_("Parent LOT"))
_c("parent_name", N_("Parent LOT"))
_c("serial", N_("Serial number"))
_c("state", N_("Now"))
_c("first_at", N_("Passed it"), "datetime")
_c("via", N_("Via"))
_c("events", N_("Passes"), "count")

# --- reject history ----------------------------------------------------------------------



_c("function", N_("FUNCTION"))
_c("type", N_("TYPE"))
_c("product", N_("Product"))
_c("comment", N_("Comment"))
_c("workflow", N_("Workflow"))
_c("rejectqty", N_("REJECTQTY"), "qty")
_c("standbyqty", N_("STANDBYQTY"), "qty")
_c("qtytoprocess", N_("QTYTOPROCESS"), "qty")
_c("inprocessqty", N_("INPROCESSQTY"), "qty")
_c("processedqty", N_("PROCESSEDQTY"), "qty")
_c("period_label", N_("Period"))
_c("coverage", N_("Coverage of the period"))

# --- WIP hold and hold history -----------------------------------------------------------
_c("hold_type", N_("Hold type"))
_c("hold_reason", N_("Hold Reason"))
_c("wafer_lot", N_("Wafer LOT"))
_c("days_at_station", N_("Days at station"), "days")
_c("days_at_station_bucket", N_("Days at station (range)"))
_c("holdemp", N_("Held by"))
_c("deptname", N_("Department"))
_c("holdempdeptname", N_("Department"))
_c("comment_hold", N_("Hold comment (snapshot)"))
_c("comment_future", N_("Future Hold comment (snapshot)"))
_c("hold_day", N_("Hold shift day"), "date")
_c("release_day", N_("Release shift day"), "date")
_c("duration_h", N_("Hold duration (h)"), "hours")
_c("duration_bucket", N_("Hold duration (range)"))
_c("is_open", N_("Still on hold"))
_c("releaseemp", N_("Released by"))
_c("releasecomments", N_("Release comment"))
_c("ncrid", N_("NCR ID"))
_c("source", N_("Source"))
_c("station", N_("Station"))
# hold history's trend and pareto columns (`mesdash hold-history` text)
_c("on_hold_end_qty", N_("On hold at end of shift day (pcs)"), "qty")
_c("new_qty", N_("New holds' qty (pcs)"), "qty")
_c("released_qty", N_("Released qty (pcs)"), "qty")
_c("count_cum_pct", N_("Cumulative % (count)"), "percent")
_c("qty_cum_pct", N_("Cumulative % (qty)"), "percent")
_c("period", N_("Period"))
_c("holds", N_("Holds"), "count")

# --- system ------------------------------------------------------------------------------
_c("setting", N_("Setting"))
_c("setting_value", N_("Value"))
_c("setting_default", N_("Default"))
_c("setting_allowed", N_("Allowed"))
_c("setting_env", N_("Environment variable"))
_c("what_it_protects", N_("What it protects"))
_c("job", N_("Job"))
_c("stage", N_("Stage"))
_c("seconds", N_("Run time (s)"), "number")
_c("age_s", N_("Age (s)"), "number")
_c("private", N_("Private"), help=N_("Over cache_max_ids: its session's own"))
_c("spool_mb", N_("Spool (MB)"), "number")
_c("memory_mb", N_("Memory (MB)"), "number",
   help=N_("What the finished result holds in memory (a reject-history load's slicer; "
           "reject_cache_mb bounds them)"))
_c("error", N_("Error"))


def column(name: str) -> Column | None:
    """The registered column ``name`` (None when it is neither here nor a measure)."""
    if name in _COLUMNS:
        return _COLUMNS[name]
    if name in glossary.GLOSSARY:
        m = glossary.GLOSSARY[name]
        kind = _MEASURE_KIND.get(name) or _UNIT_KIND.get(m.unit, "number")
        return Column(name, m.en, kind, m.definition)
    return None


def known(name: str) -> bool:
    return column(name) is not None


def label(name: str) -> str:
    """The column's label in the current language (a measure's with its unit); the raw
    name when the column is not registered (so the gap shows)."""
    if name in _COLUMNS:
        return _(_COLUMNS[name].text)
    if name in glossary.GLOSSARY:
        return glossary.label(name)
    return name


def kind(name: str) -> str:
    col = column(name)
    return col.kind if col else "text"


def help_text(name: str) -> str | None:
    """Hover help: a measure's definition and formula, or the column's own help."""
    if name in glossary.GLOSSARY and name not in _COLUMNS:
        return glossary.help_text(name)
    col = _COLUMNS.get(name)
    return _(col.help) if col and col.help else None


def headers(names: list[str], raw: bool = False) -> list[str]:
    """CSV headers: the labels (deduplicated with the raw name when two columns share a
    label), or the raw names for scripts (``raw``)."""
    if raw:
        return list(names)
    shown = [label(n) for n in names]
    seen: dict[str, int] = {}
    for text in shown:
        seen[text] = seen.get(text, 0) + 1
    return [f"{text} ({n})" if seen[text] > 1 else text for text, n in zip(shown, names,
                                                                            strict=True)]
