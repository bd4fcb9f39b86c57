"""First run without a configured database: build the embedded demo DuckDB file safely.

Why: `streamlit run dashboard/app.py` must work on a fresh checkout with nothing configured,
so the app builds its demo database the first time. Two browser tabs (two sessions) may
start at once, and a build can be interrupted; a half-built file must never be opened as if
it were complete. So: a file lock next to the database file serialises builders (the
loser waits, then finds the file ready); the build writes a temporary file that is renamed
onto the final name only when it is complete (a rename is atomic on one file system).

No Streamlit here: the frame (app.py) shows the progress this module reports.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.config import Settings

Progress = Callable[[str, float], None]

LOCK_POLL_S = 0.5  # how often a waiting session re-tries the lock
BUILDING_MARK = ".building-"


def demo_path(settings: Settings) -> Path:
    return Path(settings.demo_db_path).resolve()


def demo_needed(settings: Settings) -> bool:
    """True when the app runs on the demo database and its file does not exist yet."""
    return settings.uses_demo and not demo_path(settings).exists()


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def file_lock(path: Path, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes; calls ``on_wait`` once if it waits.

    The operating system releases the lock when its holder dies, so a crashed build never
    leaves the others waiting forever.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            if on_wait is not None:
                on_wait()
            while not _try_lock(fd):
                time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def build_demo_file(
    settings: Settings,
    *,
    progress: Progress | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Any | None:
    """Build the demo file if it is still missing; return build_demo's summary, or None
    when another session built it meanwhile."""
    from core.demo import build_demo

    target = demo_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(target.name + ".lock")
    with file_lock(lock, on_wait=on_wait):
        if target.exists():
            return None  # built by the session we waited for
        # Holding the lock, any temporary file left here belongs to a build that died.
        for stale in target.parent.glob(f"{target.name}{BUILDING_MARK}*"):
            _remove(stale)
        tmp = target.with_name(f"{target.name}{BUILDING_MARK}{os.getpid()}")
        try:
            summary = build_demo(
                f"duckdb:///{tmp}",
                scale=settings.demo_scale,
                schema=settings.schema,
                progress=progress,
                replace=True,
            )
            wal = tmp.with_name(tmp.name + ".wal")
            if wal.exists():
                # Opening and closing the file replays and checkpoints its log, so the
                # renamed file is complete on its own.
                import duckdb

                duckdb.connect(str(tmp)).close()
            os.replace(tmp, target)
        except BaseException:
            _remove(tmp)
            raise
        return summary
