"""Containment: from a suspect (machine + window, material lot, wafer lot) to every lot and
serial it reached and where each one is now (issue 16, "From suspect to containment").

Public API:

    build_suspect(kind, names, settings=, start=, end=) -> Suspect   (ContainError)
    contain(lanes, suspect, settings=, cancel=, progress=) -> Containment
    exposed_lots(lanes, suspect, settings=, cancel=) -> (lots, truncated)   (step 1 alone)
    Containment: exposed, lots, descendants, in_wip, serials, kpis(), hold_list(), as_json()
    job_key(suspect); run_contain(job, lanes, suspect, settings)   (a background job)

See core/contain/_engine.py for the steps and the rule that says where a lot is now.
"""

from core.contain._contain_job import job_key, run_contain
from core.contain._engine import (
    ROLES,
    STATES,
    VALUE_LABELS,
    Containment,
    contain,
    exposed_lots,
)
from core.contain._queries import machine_exposure_query
from core.contain._suspect import KINDS, ContainError, Suspect, build_suspect

__all__ = [
           "KINDS",
           "ROLES",
           "STATES",
           "VALUE_LABELS",
           "ContainError",
           "Containment",
           "Suspect",
           "build_suspect",
           "contain",
           "exposed_lots",
           "job_key",
           "machine_exposure_query",
           "run_contain",
]
