"""Result cache for small traces: domain Parquet bytes keyed by a digest of sorted ids.

Why: repeated traces of the same lots should not re-query the warehouse, but the
incident's cache server timed out on a huge result. So only container sets of at most
``settings.cache_max_ids`` are cached anywhere; above it ``DomainCache.key`` returns None
and nothing is stored (not in memory, not in Redis). Keys are a SHA-256 of the sorted
ids (never the list itself), the database and the domain's version.

Levels: a small process-local LRU (bounded by entries and bytes: ``trace_cache_entries``,
``trace_cache_mb``; owned by whoever holds the DomainCache — the page keeps one per
process inside its st.cache_resource job manager, because trace jobs run on background
threads where st.cache_data must not be called), then Redis when ``settings.redis_url`` is
set, shared across processes, storing Parquet bytes with TTL ``settings.cache_ttl_s``.
Redis trouble is never an error: the cache is skipped.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from core.db import IdSet

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings

KEY_PREFIX = "mesdash:trace:v1"


def ids_digest(ids: Sequence[str]) -> str:
    """SHA-256 of the sorted unique ids (the cache key part; the list is never hashed
    by a cache framework)."""
    h = hashlib.sha256()
    for cid in sorted(set(ids)):
        h.update(cid.encode())
        h.update(b"\n")
    return h.hexdigest()


class DomainCache:
    def __init__(self, settings: Settings, *, memory: bool = True) -> None:
        self.settings = settings
        self.max_ids = settings.cache_max_ids
        self.ttl_s = settings.cache_ttl_s
        self.memory_max_entries = settings.trace_cache_entries
        self.memory_max_bytes = settings.trace_cache_mb * 1024 * 1024
        self._memory: OrderedDict[str, tuple[float, bytes]] | None = (
            OrderedDict() if memory else None
        )
        self._lock = threading.Lock()
        self._redis: Any = None
        if settings.redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                settings.redis_url, socket_timeout=settings.redis_timeout_s,
                socket_connect_timeout=settings.redis_timeout_s,
            )
        db = hashlib.sha256(
            f"{settings.effective_db_url}|{settings.schema}".encode()
        ).hexdigest()[:16]
        self.namespace = f"{KEY_PREFIX}:{db}"
        self.hits = 0
        self.misses = 0
        self.stores = 0

    def key(self, domain: str, ids: IdSet, version: str = "") -> str | None:
        """The cache key, or None when the set is too large to cache (or caching is off).
        ``ids`` may be an Arrow array: it is only turned into Python strings when small."""
        if not len(ids) or len(ids) > self.max_ids:
            return None
        if isinstance(ids, pa.Array | pa.ChunkedArray):
            ids = ids.to_pylist()
        return f"{self.namespace}:{domain}{version}:{ids_digest(ids)}"

    def get(self, key: str | None) -> bytes | None:
        if key is None:
            return None
        now = time.monotonic()
        if self._memory is not None:
            with self._lock:
                hit = self._memory.get(key)
                if hit is not None and hit[0] > now:
                    self._memory.move_to_end(key)
                    self.hits += 1
                    return hit[1]
                if hit is not None:
                    del self._memory[key]
        if self._redis is not None:
            try:
                data = self._redis.get(key)
            except Exception:  # a cache is optional: Redis down means no cache
                data = None
            if data is not None:
                self._remember(key, data)
                self.hits += 1
                return bytes(data)
        self.misses += 1
        return None

    def put(self, key: str | None, data: bytes) -> None:
        if key is None:
            return
        self._remember(key, data)
        if self._redis is not None:
            try:
                self._redis.set(key, data, ex=int(self.ttl_s))
            except Exception:  # see get()
                pass
        self.stores += 1

    def _remember(self, key: str, data: bytes) -> None:
        if self._memory is None or len(data) > self.memory_max_bytes // 4:
            return
        with self._lock:
            self._memory[key] = (time.monotonic() + self.ttl_s, data)
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_max_entries or (
                sum(len(v[1]) for v in self._memory.values()) > self.memory_max_bytes
            ):
                self._memory.popitem(last=False)

    def memory_keys(self) -> list[str]:
        if self._memory is None:
            return []
        with self._lock:
            return list(self._memory)

    def close(self) -> None:
        if self._redis is not None:
            try:
                self._redis.close()
            except Exception:
                pass
