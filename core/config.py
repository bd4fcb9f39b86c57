"""One settings object for the whole product, read once and validated at start.

Why: the incident in domain.md came from limits nobody could see (pool sizes, batch sizes,
timeouts scattered in code). Here every limit is a named, documented, typed setting with a
default and a reason, read from (highest wins):

1. environment variables ``MES_<NAME>`` (``MES_DB_URL``, ``MES_SLOW_PERMITS``, ...);
2. ``.streamlit/secrets.toml``: the database URL under ``[connections.mes] url = ...`` and
   any setting by name under ``[mesdash]``;
3. the defaults below.

Each setting declares its contract with it (``_s(2, "doc", min=1, max=64)``, ``gt=``,
``choices=``, ``check=``; see ``Contract``): one loop validates every setting against its
declaration, and the few rules between two settings are the ``AT_MOST`` list.
``load_settings`` collects *every* problem before raising one ``SettingsError`` whose
message names each bad setting, where it came from and why it is wrong ("slow_permits
must be 1 or more (got 0)."). The README's configuration table, with the allowed values,
is generated from the declarations (see ``mesdash config``), and so is the System page's.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.redact import mask_text, mask_url

ENV_PREFIX = "MES_"
DEFAULT_SECRETS = Path(".streamlit") / "secrets.toml"
ORACLE_IN_LIST_LIMIT = 1000
DEMO_SCALES = ("tiny", "small", "incident")  # core.demo.scales.SCALES (a test checks)

DEFAULT_NON_QUALITY_HOLD_REASONS = (
    "IQC檢驗(久存品驗證)(QC)",
    "大中/安波幅50pcs樣品留樣(PD)",
    "工程驗證(PE)",
    "工程驗證(RD)",
    "指定機台生產",
    "特殊需求(X-Ray全檢)",
    "特殊需求管控",
    "第一次量產QC品質確認(QC)",
    "需綁尾數(PD)",
    "樣品需求留存打樣(樣品)",
    "盤點(收線)需求",
)


class SettingsError(ValueError):
    """Raised when settings are missing or invalid; the message lists every problem (with
    any credential a problem quotes masked)."""

    def __init__(self, problems: list[str]):
        problems = [mask_text(p) for p in problems]
        self.problems = problems
        super().__init__(
            "Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def _fmt(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


@dataclass(frozen=True)
class Contract:
    """What a setting accepts beyond its type, declared with it (``_s``): bounds
    (``min``/``max`` inclusive, ``gt`` exclusive), ``choices``, or a ``check`` for a shape
    no bound can say (a URL, HH:MM) with ``allowed`` describing it; ``why`` is added to the
    message of a broken bound; ``unbounded`` is the reason a number needs no lower bound.
    The one validation loop, the README table and the System page read it."""

    min: float | None = None
    max: float | None = None
    gt: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None
    allowed: str = ""
    why: str = ""
    unbounded: str = ""

    def describe(self) -> str:
        """The allowed values in a few characters: "1 – 64", "> 0", "≥ 0", "tiny, small"."""
        low = (f"> {_fmt(self.gt)}" if self.gt is not None
               else f"≥ {_fmt(self.min)}" if self.min is not None else "")
        if self.max is not None:
            text = (f"{_fmt(self.min)} – {_fmt(self.max)}" if self.min is not None
                    else f"{low}, ≤ {_fmt(self.max)}" if low else f"≤ {_fmt(self.max)}")
        else:
            text = low
        if self.choices:
            text = ", ".join(self.choices)
        return "; ".join(x for x in (text, self.allowed) if x)

    def problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` breaks this contract (a sentence naming the setting), or None."""
        got = f"(got {shown_value(name, value)!r})"
        if self.choices is not None and value not in self.choices:
            return f"{name} must be one of {', '.join(self.choices)} {got}."
        if self.check is not None:
            reason = self.check(value)
            if reason:
                return f"{name} {reason} {got}."
        low_ok = ((self.gt is None or value > self.gt)
                  and (self.min is None or value >= self.min))
        high_ok = self.max is None or value <= self.max
        if low_ok and high_ok:
            return None
        if self.min is not None and self.max is not None:
            rule = f"between {_fmt(self.min)} and {_fmt(self.max)}"
        elif self.gt is not None:
            rule = f"greater than {_fmt(self.gt)}" + (
                f" and at most {_fmt(self.max)}" if self.max is not None else "")
        elif self.min is not None:
            rule = f"{_fmt(self.min)} or more"
        else:
            rule = f"{_fmt(self.max)} or less"  # type: ignore[arg-type]
        return f"{name} must be {rule} {got}" + (f": {self.why}." if self.why else ".")


