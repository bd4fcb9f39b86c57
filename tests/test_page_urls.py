"""Hostile links: any page opened with nonsense in its URL parameters shows messages,
never a traceback (a shared link can be edited by hand, cut off, or pasted twice).

Each case draws a fixed pseudo-random subset of a page's parameters and fills them with
values people and tools produce: empty, text where numbers go, impossible dates, SQL
fragments, LIKE wildcards, a backslash, 5000 characters, a path. The draws are seeded,
so a failure names its parameters and reproduces.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app_pages import APP, TIMEOUT_S, app_env, on_tiny, tiny_db  # noqa: F401

BAD = ["", " ", "abc", "-1", "0", "99999999999", "1e309", "nan", "2026-02-30", "2026-11-19",
       "'; DROP TABLE x; --", "%", "_", "\\", "焊接_DB", "a" * 5000, "None", "[]", "../../etc"]
KEYS = {
    "views/reject_history.py": [
        "run", "mode", "start", "end", "c", "grain", "period", "dim", "measure", "top80",
        "sel_dim", "sel_val", "sort", "asc", "size", "page", "t_excluded", "t_pb",
        "f_station_group", "f_package", "f_reason", "f_machine"],
    "views/trace.py": ["kind", "values", "direction", "domains", "focus"],
    "views/defect_trace.py": [
        "run", "station", "start", "end", "direction", "reason", "types", "seed_kind",
        "seed", "use_range", "packages"],
    "views/wip_hold.py": [
        "view", "type", "start", "end", "record", "hreason", "bucket", "day", "reason",
        "group", "package", "page", "size", "cell"],
}
CASES = 8


@pytest.mark.parametrize("page", list(KEYS))
@pytest.mark.parametrize("case", range(CASES))
def test_nonsense_in_the_url_is_never_a_traceback(on_tiny: Path, page: str,  # noqa: F811
                                                  case: int) -> None:
    rng = random.Random(f"{page}:{case}")
    keys = KEYS[page]
    params = {k: rng.choice(BAD) for k in rng.sample(keys, rng.randint(1, len(keys)))}
    if "run" in params and rng.random() < 0.7:
        params["run"] = "1"  # most draws run the page's query with the nonsense
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(page).run()
    assert not at.exception, (params, [e.value for e in at.exception][:1])
    assert [t.value for t in at.title], "the page still renders its title"


def test_a_page_number_that_is_not_a_number(on_tiny: Path) -> None:  # noqa: F811
    """Regression: ?page=None on Reject history raised ValueError after the table."""
    from tests.test_rejects_page import _open  # waits for the load's job

    at = _open({"run": "1", "start": "2026-09-01", "end": "2026-11-19", "page": "None"})
    assert not at.exception and at.dataframe
