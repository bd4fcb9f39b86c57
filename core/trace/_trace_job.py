"""A whole trace request: seeds → lineage → event domains, with progress per stage.

Why one runner: the page (as a background job) and the CLI (inline) must do exactly the
same thing. ``TraceRequest`` is the canonical, hashable form of what was asked (its
``key`` is a digest of the sorted request, so identical traces share one job);
``run_trace`` writes the lineage (``nodes``/``edges``) and each domain into the job's
spool and returns a small ``TraceResult`` (counts, seed matches, completeness): the big
data stays on disk. Completeness travels (core.completeness): each domain is
derived from the lineage that listed its containers, jobs from history too, and the
timeline from the domains it draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from core import completeness as comp
from core.i18n import N_, _
from core.jobs import job_key
from core.trace._domains import DOMAINS, DomainResult, fetch_domain
from core.trace._lineage import DIRECTIONS, Lineage, LineageError, trace_lineage
from core.trace._seeds import (
    KINDS,
    SeedError,
    SeedResult,
    check_values,
    resolve_seeds,
    split_values,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import Lanes
    from core.jobs import Job
    from core.trace._cache import DomainCache

DEFAULT_DOMAINS = ("history", "materials", "rejects", "holds")
MACHINE = "machine"
"""The seed kind whose values are machines and whose seeds are the lots that ran on them in
the request's date range (core.contain's exposed lots: its query, its limits
contain_max_lots and contain_max_days)."""
SEED_KINDS: dict[str, str] = {**KINDS, MACHINE: N_("Machines + date range")}
"""Every seed kind of a trace and its label (``_()`` where shown)."""
STAGES = (N_("seeds"), N_("lineage"), N_("history"), N_("materials"), N_("rejects"),
          N_("holds"), N_("jobs"))
"""A trace job's stages (the domains' are their names): messages, shown with ``_()`` by the
progress block of the session that watches (job threads serve sessions of any language)."""
TIMELINE_DOMAINS = ("history", "holds", "materials")
"""What the Trace page's per-lot timeline draws: history's bars, hold and material marks."""


@dataclass(frozen=True)
class TraceRequest:
    seeds: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, values) sorted by kind
    direction: str = "backward"
    domains: tuple[str, ...] = DEFAULT_DOMAINS
    start: str | None = None  # machine seeds: the date range (YYYY-MM-DD, end included)
    end: str | None = None

    @classmethod
    def build(
        cls,
        seeds: Mapping[str, str | Sequence[str]],
        direction: str = "backward",
        domains: Sequence[str] = DEFAULT_DOMAINS,
        settings: Settings | None = None,
        *,
        start: str | date | None = None,
        end: str | date | None = None,
    ) -> TraceRequest:
        """Validate and normalise; SeedError / LineageError for bad input (with
        ``settings``, the seed limits are checked too, before any query). ``start`` and
        ``end`` are the date range of machine seeds (checked by core.contain's rule:
        both given, at most contain_max_days)."""
        if direction not in DIRECTIONS:
            raise LineageError(_("Unknown direction {direction}: use backward or forward.")
                               .format(direction=repr(direction)))
        unknown = [d for d in domains if d not in DOMAINS]
        if unknown:
            raise SeedError(_("Unknown domain(s) {unknown}: choose from {domains}.").format(
                unknown=", ".join(map(repr, unknown)), domains=", ".join(DOMAINS)))
        pairs = []
        window: tuple[str | None, str | None] = (None, None)
        for kind, values in seeds.items():
            if kind not in SEED_KINDS:
                raise SeedError(_("Unknown seed kind {kind}: use one of {kinds}.").format(
                    kind=repr(kind), kinds=", ".join(SEED_KINDS)))
            vals = split_values(values)
            if kind == MACHINE:
                if vals or start or end:
                    suspect = _machines(vals, start, end, settings)
                    vals = list(suspect.names)
                    window = (suspect.start.isoformat(), suspect.end.isoformat())
            elif vals and settings is not None:
                check_values(kind, vals, settings)
            if vals:
                pairs.append((kind, tuple(vals)))
        if (start or end) and MACHINE not in seeds:
            raise SeedError(_("A date range goes with machine seeds only."))
        if not pairs:
            raise SeedError(_("Nothing to trace: enter at least one lot, wafer lot, work "
                              "order, serial number or machine."))
        ordered_domains = tuple(d for d in DOMAINS if d in set(domains))
        return cls(tuple(sorted(pairs)), direction, ordered_domains, *window)

    @property
    def key(self) -> str:
        """The job key (core.jobs._keys): identical traces share one job."""
        what: dict[str, Any] = {
            "seeds": [[k, sorted(v)] for k, v in self.seeds],
            "direction": self.direction,
            "domains": sorted(self.domains),
        }
        if self.start is not None:
            what["window"] = [self.start, self.end]
        return job_key("trace", what)

    @property
    def label(self) -> str:
        """The job's label: a msgid with ``label_args`` (core.jobs.job_label)."""
        return N_("Trace of {n:,} value(s){window}")

    @property
    def label_args(self) -> dict[str, object]:
        window = f" {self.start} ~ {self.end}" if self.start else ""
        return {"n": sum(len(v) for _k, v in self.seeds), "window": window}


