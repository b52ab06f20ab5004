"""What every HTTP route of slabot shares at its edge, whoever the route serves (Slack's
events, ``/healthz``, webhooks, metrics): a cap on request bodies, refusals answered with a
status and a JSON reason and logged in one bounded line, bearer tokens.

Nothing of a refused request reaches the log but that line — method, path, client, size,
reason, each clipped — and at most ``RefusalLog.burst`` such lines at once, then one a second:
a flood of forged requests writes a few kilobytes, not its bodies (docs/drills.md, "Log
flood").
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from http import HTTPStatus

from bot.logs import escape_controls

ARRIVED = "slabot.arrived"
"""The WSGI environ key of when a request arrived whole (``time.monotonic()``), set by the
server (bot/webserver.py) before the request waits for a thread."""
arrived: ContextVar[float | None] = ContextVar("slabot_arrived", default=None)
"""When the request this thread is answering arrived: Slack's 3 seconds count from then, not
from when a thread took it up (``Edge.answer``)."""

BODY_LIMIT = 1_048_576
"""Bytes of a request body slabot reads: Slack's payloads are a few kilobytes."""

log = logging.getLogger("bot.web")


class Refused(Exception):
    """A request answered ``status`` with ``reason`` (said to the client and logged once)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def read_body(environ: dict, limit: int = BODY_LIMIT) -> bytes:
    """The request body, at most ``limit`` bytes, or ``Refused(413)`` without reading more.

    A ``Content-Length`` over the limit is refused before a byte is read; a body of unknown
    length (chunked, from a server that streams it) is read up to the limit and refused at
    the first byte past it."""
    stream = environ.get("wsgi.input")
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "Content-Length is not a number")
        size = int(declared)
        if size > limit:
            raise Refused(413, f"the body is over {limit:,} bytes")
        return _read(stream, size) if size else b""
    if stream is None or not environ.get("wsgi.input_terminated"):
        return b""  # no length and no end marked: PEP 3333 says there is no body to read
    body = _read(stream, limit + 1)
    if len(body) > limit:
        raise Refused(413, f"the body is over {limit:,} bytes")
    return body


def _read(stream, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def bearer_token(environ: dict) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    scheme, _, token = (environ.get("HTTP_AUTHORIZATION") or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def same_secret(given: str | None, expected: str) -> bool:
    """``given`` is ``expected``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def answer(
    start_response: Callable,
    status: int,
    body: dict | None,
    *,
    head: bool = False,
    close: bool = False,
) -> Iterable[bytes]:
    """A JSON answer; ``head`` sends the headers only, ``close`` ends the connection after it
    (a refused body the server may not have read)."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if close:
        headers.append(("Connection", "close"))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [] if head else [data]


def describe(environ: dict, size: int | None = None) -> str:
    """``POST /slack/events from 10.0.0.7 (1,048,577 bytes)``: a request in a few clipped words."""
    method = _clip(environ.get("REQUEST_METHOD") or "?", 12)
    path = _clip(environ.get("PATH_INFO") or "/", 120)
    client = _clip(environ.get("REMOTE_ADDR") or "?", 64)
    if size is None:
        declared = (environ.get("CONTENT_LENGTH") or "").strip()
        size = int(declared) if declared.isascii() and declared.isdigit() else None
    length = f" ({size:,} bytes)" if size is not None else ""
    return f"{method} {path} from {client}{length}"


def _clip(text: str, limit: int) -> str:
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RefusalLog:
    """One WARNING line per refused request, at most ``burst`` at once and then ``per_second``:
    the lines held back are counted in the next one written. ``clock`` (seconds, monotonic) is
    a parameter so tests can move it."""

    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        burst: int = 20,
        per_second: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.logger, self.burst, self.per_second, self.clock = logger, burst, per_second, clock
        self._tokens = float(burst)
        self._at = clock()
        self._held = 0
        self._lock = threading.Lock()

    def refused(self, what: str, status: int | None, reason: str) -> None:
        """``what``: the request (``describe``) or the connection; ``status``: the HTTP status
        answered (``None``: the connection was closed without one); ``reason``: why, in words."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens < 1:
                self._held += 1
                return
            self._tokens -= 1
            held, self._held = self._held, 0
        more = f" [{held:,} more refused, not logged]" if held else ""
        answered = f"{status} " if status is not None else ""
        self.logger.warning("refused %s%s: %s%s", answered, what, _clip(reason, 200), more)


refusals = RefusalLog()
"""The process's refusal log: every route and the HTTP server write to it."""
