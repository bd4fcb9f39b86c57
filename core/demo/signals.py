"""Root causes planted in the demo data, so a defect trace has something true to find.

Why: a defect-attribution page can only be checked against data whose cause is known.
Lots exposed to one of these factors (on themselves or on any ancestor before TMTT)
scrap more at TMTT, under the signal's loss reason; everything else scraps at the base
rate. Exposure follows the genealogy exactly as a trace must: a split child inherits its
parent's exposure up to the split, a combined lot the union of its sources', a GD lot
its original's, and every lot of a wafer lot inherits the wafer's.

Each signal is one bit of the per-lot exposure mask (``bit`` = position).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PlantedSignal:
    kind: Literal["machine", "material_lot", "wafer_lot"]
    name: str
    """Machine name, material lot name or wafer lot name, as it appears in the data."""
    where: str
    """Station group of the machine, material part of the material lot, or 'wafer'."""
    step: str
    """Step key (core.demo.reference.STEPS) where the exposure happens."""
    extra_rate: float
    """Extra share of the pieces scrapped at TMTT when exposed (base rate ~0.3%)."""
    reason: str
    """TMTT loss reason of the extra scrap."""
    bit: int


PLANTED_SIGNALS: tuple[PlantedSignal, ...] = (
    PlantedSignal("machine", "DB-003", "焊接_DB", "db", 0.012, "274_OPEN", 0),
    PlantedSignal("machine", "WB-005", "焊接_WB", "wb", 0.010, "275_SHORT", 1),
    PlantedSignal("material_lot", "AW-0020", "AU-WIRE-0.8MIL", "wb", 0.015, "274_OPEN", 2),
    PlantedSignal("material_lot", "EMC-0012", "EMC-G700", "mold", 0.012, "001_CRACK", 3),
    PlantedSignal("wafer_lot", "W25Q0777.1", "wafer", "saw", 0.020, "279_IR_FAIL", 4),
)
"""The planted root causes of elevated TMTT scrap (names exist at every scale)."""

PLANTED_WAFER = next(s.name for s in PLANTED_SIGNALS if s.kind == "wafer_lot")
