"""The Defect trace and Containment pages' views through AppTest on the tiny demo
(issues 16, 17 and 19): the sort and the tab come back from a link with the same numbers;
the daily trend draws defects on their own axis; 'others' is a note, never a bar; a
machine's context opens from every table and chart that shows machines; in zh-TW the
pages speak the factory's words and no table column goes without a label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core import glossary, labels
from core.i18n import set_language
from core.text import md_unescape
from tests.i18n_checks import unlabelled_columns
from tests.test_app_pages import _assert_clean, app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_contain_page import _open as open_contain
from tests.test_defects_page import finish_jobs, open_page

BACKWARD = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
FORWARD = {"station": "切彎腳", "start": "2026-09-01", "end": "2026-11-20",
           "direction": "forward", "run": "1"}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """AppTest formats options in the test's thread: it speaks the page's language."""
    set_language("en")
    yield
    set_language("en")


def ran(params: dict[str, Any]) -> AppTest:
    at = open_page(params)
    finish_jobs()
    at.run()
    _assert_clean(at)
    return at


def table(at: AppTest, key: str) -> Any:
    """A selectable table by its key (only those carry it), else the one with column
    ``key``."""
    return next(d for d in at.dataframe if d.key == key or key in d.value.columns)


def figure(at: AppTest, key: str) -> dict[str, Any]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}"))
    return json.loads(chart.proto.spec)


def params_of(at: AppTest) -> dict[str, Any]:
    return {k: at.query_params[k] for k in at.query_params}


def context_open(at: AppTest) -> str | None:
    """The machine whose context dialog is open (its title), else None."""
    for block in at.get("dialog"):
        title = getattr(block.proto.dialog, "title", "")
        if title:
            return md_unescape(title)
    return None


def test_sort_and_tab_come_back_from_a_link_with_the_same_numbers(
    on_tiny: Path,  # noqa: F811
) -> None:
    at = ran(BACKWARD)
    at.radio(key="sort_material").set_value("lift").run()  # one tab's sort sorts them all
    _assert_clean(at)
    assert at.query_params["sort"] in ("lift", ["lift"])
    assert {at.radio(key=f"sort_{k}").value for k in
            ("machine", "material", "wafer", "detection_machine")} == {"lift"}
    shown = table(at, "table_machine").value
    link = {**params_of(at), "tab": "machine"}
    fresh = ran(link)
    assert fresh.session_state["defect_tab"] == "Machines"
    assert fresh.radio(key="sort_machine").value == "lift"
    again = table(fresh, "table_machine").value
    assert list(again["factor"]) == list(shown["factor"])
    assert again["exposed_lots"].tolist() == shown["exposed_lots"].tolist()
    # the default tab stays out of the link; another tab is restored by its id
    assert ran({**BACKWARD, "tab": "trend"}).session_state["defect_tab"] == "Daily trend"
    assert ran(BACKWARD).session_state["defect_tab"] == "Suspects"


def test_containment_inputs_tab_sort_and_page_come_back_from_a_link(
    on_tiny: Path,  # noqa: F811
) -> None:
    link = {"kind": "machine", "name": "DB-003", "start": "2026-09-01", "end": "2026-11-20"}
    at = open_contain(link)
    at.selectbox(key="hold.sort_col").set_value("qty_pcs").run()
    at.toggle(key="hold.sort_desc").set_value(True).run()
    _assert_clean(at)
    assert at.query_params["hold_sort"] in ("-qty_pcs", ["-qty_pcs"])
    first = table(at, "qty_pcs").value
    assert first["qty_pcs"].tolist() == sorted(first["qty_pcs"].tolist(), reverse=True)
    fresh = open_contain({**params_of(at), "tab": "descendants"})
    assert fresh.session_state["contain_tab"] == "Descendants"
    assert fresh.text_area[0].value == "DB-003"
    assert fresh.selectbox(key="hold.sort_col").value == "qty_pcs"
    assert fresh.toggle(key="hold.sort_desc").value is True
    assert table(fresh, "qty_pcs").value["lot"].tolist() == first["lot"].tolist()


def test_the_daily_trend_draws_defects_on_their_own_axis(on_tiny: Path) -> None:  # noqa: F811
    at = ran({**BACKWARD, "tab": "trend"})
    fig = figure(at, "chart_trend")
    trend = table(at, "clean_lots").value
    layout = fig["layout"]

    def axis_title(trace: dict[str, Any]) -> str:
        name = "yaxis" + trace.get("yaxis", "y")[1:]
        return layout[name]["title"]["text"]

    defects = next(t for t in fig["data"] if t["name"] == glossary.label("detection_defects"))
    assert defects["y"] == trend["detection_defects"].tolist()
    assert axis_title(defects) == glossary.label("detection_defects")
    rate = next(t for t in fig["data"]
                if t["name"] == glossary.label("detection_defect_rate_pct"))
    assert rate.get("yaxis") != defects.get("yaxis")  # its own axis, readable ticks
    rate_axis = layout["yaxis" + rate["yaxis"][1:]]
    assert rate_axis["ticksuffix"] == "%" and rate_axis["dtick"] > 0
    assert max(v for v in rate["y"] if v is not None) <= rate_axis["range"][1]
    # the lots are drawn apart from the defects (the few defective lots were a sliver)
    lots = [t for t in fig["data"] if t["name"] == glossary.label("clean_lots")]
    assert lots and lots[0].get("yaxis") not in (defects.get("yaxis"), rate.get("yaxis"))


def test_others_is_a_note_never_a_bar(on_tiny: Path) -> None:  # noqa: F811
    at = ran({**BACKWARD, "sort": "defects", "tab": "machine"})
    machines = table(at, "table_machine").value
    assert len(machines) > 10  # a pareto of ten has others
    fig = figure(at, "chart_machine")
    bars = next(t for t in fig["data"] if t["type"] == "bar")
    assert len(bars["x"]) == 10 and not any(str(x).startswith("others") for x in bars["x"])
    notes = [md_unescape(c.value) for c in at.caption if "Not drawn" in c.value]
    assert notes and f"the other {len(machines) - 10} factors" in notes[0]


def _pick(at: AppTest, key: str, selection: dict[str, Any]) -> AppTest:
    at.session_state[key] = {"selection": selection}
    at.run()
    _assert_clean(at)
    return at


ROW = {"rows": [0], "columns": [], "cells": []}


def test_a_machine_context_opens_from_every_machine_table_and_chart(
    on_tiny: Path,  # noqa: F811
) -> None:
    at = ran(BACKWARD)
    assert context_open(at) is None
    # suspects: a card's button, the chart, the table
    card = next(b for b in at.button if (b.key or "").startswith("ctx_card_"))
    card.click().run()
    assert context_open(at) and at.query_params["machine"]
    opened: dict[str, str] = {}
    for key, kind in (("table_suspects", None), ("table_machine", "machine"),
                      ("table_detection_machine", "detection_machine")):
        at = ran(BACKWARD)
        first = table(at, key).value["factor"].iloc[0]
        if kind is None:  # the suspects' first row is a machine in the demo
            assert table(at, key).value["factor_kind"].iloc[0] in ("Machine",
                                                                  "Detection machine")
        at = _pick(at, key, ROW)
        opened[key] = context_open(at) or ""
        assert first.rpartition(" / ")[2] in opened[key], (key, opened)
        assert at.query_params["machine"] in (first, [first])
        assert any(c.value.startswith("Maintenance jobs (") for c in at.caption), key
        assert not any("No time is known" in i.value for i in at.info), key
        assert figure(at, "chart_ctx")["data"], key  # its lots' rate over time
    # a bar of the machines' chart (the lift chart: its categories on y)
    at = ran(BACKWARD)
    name = table(at, "table_machine").value["factor"].iloc[0]
    at = _pick(at, "chart_machine", {"points": [{"y": name, "x": 2.0}], "point_indices": [0],
                                     "box": [], "lasso": []})
    assert name.rpartition(" / ")[2] in (context_open(at) or "")
    # a lot of the lot detail: its first upstream machine, the others to pick from
    at = ran(BACKWARD)
    lot = table(at, "table_lots").value
    machines = lot["upstream_machines"].iloc[0].split("; ")
    at = _pick(at, "table_lots", ROW)
    assert machines[0].rpartition(" / ")[2] in (context_open(at) or "")
    assert at.selectbox(key="ctx_pick").options == [f for f in machines]
    # forward: the later machines' table and chart
    at = ran(FORWARD)
    later = table(at, "fwd_table_machine").value["machine"].iloc[0]
    at = _pick(at, "fwd_table_machine", ROW)
    assert later in (context_open(at) or "")
    texts = [md_unescape(m.value) for m in at.markdown]
    assert any(t.startswith(f"**{later}**: ") and "descendants of the defective lots" in t
               for t in texts), texts
    at = ran(FORWARD)
    at = _pick(at, "fwd_machine", {"points": [{"x": later, "y": 1}], "point_indices": [0],
                                   "box": [], "lasso": []})
    assert later in (context_open(at) or "")
    # a handled selection does not reopen a dismissed context on the next run
    at.query_params.pop("machine", None)
    at.session_state["machine_ctx"] = None
    at.run()
    assert context_open(at) is None


def _labels(d: Any) -> dict[str, str | None]:
    config = json.loads(d.proto.columns or "{}")
    return {c: (config.get(c) or {}).get("label") for c in d.value.columns}


def _assert_labelled(d: Any) -> None:
    """Every column of the table is registered (core.labels or a glossary measure) and
    shown under its zh-TW label, never its raw name; the reason × station matrix' columns
    are the data's station groups."""
    shown = _labels(d)
    cols = list(shown)
    if cols[0] == "reason" and not any(labels.known(c) for c in cols[1:]):
        cols = cols[:1]  # the matrix: station groups from the data are its columns
    for col in cols:
        assert labels.known(col), (col, shown)
        assert shown[col] == labels.label(col) and shown[col] != col, (col, shown)


