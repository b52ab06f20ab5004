"""The instants of something planned (maintenance): ``in 2h``, ``tomorrow 02:00``,
``Sat 22:00``, ``22:00`` and ISO-8601 in the person's zone; and ``Sat 22:00`` looking back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.parse import AHEAD_FORMATS, parse_ahead, parse_when, split_when
from tests.sla.conftest import cph, ny, utc

NOW = utc(2026, 11, 20, 9, 0)  # Friday 10:00 in Copenhagen, 04:00 in New York


@pytest.mark.parametrize(("typed", "zone", "expected"), [
    ("in 2h", "Europe/Copenhagen", utc(2026, 11, 20, 11, 0)),
    ("in 1 hour 30 minutes", "UTC", utc(2026, 11, 20, 10, 30)),
    ("in 3 days", "UTC", utc(2026, 11, 23, 9, 0)),
    ("now", "UTC", NOW),
    ("tomorrow 02:00", "Europe/Copenhagen", cph(2026, 11, 21, 2, 0)),
    ("tomorrow at 2:00", "America/New_York", ny(2026, 11, 21, 2, 0)),
    ("today 23:00", "Europe/Copenhagen", cph(2026, 11, 20, 23, 0)),
    ("tonight 22:30", "Europe/Copenhagen", cph(2026, 11, 20, 22, 30)),
    ("Sat 22:00", "Europe/Copenhagen", cph(2026, 11, 21, 22, 0)),
    ("saturday at 9:30", "America/New_York", ny(2026, 11, 21, 9, 30)),
    # Friday: 10:00 is now (this Friday's); 09:00 has passed, so next Friday's.
    ("Fri 10:00", "Europe/Copenhagen", cph(2026, 11, 20, 10, 0)),
    ("fri 09:00", "Europe/Copenhagen", cph(2026, 11, 27, 9, 0)),
    ("Thu 12:00", "UTC", utc(2026, 11, 26, 12, 0)),
    # A bare clock time is the next one: 22:00 tonight, 08:00 tomorrow.
    ("22:00", "Europe/Copenhagen", cph(2026, 11, 20, 22, 0)),
    ("08:00", "Europe/Copenhagen", cph(2026, 11, 21, 8, 0)),
    ("2026-11-28T22:00", "Europe/Copenhagen", cph(2026, 11, 28, 22, 0)),
    ("2026-11-28T22:00+00:00", "Europe/Copenhagen", utc(2026, 11, 28, 22, 0)),
])  # fmt: skip
def test_planned_times(typed, zone, expected):
    assert parse_ahead(typed, NOW, zone) == expected


def test_a_bare_end_time_is_the_first_after_the_start():
    start = parse_ahead("Sat 23:00", NOW, "UTC")
    assert parse_ahead("01:00", NOW, "UTC", after=start) == utc(2026, 11, 22, 1, 0)
    assert parse_ahead("Sun 01:00", NOW, "UTC", after=start) == utc(2026, 11, 22, 1, 0)


def test_the_repeated_hour_is_its_first_occurrence_and_a_skipped_one_is_refused():
    # Copenhagen, 25 October 2026: 02:30 happens twice; the first is 00:30Z.
    assert parse_ahead("tomorrow 02:30", utc(2026, 10, 24, 9), "Europe/Copenhagen") == utc(
        2026, 10, 25, 0, 30
    )
    # 29 March 2026: the clocks go from 02:00 to 03:00, so 02:30 does not happen.
    with pytest.raises(ValueError, match="does not happen in Europe/Copenhagen"):
        parse_ahead("tomorrow 02:30", utc(2026, 3, 28, 9), "Europe/Copenhagen")
    # A bare 02:30 that day is the next one that happens: the 30th's.
    assert parse_ahead("02:30", utc(2026, 3, 28, 9), "Europe/Copenhagen") == cph(2026, 3, 30, 2, 30)


@pytest.mark.parametrize(
    "typed",
    ["banana", "in", "in 5 parsecs", "25:00", "tomorrow 24:10", "Sat 12:60", "Caturday 10:00", ""],
)
def test_what_is_not_a_planned_time_is_refused_with_the_forms_accepted(typed):
    with pytest.raises(ValueError) as refusal:
        parse_ahead(typed, NOW, "Europe/Copenhagen")
    assert repr(typed) in str(refusal.value) and AHEAD_FORMATS in str(refusal.value)


def test_a_weekday_looking_back_is_the_latest_one():
    assert parse_when("Sat 22:00", NOW, "Europe/Copenhagen") == cph(2026, 11, 14, 22, 0)
    assert parse_when("fri 10:00", NOW, "Europe/Copenhagen") == cph(2026, 11, 20, 10, 0)
    assert parse_when("Fri 10:01", NOW, "Europe/Copenhagen") == cph(2026, 11, 13, 10, 1)


def test_the_planned_time_a_text_starts_with():
    words = ["tomorrow", "02:00", "tomorrow", "04:00", "Database", "upgrade"]
    assert split_when(words, parse_ahead) == ("tomorrow 02:00", words[2:])
    assert split_when(["in", "2h", "Sat", "22:00"], parse_ahead) == ("in 2h", ["Sat", "22:00"])


ZONES = ["UTC", "Europe/Copenhagen", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(0, 400 * 86400),
    st.integers(0, 6),
    st.integers(0, 23),
    st.integers(0, 59),
)
def test_a_weekday_and_time_is_the_next_wall_time_showing_it(zone_name, seconds, day, hour, minute):
    now = utc(2026, 1, 1) + dt.timedelta(seconds=seconds)
    zone = ZoneInfo(zone_name)
    try:
        parsed = parse_ahead(f"{DAYS[day]} {hour:02d}:{minute:02d}", now, zone_name)
    except ValueError as refusal:  # only a wall time the clocks skip
        assert "clocks go forward" in str(refusal)
        return
    wall = parsed.astimezone(zone)
    assert (wall.weekday(), wall.hour, wall.minute) == (day, hour, minute)
    assert now <= parsed < now + dt.timedelta(days=7, hours=1)
    # The first time the wall shows it that day, and last week's was before now.
    assert parsed == wall.replace(fold=0).astimezone(dt.UTC)
    week_before = (wall.replace(tzinfo=None) - dt.timedelta(days=7)).replace(tzinfo=zone)
    assert week_before.astimezone(dt.UTC) < now


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, 400 * 86400), st.integers(0, 3 * 86400))
def test_an_instant_echoed_as_its_wall_time_reads_back(zone_name, seconds, ahead):
    """What the bot shows (weekday, date, time in the zone) typed back is the same instant,
    unless the wall time happens twice (then it is the first)."""
    now = utc(2026, 1, 1) + dt.timedelta(seconds=seconds)
    instant = (now + dt.timedelta(seconds=ahead)).replace(second=0, microsecond=0)
    assume(instant >= now)
    wall = instant.astimezone(ZoneInfo(zone_name))
    first = wall.replace(fold=0).astimezone(dt.UTC)
    iso = parse_ahead(wall.strftime("%Y-%m-%dT%H:%M"), now, zone_name)
    day = parse_ahead(f"{wall:%a %H:%M}", now, zone_name)
    assert iso == first
    if first >= now:
        assert day == first
    in_span = parse_ahead(f"in {ahead}s", now, zone_name)
    assert in_span == now + dt.timedelta(seconds=ahead)
