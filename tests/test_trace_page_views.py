"""The Trace page's views through AppTest on a copy of the tiny demo database (issues 16,
17, 19): machines + date range as seeds, node selection scoping the event tables to the
selected nodes and their sub-lots, several lots on the timeline (rows are station
groups), every view setting in the URL and restored from it, and the page in zh-TW with
every table column labelled. Expected numbers are computed straight from the database
file, never by the page's own code."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core.config import load_settings
from core.db import open_lanes
from core.stations import station_map
from core.text import plain
from tests.i18n_checks import in_test_thread_language, unlabelled
from tests.test_app_pages import APP, TIMEOUT_S, _texts, app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_trace_page import _open, _until_done, spool_env  # noqa: F401

FORWARD = {"kind": "lot", "values": "GA26091001-A00-001\nGA26091001-A00-003",
           "direction": "forward", "domains": "history,materials,rejects,holds"}
SELECTED = "GA26091001-A00-003-01"  # a split child whose sub-lots include a cycle back


def _db(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """``sql`` on a copy of the file (the app's lanes hold the file itself open)."""
    copy = db.with_name(db.stem + "-direct.duckdb")
    if not copy.exists():
        shutil.copyfile(db, copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        con.execute("USE dwh")
        return con.execute(sql, params or []).fetchall()


def _open_url(params: dict[str, str]) -> AppTest:
    """A fresh session opening the Trace page at ``params`` (a shared link)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params.update(params)
    at.run()
    at.switch_page("views/trace.py").run()
    return _until_done(at)


def _id_of(db: Path, name: str) -> str:
    return _db(db, "SELECT containerid FROM dw_mes_container WHERE containername = ?",
               [name])[0][0]


def _sub_lots(db: Path, cid: str) -> set[str]:
    """``cid`` and every container below it, by the genealogy columns themselves (split,
    rework and merge links; a recursive query, cycle-safe by UNION)."""
    rows = _db(db, """
        WITH RECURSIVE below(id) AS (
            SELECT ?::VARCHAR
            UNION
            SELECT k.child FROM below b JOIN (
                SELECT splitfromid AS parent, containerid AS child FROM dw_mes_container
                UNION ALL
                SELECT originalcontainerid, containerid FROM dw_mes_container
                UNION ALL
                SELECT containerid, lotid FROM dw_mes_pj_combinedassylots
            ) k ON k.parent = b.id AND k.child <> k.parent
        )
        SELECT id FROM below""", [cid])
    return {r[0] for r in rows}


def _page_total(at: AppTest, domain: str) -> int:
    label = at.number_input(key=f"trace.{domain}.page").label
    return int(re.search(r"([\d,]+) rows", label).group(1).replace(",", ""))


def _plotly(at: AppTest, index: int) -> dict:
    charts = [e for e in at.main.get("plotly_chart")]
    return json.loads(charts[index].proto.spec)


# --- machines + date range ---------------------------------------------------------------------


def test_machines_and_a_date_range_are_a_seed_kind(spool_env: Path) -> None:  # noqa: F811
    db = spool_env
    at = _open()
    at.selectbox(key="trace.kind").set_value("machine").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("contain_max_days" in c.value and "contain_max_lots" in c.value
               for c in at.caption), _texts(at.main)  # the limits are visible
    at.text_area[0].input("DB-005")
    at.date_input[0].set_value(dt.date(2026, 11, 1))
    at.date_input[1].set_value(dt.date(2026, 11, 10))
    at.button[0].click().run()
    _until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.main.error, [e.value for e in at.main.error]
    assert (at.query_params["kind"], at.query_params["values"], at.query_params["start"],
            at.query_params["end"]) == ("machine", "DB-005", "2026-11-01", "2026-11-10")
    expected = {r[0] for r in _db(db, """
        SELECT DISTINCT c.containername FROM dw_mes_lotwiphistory h
        JOIN dw_mes_resource r ON r.resourceid = h.equipmentid
        JOIN dw_mes_container c ON c.containerid = h.containerid
        WHERE r.resourcename = 'DB-005' AND h.trackintimestamp >= '2026-11-01'
          AND h.trackintimestamp < '2026-11-11'""")}
    assert expected
    seed_table = at.dataframe[0].value
    assert set(seed_table["containername"]) == expected
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Seed containers"]) == len(expected)
    # the link reopens the same seeds
    again = _open_url({k: at.query_params[k] for k in
                       ("kind", "values", "start", "end", "direction", "domains")})
    assert not again.exception
    assert set(again.dataframe[0].value["containername"]) == expected
    assert again.date_input[0].value == dt.date(2026, 11, 1)
    assert again.selectbox(key="trace.kind").value == "machine"
    assert again.text_area[0].value == "DB-005"


def test_a_machine_range_over_the_limit_is_a_message(spool_env: Path,  # noqa: F811
                                                     app_env: pytest.MonkeyPatch  # noqa: F811
                                                     ) -> None:
    app_env.setenv("MES_CONTAIN_MAX_DAYS", "5")
    at = _open()
    at.selectbox(key="trace.kind").set_value("machine").run()
    at.text_area[0].input("DB-005")
    at.date_input[0].set_value(dt.date(2026, 11, 1))
    at.date_input[1].set_value(dt.date(2026, 11, 10))
    at.button[0].click().run()
    assert not at.exception
    assert any("contain_max_days" in plain(e.value) for e in at.error), _texts(at.main)


# --- node selection scopes the event tables ----------------------------------------------------


def test_selected_nodes_scope_the_tables_to_them_and_their_sub_lots(spool_env: Path) -> None:  # noqa: F811
    db = spool_env
    at = _open_url({**FORWARD, "tab": "materials"})
    assert not at.exception, [e.value for e in at.exception]
    everything = _page_total(at, "materials")
    cid = _id_of(db, SELECTED)
    scope = _sub_lots(db, cid)
    assert len(scope) > 2  # the test means something: sub-lots, and a cycle back
    at.multiselect(key="trace.sel").set_value([cid]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["sel"] == cid
    line = next(m.value for m in at.markdown if "selected lot" in m.value)
    assert f"Showing 1 selected lot and its {len(scope) - 1} sub-lots" in line
    marks = ", ".join("?" for _ in scope)
    expected = _db(db, f"SELECT count(*) FROM dw_mes_lotmaterialshistory "
                       f"WHERE containerid IN ({marks})", sorted(scope))[0][0]
    assert 0 < expected < everything
    assert _page_total(at, "materials") == expected
    assert set(at.dataframe[-1].value["containerid"]) <= scope
    # clearing the selection shows every row again
    at.button(key="trace.clear_sel").click().run()
    assert "sel" not in at.query_params
    assert _page_total(at, "materials") == everything


# --- timeline ------------------------------------------------------------------------------------


def test_the_timeline_draws_several_lots_on_station_group_rows(spool_env: Path) -> None:  # noqa: F811
    db = spool_env
    at = _open_url(FORWARD)
    picker = at.multiselect(key="trace.tl")
    lots = list(picker.options[:3])  # the options as shown: lot names
    picker.set_value(lots).run()
    assert not at.exception, [e.value for e in at.exception]
    ids = at.query_params["tl"].split(",")
    assert [_id_of(db, name) for name in lots] == ids
    fig = _plotly(at, -1)  # the timeline is the page's last chart
    lanes = open_lanes(load_settings(db_url=f"duckdb:///{db}"))
    try:
        groups = {g for g, _seq in station_map(lanes, lanes.settings).groups()}
    finally:
        lanes.close()
    rows = fig["layout"]["yaxis"]["ticktext"]
    assert rows and set(rows) <= groups | {"(no station group)"}, rows
    assert fig["layout"]["yaxis"]["title"]["text"] == "Station group"
    assert fig["layout"]["xaxis"]["title"]["text"] == "Time"
    # one legend entry (colour) per lot, and every mark sits on a station-group row
    lot_traces = [t for t in fig["data"] if t.get("name") in set(lots)]
    assert len(lot_traces) == len(lots)
    for trace in fig["data"]:
        for y in trace.get("y") or []:
            if y is not None:
                assert abs(y - round(y)) < 0.5 and 0 <= round(y) < len(rows)


# --- the URL carries every view setting ----------------------------------------------------------


def _view(at: AppTest) -> dict[str, object]:
    return {
        "focus": at.text_input(key="trace.focus").value,
        "sel": list(at.multiselect(key="trace.sel").value),
        "tl": list(at.multiselect(key="trace.tl").value),
        "tab": at.radio(key="trace.tab").value,
        "sort": at.selectbox(key="trace.rejects.sort").value,
        "desc": at.toggle(key="trace.rejects.desc").value,
        "page": at.number_input(key="trace.rejects.page").value,
        "size": at.number_input(key="trace.rejects.size").value,
        "rows": at.dataframe[-1].value.astype(str).to_dict("list"),
    }


def test_every_view_setting_comes_back_from_the_link(spool_env: Path) -> None:  # noqa: F811
    db = spool_env
    at = _open_url(FORWARD)
    cid = _id_of(db, SELECTED)
    at.text_input(key="trace.focus").input("GA26091001-A00-001").run()
    at.multiselect(key="trace.sel").set_value([cid]).run()
    tl = list(at.multiselect(key="trace.tl").options[:2])
    at.multiselect(key="trace.tl").set_value(tl).run()
    at.radio(key="trace.tab").set_value("rejects").run()
    at.selectbox(key="trace.rejects.sort").set_value("charged_qty").run()
    at.toggle(key="trace.rejects.desc").set_value(True).run()
    at.number_input(key="trace.rejects.size").set_value(3).run()
    at.number_input(key="trace.rejects.page").set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _view(at)
    assert shown["tab"] == "rejects" and shown["page"] == 2 and shown["desc"] is True
    params = {k: at.query_params[k] for k in at.query_params}
    assert params["rejects_sort"] == "-charged_qty" and params["tab"] == "rejects"
    fresh = _open_url(params)
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert _view(fresh) == shown
    charged = [int(v) for v in shown["rows"]["charged_qty"]]
    assert charged == sorted(charged, reverse=True)


# --- zh-TW ------------------------------------------------------------------------------------


def test_the_page_in_zh_tw_speaks_its_terms_and_labels_every_column(spool_env: Path) -> None:  # noqa: F811
    with in_test_thread_language("zh-TW"):
        _zh_page_checks()


def _zh_page_checks() -> None:
    at = _open_url({**FORWARD, "domains": "history,materials,rejects,holds,jobs",
                    "focus": "GA26091001", "lang": "zh-TW"})
    assert not at.exception, [e.value for e in at.exception]
    texts = [s.value for s in at.subheader] + _texts(at.main)
    assert any("血緣" in t for t in texts), texts
    assert any("LOT" in t for t in texts + [m.label for m in at.multiselect])
    assert at.radio(key="trace.tab").label == "事件"
    seen = set()
    for domain in at.radio(key="trace.tab").options:  # every domain's table, and the
        at.radio(key="trace.tab").set_value(domain).run()  # focus matches above them
        assert len(at.dataframe) == 2, domain
        seen.add(tuple(at.dataframe[-1].value.columns))
        for table in at.dataframe:
            assert not unlabelled(table), (domain, unlabelled(table))
    assert len(seen) == 5  # history, materials, rejects, holds, machine jobs
    at.multiselect(key="trace.sel").set_value([at.multiselect(key="trace.sel").options[0]])
    at.run()
    assert any("子批次" in m.value for m in at.markdown)
    fig = _plotly(at, 0)
    legend = {t.get("name") for t in fig["data"]}
    assert {"拆批", "併批"} & legend, legend


def test_junk_view_parameters_fall_back_to_the_defaults(spool_env: Path) -> None:  # noqa: F811
    junk = "[x](https://evil.example) <b>'; DROP TABLE x; --"
    at = _open_url({**FORWARD, "sel": f"{junk},NOPE", "tl": junk, "tab": junk,
                    "history_sort": f"-{junk}", "history_page": "-7", "focus": junk})
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="trace.sel").value == []
    assert at.radio(key="trace.tab").value == "history"
    assert at.selectbox(key="trace.history.sort").value == "trackintimestamp"
    assert at.number_input(key="trace.history.page").value == 1
    assert len(at.multiselect(key="trace.tl").value) == 1  # the first lot, as without tl
    assert any("No container named" in w.value for w in at.warning)
