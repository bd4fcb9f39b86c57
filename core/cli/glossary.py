"""`mesdash glossary`: the measures the pages and the CLI's JSON show, with their formulas.

Why: a number someone pastes into a report should say what it counts. The JSON keys of
`mesdash defects|rejects|holds|hold-history --json` that carry a measure use the measure's
key here; this command prints the table (text, README markdown, or JSON for scripts).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from core import glossary
from core.i18n import _, is_zh


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "glossary", help=_("every measure: name, definition, formula, unit"),
        description=_("Every measure the dashboard and the CLI show."),
        epilog=_("example:") + "\n  mesdash glossary --page rejects",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--page", choices=("defects", "rejects", "holds", "trace", "contain"),
                   help=_("only the measures of one page"))
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help=_("the README's table"))
    out.add_argument("--json", action="store_true", help=_("a list of objects"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    measures = [m for m in glossary.GLOSSARY.values() if not args.page or m.page == args.page]
    if args.json:
        print(json.dumps([asdict(m) for m in measures], ensure_ascii=False, indent=2))
    elif args.markdown:
        print(glossary.markdown_table(args.page))
    else:
        for m in measures:  # label and help in the command's language, the other name too
            other = m.en if is_zh() else m.zh
            print(f"{m.label()} [{m.key}] — {other}\n    {m.help()}")
    return 0
