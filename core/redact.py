"""Secrets out of everything the product shows: one rule for a URL's secrets, used everywhere.

Why: a database or Redis URL carries its password in the user part
(``user:PASSWORD@host``) or in a query parameter (``?password=...``, ``?token=...``), and
URLs reach the sidebar, the System page, ``mesdash db check`` / ``config``, error messages
and logs. SQLAlchemy's ``render_as_string(hide_password=True)`` hides only the first kind,
and URL parsers disagree on where the user part ends (SQLAlchemy's password stops at the
first ``@``, urllib's user part at the last), so this module has its own rule, wider than
both:

- ``mask_url(url)``: everything between ``scheme://user:`` and the last ``@`` of the
  authority becomes ``***``, and so does the value of every query parameter whose name
  looks secret (``is_secret_name``: password, pwd, token, secret, key, auth, ...).
- ``mask_text(text)``: the same for any text (an error message, a log record): every URL in
  it through ``mask_url``, and ``name=value`` pairs with a secret name (libpq's conninfo
  form, keyword reprs).
"""

from __future__ import annotations

import re

MASK = "***"
# Parts of a parameter name that mark its value as secret (matched case-insensitively).
SECRET_NAME_PARTS = (
    "pass", "pwd", "secret", "token", "key", "auth", "credential", "signature", "sig",
)
# A URL inside free text: scheme://... up to whitespace, a quote, a backtick or a bracket.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"`<>()\[\]]+")
# name=value pairs whose name looks secret (libpq conninfo strings, keyword reprs).
_PAIR_IN_TEXT = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)(?P<sep>\s*=\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&,;'\"}\)]+)"
)


def is_secret_name(name: str) -> bool:
    """True for parameter names whose value is a credential (``password``, ``api_key``...)."""
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def _split_authority(rest: str) -> tuple[str, str, str]:
    """``rest`` (after ``scheme://``) as (user info, host and path, query and fragment).

    The user info ends at the last ``@`` before the query: a password holding an
    unencoded ``@`` or ``/`` stays inside it whichever parser reads the URL."""
    cut = len(rest)
    for mark in ("?", "#"):
        at = rest.find(mark)
        if at != -1:
            cut = min(cut, at)
    head, tail = rest[:cut], rest[cut:]
    at = head.rfind("@")
    if at == -1:
        return "", head, tail
    return head[:at], head[at + 1:], tail


def _mask_query(tail: str) -> str:
    """``?a=1&password=x#frag`` with the secret values masked, everything else unchanged."""
    if not tail.startswith("?"):
        return tail
    query, hash_, fragment = tail[1:].partition("#")
    parts = []
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        if eq and value and is_secret_name(_unquote(name)):
            value = MASK
        parts.append(f"{name}{eq}{value}")
    return "?" + "&".join(parts) + hash_ + fragment


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def mask_url(url: str | None) -> str:
    """``url`` with every secret it carries replaced by ``***``: the password of the user
    part and the values of secret-looking query parameters. ``(not set)`` for no URL."""
    if not url:
        return "(not set)"
    scheme, sep, rest = url.partition("://")
    if not sep:
        return mask_text(url)
    userinfo, host, tail = _split_authority(rest)
    if userinfo:
        user, colon, password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}@" if colon and password else f"{userinfo}@"
    return f"{scheme}://{userinfo}{host}{_mask_query(tail)}"


def mask_text(text: str) -> str:
    """Any text (error message, log line) with the secrets it may carry masked."""
    if not text:
        return text
    out = _URL_IN_TEXT.sub(_mask_url_match, text)
    return _PAIR_IN_TEXT.sub(_mask_pair, out)


def _mask_url_match(m: re.Match[str]) -> str:
    url = m.group(0)
    core = url.rstrip(".,:;!")  # sentence punctuation after a URL is not part of it
    return mask_url(core) + url[len(core):]


def _mask_pair(m: re.Match[str]) -> str:
    value = m.group("value").strip("'\"")
    if not is_secret_name(m.group("name")) or not value or value.startswith(MASK):
        return m.group(0)
    return f"{m.group('name')}{m.group('sep')}{MASK}"
