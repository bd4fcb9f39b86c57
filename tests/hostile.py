"""Shared pieces of the hostile-input tests: planted markup, a planted database, and the
checks an AppTest page must pass whatever its link or its data holds.

Why a module: tests/test_hostile_text.py (markdown injection) and
tests/test_hostile_inputs.py (extreme and malformed input) drive the same pages with the
same helpers: every URL parameter a page reads (found in its source, so a new parameter is
covered without editing a list), the element texts Streamlit renders as markdown, and the
plotly figures' label texts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from streamlit.testing.v1 import AppTest

from core.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
VIEWS = ROOT / "dashboard" / "views"

# A link, an image (a beacon every viewer's browser would fetch), raw HTML of both, and
# emphasis: each would be live markup if it reached st.markdown unescaped.
LINK = "[Session expired - sign in](https://evil.example/login)"
IMAGE = "![b](http://host/beacon.png)"
HTML = '<a href="https://evil.example/a">x</a> <img src="http://host/beacon.png">'
PLANT = f"{LINK} {IMAGE} {HTML} **b**"

# Text columns a suffix would break: codes compared with constants, numbers kept as text,
# comma-separated id lists, and ids (every column ending in "id" except lot_v.lotid, a name).
KEEP_COLUMNS = {"objecttype", "status", "enable_flag", "jobstatus", "equipmentassetsstatus",
                "specsequence", "workcentersequence_group", "containerids", "containernames",
                "ncrid"}


def plant_text_columns(path: Path, schema: str = "dwh") -> list[str]:
    """Append `` PLANT`` to every name-like text column of every table of a (copied) demo
    DuckDB file: lot names, work orders, reasons, comments, stations, machines, packages.
    The same suffix everywhere keeps every join by name working (a lot's firstname still
    names its wafer lot, a workcenter still maps to its group). Returns the columns."""
    done: list[str] = []
    with duckdb.connect(str(path)) as con:
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND data_type = 'VARCHAR' ORDER BY 1, 2", [schema]
        ).fetchall()
        for table, column in cols:
            if column in KEEP_COLUMNS or (column.endswith("id") and column != "lotid"):
                continue
            if table != "dw_mes_lot_v" and column == "lotid":
                continue
            con.execute(f'UPDATE {schema}."{table}" SET "{column}" = "{column}" || ?',
                        [" " + PLANT])
            done.append(f"{table}.{column}")
    return done


def page_params(page: str) -> list[str]:
    """Every URL parameter ``dashboard/views/<page>`` reads: literal names in
    query_param / query_param_list / qp calls, the reject page's filter and toggle
    parameters, and the WIP hold page's live filters."""
    source = (VIEWS / page).read_text(encoding="utf-8")
    names = set(re.findall(r'(?:query_param(?:_list)?|qp)\(\s*"([a-z_]+)"', source))
    names |= set(re.findall(r'url_choice\(\s*"([a-z_]+)"', source))
    names |= set(re.findall(r'\(\s*"([a-z_]+)",\s*"wh_f_', source))
    if page == "reject_history.py":
        from core.rejects._measures import FILTER_DIMENSIONS
        from core.rejects._policy import Policy

        names |= {f"f_{d}" for d in FILTER_DIMENSIONS}
        names |= {"t_" + n.removeprefix("include_") for n in Policy.names()}
    return sorted(names)


# --- what a page shows -------------------------------------------------------------------------

MARKDOWN_FIELDS = {"body", "label", "help", "text"}  # rendered as markdown by Streamlit


