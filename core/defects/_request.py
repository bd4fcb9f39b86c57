"""What a defect trace analyses, validated before anything reaches the database.

Why a module: the page (from st.query_params), the CLI and the benchmark all build the
same request, and bad input (end before start, a range over the limit, an unknown
station, a malformed date) must be one clear message everywhere, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from core import dates
from core import values as core_values
from core.config import Settings
from core.errors import InputError
from core.i18n import N_, _
from core.jobs import job_key

DIRECTIONS = ("backward", "forward")
SEED_KINDS = ("lot", "work_order", "wafer_lot")


class DefectInputError(InputError):
    """Bad input to a defect trace; the message says what and how to fix it."""


def parse_date(text: str | dt.date, what: str, settings: Settings | None = None) -> dt.date:
    day = dates.parse_day(text, what, DefectInputError, settings)
    if day is None:
        raise DefectInputError(_("The {what} date is missing (YYYY-MM-DD).").format(what=what))
    return day


def _labels(items: str | Sequence[str]) -> tuple[str, ...]:
    """A filter list (reasons, types, packages) by the one rule, sorted: order is no
    part of the request's identity."""
    return tuple(sorted(core_values.literals(items, core_values.LABELS)))


def _names(items: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(core_values.literals(items, core_values.NAMES)))


@dataclass(frozen=True)
class DefectRequest:
    station: str
    start: dt.date | None  # None in list mode without a range
    end: dt.date | None  # inclusive
    reasons: tuple[str, ...] = ()  # empty: every reason counts
    types: tuple[str, ...] = ()  # pj_type filter (masks numerator and denominator)
    packages: tuple[str, ...] = ()  # productlinename filter (both)
    direction: str = "backward"
    lots: tuple[str, ...] = field(default=())  # optional: restrict seeds to these lot names
    seed_kind: str = ""  # list mode: lot, work_order or wafer_lot
    seed_values: tuple[str, ...] = ()  # list mode: the values (wildcards allowed)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        station: str | None,
        start: str | dt.date,
        end: str | dt.date,
        reasons: str | Sequence[str] = (),
        types: str | Sequence[str] = (),
        packages: str | Sequence[str] = (),
        direction: str = "backward",
        lots: str | Sequence[str] = (),
        known_stations: Sequence[str] | None = None,
        seed_kind: str = "",
        seed_values: str | Sequence[str] = (),
    ) -> DefectRequest:
        """Seeds come from a date range, or (list mode) from lots / work orders / wafer
        lots: their latest pass at the station, within the range when one is given.

        Lists (a pasted text or a sequence) follow core.values' one rule: ``seed_values``
        and ``lots`` are name lists (wildcards, limits checked here), ``reasons``,
        ``types`` and ``packages`` label lists (a package may hold a space)."""
        station = (station or settings.defect_default_station).strip()
        if known_stations is not None and station not in known_stations:
            raise DefectInputError(_(
                "Unknown detection station {station}. Known station groups: {known}."
            ).format(station=repr(station), known=", ".join(known_stations[:20])
                     + (" …" if len(known_stations) > 20 else "")))
        values = tuple(core_values.texts(
            seed_values, settings, label="seed", error=DefectInputError,
            hint="split the list into several defect traces"))
        if values and seed_kind not in SEED_KINDS:
            raise DefectInputError(_(
                "Seed list kind must be one of {kinds}, not {kind}.").format(
                kinds=", ".join(SEED_KINDS), kind=repr(seed_kind)))
        s: dt.date | None = None
        e: dt.date | None = None
        if start or end or not values:  # list mode may go without a range
            if not start or not end:
                raise DefectInputError(_(
                    "Give a start and an end date (YYYY-MM-DD), or a list of lots, work "
                    "orders or wafer lots."
                ))
            s, e = parse_date(start, "start", settings), parse_date(end, "end", settings)
            dates.check_range(s, e, settings.defect_max_days, "defect_max_days",
                              DefectInputError, settings=settings)
        if direction not in DIRECTIONS:
            raise DefectInputError(_("Direction must be backward or forward, not {direction}.")
                                   .format(direction=repr(direction)))
        return cls(station, s, e, _labels(reasons), _labels(types), _labels(packages),
                   direction, _names(lots), seed_kind if values else "", values)

    @property
    def start_ts(self) -> dt.datetime | None:
        return dt.datetime.combine(self.start, dt.time()) if self.start else None

    @property
    def end_ts(self) -> dt.datetime | None:
        """Exclusive upper bound: midnight after the inclusive end date."""
        if self.end is None:
            return None
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())

    @property
    def label(self) -> str:
        """The job's label: a msgid with ``label_args`` (core.jobs.job_label)."""
        return N_("Defect trace {station} {range}")

    @property
    def label_args(self) -> dict[str, object]:
        return {"station": self.station,
                "range": f"{self.start} ~ {self.end}" if self.start else ""}

    @property
    def range_label(self) -> str:
        return f"{self.start}…{self.end}" if self.start else "any date"

    def key(self) -> str:
        """The job key (core.jobs._keys): identical analyses share one job."""
        return job_key("defects", asdict(self))
