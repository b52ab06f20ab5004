"""How spans of time read in messages and tables."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.text import format_span, format_span_words


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
