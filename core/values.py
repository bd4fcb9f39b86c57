"""One parser for pasted lists and one container resolver, for every page and command.

Why: the Trace, Defect trace and Reject history inputs and the CLI each split pasted lists
their own way (spaces split on one page and not on another, escapes on one only, the
pattern limit enforced on one), so the same paste meant different things. This module is
the one rule; the surfaces call it and keep only their own error type.

The rule
--------
Two kinds of list, one parser:

* ``NAMES`` (lots, wafer lots, work orders, serials, machines, material lots; names
  never hold spaces in this factory): items are separated by newlines, commas,
  semicolons, tabs **and spaces**.
* ``LABELS`` (loss reasons, packages, product types, station groups, event domains;
  a package such as ``SOT-23 CU`` holds a space): items are separated by newlines,
  commas, semicolons and tabs only.

Each item is trimmed; empty items are dropped; duplicates are dropped keeping the first.
A backslash makes the next character literal: ``\\,`` keeps a comma inside an item,
``\\*`` ``\\%`` ``\\_`` ``\\\\`` are a literal ``*`` ``%`` ``_`` ``\\`` (a lone trailing
backslash is itself). A sequence (repeated URL parameters, repeated CLI flags) is split
item by item by the same rule, so ``--lot A B`` equals ``--lot "A,B"``.

Wildcards (in lists that accept them: the container lists of Trace, Defect trace and
Reject history): ``*`` and ``%`` match any run of characters, ``_`` exactly one, as SQL
LIKE. In lists without wildcards (containment suspects, labels) those characters are
ordinary: the name is matched exactly as typed (escapes removed).

Limits, checked in one place (``check``) with a ``ValuesError`` (an InputError; a surface
may pass its own subclass) naming the setting: at most ``seed_max_values`` items,
``seed_max_patterns`` items with wildcards, ``MAX_VALUE_CHARS`` characters an item, no
control characters (PostgreSQL refuses a NUL in text).

The resolver (``resolve``): exact names batched into IN lists on the slow lane
(``stream_batched``, core.db._idlist), patterns as LIKE queries with ``ESCAPE '\\'``; each
row is attributed locally to the values it matches (the literal, or the pattern as a
regex), and the values that matched nothing are reported in input order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.i18n import N_, _

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.sql import Executable

    from core.config import Settings

NAMES = "names"
LABELS = "labels"
SEPARATORS: dict[str, str] = {NAMES: ",;\n\r\t ", LABELS: ",;\n\r\t"}
"""Which characters end an item, per kind of list (spaces only in name lists)."""
WILDCARDS = "*%_"
MAX_VALUE_CHARS = 400  # the contract's text columns are String(400)
LIKE_ESCAPE = "\\"


class ValuesError(InputError):
    """A pasted list broke a rule or a limit; the message says which and what to do."""


@dataclass(frozen=True)
class Value:
    text: str  # as typed (after trimming): the key callers report matches by
    literal: str  # escapes removed, for exact matching
    pattern: str | None  # LIKE pattern (escape character backslash); None: no wildcard

    @property
    def like(self) -> str:
        """A LIKE pattern for this value, also for an exact one (its literal escaped)."""
        return self.pattern if self.pattern is not None else _escape_like(self.literal)

    def regex(self) -> re.Pattern[str]:
        """The same match as ``like``, to decide locally which value a row matched."""
        pat, parts, i = self.like, [], 0
        while i < len(pat):
            if pat[i] == "\\" and i + 1 < len(pat):
                parts.append(re.escape(pat[i + 1]))
                i += 2
                continue
            parts.append({"%": ".*", "_": "."}.get(pat[i], re.escape(pat[i])))
            i += 1
        return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def _escape_like(text: str) -> str:
    return "".join("\\" + ch if ch in "%_\\" else ch for ch in text)


def split(values: str | Iterable[str] | None, kind: str = NAMES) -> list[str]:
    """Items of a pasted text (or of each text of a sequence) by the rule of ``kind``:
    trimmed, blanks dropped, duplicates dropped keeping the first; a backslash-escaped
    separator stays inside its item (the escape itself is kept for ``parse``)."""
    if kind not in SEPARATORS:
        raise ValueError(f"unknown list kind {kind!r}")
    if values is None:
        return []
    seps = SEPARATORS[kind]
    texts = [values] if isinstance(values, str) else [str(v) for v in values if v is not None]
    out: dict[str, None] = {}
    for text in texts:
        current: list[str] = []
        i = 0
        while i <= len(text):
            if i == len(text) or text[i] in seps:
                item = "".join(current).strip()
                if item:
                    out.setdefault(item)
                current = []
                i += 1
                continue
            if text[i] == "\\" and i + 1 < len(text):
                current.append(text[i : i + 2])
                i += 2
                continue
            current.append(text[i])
            i += 1
    return list(out)


def parse(text: str, *, wildcards: bool = True) -> Value:
    """One item's literal form and, with wildcards (when allowed), its LIKE pattern."""
    literal: list[str] = []
    pattern: list[str] = []
    wild = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            literal.append(nxt)
            pattern.append(_escape_like(nxt))
            i += 2
            continue
        if wildcards and ch in "*%":
            wild = True
            pattern.append("%")
        elif wildcards and ch == "_":
            wild = True
            pattern.append("_")
        else:  # an ordinary character (a lone trailing backslash too): escaped in LIKE
            pattern.append(_escape_like(ch))
        literal.append(ch)
        i += 1
    return Value(text, "".join(literal), "".join(pattern) if wild else None)


