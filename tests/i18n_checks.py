"""Checks of what a page shows, for AppTest-driven tests of every page (issue 17).

Why shared: the lead and each page's helper check their pages the same way: no dataframe
column without a readable label (a raw warehouse name such as ``lotid`` must never reach
a page) and, in 繁體中文, the factory's terms present. Both read what Streamlit was told
to draw, from the element protos, not from the page code.

    from tests.i18n_checks import unlabelled_columns, zh_terms_missing
    assert unlabelled_columns(at) == []
    assert zh_terms_missing(at, ["LOT", "工單"]) == []
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from core import labels


def _dataframes(at: Any) -> list[Any]:
    return list(at.dataframe)


def dataframe_columns(element: Any) -> dict[str, str | None]:
    """A Dataframe element's columns: raw name -> the label its column config gives
    (None when the config gives none: Streamlit then shows the raw name)."""
    proto = element.proto
    config = json.loads(proto.columns) if proto.columns else {}
    names = [str(c) for c in element.value.columns]
    out: dict[str, str | None] = {}
    for name in names:
        col = (config.get(name) or config.get(f"name:{name}") or config.get(f"col:{name}")
               or {})
        label = col.get("label")
        if col.get("hidden"):
            continue
        out[name] = label or None
    return out


def unlabelled(element: Any) -> list[str]:
    """One table's visible columns shown under their raw name (no label, or the name
    itself)."""
    return [name for name, text in dataframe_columns(element).items()
            if not text or text == name]


def unlabelled_columns(at: Any) -> list[tuple[int, str]]:
    """(table index, column) of every dataframe column shown without a registered label:
    a machine-named column (lotid, defective_lots, p_value) that core.labels (or the
    glossary) does not know, whatever the page called it (register it: one home for
    every label), and a registered column shown under its raw name (the page did not
    use tables.show / the label). Columns named by data (a station group, a date, RUN)
    are not machine names and pass."""
    bad: list[tuple[int, str]] = []
    for i, element in enumerate(_dataframes(at)):
        for name, label in dataframe_columns(element).items():
            shown = label or name
            if labels.known(name):
                if shown == name and labels.label(name) != name:
                    bad.append((i, name))
            elif _looks_raw(name):
                bad.append((i, name))
    return bad


def _looks_raw(name: str) -> bool:
    """A machine name: lower case with no space (lotid, defective_lots, p_value)."""
    return name == name.lower() and " " not in name and any(c.isalpha() for c in name)


def shown_texts(at: Any) -> str:
    """Every text the run shows: titles, markdown, captions, alerts, metrics (labels
    and values), widget labels and options, dataframe column labels."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "error",
                 "info", "success", "text"):
        parts += [str(e.value) for e in at.get(kind)]
    for m in at.get("metric"):
        parts += [str(m.label), str(m.value)]
    for kind in ("button", "selectbox", "multiselect", "radio", "text_input", "text_area",
                 "number_input", "date_input", "checkbox", "toggle", "segmented_control",
                 "pills", "tabs", "expander"):
        for w in at.get(kind):
            proto = getattr(w, "proto", None)
            parts.append(str(getattr(w, "label", "") or getattr(proto, "label", "")))
            parts += [str(o) for o in getattr(w, "options", []) or []]
    for element in _dataframes(at):
        parts += [label or name for name, label in dataframe_columns(element).items()]
    return "\n".join(parts)


def zh_terms_missing(at: Any, terms: Iterable[str]) -> list[str]:
    """The ``terms`` (e.g. LOT, 工單, 扣帳報廢量) that no text of the run shows."""
    text = shown_texts(at)
    return [t for t in terms if t not in text]


@contextlib.contextmanager
def in_test_thread_language(lang: str) -> Iterator[None]:
    """Run the test's own thread in ``lang`` too: AppTest re-applies a selectbox's
    ``format_func`` in the test thread (to find the chosen option among the formatted
    ones), so a zh-TW page whose options are formatted labels needs the test thread to
    format them the same way. The language is reset afterwards."""
    from core import i18n

    token = i18n._current.set(i18n.normalize(lang))
    try:
        yield
    finally:
        i18n._current.reset(token)
