"""The committed .streamlit/config.toml, read as Streamlit 1.67 reads it: an exception
that escapes the app's guard shows its type, never a traceback; the toolbar has no
Deploy button (developer options hidden)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.elements.exception import _error_detail_visibility

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


@pytest.fixture
def client() -> Iterator[dict[str, object]]:
    values = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["client"]
    before = {k: config.get_option(f"client.{k}") for k in values}
    for key, value in values.items():
        config.set_option(f"client.{key}", value)
    yield values
    for key, value in before.items():
        config.set_option(f"client.{key}", value)


def test_error_details_show_the_type_and_never_a_traceback(client: dict[str, object]) -> None:
    assert client["showErrorDetails"] == "type"
    shown = _error_detail_visibility(apply_show_error_details=True)
    assert shown.show_type and not shown.show_trace
    # In 1.67 no value shows the message without the traceback: the app's guard
    # (dashboard/state.py guarded) shows the message instead.
    for value in ("full", "stacktrace"):
        config.set_option("client.showErrorDetails", value)
        assert _error_detail_visibility(apply_show_error_details=True).show_trace


def test_toolbar_hides_the_developer_options(client: dict[str, object]) -> None:
    assert client["toolbarMode"] == "viewer"
    assert config.get_option("client.toolbarMode") == "viewer"
    described = config._config_options_template["client.toolbarMode"].description or ""
    assert '"viewer"' in described and "deploy button" in described
