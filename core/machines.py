"""A record's machines: equipmentname may list several ("A,B"); paretos count the first.

domain.md, "Machine dimension": a record booked on several machines counts for its first
listed machine in paretos, as the factory's own reports do; the detail keeps the whole
list. The rule is needed in Python (the reject load's dictionary of machine lists) and in
DuckDB SQL (the defect trace's forward analysis over spooled rejects), so both forms are
generated here from one definition: split on ``SEPARATOR``, trim spaces, drop blanks.
"""

from __future__ import annotations

SEPARATOR = ","


def listed(equipment: str | None) -> list[str]:
    """The machines a record lists, in order, blanks dropped."""
    return [p for p in (s.strip(" ") for s in (equipment or "").split(SEPARATOR)) if p]


def first(equipment: str | None) -> str | None:
    """The machine a record counts for in paretos; None when it lists none."""
    names = listed(equipment)
    return names[0] if names else None


def first_sql(column: str) -> str:
    """``first`` as DuckDB SQL over ``column`` (a column name of the caller's, fixed text)."""
    return (f"list_filter(list_transform(string_split(coalesce({column}, ''), "
            f"'{SEPARATOR}'), lambda x: trim(x, ' ')), lambda x: x <> '')[1]")