def _s(
    default: Any,
    doc: str,
    *,
    secret: bool = False,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    choices: tuple[str, ...] | None = None,
    check: Callable[[Any], str | None] | None = None,
    allowed: str = "",
    why: str = "",
    unbounded: str = "",
) -> Any:
    """A setting: default, the reason it exists, its contract (see ``Contract``) and
    ``secret=True`` for a URL that may carry credentials, shown only through
    ``core.redact.mask_url`` (``shown_value``)."""
    contract = Contract(min, max, gt, choices, check, allowed, why, unbounded)
    return field(default=default, metadata={"doc": doc, "secret": secret,
                                            "contract": contract})


# --- checks of shapes no bound can say (each returns the reason a value is wrong) -----------
def _check_db_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        from sqlalchemy.engine import make_url

        backend = make_url(url).get_backend_name()
    except Exception as exc:  # sqlalchemy raises ArgumentError for junk
        return f"is not a SQLAlchemy URL ({exc})"
    if backend not in ("oracle", "postgresql", "duckdb"):
        return f"uses {backend!r}; supported: oracle+oracledb, postgresql+psycopg, duckdb"
    return None


def _check_redis_url(url: str | None) -> str | None:
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        return "must start with redis://, rediss:// or unix://"
    return None


def _check_identifier(text: str) -> str | None:
    if not text.replace("_", "").isalnum():
        return "must be a plain identifier (letters, digits, _)"
    return None


def _check_memory(text: str) -> str | None:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", text):
        return "must look like 512MB or 2GB"
    return None


def _check_hhmm(text: str) -> str | None:
    try:
        hh, mm = text.split(":")
        if 0 <= int(hh) < 24 and 0 <= int(mm) < 60:
            return None
    except ValueError:
        pass
    return "must be HH:MM, e.g. 07:30"


def _check_edges(edges: tuple[float, ...]) -> str | None:
    if not edges or list(edges) != sorted(set(edges)) or edges[0] <= 0:
        return "must be increasing positive numbers, e.g. 1;3;7"
    return None


def _check_fault(spec: str) -> str | None:
    if not spec:
        return None
    from core.db import FaultPlan

    try:
        FaultPlan.parse(spec)
    except ValueError as exc:
        return f"is not a fault plan: {exc}"
    return None


