"""Business deadlines against a slow, obvious reference: step minute by minute and count.

The reference knows nothing of the engine: for each UTC minute from the start it asks
whether the local wall time in the calendar's zone is on a business weekday, not a holiday
(the ``holidays`` package), and within ``[open, close)``; the deadline is the end of the
minute in which the counted minutes reach the target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sla.calendar import calendar_for
from bot.sla.clocks import BusinessClock, WallClock
from bot.sla.timers import TimerKind, due_at
from config.policy import CalendarSpec, HolidaySpec
from tests.sla.conftest import POLICIES

UTC = dt.UTC
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
FIRST = dt.datetime(2026, 1, 1, tzinfo=UTC)
END = dt.datetime(2029, 1, 1, tzinfo=UTC)
ZONES = ("Europe/Copenhagen", "America/New_York", "Australia/Lord_Howe")  # Lord Howe: 30-min DST
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def dst_changes(zone_name: str) -> tuple[dt.datetime, ...]:
    """The hours in 2026–2028 at which the zone's UTC offset has just changed."""
    zone, found = ZoneInfo(zone_name), []
    instant, offset = FIRST, FIRST.astimezone(zone).utcoffset()
    while instant < END:
        instant += HOUR
        if (now := instant.astimezone(zone).utcoffset()) != offset:
            found.append(instant)
            offset = now
    return tuple(found)


HOLIDAY_SEASONS = tuple(
    dt.datetime(*day, tzinfo=UTC)
    for day in [
        (2026, 4, 2), (2027, 3, 25), (2028, 4, 13),  # Maundy Thursday (DK)
        (2026, 12, 24), (2027, 12, 24), (2028, 12, 22),  # Christmas
        (2026, 11, 26), (2027, 11, 25), (2028, 11, 23),  # Thanksgiving (US)
        (2026, 7, 3), (2027, 12, 31),  # observed Independence Day, New Year's Eve
    ]
)  # fmt: skip


def minutes_of(clock_time: str) -> int:
    hours, minutes = clock_time.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Calendar:
    zone: str
    weekdays: frozenset[int]
    opens: str  # "HH:MM", as in a policy file
    closes: str  # "24:00" is midnight at the day's end
    country: str | None

    @property
    def window_minutes(self) -> int:
        return minutes_of(self.closes) - minutes_of(self.opens)

    def clock(self) -> BusinessClock:
        """The engine's clock, built the way a policy file builds it."""
        spec = CalendarSpec(
            timezone=self.zone,
            days=tuple(DAY_NAMES[d] for d in sorted(self.weekdays)),
            hours=(self.opens, self.closes),
            holidays=HolidaySpec(country=self.country) if self.country else None,
        )
        return BusinessClock(calendar_for(spec, self.zone))

    def in_window(self, minute: dt.datetime) -> bool:
        local = minute.astimezone(ZoneInfo(self.zone))
        local_minute = local.hour * 60 + local.minute
        return (
            local.weekday() in self.weekdays
            and local.date() not in public_holidays(self.country)
            and minutes_of(self.opens) <= local_minute < minutes_of(self.closes)
        )


@cache
def public_holidays(country: str | None):
    return holidays.country_holidays(country) if country else {}


def reference_deadline(calendar: Calendar, start: dt.datetime, target_minutes: int) -> dt.datetime:
    minute, used = start, 0
    while True:
        inside = calendar.in_window(minute)
        minute += MINUTE
        used += inside
        if used == target_minutes:
            return minute


