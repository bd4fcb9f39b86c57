"""What the defect trace's kinds and raw columns are called where a reader sees them.

Why: the page named its factor kinds and mapped its raw columns (lots, input, rate...) to
glossary measures on its own, and the CLI printed the raw keys (``machine:``,
``rate=0.0145``). One home for both: the factor kinds' names (messages, shown with
``_()``) and, per table, the registered column or glossary measure each raw column is
shown as with the scale that turns its value into that measure's unit (rate 0..1 -> %).
"""

from __future__ import annotations

from core.i18n import N_

KIND_NAMES: dict[str, str] = {"machine": N_("Machine"), "material": N_("Material lot"),
                              "wafer": N_("Wafer LOT"),
                              "detection_machine": N_("Detection machine")}
"""One factor of each kind (a suspect card, the suspects table, a pareto's heading)."""

FACTOR_VIEW: dict[str, tuple[str, float]] = {
    "kind": ("factor_kind", 1), "lots": ("exposed_lots", 1),
    "input": ("detection_input", 1), "defects": ("detection_defects", 1),
    "charged": ("detection_charged", 1), "uncharged": ("detection_uncharged", 1),
    "rate": ("rate_exposed_pct", 100), "rate_unexposed": ("rate_unexposed_pct", 100)}
"""A backward factor table's raw column -> (registered column or measure, scale)."""
REASON_VIEW: dict[str, tuple[str, float]] = {
    "defects": ("detection_defects", 1), "charged": ("detection_charged", 1),
    "uncharged": ("detection_uncharged", 1)}
"""The loss-reason table's raw columns (the rest are registered as they are)."""
FWD_VIEW: dict[str, tuple[str, float]] = {
    "input": ("downstream_input", 1), "rejects": ("downstream_rejects", 1),
    "uncharged": ("downstream_uncharged", 1), "rate": ("downstream_rate_pct", 100)}
"""A forward table's raw columns."""

PARETO_COLUMNS: dict[str, str] = {"reason": "reason", "station": "station_group"}
"""Paretos that are not a factor kind: the registered column naming their rows."""


def pareto_view(kind: str, forward: bool = False) -> dict[str, tuple[str, float]]:
    """The view of a pareto's rows: forward tables, the loss reasons, or a factor kind."""
    return FWD_VIEW if forward else REASON_VIEW if kind == "reason" else FACTOR_VIEW
