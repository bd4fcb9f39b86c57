"""`mesdash` end to end in a subprocess: demo build, db check, config, and exit codes that
say what went wrong without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.config import SETTINGS_DOC

ROOT = Path(__file__).resolve().parent.parent


def mesdash(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    full_env["MES_SECRETS_FILE"] = "/nonexistent"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=120,
    )


def test_demo_build_then_db_check_json(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    built = mesdash("demo", "build", "--db", url, "--scale", "tiny", "--anchor", "2026-11-20")
    assert built.returncode == 0, built.stderr
    assert "built tiny demo" in built.stdout and "dw_mes_container" in built.stdout
    checked = mesdash("db", "check", "--json", env={"MES_DB_URL": url})
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] and report["backend"] == "duckdb"
    assert report["snapshot_time"].startswith("2026-11-20")
    assert report["lanes"]["slow"]["throttle"]["permits"] == 2
    assert report["lanes"]["realtime"]["pool"]["checked_out"] == 0
    text = mesdash("db", "check", env={"MES_DB_URL": url})
    assert text.returncode == 0 and "reachable" in text.stdout


def test_unreachable_database_exit_3_without_traceback() -> None:
    res = mesdash("db", "check", env={
        "MES_DB_URL": "postgresql+psycopg://nobody:sekret@127.0.0.1:1/x"})
    assert res.returncode == 3
    assert "Cannot connect" in res.stderr and "Traceback" not in res.stderr
    assert "sekret" not in res.stderr


def test_bad_settings_exit_2_naming_the_setting() -> None:
    res = mesdash("db", "check", env={"MES_SLOW_PERMITS": "0"})
    assert res.returncode == 2
    assert "slow_permits must be 1 or more (got 0)" in res.stderr and "Traceback" not in res.stderr


def test_bad_anchor_exit_1() -> None:
    res = mesdash("demo", "build", "--db", "duckdb:///:memory:", "--anchor", "yesterday")
    assert res.returncode == 1 and "YYYY-MM-DD" in res.stderr


def test_config_markdown_lists_every_setting() -> None:
    res = mesdash("config", "--markdown")
    assert res.returncode == 0
    for name in SETTINGS_DOC:
        assert f"`MES_{name.upper()}`" in res.stdout


def test_defects_json_and_out(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    assert mesdash("demo", "build", "--db", url, "--scale", "tiny",
                   "--anchor", "2026-11-20").returncode == 0
    env = {"MES_DB_URL": url, "MES_SPOOL_DIR": str(tmp_path / "spool")}
    res = mesdash("defects", "--station", "TMTT", "--start", "2026-09-01", "--end",
                  "2026-11-20", "--json", "--out", str(tmp_path / "out"), env=env)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kpis"]["detection_lots"] > 0
    machine = data["paretos"]["machine"]
    assert machine and set(machine[0]) == {"factor", "lots", "input", "defects", "charged",
                                           "uncharged", "rate", "lift", "lift_low",
                                           "lift_high", "lift_note", "p_value", "q_value",
                                           "suspect_rank", "cumulative_pct"}
    # the suspects, strongest first, each with its q-value and lift interval
    suspects = data["suspects"]
    assert suspects and set(suspects[0]) == {"kind", "factor", "detail", "lots", "rate",
                                             "rate_unexposed", "lift", "lift_low",
                                             "lift_high", "p_value", "q_value"}
    assert all(0 <= s["q_value"] <= 1 and s["lift"] > 1 for s in suspects)
    ranked = {r["factor"]: r["suspect_rank"] for r in data["paretos"]["machine"]}
    first = next(s["factor"] for s in suspects if s["kind"] == "machine")
    assert ranked.get(first) == min(v for v in ranked.values() if v is not None)
    assert (tmp_path / "out" / "factors.parquet").exists()
    bad = mesdash("defects", "--start", "2026-11-20", "--end", "2026-09-01", env=env)
    assert bad.returncode == 1 and "before the start date" in bad.stderr
    unknown = mesdash("defects", "--station", "NOPE", "--start", "2026-09-01",
                      "--end", "2026-09-02", env=env)
    assert unknown.returncode == 1 and "Unknown detection station" in unknown.stderr


def test_every_command_prints_its_help() -> None:
    """`--help` of every command and subcommand (a stray % in a help text made argparse
    raise on `mesdash defects --help`)."""
    import argparse

    from core.cli import build_parser

    parser = build_parser()

    leaves: list[tuple[list[str], str]] = []

    def walk(p: argparse.ArgumentParser, path: list[str]) -> None:
        text = p.format_help()  # raises on a bad help string
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for action in subs:
            for name, sub in action.choices.items():
                walk(sub, [*path, name])
        if not subs:
            leaves.append((path, text))

    walk(parser, [])
    # every command's --help ends with an example of its use
    assert leaves and all("example" in text and "mesdash " in text.split("example")[-1]
                          for _, text in leaves), [p for p, t in leaves if "example" not in t]
    import shlex

    from core.cli import EXAMPLES

    for example in EXAMPLES.values():  # and every example is a valid command line
        parser.parse_args(shlex.split(example)[1:])
    done = mesdash("defects", "--help")
    assert done.returncode == 0 and "wildcards * % _" in done.stdout, done.stderr


def test_an_output_path_that_cannot_be_written_is_a_message(
    tmp_path: Path, demo_duckdb_url: str
) -> None:
    blocker = tmp_path / "a-file"  # a file where a folder is expected
    blocker.write_text("x")
    env = {"MES_DB_URL": demo_duckdb_url, "MES_SPOOL_DIR": str(tmp_path / "spool")}
    csv = mesdash("rejects", "--start", "2026-11-01", "--end", "2026-11-19", "--csv",
                  str(blocker / "x.csv"), env=env)
    out = mesdash("trace", "--lot", "GA*", "--domains", "history", "--out",
                  str(blocker / "out"), env=env)
    for done in (csv, out):
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"cannot write {blocker}" in done.stderr


def test_a_repeated_list_flag_adds_to_the_list() -> None:
    """`--lot A --lot B` keeps both (it used to keep only B and report 'nothing matched'
    for a name that exists); every list flag of every command, parsed by the one rule."""
    from core.cli import build_parser
    from core.values import split

    p = build_parser()
    assert p.parse_args(["trace", "--lot", "A", "--lot", "B C"]).lot == ["A", "B C"]
    d = p.parse_args(["defects", "--start", "2026-01-01", "--end", "2026-01-02",
                      "--lots", "A", "--lots", "B", "--reasons", "274_OPEN",
                      "--reasons", "001_CRACK", "--packages", "SOT-23 CU"])
    assert split(d.lots) == ["A", "B"] and d.reasons == ["274_OPEN", "001_CRACK"]
    r = p.parse_args(["rejects", "--start", "2026-01-01", "--end", "2026-01-02",
                      "--package", "A", "--package", "B"])
    assert r.package == ["A", "B"]
    c = p.parse_args(["contain", "--machine", "M1", "--machine", "M2", "--start",
                      "2026-01-01", "--end", "2026-01-02"])
    assert c.machine == ["M1", "M2"]
