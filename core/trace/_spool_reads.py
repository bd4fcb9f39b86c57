"""The reads the trace page makes of a finished trace's spool, as named functions.

Why: pages run no SQL (docs/engineering.md). The trace page needs the lineage's nodes
and edges, the lots with history for its timeline picker, the timeline's events of
several lots (history stays, material consumptions and holds, each on the row of its
station group: one row kind for all three), and the machine seeds' lots; the DuckDB SQL
over the spool's Parquet files lives here, next to the Spool, and the page calls these by
name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from core.jobs import Spool

_WITH_HISTORY = ("SELECT DISTINCT n.containername, n.containerid FROM history h "
                 "JOIN nodes n USING (containerid)")


def lineage_frames(spool: Spool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lineage's nodes (by depth, then id) and edges."""
    nodes = spool.sql("SELECT * FROM nodes ORDER BY depth, containerid").to_pandas()
    edges = spool.sql("SELECT * FROM edges").to_pandas()
    return nodes, edges


def timeline_lots(spool: Spool, limit: int, first: Iterable[str] = ()
                  ) -> tuple[pd.DataFrame, int]:
    """Lots with history for the timeline picker (containername, containerid): the
    ``first`` ids (focused containers) wherever they sort, then the first ``limit`` by
    name; and how many lots have history in all (one query counts and lists)."""
    listed = spool.sql(f"SELECT *, count(*) OVER () AS n FROM ({_WITH_HISTORY}) "
                       "ORDER BY 1 LIMIT ?", [limit]).to_pandas()
    n_lots = int(listed["n"].iloc[0]) if len(listed) else 0
    lots = listed.drop(columns="n")
    first = sorted(set(first))
    if first:
        focused = spool.sql(f"SELECT * FROM ({_WITH_HISTORY}) WHERE containerid IN "
                            f"({', '.join('?' for _ in first)}) ORDER BY 1",
                            first).to_pandas()
        lots = pd.concat([focused, lots]).drop_duplicates("containerid")
    return lots, n_lots


TIMELINE_COLUMNS = ("containerid", "containername", "event", "station_group", "group_seq",
                    "start", "end", "step", "machine", "detail")
"""One row per drawn event: ``event`` history (a stay: track-in → track-out, open: to
now), material (a consumption at ``start``) or hold (hold → release, open: to now)."""

_TIMELINE_SQL = {
    "history": """
        SELECT containerid, 'history' AS event, station_group, station_seq AS group_seq,
               workcentername, trackintimestamp AS start,
               coalesce(trackouttimestamp, $now) AS "end", specname AS step,
               equipmentname AS machine, CAST(NULL AS VARCHAR) AS detail,
               trackouttimestamp IS NULL AS open
        FROM history WHERE containerid IN ({ids})
        QUALIFY row_number() OVER (PARTITION BY containerid ORDER BY trackintimestamp) <= $cap
    """,
    "materials": """
        SELECT containerid, 'material' AS event, CAST(NULL AS VARCHAR) AS station_group,
               CAST(NULL AS BIGINT) AS group_seq, workcentername, txndate AS start,
               txndate AS "end", specname AS step, equipmentname AS machine,
               concat_ws(' · ', materialpartname, materiallotname) AS detail, false AS open
        FROM materials WHERE containerid IN ({ids})
        QUALIFY row_number() OVER (PARTITION BY containerid ORDER BY txndate) <= $cap
    """,
    "holds": """
        SELECT containerid, 'hold' AS event, CAST(NULL AS VARCHAR) AS station_group,
               CAST(NULL AS BIGINT) AS group_seq, workcentername, holdtxndate AS start,
               coalesce(releasetxndate, $now) AS "end", CAST(NULL AS VARCHAR) AS step,
               CAST(NULL AS VARCHAR) AS machine, holdreasonname AS detail,
               releasetxndate IS NULL AS open
        FROM holds WHERE containerid IN ({ids})
        QUALIFY row_number() OVER (PARTITION BY containerid ORDER BY holdtxndate) <= $cap
    """,
}


def timeline_events(spool: Spool, lot_ids: Sequence[str], cap: int, stations: Any,
                    now: datetime | None = None) -> tuple[pd.DataFrame, bool]:
    """The timeline of ``lot_ids``: history, material and hold rows (at most ``cap`` of
    each kind per lot, the earliest), each with its station group (history's own; the
    others by ``stations``, a core.stations StationMap, from their work center) and the
    group's order in the flow; and whether a cap was hit. Rows of an unmapped work center
    keep a null station group."""
    ids = list(dict.fromkeys(lot_ids))
    if not ids or not spool.has("history"):
        return pd.DataFrame(columns=[*TIMELINE_COLUMNS, "open"]), False
    marks = ", ".join("?" for _ in ids)
    parts = [q.format(ids=marks) for name, q in _TIMELINE_SQL.items() if spool.has(name)]
    sql = (" UNION ALL ".join(f"({q})" for q in parts))
    stamp = (now or datetime.now()).replace(microsecond=0)
    params: list[Any] = []
    for _ in parts:  # positional binds: each part's ids (the named $now/$cap go by name)
        params += ids
    frame = _run(spool, sql, params, stamp, cap)
    hit = bool(len(frame)) and bool(
        frame.groupby(["containerid", "event"]).size().max() >= cap)
    names = spool.sql("SELECT containerid, any_value(containername) AS containername "
                      f"FROM nodes WHERE containerid IN ({marks}) GROUP BY 1", ids).to_pandas()
    frame = frame.merge(names, on="containerid", how="left")
    missing = frame["station_group"].isna()
    if missing.any() and stations is not None:
        frame.loc[missing, "station_group"] = [
            stations.group_of(w) for w in frame.loc[missing, "workcentername"]]
    need_seq = frame["group_seq"].isna() & frame["station_group"].notna()
    if need_seq.any() and stations is not None:
        frame.loc[need_seq, "group_seq"] = [
            stations.seq_of_group(g) for g in frame.loc[need_seq, "station_group"]]
    frame = frame.sort_values(["containerid", "start", "event"], kind="stable")
    return frame[[*TIMELINE_COLUMNS, "open"]].reset_index(drop=True), hit


def _run(spool: Spool, sql: str, params: list[Any], now: datetime, cap: int) -> pd.DataFrame:
    """``sql`` with positional ids, ``now`` and ``cap`` inlined as literals of their types
    (DuckDB does not mix positional and named parameters)."""
    sql = sql.replace("$now", f"TIMESTAMP '{now.isoformat(sep=' ')}'").replace(
        "$cap", str(int(cap)))
    return spool.sql(sql, params).to_pandas()


def seed_lots(spool: Spool) -> tuple[pd.DataFrame, str | None]:
    """The machine seeds' lots (``seed_lots``: lot, machines, first track-in, track-ins)
    and the bound that cut them (contain_max_lots) or None; empty when the trace had no
    machine seeds."""
    if not spool.has("seed_lots"):
        return pd.DataFrame(), None
    lots = spool.sql("SELECT * FROM seed_lots ORDER BY first_trackin, containername"
                     ).to_pandas()
    return lots, spool.meta("seed_lots").get("truncated")
