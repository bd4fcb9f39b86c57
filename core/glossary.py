"""Every measure the product shows, defined once: name, definition, formula, unit.

Why: a quality engineer put "defect rate 0.613 %" (defect trace) beside "defect rate
0.017 %" (reject history) for the same days: the same words for two different quantities.
Here each measure has one key (also its CLI JSON key where the CLI prints it), one label
per language, a definition and a formula. KPI labels, tooltips, chart axes, CSV headers and
the CLI's descriptions of its JSON keys are taken from this table; a measure that differs
gets a different key and a different name. ``tests/test_glossary.py`` fails when a page
shows a KPI label that is not here; README's glossary and the pages' help are rendered from
it (``markdown_table``).

Labels are given in English and 繁體中文 (the words of shared/terms-zh-TW.md), so the
translation work reuses them instead of translating the same measure twice.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGS = ("en", "zh-TW")


@dataclass(frozen=True)
class Measure:
    key: str
    en: str
    zh: str
    unit: str  # "pcs", "%", "lots", "work orders", "x", "h", "days", "" (a count of things)
    definition: str
    formula: str
    page: str  # where it is shown: "defects", "rejects", "holds", "trace"

    def label(self, lang: str = "en", unit: bool = True) -> str:
        name = self.zh if lang.startswith("zh") else self.en
        shown = _UNIT_LABEL.get(self.unit, self.unit)
        return f"{name} ({shown})" if unit and shown else name

    def help(self) -> str:
        return f"{self.definition} Formula: {self.formula}." if self.formula else self.definition


# Units shown after a label; counts of lots and plain numbers carry none.
_UNIT_LABEL = {"pcs": "pcs", "%": "%", "x": "", "h": "h", "days": "days", "lots": "",
               "work orders": "", "": ""}


def _m(key: str, en: str, zh: str, unit: str, definition: str, formula: str,
       page: str) -> Measure:
    return Measure(key, en, zh, unit, definition, formula, page)


_MEASURES: tuple[Measure, ...] = (
    # --- defect trace (detection station) --------------------------------------------
    _m("detection_lots", "Lots at detection", "偵測 LOT 數", "lots",
       "Lots whose latest pass through the detection station fell in the range (each is a "
       "seed, defective or not).", "count of seed lots", "defects"),
    _m("defective_lots", "Defective lots", "不良 LOT 數", "lots",
       "Seed lots with at least one defect at the detection station.",
       "count of seed lots with defects > 0", "defects"),
    _m("clean_lots", "Lots without defects", "無不良 LOT 數", "lots",
       "Seed lots with no defect at the detection station (they count in every rate's "
       "denominator).", "count of seed lots with defects = 0", "defects"),
    _m("detection_input", "Detection input", "偵測站投入數", "pcs",
       "Quantity that entered the detection step: per lot the largest trackinqty of the "
       "rows of that track-in (partial track-outs repeat the track-in with what is left).",
       "sum over seed lots of max(trackinqty) of the track-in", "defects"),
    _m("detection_charged", "Charged defects", "扣帳不良數", "pcs",
       "Charged scrap of the selected loss reasons booked at the detection station.",
       "rejectqty + standbyqty + qtytoprocess + inprocessqty + processedqty", "defects"),
    _m("detection_uncharged", "Uncharged defects", "不扣帳不良數", "pcs",
       "Uncharged defect quantity (defectqty) of the selected loss reasons booked at the "
       "detection station.", "defectqty", "defects"),
    _m("detection_defects", "Defects at detection", "不良數", "pcs",
       "Charged plus uncharged defects of the selected loss reasons at the detection "
       "station, as the factory's defect report counts them.",
       "charged defects + uncharged defects", "defects"),
    _m("detection_defect_rate_pct", "Defect rate at detection", "偵測站不良率", "%",
       "Defects at detection per piece that entered the detection step.",
       "defects at detection / detection input × 100", "defects"),
    _m("exposed_lots", "Exposed lots", "經過 LOT 數", "lots",
       "Seed lots that touched the factor (themselves or an ancestor, before the detection "
       "station).", "count of exposed seed lots", "defects"),
    _m("rate_exposed_pct", "Defect rate, exposed lots", "經過批次不良率", "%",
       "Defects at detection of the exposed seed lots per piece of their detection input.",
       "sum(defects) / sum(detection input) over exposed lots × 100", "defects"),
    _m("rate_unexposed_pct", "Defect rate, other lots", "其餘批次不良率", "%",
       "The same rate over the seed lots that did not touch the factor (null when every "
       "seed lot touched it).",
       "sum(defects) / sum(detection input) over unexposed lots × 100", "defects"),
    _m("lift", "Lift", "倍數 (Lift)", "x",
       "How many times the exposed lots' defect rate is the other lots' rate; undefined "
       "(shown as –, null in data, ranked after every defined lift) when every seed lot "
       "was exposed; unbounded (shown as ∞, null in data with lift_note, ranked first) "
       "when the other lots had no defects.",
       "rate exposed / rate unexposed", "defects"),
    _m("p_value", "p-value", "p 值", "",
       "One-sided Fisher exact test on lots (defective or not × exposed or not): the chance "
       "of at least this many defective exposed lots if the factor made no difference.",
       "hypergeometric upper tail", "defects"),
    _m("affected_machines", "Upstream machines", "上游關聯機台", "",
       "Machines the defective seed lots or their ancestors passed before the detection "
       "station.", "count of distinct machines", "defects"),
    _m("top_reason", "Top reason", "首要報廢原因", "",
       "The loss reason with the most defects (charged + uncharged) at the detection "
       "station.", "", "defects"),
    _m("downstream_rejects", "Downstream rejects", "下游報廢量", "pcs",
       "Charged scrap booked on the defective lots' descendants at stations after the "
       "detection station.", "sum of charged scrap of the descendants", "defects"),
    _m("downstream_rate_pct", "Downstream reject rate", "下游報廢率", "%",
       "A later station's rejects of the descendants per piece those descendants brought "
       "into that station (their own track-in there).",
       "station rejects / descendants' track-in qty at that station × 100", "defects"),
    _m("downstream_input", "Descendants' input at station", "下游投入數", "pcs",
       "Quantity the defective lots' descendants brought into a later station: per "
       "track-in there the largest trackinqty of its rows.",
       "sum over the descendants' track-ins of max(trackinqty)", "defects"),
    _m("downstream_uncharged", "Downstream uncharged defects", "下游不扣帳報廢量", "pcs",
       "Uncharged defect (defectqty) booked on the defective lots' descendants at stations "
       "after the detection station, apart from the charged rejects.",
       "sum of defectqty of the descendants", "defects"),
    _m("defective_input", "Input of defective lots", "不良批次投入數", "pcs",
       "Detection input of the seed lots with defects (the lots a forward trace follows).",
       "sum of detection input over defective seed lots", "defects"),
    _m("unattributed_rows", "Rows not attributed", "無法歸屬筆數", "",
       "Event rows (history, materials, downstream rejects) booked at a workcenter the "
       "station map does not know: whether they come before or after the detection "
       "station cannot be told, so they count for no factor. A missing machine name or "
       "material lot does not make a row unattributed (it counts as unknown).",
       "count of rows with an unmapped workcenter", "defects"),
    # --- reject history ----------------------------------------------------------------
    _m("movein", "Move-in", "投入數", "pcs",
       "Pieces moved into the steps where the counted reject records were booked, each "
       "reject event once (event = historymainlineid, else lot + time to the second + step; "
       "its move-in is repeated on every reason row). In a pareto, each event once per item.",
       "sum over distinct events of the event's moveinqty", "rejects"),
    _m("event_movein", "Move-in of the event", "事件投入數", "pcs",
       "The move-in of the reject event a record belongs to, repeated on each of its "
       "records (detail rows): sum it once per event, never per row.",
       "moveinqty of the record's event", "rejects"),
    _m("charged", "Charged scrap", "扣帳報廢量", "pcs",
       "The five charged buckets of the counted reject records summed, nulls as 0.",
       "rejectqty + standbyqty + qtytoprocess + inprocessqty + processedqty", "rejects"),
    _m("defect", "Uncharged defect", "不扣帳報廢量", "pcs",
       "defectqty of the counted reject records, reported apart and never added to "
       "charged scrap.", "sum of defectqty", "rejects"),
    _m("total", "Total scrap", "總報廢量", "pcs",
       "Charged scrap plus uncharged defect of the counted reject records.",
       "charged + uncharged", "rejects"),
    _m("charged_share_pct", "Charged share", "扣帳占比", "%",
       "Charged scrap as a share of charged scrap plus uncharged defect (0 when both are 0).",
       "charged / (charged + uncharged) × 100", "rejects"),
    _m("reject_rate_pct", "Reject rate", "報廢率", "%",
       "Charged scrap per piece moved in (0 when move-in is 0).",
       "charged scrap / move-in × 100", "rejects"),
    _m("defect_rate_pct", "Uncharged defect rate", "不扣帳不良率", "%",
       "Uncharged defect (defectqty) per piece moved in, 0 when move-in is 0; not the "
       "defect trace's rate at detection, which counts charged and uncharged defects per "
       "piece entering the detection step.", "uncharged defect / move-in × 100", "rejects"),
    _m("lots", "Affected lots", "受影響 LOT", "lots",
       "Distinct lots (containers) with a counted reject record in the filtered set.",
       "count distinct containerid", "rejects"),
    _m("workorders", "Affected work orders", "受影響工單", "work orders",
       "Distinct work orders with a counted reject record in the filtered set (the "
       "record's own work order, else its lot's).", "count distinct work order", "rejects"),
    _m("share_pct", "Share", "占比", "%",
       "An item's part of the pareto's total of the chosen measure (charged scrap or "
       "uncharged defect), over the items with more than 0.", "item / total × 100",
       "rejects"),
    _m("cum_pct", "Cumulative", "累積", "%",
       "Running share of the pareto's items, largest first (the last reaches 100).",
       "running sum of share", "rejects"),
    # --- WIP hold ---------------------------------------------------------------------
    _m("hold_lots_live", "Lots on hold (live snapshot)", "ON HOLD LOT (即時)", "lots",
       "Lots on hold in the live WIP snapshot (dw_mes_lot_v), the authoritative source for "
       "now.", "count of lots with currentholdcount > 0", "holds"),
    _m("hold_qty_live", "Qty on hold (live snapshot)", "ON HOLD 數量 (即時)", "pcs",
       "Pieces of the lots on hold, each lot counted once even with two open holds.",
       "sum of qty over distinct held lots", "holds"),
    _m("avg_days_at_station", "Avg days at station", "平均當站滯留", "days",
       "Average days the held lots have been at their current step (agebydays; not the "
       "hold's duration).", "mean(agebydays)", "holds"),
    _m("max_days_at_station", "Max days at station", "最久當站滯留", "days",
       "Longest days at the current step among the held lots.", "max(agebydays)", "holds"),
    _m("station_groups", "Station groups affected", "受影響站點群組", "",
       "Station groups holding at least one held lot.", "count distinct station group",
       "holds"),
    _m("on_hold_now_history", "On hold now (hold history)", "ON HOLD (Hold 紀錄)", "lots",
       "Lots with an open hold (no release) in the hold history; may differ from the live "
       "snapshot, and the page lists the lots that differ.",
       "count distinct lots with releasetxndate null", "holds"),
    _m("new_holds", "New holds", "新增", "lots",
       "Holds put on in the range (the latest hold per lot a shift day).",
       "count of new holds", "holds"),
    _m("released", "Released", "Release", "lots", "Holds released in the range.",
       "count of releases", "holds"),
    _m("net_change", "Net change", "累計淨變動", "lots", "New holds minus releases.",
       "new holds − releases", "holds"),
    _m("future_holds", "Future holds", "Future Hold", "lots",
       "Future holds set in the range; a repeat of the same lot and reason counts once.",
       "count distinct (lot, reason)", "holds"),
    _m("released_avg_h", "Avg hold duration, released", "平均 Hold 時長 (已 Release)", "h",
       "Average time from hold to release of the holds released in the range.",
       "mean(release − hold)", "holds"),
    _m("released_max_h", "Max hold duration, released", "最長 Hold 時長 (已 Release)", "h",
       "Longest time from hold to release of the holds released in the range.",
       "max(release − hold)", "holds"),
    _m("open_avg_h", "Avg age of open holds", "未 Release 平均時長", "h",
       "Average time since hold of the holds still open at the range's end.",
       "mean(end − hold)", "holds"),
    _m("open_max_h", "Max age of open holds", "未 Release 最長時長", "h",
       "Longest time since hold of the holds still open at the range's end.",
       "max(end − hold)", "holds"),
    # --- trace --------------------------------------------------------------------------
    _m("seed_containers", "Seed containers", "起始批次", "",
       "Containers the typed values matched.", "", "trace"),
    _m("containers", "Containers", "批次數", "",
       "Containers in the lineage (seeds, ancestors or descendants).", "", "trace"),
    _m("edges", "Edges", "關聯數", "", "Genealogy links (split, merge, rework, wafer origin).",
       "", "trace"),
    _m("roots", "Roots", "根批次", "", "Containers with no parent in the lineage.", "",
       "trace"),
    _m("levels", "Levels", "層數", "",
       "Genealogy steps walked from the seeds (one round of batched queries each, the last "
       "finding nothing new); the graph's generations count from the roots instead.",
       "", "trace"),
)

GLOSSARY: dict[str, Measure] = {m.key: m for m in _MEASURES}


def measure(key: str) -> Measure:
    """The measure named ``key`` (KeyError names the missing key: add it here)."""
    try:
        return GLOSSARY[key]
    except KeyError:
        raise KeyError(f"{key!r} is not in core/glossary.py: define the measure there") from None


def label(key: str, lang: str = "en", unit: bool = True) -> str:
    """The measure's label, with its unit unless ``unit`` is False."""
    return measure(key).label(lang, unit)


def help_text(key: str) -> str:
    return measure(key).help()


def labels(lang: str = "en") -> set[str]:
    """Every label a page may show for a measure (with and without unit)."""
    out: set[str] = set()
    for m in _MEASURES:
        out.add(m.label(lang, True))
        out.add(m.label(lang, False))
    return out


def markdown_table(page: str | None = None, lang: str = "en") -> str:
    """The glossary as a markdown table (README, page help, ``mesdash glossary``)."""
    rows = ["| measure | 名稱 | key | unit | definition | formula |",
            "|---|---|---|---|---|---|"]
    for m in _MEASURES:
        if page and m.page != page:
            continue
        rows.append(f"| {m.en} | {m.zh} | `{m.key}` | {m.unit or '–'} | {m.definition} | "
                    f"{m.formula or '–'} |")
    return "\n".join(rows)
