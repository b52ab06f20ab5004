"""Posting one message once, with Slack's failure handling: the worker's reminders and the
weekly digest both post through ``Delivery``.

Slack's answers, and what they mean for the row being posted:

- ``429``: ``Retry`` after Retry-After. A rate limit does not count towards failing
  (nothing was posted).
- ``5xx``, timeouts and connection errors: ``Retry`` with exponential backoff
  (``retry_at``), then, after ``MAX_ATTEMPTS``, failed.
- ``not_in_channel``: join the channel and post again (``IncidentChannels.post``).
- an archived or deleted channel: post in the fallback channel instead, saying why, when
  there is one (the reminders' SLABOT_ANNOUNCE_CHANNEL).
- anything else (``invalid_auth``, ``missing_scope``, ``user_not_found``…): ``Failed``.

Every post carries its row's key as message metadata. Retrying a row whose last attempt
may have reached Slack (a lease taken over from a worker that died, a timeout, a 5xx), the
caller asks to look for that key in the channel's recent messages first (``check_first``),
so a worker that died between posting and marking does not cause a second post.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import Message, with_note
from bot.slack.channels import SLACK_FAILURES, IncidentChannels

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
"""Counted attempts (5xx, timeouts, connection errors) before a row is marked failed: with
the backoff of ``retry_at`` (1, 2, 4 … 60 s) a row rides out about four minutes of Slack
being down, then fails visibly (App Home, /healthz, ``slabot doctor``)."""
_GONE = {"is_archived", "channel_not_found"}


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str | None
    already: bool = False
    """Found already posted (by a worker that died before it could say so)."""


@dataclass(frozen=True)
class Retry:
    reason: str
    after: float | None = None
    """Seconds to wait (Slack's Retry-After); ``None``: back off by the attempts so far."""
    counts: bool = True
    """Whether it counts towards ``MAX_ATTEMPTS`` (a rate limit does not)."""

    def gave_up(self, attempts: int) -> Failed:
        """The failure to record when ``retry_at`` says no more attempts."""
        return Failed(f"{self.reason} (after {attempts} attempts)")


@dataclass(frozen=True)
class Failed:
    reason: str


Outcome = Posted | Retry | Failed


def retry_at(outcome: Retry, attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try a row again after ``attempts`` attempts, or ``None`` to give up on it:
    Slack's Retry-After, else 1, 2, 4 … 60 s; a counted attempt past ``MAX_ATTEMPTS`` fails."""
    if outcome.counts and attempts >= MAX_ATTEMPTS:
        return None
    wait = outcome.after if outcome.after is not None else min(60.0, 2.0 ** (attempts - 1))
    return now + dt.timedelta(seconds=wait)


def error_text(exc: Exception) -> str:
    """Slack's error code (``channel_not_found``), else what went wrong."""
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


class Delivery:
    """Posts a message into a channel with the rules above; never raises for Slack.

    ``event_type`` names the metadata the key travels in (``slabot_reminder``…);
    ``fallback`` is the channel to post in when the channel is archived or gone.
    """

    def __init__(
        self,
        client: WebClient,
        channels: IncidentChannels,
        *,
        event_type: str,
        fallback: str | None = None,
    ):
        self.client, self.channels = client, channels
        self.event_type, self.fallback = event_type, fallback

    def deliver(
        self,
        channel: str,
        message: Message,
        key: str,
        *,
        check_first: bool = False,
        since: dt.datetime | None = None,
    ) -> Outcome:
        """Post ``message`` tagged with ``key``. ``check_first``: an earlier attempt may have
        reached Slack, so look for ``key`` in the channel's messages since ``since`` first."""
        try:
            if check_first and self.already_posted(channel, key, since):
                return Posted(channel, None, already=True)
            return Posted(channel, self._post(channel, message, key))
        except SLACK_FAILURES as exc:
            outcome, error, fallback = self.failure(exc), error_text(exc), self.fallback
            if isinstance(outcome, Failed) and error in _GONE and fallback and channel != fallback:
                return self._fall_back(fallback, message, key, error, check_first, since)
            return outcome

    def failure(self, exc: SlackApiError | OSError) -> Retry | Failed:
        """What an error of any Slack call made for a row means: try again, or give up."""
        if not isinstance(exc, SlackApiError):  # timeouts and connection errors
            return Retry(f"{type(exc).__name__}: {exc}")
        response = exc.response
        error = error_text(exc)
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", response.headers.get("retry-after", 1))
            seconds = max(1, int(wait or 1))
            return Retry(f"rate limited for {seconds}s", after=seconds, counts=False)
        if response.status_code >= 500:
            return Retry(f"Slack answered {response.status_code} ({error or 'no error'})")
        return Failed(f"Slack refused it: {error or response.status_code}")

    def already_posted(self, channel: str, key: str, since: dt.datetime | None = None) -> bool:
        """Whether a message with ``key`` is among the channel's recent messages.

        A channel that can never be read (no ``channels:history``, not a member) counts as
        "not posted": a rare second post beats a lost one. One that cannot be read *for a
        moment* (5xx, 429, a timeout) raises, so the row is retried later instead: an
        earlier post that landed unheard would otherwise be posted again."""
        extra = {"oldest": f"{since.timestamp() - 300:.6f}"} if since else {}
        try:
            history = self.client.conversations_history(
                channel=channel, limit=100, include_all_metadata=True, **extra
            )
        except SLACK_FAILURES as exc:
            if isinstance(self.failure(exc), Retry):
                raise
            log.warning(
                "cannot read %s to check for %s (%s); posting", channel, key, error_text(exc)
            )
            return False
        return any(
            ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == key
            for m in history.get("messages", [])
        )

    def _post(self, channel: str, message: Message, key: str) -> str | None:
        metadata = {"event_type": self.event_type, "event_payload": {"key": key}}
        return self.channels.post(channel, message, metadata=metadata)

    def _fall_back(
        self,
        fallback: str,
        message: Message,
        key: str,
        error: str,
        check_first: bool,
        since: dt.datetime | None,
    ) -> Outcome:
        gone = "archived" if error == "is_archived" else "gone"
        note = with_note(message, f"(Posted here because the incident channel is {gone}.)")
        try:
            if check_first and self.already_posted(fallback, key, since):
                return Posted(fallback, None, already=True)
            return Posted(fallback, self._post(fallback, note, key))
        except SLACK_FAILURES as again:
            return Retry(f"announce channel: {error_text(again)}")
