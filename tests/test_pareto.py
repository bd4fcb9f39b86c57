"""The pareto rules of core.pareto on hand-computed answers: order and ties, share and
cumulative %, the top-80 % view (the item that crosses 80 % is kept, an item reaching
exactly 80 % too), all-zero and one-item paretos, coverage against a larger total, each
measure's cumulative in its own order, and 'others' folding."""

from __future__ import annotations

import pandas as pd
import pytest

from core import pareto


def _frame(items: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"item": list(items), "n": list(items.values())})


def test_cumulative_shares_and_running_total() -> None:
    share, cum = pareto.cumulative([50, 30, 15, 5])
    assert share.tolist() == [50.0, 30.0, 15.0, 5.0]
    assert cum.tolist() == [50.0, 80.0, 95.0, 100.0]
    share, cum = pareto.cumulative([1, 1, 1], decimals=2)
    assert share.tolist() == [33.33, 33.33, 33.33]
    assert cum.tolist() == [33.33, 66.67, 100.0]
    # exactly 80 % is exactly 80.0: 24 + 21 + 11 = 56 of 70 (a running sum of the shares
    # gave 79.99999999999999, and the top-80 view then kept the next item too)
    assert pareto.cumulative([24, 21, 11, 8, 6])[1][2] == 80.0
    df = pareto.pareto(_frame({"a": 24, "b": 21, "c": 11, "d": 8, "e": 6}), "n", "item")
    assert pareto.top80(df)["item"].tolist() == ["a", "b", "c"]
    assert pareto.cumulative([7, 3, 2, 1, 1, 1])[1][-1] == 100.0


def test_pareto_orders_descending_ties_by_label_and_top80_keeps_the_crossing_item() -> None:
    # 45, 20, 19, 12, 8 of 104: 43.27, 62.50, 80.77 (crosses 80: kept), 92.31, 100
    df = pareto.pareto(_frame({"e": 8, "b": 20, "a": 45, "d": 12, "c": 19}), "n", "item")
    assert df["item"].tolist() == ["a", "b", "c", "d", "e"]
    assert df["share_pct"].round(2).tolist() == [43.27, 19.23, 18.27, 11.54, 7.69]
    assert df["cum_pct"].round(2).tolist() == [43.27, 62.5, 80.77, 92.31, 100.0]
    assert pareto.top80(df)["item"].tolist() == ["a", "b", "c"]
    assert df.index.tolist() == [0, 1, 2, 3, 4]


def test_ties_and_an_item_reaching_exactly_80() -> None:
    # b 4, then the tied a, c, d (2 each) by name: 40, 60, 80 (reaches 80: kept), 100
    df = pareto.pareto(_frame({"c": 2, "a": 2, "b": 4, "d": 2}), "n", "item",
                       share_col="pct", decimals=2)
    assert df["item"].tolist() == ["b", "a", "c", "d"]
    assert df["pct"].tolist() == [40.0, 20.0, 20.0, 20.0]
    assert df["cum_pct"].tolist() == [40.0, 60.0, 80.0, 100.0]
    assert pareto.top80(df)["item"].tolist() == ["b", "a", "c"]
    # the first item alone over 80 %: only it
    one = pareto.pareto(_frame({"x": 85, "y": 15}), "n", "item")
    assert pareto.top80(one)["item"].tolist() == ["x"]


def test_all_zero_one_item_and_empty() -> None:
    share, cum = pareto.cumulative([0, 0, 0])
    assert share.tolist() == [0.0, 0.0, 0.0] and cum.tolist() == [0.0, 0.0, 0.0]
    zero = pareto.pareto(_frame({"b": 0, "a": 0}), "n", "item")
    assert zero["item"].tolist() == ["a", "b"]
    assert pareto.top80(zero)["item"].tolist() == ["a", "b"]  # nothing crosses: nothing cut
    one = pareto.pareto(_frame({"only": 7}), "n", "item")
    assert (one["share_pct"].tolist(), one["cum_pct"].tolist()) == ([100.0], [100.0])
    assert pareto.top80(one)["item"].tolist() == ["only"]
    empty = pareto.pareto(_frame({}), "n", "item")
    assert empty.empty and {"share_pct", "cum_pct"} <= set(empty.columns)
    assert pareto.top80(empty).empty


