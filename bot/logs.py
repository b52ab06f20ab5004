"""How slabot writes its log: one record is one line that no logged text can forge.

Whatever a record carries — a user's title, a request path, an exception's message — its
control characters are escaped (``\\n`` as the two characters ``\\n``), so a body holding a
newline cannot start a fake ``ERROR bot.worker: …`` line, and its message is cut at
``MESSAGE_LIMIT`` characters, so one record cannot fill the disk. A traceback keeps its lines,
each indented: only a record's first line starts at the left margin. ``SLABOT_LOG_FORMAT=json``
writes one JSON object per line instead (non-ASCII escaped too).

``configure`` is the one setup, called by every long-running command (bot/cli.py ``_logging``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]

MESSAGE_LIMIT = 4000
"""Characters of one record's message (and of each traceback line) that reach the log."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE = re.compile(
    # C0 and DEL, C1 (NEL among them), line and paragraph separators, and the bidirectional
    # overrides and isolates that make a line read differently from what it holds.
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def escape_controls(text: str) -> str:
    """``text`` on one line: control characters written as escapes (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return _UNSAFE.sub(lambda m: _NAMED.get(m[0]) or _code(m[0]), text)


def _code(char: str) -> str:
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def bounded(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """At most ``limit`` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _indented(block: str) -> str:
    """A traceback or stack: each line escaped, bounded and indented under its record."""
    return "\n".join("  " + bounded(escape_controls(line)) for line in block.splitlines())


class SafeFormatter(logging.Formatter):
    """``time level logger: message`` with the message escaped and bounded (see the module)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        # As logging.Formatter.format, but never from a traceback another handler cached
        # on the record unescaped.
        safe = logging.makeLogRecord(record.__dict__)
        safe.message = bounded(escape_controls(record.getMessage()))
        safe.name = escape_controls(record.name)
        safe.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(safe)
        if record.exc_info:
            text += "\n" + _indented(self.formatException(record.exc_info))
        elif record.exc_text:
            text += "\n" + _indented(record.exc_text)
        if record.stack_info:
            text += "\n" + _indented(self.formatStack(record.stack_info))
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    and ``exception`` / ``stack`` when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": bounded(record.getMessage()),
        }
        exception = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exception:
            entry["exception"] = _bounded_lines(exception)
        if record.stack_info:
            entry["stack"] = _bounded_lines(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=True)


def _bounded_lines(block: str) -> str:
    return "\n".join(bounded(line) for line in block.splitlines())


def formatter(kind: LogFormat) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else SafeFormatter()


def configure(
    kind: LogFormat = "text", *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler | None:
    """Log to stderr (or ``stream``) at ``level``, every record through ``formatter(kind)``.

    Like ``logging.basicConfig``, it leaves a root logger that already has handlers alone
    (whoever embeds slabot, or pytest, owns the log then) and returns ``None``."""
    root = logging.getLogger()
    if root.handlers:
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
