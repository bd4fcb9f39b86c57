"""The deadline watchdog (core.db._watchdog): one thread fires due actions, never
cancelled ones, earliest first, and a cancel is final once it returns."""

from __future__ import annotations

import threading

from core.db._watchdog import Watchdog


def test_fires_due_actions_in_deadline_order() -> None:
    dog = Watchdog()
    fired: list[str] = []
    done = threading.Event()
    dog.schedule(0.15, lambda: (fired.append("late"), done.set()))
    early = dog.schedule(0.01, lambda: fired.append("early"))
    assert done.wait(5)
    assert fired == ["early", "late"]
    assert early.fired and dog.pending() == 0


def test_cancelled_deadlines_never_fire() -> None:
    dog = Watchdog()
    fired: list[int] = []
    marks = [dog.schedule(0.02, lambda i=i: fired.append(i)) for i in range(200)]
    for m in marks:
        m.cancel()
    sentinel = threading.Event()
    dog.schedule(0.05, sentinel.set)  # fires after every cancelled one was due
    assert sentinel.wait(5)
    assert fired == []
    assert not any(m.fired for m in marks)
    assert dog.pending() == 0


def test_a_failing_action_does_not_stop_the_watchdog() -> None:
    dog = Watchdog()

    def boom() -> None:
        raise RuntimeError("connection closed")

    dog.schedule(0.0, boom)
    ok = threading.Event()
    dog.schedule(0.01, ok.set)
    assert ok.wait(5)


def test_cancel_waits_for_a_running_action() -> None:
    dog = Watchdog()
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow_interrupt() -> None:
        started.set()
        release.wait(5)
        finished.append(True)

    mark = dog.schedule(0.0, slow_interrupt)
    assert started.wait(5)
    t = threading.Thread(target=mark.cancel)
    t.start()
    t.join(0.05)
    assert t.is_alive()  # cancel blocks while the interrupt runs ...
    release.set()
    t.join(5)
    assert finished == [True] and mark.fired  # ... and returns after it ended