@pytest.mark.parametrize("params", [BACKWARD, FORWARD])
def test_zh_tw_pages_speak_the_factory_words_and_label_every_column(
    on_tiny: Path, params: dict[str, str],  # noqa: F811
) -> None:
    set_language("zh-TW")
    at = ran({**params, "lang": "zh-TW"})
    texts = " ".join([t.value for t in at.title] + [m.label for m in at.metric]
                     + [t.label for t in at.tabs] + [s.label for s in at.selectbox])
    assert "偵測站" in texts and "不良率" in texts, texts
    assert at.title[0].value == "不良追溯"
    assert at.dataframe and unlabelled_columns(at) == []  # the shared check, and ours:
    for d in at.dataframe:
        _assert_labelled(d)
    if params is BACKWARD:
        cards = [md_unescape(m.value) for m in at.markdown if m.value.startswith("**#")]
        assert cards and "個 LOT 中有" in cards[0] and "不良率" in cards[0], cards
        assert any(t.label == "可疑來源" for t in at.tabs)
    contain = open_contain({"kind": "machine", "name": "DB-003", "start": "2026-09-01",
                            "end": "2026-11-20", "lang": "zh-TW"})
    assert contain.title[0].value == "圍堵"
    assert contain.dataframe and unlabelled_columns(contain) == []
    for d in contain.dataframe:
        _assert_labelled(d)


