"""Suspects (core/defects/_suspects.py): q-values, the lift interval and the ranking rule.

Hand-computed BH q-values; a lift interval whose coverage is checked by simulation on
clustered lots (pieces of one lot fail together, so an interval that treats pieces as
independent covers far less than 95 %); rankings where a machine every lot passed or a
factor with three lots would lead a naive sort.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from core.defects._suspects import bh_qvalues, describe_suspect, lift_interval, rank, top_suspects


def test_bh_qvalues_by_hand() -> None:
    # sorted p: 0.01, 0.03, 0.04, 0.20 (m = 4): p·m/rank = 0.04, 0.06, 0.0533, 0.20,
    # then the running minimum from the top: 0.04, 0.0533, 0.0533, 0.20
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, 0.2]))
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_bh_counts_only_the_tested_factors() -> None:
    p = np.array([0.01, 0.04, 0.5, 0.9])
    q = bh_qvalues(p, np.array([True, True, False, False]))
    assert q[:2] == pytest.approx([0.02, 0.04])  # m = 2, not 4
    assert np.isnan(q[2:]).all()


def _sums(d: np.ndarray, n: np.ndarray) -> dict[str, float]:
    return {"lots": len(d), "input": n.sum(), "defects": d.sum(), "sdd": (d * d).sum(),
            "sdn": (d * n).sum(), "snn": (n * n).sum()}


def test_lift_interval_covers_the_true_lift_with_clustered_lots() -> None:
    """Lots of 1000 pcs; each lot's defect probability varies (beta-distributed), exposed
    lots fail twice as often: the true lift is 2. The interval must cover it in about 95 %
    of repetitions; a pieces-as-units interval covers it far less often."""
    rng = np.random.default_rng(3)
    covered = naive_covered = 0
    runs = 300
    for _ in range(runs):
        n_e, n_u = np.full(60, 1000.0), np.full(240, 1000.0)
        d_e = rng.binomial(1000, rng.beta(0.5, 0.5 / 0.02 - 0.5, 60) * 2).astype(float)
        d_u = rng.binomial(1000, rng.beta(0.5, 0.5 / 0.02 - 0.5, 240)).astype(float)
        e = _sums(d_e, n_e)
        totals = {k: e[k] + v for k, v in _sums(d_u, n_u).items()}
        low, high = lift_interval(exposed={k: np.array([v]) for k, v in e.items()},
                                  totals=totals)
        covered += bool(low[0] <= 2.0 <= high[0])
        lift = (d_e.sum() / n_e.sum()) / (d_u.sum() / n_u.sum())
        half = 1.96 * np.sqrt(1 / d_e.sum() + 1 / d_u.sum())  # pieces as units (Poisson)
        naive_covered += bool(lift * np.exp(-half) <= 2.0 <= lift * np.exp(half))
    assert 0.90 <= covered / runs <= 0.99, covered / runs
    assert naive_covered / runs < 0.6, naive_covered / runs


def test_lift_interval_undefined_without_defects_on_a_side() -> None:
    e = {"lots": np.array([5.0]), "input": np.array([500.0]), "defects": np.array([0.0]),
         "sdd": np.array([0.0]), "sdn": np.array([0.0]), "snn": np.array([50000.0])}
    totals = {"lots": 10, "input": 1000, "defects": 7, "sdd": 25, "sdn": 700,
              "snn": 100000}
    low, high = lift_interval(exposed=e, totals=totals)
    assert np.isnan(low[0]) and np.isnan(high[0])


def _factors(rows: list[tuple[str, int, int, float, float, float | None]]) -> pa.Table:
    """(factor, lots, defects, rate, rate_unexposed, lift); p from a fixed table."""
    p_of = {"planted": 1e-6, "everyone": 1e-9, "tiny": 0.001, "plain": 0.4, "good": 0.99}
    return pa.table({
        "factor_kind": ["machine"] * len(rows),
        "factor": [r[0] for r in rows], "detail": ["焊接_DB"] * len(rows),
        "lots": [r[1] for r in rows], "defective_lots": [0] * len(rows),
        "input": [r[1] * 1000 for r in rows], "defects": [r[2] for r in rows],
        "rate": [r[3] for r in rows], "rate_unexposed": [r[4] for r in rows],
        "lift": pa.array([r[5] for r in rows], pa.float64()),
        "p_value": [p_of[r[0]] for r in rows],
    })


def test_ranking_puts_the_planted_machine_first() -> None:
    factors = _factors([
        ("everyone", 635, 4000, 0.0063, None, None),  # every lot passed: lift undefined
        ("tiny", 3, 90, 0.03, 0.006, 5.0),            # big lift, three lots
        ("plain", 200, 1300, 0.0065, 0.0062, 1.05),
        ("planted", 89, 1450, 0.0163, 0.0040, 4.1),
        ("good", 150, 300, 0.002, 0.0075, 0.27),
    ])
    ranked = rank(factors, min_lots=10)
    order = ranked["factor"].to_pylist()
    assert order[0] == "planted"
    assert ranked["suspect_rank"].to_pylist()[:2] == [1, 2]  # planted, then plain
    assert order[1] == "plain"
    # no undefined lift and no three-lot factor becomes a suspect, whatever their p
    by_name = {r["factor"]: r for r in ranked.to_pylist()}
    assert by_name["everyone"]["suspect_rank"] is None and not by_name["everyone"]["tested"]
    assert by_name["tiny"]["suspect_rank"] is None and by_name["tiny"]["q_value"] is None
    assert by_name["good"]["suspect_rank"] is None  # tested, but lift below 1
    assert by_name["good"]["tested"]
    # the undefined lift comes after every defined one
    assert order[-1] == "everyone"
    # q over the three tested factors (planted, plain, good)
    q = bh_qvalues(np.array([1e-6, 0.4, 0.99]))
    assert by_name["planted"]["q_value"] == pytest.approx(q[0])
    assert by_name["plain"]["q_value"] == pytest.approx(q[1])


def test_top_suspects_and_their_words() -> None:
    ranked = rank(_factors([("planted", 89, 1450, 0.0163, 0.0040, 4.1),
                            ("everyone", 635, 4000, 0.0063, None, None)]), min_lots=10)
    tops = top_suspects(ranked, 5)
    assert [t["factor"] for t in tops] == ["planted"]
    assert set(tops[0]) == {"kind", "factor", "detail", "lots", "rate", "rate_unexposed",
                            "lift", "lift_low", "lift_high", "p_value", "q_value"}
    text = describe_suspect({**tops[0], "lift_low": 2.9, "lift_high": 5.8}, 635)
    assert text == ("planted (焊接_DB): 89 of 635 lots passed it; their defect rate 1.63% "
                    "vs 0.40% for the rest, 4.1x (95 %: 2.9-5.8x), q = 1.0e-06")


def test_factor_table_ranks_suspects_from_lots() -> None:
    """Seeds and exposures by hand: M_ALL was passed by every lot and has the most defects
    (lift undefined), M_BAD by 12 lots that fail three times as often, M_TINY by 2 lots
    with a high rate. Only M_BAD is a suspect; its q is BH over the tested factors."""
    from core.defects._attribution import factor_table

    ids = [f"L{i:02d}" for i in range(40)]
    bad = set(ids[:12])
    tiny = {ids[20], ids[21]}
    defects = [30 if c in bad else 90 if c in tiny else 10 for c in ids]
    seeds = pa.table({"containerid": ids, "input": [1000] * 40, "defects": defects,
                      "charged": defects, "uncharged": [0] * 40})
    rows = [(c, "machine", "M_ALL", "") for c in ids]
    rows += [(c, "machine", "M_BAD", "") for c in sorted(bad)]
    rows += [(c, "machine", "M_TINY", "") for c in sorted(tiny)]
    rows += [(c, "machine", "M_OK", "") for c in ids[12:32]]
    exposures = pa.table({k: [r[i] for r in rows] for i, k in enumerate(
        ("containerid", "factor_kind", "factor", "detail"))})
    # every lot has a defect: lot-level Fisher p is 1 for all, so the lift interval ranks
    factors = {r["factor"]: r for r in factor_table(seeds, exposures,
                                                    min_lots=10).to_pylist()}
    assert factors["M_ALL"]["lift"] is None and not factors["M_ALL"]["tested"]
    assert factors["M_ALL"]["suspect_rank"] is None
    assert factors["M_TINY"]["lots"] == 2 and factors["M_TINY"]["tested"] is False
    assert factors["M_BAD"]["suspect_rank"] == 1
    assert factors["M_BAD"]["lift"] == pytest.approx(30 / ((10 * 26 + 180) / 28))
    low, high = factors["M_BAD"]["lift_low"], factors["M_BAD"]["lift_high"]
    assert low < factors["M_BAD"]["lift"] < high
    tested = [f for f in factors.values() if f["tested"]]
    q = bh_qvalues(np.array([f["p_value"] for f in tested]))
    assert [f["q_value"] for f in tested] == pytest.approx(list(q))


def test_with_min_lots_a_tiny_factor_is_not_tested(tmp_path: object) -> None:
    from core.db._local import local_duckdb
    from core.defects._attribution import factor_table_in

    ids = [f"L{i:02d}" for i in range(20)]
    seeds = pa.table({"containerid": ids, "input": [1000] * 20,
                      "defects": [90, 90] + [0] * 18, "charged": [90, 90] + [0] * 18,
                      "uncharged": [0] * 20})
    exposures = pa.table({"containerid": ids[:2] + ids, "factor_kind": ["machine"] * 22,
                          "factor": ["M_TINY"] * 2 + ["M_ALL"] * 20, "detail": [""] * 22})
    con = local_duckdb()
    con.register("seeds", seeds)
    con.register("exposures", exposures)
    for min_lots, tested in ((10, False), (2, True)):
        f = {r["factor"]: r for r in factor_table_in(con, min_lots=min_lots).to_pylist()}
        assert f["M_TINY"]["tested"] is tested
        assert (f["M_TINY"]["suspect_rank"] == 1) is tested
    con.close()


def test_the_planted_machine_is_the_first_suspect_on_the_demo_factory(
    tmp_path: object,
) -> None:
    """The first-run demo (small scale) over its last 30 days with default settings: the
    planted die-bond machine DB-003 leads, ahead of a machine every lot passes."""
    from pathlib import Path

    from core.config import load_settings
    from core.db import open_lanes
    from core.defects._request import DefectRequest
    from core.demo import build_demo
    from tests.test_defects_run import run_job

    url = f"duckdb:///{Path(str(tmp_path)) / 'small.duckdb'}"
    build_demo(url, scale="small", seed=7, anchor=__import__("datetime").date(2026, 11, 20))
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=url,
                             spool_dir=str(Path(str(tmp_path)) / "spool"))
    lanes = open_lanes(settings)
    try:
        req = DefectRequest.build(settings, station="TMTT", start="2026-10-21",
                                  end="2026-11-19")
        suspects = run_job(lanes, req).backward.suspects(5)
    finally:
        lanes.close()
    assert suspects[0]["factor"].endswith("DB-003"), suspects
    assert suspects[0]["lift_low"] > 1 and suspects[0]["q_value"] < 0.2


def test_exposures_carry_when_a_lot_passed_the_factor(tmp_path: object) -> None:
    """The suspect window is built from the time each seed's line passed the machine: the
    hand-built defects factory's M1 (through a split from P1) is dated by its history."""
    from pathlib import Path

    from core.db import open_lanes
    from core.defects._defect_job import run_defect_analysis
    from core.defects._request import DefectRequest
    from core.jobs import JobManager
    from tests import defects_factory
    from tests.conftest import make_settings

    path = Path(str(tmp_path)) / "f.duckdb"
    url = f"duckdb:///{path}"
    defects_factory.build(url)
    settings = make_settings(url, spool_dir=str(Path(str(tmp_path)) / "sp"))
    lanes = open_lanes(settings)
    manager = JobManager(settings)  # kept open: the exposures live in the job's spool
    try:
        req = DefectRequest.build(settings, station="TMTT", start="2026-06-01",
                                  end="2026-06-30")
        job = manager.submit(req.key(), lambda j: run_defect_analysis(j, lanes, req,
                                                                      settings), label="d")
        assert job.wait(120) and job.state == "done", job.error
        back = job.result.backward
        lots = back.exposed_lots("machine", "焊接_DB / M1")
        assert len(lots) == 2 and lots["when"].notna().all()
        rates, _ = back.suspect_window("machine", "焊接_DB / M1")
        assert int(rates["lots"].sum()) == 2
        assert int(rates["defects"].sum()) == 65
    finally:
        manager.close()
        lanes.close()


