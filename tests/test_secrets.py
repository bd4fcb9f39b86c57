"""A URL's secrets never reach a surface: the rule (core.redact) on hand-written URLs, then
every place a URL is shown, on real PostgreSQL (trust authentication ignores the password,
so a URL carrying one in its user part and in ``?password=`` connects) and on a closed
port: ``mesdash db check`` (text and --json), ``mesdash config`` (text and --markdown),
the sidebar and the System page (AppTest), the connection-failure messages and the log
records of a failing connect.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import SECRET_SETTINGS, Settings, SettingsError, load_settings, shown_value
from core.db import DatabaseUnavailable, open_lanes
from core.redact import mask_text, mask_url
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
DB_PW, QUERY_PW, REDIS_PW, REDIS_TOKEN = "Us3rPW77", "S3cretPW", "R3disPW", "T0kenZZ"
SECRETS = (DB_PW, QUERY_PW, REDIS_PW, REDIS_TOKEN)


def _with_secrets(pg_url: str, port: int | None = None) -> str:
    """``pg_url`` (postgresql+psycopg://postgres@127.0.0.1:5432/test) with a password in
    the user part and in the query (and another port)."""
    url = pg_url.replace("://postgres@", f"://postgres:{DB_PW}@")
    if port is not None:
        url = url.replace(":5432/", f":{port}/")
    return f"{url}?password={QUERY_PW}&application_name=x"


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} shown in: {text[:2000]}"


# ---------------------------------------------------------------------------------------------
# the rule
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://scott:tiger@db:5432/mes?password=S3cret&sslmode=require",
     "postgresql+psycopg://scott:***@db:5432/mes?password=***&sslmode=require"),
    ("oracle+oracledb://USER:PASSWORD@dbhost:1521/?service_name=MESDWH",
     "oracle+oracledb://USER:***@dbhost:1521/?service_name=MESDWH"),
    ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
    ("rediss://default:pw@cache:6380/1?ssl_cert_reqs=none&token=abc",
     "rediss://default:***@cache:6380/1?ssl_cert_reqs=none&token=***"),
    ("unix:///run/redis.sock?db=0&password=zz", "unix:///run/redis.sock?db=0&password=***"),
    # names in any case and encoding; pwd, secret, key, api_key...
    ("postgresql://u@h/d?PWD=a&Client_Secret=b&api%5Fkey=c&auth_token=d&keep=e",
     "postgresql://u@h/d?PWD=***&Client_Secret=***&api%5Fkey=***&auth_token=***&keep=e"),
    # an unencoded @ or / in the password: hidden whichever parser reads the URL
    ("postgresql://u:p@ss/w@h/db", "postgresql://u:***@h/db"),
    ("duckdb:////data/factory.duckdb", "duckdb:////data/factory.duckdb"),
    ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),
    ("postgresql://h/db?password=", "postgresql://h/db?password="),
    (None, "(not set)"),
    ("", "(not set)"),
])
def test_mask_url(url: str | None, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_text_masks_urls_and_secret_pairs_in_any_text() -> None:
    text = ("Cannot connect to postgresql://u:pw1@h/db?token=tk9: failed; "
            "conninfo host=h password=pw2 dbname=d, sslpassword='pw3'. Also redis://:pw4@r.")
    assert mask_text(text) == (
        "Cannot connect to postgresql://u:***@h/db?token=***: failed; "
        "conninfo host=h password=*** dbname=d, sslpassword=***. Also redis://:***@r.")
    assert mask_text("slow_permits = 0 must be greater than 0.") == (
        "slow_permits = 0 must be greater than 0.")


def test_secrecy_is_declared_with_the_setting() -> None:
    declared = {f.name for f in fields(Settings) if f.metadata.get("secret")}
    assert declared == set(SECRET_SETTINGS) == {"db_url", "redis_url"}
    url = "redis://:pw@h:1/0?password=x"
    assert shown_value("redis_url", url) == "redis://:***@h:1/0?password=***"
    assert shown_value("schema", "password=x") == "password=x"  # not declared secret
    assert shown_value("db_url", None) is None


def test_settings_error_masks_the_url_it_quotes() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={}, secrets_path="/nonexistent",
                      redis_url=f"http://:{REDIS_PW}@h:1/0?token={REDIS_TOKEN}")
    assert "redis_url" in str(info.value)
    _assert_no_secret(str(info.value))
    _assert_no_secret(" ".join(info.value.problems))


# ---------------------------------------------------------------------------------------------
# connection failures: messages and log records
# ---------------------------------------------------------------------------------------------


def test_failing_connect_message_and_logs_carry_no_secret(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every record of every logger, tracebacks included
    settings = make_settings(_with_secrets(pg_url, port=1),
                             redis_url=f"redis://:{REDIS_PW}@127.0.0.1:1/0?token={REDIS_TOKEN}")
    lanes = open_lanes(settings)
    try:
        with pytest.raises(DatabaseUnavailable) as info:
            lanes.check()
        message = str(info.value)
        assert "Cannot connect" in message and "127.0.0.1:1" in message
        assert "postgres:***@" in message and "password=***" in message
        _assert_no_secret(message)
        logging.getLogger("mesdash.test").error("failed", exc_info=info.value)
        status = lanes.slow.throttle.status()  # Redis on a closed port: the error it gives
        assert status["degraded"]
        _assert_no_secret(status["detail"])
    finally:
        lanes.close()
    assert caplog.records and "Traceback" in caplog.text
    _assert_no_secret(caplog.text)


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------


def mesdash(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    full_env["MES_SECRETS_FILE"] = "/nonexistent"
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=full_env, timeout=120)


def test_cli_db_check_text_and_json_mask_the_url(pg_url: str, demo_pg_schema: str) -> None:
    env = {"MES_DB_URL": _with_secrets(pg_url), "MES_SCHEMA": demo_pg_schema}
    text = mesdash("db", "check", env=env)
    assert text.returncode == 0, text.stderr
    assert "postgres:***@127.0.0.1:5432/test?password=***" in text.stdout
    _assert_no_secret(text.stdout + text.stderr)
    as_json = mesdash("db", "check", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["url"] == report["lanes"]["url"]
    assert report["url"].startswith("postgresql+psycopg://postgres:***@")
    _assert_no_secret(as_json.stdout + as_json.stderr)


def test_cli_db_check_failure_masks_the_url(pg_url: str) -> None:
    for verbose in ((), ("--verbose",)):
        res = mesdash("db", "check", *verbose, env={"MES_DB_URL": _with_secrets(pg_url, 1)})
        assert res.returncode == 3
        assert "Cannot connect" in res.stderr and "password=***" in res.stderr
        _assert_no_secret(res.stdout + res.stderr)


def test_cli_config_text_and_markdown_mask_the_urls(pg_url: str) -> None:
    env = {"MES_DB_URL": _with_secrets(pg_url),
           "MES_REDIS_URL": f"redis://:{REDIS_PW}@127.0.0.1:6379/0?token={REDIS_TOKEN}"}
    text = mesdash("config", env=env)
    assert text.returncode == 0, text.stderr
    assert "redis_url = 'redis://:***@127.0.0.1:6379/0?token=***'" in text.stdout
    assert "db_url = 'postgresql+psycopg://postgres:***@" in text.stdout
    _assert_no_secret(text.stdout + text.stderr)
    markdown = mesdash("config", "--markdown", env=env)
    assert markdown.returncode == 0 and "`MES_DB_URL`" in markdown.stdout
    _assert_no_secret(markdown.stdout + markdown.stderr)


# ---------------------------------------------------------------------------------------------
# the dashboard
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for key in list(os.environ):
        if key.startswith("MES_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MES_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield monkeypatch
    st.cache_resource.clear()
    st.cache_data.clear()


def _shown(at: AppTest) -> str:
    """Every text the run shows: main area and sidebar, every kind of element, tables."""
    out: list[str] = []
    for block in (at.main, at.sidebar):
        for kind in ("markdown", "caption", "warning", "error", "info", "success", "metric",
                     "exception", "code", "text"):
            out += [str(getattr(e, "value", e)) for e in getattr(block, kind)]
    for frame in at.dataframe:
        out.append(frame.value.to_csv())
    return "\n".join(out)


def test_sidebar_and_system_page_mask_every_secret(
    app_env: pytest.MonkeyPatch, pg_url: str, demo_pg_schema: str
) -> None:
    app_env.setenv("MES_DB_URL", _with_secrets(pg_url))
    app_env.setenv("MES_SCHEMA", demo_pg_schema)
    # Redis answers, but not to this password: the throttle's detail quotes Redis's error
    app_env.setenv("MES_REDIS_URL", f"redis://:{REDIS_PW}@127.0.0.1:6379/0?token={REDIS_TOKEN}")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "postgres:***@127.0.0.1:5432/test?password=***" in sidebar
    _assert_no_secret(_shown(at))
    at.switch_page("views/system.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    shown = dict(zip(table["setting"], table["setting_value"], strict=True))
    assert shown["redis_url"] == "redis://:***@127.0.0.1:6379/0?token=***"
    assert shown["db_url"].endswith("@127.0.0.1:5432/test?password=***&application_name=x")
    text = _shown(at)
    assert "postgres:***@127.0.0.1:5432/test?password=***" in text
    _assert_no_secret(text)


def test_unreachable_database_page_masks_every_secret(
    app_env: pytest.MonkeyPatch, pg_url: str
) -> None:
    app_env.setenv("MES_DB_URL", _with_secrets(pg_url, port=1))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Cannot reach the MES database" in errors[0]
    assert "password=***" in errors[0]
    _assert_no_secret(_shown(at))
    at.switch_page("views/system.py").run()
    assert [t.value for t in at.title] == ["System"]
    _assert_no_secret(_shown(at))
