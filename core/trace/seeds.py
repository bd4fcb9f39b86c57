"""Seed resolution: what the user typed (lots, wafer lots, work orders, serials) → CIDs.

Why: a trace starts from names people know. Input is one value a line or comma-separated;
``*``/``%`` match any run, ``_`` one character, a backslash makes the next character
literal (``\\_``, ``\\*``, ``\\,``). Exact values are batched into IN lists on the slow
lane; each wildcard value is one LIKE query capped at ``seed_max_matches`` + 1 rows, so
``*`` alone is refused as too broad instead of fetching the warehouse. Every limit is a
setting and every refusal is a ``SeedError`` saying which limit and what to do; hostile
input (quotes, SQL, unicode) is just a value that matches nothing, because values are
binds only. Control characters are refused (PostgreSQL rejects NUL in text).

Kinds: ``lot`` (containername), ``wafer_lot`` (firstname: every container cut from it),
``work_order`` (mfgordername; a GD rework order resolves to its GD lots and, in reverse,
the lots they were reworked from), ``serial`` (finishedname of combined lots, then
containername, then firstname for the values still unmatched).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlalchemy.sql import Executable

from core.errors import InputError
from core.trace.queries import (
    seed_exact_query,
    seed_like_query,
    serial_exact_query,
    serial_like_query,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes

KINDS: dict[str, str] = {
    "lot": "Lot name",
    "wafer_lot": "Wafer lot",
    "work_order": "Work order",
    "serial": "Serial number",
}
MAX_VALUE_CHARS = 400  # the contract's text columns are String(400)


class SeedError(InputError):
    """Bad seed input or a seed limit reached; the message says what and what to do."""


@dataclass(frozen=True)
class Value:
    text: str  # as typed (after trimming), the key of SeedResult.matches
    literal: str  # escapes removed, for exact matching
    pattern: str | None  # LIKE pattern with \\ escapes, None when no wildcard


@dataclass
class SeedResult:
    kind: str
    values: list[str]
    matches: dict[str, list[str]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    @property
    def container_ids(self) -> list[str]:
        return sorted({cid for cids in self.matches.values() for cid in cids})

    def summary(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "values": len(self.values),
            "matched_values": len(self.matches),
            "containers": len(self.container_ids),
            "unmatched": list(self.unmatched),
        }


def split_values(values: str | Sequence[str]) -> list[str]:
    """Values from a text (newlines or commas) or a list; trimmed, blanks dropped, duplicates
    dropped keeping the first. A backslash-escaped comma stays inside its value."""
    texts = [values] if isinstance(values, str) else [str(v) for v in values]
    out: list[str] = []
    seen: set[str] = set()
    for text in texts:
        current: list[str] = []
        i = 0
        while i <= len(text):
            ch = text[i] if i < len(text) else "\n"
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i : i + 2])
                i += 2
                continue
            if ch in ",\n\r\t;" or i == len(text):
                value = "".join(current).strip()
                if value and value not in seen:
                    seen.add(value)
                    out.append(value)
                current = []
            else:
                current.append(ch)
            i += 1
    return out


def parse_value(text: str) -> Value:
    """Turn one typed value into its literal form and, with wildcards, a LIKE pattern."""
    literal: list[str] = []
    pattern: list[str] = []
    wild = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            literal.append(nxt)
            pattern.append("\\" + nxt if nxt in "%_\\" else nxt)
            i += 2
            continue
        if ch in "*%":
            wild = True
            pattern.append("%")
        elif ch == "_":
            wild = True
            pattern.append("_")
        else:  # a lone trailing backslash is itself: escaped in the pattern
            pattern.append("\\\\" if ch == "\\" else ch)
        literal.append(ch)
        i += 1
    return Value(text, "".join(literal), "".join(pattern) if wild else None)


def value_problem(texts: Sequence[str], label: str) -> str | None:
    """What is wrong with typed values no name can hold (control characters such as a
    NUL, which PostgreSQL refuses outright; absurd lengths), or None."""
    bad_chars = [t for t in texts if any(ord(ch) < 32 or ord(ch) == 127 for ch in t)]
    if bad_chars:
        return (f"{len(bad_chars)} value(s) contain control characters (e.g. "
                f"{bad_chars[0].encode('unicode_escape').decode()[:40]!r}); remove them.")
    too_long = [t for t in texts if len(t) > MAX_VALUE_CHARS]
    if too_long:
        return (f"{len(too_long)} value(s) are longer than {MAX_VALUE_CHARS} characters "
                f"(e.g. {too_long[0][:30]!r}…): no {label} is that long.")
    return None


def check_values(kind: str, values: str | Sequence[str], settings: Settings) -> list[Value]:
    """Parse and validate the input; SeedError names every problem found."""
    if kind not in KINDS:
        raise SeedError(
            f"Unknown seed kind {kind!r}: use one of {', '.join(KINDS)}."
        )
    texts = split_values(values)
    label = KINDS[kind].lower()
    if not texts:
        raise SeedError(f"No {label} given: enter one value a line or comma-separated.")
    if len(texts) > settings.seed_max_values:
        raise SeedError(
            f"{len(texts):,} {label} values exceed the limit of {settings.seed_max_values:,} "
            "(setting seed_max_values): split the list into several traces."
        )
    problem = value_problem(texts, label)
    if problem:
        raise SeedError(problem)
    parsed = [parse_value(t) for t in texts]
    patterns = [v for v in parsed if v.pattern is not None]
    if len(patterns) > settings.seed_max_patterns:
        raise SeedError(
            f"{len(patterns)} values use wildcards (*, %, _); at most "
            f"{settings.seed_max_patterns} may (setting seed_max_patterns). Escape a "
            "literal underscore as \\_ or list exact names."
        )
    return parsed


class _Collector:
    """Accumulates value → CIDs, refusing once more than ``limit`` containers matched."""

    def __init__(self, label: str, limit: int) -> None:
        self.label = label
        self.limit = limit
        self.matches: dict[str, set[str]] = {}
        self.all: set[str] = set()

    def add(self, value: str, cid: str | None) -> None:
        if cid is None:
            return
        self.matches.setdefault(value, set()).add(cid)
        self.all.add(cid)
        if len(self.all) > self.limit:
            raise SeedError(
                f"The {self.label} values match more than {self.limit:,} containers "
                "(setting seed_max_matches): narrow the input (fewer values, longer "
                "patterns)."
            )


def _run_exact(
    lanes: Lanes,
    build: Callable[[list[str]], Executable],
    literals: list[str],
    cancel: CancelToken | None,
) -> Iterable[pa.Table]:
    if not literals:
        return
    for batch in lanes.slow.stream_batched(build, literals, cancel=cancel):
        if batch.table is not None and batch.table.num_rows:
            yield batch.table


def _rows(table: pa.Table, *cols: str) -> Iterable[tuple]:
    data = [table.column(c).to_pylist() for c in cols]
    return zip(*data, strict=True)


def resolve_seeds(
    lanes: Lanes,
    kind: str,
    values: str | Sequence[str],
    *,
    settings: Settings,
    cancel: CancelToken | None = None,
) -> SeedResult:
    """Resolve ``values`` of ``kind`` to container ids on the slow lane.

    Returns a SeedResult (``matches``: input value → sorted CIDs, ``unmatched``: values
    in input order that matched nothing, ``container_ids``: sorted unique). Raises
    SeedError for bad input or a limit, LaneError for database trouble.
    """
    parsed = check_values(kind, values, settings)
    limit = settings.seed_max_matches
    col = _Collector(KINDS[kind].lower(), limit)
    if kind == "serial":
        _resolve_serial(lanes, parsed, col, limit, cancel)
    else:
        _resolve_field(lanes, kind, parsed, col, limit, cancel, reverse_gd=kind == "work_order")
    result = SeedResult(kind, [v.text for v in parsed])
    for v in parsed:
        cids = col.matches.get(v.text)
        if cids:
            result.matches[v.text] = sorted(cids)
        else:
            result.unmatched.append(v.text)
    return result


def _resolve_field(
    lanes: Lanes,
    field_name: str,
    parsed: list[Value],
    col: _Collector,
    limit: int,
    cancel: CancelToken | None,
    *,
    reverse_gd: bool = False,
    only: set[str] | None = None,
) -> None:
    todo = [v for v in parsed if only is None or v.text in only]
    by_literal: dict[str, list[str]] = {}
    for v in todo:
        if v.pattern is None:
            by_literal.setdefault(v.literal, []).append(v.text)

    def add(value_texts: list[str], row: tuple) -> None:
        cid, _value, wo, original, splitfrom = row
        for text in value_texts:
            col.add(text, cid)
            if reverse_gd and wo and str(wo).upper().startswith("GD"):
                col.add(text, original or splitfrom)

    cols = ("containerid", "value", "mfgordername", "originalcontainerid", "splitfromid")
    for table in _run_exact(
        lanes, lambda chunk: seed_exact_query(field_name, chunk), sorted(by_literal), cancel
    ):
        for row in _rows(table, *cols):
            add(by_literal.get(row[1], []), row)
    for v in todo:
        if v.pattern is None:
            continue
        table = lanes.slow.fetch_arrow(
            seed_like_query(field_name, v.pattern, limit + 1), cancel=cancel
        )
        for row in _rows(table, *cols):
            add([v.text], row)


def _resolve_serial(
    lanes: Lanes,
    parsed: list[Value],
    col: _Collector,
    limit: int,
    cancel: CancelToken | None,
) -> None:
    by_literal: dict[str, list[str]] = {}
    for v in parsed:
        if v.pattern is None:
            by_literal.setdefault(v.literal, []).append(v.text)
    for table in _run_exact(lanes, serial_exact_query, sorted(by_literal), cancel):
        for cid, value in _rows(table, "containerid", "value"):
            for text in by_literal.get(value, []):
                col.add(text, cid)
    for v in parsed:
        if v.pattern is not None:
            table = lanes.slow.fetch_arrow(serial_like_query(v.pattern, limit + 1),
                                           cancel=cancel)
            for cid, _value in _rows(table, "containerid", "value"):
                col.add(v.text, cid)
    # Then the container name, then the wafer lot, for the values still unmatched.
    for fallback in ("name_or_wafer", "wafer_lot"):
        left = {v.text for v in parsed if v.text not in col.matches}
        if not left:
            return
        _resolve_field(lanes, fallback, parsed, col, limit, cancel, only=left)
