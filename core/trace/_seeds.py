"""Seed resolution: what the user typed (lots, wafer lots, work orders, serials) → CIDs.

Why: a trace starts from names people know. Input is a name list by the one rule of
core.values (newlines, commas, semicolons, tabs or spaces between values; ``*``/``%``
match any run, ``_`` one character, a backslash makes the next character literal), and
core.values resolves it: exact values batched into IN lists on the slow lane; each
wildcard value one LIKE query capped at ``seed_max_matches`` + 1 rows, so
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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.i18n import N_, _
from core.trace._queries import (
    seed_exact_query,
    seed_like_query,
    serial_exact_query,
    serial_like_query,
)
from core.values import (  # noqa: F401  (parse_value, value_problem: their old names)
    MAX_VALUE_CHARS,
    NAMES,
    Value,
    check,
    resolve,
    split,
    value_problem,
)
from core.values import parse as parse_value  # noqa: F401

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes

KINDS: dict[str, str] = {
    "lot": N_("LOT ID"),
    "wafer_lot": N_("Wafer LOT"),
    "work_order": N_("Work order"),
    "serial": N_("Serial number"),
}
"""Seed kinds resolved by name and their labels (messages: shown with ``_()``)."""


class SeedError(InputError):
    """Bad seed input or a seed limit reached; the message says what and what to do."""


def split_values(values: str | Sequence[str]) -> list[str]:
    """A seed list's items: ``core.values.split`` of a name list (the one rule)."""
    return split(values, NAMES)


def check_values(kind: str, values: str | Sequence[str], settings: Settings) -> list[Value]:
    """Parse and validate the input by the one rule (core.values.check); SeedError names
    the problem or the limit."""
    if kind not in KINDS:
        raise SeedError(_("Unknown seed kind {kind}: use one of {kinds}.").format(
            kind=repr(kind), kinds=", ".join(KINDS)))
    label = _(KINDS[kind])
    parsed = check(values, settings, label=label, error=SeedError,
                   hint=_("split the list into several traces"))
    if not parsed:
        raise SeedError(_("No {label} given: enter one value a line or comma-separated.")
                        .format(label=label))
    return parsed


@dataclass
class SeedResult:
    kind: str
    values: list[str]
    matches: dict[str, list[str]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    truncated: str | None = None  # the bound that cut the seeds (machine seeds)

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
            "truncated": self.truncated,
        }


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
                _("The {label} values match more than {limit:,} containers (setting "
                  "seed_max_matches): narrow the input (fewer values, longer patterns).")
                .format(label=self.label, limit=self.limit))


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
    col = _Collector(_(KINDS[kind]), limit)
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

    def add(texts: list[str], row: dict[str, Any]) -> None:
        cid, wo = row["containerid"], row["mfgordername"]
        for text in texts:
            col.add(text, cid)
            if reverse_gd and wo and str(wo).upper().startswith("GD"):
                col.add(text, row["originalcontainerid"] or row["splitfromid"])

    resolve(lanes, todo, exact=lambda chunk: seed_exact_query(field_name, chunk),
            like=lambda pats: seed_like_query(field_name, pats[0], limit + 1),
            keys=("value",), on_row=add, patterns_per_query=1, cancel=cancel)


def _resolve_serial(
    lanes: Lanes,
    parsed: list[Value],
    col: _Collector,
    limit: int,
    cancel: CancelToken | None,
) -> None:
    def add(texts: list[str], row: dict[str, Any]) -> None:
        for text in texts:
            col.add(text, row["containerid"])

    resolve(lanes, parsed, exact=serial_exact_query,
            like=lambda pats: serial_like_query(pats[0], limit + 1),
            keys=("value",), on_row=add, patterns_per_query=1, cancel=cancel)
    # Then the container name, then the wafer lot, for the values still unmatched.
    for fallback in ("name_or_wafer", "wafer_lot"):
        left = {v.text for v in parsed if v.text not in col.matches}
        if not left:
            return
        _resolve_field(lanes, fallback, parsed, col, limit, cancel, only=left)
