"""The Containment page through AppTest on the tiny demo: a link runs the containment as a
job and shows its KPIs (from the glossary), the hold list and the serials; bad input is a
message; the Defect trace's first suspect leads here with its machine and window."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import glossary
from core.config import load_settings
from core.text import md_unescape
from dashboard.job_manager import get_job_manager
from tests.test_app_pages import _app, _assert_clean, app_env, on_tiny, tiny_db  # noqa: F401

PAGE = "views/containment.py"


def _finish() -> None:
    for job in get_job_manager(load_settings()).jobs():
        assert job.wait(120), "job did not finish"


def _open(params: dict[str, str | list[str]], page: str = PAGE) -> AppTest:
    at = _app()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    _assert_clean(at)
    _finish()
    at.run()
    _assert_clean(at)
    return at


def _metric(at: AppTest, key: str) -> int:
    label = glossary.label(key)
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def test_a_machine_link_contains_its_lots(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"kind": "machine", "name": "DB-003", "start": "2026-09-01",
                "end": "2026-11-20"})
    assert not at.main.warning, [w.value for w in at.main.warning]
    exposed = _metric(at, "contain_exposed_lots")
    assert exposed > 0
    assert _metric(at, "contain_wip_lots") == len(at.dataframe[0].value)
    assert {m.label for m in at.metric} <= glossary.labels("en")
    assert at.text_area[0].value == "DB-003"


def test_bad_input_is_a_message(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"kind": "machine", "name": "NO-SUCH-MACHINE", "start": "2026-09-01",
                "end": "2026-11-20"})
    texts = " ".join(md_unescape(w.value) for w in at.main.warning)
    assert "NO-SUCH-MACHINE" in texts
    at = _open({"kind": "machine", "name": "DB-003", "start": "2026-11-20",
                "end": "2026-09-01"})
    assert at.main.warning and not at.metric


def test_the_first_suspect_leads_to_its_containment(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"},
               page="views/defect_trace.py")
    button = next(b for b in at.button if b.key == "contain_1")
    at = button.click().run()
    _assert_clean(at)
    assert [t.value for t in at.title] == ["Containment"]
    _finish()
    at.switch_page(PAGE).run()  # AppTest reruns the page it was switched to by the test
    assert at.query_params["kind"] in ("machine", ["machine"])
    assert at.query_params["start"] in ("2026-09-01", ["2026-09-01"])
    assert _metric(at, "contain_exposed_lots") > 0
