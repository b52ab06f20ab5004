"""The weekly digest's schedule as a setting: ``mon 09:00 Europe/Copenhagen``, or ``off``.

Only the reading and validating live here (settings refuse a bad value at start-up); when
the next digest falls due is worked out in ``bot.digest.weeks``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from config.policy import WEEKDAYS, check_zone, weekday_index

SCHEDULE_FORMAT = "a weekday, a 24-hour time and an IANA zone, e.g. mon 09:00 Europe/Copenhagen"
_SCHEDULE = re.compile(r"^([a-z]+)\s+(\d{1,2}):(\d{2})(?:\s+(\S+))?$")
_OFF = {"off", "none", "never", "disabled"}


@dataclass(frozen=True)
class WeeklySchedule:
    """A weekday (0 = Monday) and a local time in a zone: when the weekly digest is sent."""

    weekday: int
    time: dt.time
    zone: str

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.time:%H:%M} {self.zone}"


def parse_schedule(text: str | None) -> WeeklySchedule | None:
    """``mon 09:00 Europe/Copenhagen`` (zone optional: UTC); ``off`` (or empty) for none.

    Weekdays may be written out (``monday``) in any case. Anything else is a ``ValueError``
    whose message says what was wrong and what is accepted.
    """
    value = " ".join((text or "").split()).lower()
    if not value or value in _OFF:
        return None
    match = _SCHEDULE.match(value)
    if not match:
        raise ValueError(f"{text!r} is not a schedule; write {SCHEDULE_FORMAT}, or off")
    day, hour, minute, zone = match.groups()
    weekday = weekday_index(day)
    if weekday is None:
        raise ValueError(f"{day!r} is not a weekday; write one of {', '.join(WEEKDAYS)}")
    if int(hour) > 23 or int(minute) > 59:
        raise ValueError(f"{hour}:{minute} is not a time of day; write 00:00 to 23:59")
    original_zone = zone and text.split()[-1]  # zone names are case-sensitive
    return WeeklySchedule(
        weekday, dt.time(int(hour), int(minute)), check_zone(original_zone or "UTC")
    )