def escape(text: str, kind: str = LABELS) -> str:
    """An exact item (one picked from a list, not typed) as list text: its separators and
    backslashes escaped, so ``literals(escape(x))`` is ``[x]`` even for ``a,b``."""
    seps = SEPARATORS[kind]
    return "".join("\\" + ch if ch in seps or ch == "\\" else ch for ch in text)


def literals(values: str | Iterable[str] | None, kind: str = NAMES) -> list[str]:
    """The items of a list without wildcards (filters, exact names), escapes removed,
    duplicates dropped keeping the first."""
    return list(dict.fromkeys(parse(t, wildcards=False).literal for t in split(values, kind)))


def value_problem(texts: Sequence[str], label: str) -> str | None:
    """What is wrong with items no name can hold (control characters such as a NUL,
    which PostgreSQL refuses outright; absurd lengths), or None."""
    bad_chars = [t for t in texts if any(ord(ch) < 32 or ord(ch) == 127 for ch in t)]
    if bad_chars:
        return _("{n} value(s) contain control characters (e.g. {example}); remove "
                 "them.").format(n=len(bad_chars),
                                 example=repr(bad_chars[0].encode("unicode_escape")
                                              .decode()[:40]))
    too_long = [t for t in texts if len(t) > MAX_VALUE_CHARS]
    if too_long:
        return _("{n} value(s) are longer than {max} characters (e.g. {example}…): no "
                 "{label} is that long.").format(n=len(too_long), max=MAX_VALUE_CHARS,
                                                 example=repr(too_long[0][:30]), label=label)
    return None


def check(
    values: str | Iterable[str] | None,
    settings: Settings,
    *,
    label: str,
    kind: str = NAMES,
    wildcards: bool = True,
    error: type[InputError] = ValuesError,
    max_values: tuple[int, str] | None = None,
    hint: str = N_("split the list"),
) -> list[Value]:
    """Split, then enforce every limit; ``error`` (an InputError) names the broken one.

    ``max_values``: (limit, its name) instead of the setting ``seed_max_values``.
    An empty list is returned as such: whether it is allowed is the caller's rule."""
    texts = split(values, kind)
    limit, name = max_values or (settings.seed_max_values, "setting seed_max_values")
    if len(texts) > limit:
        raise error(_("{n} {label} values exceed the limit of {limit} ({name}): {hint}.")
                    .format(n=f"{len(texts):,}", label=label, limit=f"{limit:,}", name=name,
                            hint=_(hint)))
    problem = value_problem(texts, label)
    if problem:
        raise error(problem)
    parsed = [parse(t, wildcards=wildcards) for t in texts]
    patterns = sum(v.pattern is not None for v in parsed)
    if patterns > settings.seed_max_patterns:
        raise error(
            _("{n} {label} values use wildcards (*, %, _); at most {max} may (setting "
              "seed_max_patterns). Escape a literal underscore as \\_ or list exact "
              "names.").format(n=patterns, label=label, max=settings.seed_max_patterns)
        )
    return parsed


def texts(values: str | Iterable[str] | None, settings: Settings, **kw: Any) -> list[str]:
    """``check``'s items as typed (what a request stores and a link carries)."""
    return [v.text for v in check(values, settings, **kw)]


# --- the one container resolver --------------------------------------------------------------


@dataclass
class Resolution:
    matched: list[str]  # value texts that matched a row, in input order
    unmatched: list[str]  # value texts that matched nothing, in input order


def resolve(
    lanes: Any,
    values: Sequence[Value],
    *,
    exact: Callable[[list[str]], Executable],
    like: Callable[[list[str]], Executable],
    keys: Sequence[str],
    on_row: Callable[[list[str], dict[str, Any]], None],
    patterns_per_query: int = 50,
    cancel: Any = None,
) -> Resolution:
    """Run the exact values as batched IN lists (``exact(chunk of literals)``) and the
    patterns as LIKE queries (``like(chunk of LIKE patterns)``, ``patterns_per_query`` a
    query) on the slow lane. Each row's ``keys`` columns are the names it can match;
    ``on_row(value texts it matched, row)`` is called once per row and query (it may
    raise to refuse a list that matches too much). Returns which values matched."""
    slow = lanes.slow
    by_literal: dict[str, list[str]] = {}
    for v in values:
        if v.pattern is None:
            by_literal.setdefault(v.literal, []).append(v.text)
    hit: set[str] = set()

    def take(rows: list[dict[str, Any]], match: Callable[[dict[str, Any]], list[str]]) -> None:
        for row in rows:
            texts_ = match(row)
            if texts_:
                hit.update(texts_)
                on_row(texts_, row)

    if by_literal:
        def exact_match(row: dict[str, Any]) -> list[str]:
            found: dict[str, None] = {}
            for k in keys:
                for t in by_literal.get(row.get(k), ()):  # type: ignore[arg-type]
                    found.setdefault(t)
            return list(found)

        with closing(slow.stream_batched(exact, sorted(by_literal), cancel=cancel)) as it:
            for batch in it:
                if batch.table is not None and batch.table.num_rows:
                    take(batch.table.to_pylist(), exact_match)
    patterns = [v for v in values if v.pattern is not None]
    for i in range(0, len(patterns), max(1, patterns_per_query)):
        chunk = patterns[i:i + max(1, patterns_per_query)]
        rx = [(v.text, v.regex()) for v in chunk]

        def like_match(row: dict[str, Any], rx: list = rx) -> list[str]:
            names = [str(row[k]) for k in keys if row.get(k) is not None]
            return [t for t, r in rx if any(r.match(n) for n in names)]

        table = slow.fetch_arrow(like([v.like for v in chunk]), cancel=cancel)
        take(table.to_pylist(), like_match)
    matched = [v.text for v in values if v.text in hit]
    return Resolution(matched, [v.text for v in values if v.text not in hit])
