"""The analysis summary in plain words: conditions, data scope, method, and what
attribution means — so a reader of a shared link or an exported table knows what the
numbers are and are not. It is markdown: every value from the request or the data is
escaped (core.text.md_escape); the CLI prints it through core.text.plain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.text import md_escape, md_join

if TYPE_CHECKING:  # pragma: no cover
    from core.defects._defect_job import DefectResult


def describe(result: DefectResult) -> str:
    r = result.request
    k = result.kpis
    station = md_escape(r.station)  # every value from the request or the data is escaped
    reasons = md_join(r.reasons) if r.reasons else "all loss reasons"
    filters = []
    if r.types:
        filters.append(f"product type {md_join(r.types)}")
    if r.packages:
        filters.append(f"package {md_join(r.packages)}")
    if r.lots:
        filters.append(f"{len(r.lots)} chosen lots")
    scope = result.scope
    if r.seed_values:
        when = f" between {r.start} and {r.end}" if r.start else ""
        unmatched = len(getattr(result, "unmatched", ()) or ())
        seeds_text = (
            f"the {len(r.seed_values)} listed {r.seed_kind.replace('_', ' ')}s"
            + (f" ({unmatched} matched nothing)" if unmatched else "")
            + f", each at its latest pass there{when}"
        )
    else:
        seeds_text = f"lots whose latest pass there was between {r.start} and {r.end}"
    lines = [
        f"**Conditions.** Detection station {station}, {seeds_text}"
        + (f", restricted to {'; '.join(filters)}" if filters else "")
        + f". Defects counted as the factory's defect report counts them: charged scrap "
        f"(reject, standby, to-process, in-process and processed quantities) plus "
        f"uncharged defect (defectqty) of {reasons} booked at {station}"
        + (" in the range" if r.start else "") + "; both parts are shown apart. Input: "
        "the quantity that entered the detection step, the largest trackinqty of the "
        "lot's track-in (a partial track-out's later rows carry only what was left). "
        "Direction: " + r.direction + ".",
        f"**Data scope.** {k['detection_lots']:,} lots ({k['defective_lots']:,} with "
        f"defects), input {k['detection_input']:,} pcs, {k['detection_defects']:,} "
        f"defective pcs ({k['detection_charged']:,} charged + "
        f"{k['detection_uncharged']:,} uncharged; {k['detection_defect_rate_pct']:.3f} %)."
        + (f" The lineage reached {scope['containers']:,} containers."
           if "containers" in scope else "")
        + (f" {scope['queries']:,} queries were sent." if "queries" in scope else ""),
    ]
    unattributed = int(k.get("unattributed_rows") or 0)
    if unattributed:
        lines.append(
            f"**Not attributed.** {unattributed:,} event rows were booked at workcenters "
            "the station map does not know, so whether they are upstream (or downstream) "
            "of the detection station cannot be told; they count for no factor.")
    if r.direction == "backward":
        lines.append(
            "**Method.** Every lot that passed the station is a seed, defective or not, so "
            "clean lots count in the denominator. A seed is exposed to a machine or a "
            "material lot when it or any of its ancestors (splits, merges, rework, wafer "
            "origin) used it at a station group before the detection station. For each "
            "factor: input and defects are sums over its exposed seeds, rate = defects / "
            "input; lift = rate of exposed lots ÷ rate of the lots not exposed (undefined, "
            "shown as –, when no lot was unexposed; ∞ when the unexposed lots had no "
            "defects); p-value = one-sided Fisher exact test on lots (defective or not × "
            "exposed or not). A missing key drops no exposure: a consumption without a "
            "material lot counts under its part as an unknown lot."
        )
        lines.append(
            "**What attribution means.** It is not exclusive: a lot counts for every "
            "factor it touched, so a machine every lot passes through tops a ranking by "
            "defects through exposure alone. Rank by lift (with a small p-value) to find "
            "factors whose lots fail more than the others. Correlation, not proof: confirm "
            "with the machine's maintenance jobs and the lots themselves."
        )
    else:
        lines.append(
            "**Method.** From the defective detection lots, their descendants (splits, "
            "merges, serials) are followed forward; their rejects at station groups after "
            "the detection station are summed per station, machine and reason. A "
            "station's rate = its rejects of those descendants ÷ the quantity they brought "
            "into that station (their own track-ins there, the largest trackinqty of each), "
            "not the detection input; a machine's over the track-ins on it, a reason's over "
            "the stations where it was booked."
        )
    analysis = result.completeness.get("analysis") or {}
    if analysis.get("status") not in (None, "complete"):  # derived: names its inputs
        lines.append(f"**Incomplete data.** The analysis is {md_escape(analysis['status'])}: "
                     f"{md_escape(analysis.get('reason'))}.")
    return "\n\n".join(lines)
