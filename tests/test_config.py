"""Settings: defaults valid, every source read, every bad value named in one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import SETTINGS_DOC, SettingsError, load_settings, settings_markdown


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
        ({"MES_SLOW_PERMITS": "0"}, "slow_permits = 0 must be greater than 0"),
        ({"MES_SLOW_PERMITS": "8"}, "slow_connections = 4 must cover slow_permits = 8"),
        ({"MES_SLOW_PERMITS": "two"}, "MES_SLOW_PERMITS"),
        ({"MES_SLOW_DEADLINE_S": "-1"}, "slow_deadline_s = -1.0 must be greater than 0"),
        ({"MES_IN_LIST_MAX": "5000"}, "Oracle's limit of 1000"),
        ({"MES_DB_URL": "mysql://u@h/db"}, "supported: oracle+oracledb"),
        ({"MES_DB_URL": "not a url"}, "db_url is not a SQLAlchemy URL"),
        ({"MES_SHIFT_DAY_START": "25:00"}, "must be HH:MM"),
        ({"MES_REDIS_URL": "localhost:6379"}, "redis_url"),
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
