"""The digest's chart: a real PNG of sensible size, one row per measured customer."""

from __future__ import annotations

import struct

import pytest

from bot.digest.chart import MAX_ROWS, budget_chart, charted
from bot.digest.service import make_digest
from bot.digest.weeks import parse_week
from bot.incidents.importer import import_history, read_records
from tests.conftest import FIXTURES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def digest(ctx):
    import_history(ctx, *read_records(FIXTURES / "history.json"))
    return make_digest(ctx, parse_week("2026-W44"), "Europe/Copenhagen")


def test_the_chart_is_a_png_of_sensible_size(digest):
    data = budget_chart(digest)
    width, height = png_size(data)
    rows = len(charted(digest))
    assert rows == 5  # every fixture customer's uptime is measured
    assert (width, height) == (800, int(100 + 85 * rows))
    assert 10_000 < len(data) < 500_000
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")


def test_at_most_a_phone_screen_of_rows_and_none_without_customers(digest):
    from dataclasses import replace

    many = replace(digest, customers=digest.customers * 5)
    assert len(charted(many)) == MAX_ROWS
    assert png_size(budget_chart(many))[1] == int(100 + 85 * MAX_ROWS)
    assert budget_chart(replace(digest, customers=())) is None


def test_each_subtitle_names_the_zone_of_its_time(ctx):
    # As of Fri 20 Nov 09:00Z (the running week 47): acme's November runs in New York,
    # globex's year in UTC, nordlys's November in Copenhagen: each time says its zone.
    from bot.digest.chart import subtitle

    import_history(ctx, *read_records(FIXTURES / "history.json"))
    week = make_digest(ctx, parse_week("2026-W47"), "Europe/Copenhagen")
    titles = {line.customer: subtitle(line) for line in charted(week)}
    assert titles["acme"] == "Acme Retail Inc. — November 2026 to 2026-11-20 04:00 EST: 2h down"
    assert titles["globex"].startswith("Globex Messaging BV — 2026 to 2026-11-20 09:00 UTC: ")
    assert "2026-11-20 10:00 CET" in titles["nordlys"]
