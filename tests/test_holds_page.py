"""The WIP hold page through AppTest on the tiny demo: live view (KPIs match an independent
count, the stale warning, filters from the URL), history view (KPIs, record types, days),
and bad parameters shown as messages, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core import glossary
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
LIVE_LOTS = glossary.label("hold_lots_live")
HIST_LOTS = glossary.label("on_hold_now_history")


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
    assert _metric(at, LIVE_LOTS) == f"{n_all:,}"
    main = "\n".join(_texts(at.main))
    assert "Data as of 2026-11-20 08:00" in main
    assert "stale" in main  # the demo snapshot is older than snapshot_stale_s
    assert "not how long it has been on hold" in main
    assert _metric(at, "HOLD quality lots") == f"{n_quality:,}"
    at.segmented_control(key="wh_type").set_value("quality").run()
    _assert_clean(at)
    assert _metric(at, LIVE_LOTS) == f"{n_quality:,}"
    assert at.query_params["type"] in ("quality", ["quality"])
    # a filter from the URL (as a click on the pareto would set it)
    at = _page(reason=reasons[0])
    assert _metric(at, LIVE_LOTS) == f"{reasons.count(reasons[0]):,}"


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
    new = int(_metric(at, glossary.label("new_holds")).replace(",", ""))
    released = int(_metric(at, glossary.label("released")).replace(",", ""))
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


def _plotly(at: AppTest, key: str) -> dict:
    import json

    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if el.proto.id and key in el.proto.id:
            return spec
    raise AssertionError(f"no plotly chart {key}")


def test_live_matrix_counts_qty_or_lots(on_tiny: Path) -> None:  # noqa: F811
    n_all, _, _ = _held(on_tiny)
    at = _page()
    qty = int(_metric(at, glossary.label("hold_qty_live")).replace(",", ""))

    def grand_total(at: AppTest) -> int:
        m = next(d.value for d in at.dataframe if "Total" in d.value.columns)
        return int(m.set_index("station_group").loc["Total", "Total"])

    assert grand_total(at) == qty  # the factory's habit: qty by default
    assert any(c.value.startswith("Qty (pcs), each lot once") for c in at.caption)
    at.segmented_control(key="wh_matrix_measure").set_value("lots").run()
    _assert_clean(at)
    assert at.query_params["matrix"] in ("lots", ["lots"])
    assert grand_total(at) == n_all
    at = _page(matrix="lots")
    assert grand_total(at) == n_all
    at = _page(matrix="pieces")
    assert any("Unknown matrix measure" in e.value for e in at.error)


def test_history_labels_both_sources_and_lists_the_differing_lots(
    tiny_db: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # a copy of the demo in which the two sources disagree on two lots but not on the count
    db = tmp_path / "differ.duckdb"
    shutil.copyfile(tiny_db, db)
    with duckdb.connect(str(db)) as con:
        held = con.execute(
            "select lotid from dwh.dw_mes_lot_v where workorder is not null and "
            "coalesce(equipmentcount, 0) = 0 and currentholdcount > 0 and lotid not like "
            "'%DUMMY%' order by lotid limit 1").fetchone()[0]
        queued = con.execute(
            "select lotid from dwh.dw_mes_lot_v where workorder is not null and "
            "coalesce(equipmentcount, 0) = 0 and coalesce(currentholdcount, 0) = 0 and "
            "lotid not like '%DUMMY%' order by lotid limit 1").fetchone()[0]
        con.execute("update dwh.dw_mes_lot_v set currentholdcount = 0 where lotid = ?", [held])
        con.execute("update dwh.dw_mes_lot_v set currentholdcount = 1, holdreasonname = "
                    "'YieldLimit' where lotid = ?", [queued])
    app_env.setenv("MES_DB_URL", f"duckdb:///{db}")
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    at = _page(view="history")  # the default range ends on the snapshot's shift day
    assert not at.error, [e.value for e in at.error]
    live_n, hist_n = _metric(at, LIVE_LOTS), _metric(at, HIST_LOTS)
    assert live_n == hist_n  # the same count, different lots
    assert any("differ by 2 lot(s): 1 only in the live snapshot, 1 only in the hold "
               "history" in w.value for w in at.warning)
    exp = next(e for e in at.expander if e.label == "Lots on hold in one source only (2)")
    table = exp.dataframe[0].value
    assert list(table["lot"]) == [queued, held] or list(table["lot"]) == [held, queued]
    assert dict(zip(table["lot"], table["source"], strict=True)) == {
        held: "hold history", queued: "live snapshot"}
    assert set(table.columns) >= {"lot", "source", "hold_reason", "station"}


def test_history_same_lots_and_partial_period(
    on_tiny: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path))
    at = _page(view="history", start="2026-11-15", end="2026-11-21")
    assert not [w.value for w in at.warning if "differ" in w.value]
    assert _metric(at, LIVE_LOTS) == _metric(at, HIST_LOTS)
    assert any("Both sources list the same lots" in c.value for c in at.caption)
    assert not [e for e in at.expander if "one source only" in e.label]
    # the snapshot (11-20 08:00) is in shift day 11-21: that day is covered in part only
    spec = _plotly(at, "wh_trend")
    bars = [d for d in spec["data"] if d["type"] == "bar"]
    assert all(b["marker"]["pattern"]["shape"] == [""] * 6 + ["/"] for b in bars)
    assert spec["layout"]["yaxis"]["tickformat"] == ",d"  # counts: whole numbers only
    assert spec["layout"]["yaxis"].get("dtick") in (1, None)
    assert any("partial periods: 2026-11-21 covers 2026-11-20 07:30 – 2026-11-20 08:00"
               in c.value for c in at.caption)
    at.segmented_control(key="wh_h_grain").set_value("week").run()
    _assert_clean(at)
    assert at.query_params["grain"] in ("week", ["week"])
    spec = _plotly(at, "wh_trend")
    bars = [d for d in spec["data"] if d["type"] == "bar"]
    assert bars[0]["x"] == ["2026-W46", "2026-W47"]
    # 11-15 is the Sunday of W46 and 11-21 the Saturday of W47 (covered to 08:00 on 11-20)
    assert bars[0]["marker"]["pattern"]["shape"] == ["/", "/"]
