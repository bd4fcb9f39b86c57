"""Suspects: the factors behind a defect spike, ranked by evidence, in plain words.

The problem (issue 16): the factor table has lift and a Fisher p-value for every machine,
material lot and wafer lot the seeds touched (thousands of them), but sorted by defects a
machine every lot passes leads, and sorted by lift a 3-lot factor with p = 0.76 can rank
third. An engineer needs the few factors whose lots fail more than the rest, with how
sure we are.

The design:
- **Support first.** A factor is tested only when at least ``min_lots`` seed lots passed
  it and at least one did not (otherwise there is nothing to compare: lift undefined).
- **Multiple testing.** Thousands of factors are tested at once, so a small p is expected
  by chance somewhere. Each tested factor's one-sided Fisher p is adjusted to a
  Benjamini-Hochberg q (scipy.stats.false_discovery_control) over the tested set: the
  expected share of false findings among factors with a q this small.
- **Lift with its interval.** Lift = rate of exposed / rate of unexposed lots, each rate a
  ratio of sums over lots (defective pcs / input pcs). Pieces of one lot fail together,
  so a pcs-level (Poisson) interval would be far too narrow; the interval treats lots as
  the units: the variance of each ratio estimator by the delta method over its lots
  (from the per-lot sums Σd², Σd·n, Σn²), combined on the log scale (95 %: ±1.96 SE).
- **Ranking.** Tested factors with lift > 1 by q, then lift; factors not tested come after
  every tested one and never as a suspect.

Everything here is numpy over whole columns (no Python loop over factors) and returns
Arrow, so the factor table of the incident (~23K factors) ranks in milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import false_discovery_control

from core import fmt
from core.i18n import _

WEAK_Q = 0.2
"""A suspect's q from which its card says the evidence is weak (chance is a fair reading)."""
Z95 = 1.959963984540054
"""Two-sided 95 % normal quantile."""


def bh_qvalues(p: np.ndarray, tested: np.ndarray | None = None) -> np.ndarray:
    """Benjamini-Hochberg q-values of ``p`` over the ``tested`` entries (all by default);
    untested entries get NaN."""
    p = np.asarray(p, dtype=float)
    mask = np.ones(p.shape, bool) if tested is None else np.asarray(tested, bool)
    mask &= np.isfinite(p)
    q = np.full(p.shape, np.nan)
    if mask.any():
        q[mask] = false_discovery_control(np.clip(p[mask], 0.0, 1.0), method="bh")
    return q


