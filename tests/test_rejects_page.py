"""The Reject history page through AppTest on the tiny demo: a shared link runs the query
and restores toggles and filters; changing them does not query again; bad links are
clear messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import glossary, labels
from core.jobs import JobManager
from core.rejects._load_job import KEY_PREFIX
from core.text import plain
from dashboard.job_manager import get_job_manager
from tests.i18n_checks import dataframe_columns
from tests.test_app_pages import APP, TIMEOUT_S, app_env, on_tiny, tiny_db  # noqa: F401

PAGE = "views/reject_history.py"


def _manager() -> JobManager:
    from dashboard import state

    return get_job_manager(state.get_settings())


def _open(params: dict[str, object]) -> AppTest:
    """The page for a link, after its load (a background job) has finished."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    if any(job.active for job in _manager().jobs()):
        for job in _manager().jobs():
            assert job.wait(120), "reject load did not finish"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _slow_queries() -> int:
    from dashboard import state

    return state.get_lanes(state.get_settings()).stats()["slow"]["queries"]


def test_shared_link_runs_and_restores(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"run": "1", "start": "2026-09-01", "end": "2026-11-19",
                "t_pb": "1", "f_station_group": "TMTT", "grain": "week"})
    assert [t.value for t in at.title] == ["Reject history"]
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics[glossary.label("charged")].replace(",", "")) > 0
    assert any(t.label == "PB_ diodes" and t.value for t in at.toggle)
    ms = next(m for m in at.multiselect if m.label == "Station group")
    assert ms.value == ["TMTT"]
    assert "PB_ packages counted" in " ".join(c.value for c in at.caption)
    assert at.dataframe, "detail table"
    before = _slow_queries()
    next(t for t in at.toggle if t.label == "Excluded").set_value(True).run()
    assert not at.exception
    assert at.query_params["t_excluded"] == ["1"] or at.query_params["t_excluded"] == "1"
    next(m for m in at.multiselect if m.label == "Station group").set_value([]).run()
    assert not at.exception
    assert _slow_queries() == before, "toggles and filters must not query again"


def test_a_bare_open_runs_the_default_range_into_the_url(on_tiny: Path) -> None:  # noqa: F811
    """The page managers open every morning shows the last days at once, and the link
    it leaves in the address bar reopens the same view."""
    from core.rejects._inputs import default_range
    from dashboard import state

    at = _open({})
    assert not at.error, [e.value for e in at.error]
    start, end = default_range(state.get_settings())
    assert at.query_params["run"] in ("1", ["1"])
    assert at.query_params["start"] in (start.isoformat(), [start.isoformat()])
    assert at.query_params["end"] in (end.isoformat(), [end.isoformat()])
    assert {m.label for m in at.metric} >= {glossary.label("charged"), glossary.label("movein")}


def test_a_link_that_names_its_range_runs_it_without_run(on_tiny: Path) -> None:  # noqa: F811
    """A typed or cut-short link (start and end, no run=1) runs that range; a link with
    only view settings runs the default range with them."""
    at = _open({"start": "2026-09-01", "end": "2026-11-19"})
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["run"] in ("1", ["1"])
    assert at.query_params["start"] in ("2026-09-01", ["2026-09-01"])
    assert {m.label for m in at.metric} >= {glossary.label("charged"), glossary.label("movein")}
    at = _open({"t_excluded": "1"})
    assert at.query_params["run"] in ("1", ["1"]) and "start" in at.query_params
    assert next(t for t in at.toggle if t.label == "Excluded").value
    at = _open({"mode": "list"})  # a list named by nothing waits for one
    assert not at.metric and any("then **Run**" in i.value for i in at.info)


def test_a_bare_open_waits_for_run_when_set_so(
    on_tiny: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("MES_REJECT_OPEN_RUNS_DEFAULT", "false")
    at = _open({})
    assert not at.metric and any("then **Run**" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"run": "1", "start": "2026-11-10", "end": "2026-11-01"}, "before the start date"),
        ({"run": "1", "start": "2024-01-01", "end": "2026-11-01"}, "the longest allowed"),
        ({"run": "1", "start": "2026-99-01", "end": "2026-11-01"}, "is not a date"),
        ({"run": "1", "mode": "list"}, "container list is empty"),
    ],
)
def test_bad_links_are_clear_messages(on_tiny: Path, params: dict, message: str) -> None:  # noqa: F811
    at = _open(params)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_unknown_filter_value_and_unmatched_list(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"run": "1", "start": "2026-09-01", "end": "2026-11-19",
                "f_package": "NO-SUCH-PKG"})
    assert any("Unknown Package ignored" in w.value for w in at.warning)
    at = _open({"run": "1", "mode": "list", "c": ["GA26*", "NOT-A-LOT"]})
    assert any("NOT-A-LOT" in plain(w.value) for w in at.warning), [w.value for w in at.warning]


def test_container_lists_over_the_cache_limit_are_never_cached(
    on_tiny: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A short list of work orders can expand to many containers: a load over
    cache_max_ids containers is its session's own (its filters slice it without a query)
    and is never served to another session, which loads the list again."""
    monkeypatch.setenv("MES_CACHE_MAX_IDS", "1")  # every real result is "too big" here
    at = _open({"run": "1", "mode": "list", "c": ["GA*"]})
    assert not at.error, [e.value for e in at.error]
    (job,) = [j for j in _manager().jobs() if j.key.startswith(KEY_PREFIX)]
    assert job.private and job.state == "done"
    before = _slow_queries()
    at.run()  # this session's rerun (a filter change): its own load, no query
    assert not at.exception and _slow_queries() == before
    other = _manager().submit(job.key, lambda j: None, label="x", owner="another session")
    assert other is not job, "another session must not get the big result"
    other.wait(10)
    # the session moves on to other inputs: its private result is dropped at once
    at.query_params["c"] = ["GA26*"]
    at.run()
    assert not at.exception and _manager().get(job.id) is None


def test_small_container_lists_are_cached(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"run": "1", "mode": "list", "c": ["GA*"]})
    assert not at.error, [e.value for e in at.error]
    before = _slow_queries()
    at.run()
    assert not at.exception and _slow_queries() == before
    (job,) = [j for j in _manager().jobs() if j.key.startswith(KEY_PREFIX)]
    assert not job.private
    shared = _manager().submit(job.key, lambda j: None, label="x", owner="another session")
    assert shared is job, "another session opening the same list gets the same load"
    again = _open({"run": "1", "mode": "list", "c": ["GA*"]})  # a new page, same link
    assert not again.error and _slow_queries() == before




def test_a_list_matching_too_much_is_a_message_and_stays_until_run(
    on_tiny: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A failed load (here: more matches than seed_max_matches) is a clear message, not
    a traceback, and reruns show it without loading again."""
    monkeypatch.setenv("MES_SEED_MAX_MATCHES", "1")
    at = _open({"run": "1", "mode": "list", "c": ["GA*"]})
    assert any("seed_max_matches" in plain(w.value) for w in at.warning), \
        [w.value for w in at.warning]
    before = _slow_queries()
    at.run()
    assert not at.exception and _slow_queries() == before
    assert any("seed_max_matches" in plain(w.value) for w in at.warning)


def shown_columns(el: object) -> dict[str, str]:
    """A dataframe element's columns and the labels the page gives them (a column
    without one shows its raw name)."""
    return {name: text or name for name, text in dataframe_columns(el).items()}


def _plotly_specs(at: AppTest) -> dict[str, dict]:
    """The page's plotly figures (as JSON) by widget key suffix (rj_trend, rj_pareto)."""
    import json

    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out["rj_pareto" if "yaxis2" in spec["layout"] else "rj_trend"] = spec
    return out


KPI_KEYS = ("charged", "defect", "total", "charged_share_pct", "movein", "reject_rate_pct",
            "defect_rate_pct", "lots", "workorders")


def test_every_measure_on_the_page_is_named_by_the_glossary(on_tiny: Path) -> None:  # noqa: F811
    """KPI labels and tooltips, chart axes, table and CSV headers of the measures come from
    core/glossary.py (rejects section); the uncharged defect rate is not called "Defect
    rate" (the defect trace's measure)."""
    at = _open({"run": "1", "start": "2026-09-03", "end": "2026-11-19", "grain": "month"})
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m for m in at.metric}
    assert set(metrics) == {glossary.label(k) for k in KPI_KEYS}
    for key in KPI_KEYS:
        assert metrics[glossary.label(key)].help.startswith(glossary.help_text(key)), key
    assert "Uncharged defect rate (%)" in metrics and "Defect rate" not in metrics
    specs = _plotly_specs(at)
    pareto = specs["rj_pareto"]["layout"]
    assert pareto["yaxis"]["title"]["text"] == glossary.label("charged")
    assert pareto["yaxis2"]["title"]["text"] == glossary.label("cum_pct")
    assert pareto["yaxis"]["tickformat"] == ",d"  # counts: whole-number ticks
    trend = specs["rj_trend"]
    assert trend["layout"]["yaxis"]["title"]["text"] == glossary.label("total")
    shown = [t["name"] for t in trend["data"]
             if t.get("hoverinfo") != "skip"]  # not the legend-only "partial period"
    assert shown == [glossary.label("charged", unit=False),
                     glossary.label("defect", unit=False)]
    tables = [shown_columns(df) for df in at.dataframe]
    pareto_table = next(t for t in tables if "reason" in t)
    assert {glossary.label(k) for k in ("charged", "defect", "movein", "lots", "share_pct",
                                        "cum_pct", "reject_rate_pct")} <= set(
        pareto_table.values())
    detail = next(t for t in tables if "lot" in t)
    assert detail["charged"] == glossary.label("charged")
    assert detail["moveinqty"] == labels.label("moveinqty")  # the event's move-in qty
    assert all(text != name for name, text in detail.items())  # every column labelled


