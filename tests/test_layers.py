"""Pages are UI only (docs/engineering.md): dashboard/ holds no SQL, no lane choice and no
cumulative computation; those live in core/.

The check reads the source with ``ast`` (attribute names, calls, imports), not regexes, so
a comment or a docstring that mentions the slow lane is no offence, and it names every
offending file:line.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard"

#: methods that run SQL: DuckDB (``.sql``, ``.query``, ``.execute``), DB-API, SQLAlchemy
SQL_METHODS = {"sql", "execute", "executemany", "exec_driver_sql", "query"}
#: SQLAlchemy statement builders (``sa.text(...)``, ``select(...)`` imported from it)
SQLALCHEMY_BUILDERS = {"text", "select", "insert", "update", "delete", "union_all"}
#: the lanes: choosing one is core's business
LANES = {"slow", "realtime"}
#: running totals (pandas, numpy, pyarrow.compute, itertools)
CUMULATIVE = {"cumsum", "cumprod", "cummax", "cummin", "cumulative_sum", "cumulative_prod",
              "cumulative_max", "cumulative_min", "accumulate", "expanding"}


def offences(source: str, name: str = "<source>") -> list[str]:
    """``name:line: what`` for each SQL call, lane choice or cumulative computation."""
    tree = ast.parse(source, filename=name)
    sqlalchemy_names: set[str] = set()  # local names bound to sqlalchemy or its builders
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sqlalchemy":
                    sqlalchemy_names.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            sqlalchemy_names.update(a.asname or a.name for a in node.names)
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and node.attr in LANES:
            found.append(f"{name}:{line}: lane choice .{node.attr}")
        if isinstance(node, ast.Attribute | ast.Name):
            ident = node.attr if isinstance(node, ast.Attribute) else node.id
            if ident in CUMULATIVE:
                found.append(f"{name}:{line}: cumulative computation {ident}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in SQL_METHODS:
                found.append(f"{name}:{line}: SQL call .{func.attr}(")
            elif (func.attr in SQLALCHEMY_BUILDERS and isinstance(func.value, ast.Name)
                  and func.value.id in sqlalchemy_names):
                found.append(f"{name}:{line}: SQLAlchemy {func.value.id}.{func.attr}(")
        elif isinstance(func, ast.Name) and func.id in sqlalchemy_names:
            found.append(f"{name}:{line}: SQLAlchemy {func.id}(")
    return found


def test_dashboard_holds_no_sql_lane_choice_or_cumulative() -> None:
    found: list[str] = []
    for path in sorted(DASHBOARD.rglob("*.py")):
        found += offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "Pages are UI only; move these to core/:\n" + "\n".join(found)


def test_the_check_finds_each_kind_of_offence() -> None:
    source = "\n".join([
        "import sqlalchemy as sa",                            # 1
        "from sqlalchemy import select",                      # 2
        "import duckdb",                                      # 3
        "spool.sql('SELECT 1')",                              # 4
        "duckdb.connect().execute('SELECT 1')",               # 5
        "sa.text('SELECT 1')",                                # 6
        "select(table)",                                      # 7
        "lanes.slow.fetch_arrow(q)",                          # 8
        "lanes.realtime",                                     # 9
        "df['n'].cumsum()",                                   # 10
        "pc.cumulative_sum(col)",                             # 11
        "'lanes.slow.fetch_arrow(q)'  # text is no offence",  # 12
        "st.select_slider('x')",                              # 13: not sqlalchemy
    ])
    lines = sorted({int(o.split(":")[1]) for o in offences(source, "x.py")})
    assert lines == [4, 5, 6, 7, 8, 9, 10, 11]
    assert "x.py:8: lane choice .slow" in offences(source, "x.py")
