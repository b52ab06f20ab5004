"""The worker: posts due reminders into incident channels, each once, on time.

Loop: supersede stale reminders, claim due ones, post each outside any transaction, then
mark it — only while still holding the claim. It sleeps until the next reminder is due,
but never longer than ``poll`` seconds, so a reminder the web process has just written
(due at once, say) is noticed within ``poll``.

Slack's answers, and what the worker does with them:

- ``429``: the reminder is retried after Retry-After; other reminders go on meanwhile.
- ``5xx``, timeouts and connection errors: retried with exponential backoff, then marked
  failed, logged, and shown on App Home and by ``slabot doctor``.
- ``not_in_channel``: join the channel and post again.
- an archived or deleted channel: post in SLABOT_ANNOUNCE_CHANNEL instead, saying why.
- anything else (``invalid_auth``, ``missing_scope``…): marked failed at once, logged.

A worker taking over an expired lease first looks for the reminder's key in the channel's
recent messages (message metadata), so a worker that died between posting and marking
does not cause a second post.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import Context
from bot.digest import service as digests
from bot.digest.sender import DigestSender
from bot.reminders import service
from bot.reminders.service import Due
from bot.slack.blocks import Message, reminder_message, with_note
from bot.slack.channels import IncidentChannels
from config.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
METADATA_EVENT = "slabot_reminder"
_GONE = {"is_archived", "channel_not_found"}


class Worker:
    def __init__(
        self,
        ctx: Context,
        client: WebClient,
        settings: Settings,
        *,
        worker_id: str | None = None,
        poll: float = 0.5,
        batch: int = 20,
        heartbeat_every: float = 5.0,
    ):
        self.ctx, self.client, self.settings = ctx, client, settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.poll, self.batch, self.heartbeat_every = poll, batch, heartbeat_every
        self.channels = IncidentChannels(client, settings, ctx.contracts)
        self.digests = DigestSender(ctx, client, settings)
        self.posted = 0
        self.stop = threading.Event()
        self._last_beat: dt.datetime | None = None

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        log.info("worker %s started", self.worker_id)
        try:
            while not self.stop.is_set():
                self._beat()
                try:
                    handled = self.run_once()
                except Exception:
                    log.exception("worker loop failed; retrying")
                    self.ctx.clock.sleep(min(5.0, self.poll * 4), self.stop)
                    continue
                if handled == 0:
                    self.ctx.clock.sleep(self._idle_for(), self.stop)
        finally:
            released = service.release_all(self.ctx, self.worker_id)
            released += digests.release_all(self.ctx, self.worker_id)
            service.heartbeat(self.ctx, self.worker_id, self.posted, stopping=True)
            log.info("worker %s stopped (%d claims handed back)", self.worker_id, released)

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT finish the reminder in hand, hand back the rest, and stop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def _idle_for(self) -> float:
        upcoming = service.next_due(self.ctx)
        if upcoming is None:
            return self.poll
        return max(0.0, min(self.poll, (upcoming - self.ctx.clock.now()).total_seconds()))

    def _beat(self) -> None:
        now = self.ctx.clock.now()
        if (
            self._last_beat is None
            or (now - self._last_beat).total_seconds() >= self.heartbeat_every
        ):
            try:
                service.heartbeat(self.ctx, self.worker_id, self.posted)
                self._last_beat = now
            except Exception:
                log.warning("heartbeat failed", exc_info=True)

    def run_once(self) -> int:
        """Claim and handle one batch of due reminders; how many were handled."""
        batch = service.claim(self.ctx, self.worker_id, self.batch)
        for due in batch:
            if self.stop.is_set():
                break  # the rest is handed back by run()'s release_all
            self.handle(due)
        return len(batch) + self._digest_step()

    def _digest_step(self) -> int:
        """The weekly digest (bot.digest.sender); its failures never hold up reminders."""
        if self.stop.is_set():
            return 0
        try:
            return self.digests.run_once(self.worker_id)
        except Exception:
            log.exception("weekly digest step failed; retrying")
            return 0

    # --- one reminder ------------------------------------------------------------------------

    def handle(self, due: Due) -> None:
        reminder, view = due.reminder, due.incident
        if not due.holds:
            service.drop(self.ctx, due, self.worker_id)
            return
        message = self.message(due)
        channel = view.channel_id or self.settings.announce_channel
        if channel is None:
            service.fail(
                self.ctx,
                due,
                self.worker_id,
                "the incident has no channel and SLABOT_ANNOUNCE_CHANNEL is not set",
            )
            log.error("reminder %s of %s: no channel to post in", reminder.dedupe_key, view.ref)
            return
        try:
            if reminder.attempts > 1 and self._already_posted(channel, reminder.dedupe_key):
                service.sent(self.ctx, due, self.worker_id, channel, None)
                return
            ts = self._post(channel, message, reminder.dedupe_key)
        except SlackApiError as exc:
            self._slack_error(due, channel, message, exc)
            return
        except OSError as exc:  # timeouts and connection errors
            self._retry_or_fail(due, f"{type(exc).__name__}: {exc}")
            return
        self._done(due, channel, ts)

    def message(self, due: Due) -> Message:
        r = due.reminder
        return reminder_message(
            due.incident, r.timer, r.kind, r.step, r.deadline_at, r.due_at, self.ctx.clock.now(),
            late=r.late, escalation=self.settings.escalation,
        )  # fmt: skip

    def _post(self, channel: str, message: Message, key: str) -> str | None:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        return self.channels.post(channel, message, metadata=metadata)

    def _already_posted(self, channel: str, key: str) -> bool:
        history = self.client.conversations_history(
            channel=channel, limit=50, include_all_metadata=True
        )
        return any(
            (m.get("metadata") or {}).get("event_payload", {}).get("key") == key
            for m in history.get("messages", [])
        )

    def _done(self, due: Due, channel: str, ts: str | None) -> None:
        if service.sent(self.ctx, due, self.worker_id, channel, ts):
            self.posted += 1
            if due.reminder.kind == "breach":  # the card now shows the breach
                self.channels.refresh_card(due.incident)
        else:
            log.warning(
                "reminder %s was posted but its claim had been taken over", due.reminder.dedupe_key
            )

    def _slack_error(self, due: Due, channel: str, message: Message, exc: SlackApiError) -> None:
        response = exc.response
        error = response.get("error") if isinstance(response.data, dict) else None
        if response.status_code == 429:
            wait = int(
                response.headers.get("Retry-After", response.headers.get("retry-after", 1)) or 1
            )
            not_before = self.ctx.clock.now() + dt.timedelta(seconds=wait)
            service.retry(self.ctx, due, self.worker_id, not_before, f"rate limited for {wait}s")
            return
        if response.status_code >= 500:
            self._retry_or_fail(
                due, f"Slack answered {response.status_code} ({error or 'no error'})"
            )
            return
        if (
            error in _GONE
            and self.settings.announce_channel
            and channel != self.settings.announce_channel
        ):
            fallback = self.settings.announce_channel
            gone = "archived" if error == "is_archived" else "gone"
            note = with_note(message, f"(Posted here because the incident channel is {gone}.)")
            try:
                ts = self._post(fallback, note, due.reminder.dedupe_key)
            except (SlackApiError, OSError) as again:
                self._retry_or_fail(due, f"announce channel: {again}")
                return
            self._done(due, fallback, ts)
            return
        reason = f"Slack refused it: {error or response.status_code}"
        service.fail(self.ctx, due, self.worker_id, reason)
        log.error("reminder %s of %s failed: %s", due.reminder.dedupe_key, due.incident.ref, reason)

    def _retry_or_fail(self, due: Due, reason: str) -> None:
        attempts = due.reminder.attempts
        if attempts >= MAX_ATTEMPTS:
            service.fail(self.ctx, due, self.worker_id, f"{reason} (after {attempts} attempts)")
            log.error(
                "reminder %s of %s failed after %d attempts: %s",
                due.reminder.dedupe_key,
                due.incident.ref,
                attempts,
                reason,
            )
            return
        backoff = min(60.0, 2.0 ** (attempts - 1))
        service.retry(
            self.ctx,
            due,
            self.worker_id,
            self.ctx.clock.now() + dt.timedelta(seconds=backoff),
            reason,
        )
        log.warning("reminder %s: %s; retrying in %.0fs", due.reminder.dedupe_key, reason, backoff)
