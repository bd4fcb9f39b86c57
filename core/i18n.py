"""The users' language: 繁體中文 or English for every message a page or the CLI shows.

Why: the factory's users read Traditional Chinese (their current portal and their data
are Chinese); the product was English only. Messages are marked in the code with ``_()``
(gettext), extracted by Babel into ``core/locale/messages.pot`` and translated in
``core/locale/zh_TW/LC_MESSAGES/mesdash.po``, both in the repository. The compiled ``.mo``
is built from the ``.po`` on first use (and again whenever the ``.po`` is newer), so
neither an install nor a start needs a manual step; where the package folder is read-only
it is compiled into a temporary folder instead.

The language of a run is a context variable: the dashboard sets it once per script run
(from the URL's ``lang``, the sidebar's choice, the ``language`` setting, or the browser's
``st.context.locale``: zh-* means 繁體中文), the CLI once per command (``--lang`` or the
setting). Measures carry both languages in core/glossary.py already; JSON keys never
change with the language.

Extract and update the catalogs after marking messages:

    python -m core.i18n extract     # messages.pot from core/ and dashboard/, .po updated
"""

from __future__ import annotations

import contextvars
import gettext
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

DOMAIN = "mesdash"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ROOT = LOCALE_DIR.parents[1]
DEFAULT = "en"
LANGUAGES: dict[str, str] = {"en": "English", "zh-TW": "繁體中文"}
"""Language codes the product speaks (BCP 47, as in URLs and settings) and their names."""

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("mesdash_lang",
                                                                     default=None)
_resolver: Callable[[], str | None] | None = None
_lock = threading.Lock()
_translations: dict[str, gettext.NullTranslations] = {}


def normalize(code: str | None) -> str | None:
    """A language code from a URL, a setting or a browser locale, as one of LANGUAGES:
    ``zh``, ``zh-TW``, ``zh_Hant_TW``... -> ``zh-TW``; ``en-US`` -> ``en``; else None."""
    if not code:
        return None
    c = code.strip().replace("_", "-").lower()
    if c.startswith("zh"):
        return "zh-TW"
    if c.startswith("en"):
        return "en"
    return None


def choose(*candidates: str | None) -> str:
    """The first candidate that names a language we speak (URL, choice, setting,
    browser, in the caller's order), else English."""
    for c in candidates:
        lang = normalize(c)
        if lang:
            return lang
    return DEFAULT


def _po_path(lang: str) -> Path:
    return LOCALE_DIR / lang.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compiled(lang: str) -> Path | None:
    """The .mo for ``lang``, compiled from its .po when missing or older."""
    po = _po_path(lang)
    if not po.exists():
        return None
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for base in (po.parent, Path(tempfile.gettempdir()) / "mesdash-locale" / po.parent.name):
        mo = base / f"{DOMAIN}.mo"
        try:
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                return mo
            base.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang.replace("-", "_"))
            tmp = mo.with_suffix(f".{threading.get_ident()}.tmp")
            with tmp.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
            tmp.replace(mo)
            return mo
        except OSError:
            continue  # a read-only package folder: try the temporary one
    return None


def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of ``lang`` (English: the messages as written)."""
    lang = normalize(lang) or DEFAULT
    with _lock:
        if lang not in _translations:
            mo = None if lang == DEFAULT else _compiled(lang)
            if mo is None:
                _translations[lang] = gettext.NullTranslations()
            else:
                with mo.open("rb") as f:
                    _translations[lang] = gettext.GNUTranslations(f)
        return _translations[lang]


def set_language(lang: str | None) -> str:
    """Make ``lang`` the language of this run (thread/context); returns what was set."""
    chosen = normalize(lang) or DEFAULT
    _current.set(chosen)
    return chosen


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Where the language comes from when this thread has not set one: the dashboard
    registers its session's choice (a fragment rerun or a helper thread of a page run
    starts with an empty context; the session still knows its language)."""
    global _resolver
    _resolver = resolver


def current() -> str:
    """The language of this run: set_language's, else the resolver's, else English."""
    lang = _current.get()
    if lang is None and _resolver is not None:
        try:
            lang = normalize(_resolver())
        except Exception:  # a resolver outside its context (e.g. no Streamlit session)
            lang = None
    return lang or DEFAULT


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def is_zh() -> bool:
    """True when the current language is 繁體中文 (for the few choices that are not a
    message: a measure's zh label, a date order)."""
    return current().startswith("zh")


def N_(message: str) -> str:
    """Marks ``message`` for extraction without translating it now (module constants:
    translate with ``_()`` where it is shown)."""
    return message


# --- catalog maintenance (developers) ---------------------------------------------------------


def extract() -> None:
    """messages.pot from core/ and dashboard/, and every .po updated from it (new messages
    empty, vanished ones dropped): then translate the empty entries."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po, write_po

    template = Catalog(project="mesdash", charset="utf-8")
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    for folder in ("core", "dashboard"):
        for filename, lineno, message, comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords,
            comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
        ):
            template.add(message, None, [(f"{folder}/{filename}", lineno)],
                         auto_comments=comments)
    from core.glossary import GLOSSARY  # definitions and formulas are messages too

    for m in GLOSSARY.values():
        for text in (m.definition, m.formula):
            if text:
                template.add(text, None, [("core/glossary.py", 0)],
                             auto_comments=[f"glossary: {m.key}"])
    from core.config import SETTINGS_DOC  # each setting's doc: the System page, `config`

    for name, (doc, _default) in SETTINGS_DOC.items():
        template.add(doc, None, [("core/config.py", 0)], auto_comments=[f"setting: {name}"])
    LOCALE_DIR.mkdir(exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as f:
        write_po(f, template, omit_header=False, sort_output=True, width=100,
                 include_lineno=False)
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        po = _po_path(lang)
        po.parent.mkdir(parents=True, exist_ok=True)
        if po.exists():
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang.replace("-", "_"))
        else:
            catalog = Catalog(locale=lang.replace("-", "_"), project="mesdash", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with po.open("wb") as f:
            write_po(f, catalog, sort_output=True, width=100, include_lineno=False)


def merge(base: str, ours: str, theirs: str) -> None:
    """Git merge driver for the .po files (``.gitattributes``: ``*.po merge=po``): two
    branches that each translated their own messages merge into the union; where both
    translated the same message differently, ours wins. Writes the result into ``ours``.
    Enable once per clone: ``git config merge.po.driver "python -m core.i18n merge %O %A
    %B"``."""
    from babel.messages.pofile import read_po, write_po

    def load(path: str):
        with open(path, "rb") as f:
            return read_po(f)

    mine, other = load(ours), load(theirs)
    for message in other:
        if not message.id:
            continue
        have = mine.get(message.id, message.context)
        if have is None:
            mine[message.id] = message
        elif not have.string and message.string:
            have.string = message.string
    mine.obsolete.clear()
    with open(ours, "wb") as f:
        write_po(f, mine, sort_output=True, width=100, include_lineno=False)


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["extract"]:
        extract()
    elif sys.argv[1:2] == ["merge"] and len(sys.argv) == 5:
        merge(*sys.argv[2:5])
    else:
        print("usage: python -m core.i18n extract | merge BASE OURS THEIRS", file=sys.stderr)
        sys.exit(2)
