"""WIP hold in 繁體中文 (issue 17): the page shows the factory's words (品質異常, ON HOLD,
Hold Reason, 當站滯留天數, 匯出 CSV) and every dataframe column has a label (its column
config), never a raw warehouse name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app_pages import _app, _assert_clean, _texts, app_env, on_tiny, tiny_db  # noqa: F401

PAGE = "views/wip_hold.py"
RAW = re.compile(r"^[a-z][a-z0-9_]*$")  # how a warehouse or frame column is named


def unlabelled(el: Any) -> list[str]:
    """The dataframe's columns shown without a label, or under their raw name."""
    config = json.loads(el.proto.columns or "{}")
    bad = []
    for name in el.value.columns:
        label = (config.get(f"name:{name}") or config.get(str(name)) or {}).get("label")
        if not label or (label == str(name) and RAW.match(str(name))):
            bad.append(str(name))
    return bad


def page_text(at: AppTest) -> str:
    parts = _texts(at.main) + [t.value for t in at.title] + [s.value for s in at.subheader]
    parts += [m.label for m in at.metric] + [b.label for b in at.button]
    parts += [w.label for kind in ("segmented_control", "multiselect", "selectbox",
                                   "toggle", "number_input", "date_input")
              for w in getattr(at, kind)]
    parts += [o for w in at.segmented_control for o in w.options]
    parts += [b.proto.label for b in at.get("download_button")]
    lines = "\n".join(str(p) for p in parts).splitlines()
    return "\n".join(x for x in lines if not x.startswith("|"))  # the glossary's table aside


def zh(**params: str) -> AppTest:
    at = _app()
    at.query_params["lang"] = "zh-TW"
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    _assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    return at


def test_live_view_in_zh_tw(on_tiny: Path) -> None:  # noqa: F811
    at = zh()
    text = page_text(at)
    assert [t.value for t in at.title] == ["WIP Hold"]
    for word in ("品質異常", "非品質異常", "ON HOLD", "Hold Reason", "當站滯留天數", "匯出 CSV",
                 "清除篩選", "站點群組", "Package"):
        assert word in text, word
    assert "Reset filters" not in text and "Lots on hold" not in text
    assert at.dataframe, "the matrix and the lot table"
    for el in at.dataframe:
        assert not unlabelled(el), unlabelled(el)
    lots = next(el for el in at.dataframe if "lotid" in el.value.columns)
    assert json.loads(lots.proto.columns)["hold_reason"]["label"] == "Hold Reason"
    assert set(lots.value["hold_type"]) <= {"品質異常", "非品質異常"}


def test_history_view_in_zh_tw(
    on_tiny: Path, tmp_path: Path, app_env: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path))
    at = zh(view="history", start="2026-10-01", end="2026-11-21")
    text = page_text(at)
    for word in ("Hold 紀錄", "新增", "Release", "ON HOLD", "Hold 時長", "班別日", "品質異常",
                 "時間粒度", "日", "週", "月"):
        assert word in text, word
    for el in at.dataframe:
        assert not unlabelled(el), unlabelled(el)
