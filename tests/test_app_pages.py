"""The dashboard frame and pages, driven in-process with Streamlit's AppTest.

Why: a page must never show a traceback, whatever the database or the settings do. These
tests run the real entry point (dashboard/app.py) against a tiny demo DuckDB built once
per session, visit every page, and check the frame's promises: the sidebar shows the
snapshot time and the WIP numbers (compared with an independent pandas computation of
the status rule), an unreachable database and an invalid setting are clear messages, and
the first run without a database builds the demo file.

AppTest runs the script in this process: settings come from os.environ (monkeypatched per
test) and st.cache_resource is cleared around every test so each test opens its own lanes.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import DEFAULT_NON_QUALITY_HOLD_REASONS, load_settings

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TIMEOUT_S = 60
PAGES = {
    "views/trace.py": "Trace",
    "views/defect_trace.py": "Defect trace",
    "views/reject_history.py": "Reject history",
    "views/wip_hold.py": "WIP hold",
    "views/containment.py": "Containment",
    "views/system.py": "System",
}
UNREACHABLE_URL = "postgresql+psycopg://nobody:sekret@127.0.0.1:1/x"


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_db(demo_duckdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tiny demo database (conftest builds it once with build_demo), copied
    so the app's lanes and this file's direct reads never meet other tests' connections."""
    source = Path(demo_duckdb_url.removeprefix("duckdb:///"))
    path = tmp_path_factory.mktemp("app_pages") / "tiny.duckdb"
    shutil.copyfile(source, path)
    return path


