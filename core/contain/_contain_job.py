"""Containment as a background job: the page and the CLI share one job per suspect.

Why: a containment of a busy machine over a month walks thousands of lots through the
genealogy on the slow lane; on a page it runs as a job with progress and Cancel (like a
trace), and identical requests (same suspect, same window) from any session share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.contain._engine import Containment, contain
from core.contain._suspect import Suspect
from core.i18n import N_
from core.jobs import job_key as _job_key

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import Lanes
    from core.jobs import Job

STEPS = 3  # exposed lots, descendants, where they are now


def job_key(suspect: Suspect) -> str:
    """The job key of a containment (core.jobs._keys): of the suspect (kind, names, window)."""
    return _job_key("contain", suspect.as_json())


def run_contain(job: Job, lanes: Lanes, suspect: Suspect, settings: Settings) -> Containment:
    """``contain`` with the job's cancel token, its progress as one stage of three steps."""
    stage = job.stage(N_("containment"), total=STEPS)
    update = job.progress_for(stage)
    done = [0]

    def progress(message: str, **args: object) -> None:  # a msgid and its arguments
        update(done=min(done[0], STEPS), message=message, message_args=args)
        done[0] += 1

    result = contain(lanes, suspect, settings=settings, cancel=job.cancel_token,
                     progress=progress)
    update(done=STEPS, rows=result.lots.num_rows,
           message=N_("{containers:,} containers, {serials:,} serials"),
           message_args={"containers": result.lots.num_rows, "serials": len(result.serials)})
    return result
