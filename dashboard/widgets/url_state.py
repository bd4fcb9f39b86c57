"""Controls seeded from the URL, and a reset the browser sees (issue 19, item 1).

Why: a browser keeps showing a control's own value unless the server sends it one. The
WIP hold page's "Reset filters" deleted its controls' session state: the server fell back
to the defaults (All, 48 lots) while the browser kept showing Quality, and sent Quality
back on the next click (switching to Hold history re-applied type=quality). Setting a
control's state (``st.session_state[key] = value``) is sent to the browser; deleting it
is not. So:

- ``seed``: a control's first value comes from the URL (a shared link) and is put in the
  session state before the control is drawn (no ``default=``: a default beside a session
  value is Streamlit's "set twice" warning, and it is ignored after the first run anyway);
- ``reset_controls`` (an ``on_click`` callback) sets each control to its default value and
  removes their URL parameters, so the control, the URL and the data agree at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st


def seed(key: str, value: Any) -> None:
    """The control ``key`` starts at ``value`` (from the URL) unless it has a value."""
    if key not in st.session_state:
        st.session_state[key] = value


def reset_controls(defaults: Mapping[str, Any], params: Iterable[str],
                   forget: Iterable[str] = ()) -> None:
    """Set every control of ``defaults`` to its value, drop URL ``params``, and forget
    the state of ``forget`` (chart selections: they cannot be set, only dropped)."""
    for key, value in defaults.items():
        st.session_state[key] = list(value) if isinstance(value, list) else value
    for key in forget:
        st.session_state.pop(key, None)
    for name in params:
        if name in st.query_params:
            del st.query_params[name]
