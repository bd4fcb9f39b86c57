"""The slow lane's throttle: at most N heavy queries at once, across every process.

Why: in the incident ~230 batch queries of one trace went to the database while the live
widgets waited behind them. A permit is needed for each slow-lane query; a caller that
cannot get one within ``slow_wait_s`` gets LaneBusy ("try again in N s"), never a hang.

Design:
- LocalThrottle: a semaphore for one process (no Redis configured).
- RedisThrottle: a counting semaphore in one sorted set (member = permit token, score =
  lease expiry in Redis server time). Acquire is one Lua script: drop expired leases,
  take a place if fewer than N are held. A background thread renews held leases every
  lease/3, so a holder that dies loses its permit at most one lease later. Waiters are
  kept in a second sorted set (with leases too) for the statistics.
- FailoverThrottle: Redis when it answers, else the local throttle with a "degraded"
  status; Redis is tried again after a pause. The dashboard keeps working with Redis down.
  Falling back is news for whoever is running something: once per outage it is logged as
  ``DEGRADED_NOTICE`` on the ``mesdash.notice`` logger (the CLI prints that logger's
  records as lines of their own), and ``degraded`` tells a page without a round trip.

"Try again in N s" (``free_in_s``): the time until a held permit must be free. A holder in
this process frees its permit by its query's driver-enforced deadline (``hold_max_s``
after it took it); a holder in another process is known only by its lease, which lapses
at most one lease after its holder stops renewing. The earliest of those, capped at the
lease: never a fixed small number that sends everyone back while the permits are still
held.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.db._cancel import CancelToken
from core.db._errors import LaneBusy, QueryCancelled
from core.redact import mask_text

log = logging.getLogger("mesdash.notice")

POLL_MIN_S = 0.01
POLL_MAX_S = 0.2
REDIS_RETRY_S = 15.0
DEGRADED_NOTICE = (
    "degraded: the shared throttle (Redis) is unreachable: this process limits itself alone"
)


@dataclass
class Permit:
    token: str
    issuer: Throttle


class Throttle:
    kind = "none"

    def __init__(self, permits: int, lane: str = "slow", lease_s: float = 30.0) -> None:
        self.permits = permits
        self.lane = lane
        self.lease_s = lease_s
        self._since: dict[str, float] = {}  # permits held by this process: monotonic start

    def _took(self, permit: Permit) -> Permit:
        self._since[permit.token] = time.monotonic()
        return permit

    def _gave_back(self, permit: Permit) -> None:
        self._since.pop(permit.token, None)

    def _own_free_in_s(self, hold_max_s: float) -> float | None:
        """Seconds until this process's oldest held permit reaches ``hold_max_s``."""
        starts = list(self._since.values())
        if not starts:
            return None
        return max(0.0, min(starts) + hold_max_s - time.monotonic())

    def _others_free_in_s(self) -> float | None:
        """Seconds until the earliest lease held by another process lapses (None: no
        other holders, or none this throttle can see)."""
        return None

    def free_in_s(self, hold_max_s: float) -> float:
        """Seconds until a held permit must be free, at most the lease (see the module
        docstring): ``hold_max_s`` is how long a holder here may keep one (the lane's
        deadline). 0 when no permit is held."""
        known = [t for t in (self._own_free_in_s(hold_max_s), self._others_free_in_s())
                 if t is not None]
        return min(self.lease_s, min(known)) if known else 0.0

    def try_acquire(self) -> Permit | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self, permit: Permit) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def in_use(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def waiting(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _wait_enter(self) -> Any:
        return None

    def _wait_leave(self, handle: Any) -> None:
        return None

    def acquire(
        self, timeout_s: float, cancel: CancelToken | None = None,
        retry_hint_s: float | Callable[[], float] | None = None,
    ) -> Permit:
        """A permit, or LaneBusy after ``timeout_s``, or QueryCancelled. ``retry_hint_s``
        may be a callable: it is then evaluated only when the caller really is told
        'busy' (a Redis round trip has no place on the fast path). None: the time until a
        held permit must be free, holders here counted as holding it one lease at most."""
        if retry_hint_s is None:
            retry_hint_s = functools.partial(self.free_in_s, self.lease_s)
        permit = self.try_acquire()
        if permit is not None:
            return permit
        deadline = time.monotonic() + timeout_s
        delay = POLL_MIN_S
        handle = self._wait_enter()
        try:
            while True:
                if cancel is not None and cancel.cancelled:
                    raise QueryCancelled(self.lane)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LaneBusy(
                        self.lane,
                        f"{self.in_use()} of {self.permits} heavy queries running, "
                        f"{self.waiting()} waiting",
                        retry_hint_s() if callable(retry_hint_s) else retry_hint_s,
                    )
                pause = min(delay, remaining)
                if cancel is not None:
                    cancel.wait(pause)
                else:
                    time.sleep(pause)
                delay = min(delay * 2, POLL_MAX_S)
                permit = self.try_acquire()
                if permit is not None:
                    return permit
        finally:
            self._wait_leave(handle)

    @contextmanager
    def permit(
        self, timeout_s: float, cancel: CancelToken | None = None,
        retry_hint_s: float | Callable[[], float] | None = None,
    ) -> Iterator[Permit]:
        p = self.acquire(timeout_s, cancel, retry_hint_s)
        try:
            yield p
        finally:
            p.issuer.release(p)

    @property
    def degraded(self) -> bool:
        """Working in a degraded mode now (no round trip: for every page run)."""
        return False

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "degraded": False,
            "detail": "",
            "permits": self.permits,
            "in_use": self.in_use(),
            "waiting": self.waiting(),
        }

    def close(self) -> None:
        return None


class LocalThrottle(Throttle):
    """A process-local counting semaphore."""

    kind = "local"

    def __init__(self, permits: int, lane: str = "slow", lease_s: float = 30.0) -> None:
        super().__init__(permits, lane, lease_s)
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._waiting = 0

    def try_acquire(self) -> Permit | None:
        with self._lock:
            if len(self._held) >= self.permits:
                return None
            token = uuid.uuid4().hex
            self._held.add(token)
            return self._took(Permit(token, self))

    def release(self, permit: Permit) -> None:
        with self._lock:
            self._held.discard(permit.token)
            self._gave_back(permit)

    def in_use(self) -> int:
        with self._lock:
            return len(self._held)

    def waiting(self) -> int:
        return self._waiting

    def _wait_enter(self) -> Any:
        with self._lock:
            self._waiting += 1
        return None

    def _wait_leave(self, handle: Any) -> None:
        with self._lock:
            self._waiting -= 1


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
  return 1
end
return 0
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local kept = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    kept = kept + 1
  end
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 4)
return kept
"""

_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""

_LEASES = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local held = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
for i = 1, #held, 2 do
  out[#out + 1] = held[i]
  out[#out + 1] = tostring(math.floor(tonumber(held[i + 1]) - now))
end
return out
"""