@dataclass(frozen=True)
class Settings:
    # --- where the data is -------------------------------------------------------------
    db_url: str | None = _s(
        None,
        "SQLAlchemy URL of the MES warehouse (oracle+oracledb://, postgresql+psycopg://, "
        "duckdb:///file). Empty: the embedded demo DuckDB file (built on first run).",
        secret=True,
        check=_check_db_url, allowed="oracle, postgresql or duckdb URL",
    )
    schema: str = _s("dwh", "Schema holding the MES tables (DWH in production).",
                     check=_check_identifier, allowed="letters, digits, _")
    demo_db_path: str = _s(
        "data/demo.duckdb", "Embedded demo database file, used when db_url is empty."
    )
    demo_scale: str = _s(
        "small", "Scale of the demo built on first run: tiny, small or incident.",
        choices=DEMO_SCALES,
    )
    redis_url: str | None = _s(
        None,
        "Redis URL (redis://host:6379/0) for the cross-process slow-lane throttle and the "
        "shared result cache. Empty: process-local throttle, no shared cache.",
        secret=True,
        check=_check_redis_url, allowed="redis://, rediss:// or unix://",
    )
    redis_timeout_s: float = _s(
        2.0,
        "Seconds a Redis connect or command (slow-lane throttle, result cache) may take "
        "before Redis counts as down: the throttle falls back to a local one, the cache is "
        "skipped; never a page waiting on a dead Redis.",
        gt=0.0,
    )
    # --- realtime lane: live widgets -----------------------------------------------------
    realtime_pool_size: int = _s(5, "Connections kept open for the live widgets.", min=1)
    realtime_max_overflow: int = _s(5, "Extra live connections allowed under bursts.", min=0)
    realtime_pool_timeout_s: float = _s(
        5.0, "Seconds a live query waits for a pooled connection before failing.",
        gt=0.0,
    )
    realtime_pool_recycle_s: int = _s(
        1800, "Seconds after which a live connection is replaced (firewalls drop idle ones).",
        min=1,
    )
    realtime_pool_pre_ping: bool = _s(
        True,
        "Check a live connection before use, so a dropped one never reaches a page "
        "(server databases; an embedded DuckDB file has no connection to drop).",
    )
    realtime_deadline_s: float = _s(
        5.0, "Driver-enforced deadline of one live query; protects the pages from a hang.",
        gt=0.0,
    )
    # --- slow lane: trace and history queries ------------------------------------------
    slow_connections: int = _s(
        4, "Connections of the slow lane's own pool; never shared with the live widgets.",
        min=1,
    )
    slow_permits: int = _s(
        2,
        "Slow-lane queries allowed at once (across processes when redis_url is set): the "
        "throttle that keeps a 114K-container trace from starving the database.",
        min=1,
    )
    slow_wait_s: float = _s(
        30.0, "Seconds a slow query waits for a permit before 'busy, try again' is shown.",
        gt=0.0,
    )
    slow_deadline_s: float = _s(
        60.0, "Driver-enforced deadline of one slow-lane query (one IN-list batch).",
        gt=0.0,
    )
    slow_lease_s: float = _s(
        30.0,
        "Lease of a Redis throttle permit; renewed while held, lost this long after its "
        "holder dies.",
        min=1.5, why="a holder must be able to renew it in time",
    )
    slow_workers: int = _s(2, "Parallel IN-list batches of one trace.", min=1)
    slow_parallel_workers: int = _s(
        0,
        "PostgreSQL: parallel workers one slow-lane query may use "
        "(max_parallel_workers_per_gather for the slow lane's sessions). 0 keeps a heavy "
        "scan on one core, leaving the others to the live widgets (in the incident replay the "
        "detection stage's scans otherwise made live queries wait up to 60 ms).",
        min=0, max=64,
    )
    in_list_max: int = _s(
        ORACLE_IN_LIST_LIMIT, "Ids in one IN list (Oracle allows at most 1000).",
        min=1, max=ORACLE_IN_LIST_LIMIT,
        why=f"Oracle's limit of {ORACLE_IN_LIST_LIMIT} expressions in one IN list",
    )
    yield_to_live: bool = _s(
        True,
        "Pause dispatching slow batches while live queries run, so live widgets keep "
        "their speed on a busy machine.",
    )
    yield_max_wait_s: float = _s(
        2.0, "Longest a slow batch waits for live queries to finish before it runs anyway.",
        min=0.0,
    )
    live_recent_s: float = _s(
        1.0,
        "For this long after a live query, the slow lane runs one batch at a time instead "
        "of slow_workers, leaving a core to the live widgets.",
        min=0.0,
    )
    gil_switch_ms: float = _s(
        0.5,
        "Python's thread switch interval while lanes are open (default Python: 5 ms). "
        "Background jobs doing Python work otherwise make live queries wait up to 5 ms at "
        "every hand-off (measured: live p99 during a 114K trace 458 -> 214 ms).",
        min=0.05, max=50.0,
    )
    gc_freeze: bool = _s(
        True,
        "When lanes open, move the objects alive after start-up (modules, Streamlit, "
        "pandas: ~190K) out of the garbage collector's reach, so its full collections, "
        "which stop every thread, scan only what jobs create (measured on the incident "
        "trace: longest pause 404 -> 113 ms).",
    )
    duckdb_memory_limit: str = _s(
        "512MB",
        "Memory the DuckDB warehouse may use for its buffers (embedded demo); DuckDB's own "
        "default is 80 % of RAM.",
        check=_check_memory, allowed="e.g. 512MB, 2GB",
    )
    live_batch_size: int = _s(
        250,
        "IN-list size of slow batches while live widgets are active: shorter batches give "
        "way sooner (measured: p99 of live queries 2.3x idle with 1000, 1.3x with 250).",
        min=1,
    )
    oracle_arrow_fetch: bool = _s(
        True,
        "Oracle slow-lane results through python-oracledb's Arrow fetch (fetch_df_batches: "
        "no Python object per row); off: the DB-API row path. Proven against a test "
        "double here (no Oracle server can run in CI): switch off if a server disagrees.",
    )
    analysis_threads: int = _s(
        2,
        "Threads of the in-process DuckDB that runs a defect trace's analysis or builds a "
        "reject-history slicer while no live widget has queried for live_recent_s (else "
        "one). Incident: analysis 3.1 -> 2.2 s, 365-day slicer 0.63 -> 0.48 s with two.",
        min=1,
    )
    duckdb_threads: int = _s(
        1,
        "Threads the DuckDB warehouse may use per query (embedded demo); 1 leaves the other "
        "core to the live widgets while a trace runs.",
        min=1,
    )
    # --- caching ---------------------------------------------------------------------------
    cache_max_ids: int = _s(
        10_000,
        "Container sets larger than this are never cached (not st.cache_data, not Redis, "
        "not memory): the incident's cache-server timeout.",
        min=0, why="0 caches nothing",
    )
    cache_ttl_s: int = _s(3600, "Seconds a cached trace or history result is kept.", min=1)
    trace_cache_entries: int = _s(
        64,
        "Trace results (one event domain of a container set of at most cache_max_ids) a "
        "process keeps in memory besides Redis: entries beyond it are dropped oldest first.",
        min=1,
    )
    trace_cache_mb: int = _s(
        256,
        "Memory those trace results may hold in all (older ones are dropped beyond it); a "
        "result over a quarter of it is never kept in memory.",
        min=1,
    )
    spool_dir: str = _s(
        "", "Folder for per-job Parquet spools. Empty: a folder in the system temp dir. "
        "With job_backend = rq: a folder every dashboard replica and worker mounts at "
        "this same path (shared storage), where workers write and replicas read results."
    )
    # --- job backend: where traces, defect traces, containments and reject loads run --------
    job_backend: str = _s(
        "thread",
        "Where jobs run: thread (in the dashboard process, nothing else to run) or rq "
        "(python-rq workers, `mesdash worker`, on redis_url: shared by every replica, "
        "surviving a dashboard restart).",
        choices=("thread", "rq"),
    )
    rq_queue: str = _s(
        "mesdash", "Name of the RQ queue (job_backend = rq) replicas enqueue on and "
        "workers listen to; also prefixes its job ids.",
        check=_check_identifier, allowed="letters, digits, _",
    )
    worker_wait_s: float = _s(
        10.0,
        "Seconds a queued job waits while no worker is alive (job_backend = rq) before it "
        "fails with 'no worker is running' (CLI exit 4) instead of queueing silently.",
        gt=0.0, max=600.0,
    )
    worker_lease_s: float = _s(
        15.0,
        "Lease of a worker and its running job (job_backend = rq): renewed every third of "
        "it; a worker killed mid-job is 'worker lost' at most this long after.",
        min=3.0, max=600.0, why="a worker renews it every third of it",
    )
    job_timeout_s: int = _s(
        3600, "Seconds one job may run on a worker (job_backend = rq) before RQ stops it.",
        min=60,
    )
    job_result_redis_kb: int = _s(
        256,
        "Largest finished result (pickled, KiB) kept in Redis (job_backend = rq); a "
        "larger one stays in the job's spool file. Tables and container sets live in the "
        "spool either way.",
        min=0, max=10_240,
    )
    job_ttl_s: int = _s(
        3600, "Seconds a finished job (trace, defect trace, reject-history load) and its "
        "spool are kept.", min=1)
    job_inline_wait_s: float = _s(
        1.0,
        "Seconds a page waits for a job it just found running before it shows the "
        "progress block with Cancel: a short load appears without a progress flash.",
        min=0.0, max=30.0,
    )
    # --- trace -----------------------------------------------------------------------------
    trace_max_depth: int = _s(60, "Genealogy levels followed before the trace says 'cut'.", min=1)
    trace_max_nodes: int = _s(
        250_000, "Containers in one lineage before the trace says 'cut'.",
        min=1,
    )
    seed_max_values: int = _s(
        10_000, "Input values in one seed list (lots, wafer lots, work orders, serials).",
        min=1,
    )
    seed_max_matches: int = _s(
        100_000, "Containers one seed list may match before it is refused as too broad.",
        min=1,
    )
    seed_max_patterns: int = _s(
        50,
        "Wildcard values (*, %, _) in one seed list; each is its own query, exact values "
        "are batched.",
        min=1,
    )
    graph_max_nodes: int = _s(
        1500,
        "Lineage nodes the Trace page draws at once; a bigger lineage shows its shallowest "
        "nodes, or three steps around the focused container (the full graph downloads).",
        min=1,
    )
    focus_max_hits: int = _s(20, "Matches the Trace page's focus search lists and marks.", min=1)
    timeline_max_lots: int = _s(
        2000,
        "Lots the Trace page's timeline picker lists (a focused container is always "
        "offered first).",
        min=1,
    )
    timeline_max_events: int = _s(
        500, "History, hold and material rows one lot's timeline draws (per kind).",
        min=1,
    )
    timeline_max_shown: int = _s(
        12, "Lots the Trace page's timeline draws at once (the selected containers, or "
        "those picked).",
        min=1, max=50,
    )
    trace_domain_max_rows: int = _s(
        50_000_000,
        "Rows one event domain of a trace may spool before it is cut and marked "
        "'truncated' (bounds the disk a trace can fill).",
        min=1,
    )
    defect_max_days: int = _s(180, "Longest date range of a defect trace.", min=1)
    # --- dates people type (every page, link and command) --------------------------------
    date_years_back: int = _s(
        30,
        "Earliest date accepted anywhere: January 1 of this many years before the current "
        "year. An older date (a typo, 0001-01-01) is a clear input error, not an empty or "
        "failed query.",
        min=1, max=200,
    )
    date_years_ahead: int = _s(
        1,
        "Latest date accepted anywhere: December 31 of this many years after the current "
        "year. A far-future date (9999-12-31) is a clear input error, not an overflow.",
        min=0, max=100,
    )
    # --- containment -----------------------------------------------------------------------
    contain_max_lots: int = _s(
        100_000,
        "Containers one containment may hold (exposed lots plus their descendants) before "
        "it is cut and says 'truncated': the incident's lineage (~114K) at most.",
        min=1,
    )
    contain_max_days: int = _s(
        92,
        "Longest machine window of a containment (each day is scanned in the lots' "
        "history).",
        min=1,
    )
    # --- reject history ------------------------------------------------------------------
    reject_default_days: int = _s(
        30, "Default reject-history range (days ending yesterday).", min=1
    )
    reject_max_days: int = _s(365, "Longest reject-history range.", min=1)
    pareto_max_bars: int = _s(
        30,
        "Bars a reject pareto chart draws before summing the rest into one 'others (N)' "
        "bar (a year has hundreds of machines); the pareto table lists every item.",
        min=1,
    )
    reject_open_runs_default: bool = _s(
        True,
        "Opening Reject history with nothing in the link runs the default range at once "
        "(the morning view); off: the page waits for Run.",
    )
    reject_cache_entries: int = _s(
        8,
        "Reject-history loads a process keeps ready to slice (each held by its local "
        "slicer: about 135 MB for a 365-day load of ~400K records).",
        min=1,
    )
    reject_cache_mb: int = _s(
        512,
        "Memory the reject-history loads of a process may hold in all (their slicers; "
        "the newest load is always kept): older loads beyond it are dropped, as beyond "
        "reject_cache_entries. A 30-day incident-scale load holds ~31 MB, a 365-day one "
        "~134 MB.",
        min=1,
    )
    # --- holds and snapshots ---------------------------------------------------------------
    snapshot_refresh_s: int = _s(
        60, "Seconds between cheap sys_date checks of the live snapshot.",
        min=1,
    )
    snapshot_stale_s: int = _s(
        900, "Age of the live snapshot (seconds) after which pages warn it is stale.",
        min=1,
    )
    shift_day_start: str = _s(
        "07:30", "Shift-day boundary: events at or after this time belong to the next day.",
        check=_check_hhmm, allowed="HH:MM",
    )
    non_quality_hold_reasons: tuple[str, ...] = _s(
        DEFAULT_NON_QUALITY_HOLD_REASONS,
        "Hold reasons that are not quality holds (everything else, null included, is).",
    )
    hold_history_max_days: int = _s(365, "Longest hold-history range.", min=1)
    page_cache_entries: int = _s(
        16,
        "Small per-page results a process keeps (hold-history loads by range, defect "
        "lot-detail pages): entries beyond it are dropped oldest first.",
        min=1,
    )
    hold_age_edges_days: tuple[float, ...] = _s(
        (1.0, 3.0, 7.0),
        "Edges of the days-at-station buckets of held lots (<1, 1–3, 3–7, ≥7 days).",
        check=_check_edges, allowed="increasing, > 0",
    )
    hold_duration_edges_h: tuple[float, ...] = _s(
        (4.0, 24.0, 72.0),
        "Edges of the hold-duration buckets in hours (<4 h, 4–24 h, 1–3 d, >3 d).",
        check=_check_edges, allowed="increasing, > 0",
    )
    defect_default_station: str = _s("TMTT", "Default detection station group of a defect trace.")
    defect_reason_lookback_days: int = _s(
        180, "Loss reasons offered in the defect trace: those seen in this many days.",
        min=1,
    )
    suspect_min_lots: int = _s(
        10,
        "Seed lots a factor (machine, material lot, wafer lot) must have touched to be tested "
        "as a suspect: a factor of three lots can show any rate by chance.",
        min=1,
    )
    workcenter_map_file: str = _s(
        "",
        "Optional CSV (work_center,work_center_group,workcentersequence_group) overriding "
        "the station-group mapping read from dw_mes_spec_workcenter_v.",
    )
    # --- pages -------------------------------------------------------------------------------
    page_size: int = _s(50, "Rows a table page shows by default.", min=1)
    page_size_max: int = _s(200, "Most rows a table page may show.", min=1)
    system_refresh_s: int = _s(
        5,
        "Seconds between refreshes of the System page's lane statistics and jobs (each "
        "reads the process's own counters, no warehouse query beyond the pool's state).",
        min=1,
    )
    # --- language and labels -------------------------------------------------------------
    language: str = _s(
        "auto",
        "Language of pages and CLI messages: auto (the browser's: zh-* is 繁體中文, else "
        "English; the CLI: English), en or zh-TW. The URL's lang and the sidebar override "
        "it per session; the CLI's --lang per command.",
        choices=("auto", "en", "zh-TW"),
    )
    csv_headers: str = _s(
        "labels",
        "CSV headers: labels (readable, in the user's language) or names (the raw column "
        "names, for scripts; the CLI's --raw-headers does the same per command).",
        choices=("labels", "names"),
    )
    # --- test hooks: never set in production ---------------------------------------------
    test_fault: str = _s(
        "",
        "TEST HOOK, never set in production: a lane's driver fails on purpose "
        "(core/db/_faults.py): busy, timeout or fail, optionally @N[,M] for only the N-th, "
        "M-th statement, after a lane (slow: by default, realtime:, all:). The tests of the "
        "busy/timeout messages of the pages and of the CLI's exit code 4 set it.",
        check=_check_fault, allowed="busy, timeout or fail[@N,M]",
    )

    # ----------------------------------------------------------------------------------------
    @property
    def effective_db_url(self) -> str:
        """The URL actually used: db_url, or the embedded demo DuckDB file."""
        if self.db_url:
            return self.db_url
        return f"duckdb:///{Path(self.demo_db_path).resolve()}"

    @property
    def uses_demo(self) -> bool:
        return not self.db_url

    @property
    def shift_day_offset_minutes(self) -> int:
        hh, mm = self.shift_day_start.split(":")
        return int(hh) * 60 + int(mm)

    def replace(self, **changes: Any) -> Settings:
        """A copy with changes, validated like a loaded one."""
        new = dataclasses.replace(self, **changes)
        problems = _validate(new)
        if problems:
            raise SettingsError(problems)
        return new