def test_a_card_says_when_the_evidence_is_weak() -> None:
    s = {"factor": "焊接_WB / WB-005", "detail": "K&S", "lots": 80, "rate": 0.0141,
         "rate_unexposed": 0.005, "lift": 2.8, "lift_low": 2.3, "lift_high": 3.5,
         "q_value": 0.998}
    assert describe_suspect(s, 634).endswith(
        "q = 0.998 (weak evidence: q ≥ 0.2 means chance could give as much)")
    assert "weak" not in describe_suspect({**s, "q_value": 0.04}, 634)


def test_machines_narrow_by_station_group_and_model_and_keep_their_numbers() -> None:
    from core.defects import machine_facets, only_machines

    factors = pa.table({
        "factor_kind": ["machine", "machine", "machine", "material"],
        "factor": ["焊接_DB / DB-003", "焊接_DB / OV-002", "焊接_WB / WB-005", "LF / LF-1"],
        "detail": ["ASM AD838L", None, "K&S", "焊接_DB"],
        "lift": [4.1, 1.5, 2.8, 1.1]})
    assert machine_facets(factors) == (["焊接_DB", "焊接_WB"], ["ASM AD838L", "K&S"])
    assert only_machines(factors, ["焊接_DB"])["factor"].to_pylist() == [
        "焊接_DB / DB-003", "焊接_DB / OV-002", "LF / LF-1"]
    assert only_machines(factors, (), ["K&S"])["factor"].to_pylist() == [
        "焊接_WB / WB-005", "LF / LF-1"]
    assert only_machines(factors)["lift"].to_pylist() == [4.1, 1.5, 2.8, 1.1]
