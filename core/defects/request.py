"""What a defect trace analyses, validated before anything reaches the database.

Why a module: the page (from st.query_params), the CLI and the benchmark all build the
same request, and bad input (end before start, a range over the limit, an unknown
station, a malformed date) must be one clear message everywhere, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from core.config import Settings

DIRECTIONS = ("backward", "forward")


class DefectInputError(ValueError):
    """Bad input to a defect trace; the message says what and how to fix it."""


def parse_date(text: str | dt.date, what: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise DefectInputError(f"{what} {text!r} is not a date (YYYY-MM-DD).") from exc


@dataclass(frozen=True)
class DefectRequest:
    station: str
    start: dt.date
    end: dt.date  # inclusive
    reasons: tuple[str, ...] = ()  # empty: every reason counts
    types: tuple[str, ...] = ()  # pj_type filter (masks numerator and denominator)
    packages: tuple[str, ...] = ()  # productlinename filter (both)
    direction: str = "backward"
    lots: tuple[str, ...] = field(default=())  # optional: restrict seeds to these lot names

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        station: str | None,
        start: str | dt.date,
        end: str | dt.date,
        reasons: Sequence[str] = (),
        types: Sequence[str] = (),
        packages: Sequence[str] = (),
        direction: str = "backward",
        lots: Sequence[str] = (),
        known_stations: Sequence[str] | None = None,
    ) -> DefectRequest:
        station = (station or settings.defect_default_station).strip()
        if known_stations is not None and station not in known_stations:
            raise DefectInputError(
                f"Unknown detection station {station!r}. Known station groups: "
                f"{', '.join(known_stations[:20])}{' …' if len(known_stations) > 20 else ''}."
            )
        s, e = parse_date(start, "Start date"), parse_date(end, "End date")
        if e < s:
            raise DefectInputError(f"The end date {e} is before the start date {s}.")
        days = (e - s).days + 1
        if days > settings.defect_max_days:
            raise DefectInputError(
                f"The range {s} … {e} is {days} days; a defect trace covers at most "
                f"{settings.defect_max_days} days (setting defect_max_days)."
            )
        if direction not in DIRECTIONS:
            raise DefectInputError(f"Direction must be backward or forward, not {direction!r}.")
        clean = lambda xs: tuple(sorted({x.strip() for x in xs if x and x.strip()}))  # noqa: E731
        return cls(station, s, e, clean(reasons), clean(types), clean(packages), direction,
                   clean(lots))

    @property
    def start_ts(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    @property
    def end_ts(self) -> dt.datetime:
        """Exclusive upper bound: midnight after the inclusive end date."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())

    def key(self) -> str:
        """A digest of the request: identical analyses share one job."""
        payload = json.dumps(asdict(self), default=str, sort_keys=True)
        return "defects:" + hashlib.sha256(payload.encode()).hexdigest()[:24]
