"""The pareto rules, in one place: order, share, cumulative %, the top-80 % view, 'others'.

Why: shared/domain.md asks for one pareto rule everywhere (bars sorted descending, a
cumulative % line on 0-100, the top-80 % view keeps items up to and including the one
that crosses 80 %). The reject, live-hold and hold-history paretos each computed their
cumulative % themselves, under different column names and with different arithmetic.

Design: small functions over pandas frames (paretos are short: one row per reason,
machine, package), no page or measure knowledge:
- ``rank``: descending by the value, ties by the label ascending (a stable, readable order);
- ``cumulative``: share % and cumulative % of values in their given order, as
  ``running sum x 100 / total`` (for whole numbers, an item reaching exactly 80 % gets
  exactly 80.0, so the top-80 boundary is exact); a zero total gives zeros. ``total``
  may be larger than the sum of the values: a *coverage* line (the defect trace, where
  attribution is not exclusive, adds per factor what its distinct lots bring that the
  factors before did not, over all defective pcs);
- ``add_cumulative`` / ``cumulative_in_order``: the same onto a frame, the latter for a
  frame that carries several paretos (one per measure), each in its own order;
- ``top80``: items up to and including the one whose cumulative % reaches 80;
- ``fold_others``: the first N items, then one ``others (N)`` item summing the rest;
  ``split_others`` takes it apart again for a chart (drawn as a note, never a bar that
  dwarfs the items);
- ``coverage_by_rank``: for a pareto of overlapping items (a lot counts for every item
  it touched), what each ranked item adds over distinct lots: each lot counts once, for
  the best-ranked item it touched (items past the ranked ones: 'others'); summed, they
  never exceed the whole, and ``cumulative(added, total=whole)`` is the coverage line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

TOP_SHARE = 80.0
"""The top-80 % rule's threshold (and the dotted line on every pareto chart)."""
SHARE_COL = "share_pct"
CUM_COL = "cum_pct"


OTHERS = "others"


def others_label(count: int) -> str:
    """The label of the item that folds ``count`` remaining items."""
    return f"{OTHERS} ({count})"


def is_others(label: object) -> bool:
    """Whether a pareto item is the folded 'others (N)' item."""
    return str(label).startswith(f"{OTHERS} (")


