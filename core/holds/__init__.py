"""Hold analysis: the live hold picture (dw_mes_lot_v, realtime lane) and hold history
(dw_mes_holdreleasehistory, slow lane, spooled to Parquet and sliced locally).

This __init__ is the package's face (tests/test_layers.py): the classification rules
(hold types, shift days, age buckets: the rules of domain.md "Holds", parameterised only
by settings; private module ``_classify``) are imported from here, and three public
modules are the rest of it: ``current`` (held lots of the snapshot, reloaded only when its
sys_date changes), ``history`` (a package with its own face: load once per range, then
trend, KPIs, paretos, buckets and the record list from the local copy) and ``reconcile``
(the two compared at one time).
"""

from core.holds._classify import (
    ALL,
    HOLD_TYPE_LABELS,
    HOLD_TYPES,
    HoldInputError,
    age_labels,
    bucket_text,
    check_range,
    hold_type_of,
    parse_day,
    parse_hold_type,
    shift_day,
    status_of,
)

__all__ = ["ALL", "HOLD_TYPES", "HOLD_TYPE_LABELS", "HoldInputError", "age_labels",
           "bucket_text",
           "check_range", "hold_type_of", "parse_day", "parse_hold_type", "shift_day",
           "status_of"]
