"""A per-job spool: one Parquet file per domain on disk, read back with DuckDB.

Why in core.jobs: every job (trace, defects, rejects) gets one; it expires with its job.

Why: the incident held about three in-memory copies of a 114K-container result per
domain and ran a 7 GB machine out of memory. Here each batch of a domain is written to
its Parquet file as it arrives; pages filter, page, count and aggregate with an
in-memory DuckDB (``duckdb.connect()``, a separate instance from the warehouse) reading
the files, so memory stays bounded whatever the size. A domain's file is written under a
temporary name and renamed when complete, so a reader never sees half a file; its
completeness sits beside it as JSON. Column names in filters and ordering are checked
against the file's schema; values are binds. What people read (``page``, filtered
``count``, ``export``) carries the lot name beside each container id, joined from the
lineage's ``nodes`` file at read time (the domain files keep ids only).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.db import file_literal
from core.errors import InputError
from core.export import write_csv_file

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings

PARQUET_OPTIONS: dict[str, Any] = {"compression": "lz4", "use_dictionary": False}
"""Spool files are written once, read a few times and deleted: encoding speed matters more
than size. Dictionary encoding was half the write time (incident history, 1.24M rows:
zstd + dictionaries 1.02 s / 28 MiB, lz4 without 0.56 s / 35 MiB), and the write runs on
the trace's consumer thread beside the fetching workers. (Uncompressed took 0.40 s
against lz4's 0.66 s for 1.49M rows, but 152 MiB against 41 MiB of temporary disk per
trace: kept lz4.)"""
STATISTICS_COLUMNS = ("containerid",)
"""Columns whose min/max a spool file keeps: the only column its reads filter on by value
(a lot's events: ``containerid IN (...)``, which skips row groups by them); the others
are filtered by text (ILIKE) or sorted, which statistics do not serve. Statistics for
every column were a fifth of the write (incident history 0.66 -> 0.53 s)."""

EXPORT_BATCH_ROWS = 65_536
"""Rows a CSV export holds in memory at a time (written batch by batch)."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LINEAGE_FILES = ("nodes", "edges")
NAME_COLUMN = "containername"
"""Shown beside ``containerid`` in every domain a person reads: people know lots by name,
and the domains hold ids only (the names come once, from the lineage's nodes)."""


class SpoolError(InputError):
    """A spool request names an unknown domain or column, or a bad filter."""


def spool_root(settings: Settings) -> Path:
    root = Path(settings.spool_dir) if settings.spool_dir else (
        Path(tempfile.gettempdir()) / "mesdash-spool"
    )
    root.mkdir(parents=True, exist_ok=True)
    return root


class DomainWriter:
    """Appends Arrow tables to one domain's Parquet file; ``close`` publishes it."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._part = path.with_name(path.name + ".part")
        stats = [c for c in STATISTICS_COLUMNS if c in schema.names]
        self._writer = pq.ParquetWriter(self._part, schema, **PARQUET_OPTIONS,
                                        write_statistics=stats or False)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        os.replace(self._part, self.path)

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self._part.unlink(missing_ok=True)


class Spool:
    """A folder of Parquet files, one per domain, plus ``<domain>.json`` metadata."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._schemas: dict[str, tuple[tuple[int, int], pa.Schema]] = {}

    @classmethod
    def create(cls, settings: Settings, name: str | None = None) -> Spool:
        return cls(spool_root(settings) / (name or uuid.uuid4().hex))

    # --- writing -------------------------------------------------------------------------
    def file(self, domain: str) -> Path:
        if not _NAME.match(domain):
            raise SpoolError(f"{domain!r} is not a domain name")
        return self.path / f"{domain}.parquet"

    def writer(self, domain: str, schema: pa.Schema) -> DomainWriter:
        return DomainWriter(self.file(domain), schema)

    def write_table(self, domain: str, table: pa.Table, meta: Mapping[str, Any] | None = None
                    ) -> Path:
        w = self.writer(domain, table.schema)
        w.write(table)
        w.close()
        if meta is not None:
            self.set_meta(domain, meta)
        return w.path

    def write_bytes(self, domain: str, data: bytes) -> Path:
        path = self.file(domain)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        os.replace(part, path)
        return path

    def set_meta(self, domain: str, meta: Mapping[str, Any]) -> None:
        (self.path / f"{domain}.json").write_text(json.dumps(meta, default=str),
                                                  encoding="utf-8")

    def meta(self, domain: str) -> dict[str, Any]:
        path = self.path / f"{domain}.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    # --- reading -------------------------------------------------------------------------
    def domains(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.parquet"))

    def has(self, domain: str) -> bool:
        return self.file(domain).is_file()

    def schema(self, domain: str) -> pa.Schema:
        """The domain file's own columns (what ``sql`` sees). Read from the file's footer
        once per version of the file (files are replaced whole, never changed in place):
        one page of a table asks for every domain's columns several times."""
        path = self._existing(domain)
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        known = self._schemas.get(domain)
        if known is None or known[0] != version:
            known = (version, pq.read_schema(path))
            self._schemas[domain] = known
        return known[1]

    def _named(self, domain: str) -> bool:
        """Whether ``page``/``count``/``export`` show ``domain`` with the lot name: the
        spool holds the lineage's nodes and the domain has container ids, not names."""
        if domain in LINEAGE_FILES or not self.has("nodes"):
            return False
        names = self.schema(domain).names
        return "containerid" in names and NAME_COLUMN not in names

    def columns(self, domain: str) -> list[str]:
        """The columns people see: the file's, with ``containername`` (from the nodes)
        right after ``containerid`` where the domain has only ids."""
        names = self.schema(domain).names
        if not self._named(domain):
            return names
        at = names.index("containerid") + 1
        return [*names[:at], NAME_COLUMN, *names[at:]]

    def rows(self, domain: str) -> int:
        return pq.ParquetFile(self._existing(domain)).metadata.num_rows

    def _existing(self, domain: str) -> Path:
        path = self.file(domain)
        if not path.is_file():
            raise SpoolError(f"The spool has no {domain!r} result.")
        return path

    def _connect(self, named: bool = False) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with a view per domain file; ``named``: the views people
        see (``columns``), with the lot name joined from the nodes."""
        con = duckdb.connect()
        con.execute("SET threads TO 1")
        nodes = file_literal(self.file("nodes"))
        for domain in self.domains():
            path = file_literal(self.file(domain))
            if named and self._named(domain):
                cols = ", ".join(
                    "n.containername" if c == NAME_COLUMN else f'd."{c}"'
                    for c in self.columns(domain)
                )
                con.execute(
                    f"CREATE VIEW {domain} AS SELECT {cols} FROM read_parquet({path}) d "
                    "LEFT JOIN (SELECT containerid, any_value(containername) AS containername "
                    f"FROM read_parquet({nodes}) GROUP BY containerid) n "
                    "ON n.containerid = d.containerid"
                )
            else:
                con.execute(f"CREATE VIEW {domain} AS SELECT * FROM read_parquet({path})")
        return con

    def _where(self, domain: str, filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        if not filters:
            return "", []
        names = set(self.columns(domain))
        parts: list[str] = []
        params: list[Any] = []
        for col, value in filters.items():
            if col not in names:
                raise SpoolError(f"{domain} has no column {col!r}")
            if value is None or value == "" or value == []:
                continue
            if isinstance(value, (list, tuple, set)):
                # one list parameter: 50K ids as 50K "?" took 7 s to bind, this 0.05 s
                parts.append(f'"{col}" IN (SELECT unnest(?))')
                params.append(list(value))
            elif isinstance(value, str):
                parts.append(f'CAST("{col}" AS VARCHAR) ILIKE ? ESCAPE \'\\\'')
                escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                params.append(f"%{escaped}%")
            else:
                parts.append(f'"{col}" = ?')
                params.append(value)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    def _order(self, domain: str, order_by: str | Sequence[Any] | None) -> str:
        if not order_by:
            return ""
        names = set(self.columns(domain))
        items = [order_by] if isinstance(order_by, str) else list(order_by)
        out: list[str] = []
        for item in items:
            col, how = (item, "asc") if isinstance(item, str) else (item[0], item[1])
            if col not in names or how.lower() not in ("asc", "desc"):
                raise SpoolError(f"cannot order {domain} by {item!r}")
            out.append(f'"{col}" {how.upper()} NULLS LAST')
        return " ORDER BY " + ", ".join(out)

    def count(self, domain: str, filters: Mapping[str, Any] | None = None) -> int:
        self._existing(domain)  # the name goes into the SQL: only a domain of this spool
        where, params = self._where(domain, filters)
        with self._connect(named=bool(where)) as con:  # names matter only to a filter
            return int(con.execute(f"SELECT count(*) FROM {domain}{where}", params)
                       .fetchone()[0])

    def page(
        self,
        domain: str,
        offset: int = 0,
        limit: int = 50,
        order_by: str | Sequence[Any] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        """One page of ``domain`` (filters: column → text (contains, any case), list
        (one of), or value (equals))."""
        self._existing(domain)
        where, params = self._where(domain, filters)
        order = self._order(domain, order_by)
        sql = f"SELECT * FROM {domain}{where}{order} LIMIT ? OFFSET ?"
        with self._connect(named=True) as con:
            return con.sql(sql, params=[*params, int(limit), int(offset)]).to_arrow_table()

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Any read-only DuckDB query over the domain views (named like the domains)."""
        with self._connect() as con:
            return con.sql(query, params=list(params or []) or None).to_arrow_table()

    def export(self, domain: str, fmt: str, filters: Mapping[str, Any] | None = None,
               raw_headers: bool = False) -> Path:
        """The full (filtered) domain as a CSV or Parquet file inside the spool (CSV headers
        labelled unless ``raw_headers``; Parquet keeps the column names)."""
        if fmt not in ("csv", "parquet"):
            raise SpoolError(f"unknown export format {fmt!r}")
        self._existing(domain)
        if fmt == "parquet" and not filters and not self._named(domain):
            return self.file(domain)
        where, params = self._where(domain, filters)
        target = self.path / "exports" / f"{domain}-{uuid.uuid4().hex[:8]}.{fmt}"
        target.parent.mkdir(exist_ok=True)
        with self._connect(named=True) as con:
            if fmt == "csv":  # Arrow's writer, batch by batch: with Excel's UTF-8 mark
                reader = con.sql(f"SELECT * FROM {domain}{where}",
                                 params=list(params) or None).to_arrow_reader(EXPORT_BATCH_ROWS)
                return write_csv_file(reader, reader.schema, target, raw_headers)
            con.execute(f"COPY (SELECT * FROM {domain}{where}) TO {file_literal(target)} "
                        "(FORMAT parquet)", params)
        return target

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
