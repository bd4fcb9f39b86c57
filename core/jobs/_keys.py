"""The key of a job request: one rule for every kind of job.

Why: two sessions asking the same question must share one job, and a different question
(or the same one on another database) must not. Trace, defect and reject requests each
wrote their own key before (a bare digest, a prefixed short digest, a readable string with
the database URL in it); now each names its kind, the fields that define its answer and,
where results depend on it, the data source, and this module turns them into
``<kind>:<digest>``. The ``<kind>:`` prefix is what ``keep_latest`` bounds per kind; the
digest is of canonical JSON (sorted keys, dates as ISO text), so equal requests built in
any order give equal keys, and nothing secret in a URL shows in a key (the System page
lists keys' jobs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

DIGEST_CHARS = 24
"""96 bits of sha256: no two requests of one process collide."""


def job_key(kind: str, fields: Mapping[str, Any], scope: str = "") -> str:
    """``<kind>:<digest of fields and scope>``; ``scope`` names the data source when the
    answer depends on it (a database URL and schema)."""
    if not kind or ":" in kind:
        raise ValueError(f"a job kind is a plain word, not {kind!r}")
    canon = json.dumps({"fields": fields, "scope": scope}, sort_keys=True, default=str,
                       ensure_ascii=False)
    return f"{kind}:{hashlib.sha256(canon.encode('utf-8')).hexdigest()[:DIGEST_CHARS]}"


def key_prefix(kind: str) -> str:
    """What every key of ``kind`` starts with (``keep_latest``'s prefix)."""
    return f"{kind}:"
