"""A registry of every query the product sends, with example arguments.

Why: Oracle cannot run on the development machines, so the only proof that a query works
there is compiling it with SQLAlchemy's Oracle dialect. A query builder registers itself
here with ``@query("name", example=...)``; tests compile every registered query for
Oracle, PostgreSQL and DuckDB and count the binds of each IN list (Oracle allows 1000).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class Registered:
    name: str
    build: Callable[..., Executable]
    examples: tuple[dict[str, Any], ...] = field(default_factory=tuple)


REGISTRY: dict[str, Registered] = {}


def query(name: str, *examples: dict[str, Any]) -> Callable[[Callable[..., Any]], Any]:
    """Register a query builder under ``name`` with keyword-argument examples."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY and REGISTRY[name].build is not fn:
            raise ValueError(f"query {name!r} registered twice")
        REGISTRY[name] = Registered(name, fn, tuple(examples) or ({},))
        return fn

    return wrap


def load_all() -> dict[str, Registered]:
    """Import every module that registers queries, then return the registry."""
    import importlib
    import pkgutil

    import core

    for mod in pkgutil.walk_packages(core.__path__, "core."):
        if mod.name.startswith(("core.cli", "core.demo")):
            continue
        importlib.import_module(mod.name)
    return REGISTRY
