"""Settings: defaults valid, every source read, every bad value named in one clear error."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest

from core.config import (
    AT_MOST,
    CONTRACTS,
    DEMO_SCALES,
    SETTINGS_DOC,
    Settings,
    SettingsError,
    allowed,
    load_settings,
    settings_markdown,
)


def test_defaults_are_valid_and_use_the_demo_database() -> None:
    s = load_settings(env={}, secrets_path="/nonexistent")
    assert s.uses_demo and s.effective_db_url.startswith("duckdb:///")
    assert s.slow_connections >= s.slow_permits
    assert s.in_list_max == 1000 and s.cache_max_ids == 10_000


def test_environment_values_are_coerced() -> None:
    s = load_settings(
        env={"MES_SLOW_PERMITS": "3", "MES_SLOW_CONNECTIONS": "6", "MES_YIELD_TO_LIVE": "no",
             "MES_SLOW_DEADLINE_S": "12.5", "MES_DB_URL": "postgresql+psycopg://u@h/db"},
        secrets_path="/nonexistent",
    )
    assert (s.slow_permits, s.slow_connections, s.yield_to_live) == (3, 6, False)
    assert s.slow_deadline_s == 12.5 and not s.uses_demo
    s3 = load_settings(env={"MES_HOLD_AGE_EDGES_DAYS": "2;5;10"}, secrets_path="/nonexistent")
    assert s3.hold_age_edges_days == (2.0, 5.0, 10.0)


def test_secrets_toml_gives_url_and_settings(tmp_path: Path) -> None:
    f = tmp_path / "secrets.toml"
    f.write_text(
        '[connections.mes]\nurl = "oracle+oracledb://u:p@h:1521/?service_name=MES"\n'
        '[mesdash]\nschema = "DWH"\nslow_deadline_s = 30\n',
        encoding="utf-8",
    )
    s = load_settings(env={}, secrets_path=f)
    assert s.db_url.startswith("oracle+oracledb://") and s.schema == "DWH"
    assert s.slow_deadline_s == 30.0
    # the environment wins over the file
    s2 = load_settings(env={"MES_SLOW_DEADLINE_S": "7"}, secrets_path=f)
    assert s2.slow_deadline_s == 7.0


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"MES_SLOW_PERMITS": "0"}, "slow_permits must be 1 or more (got 0)."),
        ({"MES_SLOW_PERMITS": "8"}, "slow_permits = 8 exceeds slow_connections = 4: every "
                                    "permitted query needs a connection of its own."),
        ({"MES_SLOW_WORKERS": "3"}, "slow_workers = 3 exceeds slow_permits = 2"),
        ({"MES_PAGE_SIZE": "201"}, "page_size = 201 exceeds page_size_max = 200"),
        ({"MES_REJECT_DEFAULT_DAYS": "400"}, "reject_default_days = 400 exceeds reject_max"),
        ({"MES_SLOW_PERMITS": "two"}, "MES_SLOW_PERMITS"),
        ({"MES_SLOW_DEADLINE_S": "-1"}, "slow_deadline_s must be greater than 0 (got -1.0)."),
        ({"MES_SLOW_DEADLINE_S": "0"}, "slow_deadline_s must be greater than 0 (got 0.0)."),
        ({"MES_IN_LIST_MAX": "5000"},
         "in_list_max must be between 1 and 1000 (got 5000): Oracle's limit of 1000"),
        ({"MES_SLOW_PARALLEL_WORKERS": "65"}, "slow_parallel_workers must be between 0 and 64"),
        ({"MES_GIL_SWITCH_MS": "0.01"}, "gil_switch_ms must be between 0.05 and 50 (got 0.01)"),
        ({"MES_JOB_INLINE_WAIT_S": "31"}, "job_inline_wait_s must be between 0 and 30"),
        ({"MES_REALTIME_MAX_OVERFLOW": "-1"}, "realtime_max_overflow must be 0 or more"),
        ({"MES_CACHE_MAX_IDS": "-1"}, "cache_max_ids must be 0 or more (got -1): 0 caches"),
        ({"MES_SLOW_LEASE_S": "1"}, "slow_lease_s must be 1.5 or more (got 1.0): a holder"),
        ({"MES_DB_URL": "mysql://u@h/db"}, "supported: oracle+oracledb"),
        ({"MES_DB_URL": "not a url"}, "db_url is not a SQLAlchemy URL"),
        ({"MES_SHIFT_DAY_START": "25:00"}, "must be HH:MM"),
        ({"MES_SHIFT_DAY_START": "7h30"}, "must be HH:MM"),
        ({"MES_REDIS_URL": "localhost:6379"}, "redis_url must start with redis://"),
        ({"MES_DEMO_SCALE": "huge"}, "demo_scale must be one of tiny, small, incident"),
        ({"MES_DUCKDB_MEMORY_LIMIT": "lots"}, "duckdb_memory_limit must look like 512MB"),
        ({"MES_TEST_FAULT": "explode"}, "test_fault is not a fault plan"),
        ({"MES_YIELD_TO_LIVE": "maybe"}, "true or false"),
        ({"MES_SCHEMA": "dwh; drop table x"}, "plain identifier"),
        ({"MES_HOLD_AGE_EDGES_DAYS": "3;1"}, "must be increasing positive numbers"),
        ({"MES_HOLD_DURATION_EDGES_H": "4;x"}, "MES_HOLD_DURATION_EDGES_H"),
    ],
)
def test_bad_settings_are_named_with_the_reason(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env, secrets_path="/nonexistent")
    assert needle in str(info.value)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    f = tmp_path / "secrets.toml"
    f.write_text("[mesdash]\nno_such_setting = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(env={"MES_SLOW_PERMITS": "0", "MES_PAGE_SIZE": "-5"}, secrets_path=f)
    assert len(info.value.problems) >= 3
    assert "unknown setting [mesdash] no_such_setting" in str(info.value)


def test_broken_secrets_file_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "secrets.toml"
    f.write_text("[connections.mes\nurl=", encoding="utf-8")
    with pytest.raises(SettingsError, match="could not be read as TOML"):
        load_settings(env={}, secrets_path=f)


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = settings_markdown()
    for name in SETTINGS_DOC:
        assert f"`{name}`" in table
        assert f"`MES_{name.upper()}`" in readme, f"README lacks {name}"
    # The table itself, bounds included: regenerate it with `mesdash config --markdown`.
    assert table in readme, "README's settings table is not `mesdash config --markdown`"


# --- every setting's contract, from its declaration ------------------------------------------
_NUMBERS = {f.name: type(f.default) for f in fields(Settings)
            if type(f.default) in (int, float)}


def _problems(name: str, value: float) -> list[str]:
    """The problems loading ``value`` for ``name`` from the environment gives (none: [])."""
    try:
        load_settings(env={f"MES_{name.upper()}": repr(value)}, secrets_path="/nonexistent")
    except SettingsError as exc:
        return exc.problems
    return []


def _beyond(kind: type, bound: float, direction: int) -> float:
    """The nearest value of the setting's type past ``bound`` (below: -1, above: +1)."""
    if kind is int:
        return int(bound) + direction
    return math.nextafter(float(bound), direction * math.inf)


