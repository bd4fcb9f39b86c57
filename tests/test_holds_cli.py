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
    assert out["matrix"]["values"][-1][-1] == lots  # grand total
    assert sum(r["lots"] for r in out["reason_pareto"]) == lots
    q = json.loads(mesdash(demo_duckdb_url, "holds", "--type", "quality", "--json").stdout)
    assert q["kpis"]["lots"] == out["wip"]["HOLD"]["quality"]["lots"]
    text = mesdash(demo_duckdb_url, "holds")
    assert text.returncode == 0 and "station group x package" in text.stdout


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
    text = mesdash(demo_duckdb_url, "hold-history", tmp=tmp_path)
    assert text.returncode == 0 and "per shift day" in text.stdout


def test_bad_input_exit_1(demo_duckdb_url: str) -> None:
    for args, message in (
        (("holds", "--type", "qualty"), "Unknown hold type"),
        (("hold-history", "--start", "2026-02-30"), "YYYY-MM-DD"),
        (("hold-history", "--start", "2026-11-10", "--end", "2026-11-01"), "before the start"),
        (("hold-history", "--start", "2024-01-01", "--end", "2026-11-01"), "longest allowed"),
    ):
        res = mesdash(demo_duckdb_url, *args)
        assert res.returncode == 1, (args, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr
