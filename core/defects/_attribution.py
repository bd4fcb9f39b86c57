"""Attribution: which upstream factor goes with more defects at the detection station.

The problem (shared/domain.md, "Defect trace"): attribution is not exclusive — a lot counts
for every machine, material lot and wafer it (or an ancestor) touched — so a machine that
every lot passes through tops a pareto by exposure alone. So besides each factor's input,
defects and defect rate over its exposed lots, we give its **lift**: the defect rate of
the exposed lots divided by the rate of the lots not exposed to it, and a **p-value**: the
one-sided Fisher exact test on lots (defective or not × exposed or not), i.e. how likely
at least this many defective lots among the exposed ones would be if exposure did not
matter (hypergeometric tail, computed for all factors at once: core.defects._hypergeom).

Lift is a number only where both rates are: with no unexposed seed lot (a machine every
lot passed) it is undefined, null with ``lift_note`` = LIFT_UNDEFINED, ranked after every
defined lift; when the unexposed lots had no defects but the exposed ones did it is
unbounded: null with LIFT_UNBOUNDED, ranked before every finite lift. Never inf or NaN,
so every table, JSON and CSV holds a number or null.

Inputs are Arrow tables, computed in an in-memory DuckDB:
- seeds: containerid, input (quantity that entered the detection step), charged,
  uncharged, defects (charged + uncharged of the chosen reasons at the station; the
  reason filter masks only this numerator);
- exposures: containerid (a seed), factor_kind, factor, detail — one row per seed and
  factor it was exposed to (duplicates are removed here).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.db import local_duckdb
from core.defects._hypergeom import fisher_one_sided
from core.defects._suspects import assess, lift_interval
from core.pareto import coverage_by_rank, cumulative, others_label

FACTOR_KINDS = ("machine", "material", "wafer", "detection_machine")
FACTOR_SCHEMA = pa.schema([
    ("factor_kind", pa.string()), ("factor", pa.string()), ("detail", pa.string()),
    ("lots", pa.int64()), ("defective_lots", pa.int64()), ("input", pa.int64()),
    ("defects", pa.int64()), ("charged", pa.int64()), ("uncharged", pa.int64()),
    ("rate", pa.float64()), ("rate_unexposed", pa.float64()),
    ("lift", pa.float64()), ("lift_low", pa.float64()), ("lift_high", pa.float64()),
    ("lift_note", pa.string()), ("p_value", pa.float64()), ("q_value", pa.float64()),
    ("tested", pa.bool_()), ("suspect_rank", pa.int64()),
])
LIFT_UNDEFINED = "undefined: no unexposed lots"
LIFT_NO_DEFECTS = "undefined: no defects on exposed or unexposed lots"
LIFT_UNBOUNDED = "unbounded: no defects on unexposed lots"


def factor_table(seeds: pa.Table, exposures: pa.Table, *, min_lots: int = 1) -> pa.Table:
    """One row per (factor_kind, factor) with exposure, rate, lift, p- and q-value."""
    con = local_duckdb()
    try:
        con.register("seeds", seeds)
        con.register("exposures", exposures)
        return factor_table_in(con, min_lots=min_lots)
    finally:
        con.close()


# Per-lot sums behind the lift interval (core.defects._suspects.lift_interval): lots as units.
_LOT_SUMS = ("coalesce(sum({s}defects::DOUBLE * {s}defects), 0) AS sdd, "
             "coalesce(sum({s}defects::DOUBLE * {s}input), 0) AS sdn, "
             "coalesce(sum({s}input::DOUBLE * {s}input), 0) AS snn")


def factor_table_in(con: duckdb.DuckDBPyConnection, *, unique: bool = False,
                    min_lots: int = 1) -> pa.Table:
    """The factor table from relations ``seeds`` and ``exposures`` already in ``con``
    (so a large exposure set never leaves DuckDB). ``unique``: exposures already hold
    each (seed, factor kind, factor) once, so the dedup pass is skipped. ``min_lots``:
    the support a factor needs to be tested as a suspect (core.defects._suspects)."""
    totals = con.execute(
        "SELECT count(*) AS lots, coalesce(sum(input), 0) AS input, "
        "coalesce(sum(defects), 0) AS defects, "
        "count(*) FILTER (WHERE defects > 0) AS defective_lots, "
        + _LOT_SUMS.format(s="") + " FROM seeds"
    ).fetchall()[0]
    n_lots, n_input, n_defects, n_defective = (int(x) for x in totals[:4])
    all_sums = {"lots": n_lots, "input": n_input, "defects": n_defects,
                "sdd": float(totals[4]), "sdn": float(totals[5]), "snn": float(totals[6])}
    grouped = con.sql(
        """
        WITH e AS (  -- one row per seed and factor; min(detail) per factor below
            {dedup}
        )
        SELECT e.factor_kind, e.factor, min(e.detail) AS detail,
               count(*)::BIGINT AS lots,
               (count(*) FILTER (WHERE s.defects > 0))::BIGINT AS defective_lots,
               coalesce(sum(s.input), 0)::BIGINT AS input,
               coalesce(sum(s.defects), 0)::BIGINT AS defects,
               coalesce(sum(s.charged), 0)::BIGINT AS charged,
               coalesce(sum(s.uncharged), 0)::BIGINT AS uncharged,
               {sums}
        FROM e JOIN seeds s USING (containerid)
        GROUP BY e.factor_kind, e.factor
        ORDER BY defects DESC, e.factor_kind, e.factor
        """.format(dedup="SELECT * FROM exposures" if unique else
                   "SELECT containerid, factor_kind, factor, min(detail) AS detail "
                   "FROM exposures GROUP BY ALL",
                   sums=_LOT_SUMS.format(s="s."))  # fixed text, no input in it
    ).to_arrow_table()
    if grouped.num_rows == 0:
        return FACTOR_SCHEMA.empty_table()
    lots = grouped["lots"].to_numpy()
    bad = grouped["defective_lots"].to_numpy()
    inp = grouped["input"].to_numpy().astype(float)
    dfx = grouped["defects"].to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(inp > 0, dfx / inp, 0.0)
        rest_in = n_input - inp
        has_rest = rest_in > 0
        rest_rate = np.where(has_rest, (n_defects - dfx) / np.where(has_rest, rest_in, 1), 0.0)
        defined = has_rest & (rest_rate > 0)
        lift = np.where(defined, rate / np.where(defined, rest_rate, 1.0), 0.0)
    note = np.where(~has_rest, LIFT_UNDEFINED,
                    np.where(defined, "", np.where(rate > 0, LIFT_UNBOUNDED, LIFT_NO_DEFECTS)))
    # P(X >= defective exposed lots), X ~ Hypergeom(all lots, defective lots, exposed lots)
    p = np.clip(fisher_one_sided(bad, lots, n_defective, n_lots), 0.0, 1.0)
    low, high = lift_interval(exposed={
        "lots": lots, "input": inp, "defects": dfx, "sdd": grouped["sdd"].to_numpy(),
        "sdn": grouped["sdn"].to_numpy(), "snn": grouped["snn"].to_numpy()}, totals=all_sums)
    ok = defined & np.isfinite(low) & np.isfinite(high)
    tested, q, ranks = assess(lots, np.where(defined, lift, np.nan),
                              note == LIFT_UNBOUNDED, p, dfx, min_lots=min_lots,
                              lift_low=np.where(ok, low, np.nan))
    return pa.table({
        "factor_kind": grouped["factor_kind"], "factor": grouped["factor"],
        "detail": grouped["detail"], "lots": grouped["lots"],
        "defective_lots": grouped["defective_lots"], "input": grouped["input"],
        "defects": grouped["defects"], "charged": grouped["charged"],
        "uncharged": grouped["uncharged"], "rate": pa.array(rate),
        "rate_unexposed": pa.array(rest_rate, mask=~has_rest),
        "lift": pa.array(lift, mask=~defined),
        "lift_low": pa.array(np.where(ok, low, 0.0), mask=~ok),
        "lift_high": pa.array(np.where(ok, high, 0.0), mask=~ok),
        "lift_note": pa.array(note, pa.string(), mask=defined),
        "p_value": pa.array(p),
        "q_value": pa.array(np.where(tested, q, 0.0), mask=~tested),
        "tested": pa.array(tested),
        "suspect_rank": pa.array(np.where(np.isnan(ranks), 0, ranks).astype(np.int64),
                                 mask=np.isnan(ranks)),
    }, schema=FACTOR_SCHEMA)


# How each sort ranks (fixed SQL text, never input). Lift: unbounded first, then defined
# lifts largest first, then undefined ones (domain.md: after every defined lift).
SORTS = {
    "evidence": "suspect_rank ASC NULLS LAST, q_value ASC NULLS LAST, p_value ASC",
    "defects": "defects DESC NULLS LAST",
    "rate": "rate DESC NULLS LAST",
    "lift": f"CASE WHEN lift_note = '{LIFT_UNBOUNDED}' THEN 0 WHEN lift IS NOT NULL THEN 1 "
            "ELSE 2 END, lift DESC NULLS LAST",
}


def ranked(factors: pa.Table, kind: str, by: str = "defects") -> pa.Table:
    """Every factor of one kind in the order of sort ``by`` (ties: defects, then name)."""
    if by not in SORTS:
        raise ValueError(f"sort by one of {', '.join(SORTS)}, not {by!r}")
    con = local_duckdb()
    try:
        con.register("f", factors)
        return con.sql(
            f"SELECT * FROM f WHERE factor_kind = $kind "
            f"ORDER BY {SORTS[by]}, defects DESC, factor",  # from the fixed SORTS map
            params={"kind": kind},
        ).to_arrow_table()
    finally:
        con.close()


def machine_facets(factors: pa.Table) -> tuple[list[str], list[str]]:
    """The station groups and machine models (details) of the machine factors, sorted."""
    m = factors.filter(pc.equal(factors["factor_kind"], "machine"))
    groups = sorted({f.partition(" / ")[0] for f in m["factor"].to_pylist() if " / " in f})
    models = sorted({d for d in m["detail"].to_pylist() if d})
    return groups, models


def only_machines(factors: pa.Table, groups: list[str] | tuple[str, ...] = (),
                  models: list[str] | tuple[str, ...] = ()) -> pa.Table:
    """The factor table with its machines narrowed to ``groups`` (station groups) and
    ``models`` (machine models); other kinds untouched; empty choices keep everything.
    Lift and q stay as computed over all factors (narrowing the view changes no number)."""
    keep = pc.not_equal(factors["factor_kind"], "machine")
    machine = pc.equal(factors["factor_kind"], "machine")
    ok = machine
    if groups:
        group = pa.array([f.partition(" / ")[0] for f in factors["factor"].to_pylist()])
        ok = pc.and_(ok, pc.is_in(group, value_set=pa.array(list(groups))))
    if models:
        ok = pc.and_(ok, pc.fill_null(pc.is_in(factors["detail"],
                                               value_set=pa.array(list(models))), False))
    return factors.filter(pc.or_(keep, ok))


def pareto(
    factors: pa.Table, kind: str, *, by: str = "defects", top: int = 10,
    exposures: pa.Table | str | None = None, seeds: pa.Table | None = None,
) -> pa.Table:
    """The pareto of one factor kind: the top N by defects, rate or lift, then 'others'.

    Attribution is not exclusive, so factors' defects overlap and cannot be summed. With
    ``exposures`` and ``seeds``, the cumulative line is therefore **coverage**: the share
    of all defective pcs on lots exposed to any of the factors so far (distinct lots),
    and 'others' is what the remaining factors add to it. Without them, 'others' only
    counts the remaining factors and the line is left empty."""
    order = ranked(factors, kind, by)
    con = local_duckdb()
    try:
        rows = order.slice(0, top).to_pylist()
        rest = order.num_rows - len(rows)
        coverage: dict[int, tuple[int, ...]] = {}  # rank: (lots, defects, input, ch, un)
        total_defects = 0
        if exposures is not None and seeds is not None and rows:
            con.register("seeds", seeds)
            if isinstance(exposures, pa.Table):
                con.register("exposures", exposures)
            else:
                con.read_parquet(str(exposures)).create_view("exposures")
            total_defects = int(con.execute(
                "SELECT coalesce(sum(defects), 0) FROM seeds").fetchall()[0][0])
            coverage = coverage_by_rank(
                con,
                "SELECT containerid AS lot, factor AS item FROM exposures "
                "WHERE factor_kind = $kind",
                "SELECT containerid AS lot, defects, input, charged, uncharged FROM seeds",
                [r["factor"] for r in rows], ("defects", "input", "charged", "uncharged"),
                {"kind": kind})
    finally:
        con.close()
    if rest > 0:
        add_n, add_d, add_i, add_c, add_u = coverage.get(len(rows) + 1, (0, 0, 0, 0, 0))
        rows.append({
            "factor_kind": kind, "factor": others_label(rest), "detail": "",
            "lots": add_n if coverage else None, "defective_lots": None,
            "input": add_i if coverage else None, "defects": add_d if coverage else None,
            "charged": add_c if coverage else None, "uncharged": add_u if coverage else None,
            "rate": (add_d / add_i if add_i else 0.0) if coverage else None,
            "rate_unexposed": None, "lift": None, "lift_note": None, "p_value": None,
        })
    line: list[float | None] = [None] * len(rows)
    if coverage and total_defects:
        added = [coverage.get(i, (0, 0))[1] for i in range(1, len(rows) + 1)]
        line = cumulative(added, total=total_defects)[1].tolist()
    for r, cum in zip(rows, line, strict=True):
        r["cumulative_pct"] = cum
    schema = FACTOR_SCHEMA.append(pa.field("cumulative_pct", pa.float64()))
    return pa.Table.from_pylist(rows, schema=schema)