def _ratio_log_var(d: np.ndarray, n: np.ndarray, sdd: np.ndarray, sdn: np.ndarray,
                   snn: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Var(log R) of R = Σd / Σn over ``m`` lots by the delta method (NaN where R = 0 or
    fewer than two lots): Var(R) = m/(m-1) · Σ(dᵢ - R·nᵢ)² / (Σn)²."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(n > 0, d / n, np.nan)
        resid = sdd - 2 * r * sdn + r * r * snn
        var_r = np.where(m > 1, m / (m - 1) * np.maximum(resid, 0.0) / (n * n), np.nan)
        return np.where(r > 0, var_r / (r * r), np.nan)


def lift_interval(
    *, exposed: dict[str, np.ndarray], totals: dict[str, float], z: float = Z95,
) -> tuple[np.ndarray, np.ndarray]:
    """95 % interval of each factor's lift, lots as the units (see the module docstring).

    ``exposed``: per factor arrays ``lots, input, defects, sdd, sdn, snn`` (sums over its
    exposed seed lots of 1, n, d, d², d·n, n²); ``totals``: the same six sums over all
    seed lots. The unexposed side is totals minus exposed. NaN where undefined (a rate of
    0 on either side, or fewer than two lots on a side)."""
    e = {k: np.asarray(v, dtype=float) for k, v in exposed.items()}
    u = {k: float(totals[k]) - e[k] for k in e}
    var = (_ratio_log_var(e["defects"], e["input"], e["sdd"], e["sdn"], e["snn"], e["lots"])
           + _ratio_log_var(u["defects"], u["input"], u["sdd"], u["sdn"], u["snn"], u["lots"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lift = np.log(e["defects"] / e["input"]) - np.log(u["defects"] / u["input"])
        half = z * np.sqrt(var)
        return np.exp(log_lift - half), np.exp(log_lift + half)


def assess(lots: np.ndarray, lift: np.ndarray, unbounded: np.ndarray, p: np.ndarray,
           defects: np.ndarray, *, min_lots: int, lift_low: np.ndarray | None = None,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per factor: tested (bool), q-value (NaN when not tested) and suspect rank (NaN when
    not a suspect; 1 = strongest). ``lift`` is NaN where undefined; ``unbounded`` marks a
    lift with no defect on the unexposed lots (the strongest contrast: ranked as infinite).
    Suspects: tested and lift > 1, by q, then the lift interval's lower end (how large the
    lift is at least: when almost every lot has some defect, lot-level q-values tie and
    the interval still tells the factors apart), then lift, then defects."""
    lots = np.asarray(lots, dtype=float)
    eff = np.where(np.asarray(unbounded, bool), np.inf, np.asarray(lift, dtype=float))
    low = (np.full(len(lots), np.nan) if lift_low is None
           else np.asarray(lift_low, dtype=float))
    low_key = np.where(np.isinf(eff), np.inf, np.where(np.isnan(low), -np.inf, low))
    tested = (lots >= min_lots) & ~np.isnan(eff)
    q = bh_qvalues(np.asarray(p, dtype=float), tested)
    suspect = tested & (eff > 1.0)
    n = int(suspect.sum())
    order = np.lexsort((-np.asarray(defects, dtype=float), -eff, -low_key,
                        np.where(suspect, q, np.inf)))
    ranks = np.full(len(lots), np.nan)
    ranks[order[:n]] = np.arange(1, n + 1)
    return tested, q, ranks


def rank(factors: pa.Table, *, min_lots: int) -> pa.Table:
    """The factor table with ``tested``, ``q_value`` and ``suspect_rank`` (1 = strongest;
    null for factors that are not suspects), sorted: suspects first by rank, then every
    other factor by lift (undefined last), defects."""
    lift = _floats(factors["lift"])
    notes = (factors["lift_note"].to_pylist() if "lift_note" in factors.column_names
             else [None] * factors.num_rows)
    unbounded = np.array([bool(n) and n.startswith("unbounded") for n in notes], bool)
    defects = _floats(factors["defects"])
    low = _floats(factors["lift_low"]) if "lift_low" in factors.column_names else None
    tested, q, ranks = assess(_floats(factors["lots"]), lift, unbounded,
                              _floats(factors["p_value"]), defects, min_lots=min_lots,
                              lift_low=low)
    eff = np.where(unbounded, np.inf, lift)
    lift_key = np.where(np.isnan(eff), np.inf, -eff)
    order = np.lexsort((-defects, lift_key, np.where(np.isnan(ranks), np.inf, ranks)))
    out = factors.append_column("tested", pa.array(tested))
    out = out.append_column("q_value", pa.array(q, pa.float64(), mask=~np.isfinite(q)))
    out = out.append_column("suspect_rank", pa.array(
        ranks, pa.float64(), mask=np.isnan(ranks)).cast(pa.int64()))
    return out.take(pa.array(order))


def _floats(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=float)


def top_suspects(ranked: pa.Table, n: int) -> list[dict[str, Any]]:
    """The first ``n`` suspects of a factor table with ``suspect_rank`` as dicts (JSON
    keys of `mesdash defects --json`'s ``suspects``)."""
    chosen = ranked.filter(ranked["suspect_rank"].is_valid())
    chosen = chosen.sort_by([("suspect_rank", "ascending")])
    rows = chosen.slice(0, n).to_pylist()
    return [{
        "kind": r["factor_kind"], "factor": r["factor"], "detail": r.get("detail") or None,
        "lots": r["lots"], "rate": r["rate"], "rate_unexposed": r["rate_unexposed"],
        "lift": r["lift"], "lift_low": r.get("lift_low"), "lift_high": r.get("lift_high"),
        "p_value": r["p_value"], "q_value": r["q_value"],
    } for r in rows]


# Which containment a suspect of each factor kind leads to (core.contain's suspect kinds).
CONTAIN_KINDS = {"machine": "machine", "detection_machine": "machine",
                 "material": "material_lot", "wafer": "wafer_lot"}


def containment_params(s: dict[str, Any], start: Any, end: Any) -> dict[str, str] | None:
    """The Containment page's link parameters for suspect ``s``: its machine with the
    analysis window, its material lot, or its wafer lot; None for an unknown name."""
    kind = CONTAIN_KINDS.get(s["kind"])
    name = str(s["factor"]).rpartition(" / ")[2]
    if kind is None or not name or name.startswith("("):  # "(unknown lot)" and the like
        return None
    params = {"kind": kind, "name": name}
    if kind == "machine" and start and end:
        params.update(start=str(start), end=str(end))
    return params


def _pct(x: float | None) -> str:
    return fmt.percent(None if x is None or not math.isfinite(x) else x * 100)


def _q(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return fmt.MISSING
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def describe_suspect(s: dict[str, Any], total_lots: int) -> str:
    """One suspect in plain words, in the current language: "DB-003 (焊接_DB, ASM AD838L):
    89 of 635 lots passed it; their defect rate 1.63% vs 0.40% for the rest, 4.1x (95 %:
    2.9-5.8x), q = 0.003". Plain text: the caller escapes it before rendering it as
    markdown."""
    where, _sep, name = str(s["factor"]).rpartition(" / ")  # "group / machine", "part / lot"
    context = [c for c in (where, s.get("detail")) if c]
    label = f"{name} ({', '.join(context)})" if context else name
    lift = s.get("lift")
    low, high = s.get("lift_low"), s.get("lift_high")
    interval = (_(" (95 %: {low}-{high}x)").format(low=f"{low:.1f}", high=f"{high:.1f}")
                if low is not None and high is not None
                and math.isfinite(low) and math.isfinite(high) else "")
    lift_text = (f"{lift:.1f}x" if lift is not None and math.isfinite(lift)
                 else _("no defect on the other lots") if s.get("rate_unexposed") == 0
                 else fmt.MISSING)
    q = s.get("q_value")
    weak = (_(" (weak evidence: q ≥ {weak} means chance could give as much)").format(
        weak=f"{WEAK_Q:g}") if q is not None and q >= WEAK_Q else "")
    return _("{label}: {lots} of {total} lots passed it; their defect rate {rate} vs "
             "{rest} for the rest, {lift}{interval}, q = {q}{weak}").format(
        label=label, lots=fmt.count(s["lots"]), total=fmt.count(total_lots),
        rate=_pct(s["rate"]), rest=_pct(s["rate_unexposed"]), lift=lift_text,
        interval=interval, q=_q(q), weak=weak)
