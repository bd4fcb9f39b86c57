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

TOGGLE_LABELS: dict[str, str] = {
    "include_excluded": "Count excluded reasons",
    "include_non_nnn": "Count reasons not shaped NNN_",
    "include_xxx_zzz": "Count XXX_/ZZZ_ reasons",
    "include_material": "Count material scrap",
    "include_pb": "Count PB_ diode packages",
}


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
            "Excluded reasons counted" if self.include_excluded
            else "Exclusion list applied",
            "Non-NNN_ reasons counted" if self.include_non_nnn else "Only NNN_ reasons",
            "XXX_/ZZZ_ counted" if self.include_xxx_zzz else "XXX_/ZZZ_ left out",
            "Material scrap counted" if self.include_material else "Material scrap left out",
            "PB_ packages counted" if self.include_pb
            else ("PB_ counted: " + ", ".join(pb_chosen)) if pb_chosen
            else "PB_ packages left out",
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
