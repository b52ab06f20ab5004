"""Business calendars: a zone, business weekdays, a daily window and holidays (docs/semantics.md §1).

A window is turned into two UTC instants once per local day; everything after that is
UTC arithmetic, so a daylight-saving change never bends a deadline. A window edge that
falls in a daylight-saving gap is read as the first real instant after it (the
transition); one that falls in the repeated hour is read as its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from config.policy import CalendarSpec

UTC = dt.UTC
ONE_DAY = dt.timedelta(days=1)
_WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def as_utc(instant: dt.datetime) -> dt.datetime:
    """The same instant in UTC; a naive datetime is a bug in the caller, not a guess here."""
    if instant.tzinfo is UTC:  # the engine's own values: no conversion (the hot path)
        return instant
    if instant.tzinfo is None or instant.tzinfo.utcoffset(instant) is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no zone; pass an aware instant")
    return instant.astimezone(UTC)


@lru_cache(maxsize=512)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    """Public holidays of one year, from the ``holidays`` package."""
    import holidays  # only a calendar naming a country needs it (all ~280 countries load)

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def load_holidays(calendars: Iterable[BusinessCalendar], years: Iterable[int]) -> None:
    """Read ahead the public holidays of ``years`` for each of ``calendars`` that names a
    country. The ``holidays`` package loads all of its ~280 countries on first use (about
    0.08 s of CPU): a long-running process does it at start-up, not in its first request."""
    for calendar in calendars:
        if calendar.holiday_country is not None:
            for year in years:
                holiday_dates(calendar.holiday_country, calendar.holiday_subdivision, year)


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Business time in one zone. ``closes`` of ``None`` means midnight at the day's end."""

    zone: dt.tzinfo
    weekdays: frozenset[int]
    opens: dt.time
    closes: dt.time | None
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[dt.date] = frozenset()
    _windows: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = field(
        default_factory=dict, repr=False
    )

    @property
    def window_length(self) -> dt.timedelta:
        """The nominal length of one window: what one business day is worth (docs/semantics.md §2)."""
        opens = dt.timedelta(hours=self.opens.hour, minutes=self.opens.minute)
        closes = (
            ONE_DAY
            if self.closes is None
            else dt.timedelta(hours=self.closes.hour, minutes=self.closes.minute)
        )
        return closes - opens

    def is_holiday(self, day: dt.date) -> bool:
        if day in self.extra_holidays:
            return True
        if self.holiday_country is None:
            return False
        return day in holiday_dates(self.holiday_country, self.holiday_subdivision, day.year)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() in self.weekdays and not self.is_holiday(day)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The day's window as UTC instants ``[open, close)``, or ``None`` on a closed day."""
        try:
            return self._windows[day]
        except KeyError:
            pass
        result = None
        if self.is_business_day(day):
            opens = _instant(day, self.opens, self.zone)
            if self.closes is None:
                closes = _instant(day + ONE_DAY, dt.time(0), self.zone)
            else:
                closes = _instant(day, self.closes, self.zone)
            result = (opens, closes)
        if len(self._windows) > 20_000:
            self._windows.clear()
        self._windows[day] = result
        return result

    def local_date(self, instant: dt.datetime) -> dt.date:
        return as_utc(instant).astimezone(self.zone).date()

    def windows_from(self, instant: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Every window that ends after ``instant``, in order, clipped to start at it."""
        start = as_utc(instant)
        # A window never spans two local dates, so the first candidate is on the start's date.
        day = self.local_date(start)
        if not self.weekdays:
            return
        while True:
            window = self.window(day)
            if window is not None and window[1] > start:
                yield (max(window[0], start), window[1])
            day += ONE_DAY


def _instant(day: dt.date, time: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """The first real instant whose wall time in ``zone`` is ``day`` ``time`` or later, in UTC.

    A wall time in the repeated hour is its first occurrence (``fold=0``). One in a
    daylight-saving gap does not exist; the first real instant after it is the transition,
    which lies between the gap's two readings (``fold=1`` before it, ``fold=0`` at or after).
    """
    wall = dt.datetime.combine(day, time)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while instant - before > dt.timedelta(seconds=1):
        middle = before + dt.timedelta(seconds=(instant - before).total_seconds() // 2)
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            instant = middle
        else:
            before = middle
    return instant


def _time(text: str) -> dt.time | None:
    hours, minutes = (int(p) for p in text.split(":"))
    return None if hours == 24 else dt.time(hours, minutes)


@lru_cache(maxsize=256)
def calendar_for(spec: CalendarSpec, zone_name: str) -> BusinessCalendar:
    """The calendar of a policy in a zone (the policy's own, or the customer's)."""
    from zoneinfo import ZoneInfo

    if spec.hours is None or spec.days is None:
        weekdays: frozenset[int] = frozenset(range(7))
        opens, closes = dt.time(0), None
    else:
        weekdays = frozenset(_WEEKDAY_INDEX[d] for d in spec.days)
        opens = _time(spec.hours[0]) or dt.time(0)
        closes = _time(spec.hours[1])
    holiday = spec.holidays
    return BusinessCalendar(
        zone=ZoneInfo(zone_name),
        weekdays=weekdays,
        opens=opens,
        closes=closes,
        holiday_country=holiday.country if holiday else None,
        holiday_subdivision=holiday.subdivision if holiday else None,
        extra_holidays=frozenset(holiday.extra) if holiday else frozenset(),
    )
