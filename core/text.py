"""User- and data-derived text inside Streamlit markdown, shown literally.

Why: Streamlit renders markdown (GitHub flavour, plus its own ``:red[...]``,
``:material/...:`` and ``$...$`` extensions) in st.markdown, st.caption, the alert boxes,
expander and tab labels and help tooltips. A value from a shared link or from the data
(a lot name, a loss or hold reason, a station) placed there unescaped is markup: a link
``[Session expired](https://evil.example)`` in the dashboard's own warning box, or an image
``![b](http://host/beacon.png)`` that every viewer's browser fetches. ``md_escape`` is the
one helper: it puts a backslash before every ASCII punctuation character (CommonMark
allows it for each of them), so no link, image, raw HTML (``<``), emphasis or Streamlit
directive remains. Bare URLs and e-mail addresses are another matter: GitHub-flavoured
markdown links them *after* the escapes are undone (remark-gfm finds ``http://``,
``www.`` and ``name@host.tld`` in the parsed text; seen in Chromium), so an invisible
WORD JOINER (U+2060) is put inside each such pattern (after ``:`` before ``//``, after
``www``, after ``@``): the text reads the same and is no longer a link. ``plain`` turns a
markdown text built here back into plain text for the command line.

Dataframes, select boxes and download names render text literally and need nothing;
plotly labels have their own escape (dashboard/widgets/charts.py ``plot_label``).
"""

from __future__ import annotations

import re
import string
from typing import Any

_SPECIAL = frozenset(string.punctuation)  # every ASCII punctuation character
_ESCAPED = re.compile(r"\\([" + re.escape(string.punctuation) + r"])")
_JOINER = "\u2060"  # WORD JOINER: invisible, and no word character to a link finder
# where GFM's autolink finder would start (in escaped text): "scheme:" before "//",
# "www" before ".", "@" before a host
_AUTOLINK = re.compile(r"(\\:)(?=\\/\\/)|(?<![^\W_])(www)(?=\\\.)|(\\@)", re.I)
_JOINED = re.compile(r"(\\:|www|\\@)" + _JOINER, re.I)


def md_escape(value: Any) -> str:
    """``value`` as text that Streamlit markdown shows literally (no link, image, HTML,
    emphasis, colour, icon or formula). None is an empty text."""
    if value is None:
        return ""
    text = str(value)
    out = "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)
    out = _AUTOLINK.sub(lambda m: m.group(0) + _JOINER, out)
    # line breaks stay text: a newline could end the paragraph (a new heading or list)
    return out.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def md_join(values: Any, sep: str = ", ") -> str:
    """Several values escaped one by one and joined (the separator is ours, not data)."""
    return sep.join(md_escape(v) for v in values)


def md_unescape(markdown: str) -> str:
    """``md_escape`` undone (the product's own markdown, bold included, is kept)."""
    return _ESCAPED.sub(r"\1", _JOINED.sub(r"\1", markdown))


def plain(markdown: str) -> str:
    """A markdown text built in this product (bold and ``md_escape``d values) as plain
    text for a terminal: ``**`` markers dropped, escapes undone."""
    return md_unescape(re.sub(r"(?<!\\)\*\*", "", markdown))
