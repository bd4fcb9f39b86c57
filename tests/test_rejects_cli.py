"""`mesdash rejects` on the tiny demo: JSON output agrees with core; bad input exits 1."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.cli import main
from core.rejects._load import load_range
from core.rejects._measures import Filters
from core.rejects._policy import Policy
from core.rejects._slicer import Slicer


def test_json_matches_core(duckdb_lanes: object, demo_duckdb_url: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["rejects", "--db", demo_duckdb_url, "--start", "2026-10-01", "--end",
            "2026-11-19", "--json", "--grain", "week"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    sl = Slicer(load_range(duckdb_lanes, date(2026, 10, 1), date(2026, 11, 19)).table)
    assert out["kpis"] == sl.kpis(Policy(), Filters())
    first = out["reason_pareto"][0]
    assert set(first) == {"reason", "charged", "defect", "share_pct", "cum_pct"}
    assert out["reason_pareto"][-1]["cum_pct"] == pytest.approx(100)
    assert out["trend"] and out["trend"][0]["period"].startswith("2026-W")


def test_csv_has_bom(demo_duckdb_url: str, tmp_path: object) -> None:
    target = tmp_path / "r.csv"  # type: ignore[operator]
    assert main(["rejects", "--db", demo_duckdb_url, "--start", "2026-10-01", "--end",
                 "2026-11-19", "--include-excluded", "--csv", str(target)]) == 0
    assert target.read_bytes().startswith("\ufeffTransaction time,LOT ID".encode())
    assert main(["rejects", "--db", demo_duckdb_url, "--start", "2026-10-01", "--end",
                 "2026-11-19", "--csv", str(target), "--raw-headers"]) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbftxndate,lot,workorder")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", "2026-10-10", "--end", "2026-10-01"], "before the start"),
        (["--start", "2026-10-xx", "--end", "2026-10-01"], "is not a date"),
        (["--start", "2024-10-01", "--end", "2026-10-01"], "longest allowed"),
        (["--start", "2026-10-01", "--end", "2026-11-19", "--package", "NOPE"],
         "Unknown package"),
    ],
)
def test_bad_input_exits_1(demo_duckdb_url: str, capsys: pytest.CaptureFixture[str],
                           extra: list[str], message: str) -> None:
    assert main(["rejects", "--db", demo_duckdb_url, *extra]) == 1
    assert message in capsys.readouterr().err


# --- --by: the pareto of any dimension, on the hand-built data of test_rejects_rules ------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from core.rejects._workflow import UNKNOWN  # noqa: E402
from tests.test_rejects_rules import _fill  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["duckdb", "postgresql"])
def hand_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(url, schema) of the hand-built reject data on each backend."""
    if request.param == "duckdb":
        import sqlalchemy as sa

        from core.db._engines import make_engine

        url = f"duckdb:///{tmp_path / 'hand.duckdb'}"
        engine = make_engine(url, pool=None, read_only=False)
        with engine.begin() as c:
            c.execute(sa.text("CREATE SCHEMA IF NOT EXISTS dwh"))
        engine.dispose()
        _fill(url, "dwh")
        return url, "dwh"
    url, name = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    _fill(url, name)
    return url, name


def _mesdash(db: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(MES_SECRETS_FILE="/nonexistent", MES_SCHEMA=db[1])
    return subprocess.run([sys.executable, "-m", "core.cli", "rejects", "--db", db[0], *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def _rows(items: list[dict[str, object]], dim: str) -> list[tuple[object, ...]]:
    return [(r[dim], r["charged"], r["defect"], r["share_pct"], r["cum_pct"]) for r in items]


def test_by_machine_counts_a_machine_list_for_its_first_machine(
    hand_db: tuple[str, str],
) -> None:
    done = _mesdash(hand_db, "--start", "2026-03-01", "--end", "2026-03-02", "--by",
                    "machine", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["pareto_by"], out["pareto_measure"]) == ("machine", "charged")
    # TM-02: E3 45 + 12 (defect 8); DB-01: E1 15 + 20 (defect 3); TM-01: E6 8 and E2's 4,
    # booked on "TM-01,TM-02" (counted for TM-01 only). Charged 104 in all.
    assert _rows(out["pareto"], "machine") == [
        ("TM-02", 57, 8, round(57 / 104 * 100, 4), round(57 / 104 * 100, 4)),
        ("DB-01", 35, 3, round(35 / 104 * 100, 4), round(92 / 104 * 100, 4)),
        ("TM-01", 12, 0, round(12 / 104 * 100, 4), 100.0),
    ]
    assert "first listed machine" in out["pareto_note"]
    # the earlier keys stay as they were
    assert [r["reason"] for r in out["reason_pareto"]][:2] == ["001_CRACK", "275_SHORT"]
    assert out["kpis"]["charged"] == 104 and out["kpis"]["movein"] == 4400
    assert [(t["period"], t["charged"], t["partial"]) for t in out["trend"]] == [
        ("2026-03-01", 39, False), ("2026-03-02", 65, False)]
    text = _mesdash(hand_db, "--start", "2026-03-01", "--end", "2026-03-02", "--by",
                    "machine", "--grain", "month")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "Machine pareto by charged scrap (3 items)" in lines
    head = next(i for i, line in enumerate(lines) if "Cumulative (%)" in line)
    assert lines[head].split()[:1] == ["Machine"]
    assert [line.split() for line in lines[head + 1:head + 4]] == [
        ["TM-02", "57", "8", "54.81", "54.81"], ["DB-01", "35", "3", "33.65", "88.46"],
        ["TM-01", "12", "0", "11.54", "100.00"]]
    assert "partial months in the range: 2026-03 2 of 31 days" in text.stdout


def test_by_workflow_known_none_and_unknown(hand_db: tuple[str, str]) -> None:
    done = _mesdash(hand_db, "--start", "2026-03-01", "--end", "2026-03-06", "--by",
                    "workflow", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # WF-B: LOT-B1 57; WF-A: LOT-A1 47; (none): DUP-1 in WIP without a workflow, 34
    assert _rows(out["pareto"], "workflow") == [
        ("WF-B", 57, 8, round(57 / 138 * 100, 4), round(57 / 138 * 100, 4)),
        ("WF-A", 47, 3, round(47 / 138 * 100, 4), round(104 / 138 * 100, 4)),
        ("(none)", 34, 0, round(34 / 138 * 100, 4), 100.0),
    ]
    assert out["workflow_as_of"] == "2026-03-07 06:00:00"
    assert "dw_mes_lot_v.workflowname" in out["pareto_note"]
    # LOT_PB (chosen, so counted) has left WIP: unknown
    pb = _mesdash(hand_db, "--start", "2026-03-01", "--end", "2026-03-06", "--by",
                  "workflow", "--package", "PB_SMA", "--json")
    assert pb.returncode == 0, pb.stderr
    assert _rows(json.loads(pb.stdout)["pareto"], "workflow") == [(UNKNOWN, 50, 0, 100.0,
                                                                    100.0)]
    text = _mesdash(hand_db, "--start", "2026-03-01", "--end", "2026-03-06", "--by",
                    "workflow", "--package", "PB_SMA")
    assert text.returncode == 0 and f"{UNKNOWN}" in text.stdout
    assert "WIP snapshot as of 2026-03-07 06:00:00" in text.stdout