# Each doc is a catalog message too (core.i18n.extract adds it): the System page and
# `mesdash config` show it with _(); README's table (settings_markdown) stays English.
SETTINGS_DOC: dict[str, tuple[str, Any]] = {
    f.name: (f.metadata["doc"], f.default) for f in fields(Settings)
}
# The rules between two settings: (setting, the setting it may not exceed, why).
AT_MOST: tuple[tuple[str, str, str], ...] = (
    ("slow_permits", "slow_connections", "every permitted query needs a connection of its own"),
    ("slow_workers", "slow_permits", "the extra workers could only wait"),
    ("page_size", "page_size_max", "a page's default size must be one it may show"),
    ("reject_default_days", "reject_max_days", "the default range must be one the page takes"),
)
# Each setting's contract (bounds, choices, checks), as declared.
CONTRACTS: dict[str, Contract] = {f.name: f.metadata["contract"] for f in fields(Settings)}
# Settings declared ``secret=True``: their values are shown only masked (shown_value).
SECRET_SETTINGS: frozenset[str] = frozenset(
    f.name for f in fields(Settings) if f.metadata.get("secret")
)


def shown_value(name: str, value: Any) -> Any:
    """A setting's value as it may be shown (CLI, System page, messages): a secret
    setting's credentials masked, every other value as it is."""
    if name in SECRET_SETTINGS and value:
        return mask_url(str(value))
    return value


