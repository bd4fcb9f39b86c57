"""The CLI's last English words and raw names in zh-TW (issue 17): the defect paretos'
headings and rows, the hold-history trend's columns, status words (completeness, hold
type, duration kind) and argparse's own usage, headings and usage errors.

Why: tests/test_i18n_cli.py checks one sentence per command; these are the parts that
stayed raw beside it (``machine:``, ``rate=0.0145``, ``period  new  future``, ``Hold
類型 all``, ``history: 610 rows, complete``, ``usage: ... error: ... required``).
"""

from __future__ import annotations

import json
import re

import pytest

from core.defects import FACTOR_KINDS
from tests.test_app_pages import tiny_db  # noqa: F401 (fixture)
from tests.test_i18n_cli import WINDOW, cli, on_demo  # noqa: F401 (fixtures)

DEFECTS = ["defects", "--station", "TMTT", *WINDOW, "--top", "2", "--local"]
HISTORY = ["hold-history", "--start", "2026-11-01", "--end", "2026-11-20", "--grain", "week"]


def _run(main, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_defect_paretos_have_kind_names_and_labelled_rows(on_demo, capsys) -> None:  # noqa: F811
    zh = _run(on_demo, capsys, "--lang", "zh-TW", *DEFECTS)
    for heading in ("機台:", "物料批號:", "Wafer LOT:", "偵測機台:", "報廢原因:"):
        assert f"\n{heading}\n" in zh, heading
    for raw in ("machine", "material", "wafer", "detection_machine", "reason"):
        assert f"\n{raw}:\n" not in zh, raw
    rows = [line for line in zh.splitlines() if line.startswith("  因子 ")]
    assert rows and not any("=" in r for r in rows), rows[:2]
    assert all("倍數 (Lift)" in r and "經過批次不良率 (%)" in r for r in rows)
    assert re.search(r"經過批次不良率 \(%\) \d+\.\d\d%", rows[0])  # rate in percent
    assert any("  因子 其他（" in r for r in rows)  # the folded rest, in words
    en = _run(on_demo, capsys, "--lang", "en", *DEFECTS)
    assert "\nMachine:\n" in en and "\nDetection machine:\n" in en and "factor=" not in en
    out = json.loads(_run(on_demo, capsys, "--lang", "zh-TW", *DEFECTS, "--json"))
    assert set(out["paretos"]) == {*FACTOR_KINDS, "reason"}  # JSON keeps the raw keys
    assert "rate" in out["paretos"]["machine"][0]


def _block(text: str, title: str) -> list[str]:
    """The lines of the table under ``title`` (up to the next blank line)."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_hold_history_columns_and_words_are_labelled(on_demo, capsys) -> None:  # noqa: F811
    zh = _run(on_demo, capsys, "--lang", "zh-TW", *HISTORY)
    header = _block(zh, "時間粒度：週")[0].split()
    for raw in ("period", "new", "future", "partial", "count", "holds", "pct", "kind"):
        assert raw not in header, (raw, header)
    assert "Future" in header and "新增" in header
    assert "Hold 類型 全部" in zh and "Hold 類型 all" not in zh
    pareto = _block(zh, "Hold Reason Pareto：新增（筆數與數量）")[0].split()
    assert "count" not in pareto and "Hold" in pareto
    buckets = "\n".join(_block(zh, "Hold 時長分組"))
    assert "尚未 Release" in buckets and " open" not in buckets and "released" not in buckets
    en = _run(on_demo, capsys, "--lang", "en", *HISTORY)
    assert "hold type All" in en and "Still open" in en
    out = json.loads(_run(on_demo, capsys, "--lang", "zh-TW", *HISTORY, "--json"))
    assert out["hold_type"] == "all" and {"period", "new", "future"} <= set(out["trend"][0])
    assert {r["kind"] for r in out["duration_buckets"]} == {"released", "open"}


def test_holds_hold_type_share_and_total_in_words(on_demo, capsys) -> None:  # noqa: F811
    zh = _run(on_demo, capsys, "--lang", "zh-TW", "holds", "--type", "quality")
    assert "Hold 類型  品質異常" in zh and "quality" not in zh
    assert "占比 (%)" in zh and " pct " not in zh
    assert "\n合計 " in zh and "Total" not in zh


def test_trace_statuses_and_seed_kinds_in_words(on_demo, capsys) -> None:  # noqa: F811
    args = ["trace", "--lot", "GA2609100*", "--direction", "forward", "--local"]
    zh = _run(on_demo, capsys, "--lang", "zh-TW", *args)
    assert "生產履歷：" in zh and "，完整" in zh and "complete" not in zh
    assert zh.startswith("LOT ID：") and "lot:" not in zh and "history:" not in zh
    en = _run(on_demo, capsys, "--lang", "en", *args)
    assert "history: " in en and "rows, complete" in en
    out = json.loads(_run(on_demo, capsys, "--lang", "zh-TW", *args, "--json"))
    assert out["domains"]["history"]["completeness"]["status"] == "complete"


@pytest.mark.parametrize(("args", "zh_words", "en_words"), [
    ([], ("用法：mesdash", "缺少必要的參數：COMMAND"),
     ("usage: mesdash", "the following arguments are required: COMMAND")),
    (["defects", "--top", "0"], ("參數 --top：0 必須大於或等於 1", "用法：mesdash defects"),
     ("argument --top: 0 must be 1 or more",)),
    (["holds", "--bogus"], ("無法辨識的參數：--bogus",), ("unrecognized arguments: --bogus",)),
    (["trace", "--direction", "up"], ("參數 --direction：無效的選擇：'up'",),
     ("argument --direction: invalid choice: 'up'",)),
])
def test_usage_errors_follow_lang(cli, capsys, args, zh_words, en_words) -> None:  # noqa: F811
    assert cli(["--lang", "zh-TW", *args]) == 1
    err = capsys.readouterr().err
    assert all(w in err for w in zh_words) and "usage:" not in err, err
    assert cli([*args, "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert all(w in err for w in en_words) and "用法" not in err, err


def test_help_headings_follow_lang_and_the_setting(cli, capsys, monkeypatch) -> None:  # noqa: F811
    assert cli(["trace", "--help", "--lang", "zh-TW"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：mesdash trace") and "\n選項:\n" in out
    assert "顯示此說明後結束" in out and "範例：" in out and "options:" not in out
    monkeypatch.setenv("MES_LANGUAGE", "zh-TW")  # the setting, without --lang
    assert cli(["trace", "--bogus"]) == 1
    assert "無法辨識的參數：--bogus\n用法：mesdash" in capsys.readouterr().err
    assert cli(["trace", "--help", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mesdash trace") and "\noptions:\n" in out
    assert "example:" in out


def _command_paths() -> list[tuple[str, ...]]:
    """Every command of ``mesdash`` (and ``mesdash`` itself), as argument prefixes."""
    import argparse

    from core.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]):
        yield path
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, (*path, name))

    return list(walk(build_parser(), ()))


def _flat(text: str) -> str:
    """Help text with argparse's line wrapping and column padding undone."""
    return " ".join(text.split())


GLOBAL_FLAGS = {"-h,", "-v,", "--lang", "--raw-headers"}


def _own_entries(text: str, chinese: bool = False) -> set[str]:
    """The command's own options and subcommands in a help text (not the flags every
    command has, not the example lines); with ``chinese``, only those whose help (on
    their line or the next, indented one) has Chinese characters."""
    lines = text.splitlines()
    found = set()
    for i, line in enumerate(lines):
        m = re.match(r"^ {2,4}(-[-\w]+|[a-z][-\w]*)\b", line)
        if not m or m.group(1) in GLOBAL_FLAGS | {"-h", "-v", "mesdash"}:
            continue
        help_text = line + (lines[i + 1] if i + 1 < len(lines)
                            and lines[i + 1].startswith(" " * 10) else "")
        if not chinese or re.search(r"[\u4e00-\u9fff]", help_text):
            found.add(m.group(1))
    return found


def _catalog_sentences() -> list[str]:
    """The catalog's English sentences (two words or more) that have a zh-TW translation,
    as argparse prints them (``%%`` is ``%``)."""
    from babel.messages.pofile import read_po

    from core.i18n import _po_path

    with _po_path("zh-TW").open("rb") as f:
        catalog = read_po(f)
    return [_flat(m.id.replace("%%", "%")) for m in catalog
            if isinstance(m.id, str) and " " in m.id.strip() and m.string and m.string != m.id]


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "mesdash")
def test_command_help_follows_lang(cli, capsys, path: tuple[str, ...]) -> None:  # noqa: F811
    """``mesdash <cmd> --help --lang zh-TW``: the options' help in Chinese, none of the
    catalog's English sentences that the English help shows."""
    assert cli([*path, "--help", "--lang", "zh-TW"]) == 0
    zh = capsys.readouterr().out
    assert cli([*path, "--help", "--lang", "en"]) == 0
    en = capsys.readouterr().out
    own = _own_entries(en)
    assert own, en
    assert _own_entries(zh, chinese=True) & own, zh  # one of its options in Chinese
    shown = [s for s in _catalog_sentences() if s in _flat(en)]
    assert shown, en  # the English help does show catalog sentences
    left = [s for s in shown if s in _flat(zh)]
    assert not left, left
