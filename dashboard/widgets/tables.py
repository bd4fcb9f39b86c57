"""A paged table over one domain of a Spool: filters, page size, full CSV/Parquet download.

Why: a trace domain can hold millions of rows; a page must show one page at a time
(settings.page_size, at most page_size_max) and still let people download the whole
(filtered) result. Rows are read from the spool's Parquet file with DuckDB, never loaded
whole; downloads are written to files in the spool only when clicked.
"""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from core.config import Settings
from core.jobs import Spool, SpoolError
from core.text import md_escape


def paged_table(spool: Spool, domain: str, *, key: str, settings: Settings,
                order_by: str | list | None = None) -> None:
    """Render ``domain`` of ``spool`` as a filtered, paged table with downloads."""
    try:
        columns = spool.columns(domain)
    except SpoolError as exc:
        st.info(md_escape(exc))
        return
    c1, c2, c3 = st.columns([2, 3, 1])
    column = c1.selectbox("Filter column", ["(none)", *columns], key=f"{key}.fcol")
    text = c2.text_input("contains", key=f"{key}.ftext",
                         placeholder="text (any case) the column must contain")
    sizes = sorted({settings.page_size, min(settings.page_size * 2, settings.page_size_max),
                    settings.page_size_max})
    size = c3.selectbox("Rows / page", sizes, key=f"{key}.size")
    filters = {column: text} if column != "(none)" and text else None
    try:
        total = spool.count(domain, filters)
        pages = max(1, math.ceil(total / size))
        page = st.number_input(f"Page (of {pages:,}; {total:,} rows)", min_value=1,
                               max_value=pages, value=1, step=1, key=f"{key}.page")
        table = spool.page(domain, offset=(int(page) - 1) * size, limit=size,
                           order_by=order_by, filters=filters)
    except SpoolError as exc:
        st.warning(md_escape(exc))
        return
    st.dataframe(table.to_pandas(), hide_index=True, width="stretch")
    d1, d2, _ = st.columns([1, 1, 3])
    # Files are written and read only when a button is clicked (a domain can be large):
    # the callables run outside the script, so they touch no st.* API.
    d1.download_button("Download Parquet (all rows)",
                       data=lambda: Path(spool.export(domain, "parquet", filters)).read_bytes(),
                       file_name=f"{domain}.parquet", mime="application/octet-stream",
                       key=f"{key}.dl_parquet", on_click="ignore")
    d2.download_button("Download CSV (all rows)",
                       data=lambda: Path(spool.export(domain, "csv", filters)).read_bytes(),
                       file_name=f"{domain}.csv", mime="text/csv",
                       key=f"{key}.dl_csv", on_click="ignore")
