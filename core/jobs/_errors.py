"""Why a job could not run on the job queue: the errors a page shows and the CLI maps.

Why their own module: they belong to the job backend (core.jobs.rq) but the CLI (exit
codes) and the pages (messages) catch them without importing RQ. They are lane errors
(core.db): the app's message box and the CLI's ``main`` already say those in words.
"""

from __future__ import annotations

from core.db import LaneError
from core.i18n import _


class QueueUnavailable(LaneError):
    """job_backend = rq and Redis does not answer (CLI exit 3)."""


class NoWorker(LaneError):
    """No worker was alive for ``worker_wait_s`` while the job waited (CLI exit 4)."""

    def __init__(self, queue: str, wait_s: float) -> None:
        self.queue = queue
        super().__init__(_(
            "No worker is running for the job queue {queue!r}: the job waited {s:g} s "
            "(setting worker_wait_s) and was withdrawn. Start one with `mesdash worker` "
            "(or ask the administrator), then run it again.").format(queue=queue, s=wait_s))


class WorkerLost(LaneError):
    """The worker running the job stopped (killed, crashed) before it finished."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(_(
            "worker lost: the worker running this job stopped before it finished "
            "(killed or crashed); its database permits were returned. Run it again.")
            + (f" ({detail})" if detail else ""))
