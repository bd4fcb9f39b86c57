"""The CLI's and the settings' share of issue 17: each setting's doc is a catalog message
shown in the reader's language (`mesdash config`, the System page) while the README's
table stays English; the human-readable text of the commands follows --lang while their
JSON keys never change.

Why: the settings docs live in core/config.py's declarations (not in a ``_()`` call), so
they reach the catalog through core.i18n.extract; these tests catch a doc that does not.
"""

from __future__ import annotations

from pathlib import Path

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