@dataclass
class TraceResult:
    request: TraceRequest
    seeds: dict[str, SeedResult]
    lineage: dict[str, Any]
    roots: list[str]
    domains: dict[str, DomainResult] = field(default_factory=dict)

    @property
    def truncated(self) -> str | None:
        return self.lineage.get("truncated")

    @property
    def lineage_completeness(self) -> dict[str, Any]:
        return comp.of_lineage(self.truncated)

    def timeline_completeness(self, shown: Sequence[str] = TIMELINE_DOMAINS
                              ) -> dict[str, Any]:
        """The per-lot timeline's record: derived from the domains it draws (``shown``,
        those of them this trace fetched)."""
        return comp.derive(None, {n: self.domains[n].completeness for n in shown
                                  if n in self.domains})

    def as_json(self, spool: Any) -> dict[str, Any]:
        """The CLI's JSON object (nodes and edges read back from the spool)."""
        nodes = spool.sql("SELECT containerid, containername, kind FROM nodes "
                          "ORDER BY depth, containerid").to_pylist()
        edges = spool.sql("SELECT parent_id, child_id, edge_kind FROM edges "
                          "ORDER BY parent_id, child_id, edge_kind").to_pylist()
        seeds: dict[str, list[str]] = {}
        unmatched: list[str] = []
        for res in self.seeds.values():
            seeds.update(res.matches)
            unmatched += res.unmatched
        return {
            "direction": self.request.direction,
            "seeds": seeds,
            "unmatched": unmatched,
            "nodes": [{"cid": n["containerid"], "name": n["containername"], "kind": n["kind"]}
                      for n in nodes],
            "edges": [{"parent": e["parent_id"], "child": e["child_id"], "kind": e["edge_kind"]}
                      for e in edges],
            "roots": self.roots,
            "truncated": self.truncated,
            "lineage_completeness": self.lineage_completeness,
            "domains": {n: {"rows": d.rows, "completeness": d.completeness}
                        for n, d in self.domains.items()},
        }


