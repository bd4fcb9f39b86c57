"""The CLI's and the settings' share of issue 17: each setting's doc is a catalog message
shown in the reader's language (`mesdash config`, the System page) while the README's
table stays English; the human-readable text of the commands follows --lang while their
JSON keys never change.

Why: the settings docs live in core/config.py's declarations (not in a ``_()`` call), so
they reach the catalog through core.i18n.extract; these tests catch a doc that does not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from core import export, i18n
from core.cli import main
from core.config import SETTINGS_DOC
from tests.test_app_pages import tiny_db  # noqa: F401 (fixture)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for key in ("MES_LANGUAGE", "MES_CSV_HEADERS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MES_SECRETS_FILE", str(tmp_path / "none.toml"))
    yield main
    i18n.set_language("en")
    export.use_raw_headers(False)


def _zh(doc: str) -> str:
    return i18n.translations("zh-TW").gettext(doc)


def test_every_setting_doc_has_a_zh_tw_translation_that_keeps_the_names() -> None:
    for name, (doc, _default) in SETTINGS_DOC.items():
        zh = _zh(doc)
        assert zh != doc, name
        for word in ("db_url", "redis_url", "slow_workers", "job_backend = rq",
                     "cache_max_ids", "live_recent_s", "reject_cache_entries",
                     "`mesdash worker`", "--lang", "--raw-headers", "114K", "ms"):
            if word in doc:
                assert word in zh, (name, word)


def test_config_text_follows_lang_and_markdown_stays_english(
        cli, capsys: pytest.CaptureFixture[str]) -> None:
    doc = SETTINGS_DOC["slow_permits"][0]
    assert cli(["config", "--lang", "zh-TW"]) == 0
    out = capsys.readouterr().out
    assert f"# {_zh(doc)}\n" in out and doc not in out
    assert "slow_permits = " in out
    assert cli(["config", "--lang", "en"]) == 0
    assert f"# {doc}\n" in capsys.readouterr().out
    assert cli(["config", "--markdown", "--lang", "zh-TW"]) == 0
    markdown = capsys.readouterr().out
    assert doc in markdown and _zh(doc) not in markdown


# --- the commands' text follows --lang, their JSON keys never change ----------------------
WINDOW = ["--start", "2026-09-01", "--end", "2026-11-20"]
COMMANDS: dict[str, tuple[list[str], str, str]] = {
    # command: (arguments, a zh-TW text it prints, the same text in English)
    "holds": (["holds"], "來源       即時快照", "source     live snapshot"),
    "hold-history": (["hold-history", "--start", "2026-11-01", "--end", "2026-11-20"],
                     "時間粒度：班別日", "per shift day"),
    "rejects": (["rejects", "--start", "2026-09-01", "--end", "2026-11-19", "--by", "machine"],
                "機台 Pareto，依扣帳報廢量", "Machine pareto by charged scrap"),
    "trace": (["trace", "--lot", "GA2609100*", "--direction", "forward"],
              "血緣（正向追溯）", "lineage (forward)"),
    "defects": (["defects", "--station", "TMTT", *WINDOW, "--top", "2"],
                "偵測站 TMTT", "Detection station TMTT"),
    "contain": (["contain", "--machine", "DB-003", *WINDOW], "嫌疑因子  機台 DB-003",
                "suspect  machine DB-003"),
    "db check": (["db", "check"], "可連線", "reachable"),
    "glossary": (["glossary", "--page", "holds"], "ON HOLD LOT (即時) [hold_lots_live]",
                 "Lots on hold (live snapshot) [hold_lots_live]"),
}


def _keys(value: Any, path: str = "") -> set[str]:
    """Every key path of a JSON value (lists: the keys of their items)."""
    if isinstance(value, dict):
        return set().union(*({f"{path}.{k}"} | _keys(v, f"{path}.{k}")
                             for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(set(), *(_keys(v, f"{path}[]") for v in value))
    return set()


@pytest.fixture
def on_demo(cli, monkeypatch: pytest.MonkeyPatch, tiny_db: Path, tmp_path: Path):  # noqa: F811
    for key in [k for k in os.environ if k.startswith("MES_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MES_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MES_DB_URL", f"duckdb:///{tiny_db}")
    monkeypatch.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    return cli


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_text_follows_lang_and_json_keys_do_not(
        on_demo, capsys: pytest.CaptureFixture[str], name: str) -> None:
    args, zh, en = COMMANDS[name]
    assert on_demo(["--lang", "zh-TW", *args]) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert zh in text and en not in text, text[:600]
    assert on_demo([*args, "--lang", "en"]) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert en in text and zh not in text, text[:600]
    keys = {}
    for lang in ("en", "zh-TW"):
        assert on_demo(["--lang", lang, *args, "--json"]) == 0, capsys.readouterr().err
        keys[lang] = _keys(json.loads(capsys.readouterr().out))
    assert keys["en"] == keys["zh-TW"] and keys["en"]
