"""Reading what people type: severities and instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parse import parse_instant, parse_severity, parse_span, parse_when
from tests.sla.conftest import POLICIES, cph, ny, utc

DIXA_NAMES = [(s.level, s.name) for s in POLICIES["dixa"].severities]
NOW = utc(2026, 11, 20, 15, 0)  # Friday 16:00 in Copenhagen, 10:00 in New York


# --- severities -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("1", 1),
        ("sev1", 1),
        ("SEV-2", 2),
        ("s3", 3),
        ("p1", 1),
        ("I", 1),
        ("II", 2),
        ("sevIII", 3),
        ("iv", 4),
        ("Severity 2", 2),
        ("sev_4", 4),
        ("  sev 3 ", 3),
    ],
)
def test_severity_spellings(text, level):
    assert parse_severity(text) == level
    assert parse_severity(text, DIXA_NAMES) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [("critical", 1), ("High", 2), ("medium", 3), ("LOW", 4), ("High Impact", 2)],
)
def test_severity_by_name(text, level):
    assert parse_severity(text, DIXA_NAMES) == level


@pytest.mark.parametrize("text", ["banana", "", "0", "sev0", "p", "iiii", "sev 1 2", "critical"])
def test_severity_refusal_names_what_is_accepted(text):
    # "critical" is a name only when the contract's names are given.
    with pytest.raises(ValueError) as refusal:
        parse_severity(text)
    message = str(refusal.value)
    assert repr(text) in message
    assert all(spelling in message for spelling in ("1", "sev1", "s1", "p1", "I"))
    assert "critical" not in message.removeprefix(repr(text))
    if text != "critical":
        with pytest.raises(ValueError, match="a level's name: critical \\(1\\), high \\(2\\)"):
            parse_severity(text, DIXA_NAMES)


@pytest.mark.parametrize("text", ["-1", "_1", "s-2", "s_2", "p-1", "- 1"])
def test_a_separator_belongs_to_sev_only(text):
    with pytest.raises(ValueError, match="is not a severity"):
        parse_severity(text, DIXA_NAMES)


def test_names_of_several_contracts_are_read_when_they_agree():
    platform = [(1, "Severity I — down"), (2, "Severity II — degraded"), (1, "Critical")]
    assert parse_severity("critical", [*DIXA_NAMES, *platform]) == 1
    clash = [*DIXA_NAMES, (2, "Critical path")]
    with pytest.raises(ValueError, match="'critical' is not a severity"):
        parse_severity("critical", clash)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_severity_of_any_text_is_a_level_or_a_value_error(text):
    try:
        level = parse_severity(text, DIXA_NAMES)
    except ValueError:
        return
    assert isinstance(level, int) and level >= 1


# --- instants -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 minutes ago", utc(2026, 11, 20, 14, 50)),
        ("1 hour 5 minutes ago", utc(2026, 11, 20, 13, 55)),
        ("an hour ago", utc(2026, 11, 20, 14, 0)),
        ("a minute ago", utc(2026, 11, 20, 14, 59)),
        ("29 minutes 35 seconds ago", utc(2026, 11, 20, 14, 30, 25)),
        ("1h5m ago", utc(2026, 11, 20, 13, 55)),
        ("2 hours, 3 minutes and 4 seconds ago", utc(2026, 11, 20, 12, 56, 56)),
        ("now", NOW),
    ],
)
def test_relative_times(text, expected):
    assert parse_when(text, NOW, "Europe/Copenhagen") == expected


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # 16:00 CET now: 14:05 today
        ("14:05", "Europe/Copenhagen", cph(2026, 11, 20, 14, 5)),
        # exactly now counts as today
        ("16:00", "Europe/Copenhagen", cph(2026, 11, 20, 16, 0)),
        # 16:30 has not come yet today: yesterday's
        ("16:30", "Europe/Copenhagen", cph(2026, 11, 19, 16, 30)),
        # 10:00 EST now in New York
        ("09:00", "America/New_York", ny(2026, 11, 20, 9, 0)),
        ("14:05", "America/New_York", ny(2026, 11, 19, 14, 5)),
        ("9.30", "America/New_York", ny(2026, 11, 20, 9, 30)),
        ("14h05", "UTC", utc(2026, 11, 20, 14, 5)),
    ],
)
def test_clock_time_is_its_latest_occurrence(text, zone, expected):
    assert parse_when(text, NOW, zone) == expected


def test_clock_time_yesterday_across_a_dst_change():
    now = utc(2026, 3, 29, 10, 0)  # 12:00 CEST, the first day of summer time
    # 14:05 yesterday was CET: 13:05Z, not 12:05Z.
    assert parse_when("14:05", now, "Europe/Copenhagen") == utc(2026, 3, 28, 13, 5)
    assert parse_when("11:00", now, "Europe/Copenhagen") == utc(2026, 3, 29, 9, 0)


def test_clock_time_in_the_repeated_hour_is_its_latest_occurrence():
    # New York, 2026-11-01: 01:00–01:59 happens in EDT (05:00Z–) and again in EST (06:00Z–).
    # At 07:00 EST both 01:30s have passed: the later one, 01:30 EST.
    assert parse_when("01:30", utc(2026, 11, 1, 12, 0), "America/New_York") == utc(
        2026, 11, 1, 6, 30
    )
    # At 01:10 EST (second pass) only the first 01:30 (EDT) has come: today, not yesterday.
    assert parse_when("01:30", utc(2026, 11, 1, 6, 10), "America/New_York") == utc(
        2026, 11, 1, 5, 30
    )
    # At 01:45 EDT (first pass): the first 01:30, fifteen minutes ago.
    assert parse_when("01:30", utc(2026, 11, 1, 5, 45), "America/New_York") == utc(
        2026, 11, 1, 5, 30
    )


def test_clock_time_the_clocks_skipped_today_is_yesterdays():
    # New York, 2026-03-08: 02:00–02:59 never happens. At 03:30 EDT, 02:30 last happened
    # on 2026-03-07 (EST).
    now = utc(2026, 3, 8, 7, 30)
    assert parse_when("02:30", now, "America/New_York") == ny(2026, 3, 7, 2, 30)


DST_CHANGES = {
    "Europe/Copenhagen": (utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)),
    "America/New_York": (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)),
}


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(DST_CHANGES)),
    st.integers(0, 1),
    st.integers(-30 * 3600, 30 * 3600),
    st.integers(0, 23),
    st.integers(0, 59),
)
def test_clock_time_is_the_latest_occurrence_around_dst(zone_name, change, seconds, hour, minute):
    now = DST_CHANGES[zone_name][change] + dt.timedelta(seconds=seconds)
    parsed = parse_when(f"{hour:02d}:{minute:02d}", now, zone_name)
    zone = ZoneInfo(zone_name)

    def shows(instant: dt.datetime) -> bool:
        wall = instant.astimezone(zone)
        return (wall.hour, wall.minute, wall.second) == (hour, minute, 0)

    assert parsed <= now < parsed + dt.timedelta(hours=48)  # yesterday's at the earliest
    # Every later whole minute up to now shows another time on the wall.
    later = parsed + dt.timedelta(minutes=1)
    while later <= now:
        assert not shows(later)
        later += dt.timedelta(minutes=1)
    # The wall showed the time typed (a time the clocks skipped today is yesterday's).
    assert shows(parsed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no offset: wall time in the person's zone (CET)
        ("2026-11-20T14:05", utc(2026, 11, 20, 13, 5)),
        ("2026-11-20T14:05:30", utc(2026, 11, 20, 13, 5, 30)),
        ("2026-07-01T09:00", utc(2026, 7, 1, 7, 0)),  # CEST in July
        # a bare date is midnight in the person's zone, too
        ("2026-11-20", utc(2026, 11, 19, 23, 0)),
        # an explicit offset is kept, whatever the person's zone
        ("2026-11-20T14:05:00+05:00", utc(2026, 11, 20, 9, 5)),
        ("2026-11-20T14:05-05:00", utc(2026, 11, 20, 19, 5)),
        ("2026-11-20T14:05:00Z", utc(2026, 11, 20, 14, 5)),
        ("2026-11-20T14:05+00:00", utc(2026, 11, 20, 14, 5)),
    ],
)
def test_iso_times(text, expected):
    parsed = parse_when(text, NOW, "Europe/Copenhagen")
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "banana",
        "25:00",
        "12:60",
        "",
        "ago",
        "10 bananas ago",
        "yesterday-ish",
        "1000000 days ago",  # before year 1
        "99999999999999 days ago",
        "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
    ],
)
def test_when_refusal_lists_accepted_formats(text):
    with pytest.raises(ValueError) as refusal:
        parse_when(text, NOW, "Europe/Copenhagen")
    message = str(refusal.value)
    assert repr(text) in message
    assert all(form in message for form in ("10 minutes ago", "14:05", "ISO-8601"))


FRAGMENTS = st.sampled_from(
    [" ", "1", "9", "00", "24", "99999999", ":", ".", "-", "+", "T", "Z", "h", "m", "s", "an",
     "a", "hour", "minutes", "days", "ago", "and", ",", "now", "2026", "-11-20", "W", "é", "\n"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=30), st.lists(FRAGMENTS, max_size=8).map("".join)))
def test_any_text_is_an_instant_or_a_value_error(text):
    try:
        parsed = parse_when(text, NOW, "Europe/Copenhagen")
    except ValueError:
        return
    assert parsed.utcoffset() == dt.timedelta(0)


def test_parse_instant_reads_iso_like_parse_when():
    assert parse_instant("2026-11-20T16:30", "Europe/Copenhagen") == utc(2026, 11, 20, 15, 30)
    assert parse_instant("2026-11-20T16:30+05:00", "Europe/Copenhagen") == utc(2026, 11, 20, 11, 30)
    assert parse_instant("2026-11-20", "America/New_York") == utc(2026, 11, 20, 5, 0)
    for text in ("16:30", "10 minutes ago", "9999-12-31T23:59:59-05:00"):
        with pytest.raises(ValueError, match="not an ISO-8601 time"):
            parse_instant(text, "Europe/Copenhagen")


def test_a_first_word_every_level_shares_names_no_level():
    names = [
        (1, "Severity I — cannot connect"),
        (2, "Severity II — degraded"),
        (3, "Severity III — other"),
    ]
    with pytest.raises(ValueError, match="'severity' is not a severity"):
        parse_severity("severity", names)
    assert parse_severity("Severity II — degraded", names) == 2


# --- spans (the console's `wait`) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("16m", 960), ("90 seconds", 90), ("1h 30m", 5400), ("1h30m", 5400), ("an hour", 3600),
     ("2 days and 3 hours", 183600), ("1 hour, 5 minutes", 3900)],
)  # fmt: skip
def test_spans(text, seconds):
    assert parse_span(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "16", "5 parsecs", "16m later", "m16"])
def test_what_is_not_a_span(text):
    assert parse_span(text) is None
