"""core.trace._layout: generations, layered positions and the drawn part, by hand."""

from __future__ import annotations

import pandas as pd

from core.trace._layout import drawn_part, focus_matches, generations, layered_positions

# W (wafer) -> A, B (split); A + B -> M (merge); M -> S (serial); X alone
NODES = pd.DataFrame({
    "containerid": ["W", "A", "B", "M", "S", "X"],
    "containername": ["w1", "a1", "b1", "m1", "s1", "x1"],
    "kind": ["WAFER", "GA", "GA", "GC", "SERIAL", "LOT"],
    "depth": [0, 1, 1, 2, 3, 0],
})
EDGES = pd.DataFrame({"parent_id": ["W", "W", "A", "B", "M"],
                      "child_id": ["A", "B", "M", "M", "S"],
                      "edge_kind": ["split", "split", "merge", "merge", "split"]})


def test_generation_is_the_longest_path_from_a_root() -> None:
    extra = pd.concat([EDGES, pd.DataFrame({"parent_id": ["W"], "child_id": ["S"],
                                            "edge_kind": ["split"]})])
    assert generations(list(NODES["containerid"]), extra) == {
        "W": 0, "A": 1, "B": 1, "M": 2, "S": 3, "X": 0}


def test_layers_are_centred_and_ordered_by_kind_then_name() -> None:
    pos = layered_positions(NODES, EDGES)
    # layer 0: W (WAFER) and X (LOT), no placed neighbours: by kind "LOT" < "WAFER"
    assert pos["X"] == (0.0, -0.5) and pos["W"] == (0.0, 0.5)
    assert pos["A"] == (1.0, -0.5) and pos["B"] == (1.0, 0.5)
    assert pos["M"] == (2.0, 0.0) and pos["S"] == (3.0, 0.0)


def test_a_big_graph_draws_the_focus_neighbourhood_or_the_shallowest() -> None:
    shown, edges = drawn_part(NODES, EDGES, set(), 10)
    assert len(shown) == 6 and len(edges) == 5
    shown, edges = drawn_part(NODES, EDGES, set(), 2)
    assert list(shown["containerid"]) == ["W", "A"]
    assert list(zip(edges["parent_id"], edges["child_id"], strict=True)) == [("W", "A")]
    shown, _ = drawn_part(NODES, EDGES, {"S"}, 5)  # three steps up reach the wafer
    assert list(shown["containerid"]) == ["W", "A", "B", "M", "S"]
    shown, edges = drawn_part(NODES, EDGES, {"X"}, 5)  # X has no relatives
    assert list(shown["containerid"]) == ["X"] and edges.empty


def test_focus_matches_names_exactly_then_by_part() -> None:
    assert list(focus_matches(NODES, "A")["containerid"]) == ["A"]
    assert list(focus_matches(NODES, "1")["containerid"]) == list(NODES["containerid"])
    assert focus_matches(NODES, "zz").empty


def test_a_selection_covers_its_nodes_and_every_sub_lot_below_them_cycle_safe() -> None:
    from core.trace import with_descendants

    assert with_descendants(EDGES, ["A"]) == ["A", "M", "S"]
    assert with_descendants(EDGES, ["W"]) == ["A", "B", "M", "S", "W"]
    assert with_descendants(EDGES, ["X", "S"]) == ["S", "X"]  # leaves: themselves
    looped = pd.concat([EDGES, pd.DataFrame({"parent_id": ["S"], "child_id": ["B"],
                                             "edge_kind": ["split"]})])
    assert with_descendants(looped, ["M"]) == ["B", "M", "S"]  # S -> B -> M: no loop
