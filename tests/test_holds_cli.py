"""`mesdash holds` and `mesdash hold-history` end to end on the tiny demo (subprocess):
JSON that agrees with core, text output, and bad input as exit code 1 without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mesdash(url: str, *args: str, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(MES_SECRETS_FILE="/nonexistent", MES_DB_URL=url)
    if tmp is not None:
        env["MES_SPOOL_DIR"] = str(tmp)
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_holds_json_and_text(demo_duckdb_url: str) -> None:
    res = mesdash(demo_duckdb_url, "holds", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["snapshot"].startswith("2026-11-20")
    lots = out["kpis"]["lots"]
    assert lots == out["wip"]["HOLD"]["lots"] > 0
    # the matrix counts qty by default (the factory's report), lots on request
    assert out["matrix_measure"] == out["matrix"]["measure"] == "qty"
    assert out["matrix"]["values"][-1][-1] == out["kpis"]["qty"]  # grand total
    by_lots = json.loads(mesdash(demo_duckdb_url, "holds", "--matrix", "lots", "--json").stdout)
    assert by_lots["matrix"]["measure"] == "lots"
    assert by_lots["matrix"]["values"][-1][-1] == lots
    assert sum(r["lots"] for r in out["reason_pareto"]) == lots
    q = json.loads(mesdash(demo_duckdb_url, "holds", "--type", "quality", "--json").stdout)
    assert q["kpis"]["lots"] == out["wip"]["HOLD"]["quality"]["lots"]
    text = mesdash(demo_duckdb_url, "holds")
    assert text.returncode == 0 and "station group x package (qty, pcs)" in text.stdout
    assert "live snapshot" in text.stdout
    text = mesdash(demo_duckdb_url, "holds", "--matrix", "lots")
    assert "station group x package (lots)" in text.stdout


def test_hold_history_json(demo_duckdb_url: str, tmp_path: Path) -> None:
    res = mesdash(demo_duckdb_url, "hold-history", "--start", "2026-10-01", "--end",
                  "2026-11-21", "--json", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    k = out["kpis"]
    assert k["net_change"] == k["new"] - k["released"]
    assert sum(d["new"] for d in out["trend"]) == k["new"]
    assert sum(d["released"] for d in out["trend"]) == k["released"]
    assert sum(b["holds"] for b in out["duration_buckets"] if b["kind"] == "released") == (
        k["released"])
    src = out["on_hold_now_sources"]  # the demo's two sources agree
    assert src["comparable"] and src["live"]["lots"] == src["history"]["lots"] == (
        k["on_hold_now"])
    assert src["differing_lots"] == [] and src["history"]["qty"] == k["on_hold_now_qty"]
    assert [d["partial"] for d in out["trend"]] == [False] * 51 + [True]  # 11-21 from 08:00
    text = mesdash(demo_duckdb_url, "hold-history", tmp=tmp_path)
    assert text.returncode == 0 and "per shift day" in text.stdout


def test_hold_history_json_lists_the_differing_lots(tmp_path: Path) -> None:
    from tests.test_holds_core import _fill_rec

    url = f"duckdb:///{tmp_path / 'rec.duckdb'}"
    _fill_rec(url, "dwh")
    res = mesdash(url, "hold-history", "--start", "2026-03-04", "--end", "2026-03-05",
                  "--grain", "week", "--json", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    src = out["on_hold_now_sources"]
    assert (src["live"]["source"], src["live"]["lots"]) == ("live snapshot", 3)
    assert (src["history"]["source"], src["history"]["lots"]) == ("hold history", 3)
    assert [(d["lot"], d["source"], d["reason"], d["station"], d["qty"])
            for d in src["differing_lots"]] == [
        ("L3", "hold history", "SBL Limit(PE)", "TMTT", 50),
        ("L4", "live snapshot", "YieldLimit", "TMTT", 70)]
    assert out["grain"] == "week" and [d["partial"] for d in out["trend"]] == [True]
    text = mesdash(url, "hold-history", "--start", "2026-03-04", "--end", "2026-03-05",
                   tmp=tmp_path)
    assert "2 lot(s) differ: 1 only in the live snapshot, 1 only in the hold history" in (
        text.stdout)


def test_bad_input_exit_1(demo_duckdb_url: str) -> None:
    for args, message in (
        (("holds", "--type", "qualty"), "Unknown hold type"),
        (("hold-history", "--start", "2026-02-30"), "YYYY-MM-DD"),
        (("hold-history", "--start", "2026-11-10", "--end", "2026-11-01"), "before the start"),
        (("hold-history", "--start", "2024-01-01", "--end", "2026-11-01"), "longest allowed"),
        (("hold-history", "--grain", "year"), "Unknown period"),
        (("holds", "--matrix", "pieces"), "Unknown matrix measure"),
    ):
        res = mesdash(demo_duckdb_url, *args)
        assert res.returncode == 1, (args, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr
