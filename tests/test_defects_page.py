"""The Defect trace page through Streamlit's AppTest, on the tiny demo: a shared link
(URL state) runs the analysis as a background job and renders KPIs, paretos, lot detail
and summary; bad input is a clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import glossary
from core.config import load_settings
from core.text import md_unescape, plain
from dashboard.job_manager import get_job_manager
from tests.test_app_pages import _app, _assert_clean, app_env, on_tiny, tiny_db  # noqa: F401

PAGE = "views/defect_trace.py"


def open_page(params: dict[str, str | list[str]]) -> AppTest:
    at = _app()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    return at


def ran(params: dict[str, str | list[str]]) -> AppTest:
    """The page for a link, after the job it started finished, without an exception."""
    at = open_page(params)
    finish_jobs()
    at.run()
    _assert_clean(at)
    return at


def finish_jobs() -> None:
    manager = get_job_manager(load_settings())
    for job in manager.jobs():
        assert job.wait(120), "defect job did not finish"


def test_shared_link_runs_the_analysis_and_shows_results(on_tiny: Path) -> None:  # noqa: F811
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
    at = open_page(params)
    _assert_clean(at)
    finish_jobs()
    at.run()
    _assert_clean(at)
    labels = {m.label for m in at.metric}
    keys = ("detection_lots", "defective_lots", "detection_input", "detection_defects",
            "detection_charged", "detection_uncharged", "detection_defect_rate_pct",
            "top_reason", "affected_machines")
    assert {glossary.label(key) for key in keys} <= labels  # labels from the glossary
    assert all(m.help for m in at.metric)
    lots = next(m.value for m in at.metric if m.label == glossary.label("detection_lots"))
    assert int(lots.replace(",", "")) > 0
    # the defects card says its parts: charged + uncharged
    card = next(m for m in at.metric if m.label == glossary.label("detection_defects"))
    assert "charged +" in card.help and "uncharged" in card.help
    assert any("Fisher exact" in m.value for m in at.markdown)
    assert len(at.tabs) >= 8 and at.dataframe  # paretos and lot detail
    # sorting by lift re-renders without a new job or an exception
    at.radio(key="sort_machine").set_value("lift").run()
    _assert_clean(at)


@pytest.mark.parametrize(("params", "needle"), [
    ({"start": "2026-11-20", "end": "2026-09-01"}, "before the start date"),
    ({"start": "2026-01-01", "end": "2026-11-20"}, "longest allowed is 180 days"),
    ({"start": "yesterday", "end": "2026-11-20"}, "is not a date"),
    ({"station": "NOPE", "start": "2026-09-01", "end": "2026-09-02"}, "Unknown detection"),
])
def test_bad_link_is_a_clear_message(on_tiny: Path, params: dict[str, str],  # noqa: F811
                                     needle: str) -> None:
    at = open_page({"station": "TMTT", **params, "run": "1"})
    _assert_clean(at)
    assert any(needle in e.value for e in at.error), [e.value for e in at.error]


def test_list_mode_link_runs_and_reports_unmatched(on_tiny: Path) -> None:  # noqa: F811
    import duckdb

    with duckdb.connect(str(on_tiny), read_only=True) as con:
        lot = con.execute(
            "SELECT c.containername FROM dwh.dw_mes_lotwiphistory h JOIN dwh.dw_mes_container c"
            " USING (containerid) WHERE h.workcentername = 'TMTT' LIMIT 1").fetchall()[0][0]
    at = open_page({"station": "TMTT", "seed_kind": "lot", "seed": [lot, "NO-SUCH-LOT"],
                    "run": "1"})
    _assert_clean(at)
    finish_jobs()
    at.run()
    _assert_clean(at)
    assert any("NO-SUCH-LOT" in plain(w.value) for w in at.warning)
    assert next(m.value for m in at.metric
                if m.label == glossary.label("detection_lots")) == "1"


def test_lot_detail_of_a_big_analysis_is_built_per_page_without_a_cache(
    on_tiny: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Over cache_max_ids seed lots the lot-detail page is built each time it is shown
    (no st.cache_data entry), and it shows the same rows."""
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
    monkeypatch.setenv("MES_CACHE_MAX_IDS", "1")
    at = ran(params)
    assert any("one per lot and loss reason" in c.value for c in at.caption)
    lot_tables = [d.value for d in at.dataframe if "upstream_machines" in d.value.columns]
    assert lot_tables and len(lot_tables[0]) > 0


