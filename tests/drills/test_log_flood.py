"""The log-flood drill, short (drills/log_flood.py; docs/drills.md, "Log flood"): a real
``slabot serve`` takes unsigned requests — over the body cap with a length and chunked,
forged ones, and a fake record after a newline — and its log grows by one bounded line per
refused request at most, never by a body, and no line of it is forged."""

from __future__ import annotations

import json
import re

import pytest

from drills.attack import serve
from drills.log_flood import FAKE, MB, big, forged, forged_line

LINE_LIMIT = 300
"""Bytes of the longest line a refused request may add."""
RECORD = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")


@pytest.fixture(params=["text", "json"])
def served(request):
    served = serve(env={"SLABOT_LOG_FORMAT": request.param})
    yield served, request.param
    assert served.stop() == 0


def test_unauthenticated_requests_add_a_bounded_line_each_and_forge_none(served):
    served, log_format = served
    start = served.log_size()
    floods = [
        forged_line(served),
        big(served, 2, 2 * MB),
        big(served, 2, 2 * MB, chunked=True),
        forged(served, 30),
    ]
    assert [dict(f.answers) for f in floods] == [
        {401: 1, 404: 1}, {413: 2}, {413: 2}, {401: 30},
    ]  # fmt: skip
    for flood in floods:
        assert flood.lines <= flood.requests
        assert flood.logged <= flood.requests * LINE_LIMIT
    assert floods[0].forged_lines == 0
    with served.log.open("rb") as log:
        log.seek(start)
        added = log.read().splitlines()
    assert added and all(len(line) <= LINE_LIMIT for line in added)
    assert not any(line.startswith(FAKE) or b"command=" in line for line in added)  # no body
    if log_format == "json":
        assert all(json.loads(line)["logger"] == "bot.web" for line in added)
    else:
        assert all(RECORD.match(line) for line in added)
        assert b"%0A" not in added[1] and b"\\n2026-12-01" in added[1]  # the path's newline