def test_containment_tables_read_as_words(on_tiny: Path) -> None:  # noqa: F811
    set_language("zh-TW")
    at = open_contain({"kind": "machine", "name": "DB-003", "start": "2026-09-01",
                       "end": "2026-11-20", "lang": "zh-TW"})
    hold = table(at, "qty_pcs").value
    assert set(hold["role"]) <= {"經過", "子批次", "晶圓來源"}, set(hold["role"])
    assert not hold["hold_reason"].isna().any()  # blank, not "None"
    assert set(hold["hold_type"]) <= {"", "品質異常", "非品質異常"}


def test_a_forward_pareto_says_what_its_ten_bars_leave_out(on_tiny: Path) -> None:  # noqa: F811
    at = ran({**FORWARD, "tab": "reason"})
    reasons = next(d.value for d in at.dataframe if "reason" in d.value.columns
                   and "downstream_rate_pct" in d.value.columns)
    assert len(reasons) > 10, len(reasons)  # the demo books many reasons downstream
    bars = next(t for t in figure(at, "fwd_reason")["data"] if t["type"] == "bar")
    assert len(bars["x"]) == 10
    rest = reasons["downstream_rejects"].iloc[10:].sum()
    notes = [md_unescape(c.value) for c in at.caption if "Not drawn: the other" in c.value]
    assert notes == [f"Not drawn: the other {len(reasons) - 10}, with {rest:,} pcs rejected "
                     "there."], notes
