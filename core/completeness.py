"""Completeness records: how much of what was asked a result holds, and why not all of it.

Why one module: a result built from other results is never more complete than its least
complete input. The jobs domain of a trace takes its machine windows from history, so a
history with failed batches gives jobs that miss rows too; a user once read history
"partial, 3 batches failed" beside jobs "complete" with about 15 % of the jobs missing.
The same holds for every event domain (fetched for the lineage's containers), the defect
analysis (lineage, history, materials), the forward analysis (lineage, downstream
rejects) and the trace's timeline (history, holds, materials). So one rule, here:
``derive(own, inputs)`` gives a derived result the worst status of its own record and its
inputs', names every input, and says in words which incomplete input made it so.

A record is a JSON-ready dict (the CLI prints it, the pages show its ``reason``):

- ``status``: ``complete``, ``partial`` (some batches failed: their ids' rows are
  missing) or ``truncated`` (a bound cut it); worst first by ``SEVERITY``;
- ``reason``: the same in words (None when complete), e.g. "derived from history, which
  is partial: 3 of 228 batches failed";
- ``failed_batches`` (its own, each ``first_id``, ``last_id``, ``ids``, ``error``),
  ``batches`` (its own batch count), ``limit`` (the bound that cut it, its own);
- ``derived_from``: input name -> that input's status, and ``own_reason``: the reason
  of its own fetch alone (both absent for a result fetched from the database alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.i18n import N_, _, ngettext

COMPLETE, PARTIAL, TRUNCATED = "complete", "partial", "truncated"
STATUS_WORDS = {COMPLETE: N_("complete"), PARTIAL: N_("partial"), TRUNCATED: N_("truncated")}
"""A status as a reader sees it (pages, CLI text); JSON keeps the status itself."""
SEVERITY = {COMPLETE: 0, PARTIAL: 1, TRUNCATED: 2}
"""Worse is higher. A cut (``truncated``) ranks above failed batches, as a domain whose
rows were cut and some of whose batches failed has always been ``truncated``."""

RANGES_NAMED = 3
"""Failed id ranges a reason names (all of them stay in ``failed_batches``)."""

Record = dict[str, Any]


def status_text(status: str | None) -> str:
    """``status`` in the reader's language (an unknown one as it is)."""
    status = status or COMPLETE
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def fetched(
    failed: Sequence[Mapping[str, Any]] = (),
    *,
    batches: int | None = None,
    limit: str | None = None,
    unit: str = "containers",
) -> Record:
    """The record of a result fetched from the database: ``failed`` batches
    (``first_id``, ``last_id``, ``ids``, ``error``) out of ``batches``, ``limit`` the
    bound that cut it (None: none did). ``unit`` names what the batches' ids are."""
    failed = sorted((dict(f) for f in failed), key=lambda f: str(f.get("first_id")))
    status = TRUNCATED if limit else PARTIAL if failed else COMPLETE
    parts = []
    if limit:
        parts.append(_("cut by {limit}").format(limit=limit))
    if failed:
        ranges = "; ".join(f"{f['first_id']}…{f['last_id']}" for f in failed[:RANGES_NAMED])
        more = (_("; {n} more").format(n=len(failed) - RANGES_NAMED)
                if len(failed) > RANGES_NAMED else "")
        if batches:
            text = ngettext("{failed} of {batches} batch failed ({unit} {ranges}{more})",
                            "{failed} of {batches} batches failed ({unit} {ranges}{more})",
                            max(batches, len(failed)))
        else:
            text = ngettext("{failed} batch failed ({unit} {ranges}{more})",
                            "{failed} batches failed ({unit} {ranges}{more})", len(failed))
        parts.append(text.format(failed=len(failed), batches=f"{batches or 0:,}", unit=unit,
                                 ranges=ranges, more=more))
    return {"status": status, "reason": "; ".join(parts) or None, "failed_batches": failed,
            "batches": batches, "limit": limit}


def of_lineage(truncated: str | None) -> Record:
    """The lineage's record: truncated when a bound (``Lineage.truncated``) cut the walk
    (its batches never fail silently: a failed lineage query fails the trace)."""
    return fetched(limit=truncated)


def worst(*statuses: str | None) -> str:
    """The worst of ``statuses`` (None and unknown values count as complete)."""
    return max((s or COMPLETE for s in statuses), key=lambda s: SEVERITY.get(s, 0),
               default=COMPLETE)


def _short(record: Mapping[str, Any]) -> str:
    """An input's own reason, without the reasons it derived (they are named where that
    input is shown): keeps a chain (jobs ← history ← lineage) one clause deep."""
    own = record.get("own_reason", record.get("reason"))
    if own:
        return str(own)
    derived = record.get("derived_from") or {}
    bad = [n for n, s in derived.items() if s != COMPLETE]
    return (_("derived from {inputs}").format(inputs=", ".join(bad)) if bad
            else str(record.get("status")))


def derive(own: Mapping[str, Any] | None, inputs: Mapping[str, Mapping[str, Any] | None]
           ) -> Record:
    """``own`` (a result's record; None: complete, nothing fetched of its own) made no
    better than ``inputs`` (name -> the record of a result it was built from; None:
    not known, counted complete): status = the worst of all, ``derived_from`` names
    every input with its status, and ``reason`` says which incomplete input made it so:
    "derived from history, which is partial: 3 of 228 batches failed (...)"."""
    base: Record = dict(own) if own is not None else fetched()
    base.setdefault("failed_batches", [])
    base.setdefault("batches", None)
    base.setdefault("limit", None)
    prior = base.get("reason")  # its own reason and those of inputs derived before
    own_reason = base.get("own_reason", prior)
    derived = dict(base.get("derived_from") or {})
    reasons = [prior] if prior else []
    status = base.get("status") or COMPLETE
    for name, rec in inputs.items():
        rec = rec or {}
        st = rec.get("status") or COMPLETE
        status = worst(status, st)
        if st != COMPLETE and derived.get(name) != st:
            reasons.append(_("derived from {name}, which is {status}: {reason}").format(
                name=name, status=st, reason=_short(rec)))
        derived[name] = st
    base.update(status=status, derived_from=derived, own_reason=own_reason,
                reason="; ".join(reasons) or None)
    return base


def incomplete(records: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Record]:
    """The records of ``records`` that are not complete, in order."""
    return {n: dict(r) for n, r in records.items()
            if r and (r.get("status") or COMPLETE) != COMPLETE}
