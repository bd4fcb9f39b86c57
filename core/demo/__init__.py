"""Demo data: a seeded, realistic back-end factory loaded into any warehouse backend.

``build_demo(url, scale=..., seed=..., anchor=...)`` generates the tables of
core.schema (genealogy with splits, merges, rework and mistakes; track-in/out history;
rejects; materials; holds; jobs; WIP and machine snapshots) and loads them fast into
DuckDB, PostgreSQL or, slowly, any SQLAlchemy backend. ``SCALES`` lists the sizes;
``PLANTED_SIGNALS`` names the planted root causes of elevated TMTT scrap.
"""

from core.demo.build import DemoSummary, build_demo, snapshot_time
from core.demo.scales import SCALES, Scale
from core.demo.signals import PLANTED_SIGNALS, PlantedSignal
from core.demo.writers import DemoExistsError

__all__ = [
    "PLANTED_SIGNALS",
    "SCALES",
    "DemoExistsError",
    "DemoSummary",
    "PlantedSignal",
    "Scale",
    "build_demo",
    "snapshot_time",
]
