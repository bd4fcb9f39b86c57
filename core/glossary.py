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

from core import i18n

LANGS = ("en", "zh-TW")


@dataclass(frozen=True)
class Measure:
    key: str
    en: str
    zh: str
    unit: str  # "pcs", "%", "lots", "work orders", "holds", "x", "h", "days", "" (a count)
    definition: str
    formula: str
    page: str  # where it is shown: "defects", "rejects", "holds", "trace", "contain"

    def label(self, lang: str | None = None, unit: bool = True) -> str:
        """The label in ``lang`` (default: the current language, core.i18n)."""
        lang = lang or i18n.current()
        name = self.zh if lang.startswith("zh") else self.en
        shown = _UNIT_LABEL.get(self.unit, self.unit)
        shown = i18n._(shown) if shown else shown
        return f"{name} ({shown})" if unit and shown else name

    def help(self) -> str:
        """Definition and formula in the current language (both are catalog messages:
        core.i18n.extract adds every measure's definition and formula)."""
        definition = i18n._(self.definition)
        if not self.formula:
            return definition
        return i18n._("{definition} Formula: {formula}.").format(
            definition=definition, formula=i18n._(self.formula))


# Units shown after a label; counts of lots and plain numbers carry none.
_UNIT_LABEL = {"pcs": i18n.N_("pcs"), "%": "%", "x": "", "h": i18n.N_("h"),
               "days": i18n.N_("days"), "lots": "", "holds": "",
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
    _m("q_value", "q-value", "q 值", "",
       "The p-value adjusted for the number of factors tested at once (Benjamini-Hochberg): "
       "among factors with a q this small, about this share are expected to be chance "
       "findings. Only factors with at least suspect_min_lots lots and some unexposed lots "
       "are tested.", "BH(p) over the tested factors", "defects"),
    _m("lift_low", "Lift, 95 % low", "倍數 95% 下限", "x",
       "Lower end of the lift's 95 % interval, lots as the units (pieces of one lot fail "
       "together): the lift is at least about this large.",
       "exp(log lift − 1.96·SE), SE by the delta method over lots", "defects"),
    _m("lift_high", "Lift, 95 % high", "倍數 95% 上限", "x",
       "Upper end of the lift's 95 % interval, lots as the units.",
       "exp(log lift + 1.96·SE)", "defects"),
    _m("suspect_rank", "Suspect rank", "嫌疑排名", "",
       "Order of the suspects: tested factors whose lots fail more than the rest (lift > 1), "
       "by q, then the lift's 95 % low end, then lift.", "", "defects"),
    _m("affected_machines", "Upstream machines", "上游關聯機台", "",
       "Machines the defective seed lots or their ancestors passed before the detection "
       "station.", "count of distinct machines", "defects"),
    _m("top_reason", "Top reason", "首要報廢原因", "",
       "The loss reason with the most defects (charged + uncharged) at the detection "
       "station.", "", "defects"),
    _m("downstream_rejects", "Downstream rejects", "下游報廢量", "pcs",
       "Charged scrap booked on the defective lots' descendants at stations after the "
       "detection station.", "sum of charged scrap of the descendants", "defects"),
    _m("amplification", "Downstream defects per detection defect", "下游不良放大倍數", "x",
       "Charged and uncharged scrap booked on the defective lots' descendants at later "
       "stations, per piece of defect found at the detection station: above 1, the "
       "defect keeps costing after detection.",
       "(downstream rejects + downstream uncharged) / defects at detection of the "
       "defective lots", "defects"),
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
       "WIP lots on hold in the live snapshot (dw_mes_lot_v, the authoritative source for "
       "now): not running on a machine, currentholdcount > 0, with a work order (raw "
       "material is not WIP); DUMMY lots hidden. Each lot once.",
       "count distinct lots with equipmentcount = 0 and currentholdcount > 0", "holds"),
    _m("hold_qty_live", "Qty on hold (live snapshot)", "ON HOLD 數量 (即時)", "pcs",
       "Pieces of the lots on hold in the live snapshot, each lot counted once even with "
       "two open holds.", "sum of qty over distinct held lots", "holds"),
    _m("wip_run_lots", "RUN lots", "RUN LOT", "lots",
       "WIP lots running on a machine in the live snapshot (equipmentcount > 0).",
       "count of WIP lots with equipmentcount > 0", "holds"),
    _m("wip_queue_lots", "QUEUE lots", "QUEUE LOT", "lots",
       "WIP lots neither on a machine nor on hold in the live snapshot.",
       "count of WIP lots with equipmentcount = 0 and currentholdcount = 0", "holds"),
    _m("wip_hold_quality_lots", "HOLD quality lots", "品質異常 HOLD LOT", "lots",
       "Held WIP lots (live snapshot) whose hold reason is not on the non-quality list "
       "(a null reason is a quality hold).", "count of held lots with a quality reason",
       "holds"),
    _m("wip_hold_non_quality_lots", "HOLD non-quality lots", "非品質異常 HOLD LOT", "lots",
       "Held WIP lots (live snapshot) whose hold reason is on the non-quality list "
       "(setting non_quality_hold_reasons).", "count of held lots with a non-quality reason",
       "holds"),
    _m("avg_days_at_station", "Avg days at station", "平均當站滯留", "days",
       "Average days the held lots have waited at their current step (agebydays). Not "
       "hold duration: a lot held an hour ago may have waited days at its step.",
       "mean(agebydays) over held lots", "holds"),
    _m("max_days_at_station", "Max days at station", "最久當站滯留", "days",
       "Longest wait at the current step (agebydays) among the held lots; not hold "
       "duration.", "max(agebydays) over held lots", "holds"),
    _m("station_groups", "Station groups affected", "受影響站點群組", "",
       "Station groups holding at least one held lot (live snapshot).",
       "count distinct station group of held lots", "holds"),
    _m("on_hold_now_history", "On hold now (hold history)", "ON HOLD (Hold 紀錄)", "lots",
       "Lots with a hold in dw_mes_holdreleasehistory not released at the as-of time (the "
       "live snapshot's time, or the range's end when earlier); a lot with two open holds "
       "counts once. May differ from the live snapshot: the page lists the lots that differ.",
       "count distinct lots with hold < as_of and (no release or release ≥ as_of)", "holds"),
    _m("hold_qty_history", "Qty on hold now (hold history)", "ON HOLD 數量 (Hold 紀錄)", "pcs",
       "Pieces of the lots on hold now in the hold history, each lot once (the qty of its "
       "latest open hold).", "sum over open lots of the latest open hold's qty", "holds"),
    _m("on_hold_end", "On hold at end of shift day", "班別日結束 ON HOLD", "lots",
       "Lots on hold at the end of a shift day (at the as-of time for a day in progress), "
       "each lot once; for a week or month, at the end of its last day in the range.",
       "count distinct lots with hold < day end and (no release or release ≥ day end)",
       "holds"),
    _m("new_holds", "New holds", "新增", "lots",
       "Lots held on a shift day, each lot once a day (its latest hold that day, with that "
       "hold's qty). Over a range, week or month the days are summed: a lot held on two "
       "days counts twice.", "sum over shift days of count distinct lots held that day",
       "holds"),
    _m("released", "Released", "Release", "holds",
       "Hold releases on a shift day, before the as-of time: release events, not lots (a "
       "lot released from two holds counts twice). Over a range the days are summed.",
       "count of holds whose release falls in the shift day", "holds"),
    _m("net_change", "Net change", "累計淨變動", "",
       "New holds (lots a day) minus releases (holds) over the range.",
       "new holds − released", "holds"),
    _m("future_holds", "Future holds", "Future Hold", "lots",
       "Holds placed on a shift day that carry a future-hold comment; a repeat of the same "
       "lot and reason that day counts once. Over a week or month the days are summed.",
       "count distinct (lot, reason) per shift day", "holds"),
    _m("released_avg_h", "Avg hold duration, released", "平均 Hold 時長 (已 Release)", "h",
       "Average time from hold to release of the holds released in the range (before the "
       "as-of time).", "mean(release − hold)", "holds"),
    _m("released_max_h", "Max hold duration, released", "最長 Hold 時長 (已 Release)", "h",
       "Longest time from hold to release of the holds released in the range.",
       "max(release − hold)", "holds"),
    _m("open_avg_h", "Avg age of open holds", "未 Release 平均時長", "h",
       "Average time from hold to the as-of time of the holds still open then (their hold "
       "duration so far; not days at station).", "mean(as_of − hold)", "holds"),
    _m("open_max_h", "Max age of open holds", "未 Release 最長時長", "h",
       "Longest time from hold to the as-of time among the holds still open then.",
       "max(as_of − hold)", "holds"),
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
    # --- containment (mesdash contain) ----------------------------------------------
    _m("contain_exposed_lots", "Lots exposed to the suspect", "可疑來源經過 LOT 數", "lots",
       "Lots that met the suspect: tracked in on the machine in the window, consumed the "
       "material lot, or came from the wafer lot (the wafer lot itself not counted).",
       "count distinct exposed lots", "contain"),
    _m("contain_descendant_lots", "Descendant lots", "下游子批次數", "lots",
       "Containers reached forward from the exposed lots through splits, merges, rework "
       "and wafer cuts (the exposed lots themselves not counted).",
       "count of lineage containers that are not exposed lots", "contain"),
    _m("contain_serials", "Serial numbers reached", "涉及成品流水號", "",
       "Distinct serial numbers (finishedname) of the combined lots among the exposed lots "
       "and their descendants; a serial merged from several lots counts once.",
       "count distinct finishedname", "contain"),
    _m("contain_wip_lots", "Lots still in WIP", "仍在 WIP 的 LOT", "lots",
       "Exposed lots and descendants in the live snapshot (dw_mes_lot_v) with a work "
       "order: what can still be held.", "count of contained lots in the snapshot",
       "contain"),
    _m("contain_wip_qty", "Qty still in WIP", "仍在 WIP 數量", "pcs",
       "Pieces of the contained lots still in WIP, from the live snapshot.",
       "sum of snapshot qty", "contain"),
    _m("contain_held_lots", "Lots already on hold", "已 HOLD LOT", "lots",
       "Contained lots in WIP with currentholdcount > 0 in the live snapshot.",
       "count of contained WIP lots on hold", "contain"),
    _m("contain_held_qty", "Qty already on hold", "已 HOLD 數量", "pcs",
       "Pieces of the contained lots already on hold (live snapshot).",
       "sum of snapshot qty of held lots", "contain"),
    _m("contain_not_held_lots", "Lots still to hold", "待 HOLD LOT", "lots",
       "Contained lots in WIP not on hold yet.", "lots still in WIP − lots already on hold",
       "contain"),
    _m("contain_finished_lots", "Finished lots", "已完成 LOT", "lots",
       "Contained lots that left WIP as finished: a combined lot finished under a serial, or "
       "a lot that passed the flow's last station group (finished goods); shipped or not, "
       "the warehouse does not say.", "count of state FINISHED", "contain"),
    _m("contain_merged_lots", "Merged lots", "已併批 LOT", "lots",
       "Contained lots that left WIP by being merged into a combined lot.",
       "count of state MERGED", "contain"),
    _m("contain_split_lots", "Split lots", "已拆批 LOT", "lots",
       "Contained lots that left WIP after being split or reworked into child lots.",
       "count of state SPLIT", "contain"),
    _m("contain_left_wip_lots", "Lots out of WIP, otherwise", "其他離開 WIP 的 LOT", "lots",
       "Contained lots out of WIP that are neither finished, merged nor split (scrapped, or "
       "gone without a trace in the data).", "count of state LEFT_WIP", "contain"),
)