def _coerce(name: str, raw: Any, default: Any, source: str) -> tuple[Any, str | None]:
    """Turn a raw env/toml value into the setting's type; return (value, problem)."""
    target = type(default) if default is not None else str
    try:
        if raw is None:
            return None, None
        if target is bool:
            if isinstance(raw, bool):
                return raw, None
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True, None
            if text in ("0", "false", "no", "off"):
                return False, None
            raise ValueError("expected true or false")
        if target is int:
            if isinstance(raw, bool):
                raise ValueError("expected a whole number")
            return int(str(raw).strip().replace("_", "")), None
        if target is float:
            return float(str(raw).strip()), None
        if target is tuple:
            items = (
                list(raw) if isinstance(raw, (list, tuple))
                else [x.strip() for x in str(raw).split(";") if x.strip()]
            )
            element = type(default[0]) if default else str
            return tuple(element(x) for x in items), None
        text = str(raw).strip()
        return (text or (None if default is None else "")), None
    except (TypeError, ValueError) as exc:
        kind = {int: "a whole number", float: "a number", bool: "true or false"}.get(
            target, "text"
        )
        shown = shown_value(name, raw)
        return default, f"{name} (from {source}) = {shown!r} is not {kind}: {exc}"


def _cross_field(s: Settings) -> list[str]:
    """The few rules between two settings (each setting's own contract is declared)."""
    return [
        f"{small} = {getattr(s, small)} exceeds {big} = {getattr(s, big)}: {why}."
        for small, big, why in AT_MOST
        if getattr(s, small) > getattr(s, big)
    ]


