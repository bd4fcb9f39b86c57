"""The README's test command and .ci/run stay the same command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = "pip install -e '.[test]' && ruff check . && python -m pytest"


def test_readme_and_ci_run_the_same_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in readme
    assert any(line.strip().startswith(TEST_COMMAND) for line in ci.splitlines())
    assert "pip install -e . && streamlit run dashboard/app.py" in readme
