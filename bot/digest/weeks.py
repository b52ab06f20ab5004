"""ISO weeks and the digest's schedule, as instants. Pure: time is a parameter.

A week runs Monday 00:00 to the next Monday 00:00 in a zone (the schedule's), so a
Copenhagen week is 168 hours long except in the weeks the clocks change (167 and 169).
The digest sent at a scheduled instant covers the last *complete* week before it: on
``mon 09:00`` that is the week that ended nine hours earlier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from config.schedule import WeeklySchedule

UTC = dt.UTC
WEEK_FORMAT = "YYYY-Www, e.g. 2026-W44"
_WEEK = re.compile(r"^(\d{4})-?[Ww](\d{1,2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @property
    def label(self) -> str:
        """``2026-W44``."""
        return f"{self.year:04d}-W{self.week:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    def bounds(self, zone: str) -> tuple[dt.datetime, dt.datetime]:
        """``[Monday 00:00, next Monday 00:00)`` in ``zone``, as UTC."""
        tz = ZoneInfo(zone)
        start, end = self.monday, self.monday + dt.timedelta(days=7)
        return (
            dt.datetime(start.year, start.month, start.day, tzinfo=tz).astimezone(UTC),
            dt.datetime(end.year, end.month, end.day, tzinfo=tz).astimezone(UTC),
        )

    def days_text(self) -> str:
        """``26 Oct – 1 Nov 2026``."""
        first, last = self.monday, self.monday + dt.timedelta(days=6)
        head = f"{first.day} {first:%b}" + ("" if first.year == last.year else f" {first.year}")
        return f"{head} – {last.day} {last:%b} {last.year}"

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - dt.timedelta(days=7))

    @classmethod
    def of(cls, day: dt.date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def containing(cls, instant: dt.datetime, zone: str) -> IsoWeek:
        return cls.of(instant.astimezone(ZoneInfo(zone)).date())


def parse_week(text: str) -> IsoWeek:
    """``2026-W44`` (also ``2026w44``); a ``ValueError`` says what is accepted."""
    match = _WEEK.match((text or "").strip())
    if not match:
        raise ValueError(f"{text!r} is not an ISO week; write {WEEK_FORMAT}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        weeks = dt.date(year, 12, 28).isocalendar()[1]
        raise ValueError(
            f"{year} has weeks 1 to {weeks}, not {week}; write {WEEK_FORMAT}"
        ) from None
    return IsoWeek(year, week)


def last_complete_week(now: dt.datetime, zone: str) -> IsoWeek:
    """The most recent week (in ``zone``) that has ended by ``now``."""
    return IsoWeek.containing(now, zone).previous()


def latest_occurrence(schedule: WeeklySchedule, now: dt.datetime) -> dt.datetime:
    """The latest scheduled instant at or before ``now`` (UTC).

    A local time that a spring-forward change skips is read as the same wall time on the
    offset before the gap (zoneinfo's reading), an instant just after the gap.
    """
    tz = ZoneInfo(schedule.zone)
    local = now.astimezone(tz)
    day = local.date() - dt.timedelta(days=(local.weekday() - schedule.weekday) % 7)
    while True:
        at = dt.datetime.combine(day, schedule.time, tzinfo=tz).astimezone(UTC)
        if at <= now:
            return at
        day -= dt.timedelta(days=7)


def due_week(schedule: WeeklySchedule, occurrence: dt.datetime) -> IsoWeek:
    """The week the digest sent at ``occurrence`` covers: the last one complete by then."""
    return last_complete_week(occurrence, schedule.zone)
