"""What an AppTest dataframe shows as its column headers (a helper for page tests).

Why: issue 17 asks that no raw warehouse column name reaches a page. A dataframe's
headers are its column config labels (dashboard.widgets.tables.show sets one for every
column from core/labels.py); a column without a label, or whose label is its raw name,
shows the raw name. Any page test can ask ``unlabelled(at.dataframe[i])``.
"""

from __future__ import annotations

import json
from typing import Any


def header_labels(element: Any) -> dict[str, str | None]:
    """Each visible column of an AppTest ``Dataframe`` element and the label it shows
    (None: no label, so the raw name is shown)."""
    config = json.loads(element.proto.columns or "{}")
    out: dict[str, str | None] = {}
    for name in element.value.columns:
        entry = config.get(str(name), {})
        if entry.get("hidden"):
            continue
        out[str(name)] = entry.get("label")
    return out


def unlabelled(element: Any) -> list[str]:
    """The visible columns shown under their raw name (no label, or the name itself)."""
    return [name for name, text in header_labels(element).items()
            if not text or text == name]