def _proto_strings(msg: Any, path: str = "") -> Iterator[tuple[str, str]]:
    for field, value in msg.ListFields():
        name = field.name
        if isinstance(value, str):
            yield f"{path}{name}", value
        elif hasattr(value, "ListFields"):
            yield from _proto_strings(value, f"{path}{name}.")
        elif not isinstance(value, (bytes, int, float, bool)):  # a repeated field
            for item in value:
                if isinstance(item, str):
                    yield f"{path}{name}", item
                elif hasattr(item, "ListFields"):
                    yield from _proto_strings(item, f"{path}{name}.")


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def shown_texts(at: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """(markdown texts as (element.field, text), plotly figure specs) of the whole page."""
    markdown: list[tuple[str, str]] = []
    figures: list[str] = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        kind = getattr(node, "type", type(node).__name__)
        for field, text in _proto_strings(proto):
            leaf = field.rsplit(".", 1)[-1]
            if leaf == "spec" and kind == "plotly_chart":
                figures.append(text)
            elif leaf in MARKDOWN_FIELDS:
                markdown.append((f"{kind}.{field}", text))
    return markdown, figures


_LIVE_MARKDOWN = [
    re.compile(r"(?<!\\)\]\("),  # a link or image target
    re.compile(r"(?<!\\)<\s*/?\s*(a|img)\b", re.I),  # raw HTML
    re.compile(r"evil\.example|beacon\.png"),  # an unescaped dot: an autolinked host
]
# GitHub-flavoured autolinks are found in the text *after* escapes are undone (remark-gfm
# works on the parsed text), so a backslash does not stop them: checked on that text
_AUTOLINK = re.compile(r"https?://|www\.|[-.\w+]@[-\w]+\.\w", re.I)
_UNESCAPE = re.compile(r"\\(.)")
_LIVE_PLOTLY = re.compile(r"<\s*/?\s*(a|img)\b", re.I)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def live_markup(at: Any) -> list[str]:
    """Every place the page shows planted markup as markup (empty: none)."""
    markdown, figures = shown_texts(at)
    bad = [f"{where}: {text[:300]}" for where, text in markdown
           if any(p.search(text) for p in _LIVE_MARKDOWN)
           or _AUTOLINK.search(_UNESCAPE.sub(r"\1", text))]
    for spec in figures:
        bad += [f"plotly: {s[:300]}" for s in _plotly_labels(json.loads(spec))
                if _LIVE_PLOTLY.search(s)]
    return bad


def _plotly_labels(spec: dict[str, Any]) -> Iterator[str]:
    """The texts a plotly figure draws: trace names, texts, hover texts and custom data
    (hover templates), and x / y values that become tick labels or hover lines: those of
    an axis without its own ``ticktext``, or of a trace without a ``hovertemplate``."""
    fig = spec.get("figure", spec)
    layout = fig.get("layout", {})
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
            yield from _strings(value.get("ticktext", []))
            yield from _strings(value.get("title", []))
        elif key in ("title", "annotations"):
            yield from _strings(value)
    for trace in fig.get("data", []):
        for key in ("name", "text", "hovertext", "customdata"):
            yield from _strings(trace.get(key, []))
        for axis in ("x", "y"):
            ref = trace.get(f"{axis}axis", axis)
            lay = layout.get(f"{axis}axis{ref[1:]}", {})
            if not (lay.get("ticktext") and trace.get("hovertemplate")):
                yield from _strings(trace.get(axis, []))


def planted_shown(at: Any) -> bool:
    """The planted text reached the page (escaped) somewhere: the check saw it."""
    markdown, figures = shown_texts(at)
    return any(r"evil\.example" in text or "evil.example" in text for _, text in markdown) or \
        any("evil.example" in s for spec in figures for s in _plotly_labels(json.loads(spec)))


# "X failed: TypeError: ...", a failed job, the database "unavailable": on the healthy
# test database each is a bug, not an answer to the input
_BUG = re.compile(r" failed: |database is unavailable|Cannot reach the MES database")


def unexpected_failures(at: Any) -> list[str]:
    """Uncaught exceptions, and boxes of a failure that is not the input's (the guard's
    "... failed: TypeError: ...", a failed job, "the database is unavailable"): on a
    healthy database each is a bug, not an answer to the input."""
    out = [str(e.value) for e in at.exception]
    out += [str(e.value) for e in at.error if _BUG.search(str(e.value))]
    return out


def open_page(page: str, params: dict[str, str | list[str]]) -> AppTest:
    """``page`` opened from a link with ``params``, after any job it started finished."""
    from dashboard.job_manager import get_job_manager
    from tests.test_app_pages import _app

    at = _app()
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}").run()
    manager = get_job_manager(load_settings())
    for _ in range(3):
        if not any(job.active for job in manager.jobs()):
            break
        for job in manager.jobs():
            assert job.wait(120), f"job {job.label} did not finish"
        time.sleep(0.1)
        at.run()
    return at
