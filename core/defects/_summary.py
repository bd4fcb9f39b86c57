"""The analysis summary in plain words: conditions, data scope, method, and what
attribution means — so a reader of a shared link or an exported table knows what the
numbers are and are not. It is markdown: every value from the request or the data is
escaped (core.text.md_escape); the CLI prints it through core.text.plain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import fmt
from core.i18n import _
from core.text import md_escape, md_join

if TYPE_CHECKING:  # pragma: no cover
    from core.defects._defect_job import DefectResult


def describe(result: DefectResult) -> str:
    """The summary in the current language (the CLI's and a job's: English; the page
    builds it again in the reader's)."""
    r = result.request
    k = result.kpis
    station = md_escape(r.station)  # every value from the request or the data is escaped
    reasons = md_join(r.reasons) if r.reasons else _("all loss reasons")
    filters = []
    if r.types:
        filters.append(_("product type {types}").format(types=md_join(r.types)))
    if r.packages:
        filters.append(_("package {packages}").format(packages=md_join(r.packages)))
    if r.lots:
        filters.append(_("{n} chosen lots").format(n=len(r.lots)))
    scope = result.scope
    kinds = {"lot": _("lots"), "work_order": _("work orders"), "wafer_lot": _("wafer lots")}
    if r.seed_values:
        when = (_(" between {start} and {end}").format(start=r.start, end=r.end)
                if r.start else "")
        unmatched = len(getattr(result, "unmatched", ()) or ())
        seeds_text = (
            _("the {n} listed {kind}").format(n=len(r.seed_values),
                                              kind=kinds.get(r.seed_kind, r.seed_kind))
            + (_(" ({n} matched nothing)").format(n=unmatched) if unmatched else "")
            + _(", each at its latest pass there{when}").format(when=when)
        )
    else:
        seeds_text = _("lots whose latest pass there was between {start} and {end}").format(
            start=r.start, end=r.end)
    direction = _("backward") if r.direction == "backward" else _("forward")
    lines = [
        _("**Conditions.** Detection station {station}, {seeds}").format(
            station=station, seeds=seeds_text)
        + (_(", restricted to {filters}").format(filters="; ".join(filters))
           if filters else "")
        + _(". Defects counted as the factory's defect report counts them: charged scrap "
            "(reject, standby, to-process, in-process and processed quantities) plus "
            "uncharged defect (defectqty) of {reasons} booked at {station}").format(
            reasons=reasons, station=station)
        + (_(" in the range") if r.start else "")
        + _("; both parts are shown apart. Input: the quantity that entered the detection "
            "step, the largest trackinqty of the lot's track-in (a partial track-out's "
            "later rows carry only what was left). Direction: {direction}.").format(
            direction=direction),
        _("**Data scope.** {lots} lots ({defective} with defects), input {input} pcs, "
          "{defects} defective pcs ({charged} charged + {uncharged} uncharged; {rate}).").format(
            lots=fmt.count(k["detection_lots"]), defective=fmt.count(k["defective_lots"]),
            input=fmt.count(k["detection_input"]), defects=fmt.count(k["detection_defects"]),
            charged=fmt.count(k["detection_charged"]),
            uncharged=fmt.count(k["detection_uncharged"]),
            rate=fmt.percent(k["detection_defect_rate_pct"], 3))
        + (" " + _("The lineage reached {n} containers.").format(
            n=fmt.count(scope["containers"])) if "containers" in scope else "")
        + (" " + _("{n} queries were sent.").format(n=fmt.count(scope["queries"]))
           if "queries" in scope else ""),
    ]
    unattributed = int(k.get("unattributed_rows") or 0)
    if unattributed:
        lines.append(_(
            "**Not attributed.** {n} event rows were booked at workcenters the station map "
            "does not know, so whether they are upstream (or downstream) of the detection "
            "station cannot be told; they count for no factor.").format(
            n=fmt.count(unattributed)))
    if r.direction == "backward":
        lines.append(_(
            "**Method.** Every lot that passed the station is a seed, defective or not, so "
            "clean lots count in the denominator. A seed is exposed to a machine or a "
            "material lot when it or any of its ancestors (splits, merges, rework, wafer "
            "origin) used it at a station group before the detection station. For each "
            "factor: input and defects are sums over its exposed seeds, rate = defects / "
            "input; lift = rate of exposed lots ÷ rate of the lots not exposed (undefined, "
            "shown as –, when no lot was unexposed; ∞ when the unexposed lots had no "
            "defects); p-value = one-sided Fisher exact test on lots (defective or not × "
            "exposed or not). A missing key drops no exposure: a consumption without a "
            "material lot counts under its part as an unknown lot."))
        lines.append(_(
            "**What attribution means.** It is not exclusive: a lot counts for every "
            "factor it touched, so a machine every lot passes through tops a ranking by "
            "defects through exposure alone. Rank by lift (with a small p-value) to find "
            "factors whose lots fail more than the others. Correlation, not proof: confirm "
            "with the machine's maintenance jobs and the lots themselves."))
    else:
        lines.append(_(
            "**Method.** From the defective detection lots, their descendants (splits, "
            "merges, serials) are followed forward; their rejects at station groups after "
            "the detection station are summed per station, machine and reason. A "
            "station's rate = its rejects of those descendants ÷ the quantity they brought "
            "into that station (their own track-ins there, the largest trackinqty of each), "
            "not the detection input; a machine's over the track-ins on it, a reason's over "
            "the stations where it was booked."))
    analysis = result.completeness.get("analysis") or {}
    if analysis.get("status") not in (None, "complete"):  # derived: names its inputs
        lines.append(_("**Incomplete data.** The analysis is {status}: {reason}.").format(
            status=md_escape(analysis["status"]), reason=md_escape(analysis.get("reason"))))
    return "\n\n".join(lines)
