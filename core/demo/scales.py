"""Sizes of the demo factory, one named preset per use.

Why: the same generator serves unit tests (``tiny``: seconds), the dashboard's first run
(``small``: a few thousand lots, built in well under 30 s) and the benchmark of the
incident in domain.md (``incident``: about 70K lots passing TMTT in 5 months whose
genealogy reaches about 114K containers). Only volumes change between scales; the
behaviour of the factory (routes, durations, reject rates) is the same, so what a page
shows on ``small`` is what it shows on the real data, only smaller.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Volume parameters of one demo scale (behaviour lives in core.demo.reference)."""

    name: str
    description: str
    days: int
    """Days of history before the anchor; production lots start uniformly over them."""
    wafer_lots: int
    """Wafer lots received over ``days``; each is cut into 1 + Poisson(...) GA/GC lots."""
    roots_per_wafer: float
    """Mean extra production lots per wafer lot (each wafer gives 1 + Poisson(this))."""
    split_prob: float
    """Probability that a first-generation lot is split (decays with split depth)."""
    merge_prob: float
    """Probability that a lot is combined with others before 元件切割/TMTT."""
    gd_prob: float
    """Probability that a lot gives a GD rework lot."""
    machine_factor: float
    """Machines per workcenter relative to the incident factory (at least 5 each)."""
    deep_chains: tuple[int, ...]
    """Depths of split chains planted on purpose (the trace must follow them)."""
    hold_prob: float
    """Probability that a lot pass (one step) was put on hold before track-in."""
    jobs_per_machine_day: float
    """Maintenance jobs per machine and day."""
    min_open_holds: int
    """Lots at least on hold in the current WIP snapshot."""
    raw_material_wip: int
    """Raw-material rows (work order null) in the current WIP snapshot."""
    dummy_lots: int
    """Production lots whose work order and name contain DUMMY."""


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        name="tiny",
        description="Unit tests: ~250 production lots over 75 days, builds in seconds.",
        days=75,
        wafer_lots=70,
        roots_per_wafer=0.6,
        split_prob=0.45,
        merge_prob=0.17,
        gd_prob=0.04,
        machine_factor=0.1,
        deep_chains=(6, 12),
        hold_prob=0.006,
        jobs_per_machine_day=0.03,
        min_open_holds=5,
        raw_material_wip=3,
        dummy_lots=2,
    ),
    "small": Scale(
        name="small",
        description="Default demo: ~4K production lots over 6 months (dashboard first run).",
        days=183,
        wafer_lots=1_300,
        roots_per_wafer=0.6,
        split_prob=0.45,
        merge_prob=0.17,
        gd_prob=0.03,
        machine_factor=0.25,
        deep_chains=(11, 13, 16),
        hold_prob=0.006,
        jobs_per_machine_day=0.15,
        min_open_holds=50,
        raw_material_wip=20,
        dummy_lots=4,
    ),
    "incident": Scale(
        name="incident",
        description=(
            "The incident of domain.md: ~70K lots pass TMTT in the last 5 months; their "
            "backward genealogy reaches ~114K containers."
        ),
        days=168,
        wafer_lots=28_000,
        roots_per_wafer=0.6,
        split_prob=0.45,
        merge_prob=0.17,
        gd_prob=0.03,
        machine_factor=1.0,
        deep_chains=(12, 18, 25, 34),
        hold_prob=0.006,
        jobs_per_machine_day=0.8,
        min_open_holds=200,
        raw_material_wip=150,
        dummy_lots=6,
    ),
}


def scale_of(name: str) -> Scale:
    """The preset called ``name``; a clear error naming the known ones otherwise."""
    try:
        return SCALES[name]
    except KeyError:
        known = ", ".join(SCALES)
        raise ValueError(f"unknown demo scale {name!r}; known scales: {known}") from None
