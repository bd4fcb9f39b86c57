"""The station-group mapping: read from the view on both backends, overridable by CSV."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from core.config import SettingsError
from core.db import Lanes
from core.stations import StationMapError, build_station_map, load_station_map


def test_map_from_the_demo_view_is_ordered_like_the_flow(lanes: Lanes) -> None:
    m = load_station_map(lanes, lanes.settings)
    groups = [g for g, _ in m.groups()]
    assert groups.index("切割") < groups.index("焊接_DB") < groups.index("TMTT")
    assert m.group_of("TMTT") == "TMTT" and "TMTT" in m.workcenters_of("TMTT")
    assert m.seq_of_group("TMTT") == 11 and m.group_of("nope") is None


def test_both_backends_agree(duckdb_lanes: Lanes, pg_lanes: Lanes) -> None:
    a = load_station_map(duckdb_lanes, duckdb_lanes.settings).table
    b = load_station_map(pg_lanes, pg_lanes.settings).table
    assert a.equals(b)


def test_override_file_replaces_and_adds(duckdb_lanes: Lanes, tmp_path: Path) -> None:
    f = tmp_path / "map.csv"
    f.write_text("work_center,work_center_group,workcentersequence_group\n"
                 "TMTT,TMTT_NEW,12\nNEW_WC,NEWGROUP,3\n", encoding="utf-8")
    from core.stations import station_map_query

    m = build_station_map(duckdb_lanes.realtime.fetch_arrow(station_map_query()), str(f))
    assert m.group_of("TMTT") == "TMTT_NEW" and m.seq_of_group("NEWGROUP") == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(StationMapError, match="needs the columns"):
        build_station_map(duckdb_lanes.realtime.fetch_arrow(station_map_query()), str(bad))
    # a settings problem: the CLI's exit 2 (SettingsError), not a crash or a bad-input 1
    with pytest.raises(SettingsError, match="workcenter_map_file"):
        build_station_map(duckdb_lanes.realtime.fetch_arrow(station_map_query()),
                          str(tmp_path / "missing.csv"))


def test_steps_follow_their_work_center_override(duckdb_lanes: Lanes, tmp_path: Path) -> None:
    """A step's group is the view's, unless the override file remaps the step's work
    center; a step missing from the view falls back to the row's work center."""
    from core.stations import spec_map_query, station_map_query

    view = duckdb_lanes.realtime.fetch_arrow(station_map_query())
    specs = duckdb_lanes.realtime.fetch_arrow(spec_map_query())
    plain = build_station_map(view, "", specs)
    tmtt_step = next(r["spec"] for r in plain.specs.to_pylist() if r["work_center"] == "TMTT")
    other = next(r for r in plain.specs.to_pylist() if r["station_group"] != "TMTT")
    assert plain.group_of_step(tmtt_step, None) == "TMTT"
    assert plain.group_of_step("no such step", "TMTT") == "TMTT"
    assert plain.group_of_step("no such step", "no such wc") is None
    f = tmp_path / "map.csv"
    f.write_text("work_center,work_center_group,workcentersequence_group\n"
                 "TMTT,TMTT_NEW,12\n", encoding="utf-8")
    m = build_station_map(view, str(f), specs)
    assert m.group_of_step(tmtt_step, "anything") == "TMTT_NEW"
    assert m.group_of_step(other["spec"], None) == other["station_group"]
    assert m.group_of_step("no such step", "TMTT") == "TMTT_NEW"
    got = m.step_groups(pa.array([tmtt_step, "no such step", None]),
                        pa.array([None, "TMTT", None], pa.string()))
    assert got.to_pylist() == ["TMTT_NEW", "TMTT_NEW", None]
    assert load_station_map(duckdb_lanes, duckdb_lanes.settings).specs.num_rows == specs.num_rows
