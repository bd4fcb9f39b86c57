"""The reads the trace page makes of a finished trace's spool, as named functions.

Why: pages run no SQL (docs/engineering.md). The trace page needs the lineage's nodes
and edges, and the lots with history for its timeline picker; the DuckDB SQL over the
spool's Parquet files lives here, next to the Spool, and the page calls these by name.
"""

from __future__ import annotations

from collections.abc import Iterable

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
