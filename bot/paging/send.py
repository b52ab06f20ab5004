"""One event to a paging service over HTTP, and what its answer means for the task that
sends it — the same three outcomes as a Slack post (``bot.slack.delivery``):

- ``2xx``: done.
- ``429``: ``Retry`` after ``Retry-After`` (else ``RATE_LIMIT_WAIT``), not counted towards
  failing: nothing was accepted.
- ``5xx``, timeouts, refused or dropped connections: ``Retry`` with the backoff of
  ``bot.slack.delivery.retry_at`` (1, 2, 4 … 60 s), then failed after ``MAX_ATTEMPTS``.
- any other ``4xx`` (a wrong key, an event the service calls invalid): ``Failed`` at once,
  with the service's own words.

The keys travel in the body (PagerDuty) or a header (Opsgenie); no outcome's reason
repeats them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from bot.slack.delivery import Failed, Retry

TIMEOUT = 10.0
"""Seconds one call may take; a task's claim outlasts it (``POST_BUDGET``)."""
RATE_LIMIT_WAIT = 30.0
"""Seconds to wait after a 429 that does not say how long."""


@dataclass(frozen=True)
class Accepted:
    status: int
    body: dict


def post_json(
    service: str, url: str, body: dict, *, headers: dict[str, str] | None = None
) -> Accepted | Retry | Failed:
    """POST ``body`` as JSON to ``url``; ``service`` names it in the reasons (``PagerDuty``)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "slabot", **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return Accepted(answer.status, _json(answer.read()))
    except urllib.error.HTTPError as exc:
        status, said = exc.code, _words(_json(exc.read()))
        if status == 429:
            wait = _seconds(exc.headers.get("Retry-After"))
            return Retry(
                f"{service} rate limited{f' for {wait:g}s' if wait else ''}",
                after=wait or RATE_LIMIT_WAIT, counts=False,
            )  # fmt: skip
        if status >= 500:
            return Retry(f"{service} answered {status}{f' ({said})' if said else ''}")
        return Failed(f"{service} refused it: {status}{f' {said}' if said else ''}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Retry(f"{service} did not answer ({type(reason).__name__})")


def _json(raw: bytes) -> dict:
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _words(body: dict) -> str:
    """What the service said went wrong, in at most 200 characters."""
    parts = [str(body.get("message") or "")]
    errors = body.get("errors")
    if isinstance(errors, list):
        parts.extend(str(e) for e in errors[:5])
    elif isinstance(errors, dict):
        parts.extend(f"{k}: {v}" for k, v in list(errors.items())[:5])
    text = "; ".join(p for p in parts if p)
    return text if len(text) <= 200 else text[:199] + "…"


def _seconds(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return max(1.0, float(value.strip()))
    return None
