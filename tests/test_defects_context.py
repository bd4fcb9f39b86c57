"""A machine's context (core.defects._context) and the pareto's 'others' apart
(core.pareto): on the hand-built factory through the real job on both backends, the
forward per-machine lots add up to the forward machine pareto; the lot detail's machine
list splits into the machines the exposures hold; 'others' comes apart with its count and
what it adds to the coverage line."""

from __future__ import annotations

import pandas as pd
import pytest

from core.db import Lanes
from core.defects import (
    DefectRequest,
    forward_machine_days,
    forward_machine_lots,
    lot_machines,
    machine_name,
    run_defect_analysis,
)
from core.jobs import JobManager
from core.pareto import others_added, others_count, others_label, split_others
from tests.test_defects_run import factory, run_job  # noqa: F401


@pytest.fixture
def backward(factory: Lanes):  # noqa: F811
    """The backward result with its job's files still there (the manager open)."""
    req = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30")
    manager = JobManager(factory.settings)
    job = manager.submit(req.key(), lambda j: run_defect_analysis(j, factory, req,
                                                                  factory.settings),
                         label="defects")
    assert job.wait(120) and job.state == "done", job.error
    yield job.result.backward
    manager.close()


def test_forward_machine_lots_add_up_to_the_machine_pareto(factory: Lanes) -> None:  # noqa: F811
    req = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30", direction="forward")
    res = run_job(factory, req)
    machines = res.forward["machine"].to_pylist()
    assert machines
    for m in machines:
        lots = forward_machine_lots(res.forward, m["factor"])
        assert int(lots["rejects"].sum()) == m["rejects"], m
        assert int(lots["uncharged"].sum()) == m["uncharged"], m
        assert lots["containerid"].nunique() >= m["lots"]  # entered it, rejected or not
        days = forward_machine_days(lots)
        assert int(days["rejects"].sum()) == int(lots.loc[lots["when"].notna(),
                                                          "rejects"].sum())
        assert (days["rate"].dropna() >= 0).all()
        assert lots["containername"].notna().all()  # named from the lineage
    assert forward_machine_lots(res.forward, "NO-SUCH-MACHINE").empty


def test_the_lot_detail_machines_are_the_exposed_machines(backward) -> None:
    back = backward
    detail = back.lot_detail().to_pylist()
    machines = {r["factor"] for r in back.factors.to_pylist()
                if r["factor_kind"] == "machine"}
    listed = [m for r in detail for m in lot_machines(r["upstream_machines"])]
    assert listed and set(listed) <= machines
    assert lot_machines(None) == [] and lot_machines("") == []
    assert machine_name("焊接_DB / M1") == "M1" and machine_name("M1") == "M1"


def test_a_detection_machine_has_a_timeline(backward) -> None:
    back = backward
    det = [r for r in back.factors.to_pylist() if r["factor_kind"] == "detection_machine"]
    assert det
    lots = back.exposed_lots("detection_machine", det[0]["factor"])
    assert len(lots) == det[0]["lots"] and lots["when"].notna().all()


def test_others_comes_apart_with_its_count_and_what_it_adds() -> None:
    frame = pd.DataFrame({"factor": ["a", "b", others_label(7)], "defects": [5, 3, 40],
                          "cumulative_pct": [10.0, 16.0, 96.0]})
    items, others = split_others(frame, "factor")
    assert list(items["factor"]) == ["a", "b"] and others is not None
    assert others_count(others["factor"]) == 7 and others["defects"] == 40
    assert others_added(frame, "cumulative_pct") == pytest.approx(80.0)
    same, none = split_others(items, "factor")
    assert none is None and list(same["factor"]) == ["a", "b"]
    assert others_count("a") == 0
