"""`mesdash trace` on the tiny demo: JSON shape, Parquet output, bad input exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.cli import main


def test_trace_json_and_out(demo_duckdb_url: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    out = tmp_path / "out"
    rc = main(["trace", "--db", demo_duckdb_url, "--lot", "GA2609100*-A00-001", "NOPE-1",
               "--direction", "forward", "--domains", "history,rejects", "--json",
               "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    data = json.loads(captured.out)
    assert data["unmatched"] == ["NOPE-1"]
    assert set(data["seeds"]) == {"GA2609100*-A00-001"}
    assert data["truncated"] is None
    cids = {n["cid"] for n in data["nodes"]}
    assert set(data["seeds"]["GA2609100*-A00-001"]) <= cids
    assert all(e["parent"] in cids and e["child"] in cids for e in data["edges"])
    assert {n["kind"] for n in data["nodes"]} <= {"WAFER", "GA", "GC", "GD", "LOT", "SERIAL"}
    for name in ("history", "rejects"):
        d = data["domains"][name]
        assert d["completeness"]["status"] == "complete"
        assert pq.read_metadata(out / f"{name}.parquet").num_rows == d["rows"]
    assert pq.read_metadata(out / "nodes.parquet").num_rows == len(data["nodes"])
    assert not list((tmp_path / "spool").iterdir()), "the CLI deletes its spool"


@pytest.mark.parametrize("argv, text", [
    (["--lot", "*"], "seed_max_matches"),
    (["--lot", "A", "--domains", "bogus"], "Unknown domain"),
    (["--lot", "NOPE-1"], "Nothing matched"),
])
def test_trace_bad_input_is_exit_1(demo_duckdb_url: str, argv: list[str], text: str,
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MES_SEED_MAX_MATCHES", "10")
    rc = main(["trace", "--db", demo_duckdb_url, *argv])
    err = capsys.readouterr().err
    assert rc == 1 and text in err and "Traceback" not in err


def test_trace_from_machines_and_a_date_range(demo_duckdb_url: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`--machine NAME --start --end`: the page's "machines + date range" seed kind; its
    seeds are the lots that ran on the machine in the range (the same request as the
    page's, so the same lots as core.contain's exposed lots)."""
    from core.config import load_settings
    from core.contain import build_suspect, exposed_lots
    from core.db import open_lanes

    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    rc = main(["trace", "--db", demo_duckdb_url, "--machine", "DB-005", "--start",
               "2026-11-01", "--end", "2026-11-10", "--domains", "", "--json", "--local"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    seeds = set().union(*json.loads(captured.out)["seeds"].values())
    settings = load_settings(db_url=demo_duckdb_url)
    suspect = build_suspect("machine", ["DB-005"], settings=settings, start="2026-11-01",
                            end="2026-11-10")
    lanes = open_lanes(settings)
    try:
        expected, _cut = exposed_lots(lanes, suspect, settings=settings)
    finally:
        lanes.close()
    assert seeds and seeds == set(expected.column("containerid").to_pylist())
    rc = main(["trace", "--db", demo_duckdb_url, "--start", "2026-11-01", "--lot", "A"])
    err = capsys.readouterr().err
    assert rc == 1 and "--machine" in err and "Traceback" not in err
