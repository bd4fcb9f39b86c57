# ruff: noqa: F811  (fixtures imported from test_app_pages are parameters here)
"""The frame's share of issue 17 and 19: the catalog, the choice of language, the CLI's
language and CSV headers, the not-found page, the demo's snapshot and the shared charts.

Why: the language is chosen once per run from four places in a fixed order (URL, the
session's pick, the setting, the browser); each page then only calls _(). These tests
drive the real app with AppTest on the tiny demo database, the CLI through its main,
and the catalog through Babel.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core import export, i18n
from core.cli import main
from tests.i18n_checks import unlabelled_columns, zh_terms_missing
from tests.test_app_pages import (  # noqa: F401 (fixtures)
    APP,
    TIMEOUT_S,
    _clear_caches,
    app_env,
    on_tiny,
    tiny_db,
)

PO = i18n.LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "mesdash.po"
POT = i18n.LOCALE_DIR / "messages.pot"


def _app(lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    if lang:
        at.query_params["lang"] = lang
    return at


def _sidebar_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("caption", "markdown", "warning")
                     for e in getattr(at.sidebar, kind))


def _lang(at: AppTest) -> str:
    """The language the frame drew the sidebar in (the pages are their helpers')."""
    assert not at.exception, [e.value for e in at.exception]
    text = _sidebar_text(at)
    return "zh-TW" if "資料時間" in text else "en" if "Data as of" in text else "?"


# --- the catalog ------------------------------------------------------------------------------


def test_every_message_of_the_catalog_has_a_zh_tw_translation() -> None:
    """Whole catalog: fails while any page's messages are untranslated (pages are
    translated by their own branches; the lead merges them)."""
    from babel.messages.pofile import read_po

    with POT.open("rb") as f:
        template = read_po(f)
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh_TW")
    missing, fuzzy = [], []
    for message in template:
        if not message.id:
            continue
        have = catalog.get(message.id, message.context)
        strings = (have.string if have is not None else None) or ()
        strings = (strings,) if isinstance(strings, str) else strings
        if have is None or not strings or not all(strings):
            missing.append(message.id)
        elif have.fuzzy:
            fuzzy.append(message.id)
    assert not fuzzy, fuzzy[:20]
    assert not missing, f"{len(missing)} untranslated, e.g. {missing[:10]}"


def test_the_frame_speaks_the_terms_file() -> None:
    i18n.set_language("zh-TW")
    try:
        from core import fmt
        from core.i18n import _

        assert fmt.duration(2 * 86_400 + 5 * 3_600) == "2 天 5 小時"
        assert _("Cancel query") == "取消查詢"
        assert _("Data as of") == "資料時間"
        from core.paging import PageSlice
        from dashboard.widgets.tables import page_caption

        assert page_caption(PageSlice(3, 10, 50, 482)) == "第 3 / 10 頁，共 482 筆"
        from dashboard import state

        assert state.choose_options() == "請選擇（可複選）"
        assert "⚠ 資料可能過期" in _("{text}. The live snapshot is older than {limit}: it may "
                                    "be stale.")
        from datetime import date

        from core.dates import DateInputError, check_range

        with pytest.raises(DateInputError, match="結束日期不可早於開始日期"):
            check_range(date(2026, 11, 30), date(2026, 11, 1), 31, "x")
        with pytest.raises(DateInputError, match="查詢範圍不可超過 31 天"):
            check_range(date(2026, 1, 1), date(2026, 11, 1), 31, "x")
        from core import glossary

        m = next(iter(glossary.GLOSSARY.values()))
        assert m.help() != m.definition and m.help()  # Measure.help() translates
    finally:
        i18n.set_language("en")


# --- language choice in the app ---------------------------------------------------------------


def test_language_precedence_url_then_pick_then_setting(on_tiny: Path,
                                                        app_env: pytest.MonkeyPatch) -> None:
    app_env.setenv("MES_LANGUAGE", "zh-TW")  # the setting: zh-TW ...
    at = _app()
    at.run()
    assert _lang(at) == "zh-TW"
    at = _app("en")  # ... the URL wins over it
    at.run()
    assert _lang(at) == "en"
    # the session's pick wins over the setting on later runs without lang in the URL
    at = _app()
    at.run()
    at.selectbox(key="mesdash.lang_picker").set_value("en").run()
    assert _lang(at) == "en"
    del at.query_params["lang"]
    at.run()
    assert _lang(at) == "en"
    # and a lang in the URL wins over the session's pick
    at.query_params["lang"] = "zh-TW"
    at.run()
    assert _lang(at) == "zh-TW"


def test_the_browser_locale_counts_last(on_tiny: Path, app_env: pytest.MonkeyPatch) -> None:
    at = _app()
    at.context["locale"] = "zh-Hant-TW"  # navigator.language of a Taiwanese browser
    at.run()
    assert _lang(at) == "zh-TW"
    at = _app()
    at.context["locale"] = "en-US"
    at.run()
    assert _lang(at) == "en"
    app_env.setenv("MES_LANGUAGE", "en")  # the setting wins over the browser
    _clear_caches()  # settings are read once per process
    at = _app()
    at.context["locale"] = "zh-TW"
    at.run()
    assert _lang(at) == "en"
    at = _app("zh-TW")  # and the URL over both
    at.context["locale"] = "en-US"
    at.run()
    assert _lang(at) == "zh-TW"


def test_the_sidebar_switch_changes_the_language_and_the_url(on_tiny: Path) -> None:
    at = _app()
    at.run()
    assert _lang(at) == "en"
    at.selectbox(key="mesdash.lang_picker").set_value("zh-TW").run()
    assert _lang(at) == "zh-TW"
    assert at.selectbox(key="mesdash.lang_picker").value == "zh-TW"
    assert at.query_params["lang"] in ("zh-TW", ["zh-TW"])


def test_system_page_in_zh_tw_has_labelled_columns(on_tiny: Path) -> None:
    at = _app("zh-TW")
    at.run()
    at.switch_page("views/system.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "系統"
    assert unlabelled_columns(at) == []
    assert zh_terms_missing(at, ["資料庫", "設定", "允許值", "不良率"]) == ["不良率"]


# --- unknown pages ----------------------------------------------------------------------------


def test_an_unknown_page_id_says_the_page_does_not_exist(on_tiny: Path) -> None:
    """AppTest asks for pages by id (a real browser by path: tests/test_browser_i18n.py);
    an id no page has is what an old tab sends after an upgrade renamed a page."""
    at = _app()
    at.run()
    at._page_hash = calc_hash("nonexistent")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Page not found"
    links = [e.proto.label for e in at.get("page_link")]
    assert links == ["Trace", "Defect trace", "Reject history", "WIP hold", "Containment",
                     "System"], links


# --- the demo's snapshot ----------------------------------------------------------------------


def test_the_demo_says_demo_data_instead_of_a_stale_warning(
        app_env: pytest.MonkeyPatch, tiny_db: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo.duckdb"
    shutil.copyfile(tiny_db, demo)
    app_env.setenv("MES_DEMO_DB_PATH", str(demo))  # no MES_DB_URL: the demo
    at = _app()
    at.run()
    assert not at.exception
    assert not at.sidebar.warning, [w.value for w in at.sidebar.warning]
    assert "demo data" in _sidebar_text(at)
    assert not at.get("status")  # no first-run box
    # the same snapshot from a configured database is stale, and says so
    app_env.setenv("MES_DB_URL", f"duckdb:///{demo}")
    _clear_caches()
    at = _app()
    at.run()
    assert any("stale" in w.value for w in at.sidebar.warning)


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_lang_translates_messages_and_keeps_json_keys(
        capsys: pytest.CaptureFixture[str], tiny_db: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.delenv("MES_LANGUAGE", raising=False)
    url = f"duckdb:///{tiny_db}"
    args = ["rejects", "--start", "2026-11-30", "--end", "2026-11-01", "--db", url]
    try:
        assert main(["--lang", "zh-TW", *args]) == 1
        assert "結束日期不可早於開始日期" in capsys.readouterr().err
        assert main([*args, "--lang", "en"]) == 1  # after the command too
        assert "is before the start date" in capsys.readouterr().err
        keys = {}
        for lang in ("en", "zh-TW"):
            assert main(["--lang", lang, "db", "check", "--json", "--db", url]) == 0
            keys[lang] = sorted(json.loads(capsys.readouterr().out))
        assert keys["en"] == keys["zh-TW"] and keys["en"]
        monkeypatch.setenv("MES_LANGUAGE", "zh-TW")  # the setting, without --lang
        assert main(args) == 1
        assert "結束日期不可早於開始日期" in capsys.readouterr().err
    finally:
        i18n.set_language("en")
        export.use_raw_headers(False)


def test_raw_headers_flag_keeps_column_names_in_csv() -> None:
    import pyarrow as pa

    from core.cli import apply_global_flags, build_parser

    table = pa.table({"lotid": ["A"], "mfgordername": ["W"]})
    try:
        args = build_parser().parse_args(["db", "check", "--raw-headers"])
        apply_global_flags(args, None)
        assert export.csv_bytes(table).decode("utf-8-sig").splitlines()[0] == \
            "lotid,mfgordername"
        args = build_parser().parse_args(["--lang", "zh-TW", "db", "check"])
        apply_global_flags(args, None)
        assert export.csv_bytes(table).decode("utf-8-sig").splitlines()[0] == \
            "LOT ID,WORKORDER"
    finally:
        i18n.set_language("en")
        export.use_raw_headers(False)


# --- shared charts ----------------------------------------------------------------------------


@pytest.mark.parametrize("n,text", [(3, "Solder ball bridge"), (6, "站點群組異常原因 1"),
                                    (12, "Solder ball bridge defect"), (20, "x" * 30),
                                    (60, "站點群組異常原因")])
def test_pareto_category_labels_never_overlap(n: int, text: str) -> None:
    from dashboard.widgets.charts import (
        LINE_PX,
        PLOT_WIDTH_PX,
        TICK_FONT_PX,
        category_ticks,
        text_px,
    )

    labels = [f"{text} {i}" for i in range(n)]
    ticks = category_ticks(labels)
    slot = PLOT_WIDTH_PX / n
    if ticks["mode"] == "level":  # each wrapped line fits its slot
        for shown in ticks["ticktext"]:
            assert all(text_px(line) <= slot for line in shown.split("<br>")), shown
    elif ticks["mode"] == "slanted":  # neighbours are a line apart across the slant
        assert slot * math.sin(math.radians(45)) >= LINE_PX
    else:
        assert ticks["tickangle"] == -90
        assert slot >= ticks["tickfont"]["size"] * 1.2 or ticks["tickfont"]["size"] == 8
    assert ticks["mode"] == ("level" if n == 3 else ticks["mode"])
    if n == 60:
        assert ticks["mode"] == "upright" and ticks["tickfont"]["size"] < TICK_FONT_PX


def test_pareto_has_a_legend_for_every_colour_and_whole_count_ticks() -> None:
    from dashboard.widgets.charts import OTHERS_COLOR, pareto_figure

    fig = pareto_figure(["a", "b", "others (3 more)"], [3, 2, 1], [50, 83, 100],
                        bar_name="lots")
    names = [t.name for t in fig.data]
    assert fig.layout.showlegend is True
    assert len(names) == 4 and "Cumulative %" in names
    assert any(t.marker.color == OTHERS_COLOR for t in fig.data if t.type == "bar"
               and t.name != "lots")
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.tickformat == ",d"


def _kpi_script() -> None:
    import streamlit as st

    from core import glossary, i18n
    from dashboard.widgets.kpis import Kpi, kpi_row, measure_kpi

    i18n.set_language(st.query_params.get("lang", "en"))
    key = next(iter(glossary.GLOSSARY))
    kpi_row([measure_kpi(key, "1,234"), Kpi("Plain", "5", "its help")])


def test_kpi_row_labels_and_help_come_from_the_glossary() -> None:
    from core import glossary

    key = next(iter(glossary.GLOSSARY))
    for lang in ("en", "zh-TW"):
        at = AppTest.from_function(_kpi_script, default_timeout=TIMEOUT_S)
        at.query_params["lang"] = lang
        at.run()
        assert not at.exception
        first, second = at.metric
        assert first.label == glossary.label(key, lang) and first.value == "1,234"
        i18n.set_language(lang)
        try:
            assert first.proto.help == glossary.help_text(key)
        finally:
            i18n.set_language("en")
        assert second.label == "Plain" and second.proto.help == "its help"
    assert first.label != glossary.label(key, "en")  # zh differs from en


def _tables_script() -> None:
    import pandas as pd
    import streamlit as st

    from core import i18n
    from dashboard.widgets import tables

    i18n.set_language(st.query_params.get("lang", "en"))
    df = pd.DataFrame({"lotid": ["A"], "mfgordername": ["W"], "RUN": [1], "defective_lots": [2]})
    st.dataframe(df)  # raw: every machine name flagged
    tables.show(df[["lotid", "mfgordername", "RUN"]])  # labelled
    st.dataframe(df[["defective_lots"]], column_config={"defective_lots": "bad lots"})


def test_unlabelled_columns_and_zh_terms_helpers() -> None:
    from core import labels

    at = AppTest.from_function(_tables_script, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = "zh-TW"
    at.run()
    assert not at.exception
    expected = [(0, "lotid"), (0, "mfgordername"), (0, "defective_lots")]
    if not labels.known("defective_lots"):  # unregistered: flagged even with a page label
        expected.append((2, "defective_lots"))
    assert sorted(unlabelled_columns(at)) == sorted(expected)
    assert zh_terms_missing(at, ["LOT ID", "WORKORDER", "工單"]) == ["工單"]


def test_contain_csv_headers_follow_raw_headers_and_lang(tmp_path: Path) -> None:
    """`mesdash contain --csv` (a subprocess on the hand-built factory of test_contain):
    --raw-headers writes the column names, otherwise the labels in --lang's language."""
    import csv as _csv
    import os
    import subprocess
    import sys
    import uuid

    from core import labels
    from tests.test_contain import ROOT, load

    url = f"duckdb:///{tmp_path / 'factory.duckdb'}"
    schema = f"contain_{uuid.uuid4().hex[:8]}"
    load(url, schema)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}

    def header(*flags: str) -> list[str]:
        out = tmp_path / f"hold{uuid.uuid4().hex[:6]}.csv"
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", *flags, "contain", "--db", url, "--machine",
             "M1", "--start", "2026-11-03", "--end", "2026-11-06", "--csv", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**clean, "PYTHONPATH": str(ROOT), "MES_SCHEMA": schema})
        assert done.returncode == 0, done.stderr
        with out.open(encoding="utf-8-sig") as f:
            return next(_csv.reader(f))

    raw = header("--raw-headers")
    assert "containerid" in raw and "status" in raw, raw  # registered columns
    i18n.set_language("zh-TW")
    try:
        zh = header("--lang", "zh-TW")
        assert zh == labels.headers(raw) and "狀態" in zh, zh
    finally:
        i18n.set_language("en")
    en = header()
    assert en == labels.headers(raw) and "Container ID" in en and "containerid" not in en


def test_trend_days_read_yyyy_mm_dd_and_partial_periods_have_a_legend() -> None:
    from dashboard.widgets.charts import trend_figure

    fig = trend_figure(["2026-11-01", "2026-11-02"], [("lots", [1, 2])], [False, True],
                       y_title="lots")
    assert fig.layout.xaxis.tickformat == "%Y-%m-%d"
    assert [t.name for t in fig.data] == ["lots", "partial period"]
    assert fig.layout.yaxis.dtick == 1  # lots tick on whole numbers
    weeks = trend_figure(["2026-W45"], [("lots", [1])], [False], y_title="lots")
    assert weeks.layout.xaxis.tickformat is None and len(weeks.data) == 1
