"""ISO weeks, the digest's schedule and its settings: pure arithmetic over time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digest.weeks import IsoWeek, due_week, last_complete_week, latest_occurrence, parse_week
from config.schedule import WeeklySchedule, parse_schedule
from config.settings import SettingsError, get_settings

UTC = dt.UTC
CPH = "Europe/Copenhagen"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_a_week_runs_monday_to_monday_in_its_zone():
    week = parse_week("2026-W44")
    assert (week.label, week.days_text()) == ("2026-W44", "26 Oct – 1 Nov 2026")
    assert week.bounds(CPH) == (utc(2026, 10, 25, 23), utc(2026, 11, 1, 23))
    assert week.bounds("UTC") == (utc(2026, 10, 26), utc(2026, 11, 2))


def test_weeks_with_a_clock_change_are_an_hour_longer_or_shorter():
    spring, autumn, plain = parse_week("2026-W13"), parse_week("2026-W43"), parse_week("2026-W44")
    assert [w.bounds(CPH)[1] - w.bounds(CPH)[0] for w in (spring, autumn, plain)] == [
        dt.timedelta(hours=167), dt.timedelta(hours=169), dt.timedelta(hours=168),
    ]  # fmt: skip


def test_iso_weeks_cross_years():
    assert parse_week("2026-W53").days_text() == "28 Dec 2026 – 3 Jan 2027"
    assert parse_week("2027w1") == IsoWeek(2027, 1)
    assert IsoWeek(2027, 1).previous() == IsoWeek(2026, 53)
    assert parse_week("2026-W01").days_text() == "29 Dec 2025 – 4 Jan 2026"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("44", "'44' is not an ISO week; write YYYY-Www, e.g. 2026-W44"),
        ("2026-44", "'2026-44' is not an ISO week"),
        ("2025-W53", "2025 has weeks 1 to 52, not 53; write YYYY-Www"),
        ("2026-W00", "2026 has weeks 1 to 53, not 0"),
    ],
)
def test_a_bad_week_says_what_is_accepted(text, message):
    with pytest.raises(ValueError) as caught:
        parse_week(text)
    assert message in str(caught.value)


MON_9 = WeeklySchedule(0, dt.time(9), CPH)


def test_the_latest_occurrence_and_the_week_it_covers():
    # Monday 2 November 2026 09:00 in Copenhagen is 08:00Z.
    assert latest_occurrence(MON_9, utc(2026, 11, 2, 8)) == utc(2026, 11, 2, 8)
    assert latest_occurrence(MON_9, utc(2026, 11, 2, 7, 59)) == utc(2026, 10, 26, 8)
    assert latest_occurrence(MON_9, utc(2026, 11, 20, 9)) == utc(2026, 11, 16, 8)
    assert due_week(MON_9, utc(2026, 11, 2, 8)) == parse_week("2026-W44")
    friday = WeeklySchedule(4, dt.time(17), CPH)  # a Friday schedule sends last week's too
    assert due_week(friday, latest_occurrence(friday, utc(2026, 11, 20, 16))) == parse_week(
        "2026-W46"
    )


def test_the_schedule_follows_summer_time():
    # Monday 30 March 2026 09:00 CEST is 07:00Z; the Monday before, 09:00 CET is 08:00Z.
    assert latest_occurrence(MON_9, utc(2026, 3, 30, 7)) == utc(2026, 3, 30, 7)
    assert latest_occurrence(MON_9, utc(2026, 3, 30, 6, 59)) == utc(2026, 3, 23, 8)


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 6), st.integers(0, 23), st.integers(0, 59),
    st.sampled_from(["UTC", CPH, "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati"]),
)  # fmt: skip
def test_the_latest_occurrence_is_the_last_scheduled_instant_before_now(
    now, weekday, hour, minute, zone
):
    schedule = WeeklySchedule(weekday, dt.time(hour, minute), zone)
    at = latest_occurrence(schedule, now)
    assert now - dt.timedelta(days=7, hours=2) < at <= now
    local = at.astimezone(ZoneInfo(zone))
    assert local.weekday() == weekday
    # the wall time is the scheduled one, or moved forward by a gap the clocks skipped
    assert (
        dt.timedelta(0)
        <= local - local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        <= dt.timedelta(hours=1)
    )
    assert latest_occurrence(schedule, at) == at
    assert last_complete_week(at, zone).bounds(zone)[1] <= at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00 Europe/Copenhagen", WeeklySchedule(0, dt.time(9), CPH)),
        ("Monday 9:30", WeeklySchedule(0, dt.time(9, 30), "UTC")),
        ("  FRI   17:00   America/New_York ", WeeklySchedule(4, dt.time(17), "America/New_York")),
        ("off", None),
        ("", None),
    ],
)
def test_schedules_that_are_accepted(text, expected):
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("mon 9", "'mon 9' is not a schedule; write a weekday, a 24-hour time and an IANA zone"),
        ("mun 09:00", "'mun' is not a weekday; write one of mon, tue, wed, thu, fri, sat, sun"),
        ("mon 24:00", "24:00 is not a time of day; write 00:00 to 23:59"),
        (
            "mon 09:00 Europe/Copenhagn",
            "'Europe/Copenhagn' is not a known time zone (did you mean Europe/Copenhagen",
        ),
    ],
)
def test_a_bad_schedule_stops_start_up_with_one_line(env, value, problem):
    env(SLABOT_DIGEST_SCHEDULE=value)
    with pytest.raises(SettingsError) as caught:
        get_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"SLABOT_DIGEST_SCHEDULE: {problem}")
    assert message.endswith(
        "(when the weekly digest is sent, e.g. mon 09:00 Europe/Copenhagen, or off)"
    )


def test_digest_settings(env):
    assert get_settings().weekly_digest == WeeklySchedule(0, dt.time(9), "UTC")  # the default
    env(SLABOT_DIGEST_SCHEDULE="off", SLABOT_DIGEST_CHANNEL="C0MANAGERS")
    assert (get_settings().weekly_digest, get_settings().digest_channel) == (None, "C0MANAGERS")
    env(SLABOT_DIGEST_CHANNEL="#managers")
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert str(caught.value).startswith(
        "SLABOT_DIGEST_CHANNEL: '#managers' is not a channel id; write the id (C…) from the channel's details"
    )
