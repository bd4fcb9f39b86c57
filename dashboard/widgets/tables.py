"""Paged tables: the one pager every page uses, and the spool table of the trace page.

Why one pager: pages used to page four ways; now every paged table reads its page (and
rows per page) from the URL, so a link reopens the same page, and a page beyond the last
shows the last (core.paging holds the rule). Each table has its own namespaced parameters
(``lots_page=3``, ``lots_size=50``); the widgets write the URL when changed.

The spool table: a trace domain can hold millions of rows; it shows one page at a time
and still lets people download the whole (filtered) result. Rows are read from the
spool's Parquet file with DuckDB, never loaded whole; downloads are written to files in
the spool only when clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from core import fmt, i18n, labels
from core.config import Settings
from core.i18n import _
from core.jobs import Spool, SpoolError
from core.paging import PageSlice, clamp_page, page_size, parse_whole
from core.text import md_escape
from dashboard import state

Rows = TypeVar("Rows")


ROW_PX = 35
HEADER_PX = 38
MAX_HEIGHT_PX = 740
"""A table is as tall as its rows up to MAX_HEIGHT_PX (about 20 rows), then scrolls:
a 50-row page in a 10-row box hid most of the page."""

# p: two significant digits (a p-value of 3e-07 must not read 0.0000)
_FORMATS = {"count": "localized", "qty": "localized", "percent": "%.2f%%", "ratio": "%.2fx",
            "p": "%.2g", "number": "%.2f", "hours": "%.1f", "days": "%.1f"}


def column_config(columns: list[str], overrides: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Streamlit column settings for ``columns``: each column's label (core.labels, in the
    current language) and format by its kind; ``overrides`` (a page's own column config,
    e.g. a link column) win but get the label when they have none."""
    config: dict[str, Any] = {}
    for name in columns:
        text, kind, help_ = labels.label(name), labels.kind(name), labels.help_text(name)
        if kind in _FORMATS:
            config[name] = st.column_config.NumberColumn(text, format=_FORMATS[kind],
                                                         help=help_)
        elif kind == "date":
            config[name] = st.column_config.DateColumn(text, format="YYYY-MM-DD", help=help_)
        elif kind == "datetime":
            config[name] = st.column_config.DatetimeColumn(
                text, format="YYYY-MM-DD HH:mm:ss", help=help_)
        else:
            config[name] = st.column_config.Column(text, help=help_)
    for name, value in (overrides or {}).items():
        if isinstance(value, dict) and not value.get("label") and name in config:
            value = {**value, "label": config[name].get("label")}
        config[name] = value
    return config


def height_for(rows: int) -> int:
    """Pixels for ``rows`` rows: the whole page when it fits, else MAX_HEIGHT_PX."""
    return min(HEADER_PX + ROW_PX * max(rows, 1) + 2, MAX_HEIGHT_PX)


def show(data: Any, *, column_config: dict[str, Any] | None = None,
         hide_index: bool = True, height: int | None = None, **kwargs: Any) -> Any:
    """``st.dataframe`` with every column labelled and formatted (core.labels) and a
    height that fits the rows shown; ``data`` keeps its raw column names (selections and
    URLs use them). Other arguments (key, on_select, selection_mode, ...) pass through."""
    if hasattr(data, "to_pandas") and not hasattr(data, "iloc"):
        data = data.to_pandas()
    elif isinstance(data, dict | list):
        import pandas as pd

        data = pd.DataFrame(data)
    names = [str(c) for c in data.columns]
    config = _column_config(names, column_config)
    return st.dataframe(data, hide_index=hide_index, width="stretch",
                        height=height or height_for(len(data)), column_config=config,
                        **kwargs)


_column_config = column_config


def _to_url(param: str, widget_key: str, default: int) -> Callable[[], None]:
    """on_change: the widget's new value into the URL (the default leaves it out)."""
    def write() -> None:
        value = st.session_state.get(widget_key)
        state.set_query_param(param, None if value in (None, default) else str(int(value)))
    return write


