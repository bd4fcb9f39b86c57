# ruff: noqa: F811  (fixtures imported from test_app_pages are parameters here)
"""Every page in 繁體中文 and English on the tiny demo (issue 17): no exception, no
dataframe column without a registered label, and the factory's terms on their pages.

Why: each page was translated by its own helper; this test opens all of them the same
way (dashboard/app.py's PAGES, each with a shared link that shows its results, jobs
waited for) so a page, a column or a term that slipped through shows up in one place.
The System page is opened last, so its jobs table lists the other pages' jobs.
"""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import load_settings
from dashboard.job_manager import get_job_manager
from tests.i18n_checks import (
    in_test_thread_language,
    shown_texts,
    unlabelled_columns,
    zh_terms_missing,
)
from tests.test_app_pages import APP, TIMEOUT_S, app_env, on_tiny, tiny_db  # noqa: F401


def _page_files() -> list[str]:
    """The page files of dashboard/app.py's PAGES (read, not imported: importing the app
    script would run it)."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "PAGES" for t in targets):
                return [ast.literal_eval(e.elts[0]) for e in node.value.elts]
    raise AssertionError("dashboard/app.py has no PAGES")


# A shared link per page that shows its results (tables, charts) on the tiny demo.
LINKS: dict[str, dict[str, str]] = {
    "trace.py": {"kind": "lot", "values": "GA2609100*-A00-001", "direction": "forward"},
    "defect_trace.py": {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20",
                        "run": "1"},
    "reject_history.py": {"run": "1", "start": "2026-09-01", "end": "2026-11-19"},
    "wip_hold.py": {},
    "containment.py": {"kind": "machine", "name": "DB-003", "start": "2026-09-01",
                       "end": "2026-11-20"},
    "system.py": {},
}
TRACE = LINKS["trace.py"]
# Other views of the pages, with tables of their own (checked for labels only).
MORE_VIEWS: tuple[tuple[str, dict[str, str]], ...] = (
    *(("trace.py", {**TRACE, "tab": tab}) for tab in ("materials", "rejects", "holds")),
    ("wip_hold.py", {"view": "history", "start": "2026-11-01", "end": "2026-11-20"}),
    ("wip_hold.py", {"view": "history", "start": "2026-11-01", "end": "2026-11-20",
                     "record": "released"}),
    ("reject_history.py", {**LINKS["reject_history.py"], "by": "workflow"}),
)
ISSUE_TERMS = ("LOT", "工單", "扣帳報廢量", "不扣帳報廢量", "血緣", "偵測站", "不良率", "品質異常")
# The issue's terms, each on the page where the user looks for it.
TERMS: dict[str, tuple[str, ...]] = {
    "trace.py": ("血緣", "LOT"),
    "defect_trace.py": ("偵測站", "不良率", "工單"),
    "reject_history.py": ("扣帳報廢量", "不扣帳報廢量", "LOT", "工單"),
    "wip_hold.py": ("品質異常", "LOT", "工單"),
    "containment.py": ("LOT", "工單"),
    "system.py": (),
}


def _settle(at: AppTest) -> AppTest:
    """Wait for the jobs the page started, then rerun until it shows no running job."""
    manager = get_job_manager(load_settings())
    for _round in range(20):
        jobs = [j for j in manager.jobs() if j.active]
        if not jobs:
            at.run()
            if not any(j.active for j in manager.jobs()):
                return at
            continue
        for job in jobs:
            assert job.wait(120), f"job {job.label} did not finish"
        time.sleep(0.1)
        at.run()
    return at


def open_page(file: str, lang: str, params: dict[str, str]) -> AppTest:
    """The page for a shared link in ``lang``, after the jobs it started finished."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"views/{file}").run()
    assert not at.exception, (file, [e.value for e in at.exception])
    _settle(at)
    assert not at.exception, (file, [e.value for e in at.exception])
    return at


def open_every_page(lang: str) -> dict[str, AppTest]:
    return {file: open_page(file, lang, LINKS[file]) for file in _page_files()}


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_every_page_opens_labelled_and_in_the_factorys_words(on_tiny: Path, lang: str) -> None:
    with in_test_thread_language(lang):
        pages = open_every_page(lang)
    assert set(pages) == set(LINKS)
    assert all(at.dataframe for at in pages.values())  # every page shows a table
    bad = {f: unlabelled_columns(at) for f, at in pages.items() if unlabelled_columns(at)}
    assert bad == {}, bad
    with in_test_thread_language(lang):
        for file, params in MORE_VIEWS:
            at = open_page(file, lang, params)
            assert at.dataframe and unlabelled_columns(at) == [], (file, params)
    # p- and q-values read as probabilities (two significant digits), never whole counts
    suspects = [d for d in pages["defect_trace.py"].dataframe if "p_value" in d.value.columns]
    assert suspects
    for d in suspects:
        config = json.loads(d.proto.columns)
        for name in ("p_value", "q_value"):
            col = config.get(name) or config.get(f"name:{name}") or {}
            assert col.get("type_config", {}).get("format") == "%.2g", (name, col)
    if lang == "zh-TW":
        # on the page itself: the sidebar (the frame's WIP table) does not count
        missing = {f: zh_terms_missing(pages[f].main, TERMS[f]) for f in pages}
        assert {f: m for f, m in missing.items() if m} == {}
        # a term inside a longer one does not count: 扣帳報廢量 in 不扣帳報廢量, 品質異常
        # in 非品質異常
        for file, term, longer in (("reject_history.py", "扣帳報廢量", "不"),
                                   ("wip_hold.py", "品質異常", "非")):
            assert re.search(f"(?<!{longer}){term}", shown_texts(pages[file].main)), (file, term)
        assert {t for terms in TERMS.values() for t in terms} == set(ISSUE_TERMS)
    # the System page's settings table: each setting's doc in the reader's language
    from core import i18n
    from core.config import SETTINGS_DOC

    table = next(d.value for d in pages["system.py"].dataframe
                 if "what_it_protects" in d.value.columns)
    docs = dict(zip(table["setting"], table["what_it_protects"], strict=True))
    doc = SETTINGS_DOC["slow_permits"][0]
    assert docs["slow_permits"] == (i18n.translations(lang).gettext(doc))
    assert (docs["slow_permits"] == doc) == (lang == "en")


def test_p_values_and_hold_counts_take_their_kind_from_one_home() -> None:
    from core import glossary, labels

    assert labels.kind("p_value") == labels.kind("q_value") == "p"
    assert labels.kind("released") == "count"  # unit "holds": a whole count
    assert labels.kind("top_reason") == "text"
    assert glossary.label("released", "en") == "Released"  # no "(holds)" unit