class RedisThrottle(Throttle):
    """A counting semaphore in Redis with leases renewed while held."""

    kind = "redis"

    def __init__(
        self,
        client: Any,
        permits: int,
        *,
        name: str,
        lease_s: float,
        lane: str = "slow",
    ) -> None:
        super().__init__(permits, lane, lease_s)
        self.client = client
        self.key = f"mesdash:throttle:{name}"
        self.wait_key = f"{self.key}:waiting"
        self.lease_ms = max(1000, int(lease_s * 1000))
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._count = client.register_script(_COUNT)
        self._leases = client.register_script(_LEASES)
        self._held: set[str] = set()
        self._waiters: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _ensure_renewer(self) -> None:
        if self._renewer is None or not self._renewer.is_alive():
            self._renewer = threading.Thread(
                target=self._renew_loop, name="mesdash-throttle-renew", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000.0):
            with self._lock:
                held, waiters = list(self._held), list(self._waiters)
            try:
                if held:
                    self._renew(keys=[self.key], args=[self.lease_ms, *held])
                if waiters:
                    self._renew(keys=[self.wait_key], args=[self.lease_ms, *waiters])
            except Exception:  # Redis down: leases lapse; the failover notices on use
                pass

    def try_acquire(self) -> Permit | None:
        token = uuid.uuid4().hex
        if self._acquire(keys=[self.key], args=[self.permits, self.lease_ms, token]) == 1:
            with self._lock:
                self._held.add(token)
                permit = self._took(Permit(token, self))
            self._ensure_renewer()
            return permit
        return None

    def release(self, permit: Permit) -> None:
        with self._lock:
            self._held.discard(permit.token)
            self._gave_back(permit)
        try:
            self.client.zrem(self.key, permit.token)
        except Exception:  # the lease expires by itself
            pass

    def in_use(self) -> int:
        return int(self._count(keys=[self.key]))

    def _others_free_in_s(self) -> float | None:
        with self._lock:
            mine = set(self._held)
        leases = self._leases(keys=[self.key])
        left = [int(ms) for token, ms in zip(leases[::2], leases[1::2], strict=True)
                if token.decode() not in mine]
        return max(0.0, min(left) / 1000.0) if left else None

    def waiting(self) -> int:
        return int(self._count(keys=[self.wait_key]))

    def _wait_enter(self) -> Any:
        token = uuid.uuid4().hex
        try:
            self.client.zadd(self.wait_key, {token: time.time() * 1000 + self.lease_ms})
            # scores must be in Redis time for _COUNT; renew puts them there
            self._renew(keys=[self.wait_key], args=[self.lease_ms, token])
        except Exception:
            return None
        with self._lock:
            self._waiters.add(token)
        self._ensure_renewer()
        return token

    def _wait_leave(self, handle: Any) -> None:
        if handle is None:
            return
        with self._lock:
            self._waiters.discard(handle)
        try:
            self.client.zrem(self.wait_key, handle)
        except Exception:
            pass

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            held = list(self._held)
            self._held.clear()
        for token in held:
            try:
                self.client.zrem(self.key, token)
            except Exception:
                pass


