"""One vocabulary: every KPI a data page shows is a measure of core/glossary.py.

Why: "defect rate 0.613 %" on the defect trace and "defect rate 0.017 %" on reject history
were two different quantities under one name. Each page is opened on the tiny demo with a
link that renders its results (AppTest), and every metric label it shows must be a
glossary label; the glossary itself must not give two measures one name, and README's
glossary must be the one the module renders.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import glossary
from core.config import load_settings
from dashboard.job_manager import get_job_manager
from tests.test_app_pages import _app, _assert_clean, app_env, on_tiny, tiny_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

LINKS = {
    "views/trace.py": {"kind": "serial", "values": "S2610A00001", "direction": "backward",
                       "domains": "history"},
    "views/defect_trace.py": {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20",
                              "run": "1"},
    "views/reject_history.py": {"start": "2026-10-21", "end": "2026-11-19", "run": "1"},
    "views/wip_hold.py": {},
    "views/wip_hold.py#history": {"view": "history", "start": "2026-11-01",
                                  "end": "2026-11-19"},
    "views/containment.py": {"kind": "machine", "name": "DB-003", "start": "2026-09-01",
                             "end": "2026-11-20"},
}


def _open(page: str, params: dict[str, str]) -> AppTest:
    at = _app()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page.split("#")[0]).run()
    _assert_clean(at)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        manager = get_job_manager(load_settings())
        if not any(job.active for job in manager.jobs()):
            break
        time.sleep(0.3)
    at.run()
    _assert_clean(at)
    return at


# Pages whose labels move to the glossary on their own #13 branch: remove a page from here
# when its labels come from core/glossary.py (strict: an XPASS fails, to say so).
PENDING: set[str] = set()  # every page takes its labels from the glossary


@pytest.mark.parametrize("page", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="labels not yet from glossary"))
    if p in PENDING else p for p in LINKS])
def test_every_kpi_label_is_a_glossary_measure(page: str, on_tiny: Path) -> None:  # noqa: F811
    at = _open(page, LINKS[page])
    shown = {m.label for m in at.metric}
    assert shown, f"{page} showed no KPI: the link did not render results"
    allowed = glossary.labels("en")
    assert shown <= allowed, f"{page}: not in core/glossary.py: {sorted(shown - allowed)}"


def test_no_two_measures_share_a_name() -> None:
    for lang in glossary.LANGS:
        names = [m.label(lang, unit=False) for m in glossary.GLOSSARY.values()]
        twice = {n for n in names if names.count(n) > 1}
        # The same physical quantity may carry one name on two pages only when the
        # definition is the same; otherwise the names must differ.
        for name in twice:
            defs = {m.definition for m in glossary.GLOSSARY.values()
                    if m.label(lang, unit=False) == name}
            assert len(defs) == 1, f"{lang}: {name!r} names different measures"


def test_every_measure_is_defined() -> None:
    for m in glossary.GLOSSARY.values():
        assert m.en and m.zh and m.definition, m.key
        assert m.page in ("defects", "rejects", "holds", "trace", "contain"), m.key


def test_readme_glossary_is_the_rendered_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert glossary.markdown_table() in readme, (
        "README's glossary differs from core/glossary.py: paste `mesdash glossary --markdown`")
