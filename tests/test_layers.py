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


# --- package faces --------------------------------------------------------------------
#: Each package's __init__ is its face; its modules with a leading underscore (core/db/
#: _lanes.py, core/db/_drivers/ ...) are private. Code in core/, dashboard/ and bench/
#: imports another package's privates never; tests/ may (a test checks its package's
#: insides), so tests/ is not scanned. The one exception, with its reason:
PRIVATE_IMPORT_ALLOWED = {
    # benchmarks the PostgreSQL driver's COPY parser itself, below the lanes
    ("bench/pg_arrow.py", "core.db._drivers"),
}
FACED = ("core", "dashboard", "bench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private_owner(dotted: str) -> str | None:
    """The package whose private module ``dotted`` is (``core.db`` for core.db._lanes.x),
    or None when no part of it is private."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


GETTEXT_NAMES = ("_", "N_")


def private_imports(source: str, module: str, name: str = "<source>") -> list[str]:
    """``name:line: imports X`` for each import of another package's private module."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=name)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # a private name imported from a module is private to that module's package
            package = node.module if (ROOT / node.module.replace(".", "/")).is_dir() \
                else node.module.rpartition(".")[0]
            # gettext's ``_`` and ``N_`` are public names by convention (core.i18n)
            targets = [node.module] + [f"{package}.{a.name}" for a in node.names
                                       if a.name not in GETTEXT_NAMES]
        for target in targets:
            owner = _private_owner(target)
            if owner and not (module == owner or module.startswith(owner + ".")):
                found.append(f"{name}:{node.lineno}: imports {target} (private to {owner})")
                break
    return found


def test_no_package_imports_another_packages_private_modules() -> None:
    found: list[str] = []
    for top in FACED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            hits = private_imports(path.read_text(encoding="utf-8"), _module_name(path), rel)
            found += [h for h in hits
                      if not any(rel == a and f" {m}" in h for a, m in PRIVATE_IMPORT_ALLOWED)]
    assert not found, "Import from the package's face (its __init__):\n" + "\n".join(found)


def test_the_face_check_finds_private_imports() -> None:
    source = "\n".join([
        "from core.db._lanes import SlowLane",   # 1: private module of core.db
        "import core.db._drivers.duckdb",         # 2
        "from core.db import _throttle",          # 3: a private module by name
        "from core.db import open_lanes",         # 4: the face: fine
        "from core.trace._lineage import x",      # 5: fine inside core.trace
    ])
    lines = [h.split(":")[1] for h in private_imports(source, "core.trace._seeds")]
    assert lines == ["1", "2", "3"]
    assert private_imports(source, "core.db._open")[0].split(":")[1] == "5"