def _clear_caches() -> None:
    st.cache_resource.clear()  # closes cached lanes (on_release)
    st.cache_data.clear()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No MES_* variable from the outside world, no secrets file, empty caches."""
    for key in list(os.environ):
        if key.startswith("MES_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MES_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    _clear_caches()
    yield monkeypatch
    _clear_caches()


@pytest.fixture
def on_tiny(app_env: pytest.MonkeyPatch, tiny_db: Path) -> Path:
    app_env.setenv("MES_DB_URL", f"duckdb:///{tiny_db}")
    return tiny_db


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)


def _texts(block: object) -> list[str]:
    """Every text a block shows in markdown, captions, warnings, errors and infos."""
    out: list[str] = []
    for kind in ("markdown", "caption", "warning", "error", "info", "success"):
        out += [str(e.value) for e in getattr(block, kind)]
    return out


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _expected_wip(db: Path) -> dict[str, tuple[int, int]]:
    """The status rule of domain.md, computed with pandas straight from the file."""
    with duckdb.connect(str(db), read_only=True) as con:
        df = con.execute(
            "select lotid, workorder, qty, equipmentcount, currentholdcount, holdreasonname "
            "from dwh.dw_mes_lot_v"
        ).df()
    df = df[df["workorder"].notna()]
    df = df[~df["lotid"].fillna("").str.contains("DUMMY", regex=False)]
    eq = df["equipmentcount"].fillna(0)
    hold = df["currentholdcount"].fillna(0)
    status = [
        "RUN" if e > 0 else "HOLD" if h > 0 else "QUEUE"
        for e, h in zip(eq, hold, strict=True)
    ]
    df = df.assign(status=status, qty=df["qty"].fillna(0).astype(int))
    nq = df["holdreasonname"].isin(DEFAULT_NON_QUALITY_HOLD_REASONS)
    parts = {
        "RUN": df[df.status == "RUN"],
        "QUEUE": df[df.status == "QUEUE"],
        "HOLD": df[df.status == "HOLD"],
        "↳ quality": df[(df.status == "HOLD") & ~nq],
        "↳ non-quality": df[(df.status == "HOLD") & nq],
    }
    return {k: (len(v), int(v["qty"].sum())) for k, v in parts.items()}


def _snapshot(db: Path) -> datetime:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select max(sys_date) from dwh.dw_mes_lot_v").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------


def test_every_page_renders_with_frame(on_tiny: Path) -> None:
    expected = _expected_wip(on_tiny)
    snap = _snapshot(on_tiny)
    assert expected["RUN"][0] + expected["QUEUE"][0] + expected["HOLD"][0] > 0, "empty demo"

    at = _app().run()
    _assert_clean(at)
    for page, title in PAGES.items():
        at.switch_page(page).run()
        _assert_clean(at)
        assert [t.value for t in at.title] == [title], page
        assert not at.main.error, [e.value for e in at.main.error]
        sidebar = "\n".join(_texts(at.sidebar))
        assert "duckdb" in sidebar, sidebar
        assert f"Data as of {snap:%Y-%m-%d %H:%M}" in sidebar, sidebar
        for label, (lots, qty) in expected.items():
            assert f"| {label} | {lots:,} | {qty:,} |" in sidebar, (label, sidebar)


def test_placeholder_pages_say_not_built_yet(on_tiny: Path) -> None:
    at = _app().run()
    for page in list(PAGES)[:4]:
        if "Not built yet" not in (APP.parent / page).read_text(encoding="utf-8"):
            continue  # the page has been built since
        at.switch_page(page).run()
        _assert_clean(at)
        assert any("Not built yet" in i.value for i in at.info), page


def test_system_page_shows_lane_statistics_and_tests_connection(on_tiny: Path) -> None:
    at = _app().run()
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    labels = {m.label for m in at.metric}
    for label in ("Checked out", "Overflow", "Waiting", "p50 ms", "p95 ms", "p99 ms",
                  "Timeouts / errors", "Kind", "Permits in use"):
        assert label in labels, labels
    rss = next(m.value for m in at.metric if m.label.startswith("Memory of this dashboard"))
    assert rss.endswith("MiB") and int(rss.split()[0].replace(",", "")) > 0
    kinds = [m.value for m in at.metric if m.label == "Kind"]
    assert kinds and kinds[0] in ("local", "redis")
    table = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    assert "slow_permits" in set(table["setting"])
    button = next(b for b in at.button if b.label == "Test connection")
    button.click().run()
    _assert_clean(at)
    assert any(s.value.startswith("Connected") for s in at.success), _texts(at.main)


def test_system_page_lists_the_jobs_and_cancels_a_running_one(on_tiny: Path) -> None:
    import threading

    from dashboard import state
    from dashboard.job_manager import get_job_manager

    at = _app().run()
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    assert any(c.value == "No background job in this process." for c in at.caption)
    release = threading.Event()

    def work(job):  # a job that runs until released or cancelled
        job.stage("waiting", total=2)
        while not release.wait(0.05):
            if job.cancel_token.cancelled:
                return None
        return "done"

    manager = get_job_manager(state.get_settings())
    job = manager.submit("test:system", work, label="A long test job")
    try:
        at.run()
        _assert_clean(at)
        jobs = next(d.value for d in at.dataframe if "job" in d.value.columns)
        assert list(jobs["job"]) == ["A long test job"]
        assert list(jobs["state"]) == ["running"] and "waiting 0/2" in jobs["stage"][0]
        next(b for b in at.button if b.label == "Cancel job").click().run()
        _assert_clean(at)
        assert job.wait(5) and job.state == "cancelled"
    finally:
        release.set()


def test_system_page_masks_secrets(app_env: pytest.MonkeyPatch, tiny_db: Path) -> None:
    app_env.setenv("MES_DB_URL", f"duckdb:///{tiny_db}")
    app_env.setenv("MES_REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    at = _app().run()
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    table = at.dataframe[0].value
    shown = dict(zip(table["setting"], table["setting_value"], strict=True))
    assert "hunter2" not in shown["redis_url"] and "***" in shown["redis_url"]


def test_system_page_shows_each_settings_bounds(
    app_env: pytest.MonkeyPatch, on_tiny: Path
) -> None:
    """The settings table's "allowed" column comes from the declarations (core.config), and
    the refresh of the lane statistics is the system_refresh_s setting."""
    from core.config import SETTINGS_DOC, allowed

    app_env.setenv("MES_SYSTEM_REFRESH_S", "7")
    at = _app().run()
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    table = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    shown = dict(zip(table["setting"], table["setting_allowed"], strict=True))
    assert shown == {name: allowed(name) for name in SETTINGS_DOC}
    assert shown["slow_parallel_workers"] == "0 – 64"
    assert shown["realtime_deadline_s"] == "> 0"
    assert shown["slow_permits"] == "≥ 1, ≤ slow_connections"
    values = dict(zip(table["setting"], table["setting_value"], strict=True))
    assert values["system_refresh_s"] == "7"
    assert any(c.value == "Refreshed every 7 s." for c in at.caption)


def test_unreachable_database_is_a_clear_error(app_env: pytest.MonkeyPatch) -> None:
    app_env.setenv("MES_DB_URL", UNREACHABLE_URL)
    at = _app().run()
    _assert_clean(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "Cannot reach the MES database" in errors[0]
    assert "127.0.0.1:1" in errors[0]
    assert "sekret" not in errors[0], "password must be masked"
    assert "MES_DB_URL" in errors[0], "must say what to check"
    assert not at.title, "no page runs without a database"
    retry = next(b for b in at.button if b.label == "Retry the connection")
    retry.click().run()
    _assert_clean(at)
    assert any("Cannot reach the MES database" in e.value for e in at.error)
    # The System page still works, to check the settings.
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    assert [t.value for t in at.title] == ["System"]
    assert all("sekret" not in t for t in _texts(at.main))
    next(b for b in at.button if b.label == "Test connection").click().run()
    _assert_clean(at)
    assert [t.value for t in at.title] == ["System"]
    assert any("Cannot reach the MES database" in e.value for e in at.error)


def test_invalid_setting_is_a_clear_error(app_env: pytest.MonkeyPatch, tiny_db: Path) -> None:
    app_env.setenv("MES_DB_URL", f"duckdb:///{tiny_db}")
    app_env.setenv("MES_SLOW_PERMITS", "0")
    at = _app().run()
    _assert_clean(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "settings are invalid" in errors[0]
    assert "slow_permits must be 1 or more (got 0)" in errors[0]
    assert not at.title


def test_first_run_builds_the_demo_database(app_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "data" / "demo.duckdb"
    app_env.setenv("MES_DEMO_DB_PATH", str(target))
    app_env.setenv("MES_DEMO_SCALE", "tiny")
    at = _app().run(timeout=3 * TIMEOUT_S)
    _assert_clean(at)
    assert target.is_file()
    leftovers = [p.name for p in target.parent.iterdir() if ".building-" in p.name]
    assert not leftovers
    assert [t.value for t in at.title] == ["Trace"]
    assert any("Data as of" in t for t in _texts(at.sidebar)), _texts(at.sidebar)
    # the first-run box is gone once the page is ready (a toast says it was built), and
    # the demo's fixed snapshot is not flagged stale
    assert not at.get("expandable") and not at.get("status"), at.get("expandable")
    assert not any("Building the demo database" in t for t in _texts(at))
    assert [t.value for t in at.toast] == ["Demo database ready"]
    assert not at.sidebar.warning, [w.value for w in at.sidebar.warning]
    # The next run opens the file it built, without building again.
    mtime = target.stat().st_mtime_ns
    at.run()
    _assert_clean(at)
    assert target.stat().st_mtime_ns == mtime


# ---------------------------------------------------------------------------------------------
# the first-run builder on its own: one builder at a time, never a half-built file
# ---------------------------------------------------------------------------------------------


def test_concurrent_first_runs_build_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import core.demo
    from dashboard import first_run

    calls: list[str] = []

    def fake_build(url: str, **kwargs: object) -> str:
        path = Path(url.removeprefix("duckdb:///"))
        assert path.name != "demo.duckdb", "must build under a temporary name"
        calls.append(url)
        path.write_bytes(b"partial")
        time.sleep(0.5)  # long enough for the other session to reach the lock
        path.write_bytes(b"complete")
        return "summary"

    monkeypatch.setattr(core.demo, "build_demo", fake_build)
    settings = load_settings(
        env={}, secrets_path=tmp_path / "none.toml", demo_db_path=str(tmp_path / "demo.duckdb")
    )
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(first_run.build_demo_file(settings)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(map(str, results)) == ["None", "summary"]
    assert (tmp_path / "demo.duckdb").read_bytes() == b"complete"
    assert not first_run.demo_needed(settings)


def test_failed_first_run_leaves_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import core.demo
    from dashboard import first_run

    def broken_build(url: str, **kwargs: object) -> None:
        Path(url.removeprefix("duckdb:///")).write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(core.demo, "build_demo", broken_build)
    settings = load_settings(
        env={}, secrets_path=tmp_path / "none.toml", demo_db_path=str(tmp_path / "demo.duckdb")
    )
    with pytest.raises(RuntimeError, match="disk full"):
        first_run.build_demo_file(settings)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("demo")] == [
        "demo.duckdb.lock"
    ]
    assert first_run.demo_needed(settings)


def test_wip_summary_matches_pandas(tiny_db: Path) -> None:
    from core import realtime
    from core.db import open_lanes

    # Read the expectations first: DuckDB refuses a second in-process connection to one
    # file with a different configuration while the lanes hold theirs.
    expected = _expected_wip(tiny_db)
    snapshot = _snapshot(tiny_db)
    settings = load_settings(env={"MES_DB_URL": f"duckdb:///{tiny_db}"},
                             secrets_path=tiny_db.with_suffix(".none"))
    lanes = open_lanes(settings)
    try:
        wip = realtime.wip_summary(lanes, settings)
        assert realtime.snapshot_time(lanes) == snapshot
    finally:
        lanes.close()
    assert (wip["RUN"]["lots"], wip["RUN"]["qty"]) == expected["RUN"]
    assert (wip["QUEUE"]["lots"], wip["QUEUE"]["qty"]) == expected["QUEUE"]
    assert (wip["HOLD"]["lots"], wip["HOLD"]["qty"]) == expected["HOLD"]
    assert (wip["HOLD"]["quality"]["lots"], wip["HOLD"]["quality"]["qty"]) == expected[
        "↳ quality"
    ]
    assert (
        wip["HOLD"]["non_quality"]["lots"],
        wip["HOLD"]["non_quality"]["qty"],
    ) == expected["↳ non-quality"]
    assert wip["total"]["lots"] == sum(expected[k][0] for k in ("RUN", "QUEUE", "HOLD"))


def test_redis_down_dashboard_works_and_system_page_says_degraded(
    app_env: pytest.MonkeyPatch, tiny_db: Path
) -> None:
    app_env.setenv("MES_DB_URL", f"duckdb:///{tiny_db}")
    app_env.setenv("MES_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens: Redis down
    at = _app().run()
    _assert_clean(at)
    at.switch_page("views/system.py").run()
    _assert_clean(at)
    assert [m.value for m in at.metric if m.label == "Kind"] == ["local"]
    warnings = " ".join(w.value for w in at.warning)
    assert "Throttle degraded" in warnings and "Redis unreachable" in warnings
