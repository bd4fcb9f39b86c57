"""Extreme and malformed input never reaches a traceback or a wrong exit code (issue 15,
item 4; issue 14, item 5).

Why: ``mesdash rejects --start 9999-12-30 --end 9999-12-31`` overflowed Python's date deep
in a load and exited 3 "database unavailable"; ``defects --top -5`` was accepted; a link's
``page=99999999999999999999`` or ``end=0001-01-03`` reached date arithmetic or an OFFSET.
Dates outside the window of settings date_years_back / date_years_ahead are refused in one
place (core.dates), every bad input is an ``InputError`` caught once (the CLI's main: exit
1; the dashboard's guard: a warning), and argparse's usage errors exit 1 as README says.

Property tests drive every CLI command in-process (``core.cli.main`` with captured
output) and every page's URL parameters (AppTest on the tiny demo) with generated values:
extreme and malformed dates, huge and negative numbers, markup, control characters. Each
run must end in a message and a documented exit code (0 ok, 1 bad input, 2 bad settings,
3 database, 4 busy), with no traceback and no exception box. A few cases run as real
subprocesses. Example counts are small: the whole file takes a few minutes on DuckDB.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import cli, dates
from core.config import SettingsError, load_settings
from core.dates import DateInputError
from core.errors import InputError
from tests.hostile import PLANT, live_markup, open_page, page_params, unexpected_failures
from tests.test_app_pages import _app, app_env, on_tiny, tiny_db  # noqa: F401
from tests.test_cli import mesdash

EDGES = [
    "9999-12-31", "9999-12-30", "0001-01-01", "0001-01-03", "0000-00-00", "2026-02-30",
    "2026-13-01", "2026-11-20T07:30", "20261120", "２０２６-１１-２０", "99999999999999999999",
    "-99999999999999999999", "-1", "0", "1e309", "NaN", "inf", "", " ", "%", "*", "_", "\\",
    "'; DROP TABLE dwh.dw_mes_container; --", PLANT, "x" * 5000, "GA26*", "TMTT",
    "backward", "forward", "quality", "day", "reason",
]
IN_WINDOW = st.dates(min_value=date(2026, 8, 1), max_value=date(2026, 12, 5)).map(
    date.isoformat)
ANY_DATE = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               max_size=30)
VALUE = st.one_of(st.sampled_from(EDGES), IN_WINDOW, ANY_DATE,
                  st.integers(-10**25, 10**25).map(str), TEXT)
URL_VALUE = st.one_of(VALUE, st.just("\x00"), st.lists(VALUE, min_size=2, max_size=3))
DATE_EDGES = st.sampled_from(["9999-12-31", "9999-12-30", "0001-01-01", "0001-01-03",
                              "2026-02-30", "1995-12-31", "2028-01-01"])
# often valid (the result paths run too), often at the edges of what a date can be
DATE_VALUE = st.one_of(IN_WINDOW, DATE_EDGES, VALUE)
EDGE_RANGES = st.sampled_from([("9999-12-30", "9999-12-31"), ("9999-12-31", "9999-12-31"),
                               ("0001-01-01", "0001-01-02"), ("0001-01-03", "0001-01-03")])
# a start and an end together: both extreme and a short range, so only the window refuses it
RANGE = st.one_of(EDGE_RANGES, st.tuples(DATE_VALUE, DATE_VALUE))
FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


# --- the window, in one place ------------------------------------------------------------------

def test_window_follows_the_settings_and_refuses_outside_it() -> None:
    s = load_settings(env={"MES_DATE_YEARS_BACK": "2", "MES_DATE_YEARS_AHEAD": "0"})
    assert dates.window(s, today=date(2026, 12, 5)) == (date(2024, 1, 1), date(2026, 12, 31))
    this_year = date.today().year
    assert dates.parse_day(f"{this_year - 2}-01-01", "start", settings=s)
    with pytest.raises(DateInputError, match=r"outside the accepted dates, .*date_years_back"):
        dates.parse_day(f"{this_year - 3}-12-31", "start", settings=s)
    with pytest.raises(DateInputError, match="outside"):
        dates.check_range(date(9999, 12, 30), date(9999, 12, 31), 10, "x", settings=s)
    assert issubclass(DateInputError, InputError)
    with pytest.raises(SettingsError, match="date_years_back"):
        load_settings(env={"MES_DATE_YEARS_BACK": "0"})


def test_every_input_error_derives_from_one_base() -> None:
    from core.contain import ContainError
    from core.defects import DefectInputError
    from core.holds._classify import HoldInputError
    from core.jobs._spool import SpoolError
    from core.rejects._inputs import RejectInputError
    from core.trace._domains import DomainError
    from core.trace._lineage import LineageError
    from core.trace._seeds import SeedError

    for error in (ContainError, DefectInputError, HoldInputError, RejectInputError, DomainError,
                  LineageError, SeedError, SpoolError, cli.UsageError, DateInputError):
        assert issubclass(error, InputError), error


def test_no_class_name_matching_in_the_product() -> None:
    """Errors are told apart by type, never by comparing class names as strings."""
    root = Path(__file__).resolve().parents[1]
    matching = re.compile(r"__name__\s*(==|!=|in\b)(?!\s*[\"']__main__)|error_type|input_errors"
                          r"|(==|!=|\bin)\s*[(\[{]?\s*[\"']\w*(Error|Exception)[\"']")
    for path in [*root.glob("core/**/*.py"), *root.glob("dashboard/**/*.py")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not matching.search(line), f"{path}:{n}: {line.strip()}"


# --- the CLI in-process ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_env(demo_duckdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The MES_* environment of a CLI run on a copy of the tiny demo, for the module."""
    path = tmp_path_factory.mktemp("hostile_cli") / "tiny.duckdb"
    shutil.copyfile(demo_duckdb_url.removeprefix("duckdb:///"), path)
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("MES_"):
                mp.delenv(key)
        mp.setenv("MES_SECRETS_FILE", str(path.parent / "no-secrets.toml"))
        mp.setenv("MES_DB_URL", f"duckdb:///{path}")
        mp.setenv("MES_SPOOL_DIR", str(path.parent / "spool"))
        yield f"duckdb:///{path}"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_clean_exit(argv: list[str], code: int, out: str, err: str) -> None:
    """On a healthy database with valid settings: 0 with output, or 1 with a message."""
    assert code in (0, 1), (argv, code, err)
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    if code:
        last = err.strip().splitlines()
        assert last and any(line.startswith("mesdash: ") for line in last), (argv, err)
    else:
        assert out.strip(), argv


