"""What a containment starts from: a suspect, checked before any query is sent.

Why: a quality engineer starts a containment from one kind of suspect (domain: "From
suspect to containment"): machines and a time window, material lots, or wafer lots. Bad
input (no names, control characters, a missing or reversed window, a window over
``contain_max_days``, a window given for a suspect that has none) is a ``ContainError``
whose message says what to fix; the CLI turns it into exit code 1, a page into a
message. Dates use the one parser and range check of core.dates; a window is whole days,
[start 00:00, end + 1 day 00:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from core import dates, values
from core.config import ORACLE_IN_LIST_LIMIT
from core.errors import InputError
from core.i18n import N_, _

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings

KINDS = ("machine", "material_lot", "wafer_lot")
LABELS = {"machine": N_("machine"), "material_lot": N_("material lot"),
          "wafer_lot": N_("wafer lot")}


class ContainError(InputError):
    """Bad containment input; the message says what to fix."""


@dataclass(frozen=True)
class Suspect:
    kind: str
    names: tuple[str, ...]
    start: date | None = None
    end: date | None = None

    @property
    def window(self) -> tuple[datetime, datetime] | None:
        """[start, end + 1 day) as timestamps, for a machine suspect."""
        if self.start is None or self.end is None:
            return None
        return (datetime.combine(self.start, time()),
                datetime.combine(self.end + timedelta(days=1), time()))

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "names": list(self.names),
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None}

    @property
    def label(self) -> str:
        """The containment job's label: a msgid with ``label_args`` (core.jobs.job_label)."""
        return N_("Containment of {names}")

    @property
    def label_args(self) -> dict[str, object]:
        return {"names": ", ".join(self.names)}

    def describe(self) -> str:
        what = f"{_(LABELS[self.kind])} {', '.join(self.names)}"  # in the caller's language
        return (_("{what} from {start} to {end}").format(what=what, start=self.start,
                                                        end=self.end)
                if self.start else what)


def build_suspect(kind: str, names: str | list[str] | tuple[str, ...], *, settings: Settings,
                  start: str | date | None = None, end: str | date | None = None) -> Suspect:
    """A checked suspect; ContainError names the problem."""
    if kind not in KINDS:
        raise ContainError(_("Unknown suspect kind {kind}: use one of {kinds}.").format(
            kind=repr(kind), kinds=", ".join(KINDS)))
    label = LABELS[kind]
    # one name list rule (core.values): commas, semicolons, spaces, newlines; no wildcards
    clean = list(dict.fromkeys(v.literal for v in values.check(
        names, settings, label=label, wildcards=False, error=ContainError,
        max_values=(ORACLE_IN_LIST_LIMIT, "in one containment"),
        hint="split the containment")))
    if not clean:
        raise ContainError(_("No {what} given: name at least one.").format(what=_(label)))
    first = dates.parse_day(start, "start", ContainError, settings)
    last = dates.parse_day(end, "end", ContainError, settings)
    if kind != "machine":
        if first or last:
            raise ContainError(_("A {what} has no time window: a start and an end date go "
                                 "with a machine only.").format(what=_(label)))
        return Suspect(kind, tuple(clean))
    if first is None or last is None:
        raise ContainError(_("A machine suspect needs a time window: give both a start and "
                             "an end date (YYYY-MM-DD, the end day included)."))
    dates.check_range(first, last, settings.contain_max_days, "contain_max_days",
                      ContainError, settings=settings)
    return Suspect(kind, tuple(clean), first, last)
