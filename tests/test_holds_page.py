"""The WIP hold page through AppTest on the tiny demo: live view (KPIs match an independent
count, the stale warning, filters from the URL), history view (KPIs, record types, days),
and bad parameters shown as messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core.config import DEFAULT_NON_QUALITY_HOLD_REASONS
from core.text import plain
from tests.test_app_pages import (  # noqa: F401 - fixtures
    _app,
    _assert_clean,
    _texts,
    app_env,
    on_tiny,
    tiny_db,
)

PAGE = "views/wip_hold.py"


def _held(db: Path) -> tuple[int, int, list[str]]:
    """(all held lots, quality held lots, their reasons) straight from the file."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select holdreasonname from dwh.dw_mes_lot_v where workorder is not null and "
            "coalesce(equipmentcount, 0) = 0 and coalesce(currentholdcount, 0) > 0 and "
            "lotid not like '%DUMMY%'").fetchall()
    reasons = [r[0] for r in rows]
    quality = [r for r in reasons if r not in DEFAULT_NON_QUALITY_HOLD_REASONS]
    return len(reasons), len(quality), [r for r in reasons if r]


def _page(**params: str) -> AppTest:
    at = _app()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    _assert_clean(at)
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_live_view(on_tiny: Path) -> None:  # noqa: F811
    n_all, n_quality, reasons = _held(on_tiny)
    at = _page()
    assert [t.value for t in at.title] == ["WIP hold"]
    assert not at.main.error, [e.value for e in at.main.error]
    assert _metric(at, "Lots on hold") == f"{n_all:,}"
    main = "\n".join(_texts(at.main))
    assert "Data as of 2026-11-20 08:00" in main
    assert "stale" in main  # the demo snapshot is older than snapshot_stale_s
    assert "not how long it has been on hold" in main
    assert _metric(at, "HOLD quality lots") == f"{n_quality:,}"
    at.segmented_control(key="wh_type").set_value("quality").run()
    _assert_clean(at)
    assert _metric(at, "Lots on hold") == f"{n_quality:,}"
    assert at.query_params["type"] in ("quality", ["quality"])
    # a filter from the URL (as a click on the pareto would set it)
    at = _page(reason=reasons[0])
    assert _metric(at, "Lots on hold") == f"{reasons.count(reasons[0]):,}"


def test_bad_parameters_are_messages(on_tiny: Path) -> None:  # noqa: F811
    at = _page(type="qualty")
    assert any("Unknown hold type" in plain(e.value) for e in at.error)
    at = _page(view="history", start="2026-13-01")
    assert any("YYYY-MM-DD" in plain(e.value) for e in at.error)
    at = _page(view="history", start="2026-11-20", end="2026-11-01")
    assert any("before the start" in plain(e.value) for e in at.error)
    at = _page(view="history", start="2024-01-01", end="2026-11-20")
    assert any("hold_history_max_days" in plain(e.value) for e in at.error)
    at = _page(reason="no such reason")
    assert any("not found" in plain(w.value) for w in at.warning)


def test_history_view(
    on_tiny: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path))
    at = _page(view="history", start="2026-10-01", end="2026-11-21")
    assert not at.error, [e.value for e in at.error]
    new = int(_metric(at, "New holds in range").replace(",", ""))
    released = int(_metric(at, "Released in range").replace(",", ""))
    assert new > 0 and released > 0
    assert _metric(at, "Net change") == f"{new - released:+,}"
    assert any("as of 2026-11-20 08:00" in c.value for c in at.caption)
    at.segmented_control(key="wh_h_rec").set_value("released").run()
    _assert_clean(at)
    assert at.query_params["record"] in ("released", ["released"])
    at.selectbox(key="wh_h_day").set_value("2026-11-20").run()
    _assert_clean(at)
    assert at.query_params["day"] in ("2026-11-20", ["2026-11-20"])
    assert any(s.value.startswith("Released on 2026-11-20") for s in at.subheader)
