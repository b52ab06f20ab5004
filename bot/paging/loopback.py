"""Local stand-ins for the paging services' APIs, on 127.0.0.1 (any free port), for tests
and drills — the way ``bot.slack.loopback`` stands in for Slack: every call recorded, the
answers scriptable, each API checked as its documentation describes it.

- ``PagerDutyEvents``: ``POST /v2/enqueue`` (Events API v2). Like PagerDuty, it keeps one
  alert per ``dedup_key``: a ``trigger`` for a key whose alert is open adds to it, a
  ``resolve`` closes it, so ``alerts`` tells how many incidents a person would have been
  paged for.
- ``OpsgenieAlerts``: ``POST /v2/alerts`` (create, ``alias`` deduplicates likewise) and
  ``POST /v2/alerts/{alias}/close?identifierType=alias``, authenticated by
  ``Authorization: GenieKey <key>``.

``script(*replies)`` answers the next calls with the given ``Reply`` (a status and body,
``Retry-After`` for a 429, or a dropped connection) instead of the normal answer.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from bot.slack.loopback.transport import Answer, HttpServer, Request


@dataclass(frozen=True)
class Reply:
    """A scripted answer: ``status`` with ``body`` and ``headers``, or a dropped
    connection (``drop``: the client sees the connection end without an answer)."""

    status: int = 500
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass(frozen=True)
class PageCall:
    """One call as it arrived: the path, its JSON body (``{}`` if it was none), the
    ``Authorization`` header, and the answer's status (``None``: dropped)."""

    path: str
    body: dict[str, Any]
    authorization: str | None
    query: dict[str, str]
    status: int | None


class _StandIn(ABC):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: tuple[float, float] | None = None,
        seed: int = 0,
    ):
        self._http = HttpServer(self._serve, host, port)
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self.calls: list[PageCall] = []
        self.latency = latency
        """Seconds (at random between the two) each call takes to answer, after it was
        received and recorded: as a real service's would, so a drill's kills land while a
        page is in flight."""
        self._random = random.Random(seed)

    def start(self) -> Self:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._http.host}:{self._http.port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next ``len(replies)`` calls with these, in order."""
        with self._lock:
            self._script.extend(replies)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self._http.wait_idle(timeout)

    def _serve(self, request: Request) -> Answer | None:
        path = request.method  # the path, without the query (``request.params``)
        try:
            body = json.loads(request.raw) if request.raw else {}
        except ValueError:
            body = {"_raw": request.raw.decode("utf-8", "replace")}
        query_params = {k: str(v) for k, v in request.params.items()}
        with self._lock:
            scripted = self._script.popleft() if self._script else None
            if scripted is not None:
                answer = None if scripted.drop else Answer(
                    scripted.status, scripted.body if scripted.body is not None else {},
                    scripted.headers,
                )  # fmt: skip
            else:
                answer = self.answer(path, body if isinstance(body, dict) else {}, request)
            recorded = body if isinstance(body, dict) else {"_body": body}
            status = answer.status if answer else None
            auth = request.headers.get("authorization")
            self.calls.append(PageCall(path, recorded, auth, query_params, status))
            wait = self._random.uniform(*self.latency) if self.latency else 0.0
        if wait:
            time.sleep(wait)
        return answer

    @abstractmethod
    def answer(self, path: str, body: dict[str, Any], request: Request) -> Answer:
        """The service's answer to a request it was not scripted to fail."""


class PagerDutyEvents(_StandIn):
    """PagerDuty's Events API v2 for one integration, whose key is ``routing_key``."""

    def __init__(self, routing_key: str, **kwargs):
        super().__init__(**kwargs)
        self.routing_key = routing_key
        self.alerts: dict[str, str] = {}
        """dedup_key → ``triggered`` or ``resolved``."""

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/v2/enqueue"

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        """The events accepted (202), in order; only those of ``action`` when given."""
        with self._lock:
            return [
                c.body
                for c in self.calls
                if c.status == 202 and (action is None or c.body.get("event_action") == action)
            ]

    def answer(self, path: str, body: dict[str, Any], request: Request) -> Answer:
        if path != "/v2/enqueue":
            return Answer(404, {"status": "not found", "message": "no such path"})
        errors = []
        if body.get("routing_key") != self.routing_key:
            errors.append("'routing_key' is invalid")
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' must be trigger, acknowledge or resolve")
        key = body.get("dedup_key")
        if action == "trigger":
            payload = body.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing")
            if payload.get("severity") not in (None, "critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
            if len(str(payload.get("summary") or "")) > 1024:
                errors.append("'payload.summary' is longer than 1024 characters")
        elif not key:
            errors.append("'dedup_key' is required to acknowledge or resolve")
        if errors:
            return Answer(
                400, {"status": "invalid event", "message": "Event object is invalid",
                      "errors": errors},
            )  # fmt: skip
        key = key or uuid.uuid4().hex
        if action == "trigger":
            self.alerts[key] = "triggered"
        elif action == "resolve" and key in self.alerts:
            self.alerts[key] = "resolved"
        return Answer(202, {"status": "success", "message": "Event processed", "dedup_key": key})


class OpsgenieAlerts(_StandIn):
    """Opsgenie's Alert API for one API integration, whose key is ``api_key``."""

    def __init__(self, api_key: str, **kwargs):
        super().__init__(**kwargs)
        self.api_key = api_key
        self.alerts: dict[str, str] = {}
        """alias → ``open`` or ``closed``."""

    def requests(self, kind: str | None = None) -> list[PageCall]:
        """The calls accepted (202): ``create`` or ``close`` when ``kind`` is given."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.status == 202
                and (kind is None or (kind == "close") == c.path.endswith("/close"))
            ]

    def answer(self, path: str, body: dict[str, Any], request: Request) -> Answer:
        done = {"result": "Request will be processed", "took": 0.01,
                "requestId": str(uuid.uuid4())}  # fmt: skip
        if request.headers.get("authorization") != f"GenieKey {self.api_key}":
            return Answer(401, {"message": "Could not authenticate", "took": 0.0, "requestId": "-"})
        parts = path.strip("/").split("/")
        if parts == ["v2", "alerts"]:
            message = str(body.get("message") or "")
            if not message or len(message) > 130:
                return Answer(422, {"message": "Message can not be empty or longer than 130",
                                    "took": 0.0, "requestId": "-"})  # fmt: skip
            alias = str(body.get("alias") or message)
            if len(alias) > 512:
                return Answer(422, {"message": "Alias is longer than 512", "took": 0.0,
                                    "requestId": "-"})  # fmt: skip
            if body.get("priority") not in (None, "P1", "P2", "P3", "P4", "P5"):
                return Answer(422, {"message": "Priority is invalid", "took": 0.0,
                                    "requestId": "-"})  # fmt: skip
            self.alerts[alias] = "open"
            return Answer(202, done)
        if len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] == "close":
            if request.params.get("identifierType") != "alias":
                return Answer(422, {"message": "identifierType must be alias here", "took": 0.0,
                                    "requestId": "-"})  # fmt: skip
            if parts[2] in self.alerts:
                self.alerts[parts[2]] = "closed"
            return Answer(202, done)
        return Answer(404, {"message": "no such path", "took": 0.0, "requestId": "-"})
