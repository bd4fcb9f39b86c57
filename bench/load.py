"""Benchmark: a team on the dashboard: N users in headless Chromium on two replicas and
two job workers (job_backend = rq), on loopback only.

Starts two dashboard replicas (streamlit, ports 8611 and 8612) and two `mesdash worker`
processes on one Redis queue of its own and one demo DuckDB file (built on first use,
``--scale small`` by default), then:

1. idle (after one warm-up visit per replica): the live-widget loop (the sidebar's real
   queries, snapshot time and WIP summary, on a realtime lane of this process, back to
   back) alone, for ``--idle-seconds``;
2. single user: one browser session opens each page once (reject history of 30 days, WIP
   hold, a trace of a work order, a defect trace of 30 days, the System page): its
   page-ready time per page is the reference;
3. load: ``--users`` sessions (user i on replica i % 2: the proxy's affinity), each
   opening the pages in a seeded random mix (reject history and trace twice as often),
   for ``--seconds``, while the live loop runs. The requests come in a few variants (three
   work orders, three 30-day windows), so identical requests meet and share one job.

The browsers stand for the users' own machines: on loopback they run at the lowest CPU
priority (nice 19), so the servers get the cores first. Page ready: the page's metrics
are shown and no job progress block (Cancel) is left.
Prints a table: page-ready p50/p95 per page under load against the single user's time,
live p50/p99 idle and under load, errors (error boxes, exceptions, timeouts, live query
errors), peak RSS per process, jobs requested (job-page visits) against jobs run (RQ
jobs executed). Targets (issue 18): 0 errors, live p99 within 2x idle, identical requests
run once, page-ready p95 under load within 3x the single user's.

    python bench/load.py [--users 10] [--seconds 120] [--scale small|incident]
                         [--backend rq|thread]    # thread: today's, to compare

Bounded: at most 20 users and 600 s; every process it starts is stopped at the end and
its Redis keys deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PORTS = (8611, 8612)
ANCHOR = dt.date(2026, 11, 20)
PAGE_TIMEOUT_S = 120.0
MAX_USERS, MAX_SECONDS = 20, 600
WEIGHTS = {"reject_history": 2, "wip_hold": 1, "trace": 2, "defect_trace": 1, "system": 1}
JOB_PAGES = ("reject_history", "trace", "defect_trace")
READY_JS = """() => {
  if (document.querySelector('[data-testid="stException"]')) return 'error';
  const alerts = [...document.querySelectorAll('[data-testid="stAlertContentError"]')];
  if (alerts.length) return 'error';
  const metrics = document.querySelectorAll('[data-testid="stMetric"]').length;
  const cancel = [...document.querySelectorAll('button')]
      .some(b => b.innerText.trim().startsWith('Cancel'));
  return metrics > 0 && !cancel ? 'ready' : false;
}"""


def page_url(base: str, page: str, variant: int, work_orders: list[str]) -> str:
    """The page's URL for one request variant (variants meet: they share jobs)."""
    end = ANCHOR - dt.timedelta(days=1 + 7 * variant)
    start = end - dt.timedelta(days=29)
    if page == "reject_history":
        return f"{base}/reject_history?run=1&start={start}&end={end}"
    if page == "defect_trace":
        return f"{base}/defect_trace?station=TMTT&start={start}&end={end}&run=1"
    if page == "trace":
        wo = work_orders[variant % len(work_orders)]
        return f"{base}/?kind=work_order&values={wo}&direction=backward"
    return f"{base}/{page}"


# --- processes ---------------------------------------------------------------------------
class Deployment:
    def __init__(self, db: Path, redis_url: str, workdir: Path, backend: str = "rq") -> None:
        self.queue = f"load{uuid.uuid4().hex[:8]}"
        self.redis_url = redis_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
        self.env.update(
            MES_DB_URL=f"duckdb:///{db}", MES_SECRETS_FILE=str(workdir / "no-secrets.toml"),
            MES_JOB_BACKEND=backend, MES_REDIS_URL=redis_url, MES_RQ_QUEUE=self.queue,
            MES_SPOOL_DIR=str(workdir / "spool"), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, workers: int) -> list[str]:
        for i in range(workers):
            self._spawn(f"worker{i + 1}", [sys.executable, "-m", "core.cli", "worker",
                                           "--name", f"{self.queue}-w{i + 1}"])
        bases = []
        for i, port in enumerate(PORTS):
            self._spawn(f"replica{i + 1}", [
                sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
                "--server.port", str(port), "--server.headless", "true",
                "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"])
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            deadline = time.monotonic() + 60
            while True:
                with suppress(OSError), urllib.request.urlopen(f"{base}/_stcore/health",
                                                               timeout=2) as r:
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{base} did not answer in 60 s; see {self.workdir}")
                time.sleep(0.3)
        return bases

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def jobs_run(self) -> dict[str, int]:
        """RQ jobs executed on the queue, by kind (finished, failed, running)."""
        import redis
        from rq import Queue

        from core.config import load_settings
        from core.jobs.rq import queue_name

        settings = load_settings(env=self.env, secrets_path="/nonexistent")
        q = Queue(queue_name(settings), connection=redis.Redis.from_url(self.redis_url))
        ids = [*q.finished_job_registry.get_job_ids(), *q.failed_job_registry.get_job_ids(),
               *q.started_job_registry.get_job_ids()]
        out: dict[str, int] = {}
        for i in ids:
            kind = i.split("-")[2]
            out[kind] = out.get(kind, 0) + 1
        return out

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        import redis

        r = redis.Redis.from_url(self.redis_url)
        for key in r.scan_iter(f"*{self.queue}*"):
            r.delete(key)