def run_trace(
    job: Job,
    lanes: Lanes,
    request: TraceRequest,
    settings: Settings,
    cache: DomainCache | None = None,
) -> TraceResult:
    """Run ``request`` inside ``job`` (its cancel token, stages and spool)."""
    cancel = job.cancel_token
    seed_stage = job.stage(N_("seeds"), total=len(request.seeds))
    seeds: dict[str, SeedResult] = {}
    for i, (kind, values) in enumerate(request.seeds, 1):
        if kind == MACHINE:
            seeds[kind] = _machine_seeds(job, lanes, request, settings, cancel)
        else:
            seeds[kind] = resolve_seeds(lanes, kind, list(values), settings=settings,
                                        cancel=cancel)
        ids = {c for r in seeds.values() for c in r.container_ids}
        job.progress_for(seed_stage)(done=i, rows=len(ids),
                                     message=N_("containers matched"))
    seed_ids = sorted({c for r in seeds.values() for c in r.container_ids})
    if not seed_ids:
        unmatched = [v for r in seeds.values() for v in r.unmatched]
        raise SeedError(_("Nothing matched: {values}{more}. Check the names and the seed "
                          "kind.").format(values=", ".join(unmatched[:10]),
                                          more=" …" if len(unmatched) > 10 else ""))
    total = sum(len(r.container_ids) for r in seeds.values())
    if total > settings.seed_max_matches:
        raise SeedError(
            _("The seeds match {total:,} containers, over the limit of {limit:,} (setting "
              "seed_max_matches): narrow the input.").format(
                total=total, limit=settings.seed_max_matches))
    lin_stage = job.stage(N_("lineage"))
    lineage: Lineage = trace_lineage(
        lanes, seed_ids, request.direction, settings=settings, cancel=cancel,
        progress=job.progress_for(lin_stage),
    )
    job.spool.write_table("nodes", lineage.nodes, {"rows": lineage.nodes.num_rows})
    job.spool.write_table("edges", lineage.edges, {"rows": lineage.edges.num_rows})
    result = TraceResult(request, seeds, lineage.summary(), lineage.roots)
    ids = lineage.container_id_array  # Arrow: fetch_domain sorts it without the GIL
    del lineage
    inputs = {"lineage": result.lineage_completeness}  # a cut lineage: events left out
    for name in request.domains:
        stage = job.stage(name, total=len(ids))
        result.domains[name] = fetch_domain(
            lanes, name, ids, job.spool, settings=settings, cancel=cancel,
            progress=job.progress_for(stage), cache=cache, inputs=inputs,
        )
    return result


SEED_LOTS_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()),
    ("seed_machines", pa.string()), ("first_trackin", pa.timestamp("us")),
    ("trackins", pa.int64()),
])
"""The spool's ``seed_lots`` (machine seeds): each lot that ran on the machines in the range,
the machines it ran on, its first track-in there and how many track-ins."""


def _machines(names: list[str], start: str | date | None, end: str | date | None,
              settings: Settings | None) -> Any:
    """core.contain's checked machine suspect (names, window); SeedError says what to fix."""
    from core.config import load_settings
    from core.contain import ContainError, build_suspect

    try:
        return build_suspect(MACHINE, names, settings=settings or load_settings(),
                             start=start, end=end)
    except ContainError as exc:
        raise SeedError(str(exc)) from exc


def _machine_seeds(job: Job, lanes: Lanes, request: TraceRequest, settings: Settings,
                   cancel: Any) -> SeedResult:
    """The lots that ran on the request's machines in its date range, by core.contain's
    exposed-lots step (one query, at most contain_max_lots lots); they go to the spool as
    ``seed_lots``. A machine that ran no lot in the range is unmatched."""
    from core.contain import ContainError, exposed_lots

    names = dict(request.seeds)[MACHINE]
    suspect = _machines(list(names), request.start, request.end, settings)
    try:
        lots, cut = exposed_lots(lanes, suspect, settings=settings, cancel=cancel)
    except ContainError as exc:
        raise SeedError(str(exc)) from exc
    table = pa.table({
        "containerid": lots["containerid"], "containername": lots["containername"],
        "seed_machines": lots["via"], "first_trackin": lots["first_at"],
        "trackins": lots["events"],
    }).cast(SEED_LOTS_SCHEMA)
    job.spool.write_table("seed_lots", table, {"rows": table.num_rows, "truncated": cut})
    matches: dict[str, list[str]] = {}
    for cid, via in zip(table["containerid"].to_pylist(), table["seed_machines"].to_pylist(),
                        strict=True):
        for machine in (via or "").split(", "):
            matches.setdefault(machine, []).append(cid)
    result = SeedResult(MACHINE, list(names), truncated=cut)
    for name in names:
        if matches.get(name):
            result.matches[name] = sorted(matches[name])
        else:
            result.unmatched.append(name)
    return result