_BOUNDS = [
    (name, which)
    for name, c in CONTRACTS.items()
    for which, bound in (("min", c.min), ("max", c.max), ("gt", c.gt))
    if bound is not None
]


@pytest.mark.parametrize(("name", "which"), _BOUNDS, ids=[f"{n}-{w}" for n, w in _BOUNDS])
def test_every_declared_bound_is_enforced(name: str, which: str) -> None:
    """Generated from the declarations: the value at an inclusive bound (or just past an
    exclusive one) is accepted, the nearest value beyond it is refused with a message
    naming the setting, the allowed range and the value."""
    kind, c = _NUMBERS[name], CONTRACTS[name]
    bound = getattr(c, which)
    if which == "gt":
        inside, outside = _beyond(kind, bound, +1), kind(bound)
    else:
        inside = kind(bound)
        outside = _beyond(kind, bound, -1 if which == "min" else +1)
    own = f"{name} must be "
    assert not [p for p in _problems(name, inside) if p.startswith(own)], (name, inside)
    refused = [p for p in _problems(name, outside) if p.startswith(own)]
    assert len(refused) == 1 and f"(got {outside!r})" in refused[0], (name, outside, refused)


def test_every_number_declares_its_bounds() -> None:
    """Counts, sizes and seconds all need a lower bound (0 permits, -1 seconds): an int or
    float setting declares min (ints) or min/gt (floats) of its own type, or says why it
    needs none (``unbounded=``)."""
    assert _NUMBERS, "no numeric settings found"
    for name, kind in _NUMBERS.items():
        c = CONTRACTS[name]
        assert c.min is not None or c.gt is not None or c.unbounded, (
            f"{name}: declare min= or gt= (or unbounded='why') in core/config.py")
        if kind is int:
            assert c.gt is None, f"{name}: an int bound is min=, not gt="
        for bound in (c.min, c.max, c.gt):
            assert bound is None or type(bound) is kind, f"{name}: bound {bound!r} not {kind}"
        if c.min is not None and c.max is not None:
            assert c.min < c.max, name
    for name, c in CONTRACTS.items():
        if name not in _NUMBERS:
            assert (c.min, c.max, c.gt) == (None, None, None), f"{name} is not a number"


