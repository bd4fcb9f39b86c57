"""Typed errors of the database lanes, so pages can say what happened in plain words.

Why: a page must never show a traceback. Every failure a lane can produce is one of these,
each with a message written for the person at the screen (what, why, what to do).
"""

from __future__ import annotations

from typing import Any

from core.i18n import N_, _
from core.redact import mask_text

_WORDS = (N_("slow"), N_("realtime"), N_("query"))  # lanes and ``what``: shown with _()


class LaneError(RuntimeError):
    """Base of every error a lane raises on purpose. Its message never carries a secret:
    drivers' messages and URLs pass through ``core.redact.mask_text`` here, once for all."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(mask_text(a) if isinstance(a, str) else a for a in args))


class DatabaseUnavailable(LaneError):
    """The database cannot be reached or opened; the message says which and why."""


class QueryTimeout(LaneError):
    """The driver stopped a query at its deadline. The lane stays healthy."""

    def __init__(self, lane: str, deadline_s: float, what: str = "query"):
        self.lane = lane
        self.deadline_s = deadline_s
        super().__init__(
            _("The {what} on the {lane} lane ran past its {deadline} s deadline and was "
              "stopped by the database driver. Narrow the input or raise the deadline "
              "setting.").format(what=_(what), lane=_(lane), deadline=f"{deadline_s:g}")
        )


class QueryFailed(LaneError):
    """The database rejected or failed the query (not a timeout, not a cancel)."""

    def __init__(self, lane: str, original: BaseException):
        self.lane = lane
        self.original = original
        first = str(getattr(original, "orig", None) or original).strip().splitlines()
        super().__init__(
            _("The database could not run a query on the {lane} lane: {error}").format(
                lane=_(lane), error=(first[0] if first else type(original).__name__)[:300])
        )


class QueryCancelled(LaneError):
    """The query was cancelled by its caller (a Cancel button, a closed stream)."""

    def __init__(self, lane: str):
        self.lane = lane
        super().__init__(_("The query on the {lane} lane was cancelled.").format(lane=_(lane)))


class LaneBusy(LaneError):
    """No permit or connection became free in time: try again later."""

    def __init__(self, lane: str, detail: str, retry_after_s: float):
        self.lane = lane
        self.retry_after_s = max(1.0, float(retry_after_s))
        super().__init__(
            _("The {lane} lane is busy ({detail}); try again in about {seconds} s.").format(
                lane=_(lane), detail=detail, seconds=f"{self.retry_after_s:.0f}")
        )
