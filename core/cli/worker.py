"""`mesdash worker`: a job-queue worker running traces, defect traces, containments and
reject-history loads for every dashboard replica (job_backend = rq).

Why a command of ours and not `rq worker`: the worker must run our job function
(core.jobs.rq.execute) with its own lanes, kept open between jobs, and the heartbeat
lease (``worker_lease_s``) that lets a page say "worker lost" within one lease when a
worker is killed mid-job. Run several per machine, on several machines (each mounting the
shared ``spool_dir``), under a supervisor (README "Serving a team"). ``--burst`` serves
what is queued and exits (tests, cron). Redis down: exit 3.
"""

from __future__ import annotations

import argparse
import sys

from core.config import load_settings
from core.i18n import _


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help=_("run jobs from the job queue (job_backend = rq)"))
    p.add_argument("--burst", action="store_true",
                   help=_("run what is queued, then exit (default: serve until stopped)"))
    p.add_argument("--name", help=_("worker name (default: mesdash-<host>-<pid>)"))
    p.add_argument("--queue", help=_("queue name (default: setting rq_queue)"))
    p.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli import UsageError
    from core.jobs.rq import run_worker

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    if not settings.redis_url:
        raise UsageError("mesdash worker needs a job queue: set redis_url (MES_REDIS_URL) "
                         "and job_backend = rq for the dashboards.")
    print(f"mesdash worker: queue {args.queue or settings.rq_queue}, lease "
          f"{settings.worker_lease_s:g} s", file=sys.stderr, flush=True)
    run_worker(settings, burst=args.burst, name=args.name, queue=args.queue)
    return 0
