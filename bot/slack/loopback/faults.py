"""How the fake Slack misbehaves: scripted answers (``Reply``), requests held until a test
lets them go (``Hold``), and random faults for drills (``Storm``)."""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.slack.loopback.calls import RESPONSE_URL, UPLOAD_URL


class Hold:
    """Keeps a request waiting until the test lets it go: ``reached`` is set once a request
    is held, ``release()`` lets it continue. Unlike a delay, it does not depend on how fast
    anything runs: the test decides what happens while the request waits."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def wait(self, stopping: threading.Event) -> None:
        """Called by the server: wait until released or the server stops."""
        self.reached.set()
        while not self._released.wait(0.05):
            if stopping.is_set():
                return


@dataclass(frozen=True)
class Reply:
    """A scripted answer. ``delay`` is slept first (and ``hold``, when given, waited out);
    then the connection is dropped (``drop``), or answered with ``status``/``error``/
    ``body``, or — when none of those is set — handled normally (slowness). A 429 gets
    ``Retry-After: 1`` unless ``headers`` says otherwise; slack_sdk parses it with
    ``int()``, so give whole seconds."""

    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    body: dict[str, Any] | str | None = None
    """The answer as it is: JSON, or text (a proxy's HTML error page)."""
    hold: Hold | None = field(default=None, compare=False)

    @property
    def waits(self) -> bool:
        return self.delay > 0 or self.hold is not None

    @property
    def answers(self) -> bool:
        """This reply replaces the normal answer (rather than only slowing it down)."""
        return self.status != 200 or self.error is not None or self.body is not None

    def payload(self) -> dict[str, Any] | str:
        if self.body is not None:
            return self.body
        if self.error is not None:
            return {"ok": False, "error": self.error}
        if self.status == 429:
            return {"ok": False, "error": "ratelimited"}
        return {"ok": False, "error": "internal_error" if self.status >= 500 else "request_failed"}

    def response_headers(self) -> dict[str, str]:
        if self.status == 429 and not any(k.lower() == "retry-after" for k in self.headers):
            return {"Retry-After": "1", **self.headers}
        return dict(self.headers)


FAULTS = ("rate_limited", "server_error", "slow", "timeout", "dropped")


class Storm:
    """Random faults for a reliability drill: each Web API call (or only ``methods``, and
    never those in ``spare``) is, with these probabilities, answered

    - ``rate_limited``: 429 with ``Retry-After: retry_after`` (nothing done);
    - ``server_error``: 500, 503, or 502 with an HTML page as a proxy sends it (nothing done);
    - ``slow``: normally, after a delay drawn from ``slow_delay`` seconds;
    - ``timeout``: normally — the work is done — but only after ``timeout_delay`` seconds,
      when a client with a shorter timeout has given up: a post its sender never heard of;
    - ``dropped``: not at all, the connection closed before anything was done.

    ``counts`` says how many of each were injected. Seeded, so a drill can be replayed.
    """

    def __init__(
        self,
        *,
        rate_limited: float = 0.0,
        server_error: float = 0.0,
        slow: float = 0.0,
        timeout: float = 0.0,
        dropped: float = 0.0,
        retry_after: int = 1,
        slow_delay: tuple[float, float] = (0.2, 1.0),
        timeout_delay: float = 6.0,
        methods: Iterable[str] | None = None,
        spare: Iterable[str] = (),
        seed: int | None = None,
    ):
        self.rates = {
            "rate_limited": rate_limited, "server_error": server_error, "slow": slow,
            "timeout": timeout, "dropped": dropped,
        }  # fmt: skip
        if sum(self.rates.values()) > 1:
            raise ValueError("the fault rates add up to more than 1")
        self.retry_after = retry_after
        self.slow_delay, self.timeout_delay = slow_delay, timeout_delay
        self.methods = frozenset(methods) if methods is not None else None
        self.spare = frozenset(spare)
        self.counts: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, method: str) -> Reply | None:
        if method in (RESPONSE_URL, UPLOAD_URL) and self.methods is None:
            return None  # response URLs and uploads are other hosts than the Web API
        if method in self.spare or (self.methods is not None and method not in self.methods):
            return None
        with self._lock:
            roll, chosen = self._random.random(), None
            for kind, rate in self.rates.items():
                if roll < rate:
                    chosen = kind
                    break
                roll -= rate
            if chosen is None:
                return None
            self.counts[chosen] += 1
            which = self._random.random()
            delay = self._random.uniform(*self.slow_delay)
        if chosen == "rate_limited":
            return Reply(status=429, headers={"Retry-After": str(self.retry_after)})
        if chosen == "server_error":
            if which < 1 / 3:
                html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
                return Reply(status=502, body=html)
            return Reply(status=500 if which < 2 / 3 else 503)
        if chosen == "slow":
            return Reply(delay=delay)
        if chosen == "timeout":
            return Reply(delay=self.timeout_delay)
        return Reply(drop=True)


Faults = Callable[[str], Reply | None]
"""Asked how to answer each call that no script answers (a ``Storm``, say)."""


class Scripts:
    """The answers given instead of the normal ones: scripted for the next calls to a
    method, for every call to it, or by a storm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, deque[Reply]] = {}
        self._always: dict[str, Reply] = {}
        self._storm: Faults | None = None

    def script(self, method: str, *replies: Reply) -> None:
        with self._lock:
            self._next.setdefault(method, deque()).extend(replies)

    def fail_always(self, method: str, reply: Reply) -> None:
        with self._lock:
            self._always[method] = reply

    def clear(self) -> None:
        with self._lock:
            self._next.clear()
            self._always.clear()

    def storm(self, faults: Faults | None) -> None:
        with self._lock:
            self._storm = faults

    def reply_to(self, method: str) -> Reply | None:
        """The scripted answer to this call, if any (a script is used up as it answers)."""
        with self._lock:
            for key in (method, "*"):
                queue = self._next.get(key)
                if queue:
                    return queue.popleft()
            scripted = self._always.get(method) or self._always.get("*")
            storm = self._storm
        if scripted is None and storm is not None:
            return storm(method)
        return scripted
