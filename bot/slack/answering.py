"""The state of one request's answer, for work that can deliver its own outcome.

``Edge.answer`` acknowledges a request with its reply when the work is done within the ack
budget, else with "working on it" and the reply after. Work that tells the person itself
(a declaration's task, at the response URL) asks ``current`` whether the acknowledgement has
already gone out: if so it tells them at once — before the task is marked done, so a
process killed in between leaves the telling to the worker that resumes it — and the reply
that would follow is not sent; if not, the acknowledgement carries the outcome, and the
work tells nobody (a message sent before the acknowledgement would be a second one).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar


class Answer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.gave_up = False
        """The acknowledgement said "working on it": the reply follows it."""
        self.told = False
        """The work told the person itself: the reply that would follow is not sent."""

    def give_up(self) -> None:
        with self._lock:
            self.gave_up = True

    def tell_here(self) -> bool:
        """Whether the work should tell the person itself now (the acknowledgement has gone
        out without the outcome); once it says so, the reply is not sent after."""
        with self._lock:
            self.told = self.told or self.gave_up
            return self.told


current: ContextVar[Answer | None] = ContextVar("slabot_answer", default=None)
"""The answer of the request whose work this thread is doing, if any."""
