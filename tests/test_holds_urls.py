"""WIP hold: what a control shows is what the data uses, after any reset, and every view is
a link (issue 19, items 1 and 2).

AppTest reads a widget's value from the server's session state, while a browser keeps
showing its own value unless the server sends one (the proto's ``set_value``): deleting a
widget's state (the old "Reset filters") left the browser on Quality while the data
showed All, and the browser sent Quality back on the next click. ``Browser`` models that
rule, so a test sees what a user would see: after every step each control the browser
shows must equal the value the page computed with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core import glossary
from tests.test_app_pages import (  # noqa: F401 - fixtures
    _app,
    _assert_clean,
    app_env,
    on_tiny,
    tiny_db,
)

PAGE = "views/wip_hold.py"
KINDS = ("segmented_control", "multiselect", "selectbox", "toggle", "date_input",
         "number_input", "radio")


def widgets(at: AppTest) -> list[Any]:
    return [w for kind in KINDS for w in getattr(at, kind)]


class Browser:
    """What the browser shows for each control: its own value (what the user last set),
    replaced only by a value the server sends (``set_value``) or by a new control."""

    def __init__(self) -> None:
        self.shown: dict[str, bytes] = {}

    @staticmethod
    def _state(w: Any) -> bytes:
        return w._widget_state.SerializeToString(deterministic=True)

    def saw(self, at: AppTest) -> None:
        shown: dict[str, bytes] = {}
        for w in widgets(at):
            keep = w.id in self.shown and not w.proto.set_value
            shown[w.id] = self.shown[w.id] if keep else self._state(w)
        self.shown = shown

    def set(self, at: AppTest, w: Any, value: Any) -> AppTest:
        """The user sets ``w`` to ``value`` and the page reruns."""
        w.set_value(value)
        self.shown[w.id] = self._state(w)
        return self.run(at)

    def click(self, at: AppTest, label: str) -> AppTest:
        next(b for b in at.button if b.label == label).click()
        return self.run(at)

    def run(self, at: AppTest) -> AppTest:
        at.run()
        _assert_clean(at)
        self.saw(at)
        return at

    def disagree(self, at: AppTest) -> list[str]:
        """Controls whose shown value is not the value the page used."""
        return [f"{w.label} ({w.key})" for w in widgets(at)
                if self.shown.get(w.id) != self._state(w)]


def url(at: AppTest) -> dict[str, list[str]]:
    return {k: at.query_params.get_all(k) if hasattr(at.query_params, "get_all")
            else _as_list(at.query_params[k]) for k in at.query_params}


def _as_list(v: Any) -> list[str]:
    return list(v) if isinstance(v, list | tuple) else [str(v)]


def controls(at: AppTest) -> dict[str, Any]:
    """Every keyed control's value (the sidebar's language picker aside)."""
    return {w.key: w.value for w in widgets(at) if w.key and not w.key.startswith("mesdash")}


def numbers(at: AppTest) -> dict[str, Any]:
    """What the page shows as numbers: KPI cards, captions with counts, table sizes."""
    return {
        "metrics": {m.label: m.value for m in at.metric},
        "captions": sorted(c.value for c in at.caption if any(ch.isdigit() for ch in c.value)
                           and "Data as of" not in c.value and "資料時間" not in c.value),
        "tables": [len(d.value) for d in at.dataframe],
    }


def open_url(params: dict[str, list[str]], browser: Browser | None = None) -> AppTest:
    """A fresh session opened on a link."""
    at = _app()
    at.run()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    _assert_clean(at)
    if browser is not None:
        browser.saw(at)
    return at


def same_as_fresh(at: AppTest, opener: Any = open_url) -> None:
    """A fresh session opened with this URL shows the same controls and numbers."""
    fresh = opener(url(at))
    assert controls(fresh) == controls(at)
    assert numbers(fresh) == numbers(at)
    assert url(fresh) == url(at)


def seg(at: AppTest, key: str) -> Any:
    return at.segmented_control(key=key)


def test_live_reset_switch_back(on_tiny: Path) -> None:  # noqa: F811
    b = Browser()
    at = open_url({}, b)
    fresh = numbers(at)
    lots = glossary.label("hold_lots_live")
    n_all = fresh["metrics"][lots]
    b.set(at, seg(at, "wh_type"), "quality")
    assert url(at)["type"] == ["quality"]
    n_quality = numbers(at)["metrics"][lots]
    assert n_quality != n_all
    reasons = at.multiselect(key="wh_f_reason").options
    b.set(at, at.multiselect(key="wh_f_reason"), [reasons[0]])
    b.set(at, seg(at, "wh_matrix_measure"), "lots")
    assert not b.disagree(at)
    same_as_fresh(at)

    b.click(at, "Reset filters")
    assert not b.disagree(at), b.disagree(at)
    assert seg(at, "wh_type").value == "all"
    assert at.multiselect(key="wh_f_reason").value == []
    assert "type" not in url(at) and "reason" not in url(at)
    assert numbers(at)["metrics"][lots] == n_all
    same_as_fresh(at)

    b.set(at, seg(at, "wh_view"), "history")
    assert not b.disagree(at), b.disagree(at)
    assert "type" not in url(at) and seg(at, "wh_type").value == "all"
    b.set(at, seg(at, "wh_view"), "live")
    assert not b.disagree(at), b.disagree(at)
    assert "type" not in url(at)
    assert numbers(at)["metrics"][lots] == n_all
    same_as_fresh(at)


def test_history_reset_switch_back(
    on_tiny: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path))
    b = Browser()
    at = open_url({"view": ["history"], "start": ["2026-10-01"], "end": ["2026-11-21"]}, b)
    before = numbers(at)
    b.set(at, seg(at, "wh_type"), "quality")
    b.set(at, seg(at, "wh_h_rec"), "released")
    b.set(at, seg(at, "wh_h_grain"), "week")
    reasons = at.multiselect(key="wh_h_reason").options
    b.set(at, at.multiselect(key="wh_h_reason"), [reasons[0]])
    b.set(at, at.selectbox(key="wh_h_day"), "2026-11-20")
    assert url(at)["record"] == ["released"] and url(at)["day"] == ["2026-11-20"]
    assert not b.disagree(at)
    same_as_fresh(at)

    b.click(at, "Reset filters")
    assert not b.disagree(at), b.disagree(at)
    for param in ("type", "record", "hreason", "day"):
        assert param not in url(at), param
    assert url(at)["view"] == ["history"] and url(at)["start"] == ["2026-10-01"]
    assert url(at)["grain"] == ["week"]  # a display choice, not a filter: kept
    assert seg(at, "wh_h_rec").value == "new" and at.selectbox(key="wh_h_day").value == \
        "all days"
    b.set(at, seg(at, "wh_h_grain"), "day")
    assert numbers(at) == before
    same_as_fresh(at)

    b.set(at, seg(at, "wh_view"), "live")
    assert not b.disagree(at), b.disagree(at)
    assert seg(at, "wh_type").value == "all" and "type" not in url(at)
    b.set(at, seg(at, "wh_view"), "history")
    assert not b.disagree(at), b.disagree(at)
    assert "type" not in url(at) and "record" not in url(at)
    assert numbers(at) == before
    same_as_fresh(at)


def test_every_choice_is_in_the_link(
    on_tiny: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Live: matrix measure, filters, the lot table's page and size; history: range,
    grain, record type, reason, duration, day and the record table's page: a fresh session
    opened with the link shows the same controls and numbers."""
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path))
    b = Browser()
    at = open_url({}, b)
    b.set(at, seg(at, "wh_matrix_measure"), "lots")
    b.set(at, at.number_input(key="wh_lots.size"), 1)
    b.set(at, at.number_input(key="wh_lots.page"), 2)
    assert url(at)["matrix"] == ["lots"] and url(at)["lots_page"] == ["2"]
    assert not b.disagree(at)
    same_as_fresh(at)
    at = open_url({"view": ["history"], "start": ["2026-10-01"], "end": ["2026-11-21"]}, b)
    b.set(at, seg(at, "wh_h_grain"), "month")
    b.set(at, at.multiselect(key="wh_h_bucket"), [at.multiselect(key="wh_h_bucket").options[0]])
    b.set(at, at.number_input(key="wh_hist.size"), 1)
    b.set(at, at.number_input(key="wh_hist.page"), 2)
    assert url(at)["records_page"] == ["2"] and url(at)["bucket"]
    assert not b.disagree(at)
    same_as_fresh(at)
