"""Hold analysis: the live hold picture (dw_mes_lot_v, realtime lane) and hold history
(dw_mes_holdreleasehistory, slow lane, spooled to Parquet and sliced locally).

Modules: ``classify`` (hold types, shift days, buckets: the rules of domain.md "Holds",
parameterised only by settings), ``live`` (held lots of the snapshot, reloaded only when
its sys_date changes), ``history`` (load once per range, then trend, KPIs, paretos,
buckets and the record list from the local copy).
"""
