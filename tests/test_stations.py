"""The station-group mapping: read from the view on both backends, overridable by CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

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