def paged(fetch: Callable[[int, int], tuple[Rows, int]], *, key: str, param: str,
          settings: Settings, size_param: str | None = None,
          slots: tuple[Any, Any] | None = None,
          label: str | None = None) -> tuple[Rows, PageSlice]:
    """One page of rows: ``fetch(offset, size)`` returns the rows and the total. The page
    comes from URL parameter ``param`` (its size from ``size_param``, default ``param``
    with "page" replaced by "size"), clamped to the last page (fetched again if so); the
    controls go in ``slots`` (rows per page, page) or two new columns. Returns the rows
    and which page they are; the caller draws them."""
    size_param = size_param or param.replace("page", "size")
    size = page_size(state.query_param(size_param), settings.page_size,
                     settings.page_size_max)
    asked = max(parse_whole(state.query_param(param), 1), 1)
    rows, total = fetch((asked - 1) * size, size)
    shown = clamp_page(asked, total, size)
    if shown.number != asked:
        rows, total = fetch(shown.offset, size)
        shown = clamp_page(shown.number, total, size)
    size_slot, page_slot = slots or st.columns(2)
    size_key, page_key = f"{key}.size", f"{key}.page"
    st.session_state[size_key] = size
    size_slot.number_input(_("Rows per page"), 1, settings.page_size_max, key=size_key,
                           on_change=_to_url(size_param, size_key, settings.page_size))
    st.session_state[page_key] = shown.number
    page_label = (label or _("Page (of {pages:,})")).format(pages=shown.pages,
                                                            total=shown.total)
    page_slot.number_input(page_label, 1, shown.pages, key=page_key,
                           on_change=_to_url(param, page_key, 1))
    state.set_query_param(size_param, None if size == settings.page_size else str(size))
    state.set_query_param(param, None if shown.number == 1 else str(shown.number))
    return rows, shown


def page_caption(shown: PageSlice) -> str:
    """'Page 3 of 10, 482 rows' / '第 3 / 10 頁，共 482 筆' (shared/terms-zh-TW.md)."""
    return _("Page {page} of {pages}, {total} rows").format(
        page=fmt.count(shown.number), pages=fmt.count(shown.pages), total=fmt.count(shown.total))


def paged_table(spool: Spool, domain: str, *, key: str, settings: Settings,
                order_by: str | list | None = None, param: str | None = None) -> None:
    """Render ``domain`` of ``spool`` as a filtered, paged table with downloads; its page
    is URL parameter ``param`` (default ``<domain>_page``)."""
    try:
        columns = spool.columns(domain)
    except SpoolError as exc:
        st.info(md_escape(exc))
        return
    c1, c2, c3, c4 = st.columns([2, 3, 1, 1])
    column = c1.selectbox(_("Filter column"), ["", *columns], key=f"{key}.fcol",
                          format_func=lambda c: labels.label(c) if c else _("(none)"))
    text = c2.text_input(_("contains"), key=f"{key}.ftext",
                         placeholder=_("text (any case) the column must contain"))
    filters = {column: text} if column and text else None

    def fetch(offset: int, size: int) -> tuple[Any, int]:
        return (spool.page(domain, offset=offset, limit=size, order_by=order_by,
                           filters=filters), spool.count(domain, filters))

    try:
        table, shown = paged(fetch, key=key, param=param or f"{domain}_page", settings=settings,
                         slots=(c3, c4), label=_("Page"))  # of how many: the caption below
    except SpoolError as exc:
        st.warning(md_escape(exc))
        return
    show(table)
    st.caption(page_caption(shown))
    # Files are written and read only when a button is clicked (a domain can be large):
    # the callables run outside the script, so they touch no st.* API. The buttons are as
    # wide as their labels (in columns they were cut at 1024 px) and wrap when needed.
    row = st.container(horizontal=True, gap="small")
    lang, raw = i18n.current(), settings.csv_headers == "names"

    def csv_file() -> bytes:  # runs outside the script run: its language is carried in
        i18n.set_language(lang)
        return Path(spool.export(domain, "csv", filters, raw_headers=raw)).read_bytes()

    row.download_button(_("Download Parquet (all rows)"),
                       data=lambda: Path(spool.export(domain, "parquet", filters)).read_bytes(),
                       file_name=f"{domain}.parquet", mime="application/octet-stream",
                       key=f"{key}.dl_parquet", on_click="ignore", width="content")
    row.download_button(_("Download CSV (all rows)"),
                       data=csv_file,
                       file_name=f"{domain}.csv", mime="text/csv",
                       key=f"{key}.dl_csv", on_click="ignore", width="content")
