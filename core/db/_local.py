"""Local DuckDB for aggregating results: bounded memory, one thread.

Why: results are sliced and aggregated in an in-memory DuckDB (over Arrow tables or a
trace's Parquet spool), a separate instance from the warehouse. DuckDB's defaults (a
memory limit of 80 % of RAM, one thread per core) are wrong for a dashboard server: the
incident ran a 7 GB machine out of memory, and on two cores every thread an aggregation
takes is a thread the live widgets lack. ``local_duckdb()`` opens one with
LOCAL_MEMORY_LIMIT (DuckDB spills to a temp directory beyond it) and LOCAL_THREADS.
``local_threads`` is the one rule for the local work a job does while people watch (a
defect analysis, building a reject slicer): two threads only while the live widgets are
quiet. ``file_literal`` quotes a file name for the DuckDB statements that take one only
as text (``read_parquet`` in a view, ``COPY ... TO``, ``ATTACH``).
"""

from __future__ import annotations

import tempfile
from typing import Any

import duckdb

LOCAL_MEMORY_LIMIT = "256MB"
LOCAL_THREADS = 1


def local_duckdb(*, threads: int = LOCAL_THREADS,
                 memory_limit: str = LOCAL_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={
        "threads": threads,
        "memory_limit": memory_limit,
        "temp_directory": tempfile.gettempdir() + "/mesdash_duckdb_spill",
        "preserve_insertion_order": False,
    })


def file_literal(path: object) -> str:
    """A file name of ours as a SQL string literal (quotes doubled). Only for paths the
    program made (spool files, the demo file), never for a person's input: values are
    binds."""
    return "'" + str(path).replace("'", "''") + "'"


def local_threads(lanes: Any, settings: Any) -> int:
    """Local DuckDB threads for a job's own work: ``analysis_threads`` while the live
    widgets are quiet, one while they query (the slow lane's rule for its batches)."""
    return 1 if lanes.slow.live_active() else int(settings.analysis_threads)
