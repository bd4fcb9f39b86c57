"""Markdown injection: planted links, images and HTML in a link's parameters and in the
data never become live markup on a page (issue 15, item 1).

Why: Streamlit renders markdown in alerts, captions, labels and tooltips, and plotly
renders ``<a href>`` in its labels. A shared link such as
``/trace?kind=lot&values=[Session expired - sign in](https://evil.example/login)`` showed a
working link inside the dashboard's own warning box, and ``![b](http://host/beacon.png)``
made every viewer's browser fetch a remote image. Every such text goes through
``core.text.md_escape`` (plotly labels through ``dashboard.widgets.charts.plot_label``).

The pages run in AppTest on a copy of the tiny demo whose every name-like text column (lot
names, work orders, loss and hold reasons, comments, stations, machines, packages) ends in
the planted markup, with every URL parameter each page reads set to it as well (and with
valid base parameters, so the results render the planted data). Each run must show the
planted text (escaped) somewhere and nowhere as a link, an image or HTML.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core import glossary
from core.text import md_escape, md_join, plain
from dashboard.widgets.charts import pareto_figure, plot_label
from tests.hostile import (
    IMAGE,
    LINK,
    PLANT,
    live_markup,
    open_page,
    page_params,
    plant_text_columns,
    planted_shown,
    unexpected_failures,
)
from tests.test_app_pages import _app, app_env  # noqa: F401

# Every page file (System last: it reads no data), so a new page is covered by itself.
PAGES = tuple(sorted((p.name for p in (Path(__file__).resolve().parents[1] / "dashboard"
                                        / "views").glob("*.py")),
                     key=lambda name: (name == "system.py", name)))
SUFFIX = " " + PLANT


# --- the helpers themselves --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    LINK, IMAGE, "<a href='https://evil.example'>x</a>", "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` # h1 > quote | a | b |", ":red[colour] :material/home: $x^2$",
    "www.evil.example and https://evil.example and a@evil.example", "1. list\n- item",
    "back\\slash \\[not escaped\\]", "&lt;entity&gt; &amp;",
])
def test_md_escape_leaves_no_markup_and_plain_gives_the_text_back(text: str) -> None:
    out = md_escape(text)
    # every ASCII punctuation character is escaped, none is left bare
    assert not re.search(r"(?<!\\)[\[\]()<>!*_`#|:$&@.]", out.replace("\\\\", "")), out
    assert "\n" not in out
    # GFM autolinks are found after escapes are undone: none may be left there either
    assert not re.search(r"https?://|www\.|\w@\w", re.sub(r"\\(.)", r"\1", out)), out
    assert plain(out) == text.replace("\n", " ")
    assert plain(f"**Label.** {out}") == f"Label. {text}".replace("\n", " ")


def test_md_join_escapes_each_value() -> None:
    assert md_join(["a]b", "c(d"]) == "a\\]b, c\\(d"
    assert md_escape(None) == ""


def test_plot_labels_show_html_literally_and_clicks_keep_the_value() -> None:
    raw = f"DB-003 {PLANT}"
    assert "<" not in plot_label(raw) and "&lt;a href" in plot_label(raw)
    fig = pareto_figure([raw, "others (3)"], [5, 1], [80.0, 100.0], bar_name="defects")
    bar = fig.data[0]
    assert list(bar.x) == [raw, "others (3)"]  # the category (what a click reports)
    assert all("<a" not in t and "<img" not in t for t in fig.layout.xaxis.ticktext)
    assert all("<a" not in t for t in bar.customdata)


# --- the pages on planted data -----------------------------------------------------------------

@pytest.fixture(scope="module")
def planted_db(demo_duckdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = Path(demo_duckdb_url.removeprefix("duckdb:///"))
    path = tmp_path_factory.mktemp("hostile_text") / "planted.duckdb"
    shutil.copyfile(source, path)
    columns = plant_text_columns(path)
    assert {"dw_mes_container.containername", "dw_mes_lotrejecthistory.lossreasonname",
            "dw_mes_holdreleasehistory.holdreasonname", "dw_mes_lot_v.holdreasonname",
            "dw_mes_lotrejecthistory.rejectcomment", "dw_mes_lotwiphistory.workcentername",
            "dw_mes_spec_workcenter_v.work_center_group"} <= set(columns)
    return path


@pytest.fixture
def on_planted(app_env: pytest.MonkeyPatch, planted_db: Path) -> Path:  # noqa: F811
    app_env.setenv("MES_DB_URL", f"duckdb:///{planted_db}")
    return planted_db


def _reason_at_tmtt(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT lossreasonname FROM dwh.dw_mes_lotrejecthistory "
            "WHERE workcentername LIKE 'TMTT%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]




def everything(page: str, **base: str | list[str]) -> dict[str, str | list[str]]:
    """Every parameter ``page`` reads set to the planted text, then ``base`` over it."""
    return {**dict.fromkeys(page_params(page), PLANT), **base}


def _check(at: AppTest, *, must_show: bool = True) -> None:
    assert not unexpected_failures(at), unexpected_failures(at)
    bad = live_markup(at)
    assert not bad, "\n".join(bad)
    if must_show:
        assert planted_shown(at), "the planted text never reached this page"


def test_every_page_reads_parameters() -> None:
    for page in PAGES[:-1]:
        assert len(page_params(page)) >= 4, page
    assert {"values", "kind", "direction", "domains"} <= set(page_params("trace.py"))
    assert {"c", "sel_val", "period", "page", "f_package"} <= set(page_params(
        "reject_history.py"))
    assert {"reason", "hreason", "day", "start", "type"} <= set(page_params("wip_hold.py"))


@pytest.mark.parametrize("page", PAGES)
def test_every_parameter_planted(on_planted: Path, page: str) -> None:
    at = open_page(page, everything(page))
    _check(at, must_show=page not in ("system.py", "defect_trace.py", "reject_history.py"))


def test_trace_results_of_planted_names(on_planted: Path) -> None:
    at = open_page("trace.py", {"kind": "lot", "values": f"GA2611107*\n{PLANT}"})
    assert any(m.label == "Containers" for m in at.metric), [e.value for e in at.error]
    _check(at)


def test_defect_trace_results_and_summary_of_planted_data(on_planted: Path) -> None:
    station = "TMTT" + SUFFIX
    reason = _reason_at_tmtt(on_planted)
    base = {"station": station, "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
    at = open_page("defect_trace.py", {**base, "reason": [reason]})
    lots = glossary.label("detection_lots")
    assert any(m.label == lots and m.value != "0" for m in at.metric), \
        [(m.label, m.value) for m in at.metric]
    assert any("evil\\.example" in m.value for m in at.markdown)  # the summary, escaped
    _check(at)
    at = open_page("defect_trace.py", {**base, "types": PLANT, "packages": PLANT})
    _check(at)  # no lot passed: the message and the summary name the filters
    at = open_page("defect_trace.py", {**base, "seed_kind": "lot", "seed": [PLANT, "GA26*"]})
    _check(at)
    at = open_page("defect_trace.py", everything("defect_trace.py", run="1"))
    _check(at)  # an unknown station, quoted


def test_reject_history_results_of_planted_data(on_planted: Path) -> None:
    rng = {"run": "1", "mode": "range", "start": "2026-09-10", "end": "2026-11-20"}
    at = open_page("reject_history.py", everything("reject_history.py", **rng))
    assert at.metric, [e.value for e in at.error]
    _check(at)
    at = open_page("reject_history.py", {**rng, "sel_dim": "reason", "sel_val": PLANT})
    _check(at)
    at = open_page("reject_history.py", {"run": "1", "mode": "list", "c": [PLANT, "GA26*"]})
    _check(at)


def test_wip_hold_live_and_history_of_planted_data(on_planted: Path) -> None:
    at = open_page("wip_hold.py", everything("wip_hold.py", view="live", type="all"))
    _check(at)
    at = open_page("wip_hold.py", everything(
        "wip_hold.py", view="history", type="all", start="2026-11-01", end="2026-11-20"))
    _check(at)
