"""Interpreter-wide settings that keep live widgets fast beside background jobs.

Why: the dashboard serves live widgets and runs trace jobs in one Python process. Two
pauses of the whole interpreter make a live query wait no matter how the lanes are
throttled: the hand-off of the GIL between threads (every 5 ms by default) and the
cyclic garbage collector's full collections, which hold the GIL while they scan every
tracked object (~190K after start-up; 100-400 ms measured during the incident trace).

Design: ``tune_for_live(settings)`` is called by ``core.db.open_lanes``. It sets the
switch interval (``gil_switch_ms``) and, once per process, ``gc.freeze()``s what is
alive at that point (``gc_freeze``): modules and library state that will never be
garbage, so later full collections skip them. Jobs then keep their own object counts
low (Arrow tables, not Python rows) so the collections that remain stay short.
"""

from __future__ import annotations

import gc
import sys
import threading

from core.config import Settings

_frozen = False
_lock = threading.Lock()


def tune_for_live(settings: Settings) -> None:
    """Apply ``gil_switch_ms`` and (once) ``gc_freeze`` to this process."""
    global _frozen
    sys.setswitchinterval(settings.gil_switch_ms / 1000.0)
    if not settings.gc_freeze:
        return
    with _lock:
        if _frozen:
            return
        gc.collect()  # what is garbage now is not frozen with the rest
        gc.freeze()
        _frozen = True


def status() -> dict[str, object]:
    """For the System page: switch interval, frozen objects, collections so far."""
    return {
        "switch_interval_ms": round(sys.getswitchinterval() * 1000, 3),
        "gc_frozen_objects": gc.get_freeze_count(),
        "gc_collections": [g["collections"] for g in gc.get_stats()],
    }