class RssSampler(threading.Thread):
    """Peak RSS of each started process (with its children) and of Chromium."""

    def __init__(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        super().__init__(daemon=True)
        self.procs = procs
        self.peak: dict[str, float] = {}
        self.reniced: set[int] = set()
        self.stop = threading.Event()

    def _tree_rss(self, pid: int) -> float:
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0
        for q in procs:
            with suppress(psutil.Error):
                total += q.memory_info().rss
        return total / 2**20

    def run(self) -> None:
        me = psutil.Process()
        while not self.stop.wait(0.5):
            for name, proc in self.procs.items():
                self.peak[name] = max(self.peak.get(name, 0.0), self._tree_rss(proc.pid))
            chromium = 0.0
            for child in me.children(recursive=True):
                with suppress(psutil.Error):
                    if "chrom" in child.name() or "headless_shell" in child.name():
                        chromium += child.memory_info().rss / 2**20
                        if child.pid not in self.reniced:  # the users' machines: elsewhere
                            child.nice(19)
                            self.reniced.add(child.pid)
            self.peak["chromium (all users)"] = max(self.peak.get("chromium (all users)", 0.0),
                                                    chromium)
            self.peak["bench (live loop)"] = max(self.peak.get("bench (live loop)", 0.0),
                                                 me.memory_info().rss / 2**20)


# --- the live widgets ----------------------------------------------------------------------
class LiveLoop(threading.Thread):
    """The sidebar's live queries back to back on a realtime lane; latencies in ms."""

    def __init__(self, settings: Any) -> None:
        super().__init__(daemon=True)
        from core.db import open_lanes

        self.lanes = open_lanes(settings)
        self.samples: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        from core.realtime import snapshot_time, wip_summary

        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                snapshot_time(self.lanes)
                wip_summary(self.lanes)
            except Exception:
                self.errors += 1
            self.samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)

    def take(self) -> list[float]:
        out, self.samples = self.samples, []
        return out


# --- the users -------------------------------------------------------------------------------
async def visit(context: Any, url: str) -> tuple[float, str]:
    """Open ``url`` in a fresh tab; seconds until ready, and 'ready', 'error' or 'timeout'."""
    page = await context.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_S * 1000)
        handle = await page.wait_for_function(READY_JS, timeout=PAGE_TIMEOUT_S * 1000,
                                              polling=100)
        outcome = await handle.json_value()
    except Exception:
        outcome = "timeout"
    elapsed = time.perf_counter() - t0
    await page.close()
    return elapsed, str(outcome)


async def user(browser: Any, base: str, seed: int, end: float, work_orders: list[str],
               visits: list[dict[str, Any]]) -> None:
    rng = random.Random(seed)
    context = await browser.new_context(viewport={"width": 1440, "height": 1000},
                                        locale="en-US")
    pages, weights = list(WEIGHTS), list(WEIGHTS.values())
    try:
        while time.monotonic() < end:
            page = rng.choices(pages, weights)[0]
            variant = 1 + rng.randrange(3)
            seconds, outcome = await visit(context, page_url(base, page, variant,
                                                             work_orders))
            visits.append({"page": page, "variant": variant, "s": seconds,
                           "outcome": outcome})
            await asyncio.sleep(rng.uniform(0.5, 2.0))  # reading the page
    finally:
        await context.close()


async def browse(bases: list[str], users: int, seconds: float, work_orders: list[str],
                 single: bool | None) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    visits: list[dict[str, Any]] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if single is None:  # warm-up: each replica's first run (imports, caches)
                context = await browser.new_context(locale="en-US")
                for base in bases:
                    await visit(context, f"{base}/system")
                await context.close()
            elif single:  # each page once, variant 0, one session on the first replica
                context = await browser.new_context(locale="en-US")
                for page in WEIGHTS:
                    s, outcome = await visit(context, page_url(bases[0], page, 0,
                                                               work_orders))
                    visits.append({"page": page, "variant": 0, "s": s, "outcome": outcome})
                await context.close()
            else:
                end = time.monotonic() + seconds
                await asyncio.gather(*(user(browser, bases[i % len(bases)], 1000 + i, end,
                                            work_orders, visits) for i in range(users)))
        finally:
            await browser.close()
    return visits


