"""Reject history in 繁體中文 (issue 17): 扣帳報廢量, 不扣帳報廢量, 總報廢量, 扣帳占比,
報廢原因, 時間粒度 日/週/月, 匯出 CSV; short toggle labels with their help; every dataframe
column labelled (column config), never a raw name; the CSV headers in Chinese."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core import i18n
from core.rejects import DETAIL_COLUMNS, Filters, Policy
from tests.test_app_pages import app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_holds_zh import page_text, unlabelled
from tests.test_rejects_page import _open


def test_reject_history_in_zh_tw(on_tiny: Path) -> None:  # noqa: F811
    at = _open({"lang": "zh-TW", "run": "1", "start": "2026-09-01", "end": "2026-11-19"})
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == ["報廢紀錄"]
    text = page_text(at)
    for word in ("扣帳報廢量", "不扣帳報廢量", "總報廢量", "扣帳占比", "報廢原因", "時間粒度",
                 "日", "週", "月", "匯出 CSV", "受影響 LOT", "受影響工單", "清除篩選", "Pareto"):
        assert word in text, word
    assert {t.label for t in at.toggle} >= {"排除清單", "非 NNN_", "PB_ 二極體"}
    assert all(t.help for t in at.toggle if t.key.startswith("rj_include_"))
    assert at.dataframe
    for el in at.dataframe:
        assert not unlabelled(el), unlabelled(el)


def test_csv_headers_follow_the_language(on_tiny: Path) -> None:  # noqa: F811
    from core.rejects import Slicer, load_range
    from dashboard import state

    lanes = state.get_lanes(state.get_settings())
    slicer = Slicer(load_range(lanes, date(2026, 9, 1), date(2026, 11, 19)).table)
    i18n.set_language("zh-TW")
    try:
        head = slicer.csv_bytes(Policy(), Filters()).decode("utf-8-sig").splitlines()[0]
    finally:
        i18n.set_language("en")
    assert head.split(",")[1:3] == ["LOT ID", "WORKORDER"]
    assert "扣帳報廢量 (pcs)" in head.split(",") and "報廢原因" in head.split(",")
    raw = slicer.csv_bytes(Policy(), Filters(), raw_headers=True).decode("utf-8-sig")
    assert raw.splitlines()[0].split(",") == list(DETAIL_COLUMNS)
