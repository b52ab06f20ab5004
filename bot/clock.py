"""Where services get the time. Time is injected: tests move it instead of sleeping."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, UTC-aware."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Wait ``seconds`` of this clock's time (or until ``wake`` is set)."""


class SystemClock:
    """Real time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        if wake is None:
            time.sleep(max(0.0, seconds))
        else:
            wake.wait(max(0.0, seconds))


class ScaledClock:
    """Real time running ``speed`` times faster from the moment it is made (drills: ``--speed 60``)."""

    def __init__(self, speed: float, origin: dt.datetime | None = None):
        if speed <= 0:
            raise ValueError("speed must be above zero")
        self.speed = speed
        self._origin = origin or dt.datetime.now(dt.UTC)
        self._started = time.monotonic()

    def now(self) -> dt.datetime:
        elapsed = (time.monotonic() - self._started) * self.speed
        return self._origin + dt.timedelta(seconds=elapsed)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        SystemClock().sleep(seconds / self.speed, wake)


class ManualClock:
    """A clock that only moves when told (tests)."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        with self._lock:
            self._now += delta if delta is not None else dt.timedelta(**kwargs)
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(dt.UTC)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        self.advance(dt.timedelta(seconds=max(0.0, seconds)))
