"""How spans of time read in messages and tables."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.text import format_span, format_span_words, format_window, plural


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        (dt.timedelta(0), "0m"),
        (dt.timedelta(milliseconds=300), "<1s"),
        (dt.timedelta(milliseconds=-300), "-<1s"),
        (dt.timedelta(seconds=42), "42s"),
        (dt.timedelta(minutes=5, seconds=59), "5m"),
        (dt.timedelta(days=1, hours=2, minutes=5), "1d 2h 5m"),
        (dt.timedelta(hours=-3), "-3h"),
    ],
)
def test_format_span(span, shown):
    assert format_span(span) == shown


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        (dt.timedelta(seconds=20), "less than a minute"),
        (dt.timedelta(minutes=15), "15 minutes"),
        (dt.timedelta(hours=1, minutes=5), "1 hour 5 minutes"),
        (dt.timedelta(days=2, hours=1), "2 days 1 hour"),
    ],
)
def test_format_span_words(span, shown):
    assert format_span_words(span) == shown


@pytest.mark.parametrize(
    ("count", "noun", "kwargs", "said"),
    [
        (1, "reminder", {"verb": "is"}, "1 reminder is"),
        (2, "reminder", {"verb": "is"}, "2 reminders are"),
        (0, "reminder", {"verb": "is"}, "0 reminders are"),
        (1, "record", {}, "1 record"),
        (16, "record", {}, "16 records"),
        (1, "policy", {}, "1 policy"),
        (3, "policy", {}, "3 policies"),
        (2, "day", {}, "2 days"),  # a vowel before the y: just an s
        (2, "breach", {}, "2 breaches"),
        (2, "maintenance window", {}, "2 maintenance windows"),
        (2, "person", {"many": "people"}, "2 people"),
        (1, "person", {"many": "people"}, "1 person"),
        (2, "update", {"verb": "was"}, "2 updates were"),
    ],
)
def test_plural_agrees_with_its_count(count, noun, kwargs, said):
    assert plural(count, noun, **kwargs) == said


def test_span_words_say_one_of_a_unit_in_the_singular():
    assert format_span_words(dt.timedelta(days=1, hours=1, minutes=2)) == "1 day 1 hour 2 minutes"


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "end", "zone", "shown"),
    [
        (_utc(2026, 11, 21, 21), _utc(2026, 11, 21, 22, 30), "Europe/Copenhagen",
         "Sat 2026-11-21 22:00 – 23:30 Europe/Copenhagen (UTC+01:00)"),
        (_utc(2026, 11, 21, 23), _utc(2026, 11, 22, 1), "UTC",
         "Sat 2026-11-21 23:00 – Sun 2026-11-22 01:00 UTC (UTC+00:00)"),
        (_utc(2026, 11, 21, 23), _utc(2026, 11, 22, 1), "Asia/Kolkata",
         "Sun 2026-11-22 04:30 – 06:30 Asia/Kolkata (UTC+05:30)"),
        (_utc(2026, 11, 21, 23), _utc(2026, 11, 22, 1), "America/St_Johns",
         "Sat 2026-11-21 19:30 – 21:30 America/St_Johns (UTC-03:30)"),
        # The clocks go back inside it: each end with its own offset.
        (_utc(2026, 10, 24, 23), _utc(2026, 10, 25, 2), "Europe/Copenhagen",
         "Sun 2026-10-25 01:00 (UTC+02:00) – 03:00 (UTC+01:00) Europe/Copenhagen"),
    ],
)  # fmt: skip
def test_a_window_says_its_zone_and_offset(start, end, zone, shown):
    assert format_window(start, end, zone) == shown
