"""The log cannot be forged or flooded through what it records (bot/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import re
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import logs

FORGED = "ok\n2026-12-01 09:00:00,000 ERROR bot.worker: reminder INC-7 could not be posted"
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


def record(message: str, *args, exc_info=None, name: str = "slabot.bolt") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, exc_info)


def raised(message: str):
    try:
        raise ValueError(message)
    except ValueError as error:
        return (ValueError, error, error.__traceback__)


def test_a_message_holding_a_newline_stays_on_its_own_line():
    line = logs.SafeFormatter().format(record("body: %s", FORGED))
    assert "\n" not in line
    assert line.endswith("INFO slabot.bolt: body: ok\\n2026-12-01 09:00:00,000 ERROR bot.worker: "
                         "reminder INC-7 could not be posted")  # fmt: skip


@given(st.text())
def test_any_text_is_one_line_with_no_control_character(text):
    line = logs.SafeFormatter().format(record("%s", text))
    assert "\n" not in line and not re.search(logs._UNSAFE, line)


def test_a_traceback_keeps_its_lines_but_only_the_record_starts_at_the_margin():
    text = logs.SafeFormatter().format(record("failed", exc_info=raised(FORGED)))
    first, *rest = text.splitlines()
    assert RECORD_START.match(first) and rest
    assert all(line.startswith("  ") for line in rest)
    assert rest[-2:] == ["  ValueError: ok", "  2026-12-01 09:00:00,000 ERROR bot.worker: reminder INC-7 could not be posted"]  # fmt: skip


def test_a_traceback_another_handler_formatted_first_is_still_indented():
    entry = record("failed", exc_info=raised(FORGED))
    logging.Formatter().format(entry)  # caches the plain traceback on the record
    assert entry.exc_text and FORGED in entry.exc_text
    _, *rest = logs.SafeFormatter().format(entry).splitlines()
    assert rest and all(line.startswith("  ") for line in rest)


def test_a_huge_message_is_cut_saying_how_much_was_left_out():
    line = logs.SafeFormatter().format(record("body: %s", "x" * 10_000_000))
    assert len(line) < logs.MESSAGE_LIMIT + 200
    assert line.endswith(f"… ({10_000_006 - logs.MESSAGE_LIMIT:,} more characters)")


def test_escapes_name_each_control_character():
    assert logs.escape_controls("a\tb\rc\x1b[31md\x00e\u2028f\u202eg\x85") == (
        "a\\tb\\rc\\x1b[31md\\x00e\\u2028f\\u202eg\\x85"
    )
    assert logs.escape_controls("Københavns ☕ \\n stays") == "Københavns ☕ \\n stays"


def test_json_logs_are_one_object_a_line_holding_the_text_as_it_was():
    formatter = logs.JsonFormatter()
    line = formatter.format(record("body: %s", FORGED, exc_info=raised("bad\nworse")))
    assert "\n" not in line and line.isascii()
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "slabot.bolt"
    assert entry["message"] == f"body: {FORGED}"
    assert entry["exception"].endswith("ValueError: bad\nworse")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    huge = json.loads(formatter.format(record("%s", "y" * 100_000)))["message"]
    assert len(huge) < logs.MESSAGE_LIMIT + 50


@contextmanager
def bare_root():
    """The root logger without pytest's handlers, as a freshly started process has it (pytest
    adds its handlers around each test's call, so this runs inside the test)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    try:
        yield root
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("kind", ["text", "json"])
def test_configure_sends_every_logger_through_the_safe_formatter(kind):
    stream = io.StringIO()
    with bare_root():
        assert logs.configure(kind, stream=stream) is not None
        logging.getLogger("slabot.bolt").info("body: %s", FORGED)
        logging.getLogger("bot.worker").debug("not at INFO")
    (line,) = stream.getvalue().splitlines()
    if kind == "json":
        assert json.loads(line)["message"] == f"body: {FORGED}"
    else:
        assert RECORD_START.match(line) and "\\n2026-12-01" in line


def test_configure_leaves_a_log_someone_else_set_up_alone():
    theirs = logging.StreamHandler(io.StringIO())
    with bare_root() as root:
        root.addHandler(theirs)
        assert logs.configure("json") is None
        assert root.handlers == [theirs]