def split_others(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The items and the folded 'others (N)' row apart (None when there is none).

    'others' sums what many items bring, so drawn as one more bar beside the items it
    can dwarf them all (issue 19): a chart draws the items and says what the others
    add in a note beside it."""
    mask = frame[label].map(is_others).astype(bool) if len(frame) else pd.Series([], bool)
    if not mask.any():
        return frame, None
    rest = frame[mask]
    return frame[~mask].reset_index(drop=True), rest.iloc[-1].to_dict()


def others_added(frame: pd.DataFrame, cum_col: str = CUM_COL) -> float | None:
    """What the last row (the folded 'others') adds to the cumulative line, in
    percentage points (None without a line or without a row before it)."""
    if cum_col not in frame or len(frame) < 2:
        return None
    last, before = frame[cum_col].iloc[-1], frame[cum_col].iloc[-2]
    if pd.isna(last) or pd.isna(before):
        return None
    return float(last) - float(before)


def others_count(label: object) -> int:
    """N of an 'others (N)' label (0 for any other label)."""
    text = str(label)
    if not is_others(text):
        return 0
    digits = text[len(OTHERS) + 2:].rstrip(")")
    return int(digits) if digits.isdigit() else 0


def rank(frame: pd.DataFrame, value: str, label: str) -> pd.DataFrame:
    """The frame in pareto order: ``value`` descending, ties by ``label`` ascending."""
    return frame.sort_values([value, label], ascending=[False, True])


def cumulative(
    values: Sequence[float] | pd.Series | np.ndarray,
    *,
    total: float | None = None,
    decimals: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(share %, cumulative %) of ``values`` in the order given.

    ``total`` defaults to the sum of the values; a zero (or empty) total gives zeros.
    ``decimals`` rounds both (None: unrounded)."""
    v = np.asarray(values, dtype="float64")
    whole = float(v.sum()) if total is None else float(total)
    if v.size == 0 or whole == 0:
        zeros = np.zeros(v.size, dtype="float64")
        return zeros, zeros.copy()
    share = v * 100.0 / whole
    cum = np.cumsum(v) * 100.0 / whole
    if decimals is not None:
        share, cum = np.round(share, decimals), np.round(cum, decimals)
    return share, cum


def add_cumulative(
    frame: pd.DataFrame,
    value: str,
    *,
    share_col: str | None = SHARE_COL,
    cum_col: str = CUM_COL,
    decimals: int | None = None,
) -> pd.DataFrame:
    """A copy of the (already ranked) frame with its share % and cumulative % columns
    (``share_col`` None: the cumulative only)."""
    share, cum = cumulative(frame[value], decimals=decimals)
    out = frame.copy()
    if share_col is not None:
        out[share_col] = share
    out[cum_col] = cum
    return out


def pareto(
    frame: pd.DataFrame,
    value: str,
    label: str,
    *,
    share_col: str | None = SHARE_COL,
    cum_col: str = CUM_COL,
    decimals: int | None = None,
) -> pd.DataFrame:
    """The frame ranked (``rank``) with share and cumulative %, index reset."""
    ranked = rank(frame, value, label).reset_index(drop=True)
    return add_cumulative(ranked, value, share_col=share_col, cum_col=cum_col,
                          decimals=decimals)


def cumulative_in_order(
    frame: pd.DataFrame, value: str, label: str, *, decimals: int | None = None
) -> pd.Series:
    """Each row's cumulative % in the pareto order of ``value``, aligned to the frame's
    own index (whatever order the frame is in): for a frame holding several measures'
    paretos, each cumulative running in its own measure's order."""
    ranked = rank(frame, value, label)
    _, cum = cumulative(ranked[value], decimals=decimals)
    return pd.Series(cum, index=ranked.index, dtype="float64").reindex(frame.index)


def top80(frame: pd.DataFrame, cum_col: str = CUM_COL) -> pd.DataFrame:
    """Items up to and including the one whose cumulative % crosses (reaches) 80 %.

    The frame is in pareto order; an all-zero pareto (no item crosses) keeps every item."""
    if frame.empty:
        return frame
    before = frame[cum_col].shift(1, fill_value=0.0)
    return frame[before < TOP_SHARE]


def fold_others(
    frame: pd.DataFrame,
    label: str,
    keep: int,
    *,
    sums: Iterable[str] = (),
    share_col: str | None = SHARE_COL,
    cum_col: str | None = CUM_COL,
    finish: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """The first ``keep`` items, then one ``others (N)`` item for the N others.

    The others item sums the ``sums`` columns (whole numbers) and the shares, and its
    cumulative % is that after the last item (100 for a whole pareto). Columns that
    cannot be summed (distinct counts such as lots, rates) are left empty, unless
    ``finish(others)`` fills them from the summed values. A frame that fits is returned
    unchanged (the same object)."""
    if len(frame) <= keep:
        return frame
    head, rest = frame.iloc[:keep], frame.iloc[keep:]
    others: dict[str, Any] = {c: None for c in frame.columns}
    others[label] = others_label(len(rest))
    for c in sums:
        if c in rest:
            others[c] = int(rest[c].sum())
    if share_col is not None and share_col in rest:
        others[share_col] = float(rest[share_col].sum())
    if cum_col is not None and cum_col in rest:
        others[cum_col] = float(rest[cum_col].iloc[-1])
    if finish is not None:
        finish(others)
    return pd.concat([head, pd.DataFrame([others])], ignore_index=True)


def coverage_by_rank(
    con: duckdb.DuckDBPyConnection,
    pairs: str,
    weights: str,
    ranked: Sequence[str],
    sums: Sequence[str],
    params: dict[str, Any] | None = None,
) -> dict[int, tuple[int, ...]]:
    """What each ranked item adds over distinct lots, in a local DuckDB.

    ``pairs`` is a relation (SQL text fixed by the caller, values as ``params``) of
    (``lot``, ``item``) rows, duplicates allowed; ``weights`` one of (``lot``, *sums*).
    Each lot counts once, for the best-ranked item of ``ranked`` it touched, or rank
    ``len(ranked) + 1`` (the others) when it touched none of them. Returns {rank: (lots,
    *sum of each of ``sums``)} over the lots found in ``weights``; a rank no lot counts
    for is absent."""
    con.register("_coverage_ranks", pa.table({
        "item": pa.array(list(ranked), pa.string()),
        "rank": pa.array(range(1, len(ranked) + 1), pa.int64())}))
    try:
        cols = ", ".join(f"coalesce(sum(w.{c}), 0)" for c in sums)
        rows = con.execute(
            f"""
            WITH p AS (SELECT DISTINCT lot, item FROM ({pairs})),
            best AS (SELECT p.lot, min(coalesce(r.rank, $_other)) AS rank
                     FROM p LEFT JOIN _coverage_ranks r USING (item) GROUP BY p.lot)
            SELECT best.rank, count(*){', ' + cols if cols else ''}
            FROM best JOIN ({weights}) w USING (lot) GROUP BY best.rank ORDER BY best.rank
            """,  # relations and columns are the caller's fixed text; values are binds
            {**(params or {}), "_other": len(ranked) + 1},
        ).fetchall()
    finally:
        con.unregister("_coverage_ranks")
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}