@pytest.mark.parametrize(("small", "big", "why"), AT_MOST)
def test_cross_field_rules(small: str, big: str, why: str) -> None:
    defaults = load_settings(env={}, secrets_path="/nonexistent")
    over = getattr(defaults, big) + 1
    with pytest.raises(SettingsError) as info:
        load_settings(env={f"MES_{small.upper()}": str(over)}, secrets_path="/nonexistent")
    assert f"{small} = {over} exceeds {big} = {getattr(defaults, big)}: {why}." in (
        info.value.problems)
    assert f"≤ {big}" in allowed(small)


def test_allowed_values_are_described_from_the_declaration() -> None:
    assert allowed("slow_parallel_workers") == "0 – 64"
    assert allowed("realtime_deadline_s") == "> 0"
    assert allowed("cache_max_ids") == "≥ 0"
    assert allowed("gil_switch_ms") == "0.05 – 50"
    assert allowed("slow_permits") == "≥ 1, ≤ slow_connections"
    assert allowed("demo_scale") == "tiny, small, incident"
    assert allowed("yield_to_live") == ""
    table = settings_markdown().splitlines()
    assert table[0] == "| setting | environment | default | allowed | what it protects |"
    assert "| `in_list_max` | `MES_IN_LIST_MAX` | 1000 | 1 – 1000 |" in "\n".join(table)


def test_demo_scale_choices_are_the_demo_scales() -> None:
    from core.demo.scales import SCALES

    assert tuple(SCALES) == DEMO_SCALES


def test_trace_memory_cache_keeps_what_its_settings_allow() -> None:
    """trace_cache_entries / trace_cache_mb (once constants of core/trace/_cache.py)."""
    from core.trace._cache import DomainCache

    s = load_settings(env={"MES_TRACE_CACHE_ENTRIES": "2", "MES_TRACE_CACHE_MB": "1"},
                      secrets_path="/nonexistent")
    cache = DomainCache(s)
    for key in ("a", "b", "c"):
        cache.put(key, b"x" * 100)
    assert cache.memory_keys() == ["b", "c"]  # the oldest dropped beyond 2 entries
    by_size = DomainCache(s.replace(trace_cache_entries=64))
    by_size.put("big", b"x" * (2**20 // 4 + 1))  # over a quarter of 1 MB: never in memory
    assert by_size.memory_keys() == []
    for key in "vwxyz":  # 5 x 0.24 MB: the oldest dropped to stay within 1 MB
        by_size.put(key, b"x" * int(0.24 * 2**20))
    assert by_size.memory_keys() == ["w", "x", "y", "z"]


def test_redis_clients_take_redis_timeout_s() -> None:
    """redis_timeout_s (once 2.0 written twice) reaches both Redis clients. No server is
    contacted: the clients connect lazily."""
    from core.db._throttle import make_throttle
    from core.trace._cache import DomainCache

    s = load_settings(env={"MES_REDIS_URL": "redis://127.0.0.1:1/0",
                           "MES_REDIS_TIMEOUT_S": "0.25"}, secrets_path="/nonexistent")
    throttle = make_throttle(2, redis_url=s.redis_url, db_url="duckdb:///x", lease_s=5,
                             timeout_s=s.redis_timeout_s)
    for client in (DomainCache(s)._redis, throttle.redis.client):
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.25


def test_cli_config_prints_each_value_with_its_bounds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import os

    from core.cli.db import run_config

    for key in list(os.environ):
        if key.startswith("MES_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MES_SECRETS_FILE", "/nonexistent")
    monkeypatch.setenv("MES_SLOW_PARALLEL_WORKERS", "3")
    assert run_config(argparse.Namespace(markdown=False)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "slow_parallel_workers = 3  # 0 – 64" in lines
    assert "yield_to_live = True" in lines  # no contract: no comment