def test_partial_periods_are_marked_and_said(on_tiny: Path) -> None:  # noqa: F811
    """2026-09-03 ~ 2026-11-19 by month: September (28 of 30 days) and November (19 of 30)
    are partial, October whole."""
    at = _open({"run": "1", "start": "2026-09-03", "end": "2026-11-19", "grain": "month"})
    assert not at.error, [e.value for e in at.error]
    trend = _plotly_specs(at)["rj_trend"]["data"][0]
    assert trend["x"] == ["2026-09", "2026-10", "2026-11"]
    assert trend["marker"]["pattern"]["shape"] == ["/", "", "/"]
    note = " ".join(c.value for c in at.caption)
    assert "2026-09 partial (28 of 30 days); 2026-11 partial (19 of 30 days)" in note
    el = next(df for df in at.dataframe if "coverage" in df.value.columns)
    assert shown_columns(el)["coverage"] == "Coverage of the period"
    assert list(el.value["coverage"]) == [
        "partial (28 of 30 days)", "whole", "partial (19 of 30 days)"]


@pytest.mark.parametrize(("dim", "said"), [
    ("workflow", "dw_mes_lot_v.workflowname"), ("machine", "counts for its first listed"),
])
def test_machine_and_workflow_paretos_say_how_they_count(
    on_tiny: Path, dim: str, said: str  # noqa: F811
) -> None:
    at = _open({"run": "1", "start": "2026-09-01", "end": "2026-11-19", "dim": dim})
    assert not at.error, [e.value for e in at.error]
    assert any(said in c.value for c in at.caption), [c.value for c in at.caption]
    table = next(df.value for df in at.dataframe if dim in df.value.columns)
    assert len(table) > 0
    if dim == "workflow":
        from core.rejects._workflow import UNKNOWN

        assert UNKNOWN in set(table["workflow"])  # finished lots have left WIP
    else:
        assert not table["machine"].str.contains(",").any()


def test_count_axes_never_tick_between_whole_numbers() -> None:
    """A pareto of 1 and 2 lots (WIP hold) or a trend of a few pieces: ticks on whole
    numbers; an axis of rates keeps plotly's own ticks."""
    from dashboard.widgets.charts import count_axis, pareto_figure, trend_figure

    fig = pareto_figure(["a", "b"], [2, 1], [66.7, 100.0], bar_name="lots")
    y = fig.layout.yaxis
    assert (y.tickmode, y.dtick, y.tickformat) == ("linear", 1, ",d")
    big = pareto_figure(["a", "b"], [1234, 17], [98.6, 100.0], bar_name="lots").layout.yaxis
    assert big.dtick >= 1 and float(big.dtick).is_integer()
    assert pareto_figure(["a"], [0.25], None, bar_name="rate").layout.yaxis.dtick is None
    trend = trend_figure(["2026-11"], [("charged", [3]), ("defect", [2])], [True],
                         y_title="pcs").layout.yaxis
    assert (trend.tickmode, trend.dtick) == ("linear", 1)
    assert count_axis([4, 12], top=None)["dtick"] == 5  # 12 / 5 ticks -> a step of 5
    assert count_axis([3, 4], top=60)["dtick"] == 20  # stacked: the top decides
