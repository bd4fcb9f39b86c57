"""Reject (scrap) history: one primary query, everything else sliced locally.

Problem: managers open the reject paretos every morning and click around (toggles,
filters, periods, bars); every click must not send another heavy query to the warehouse.

Design: ``query`` builds the primary load (a date range, or the containers a list of
lots / work orders / wafer lots resolves to, see ``resolve``) on the slow lane: the
reject records (each a lot, day, reason, event, with its quantities; summed locally to
any grain, move-in once per event) and their containers' attributes, joined locally;
``load`` runs it and applies the reference data locally (station group from
``core.stations``, exclusion-list flag); ``inputs`` validates what people type;
``policy`` holds the default counting policy as toggles; ``measures`` slices the loaded
Arrow table with an in-memory DuckDB (KPIs, trend, paretos, detail, CSV) without
touching the warehouse.
"""
