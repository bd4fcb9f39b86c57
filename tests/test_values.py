"""core.values: the one list rule (table-driven), the same paste on every surface, and the
one container resolver on real DuckDB and PostgreSQL with hand-built containers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import schema as t
from core import values as V
from core.cli import build_parser
from core.contain._suspect import ContainError, build_suspect
from core.db import Lanes, open_lanes
from core.db._engines import make_engine
from core.defects._request import DefectInputError, DefectRequest
from core.errors import InputError
from core.rejects import _inputs as reject_inputs
from core.rejects._inputs import RejectInputError, parse_values
from core.rejects._resolve import resolve as reject_resolve
from core.trace import _seeds as trace_seeds
from core.trace._seeds import SeedError, resolve_seeds
from core.trace._trace_job import TraceRequest
from tests.conftest import make_settings

S = make_settings("duckdb:///:memory:", seed_max_values=5, seed_max_patterns=2)

# --- the parser, table-driven -----------------------------------------------------------------

SPLIT_CASES = [
    # (text, kind, items)
    ("A\nB", V.NAMES, ["A", "B"]),
    ("A\r\nB", V.NAMES, ["A", "B"]),
    ("A,B", V.NAMES, ["A", "B"]),
    ("A;B", V.NAMES, ["A", "B"]),
    ("A\tB", V.NAMES, ["A", "B"]),
    ("A B", V.NAMES, ["A", "B"]),
    ("  A ,, ;\n\n B  ", V.NAMES, ["A", "B"]),  # blanks dropped, trimmed
    ("B,A,B,A", V.NAMES, ["B", "A"]),  # duplicates dropped keeping the first
    ("A\\,B", V.NAMES, ["A\\,B"]),  # an escaped separator stays inside
    ("A\\ B", V.NAMES, ["A\\ B"]),
    ("GA*,W\\_1", V.NAMES, ["GA*", "W\\_1"]),  # escapes kept for parse
    ("SOT-23 CU, SOD-323", V.LABELS, ["SOT-23 CU", "SOD-323"]),  # a package with a space
    ("SOT-23 CU\tSOD-323;X\nY", V.LABELS, ["SOT-23 CU", "SOD-323", "X", "Y"]),
    ("276_腳型不良,  276_腳型不良", V.LABELS, ["276_腳型不良"]),
    ("", V.NAMES, []),
]


@pytest.mark.parametrize(("text", "kind", "items"), SPLIT_CASES)
def test_split(text: str, kind: str, items: list[str]) -> None:
    assert V.split(text, kind) == items


def test_a_sequence_is_split_item_by_item() -> None:
    """Repeated URL parameters and CLI flags: each item by the same rule."""
    assert V.split(["A B", "C,A", ""], V.NAMES) == ["A", "B", "C"]
    assert V.split(["SOT-23 CU", "X,SOT-23 CU"], V.LABELS) == ["SOT-23 CU", "X"]


PARSE_CASES = [
    # (typed, wildcards, literal, LIKE pattern or None)
    ("GA1", True, "GA1", None),
    ("GA*", True, "GA*", "GA%"),
    ("GA%", True, "GA%", "GA%"),
    ("GA_1", True, "GA_1", "GA_1"),
    ("GA\\_1", True, "GA_1", None),  # an escaped underscore is literal: exact
    ("GA\\*", True, "GA*", None),
    ("GA\\%*", True, "GA%*", "GA\\%%"),
    ("A\\\\B", True, "A\\B", None),
    ("A\\,B", True, "A,B", None),
    ("A\\", True, "A\\", None),  # a lone trailing backslash is itself
    ("LFT_0026", False, "LFT_0026", None),  # no wildcards in this list: literal
    ("DB-00*", False, "DB-00*", None),
]


@pytest.mark.parametrize(("typed", "wild", "literal", "pattern"), PARSE_CASES)
def test_parse(typed: str, wild: bool, literal: str, pattern: str | None) -> None:
    v = V.parse(typed, wildcards=wild)
    assert (v.literal, v.pattern) == (literal, pattern)


def test_like_and_regex_agree() -> None:
    v = V.parse("W\\_%1")
    assert v.like == "W\\_%1"
    rx = v.regex()
    assert rx.match("W_x1") and rx.match("W_1") and not rx.match("WX1")
    assert V.parse("A_B").like == "A_B"
    assert V.parse("A\\_B").like == "A\\_B"  # an exact value's LIKE escapes its wildcards


@pytest.mark.parametrize(("text", "message"), [
    ("A B C D E F", r"6 lot values exceed the limit of 5 \(setting seed_max_values\)"),
    ("A* B% C_", r"3 lot values use wildcards .* at most 2 .*setting seed_max_patterns"),
    ("A\x00B", "control characters"),
    ("x" * 401, "longer than 400 characters"),
])
def test_limits_in_one_place(text: str, message: str) -> None:
    with pytest.raises(V.ValuesError, match=message):
        V.check(text, S, label="lot")
    assert issubclass(V.ValuesError, InputError)


def test_limits_count_after_duplicates_and_escapes() -> None:
    assert [v.text for v in V.check("A A A B C D E", S, label="lot")] == list("ABCDE")
    assert len(V.check("A\\* B\\% C\\_ D*", S, label="lot")) == 4  # escaped: no pattern
    # a list without wildcards has no pattern limit
    assert len(V.check("A* B% C_", S, label="machine", wildcards=False)) == 3


# --- the same paste on every surface ----------------------------------------------------------

PASTE = "GA1 GA2,GA3;GA2\tGA\\_4\n\nGA*"
ITEMS = ["GA1", "GA2", "GA3", "GA\\_4", "GA*"]
EXACT_PASTE = "W1 W2,W3;W2\tW\\_4\n\nW_5"
EXACT_LITERALS = ["W1", "W2", "W3", "W_4", "W_5"]


def test_every_container_surface_reads_a_paste_the_same() -> None:
    s = make_settings("duckdb:///:memory:")
    # Trace page (text area → TraceRequest.build) and its CLI (--lot as shell words)
    page = TraceRequest.build({"lot": PASTE}, "backward", (), s).seeds[0][1]
    argv = build_parser().parse_args(["trace", "--lot", *PASTE.split()])
    cli = TraceRequest.build({"lot": argv.lot}, "backward", (), s).seeds[0][1]
    # Defect trace page (text area → URL list → build) and its CLI (--lots text)
    d_page = DefectRequest.build(s, station="TMTT", start="", end="", seed_kind="lot",
                                 seed_values=V.split(PASTE, V.NAMES)).seed_values
    d_args = build_parser().parse_args(["defects", "--lots", PASTE])
    d_cli = DefectRequest.build(s, station="TMTT", start="", end="", seed_kind="lot",
                                seed_values=d_args.lots).seed_values
    # Reject history page (text area, then the link's repeated ?c=)
    r_page = parse_values(PASTE, s)
    r_link = parse_values(r_page, s)
    assert list(page) == list(cli) == list(d_page) == list(d_cli) == r_page == r_link == ITEMS
    assert trace_seeds.split_values(PASTE) == ITEMS


def test_containment_reads_a_paste_by_the_same_rule_without_wildcards() -> None:
    s = make_settings("duckdb:///:memory:")
    argv = build_parser().parse_args(["contain", "--wafer-lot", *EXACT_PASTE.split()])
    cli = build_suspect("wafer_lot", argv.wafer_lot, settings=s).names
    pasted = build_suspect("wafer_lot", EXACT_PASTE, settings=s).names
    # the Containment page: text area → split_values → the link's ?name= → build_suspect
    page = build_suspect("wafer_lot", trace_seeds.split_values(EXACT_PASTE), settings=s).names
    assert list(cli) == list(pasted) == list(page) == EXACT_LITERALS
    assert V.literals(EXACT_PASTE, V.NAMES) == EXACT_LITERALS


def test_label_lists_keep_a_space_everywhere() -> None:
    s = make_settings("duckdb:///:memory:")
    text = "SOT-23 CU, SOD-323;SOT-23 CU"
    args = build_parser().parse_args(["defects", "--packages", text, "--start", "2026-11-01",
                                      "--end", "2026-11-02"])
    req = DefectRequest.build(s, station="TMTT", start="2026-11-01", end="2026-11-02",
                              packages=args.packages, types=["A,B", "C"])
    assert req.packages == ("SOD-323", "SOT-23 CU")
    assert req.types == ("A", "B", "C")
    # an item picked from a list (the defect page's reasons) is escaped, never split
    picked = ["276_腳型不良", "9,x;y\\z"]
    assert V.literals([V.escape(p) for p in picked], V.LABELS) == picked
    # reject history's --package (repeatable or comma-separated) uses the same function
    assert V.literals(["SOT-23 CU", "SOD-323,SOT-23 CU"], V.LABELS) == ["SOT-23 CU",
                                                                         "SOD-323"]


@pytest.mark.parametrize(("call", "error"), [
    (lambda s: trace_seeds.check_values("lot", "A* B* C*", s), SeedError),
    (lambda s: DefectRequest.build(s, station="TMTT", start="", end="", seed_kind="lot",
                                   seed_values="A* B* C*"), DefectInputError),
    (lambda s: reject_inputs.parse_values("A* B* C*", s), RejectInputError),
])
def test_every_surface_enforces_the_pattern_limit(call: object, error: type) -> None:
    """Before, only the Trace page refused too many wildcard values."""
    with pytest.raises(error, match="setting seed_max_patterns"):
        call(S)  # type: ignore[operator]


def test_containment_names_its_own_limit() -> None:
    s = make_settings("duckdb:///:memory:")
    with pytest.raises(ContainError, match="1,001 machine values exceed the limit of 1,000"):
        build_suspect("machine", [f"M{i}" for i in range(1001)], settings=s,
                      start="2026-11-01", end="2026-11-02")


# --- the resolver, on both backends -----------------------------------------------------------

CONTAINERS = [  # containername, firstname (wafer lot), mfgordername
    ("LOT_A1", "W_1", "GA0001"),
    ("LOTXA1", "WX1", "GA0001"),
    ("P%Q-1", "W9", "GA0002"),
    ("GB200-1", "W9", "GA0003"),
    ("GB200-2", "W9", "GA0003"),
]



def _load(url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    if url.startswith("duckdb"):
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    t.metadata.create_all(engine, tables=[t.container, t.combinedassylots])
    cols = [c.name for c in t.container.columns]
    with engine.begin() as conn:
        conn.execute(t.container.insert(), [
            {**dict.fromkeys(cols), "containerid": f"C{i:015d}", "containername": n,
             "firstname": w, "mfgordername": wo}
            for i, (n, w, wo) in enumerate(CONTAINERS)])
    engine.dispose()


CID = {n: f"C{i:015d}" for i, (n, _w, _wo) in enumerate(CONTAINERS)}


@pytest.fixture(scope="module")
def values_duckdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('values') / 'v.duckdb'}"
    _load(url, "dwh")
    return url


@pytest.fixture(scope="module")
def values_pg(pg_url: str) -> Iterator[str]:
    name = f"values_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    _load(pg_url, name)
    yield name
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["duckdb", "postgresql"])
def vlanes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        settings = make_settings(request.getfixturevalue("values_duckdb"))
    else:
        settings = make_settings(request.getfixturevalue("pg_url"),
                                 schema=request.getfixturevalue("values_pg"))
    lanes = open_lanes(settings)
    yield lanes
    lanes.close()


def test_trace_seeds_exact_pattern_escaped_and_unmatched(vlanes: Lanes) -> None:
    s = make_settings("duckdb:///:memory:")
    r = resolve_seeds(vlanes, "lot", "LOT_A1 LOT\\_A1 LOT\\_* P\\%Q-1 P%Q* GB200-* NOPE "
                      "NO\\_PE", settings=s)
    assert r.matches == {
        "LOT_A1": sorted([CID["LOT_A1"], CID["LOTXA1"]]),  # _ is one character
        "LOT\\_A1": [CID["LOT_A1"]],  # escaped: literally LOT_A1, exact
        "LOT\\_*": [CID["LOT_A1"]],  # escaped _ inside a pattern stays literal
        "P\\%Q-1": [CID["P%Q-1"]],
        "P%Q*": [CID["P%Q-1"]],
        "GB200-*": sorted([CID["GB200-1"], CID["GB200-2"]]),
    }
    assert r.unmatched == ["NOPE", "NO\\_PE"]


def test_reject_container_list_exact_pattern_escaped_and_unmatched(vlanes: Lanes) -> None:
    s = make_settings("duckdb:///:memory:")
    values = parse_values("W\\_1 LOT\\_* GA0003 NOPE W\\_* W_1 NO*", s)
    r = reject_resolve(vlanes, values, max_matches=100)
    assert r.containerids == sorted(CID[n] for n in ("LOT_A1", "LOTXA1", "GB200-1",
                                                       "GB200-2"))
    # W\_1: the wafer lot W_1 only; W_1: W_1 and WX1; LOT\_*: LOT_A1 only
    assert r.unmatched == ["NOPE", "NO*"]
    only_escaped = reject_resolve(vlanes, ["W\\_1"], max_matches=100)
    assert only_escaped.containerids == [CID["LOT_A1"]]
    assert reject_resolve(vlanes, ["W_1"], max_matches=100).containerids == sorted(
        [CID["LOT_A1"], CID["LOTXA1"]])
    with pytest.raises(RejectInputError, match="more than 1 containers"):
        reject_resolve(vlanes, ["GB200-*"], max_matches=1)


def test_resolver_reports_which_values_matched(vlanes: Lanes) -> None:
    from core.rejects._resolve import resolve_exact_query, resolve_like_query

    rows: list[tuple[list[str], str]] = []
    found = V.resolve(vlanes, [V.parse(x) for x in ("GA0002", "P\\%*", "ZZ", "Z*")],
                      exact=resolve_exact_query,
                      like=lambda p: resolve_like_query(p, escaped=True),
                      keys=("containername", "mfgordername", "firstname"),
                      on_row=lambda texts, row: rows.append((texts, row["containerid"])))
    assert found.matched == ["GA0002", "P\\%*"]
    assert found.unmatched == ["ZZ", "Z*"]
    assert sorted(rows) == [(["GA0002"], CID["P%Q-1"]), (["P\\%*"], CID["P%Q-1"])]
