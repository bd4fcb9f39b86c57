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
from typing import TYPE_CHECKING, Any

from core import completeness as comp
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
TIMELINE_DOMAINS = ("history", "holds", "materials")
"""What the Trace page's per-lot timeline draws: history's bars, hold and material marks."""


@dataclass(frozen=True)
class TraceRequest:
    seeds: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, values) sorted by kind
    direction: str = "backward"
    domains: tuple[str, ...] = DEFAULT_DOMAINS

    @classmethod
    def build(
        cls,
        seeds: Mapping[str, str | Sequence[str]],
        direction: str = "backward",
        domains: Sequence[str] = DEFAULT_DOMAINS,
        settings: Settings | None = None,
    ) -> TraceRequest:
        """Validate and normalise; SeedError / LineageError for bad input (with
        ``settings``, the seed limits are checked too, before any query)."""
        if direction not in DIRECTIONS:
            raise LineageError(f"Unknown direction {direction!r}: use backward or forward.")
        unknown = [d for d in domains if d not in DOMAINS]
        if unknown:
            raise SeedError(
                f"Unknown domain(s) {', '.join(map(repr, unknown))}: choose from "
                f"{', '.join(DOMAINS)}."
            )
        pairs = []
        for kind, values in seeds.items():
            if kind not in KINDS:
                raise SeedError(f"Unknown seed kind {kind!r}: use one of {', '.join(KINDS)}.")
            vals = split_values(values)
            if vals and settings is not None:
                check_values(kind, vals, settings)
            if vals:
                pairs.append((kind, tuple(vals)))
        if not pairs:
            raise SeedError("Nothing to trace: enter at least one lot, wafer lot, work "
                            "order or serial number.")
        ordered_domains = tuple(d for d in DOMAINS if d in set(domains))
        return cls(tuple(sorted(pairs)), direction, ordered_domains)

    @property
    def key(self) -> str:
        """The job key (core.jobs._keys): identical traces share one job."""
        return job_key("trace", {
            "seeds": [[k, sorted(v)] for k, v in self.seeds],
            "direction": self.direction,
            "domains": sorted(self.domains),
        })

    @property
    def label(self) -> str:
        parts = [f"{len(v)} {KINDS[k].lower()}{'s' if len(v) > 1 else ''}" for k, v in self.seeds]
        return f"{self.direction} trace of {', '.join(parts)}"


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
    seed_stage = job.stage("seeds", total=len(request.seeds))
    seeds: dict[str, SeedResult] = {}
    for i, (kind, values) in enumerate(request.seeds, 1):
        seeds[kind] = resolve_seeds(lanes, kind, list(values), settings=settings, cancel=cancel)
        ids = {c for r in seeds.values() for c in r.container_ids}
        job.progress_for(seed_stage)(done=i, rows=len(ids),
                                     message=f"{len(ids):,} containers matched")
    seed_ids = sorted({c for r in seeds.values() for c in r.container_ids})
    if not seed_ids:
        unmatched = [v for r in seeds.values() for v in r.unmatched]
        raise SeedError(
            f"Nothing matched: {', '.join(unmatched[:10])}"
            f"{' …' if len(unmatched) > 10 else ''}. Check the names and the seed kind."
        )
    total = sum(len(r.container_ids) for r in seeds.values())
    if total > settings.seed_max_matches:
        raise SeedError(
            f"The seeds match {total:,} containers, over the limit of "
            f"{settings.seed_max_matches:,} (setting seed_max_matches): narrow the input."
        )
    lin_stage = job.stage("lineage")
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