def clock_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def calendars(draw, step: int = 60) -> Calendar:
    """Random calendars; window edges on whole hours unless ``step`` (minutes) says finer."""
    opens = draw(st.integers(0, 24 * 60 // step - 1)) * step
    closes = draw(st.integers(opens // step + 1, 24 * 60 // step)) * step
    return Calendar(
        zone=draw(st.sampled_from(ZONES)),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        opens=clock_time(opens),
        closes=clock_time(closes),
        country=draw(st.sampled_from([None, "DK", "US"])),
    )


def starts(zone: str, resolution: dt.timedelta = MINUTE) -> st.SearchStrategy[dt.datetime]:
    """Instants in 2026–2028, often within days of a DST change or a holiday season."""
    steps = int((END - FIRST) / resolution)
    uniform = st.integers(0, steps - 1).map(lambda n: FIRST + n * resolution)
    reach = int(dt.timedelta(days=4) / resolution)
    near = st.builds(
        lambda anchor, n: anchor + n * resolution,
        st.sampled_from(dst_changes(zone) + HOLIDAY_SEASONS),
        st.integers(-reach, reach),
    )
    return st.one_of(uniform, near)


@st.composite
def cases(draw) -> tuple[Calendar, dt.datetime, int]:
    calendar = draw(calendars())
    start = draw(starts(calendar.zone))
    # Up to three windows: several business days, yet a bounded walk for the reference.
    target = draw(st.integers(1, 3 * calendar.window_minutes))
    return calendar, start, target


EVERY_DAY = frozenset(range(7))


@settings(max_examples=600, deadline=None)
@given(cases())
@example(
    (
        Calendar("Australia/Lord_Howe", EVERY_DAY, "02:00", "24:00", None),
        dt.datetime(2026, 10, 3, 14, tzinfo=UTC),
        90,
    )
)
@example(
    (
        Calendar("Australia/Lord_Howe", EVERY_DAY, "00:00", "02:00", None),
        dt.datetime(2026, 4, 4, 13, tzinfo=UTC),
        200,
    )
)
@example(
    (
        Calendar("America/New_York", EVERY_DAY, "01:00", "02:00", "US"),
        dt.datetime(2026, 11, 1, 4, tzinfo=UTC),
        100,
    )
)
@example(
    (
        Calendar("Europe/Copenhagen", EVERY_DAY, "02:00", "03:00", "DK"),
        dt.datetime(2026, 3, 28, 23, tzinfo=UTC),
        61,
    )
)
@example(
    (
        Calendar("Europe/Copenhagen", frozenset({0, 1, 2, 3, 4}), "08:00", "17:00", "DK"),
        dt.datetime(2026, 12, 23, 9, tzinfo=UTC),
        27 * 60,
    )
)
def test_business_deadline_matches_the_minute_by_minute_reference(case):
    calendar, start, target = case
    deadline = calendar.clock().deadline(start, target * MINUTE)
    assert deadline == reference_deadline(calendar, start, target)
    assert deadline.tzinfo is UTC


def spring_forward(zone_name: str) -> tuple[dt.datetime, ...]:
    """The changes at which the clocks go forward (no repeated wall time on those days)."""
    zone = ZoneInfo(zone_name)
    return tuple(
        change
        for change in dst_changes(zone_name)
        if change.astimezone(zone).utcoffset() > (change - HOUR).astimezone(zone).utcoffset()
    )


@st.composite
def spring_forward_cases(draw) -> tuple[Calendar, dt.datetime, int]:
    """Window edges at any quarter hour, so some fall inside the skipped wall-clock time.

    Only the days around the clocks going forward: there a wall time either exists once or
    not at all, so the literal ``open <= local time < close`` reading is the calendar's own.
    """
    calendar = draw(calendars(step=15))
    change = draw(st.sampled_from(spring_forward(calendar.zone)))
    start = change + draw(st.integers(-2 * 1440, 1440)) * MINUTE
    return calendar, start, draw(st.integers(1, 3 * calendar.window_minutes))


@settings(max_examples=300, deadline=None)
@given(spring_forward_cases())
@example(
    (
        Calendar("America/New_York", EVERY_DAY, "02:30", "12:00", None),
        dt.datetime(2026, 3, 8, 5, tzinfo=UTC),
        30,
    )
)
@example(
    (
        Calendar("Australia/Lord_Howe", EVERY_DAY, "02:15", "24:00", None),
        dt.datetime(2026, 10, 3, 14, tzinfo=UTC),
        30,
    )
)
def test_window_edges_in_the_skipped_hour_match_the_reference(case):
    calendar, start, target = case
    assert calendar.clock().deadline(start, target * MINUTE) == reference_deadline(
        calendar, start, target
    )


@settings(max_examples=150, deadline=None)
@given(st.data(), calendars(), st.integers(1, 5 * 24 * 3600))
def test_elapsed_until_the_deadline_is_the_amount(data, calendar, seconds):
    start = data.draw(starts(calendar.zone, dt.timedelta(seconds=1)))
    clock, amount = calendar.clock(), dt.timedelta(seconds=seconds)
    assert clock.elapsed(start, clock.deadline(start, amount)) == amount


@settings(max_examples=150, deadline=None)
@given(st.data(), calendars(), st.integers(1, 5 * 24 * 3600), st.integers(0, 5 * 24 * 3600))
def test_deadline_never_earlier_for_more_time(data, calendar, seconds, more):
    start = data.draw(starts(calendar.zone, dt.timedelta(seconds=1)))
    clock = calendar.clock()
    shorter = clock.deadline(start, dt.timedelta(seconds=seconds))
    longer = clock.deadline(start, dt.timedelta(seconds=seconds + more))
    assert shorter <= longer


@settings(max_examples=150, deadline=None)
@given(st.data(), calendars(), st.integers(1, 5 * 24 * 3600), st.integers(0, 7 * 24 * 3600))
def test_deadline_never_earlier_for_a_later_start(data, calendar, seconds, later_by):
    start = data.draw(starts(calendar.zone, dt.timedelta(seconds=1)))
    clock, amount = calendar.clock(), dt.timedelta(seconds=seconds)
    later = start + dt.timedelta(seconds=later_by)
    assert clock.deadline(start, amount) <= clock.deadline(later, amount)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(0, int((END - FIRST).total_seconds())),
    st.integers(0, 10 * 24 * 3600),
)
def test_24x7_deadline_is_start_plus_amount_in_utc(zone, offset, seconds):
    start = (FIRST + dt.timedelta(seconds=offset)).astimezone(ZoneInfo(zone))
    amount = dt.timedelta(seconds=seconds)
    deadline = WallClock().deadline(start, amount)
    assert deadline == start.astimezone(UTC) + amount
    assert deadline.tzinfo is UTC
    assert WallClock().elapsed(start, deadline) == amount


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, int((END - FIRST) / MINUTE)))
def test_24x7_targets_of_the_seed_contracts_ignore_zone_and_dst(zone, minutes):
    start = (FIRST + minutes * MINUTE).astimezone(ZoneInfo(zone))
    from bot.sla.contract import Contract

    dixa = Contract(policy=POLICIES["dixa"], zone=zone)
    messaging = Contract.of_deployment(POLICIES["messaging-platform"])
    expected = {
        (dixa, TimerKind.RESPONSE, 1): dt.timedelta(minutes=5),
        (dixa, TimerKind.RESTORE, 1): dt.timedelta(hours=4),
        (messaging, TimerKind.RESPONSE, 1): dt.timedelta(minutes=30),
        (messaging, TimerKind.PROGRESS, 2): dt.timedelta(hours=4),
        (messaging, TimerKind.RESTORE, 3): dt.timedelta(hours=24),
    }
    for (contract, kind, level), length in expected.items():
        rule = contract.rule(kind, level)
        assert rule is not None
        assert due_at(rule, start) == start.astimezone(UTC) + length
