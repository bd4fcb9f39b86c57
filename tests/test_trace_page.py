"""The Trace page through Streamlit's AppTest on a copy of the tiny demo database:
a trace from the form (URL state, lineage, timeline, domain tabs with completeness),
bad input as a message, and a shared link reopening the trace."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.text import plain
from tests.test_app_pages import APP, TIMEOUT_S, _texts, app_env, on_tiny, tiny_db  # noqa: F401


def _open() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    at.switch_page("views/trace.py").run()
    return at


def _until_done(at: AppTest, limit_s: float = 60) -> AppTest:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if at.metric or at.main.error or at.main.warning:  # KPIs: the trace is done
            return at
        time.sleep(0.3)
        at.run()
    raise AssertionError(_texts(at.main))


@pytest.fixture
def spool_env(on_tiny: Path, app_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:  # noqa: F811
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    return on_tiny


def test_trace_from_the_form_shows_lineage_and_domains(spool_env: Path) -> None:
    at = _open()
    assert not at.exception
    at.text_area[0].input("GA2609100*-A00-001\nNOPE-1")
    at.radio[0].set_value("forward")
    at.button[0].click().run()
    _until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.main.error, [e.value for e in at.main.error]
    assert at.query_params["values"] == "GA2609100*-A00-001\nNOPE-1"
    assert at.query_params["direction"] == "forward"
    metrics = {m.label: m.value for m in at.metric}
    assert "Containers" in metrics, _texts(at.main)
    assert int(metrics["Containers"].replace(",", "")) > 0
    assert any("NOPE-1" in plain(w.value) for w in at.warning)
    tabs = at.radio(key="trace.tab")
    assert len(tabs.options) >= 4  # one choice per domain
    assert any("Complete" in c.value for c in at.caption)
    assert at.dataframe  # the domain shown has its page
    at.text_input(key="trace.focus").input("GA2609100").run()
    assert not at.exception


def test_bad_input_is_a_message_and_link_reopens(spool_env: Path) -> None:
    at = _open()
    at.text_area[0].input("x" * 401)
    at.button[0].click().run()
    assert not at.exception
    assert any("longer than" in e.value for e in at.error)
    # A shared link: the request comes from the URL and runs by itself.
    at2 = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at2.query_params.update({"kind": "serial", "values": "S2610A00001",
                             "direction": "backward", "domains": "history,holds"})
    at2.run()
    at2.switch_page("views/trace.py").run()
    _until_done(at2)
    assert not at2.exception, [e.value for e in at2.exception]
    assert any(m.label == "Containers" for m in at2.metric), _texts(at2.main)
    assert at2.text_area[0].value == "S2610A00001"


def test_the_timeline_picker_says_when_it_lists_only_some_lots_and_takes_the_focus(
    spool_env: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """No silent truncation: over timeline_max_lots the picker says how many it lists;
    a focused container is offered first whatever its place."""
    app_env.setenv("MES_TIMELINE_MAX_LOTS", "1")
    at = _open()
    at.text_area[0].input("GA2609100*-A00-001")
    at.button[0].click().run()
    _until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    assert any("The picker lists 1 of" in c.value for c in at.caption), _texts(at.main)
    first = at.multiselect(key="trace.tl")
    assert len(first.options) == 1
    first_name = first.options[0]
    # focus the alphabetically last container of the lineage that has a name
    hits_all = at.text_input(key="trace.focus").input("GA").run()
    assert not hits_all.exception
    names = sorted(n for n in at.dataframe[0].value["containername"] if n)
    target = names[-1]
    at.text_input(key="trace.focus").input(target).run()
    assert not at.exception
    picker = at.multiselect(key="trace.tl")
    assert picker.format_func(picker.value[0]) == target != first_name
    assert picker.options[0] == target
    assert at.query_params["focus"] == target
