"""The default counting policy of reject history, as toggles applied to loaded rows.

Problem: which rejects count against yield is a policy (domain.md, "Reject (scrap)
measures"): reasons on the active exclusion list, reasons not shaped ``NNN_...``,
``XXX_``/``ZZZ_`` reasons, material containers and ``PB_*`` packages (unless chosen) are
left out by default. People must see the policy and flip it without a new query.

Design: a frozen dataclass of booleans (False = the default: left out); ``chips`` says
in words what is in effect; ``sql_where`` is the local DuckDB predicate over the columns
``core.rejects._records.prepare`` derives once per load, in two parts the slicer can
also use apart: rules on the reason (``reason_where``) and on the container
(``container_where``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from core.i18n import N_, _

TOGGLE_LABELS: dict[str, str] = {  # short: a toggle's label must fit a fifth of 1024 px
    "include_excluded": N_("Excluded"),
    "include_non_nnn": N_("Non-NNN_"),
    "include_xxx_zzz": N_("XXX_/ZZZ_"),
    "include_material": N_("Material"),
    "include_pb": N_("PB_ diodes"),
}
TOGGLE_HELP: dict[str, str] = {  # what each toggle counts, in the help beside it
    "include_excluded": N_("Count reasons on the active exclusion list (left out by "
                           "default)."),
    "include_non_nnn": N_("Count reasons not shaped NNN_ (three digits and an underscore; "
                          "left out by default)."),
    "include_xxx_zzz": N_("Count XXX_ and ZZZ_ reasons (left out by default)."),
    "include_material": N_("Count the scrap of material containers (left out by default)."),
    "include_pb": N_("Count PB_ diode packages (left out by default, unless chosen in the "
                     "Package filter)."),
}
"""Labels and help are shown with ``_()``."""


@dataclass(frozen=True)
class Policy:
    include_excluded: bool = False
    include_non_nnn: bool = False
    include_xxx_zzz: bool = False
    include_material: bool = False
    include_pb: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def chips(self, chosen_packages: Sequence[str] = ()) -> list[str]:
        """One short phrase per rule, saying what is counted now."""
        pb_chosen = [p for p in chosen_packages if p.startswith("PB_")]
        return [
            _("Excluded reasons counted") if self.include_excluded
            else _("Exclusion list applied"),
            _("Non-NNN_ reasons counted") if self.include_non_nnn else _("Only NNN_ reasons"),
            _("XXX_/ZZZ_ counted") if self.include_xxx_zzz else _("XXX_/ZZZ_ left out"),
            _("Material scrap counted") if self.include_material
            else _("Material scrap left out"),
            _("PB_ packages counted") if self.include_pb
            else (_("PB_ counted: {packages}").format(packages=", ".join(pb_chosen)))
            if pb_chosen else _("PB_ packages left out"),
        ]

    def sql_where(self, chosen_packages: Sequence[str] = ()) -> tuple[list[str], list[object]]:
        """(predicates, parameters) for the local DuckDB slice."""
        where, params = self.container_where(chosen_packages)
        return self.reason_where() + where, params

    def reason_where(self) -> list[str]:
        """The predicates on the reason's own flags (excluded, is_nnn, is_xxx_zzz)."""
        where: list[str] = []
        if not self.include_excluded:
            where.append("NOT excluded")
        if not self.include_xxx_zzz:
            where.append("NOT is_xxx_zzz")
        if not self.include_non_nnn:
            # XXX_/ZZZ_ are not NNN_ either; their own toggle decides about them
            where.append("(is_nnn OR is_xxx_zzz)")
        return where

    def container_where(
        self, chosen_packages: Sequence[str] = ()
    ) -> tuple[list[str], list[object]]:
        """The predicates on the container (is_material, is_pb, package) and parameters."""
        where: list[str] = []
        params: list[object] = []
        if not self.include_material:
            where.append("NOT is_material")
        if not self.include_pb:
            chosen = [p for p in chosen_packages if p.startswith("PB_")]
            if chosen:
                where.append("(NOT is_pb OR list_contains(?, package))")
                params.append(chosen)
            else:
                where.append("NOT is_pb")
        return where, params