def test_forward_link_shows_downstream_kpis_and_rates(on_tiny: Path) -> None:  # noqa: F811
    # detection at trim/form: the demo books rejects at later stations (元件切割, TMTT)
    params = {"station": "切彎腳", "start": "2026-09-01", "end": "2026-11-20",
              "direction": "forward", "run": "1"}
    at = ran(params)
    labels = {m.label for m in at.metric}
    assert {glossary.label(k) for k in ("defective_input", "downstream_rejects",
                                        "downstream_uncharged", "detection_charged")} <= labels
    tables = [d.value for d in at.dataframe if "station_group" in d.value.columns
              and "downstream_rejects" in d.value.columns]
    assert tables and {"downstream_input", "downstream_uncharged",
                       "downstream_rate_pct"} <= set(tables[0].columns)
    station = tables[0]
    assert (station["downstream_input"] > 0).all()
    assert (station["downstream_rate_pct"] > 0).all()
    # the forward view completed: amplification, per lot, reason × station
    assert glossary.label("amplification") in labels
    assert {"By lot", "Reason × station"} <= {t.label.split(" ·")[0] for t in at.tabs}
    per_lot = next(d.value for d in at.dataframe if "worst_station" in d.value.columns)
    assert len(per_lot) > 0 and (per_lot["downstream_rejects"] >= 0).all()


def test_forward_with_nothing_downstream_says_so_once(on_tiny: Path) -> None:  # noqa: F811
    # TMTT is the last station group with rejects in the tiny demo
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20",
              "direction": "forward", "run": "1"}
    at = ran(params)
    infos = [md_unescape(i.value) for i in at.main.info]
    assert len([i for i in infos if i.startswith("Nothing to show downstream")]) == 1, infos
    assert not any("No rejects of the defective lots" in i for i in infos)


def test_the_analysis_opens_on_ranked_suspects_and_the_sort_is_in_the_link(
    on_tiny: Path,  # noqa: F811
) -> None:
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
    at = ran(params)
    assert at.tabs[0].label == "Suspects"
    cards = [md_unescape(m.value) for m in at.tabs[0].markdown
             if m.value.startswith("**#")]
    assert cards and cards[0].startswith("**#1"), cards
    assert "lots passed it" in cards[0] and "q =" in cards[0]
    # the per-kind tabs open sorted by evidence; a new sort goes into the link
    assert at.radio(key="sort_machine").value == "evidence"
    at.radio(key="sort_machine").set_value("lift").run()
    _assert_clean(at)
    assert at.query_params["sort"] in ("lift", ["lift"])
    again = open_page({**params, "sort": "rate"})
    finish_jobs()
    again.run()
    assert again.radio(key="sort_material").value == "rate"


def test_the_suspect_window_shows_since_when_and_leads_to_containment(
    on_tiny: Path,  # noqa: F811
) -> None:
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"}
    at = ran(params)
    assert any(h.value.startswith("Suspect window") for h in at.subheader)
    pick = at.selectbox(key="window_of")
    assert pick.options[0].startswith(pick.value.rpartition(" / ")[2])  # the first suspect
    texts = [md_unescape(m.value) for m in at.markdown]
    assert any(t.startswith(("Elevated from", "No run of elevated")) for t in texts)
    assert any(t.startswith("Chosen window") for t in texts), texts
    radio = next(r for r in at.radio if (r.key or "").startswith("window_period_"))
    other = "day" if radio.value == "week" else "week"
    radio.set_value(other).run()
    _assert_clean(at)
    assert at.query_params["window_period"] in (other, [other])
    button = next((b for b in at.button if b.key == "contain_window"), None)
    if button is not None:
        at = button.click().run()
        _assert_clean(at)
        assert [t.value for t in at.title] == ["Containment"]


def test_a_machine_context_shows_its_rate_over_time_jobs_and_lots(
    on_tiny: Path,  # noqa: F811
) -> None:
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1",
              "machine": "焊接_DB / DB-003"}
    at = ran(params)
    assert at.selectbox(key="ctx_machine").value == "焊接_DB / DB-003"
    assert any(c.value.startswith("Maintenance jobs (") for c in at.caption)
    lots = next(d.value for d in at.dataframe if "containername" in d.value.columns
                and "passed_at" in d.value.columns)
    assert len(lots) > 0 and lots["passed_at"].notna().all()
    assert any(md_unescape(m.value).startswith("DB-003 (焊接_DB") for m in at.markdown)
    at.selectbox(key="ctx_machine").set_value("–").run()
    _assert_clean(at)
    assert "machine" not in at.query_params


def test_machines_filter_by_station_group_from_the_link(on_tiny: Path) -> None:  # noqa: F811
    params = {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1",
              "mgroup": "焊接_DB"}
    at = ran(params)
    assert at.multiselect(key="machine_groups").value == ["焊接_DB"]
    machines = next(d.value for d in at.dataframe if "lift_note" in d.value.columns)
    assert len(machines) > 0 and machines["factor"].str.startswith("焊接_DB / ").all()
