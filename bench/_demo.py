"""The incident-scale demo database every benchmark runs on, built on first use.

Why: each benchmark is one command; on a fresh machine that command must not fail
because the demo was not built first. ``ensure_incident(url, schema)`` builds the
incident scale (anchored on 2026-11-20, so every run measures the same data) into a
DuckDB file that does not exist yet, or into a PostgreSQL schema that has no tables,
through the ``mesdash demo build`` command, and says so on stderr (DuckDB ~15 s,
PostgreSQL ~30 s).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = dt.date(2026, 11, 20)


def _exists(url: str, schema: str) -> bool:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "duckdb":
        return bool(parsed.database) and Path(str(parsed.database)).exists()
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return bool(c.execute(sa.text(
                "select count(*) from information_schema.tables where table_schema = :s"
            ), {"s": schema}).scalar())
    finally:
        eng.dispose()


def ensure_incident(url: str, schema: str, *, rebuild: bool = False) -> None:
    """Build the incident demo into ``url``/``schema`` unless it is there already."""
    if not rebuild and _exists(url, schema):
        return
    print(f"building the incident demo into {url} (schema {schema}), once…", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "core.cli", "demo", "build", "--db", url, "--scale",
         "incident", "--anchor", str(ANCHOR), "--schema", schema],
        check=True, cwd=ROOT,
    )