def _validate(s: Settings) -> list[str]:
    """Every setting against its declared contract, then the cross-field rules."""
    p = [
        problem for name, contract in CONTRACTS.items()
        if (problem := contract.problem(name, getattr(s, name)))
    ]
    if s.job_backend == "rq" and not s.redis_url:
        p.append("job_backend = rq needs redis_url: the queue and its workers live on Redis.")
    return p + _cross_field(s)


def _read_secrets(path: Path) -> tuple[dict[str, Any], list[str]]:
    if not path.is_file():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path} could not be read as TOML: {exc}"]
    found: dict[str, Any] = dict(data.get("mesdash", {}) or {})
    conn = (data.get("connections", {}) or {}).get("mes", {}) or {}
    if "url" in conn:
        found["db_url"] = conn["url"]
    return found, []


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets_path: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Read, coerce and validate every setting; raise SettingsError listing all problems."""
    env = os.environ if env is None else env
    secrets_file = Path(
        secrets_path or env.get(f"{ENV_PREFIX}SECRETS_FILE") or DEFAULT_SECRETS
    )
    secrets, problems = _read_secrets(secrets_file)
    names = {f.name: f for f in fields(Settings)}
    for key in secrets:
        if key not in names:
            problems.append(f"{secrets_file}: unknown setting [mesdash] {key}.")
    values: dict[str, Any] = {}
    for name, f in names.items():
        env_key = f"{ENV_PREFIX}{name.upper()}"
        if name in overrides:
            raw, source = overrides[name], "argument"
        elif env_key in env:
            raw, source = env[env_key], f"environment {env_key}"
        elif name in secrets:
            raw, source = secrets[name], f"{secrets_file} [mesdash]"
        else:
            continue
        value, problem = _coerce(name, raw, f.default, source)
        if problem:
            problems.append(problem)
        else:
            values[name] = value
    settings = Settings(**values)
    problems += _validate(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def allowed(name: str) -> str:
    """A setting's allowed values as declared ("1 – 64", "> 0", "tiny, small, incident"),
    and the settings it may not exceed; empty when any value of its type is accepted."""
    parts = [CONTRACTS[name].describe(), *(f"≤ {big}" for small, big, _ in AT_MOST
                                           if small == name)]
    return ", ".join(x for x in parts if x)


def settings_markdown() -> str:
    """The configuration reference table for the README (generated, so it cannot drift)."""
    rows = ["| setting | environment | default | allowed | what it protects |",
            "|---|---|---|---|---|"]
    for name, (doc, default) in SETTINGS_DOC.items():
        if isinstance(default, tuple) and default and isinstance(default[0], str):
            shown = f"{len(default)} reasons (see core/config.py)"
        elif isinstance(default, tuple):
            shown = ";".join(f"{x:g}" for x in default)
        else:
            shown = "(empty)" if default in (None, "") else str(default)
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {shown} | "
                    f"{allowed(name)} | {doc} |")
    return "\n".join(rows)
