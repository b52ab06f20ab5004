"""Every request the fake Slack answered, recorded in order, and ways to wait for one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RESPONSE_URL = "response_url"
"""The ``Call.method`` of a post to a URL made by ``LoopbackSlack.response_url``."""
UPLOAD_URL = "upload_url"
"""The ``Call.method`` of the upload step of ``files_upload_v2`` (the bytes themselves)."""


@dataclass
class Call:
    """One request as the server saw it.

    ``params`` merges the query string, form fields and JSON body (form values stay the
    strings slack_sdk sent: booleans arrive as ``"1"``/``"0"``, numbers as text; the
    JSON-string fields in ``transport.JSON_FIELDS`` are decoded). ``status`` is the HTTP
    status answered, 0 for a dropped connection. ``target`` is the response URL's id or the
    uploaded file's id for those two kinds of call.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int
    response: Any = None
    target: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and (
            not isinstance(self.response, dict) or bool(self.response.get("ok", True))
        )

    def summary(self) -> str:
        """``chat.postMessage(channel='C0001', text='hi') -> 200 ok`` (for failure messages)."""
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        outcome = "ok" if self.ok else _error_of(self.response) or "failed"
        return f"{self.method}({shown}) -> {self.status} {outcome}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_of(response: Any) -> str | None:
    return response.get("error") if isinstance(response, dict) else None


class CallLog:
    """The calls answered so far, oldest first; threads can wait for one to arrive."""

    def __init__(self) -> None:
        self._arrived = threading.Condition()
        self._calls: list[Call] = []

    def record(self, call: Call) -> None:
        with self._arrived:
            self._calls.append(call)
            self._arrived.notify_all()

    def all(self) -> list[Call]:
        with self._arrived:
            return list(self._calls)

    def to(self, method: str) -> list[Call]:
        with self._arrived:
            return [c for c in self._calls if c.method == method]

    def clear(self) -> None:
        with self._arrived:
            self._calls.clear()

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 30.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` (matching ``where``) have been
        recorded since the last reset; return all such calls. Raise AssertionError naming
        what did arrive when ``timeout`` runs out (a bound on a hang, not a speed limit)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            arrived = list(self._calls)
        condition = " matching `where`" if where else ""
        lines = [c.summary() for c in arrived[-20:]] or ["(no calls at all)"]
        if len(arrived) > 20:
            lines.insert(0, f"… {len(arrived) - 20} earlier calls")
        raise AssertionError(
            f"waited {timeout:g}s for {count} {method} call(s){condition}, got {len(found)}; "
            "calls received:\n  " + "\n  ".join(lines)
        )
