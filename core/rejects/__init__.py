"""Reject (scrap) history: one primary query, everything else sliced locally.

Problem: managers open the reject paretos every morning and click around (toggles,
filters, periods, bars); every click must not send another heavy query to the warehouse.

This __init__ is the package's face (its modules are private, tests/test_layers.py).

Design: ``_queries`` builds the primary load (a date range, or the containers a list of
lots / work orders / wafer lots resolves to, see ``_resolve``) on the slow lane: the
reject records (each a lot, day, reason, event, with its quantities; summed locally to
any grain, move-in once per event) and their containers' attributes, joined locally;
``_load`` runs it and applies the reference data locally (station group from
``core.stations``, exclusion-list flag); ``_inputs`` validates what people type;
``_policy`` holds the default counting policy as toggles; ``_measures`` slices the loaded
Arrow table with an in-memory DuckDB (KPIs, trend, paretos, detail, CSV) without
touching the warehouse.
"""

from core.rejects._inputs import RejectInputError, check_range, known_values, parse_values
from core.rejects._load import load_range
from core.rejects._load_job import KEY_PREFIX, RejectRequest, RejectView, run_reject_load
from core.rejects._measures import (
    DETAIL_COLUMNS,
    DIMENSIONS,
    FILTER_DIMENSIONS,
    GRAINS,
    SORTABLE,
    Filters,
    Selection,
    chart_items,
    csv_name,
)
from core.rejects._policy import TOGGLE_HELP, TOGGLE_LABELS, Policy
from core.rejects._queries import bare_aggregate, rejects_by_range
from core.rejects._slicer import Slicer
from core.rejects._workflow import SOURCE as WORKFLOW_SOURCE

__all__ = [
    "DETAIL_COLUMNS",
    "DIMENSIONS",
    "FILTER_DIMENSIONS",
    "GRAINS",
    "KEY_PREFIX",
    "SORTABLE",
    "TOGGLE_HELP",
    "TOGGLE_LABELS",
    "WORKFLOW_SOURCE",
    "Filters",
    "Policy",
    "RejectInputError",
    "RejectRequest",
    "RejectView",
    "Selection",
    "Slicer",
    "bare_aggregate",
    "chart_items",
    "check_range",
    "csv_name",
    "known_values",
    "load_range",
    "parse_values",
    "rejects_by_range",
    "run_reject_load",
]
