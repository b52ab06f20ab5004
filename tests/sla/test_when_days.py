"""``today 09:15`` and ``yesterday 23:40`` in the person's zone, and the time at the start of
a command's text (``resolve at 20:00 Replaced the node``)."""

from __future__ import annotations

import pytest

from bot.parse import parse_when, split_when
from tests.sla.conftest import utc

NOW = utc(2026, 11, 20, 9, 0)  # Friday 10:00 in Copenhagen, 04:00 in New York


@pytest.mark.parametrize(("typed", "zone", "expected"), [
    ("yesterday 23:40", "Europe/Copenhagen", utc(2026, 11, 19, 22, 40)),
    ("Yesterday 2:05", "Europe/Copenhagen", utc(2026, 11, 19, 1, 5)),
    ("today 09:15", "Europe/Copenhagen", utc(2026, 11, 20, 8, 15)),
    # In New York it is 04:00 on the 20th: yesterday is the 19th there too, 5 hours behind UTC.
    ("yesterday 23:40", "America/New_York", utc(2026, 11, 20, 4, 40)),
    ("today 23:00", "America/New_York", utc(2026, 11, 21, 4, 0)),  # later today: the future
    ("2026-11-20 10:03", "Europe/Copenhagen", utc(2026, 11, 20, 9, 3)),
])  # fmt: skip
def test_a_named_day_and_a_clock_time(typed, zone, expected):
    assert parse_when(typed, NOW, zone) == expected


def test_the_repeated_hour_is_its_first_occurrence_and_a_skipped_one_is_refused():
    # Copenhagen, 25 October 2026: 02:30 happens twice (CEST, then CET); the first is 00:30Z.
    assert parse_when("yesterday 02:30", utc(2026, 10, 26, 9), "Europe/Copenhagen") == utc(
        2026, 10, 25, 0, 30
    )
    # 29 March 2026: the clocks went from 02:00 to 03:00, so 02:30 did not happen.
    with pytest.raises(ValueError, match="did not happen in Europe/Copenhagen"):
        parse_when("yesterday 02:30", utc(2026, 3, 30, 9), "Europe/Copenhagen")
    with pytest.raises(ValueError, match="is not a time of day"):
        parse_when("yesterday 24:10", NOW, "UTC")


@pytest.mark.parametrize(("words", "expected"), [
    ("20:00 Replaced the node", ("20:00", ["Replaced", "the", "node"])),
    ("10 minutes ago", ("10 minutes ago", [])),
    ("yesterday 23:40 fixed", ("yesterday 23:40", ["fixed"])),
    ("2026-11-20T20:00+01:00 done", ("2026-11-20T20:00+01:00", ["done"])),
    ("20:00 2 nodes", ("20:00", ["2", "nodes"])),
    ("Replaced the node", None),
])  # fmt: skip
def test_the_time_a_text_starts_with(words, expected):
    assert split_when(words.split()) == expected