GLOSSARY: dict[str, Measure] = {m.key: m for m in _MEASURES}


def measure(key: str) -> Measure:
    """The measure named ``key`` (KeyError names the missing key: add it here)."""
    try:
        return GLOSSARY[key]
    except KeyError:
        raise KeyError(f"{key!r} is not in core/glossary.py: define the measure there") from None


def label(key: str, lang: str | None = None, unit: bool = True) -> str:
    """The measure's label in ``lang`` (default: the current language), with its unit
    unless ``unit`` is False."""
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


def page_table(page: str, lang: str | None = None) -> str:
    """A page's measures as a markdown table in ``lang`` (default: the current language):
    label, JSON key, definition and formula (the pages' "Measures on this page")."""
    zh = (lang or i18n.current()).startswith("zh")
    head = (i18n._("Measure"), "key", i18n._("Definition"), i18n._("Formula"))
    rows = ["| " + " | ".join(head) + " |", "|---|---|---|---|"]
    for m in _MEASURES:
        if m.page != page:
            continue
        definition = i18n.translations(lang or i18n.current()).gettext(m.definition)
        formula = (i18n.translations(lang or i18n.current()).gettext(m.formula)
                   if m.formula else "–")
        name = m.label("zh-TW" if zh else "en")
        rows.append(f"| {name} | `{m.key}` | {definition} | {formula} |")
    return "\n".join(rows)


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
