"""Reject history: after "Reset filters" the controls the browser shows, the URL and the
numbers agree, also after switching the trend period and the Pareto; everything a user
sets (toggles, filters, period, Pareto dimension, measure and top 80 %, a clicked bar,
sort, direction, page and size) is in the URL and a fresh session opened with it shows
the same controls and numbers (issue 19, items 1 and 2). The browser model is
tests/test_holds_urls.Browser."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_app_pages import app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_holds_urls import Browser, controls, numbers, same_as_fresh, url
from tests.test_rejects_page import _open

BASE = {"run": ["1"], "start": ["2026-09-01"], "end": ["2026-11-19"]}


def open_url(params: dict[str, list[str]]) -> AppTest:
    return _open(dict(params))


def test_reset_switch_back(on_tiny: Path) -> None:  # noqa: F811
    b = Browser()
    at = open_url(BASE)
    b.saw(at)
    fresh = numbers(at)
    groups = at.multiselect(key="rj_f_station_group").options
    b.set(at, at.toggle(key="rj_include_excluded"), True)
    b.set(at, at.toggle(key="rj_include_pb"), True)
    b.set(at, at.multiselect(key="rj_f_station_group"), [groups[0]])
    assert url(at)["t_excluded"] == ["1"] and url(at)["f_station_group"] == [groups[0]]
    assert numbers(at)["metrics"] != fresh["metrics"]
    assert not b.disagree(at)
    same_as_fresh(at, open_url)

    b.click(at, "Reset filters")
    assert not b.disagree(at), b.disagree(at)
    assert not at.toggle(key="rj_include_excluded").value
    assert not at.toggle(key="rj_include_pb").value
    assert at.multiselect(key="rj_f_station_group").value == []
    for param in ("t_excluded", "t_pb", "f_station_group"):
        assert param not in url(at), param
    assert numbers(at) == fresh
    same_as_fresh(at, open_url)

    b.set(at, at.segmented_control(key="rj_grain"), "week")  # another view of the data
    assert not b.disagree(at), b.disagree(at)
    b.set(at, at.segmented_control(key="rj_grain"), "day")
    assert not b.disagree(at), b.disagree(at)
    assert "t_excluded" not in url(at) and not at.toggle(key="rj_include_excluded").value
    assert numbers(at) == fresh
    same_as_fresh(at, open_url)


def test_a_period_and_a_bar_are_reset_too(on_tiny: Path) -> None:  # noqa: F811
    """A clicked trend period and pareto bar live in the URL (a click sets them): a reset
    drops both, and the numbers are the unfiltered ones again."""
    b = Browser()
    at = open_url(BASE)
    fresh = numbers(at)
    b.saw(at)
    at = open_url({**BASE, "period": ["2026-10-01"], "sel_dim": ["station_group"],
                   "sel_val": ["TMTT"]})
    b.saw(at)
    assert numbers(at)["metrics"] != fresh["metrics"]
    assert any(btn.label.startswith("Clear bar filter") for btn in at.button)
    b.click(at, "Reset filters")
    assert not b.disagree(at), b.disagree(at)
    assert not {"period", "sel_dim", "sel_val"} & set(url(at))
    assert not any(btn.label.startswith("Clear") for btn in at.button)
    assert numbers(at) == fresh


def test_every_choice_is_in_the_link(on_tiny: Path) -> None:  # noqa: F811
    b = Browser()
    at = open_url(BASE)
    b.saw(at)
    b.set(at, at.toggle(key="rj_include_non_nnn"), True)
    b.set(at, at.selectbox(key="rj_dim"), "machine")
    b.set(at, at.segmented_control(key="rj_measure"), "defect")
    b.set(at, at.toggle(key="rj_top80"), True)
    b.set(at, at.selectbox(key="rj_sort"), "charged")
    b.set(at, at.toggle(key="rj_desc"), False)
    b.set(at, at.number_input(key="rj.size"), 2)
    b.set(at, at.number_input(key="rj.page"), 3)
    u = url(at)
    assert (u["dim"], u["measure"], u["top80"], u["sort"], u["asc"], u["size"], u["page"]) \
        == (["machine"], ["defect"], ["1"], ["charged"], ["1"], ["2"], ["3"])
    assert not b.disagree(at), b.disagree(at)
    same_as_fresh(at, open_url)
    fresh = open_url(u)
    assert controls(fresh)["rj_dim"] == "machine"
    assert controls(fresh)["rj.page"] == 3