class FailoverThrottle(Throttle):
    """Redis when reachable, else the local throttle, reported as degraded."""

    def __init__(self, redis_throttle: RedisThrottle, local: LocalThrottle) -> None:
        super().__init__(local.permits, local.lane, redis_throttle.lease_s)
        self.redis = redis_throttle
        self.local = local
        self._down_since: float | None = None
        self._last_error = ""
        self._announced = False  # this outage's notice is out; reset when Redis answers
        self.fallbacks = 0  # times this throttle went from Redis to the local one

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "local" if self._using_local() else "redis"

    def _using_local(self) -> bool:
        return self._down_since is not None and (
            time.monotonic() - self._down_since < REDIS_RETRY_S
        )

    @property
    def degraded(self) -> bool:
        return self._using_local()

    def _redis_failed(self, exc: Exception) -> None:
        if not self._using_local():
            self.fallbacks += 1
        self._down_since = time.monotonic()
        self._last_error = mask_text(f"{type(exc).__name__}: {exc}")
        if not self._announced:
            self._announced = True
            log.warning("%s (%s).", DEGRADED_NOTICE, self._last_error)

    def _redis_answered(self) -> None:
        self._down_since = None
        self._announced = False

    def try_acquire(self) -> Permit | None:
        if not self._using_local():
            try:
                permit = self.redis.try_acquire()
                self._redis_answered()
                return permit
            except Exception as exc:
                self._redis_failed(exc)
        return self.local.try_acquire()

    def release(self, permit: Permit) -> None:
        permit.issuer.release(permit)

    def in_use(self) -> int:
        if not self._using_local():
            try:
                return self.redis.in_use()
            except Exception as exc:
                self._redis_failed(exc)
        return self.local.in_use()

    def free_in_s(self, hold_max_s: float) -> float:
        if not self._using_local():
            try:
                return self.redis.free_in_s(hold_max_s)
            except Exception as exc:
                self._redis_failed(exc)
        return self.local.free_in_s(hold_max_s)

    def waiting(self) -> int:
        if not self._using_local():
            try:
                return self.redis.waiting()
            except Exception as exc:
                self._redis_failed(exc)
        return self.local.waiting()

    def _wait_enter(self) -> Any:
        return ("local", self.local._wait_enter()) if self._using_local() else (
            "redis", self.redis._wait_enter()
        )

    def _wait_leave(self, handle: Any) -> None:
        which, inner = handle
        (self.local if which == "local" else self.redis)._wait_leave(inner)

    def status(self) -> dict[str, Any]:
        st = super().status()
        if self._using_local():
            st.update(
                kind="local",
                degraded=True,
                detail=f"Redis unreachable ({self._last_error}); using a process-local "
                "throttle, so the cap holds per process only.",
            )
        else:
            st.update(kind="redis", detail=f"shared via Redis key {self.redis.key}")
        return st

    def close(self) -> None:
        self.redis.close()


def throttle_name(db_url: str, lane: str) -> str:
    """One throttle per database: processes on the same warehouse share its permits."""
    digest = hashlib.sha1(db_url.encode("utf-8")).hexdigest()[:12]
    return f"{lane}:{digest}"


def make_throttle(
    permits: int, *, redis_url: str | None, db_url: str, lease_s: float, timeout_s: float,
    lane: str = "slow",
) -> Throttle:
    local = LocalThrottle(permits, lane, lease_s)
    if not redis_url:
        return local
    import redis

    client = redis.Redis.from_url(
        redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        health_check_interval=30,
    )
    remote = RedisThrottle(
        client, permits, name=throttle_name(db_url, lane), lease_s=lease_s, lane=lane
    )
    return FailoverThrottle(remote, local)