def test_coverage_against_a_larger_total() -> None:
    # what each factor adds of 60 defective pcs (attribution not exclusive): 30, 10, 5
    share, cum = pareto.cumulative([30, 10, 5], total=60, decimals=2)
    assert share.tolist() == [50.0, 16.67, 8.33]
    assert cum.tolist() == [50.0, 66.67, 75.0]


def test_each_measure_cumulates_in_its_own_order() -> None:
    df = pd.DataFrame({"reason": ["A", "B", "C"], "count": [5, 3, 2], "qty": [10, 60, 30]})
    assert pareto.cumulative_in_order(df, "count", "reason").tolist() == [50.0, 80.0, 100.0]
    # qty order is B 60, C 30, A 10: B 60 %, C 90 %, A 100 %; aligned to the frame's rows
    assert pareto.cumulative_in_order(df, "qty", "reason").tolist() == [100.0, 60.0, 90.0]
    assert pareto.rank(df, "qty", "reason")["reason"].tolist() == ["B", "C", "A"]


def test_fold_others() -> None:
    df = pareto.pareto(_frame({"a": 45, "b": 20, "c": 19, "d": 12, "e": 8}), "n", "item")
    df["lots"] = [5, 4, 3, 2, 1]
    assert pareto.fold_others(df, "item", 5, sums=("n",)) is df  # fits: unchanged
    folded = pareto.fold_others(df, "item", 2, sums=("n",))
    assert folded["item"].tolist() == ["a", "b", "others (3)"]
    assert folded["n"].tolist() == [45, 20, 19 + 12 + 8]
    assert folded["share_pct"].iloc[-1] == pytest.approx(39 / 104 * 100)
    assert folded["share_pct"].sum() == pytest.approx(100)
    assert folded["cum_pct"].iloc[-1] == 100.0
    assert folded["cum_pct"].iloc[:2].tolist() == df["cum_pct"].iloc[:2].tolist()
    last = folded["lots"].iloc[-1]
    assert last is None or pd.isna(last)  # distinct counts are not summed

    def mark(others: dict) -> None:
        others["lots"] = -1

    assert pareto.fold_others(df, "item", 4, sums=("n",), finish=mark)["lots"].tolist() == [
        5, 4, 3, 2, -1]
    assert pareto.others_label(12) == "others (12)"
    assert pareto.is_others("others (12)") and not pareto.is_others("othersize")


def test_coverage_counts_each_lot_once_for_its_best_ranked_item() -> None:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    # L1 touched A and B, L6 touched A twice, L5 only D (not ranked: others), L7 has no
    # weight (not a seed), L8 touched nothing (in the total, in no rank)
    con.register("ex", pa.table({
        "cid": ["L1", "L1", "L2", "L3", "L4", "L4", "L5", "L6", "L6", "L7"],
        "f": ["A", "B", "B", "C", "A", "C", "D", "A", "A", "B"],
        "kind": ["m"] * 9 + ["x"]}))
    con.register("w", pa.table({"cid": ["L1", "L2", "L3", "L4", "L5", "L6", "L8"],
                                "d": [10, 5, 0, 3, 7, 1, 4], "n": [1, 1, 1, 1, 1, 1, 1]}))
    got = pareto.coverage_by_rank(
        con, "SELECT cid AS lot, f AS item FROM ex WHERE kind = $kind",
        "SELECT cid AS lot, d, n FROM w", ["A", "B", "C"], ("d",), {"kind": "m"})
    # A: L1, L4, L6 (14); B: L2 only, L1 counted for A (5); C: L3 (0); others: L5 (7)
    assert got == {1: (3, 14), 2: (1, 5), 3: (1, 0), 4: (1, 7)}
    added = [got[r][1] for r in (1, 2, 3, 4)]
    assert pareto.cumulative(added, total=30, decimals=2)[1].tolist() == [
        46.67, 63.33, 63.33, 86.67]
    # L7's B row is of another kind: with it, B still adds nothing (L7 has no weight)
    assert pareto.coverage_by_rank(
        con, "SELECT cid AS lot, f AS item FROM ex", "SELECT cid AS lot, d FROM w",
        ["A", "B", "C"], ("d",)) == got
    con.close()
