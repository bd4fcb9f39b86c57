"""Plain JSON values from whatever a result holds: one cleaning helper for every CLI's JSON.

Why: ``json.dumps(..., default=str)`` wrote a float infinity as ``Infinity`` (or a
caller's "inf"), NaN as ``NaN`` (not JSON at all), an empty tuple as the text "()" and a
date as its repr-like text. A reader (a script, a spreadsheet import) then meets values
no JSON parser or column type expects. The rule (docs/engineering.md): missing is null,
lists are lists, numbers are numbers.

``clean(value)`` returns a structure of dicts, lists, str, int, float (finite), bool and
None: NaN and ±inf -> None; tuples, sets, Arrow arrays and numpy arrays -> lists (sets
sorted); numpy/Arrow scalars -> Python; dates and times -> ISO text; Decimal -> float;
dataclasses -> dicts; Arrow tables -> lists of row dicts; dict keys -> text. ``dumps``
is ``json.dumps`` of that with ``allow_nan=False``, so a miss fails loudly, never writes
NaN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pyarrow as pa


def clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return clean(value.item())
    if isinstance(value, decimal.Decimal):
        return clean(float(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pa.Table):
        return [clean(r) for r in value.to_pylist()]
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return [clean(v) for v in value.to_pylist()]
    if isinstance(value, pa.Scalar):
        return clean(value.as_py())
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, set | frozenset):
        return [clean(v) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``clean(value)``; never NaN/Infinity (``allow_nan=False``)."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(clean(value), allow_nan=False, **kwargs)
