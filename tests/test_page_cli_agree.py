"""The pages agree with the CLI (issue 13's "done when"): the same link and the same
command on the tiny demo show the same KPIs, read from the page's metric cards (AppTest)
and from `mesdash ... --json` (a subprocess on the same file)."""

from __future__ import annotations

import json
from pathlib import Path

from core import glossary
from tests.test_app_pages import app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_cli import mesdash
from tests.test_defects_page import ran as defects_ran
from tests.test_holds_page import _page as holds_page


def _num(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def _metric(at, key: str) -> str:
    label = glossary.label(key)
    return next(m.value for m in at.metric if m.label == label)


def test_defect_trace_page_and_cli_agree(on_tiny: Path, tmp_path: Path) -> None:  # noqa: F811
    at = defects_ran({"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20",
                      "run": "1"})
    res = mesdash("defects", "--station", "TMTT", "--start", "2026-09-01", "--end",
                  "2026-11-20", "--json", env={"MES_DB_URL": f"duckdb:///{on_tiny}",
                                               "MES_SPOOL_DIR": str(tmp_path / "sp")})
    assert res.returncode == 0, res.stderr
    k = json.loads(res.stdout)["kpis"]
    for key in ("detection_lots", "defective_lots", "detection_charged",
                "detection_uncharged", "detection_defects"):
        assert _num(_metric(at, key)) == k[key], key
    assert _num(_metric(at, "detection_defect_rate_pct")) == round(  # KPI cards: 1 place
        k["detection_defect_rate_pct"], 1)


def test_wip_hold_page_and_cli_agree(on_tiny: Path) -> None:  # noqa: F811
    at = holds_page()
    res = mesdash("holds", "--json", env={"MES_DB_URL": f"duckdb:///{on_tiny}"})
    assert res.returncode == 0, res.stderr
    k = json.loads(res.stdout)["kpis"]
    assert _num(_metric(at, "hold_lots_live")) == k["lots"]
    assert _num(_metric(at, "hold_qty_live")) == k["qty"]


def test_reject_history_page_and_cli_agree(on_tiny: Path, tmp_path: Path) -> None:  # noqa: F811
    from tests.test_rejects_page import _open

    at = _open({"run": "1", "start": "2026-10-21", "end": "2026-11-19"})
    res = mesdash("rejects", "--start", "2026-10-21", "--end", "2026-11-19", "--json",
                  env={"MES_DB_URL": f"duckdb:///{on_tiny}",
                       "MES_SPOOL_DIR": str(tmp_path / "sp")})
    assert res.returncode == 0, res.stderr
    k = json.loads(res.stdout)["kpis"]
    for key in ("charged", "defect", "lots", "workorders"):
        shown = next(m for m in at.metric if m.label == glossary.label(key))
        exact = shown.help or shown.value  # large numbers show compact, exact in the help
        assert str(f"{k[key]:,}") in exact or _num(shown.value) == k[key], (key, shown)
    assert _num(_metric(at, "reject_rate_pct")) == round(k["reject_rate_pct"], 1)  # KPI: 1 place
