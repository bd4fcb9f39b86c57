"""The Trace page's figures (dashboard.widgets.trace_figures) by hand: a legend entry for
every colour and dash drawn, the typed serial number on the graph whole, labels that fit
between generations and inside the x range, and a timeline with station-group rows in
flow order whose bars stay visible at the range's scale."""

from __future__ import annotations

import pandas as pd

from core.trace import layered_positions
from dashboard.widgets.trace_figures import (
    _CHAR_PX,
    _PLOT_PX,
    lineage_figure,
    timeline_figure,
)

LONG = "GA26091010-A00-002-02C-01-01-01"
NODES = pd.DataFrame({
    "containerid": ["W", "A", "B", "S"] + [f"C{i}" for i in range(14)],
    "containername": ["W26A1", "GA26091010-A00-001", LONG, "GA26091010-A00-001-M"]
    + [f"{LONG}-{i:02d}" for i in range(14)],
    "kind": ["WAFER", "GA", "GC", "SERIAL"] + ["GC"] * 14,
    "depth": list(range(18)),
    "is_seed": [False, False, False, True] + [False] * 14,
    "finishedname": [None, None, None, "S2610A00001"] + [None] * 14,
})
EDGES = pd.DataFrame({
    "parent_id": ["W", "A", "B"] + ["B"] + [f"C{i}" for i in range(13)],
    "child_id": ["A", "B", "S"] + ["C0"] + [f"C{i + 1}" for i in range(13)],
    "edge_kind": ["wafer", "split", "merge"] + ["split"] * 14,
})


def _names(fig) -> set[str]:
    return {t.name for t in fig.data if t.showlegend is not False and t.name}


def test_the_lineage_graph_has_a_legend_for_every_colour_and_the_serial_whole() -> None:
    pos = layered_positions(NODES, EDGES)
    fig = lineage_figure(NODES, EDGES, pos, selected=["A"], focus=["B"])
    assert {"Wafer LOT", "GA LOT", "GC LOT", "Serial number", "Split", "Merge",
            "Wafer origin", "Seed (large)", "Selected", "Focused"} <= _names(fig)
    texts = [t for tr in fig.data if tr.text for t in tr.text]
    assert "<b>S2610A00001</b>" in texts  # the serial typed, never shortened
    # 17 generations: long names are shortened to their end, and fit between generations
    lo, hi = fig.layout.xaxis.range
    xs = [x for x, _y in pos.values()]
    per_gen = _PLOT_PX / (max(xs) - min(xs) + 1.2)
    assert len("S2610A00001") * _CHAR_PX > per_gen  # the serial would have been cut
    plain = [t.replace("<b>", "").replace("</b>", "") for t in texts]
    assert any(t.startswith("…") for t in plain)
    assert all(len(t) * _CHAR_PX <= per_gen for t in plain if t.startswith("…"))
    assert "S2610A00001" in plain
    # the outer labels stay inside the x range (half a label either side of a node)
    half = max(len(t) for t in plain) * _CHAR_PX / 2 / per_gen
    assert lo <= min(xs) - half and hi >= max(xs) + half
    # the legend sits above the plot area, not over it
    assert fig.layout.legend.y >= 1 and fig.layout.legend.yanchor == "bottom"


def test_the_timeline_rows_are_station_groups_in_flow_order_with_visible_bars() -> None:
    t0 = pd.Timestamp("2026-11-01 08:00")
    events = pd.DataFrame({
        "containerid": ["A", "A", "A", "B"],
        "containername": ["LOT-A", "LOT-A", "LOT-A", "LOT-B"],
        "event": ["history", "material", "hold", "history"],
        "station_group": ["焊接_DB", "焊接_DB", None, "切割"],
        "group_seq": [1, 1, None, 0],
        "start": [t0, t0, t0 + pd.Timedelta(days=1), t0 + pd.Timedelta(days=30)],
        "end": [t0, t0, t0 + pd.Timedelta(days=2), t0 + pd.Timedelta(days=30, hours=1)],
        "step": ["DB", "DB", None, "SAW"], "machine": ["DB-1", "DB-1", None, "SAW-1"],
        "detail": [None, "EPOXY · E1", "YieldLimit", None], "open": [False] * 4,
    })
    fig = timeline_figure(events, {"A": "LOT-A", "B": "LOT-B"}, no_group="(none)")
    assert list(fig.layout.yaxis.ticktext) == ["切割", "焊接_DB", "(none)"]
    assert fig.layout.yaxis.title.text == "Station group"
    assert fig.layout.xaxis.title.text == "Time"
    assert {"LOT-A", "LOT-B", "Material consumed", "Hold → Release"} <= _names(fig)
    bar = next(t for t in fig.data if t.name == "LOT-A")
    start, end = pd.Timestamp(bar.x[0]), pd.Timestamp(bar.x[1])
    assert end - start >= pd.Timedelta(days=30) * 0.004  # a zero-length stay is visible


def test_a_column_is_registered_once_and_never_as_a_measure(monkeypatch) -> None:
    """One home per label: a second registration of a name, or a registration of a
    glossary measure (whose label and unit are the glossary's), fails the import."""
    import pytest

    from core import labels

    monkeypatch.setattr(labels, "_COLUMNS", dict(labels._COLUMNS))
    with pytest.raises(ValueError, match="registered twice"):
        labels._c("station_group", "Station group (again)")
    assert labels.label("station_group") == "Station group"
    with pytest.raises(ValueError, match=r"measure of core/glossary\.py"):
        labels._c("share_pct", "Share %", "percent")