# --- report ----------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(single: list[dict[str, Any]], load: list[dict[str, Any]], idle: list[float],
           busy: list[float], live_errors: int, peak: dict[str, float],
           jobs: dict[str, int], args: argparse.Namespace) -> None:
    print(f"\nbench/load.py: {args.users} users, {args.seconds:g} s, 2 replicas, "
          f"{args.workers} workers, job_backend {args.backend}, {args.scale} demo\n")
    print(f"{'page':<16}{'single s':>10}{'visits':>8}{'p50 s':>8}{'p95 s':>8}"
          f"{'p95/single':>12}{'errors':>8}")
    base = {v["page"]: v["s"] for v in single}
    for page in WEIGHTS:
        times = [v["s"] for v in load if v["page"] == page and v["outcome"] == "ready"]
        errs = sum(1 for v in load if v["page"] == page and v["outcome"] != "ready")
        ratio = pct(times, 95) / base[page] if times and base.get(page) else float("nan")
        print(f"{page:<16}{base.get(page, float('nan')):>10.2f}{len(times) + errs:>8}"
              f"{pct(times, 50):>8.2f}{pct(times, 95):>8.2f}{ratio:>11.2f}x{errs:>8}")
    single_errors = sum(1 for v in single if v["outcome"] != "ready")
    print(f"\nlive loop      idle p50 {pct(idle, 50):.1f} ms, p99 {pct(idle, 99):.1f} ms "
          f"({len(idle)} samples); under load p50 {pct(busy, 50):.1f} ms, p99 "
          f"{pct(busy, 99):.1f} ms ({len(busy)} samples): p99 ratio "
          f"{pct(busy, 99) / pct(idle, 99):.2f}x")
    errors = sum(1 for v in load if v["outcome"] != "ready") + single_errors + live_errors
    print(f"errors         {errors} (pages {errors - live_errors}, live queries {live_errors})")
    requested = {p: sum(1 for v in [*single, *load] if v["page"] == p) for p in JOB_PAGES}
    kinds = {"reject_history": "rejects", "trace": "trace", "defect_trace": "defects"}
    variants = {p: len({v["variant"] for v in [*single, *load] if v["page"] == p})
                for p in JOB_PAGES}
    for page in JOB_PAGES:
        run = jobs.get(kinds[page], 0) if args.backend == "rq" else "n/a (per replica)"
        print(f"jobs {page:<14} requested {requested[page]:>4}, distinct requests "
              f"{variants[page]:>2}, run {run:>3}")
    print("peak RSS MiB   " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(peak.items())))
    print(f"machine        {os.cpu_count()} cores, load average at the end "
          f"{os.getloadavg()[0]:.1f} (other work on the machine skews every ratio)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=("rq", "thread"), default="rq",
                    help="thread: jobs on each replica's threads (no workers; to compare)")
    ap.add_argument("--scale", choices=("tiny", "small", "incident"), default="small")
    ap.add_argument("--redis", default=os.environ.get("MES_BENCH_REDIS_URL",
                                                      "redis://127.0.0.1:6379/14"))
    ap.add_argument("--workdir", default="/tmp/mesdash-load")
    args = ap.parse_args()
    if not 1 <= args.users <= MAX_USERS or not 1 <= args.seconds <= MAX_SECONDS:
        ap.error(f"--users 1-{MAX_USERS}, --seconds 1-{MAX_SECONDS}")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"{args.scale}.duckdb"
    if not db.exists():
        print(f"building the {args.scale} demo into {db}, once…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "core.cli", "demo", "build", "--db",
                        f"duckdb:///{db}", "--scale", args.scale, "--anchor", str(ANCHOR)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        work_orders = [r[0] for r in con.execute(
            "SELECT mfgordername FROM dwh.dw_mes_container WHERE mfgordername IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 4").fetchall()]
    from core.config import load_settings

    deploy = Deployment(db, args.redis, work, args.backend)
    if args.backend == "thread":
        args.workers = 0
    live = LiveLoop(load_settings(env=deploy.env, secrets_path="/nonexistent"))
    sampler: RssSampler | None = None
    try:
        bases = deploy.start(args.workers)
        sampler = RssSampler(deploy.procs)
        sampler.start()
        asyncio.run(browse(bases, 1, 0, work_orders, single=None))  # warm-up, not counted
        time.sleep(2.0)
        live.start()
        time.sleep(args.idle_seconds)
        idle = live.take()
        print("single user…", file=sys.stderr)
        single = asyncio.run(browse(bases, 1, 0, work_orders, single=True))
        live.take()
        print(f"{args.users} users for {args.seconds:g} s…", file=sys.stderr)
        load = asyncio.run(browse(bases, args.users, args.seconds, work_orders, single=False))
        busy = live.take()
        time.sleep(1.0)
        jobs = deploy.jobs_run() if args.backend == "rq" else {}
        report(single, load, idle, busy, live.errors, dict(sampler.peak), jobs, args)
    finally:
        live.stop.set()
        if sampler is not None:
            sampler.stop.set()
        deploy.stop()
        live.lanes.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
