"""The two clocks a target runs on (docs/semantics.md §2).

``WallClock`` counts every real second (``24x7``); ``BusinessClock`` counts only seconds
inside its calendar's windows. Both answer the same three questions: how long a contract
duration is on this clock, when an amount of clock time starting at an instant is used up
(``deadline``), and how much clock time lies between two instants (``elapsed``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bot.sla.calendar import BusinessCalendar, as_utc
from config.policy import ClockKind, Duration

ZERO = dt.timedelta(0)


class SlaClock(Protocol):
    kind: ClockKind

    def length(self, duration: Duration) -> dt.timedelta: ...

    def deadline(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime: ...

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta: ...


_UNIT_LENGTH = {"m": dt.timedelta(minutes=1), "h": dt.timedelta(hours=1)}


@dataclass(frozen=True)
class WallClock:
    """Elapsed real time: ``start + 4h`` is four real hours later, across DST too."""

    kind: ClockKind = ClockKind.WALL

    def length(self, duration: Duration) -> dt.timedelta:
        if duration.unit == "d":
            return duration.amount * dt.timedelta(hours=24)
        if duration.unit in _UNIT_LENGTH:
            return duration.amount * _UNIT_LENGTH[duration.unit]
        raise ValueError(f"{duration} counts business time; the 24x7 clock has no business days")

    def deadline(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        return as_utc(start) + amount

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        return as_utc(b) - as_utc(a)

    def __str__(self) -> str:
        return "24x7"


@dataclass(frozen=True)
class BusinessClock:
    """Time inside the calendar's windows; one business day is one window's length."""

    calendar: BusinessCalendar
    kind: ClockKind = ClockKind.BUSINESS

    def length(self, duration: Duration) -> dt.timedelta:
        if duration.unit in ("d", "bd"):
            return duration.amount * self.calendar.window_length
        if duration.unit == "bh":
            return duration.amount * _UNIT_LENGTH["h"]
        return duration.amount * _UNIT_LENGTH[duration.unit]

    def deadline(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant at which ``amount`` of in-window time since ``start`` is used up.

        Time used up exactly at a window's close ends at the close, not at the next opening.
        """
        start = as_utc(start)
        if amount <= ZERO:
            return start
        remaining = amount
        for opens, closes in self.calendar.windows_from(start):
            available = closes - opens
            if remaining <= available:
                return opens + remaining
            remaining -= available
        raise ValueError("the calendar has no business time")  # pragma: no cover

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        a, b = as_utc(a), as_utc(b)
        if b < a:
            return -self.elapsed(b, a)
        total = ZERO
        for opens, closes in self.calendar.windows_from(a):
            if opens >= b:
                break
            total += min(closes, b) - opens
        return total

    def __str__(self) -> str:
        return "business"


def clock_for(kind: ClockKind, calendar: BusinessCalendar) -> SlaClock:
    return WallClock() if kind is ClockKind.WALL else BusinessClock(calendar)