def command(name: list[str], options: dict[str, st.SearchStrategy[object]],
            flags: tuple[str, ...] = ()) -> st.SearchStrategy[list[str]]:
    """argv for ``name``: a random subset of ``options`` with generated values, flags.
    An option "--a/--b" takes a pair of values (a date range)."""
    def build(chosen: dict[str, object], on: list[str], junk: list[str]) -> list[str]:
        argv = list(name)
        for opt, value in chosen.items():
            pairs = zip(opt.split("/"), value, strict=True) if isinstance(value, tuple) \
                else [(opt, value)]
            for o, v in pairs:
                argv += [o, str(v)] if not str(v).startswith("-") else [f"{o}={v}"]
        return argv + on + junk

    return st.builds(build, st.fixed_dictionaries({}, optional=options),
                     st.lists(st.sampled_from(flags), unique=True) if flags else st.just([]),
                     st.lists(st.sampled_from(["--bogus", "extra", "-x"]), max_size=1))


COMMANDS = {
    "rejects": command(["rejects"], {
        "--start/--end": RANGE, "--end": DATE_VALUE, "--package": VALUE, "--group": VALUE,
        "--grain": VALUE}, ("--include-excluded", "--json")),
    "holds": command(["holds"], {"--type": VALUE}, ("--json",)),
    "hold-history": command(["hold-history"], {
        "--start/--end": RANGE, "--end": DATE_VALUE, "--type": VALUE, "--record": VALUE},
        ("--json",)),
    "defects": command(["defects"], {
        "--station": st.one_of(st.just("TMTT"), VALUE), "--start/--end": RANGE,
        "--end": DATE_VALUE, "--lots": VALUE, "--reasons": VALUE, "--types": VALUE,
        "--packages": VALUE, "--direction": VALUE, "--top": VALUE}, ("--json",)),
    "trace": command(["trace"], {
        "--lot": st.one_of(st.just("GA2611107*"), VALUE), "--wafer-lot": VALUE,
        "--serial": VALUE, "--direction": VALUE, "--domains": VALUE}, ("--json",)),
    "contain": command(["contain"], {
        "--machine": st.one_of(st.just("DB-003"), VALUE), "--wafer-lot": VALUE,
        "--start/--end": RANGE, "--end": DATE_VALUE}, ("--json",)),
    "other": st.one_of(
        command(["config"], {}, ("--markdown",)),
        command(["db", "check"], {}, ("--json",)),
        st.lists(VALUE, max_size=4)),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_commands_with_generated_input(cli_env: str, name: str) -> None:
    @FAST
    @given(COMMANDS[name])
    def check(argv: list[str]) -> None:
        assert_clean_exit(argv, *run_cli(argv))

    check()


@pytest.mark.parametrize(("argv", "needle"), [
    (["rejects", "--start", "9999-12-30", "--end", "9999-12-31"], "outside the accepted"),
    (["hold-history", "--start", "0001-01-01", "--end", "0001-01-02"], "outside the accepted"),
    (["defects", "--start", "9999-12-31", "--end", "9999-12-31"], "outside the accepted"),
    (["defects", "--top", "-5"], "--top: -5 must be 1 or more"),
    (["rejects", "--end", "0001-01-03"], "outside the accepted"),
    (["rejects", "--bogus"], "unrecognized arguments"),
    (["trace"], "Nothing to trace"),
    (["demo", "build", "--anchor", "0001-01-01"], "outside the accepted"),
    (["contain", "--machine", "DB-003", "--start", "9999-12-30", "--end", "9999-12-31"],
     "outside the accepted"),
])
def test_cli_extreme_input_is_exit_1_with_a_message(cli_env: str, argv: list[str],
                                                    needle: str) -> None:
    code, _, err = run_cli(argv)
    assert code == 1, (code, err)
    assert needle in err and "Traceback" not in err


def test_cli_subprocess_exit_codes(tmp_path: Path) -> None:
    """The real command: bad input 1 (usage errors included), bad settings 2, database 3."""
    unreachable = {"MES_DB_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/x"}
    for args, env, code, needle in [
        (["rejects", "--start", "9999-12-30", "--end", "9999-12-31"], {}, 1, "outside"),
        (["defects", "--top", "-5"], {}, 1, "must be 1 or more"),
        (["no-such-command"], {}, 1, "invalid choice"),
        (["config"], {"MES_DATE_YEARS_AHEAD": "-1"}, 2, "date_years_ahead"),
        (["holds"], unreachable, 3, "mesdash: "),
    ]:
        done = mesdash(*args, env=env)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        assert needle in done.stderr and "Traceback" not in done.stderr, done.stderr


# --- the pages ---------------------------------------------------------------------------------

# Every page file (System last: it reads no data), so a new page is covered by itself.
PAGES = tuple(sorted((p.name for p in (Path(__file__).resolve().parents[1] / "dashboard"
                                        / "views").glob("*.py")),
                     key=lambda name: (name == "system.py", name)))




def url_params(page: str) -> st.SearchStrategy[dict[str, object]]:
    names = page_params(page)
    special: dict[str, st.SearchStrategy[object]] = {
        "run": st.sampled_from(["1", "1", "0", PLANT]),
        "start": DATE_VALUE, "end": DATE_VALUE, "period": DATE_VALUE, "day": DATE_VALUE,
        "values": st.one_of(st.just("GA2611107*"), URL_VALUE),
        "station": st.one_of(st.just("TMTT"), URL_VALUE),
        "view": st.sampled_from(["live", "history", PLANT]),
    }
    def with_range(params: dict[str, object], pair: tuple[str, str] | None
                   ) -> dict[str, object]:
        return params if pair is None else {**params, "start": pair[0], "end": pair[1]}

    return st.builds(with_range, st.fixed_dictionaries(
        {}, optional={n: special.get(n, URL_VALUE) for n in names}),
        st.none() | RANGE if "start" in names else st.none())


@pytest.mark.parametrize("page", PAGES)
def test_page_links_with_generated_parameters(on_tiny: Path, page: str) -> None:  # noqa: F811
    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(url_params(page))
    def check(params: dict[str, object]) -> None:
        at = open_page(page, params)  # type: ignore[arg-type]
        assert not unexpected_failures(at), (params, unexpected_failures(at))
        assert not live_markup(at), (params, live_markup(at))

    check()


@pytest.mark.parametrize(("page", "params", "needle"), [
    ("reject_history.py", {"run": "1", "start": "2026-09-10", "end": "2026-11-20",
                           "page": "99999999999999999999", "period": "9999-12-31"},
     "outside the accepted"),
    ("reject_history.py", {"run": "1", "end": "0001-01-03"}, "outside the accepted"),
    ("defect_trace.py", {"run": "1", "station": "TMTT", "start": "9999-12-31",
                         "end": "9999-12-31"}, "outside the accepted"),
    ("defect_trace.py", {"run": "1", "station": "TMTT", "end": "0001-01-03"},
     "outside the accepted"),
    ("wip_hold.py", {"view": "history", "end": "0001-01-03"}, "outside the accepted"),
    ("wip_hold.py", {"view": "history", "start": "2026-11-01", "end": "2026-11-20",
                     "day": "9999-12-31"}, "not in the range"),
])
def test_page_extreme_links_are_messages(on_tiny: Path, page: str,  # noqa: F811
                                         params: dict[str, str], needle: str) -> None:
    from core.text import plain

    at = open_page(page, params)
    assert not unexpected_failures(at), unexpected_failures(at)
    shown = [plain(e.value) for e in [*at.error, *at.warning]]
    assert any(needle in s for s in shown), shown


def test_reject_detail_page_beyond_the_last_is_the_last(on_tiny: Path) -> None:  # noqa: F811
    at = open_page("reject_history.py", {"run": "1", "start": "2026-09-10",
                                         "end": "2026-11-20", "page": "99999999999999999999"})
    assert not unexpected_failures(at)
    caption = next(c.value for c in at.caption if "reject records" in c.value)
    assert "showing page" in caption
    _, shown = caption.rsplit("showing page ", 1)
    page, pages = shown.rstrip(".").split(" of ")
    assert page == pages and int(pages) > 1
    assert at.dataframe and len(at.dataframe[0].value) > 0
