"""Sending the weekly digest: the worker's step each loop, and ``slabot digest --send``.

This is an edge like ``bot.worker``: it talks to Slack, and keeps to the outbox's rules
(``bot.digest.service``): rows are written once for the latest due week, claimed with a
lease, posted outside any transaction, marked sent only while the claim is held.

- **When**: the latest scheduled instant at or before now (``SLABOT_DIGEST_SCHEDULE``)
  names the week due: the last complete one. Its rows are written the first time a worker
  sees the week has none. Only that week: a worker back after weeks of downtime sends the
  latest week once, saying it is late, and older weeks' unsent rows are superseded.
- **Who**: ``SLABOT_MANAGERS`` by direct message (a user group's members, expanded with
  ``usergroups.users.list`` when the week's rows are written) and ``SLABOT_DIGEST_CHANNEL``.
  If Slack cannot expand a group, nothing is written and the worker tries again shortly,
  so nobody silently misses a week.
- **Exactly once**: each post carries ``<week>/<recipient>`` as message metadata; a worker
  taking over an expired claim first looks for it in the conversation's recent messages.
- **Slack errors**: posted through ``bot.slack.delivery.Delivery``, as reminders are:
  ``429`` waits Retry-After, ``5xx`` and connection errors back off and then fail visibly,
  other errors (``user_not_found``…) fail at once. A chart that cannot be uploaded does not
  hold back the message; the row says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk import WebClient

from bot.context import Context
from bot.digest import service
from bot.digest.chart import budget_chart
from bot.digest.views import Digest
from bot.digest.weeks import IsoWeek, due_week, latest_occurrence, parse_week
from bot.errors import Refusal
from bot.slack.channels import SLACK_FAILURES, IncidentChannels
from bot.slack.delivery import Delivery, Posted, Retry, retry_at
from bot.slack.digest import digest_message
from bot.slack.mrkdwn import is_user_id
from config.settings import Settings
from storage.models import DigestDelivery

log = logging.getLogger(__name__)

METADATA_EVENT = "slabot_digest"
CONTENT_FOR = dt.timedelta(minutes=5)
"""A digest built for one recipient is reused for the others claimed meanwhile."""


class OutcomeStatus(StrEnum):
    """What sending one recipient's digest came to (``slabot digest --send`` prints it)."""

    SENT = "sent"
    SENT_AGAIN = "sent again"
    PREVIEW = "sent as a preview (week so far)"
    """The running week: nothing is recorded."""
    ALREADY_SENT = "already sent"
    """Found posted after a takeover."""
    RETRY = "retry"
    FAILED = "failed"
    BUSY = "busy"
    """A worker is sending it right now."""


@dataclass(frozen=True)
class Outcome:
    recipient: str
    status: OutcomeStatus
    detail: str | None = None


class DigestSender:
    def __init__(
        self,
        ctx: Context,
        client: WebClient,
        settings: Settings,
        *,
        check_every: float = 5.0,
        batch: int = 50,
    ):
        self.ctx, self.client, self.settings = ctx, client, settings
        self.channels = IncidentChannels(client, settings, ctx.contracts)
        self.delivery = Delivery(client, self.channels, event_type=METADATA_EVENT)
        self.check_every, self.batch = dt.timedelta(seconds=check_every), batch
        self._next_check: dt.datetime | None = None
        self._written: IsoWeek | None = None
        self._content: tuple[str, dt.datetime, Digest, bytes | None] | None = None

    @property
    def zone(self) -> str:
        """Weeks run Monday to Sunday in the schedule's zone (UTC without a schedule)."""
        return self.settings.digest_zone

    @property
    def enabled(self) -> bool:
        """The digest is switched on: it has a schedule, and managers or a channel to go to."""
        return self.settings.weekly_digest is not None and bool(
            self.settings.managers or self.settings.digest_channel
        )

    def recipients(self) -> list[str]:
        """Managers' user ids (user groups expanded) and the digest channel, each once.

        Raises ``SlackApiError``/``OSError`` when a user group cannot be read.
        """
        found: list[str] = []
        for entry in self.settings.managers:
            if is_user_id(entry):
                found.append(entry)
            elif entry.startswith("S"):
                found += self.client.usergroups_users_list(usergroup=entry)["users"]
            else:
                log.warning("SLABOT_MANAGERS: %s is not a user or user-group id; skipped", entry)
        if self.settings.digest_channel:
            found.append(self.settings.digest_channel)
        return list(dict.fromkeys(found))

    # --- the worker's step -------------------------------------------------------------------

    def next_check(self, now: dt.datetime) -> dt.datetime | None:
        """When ``run_once`` next has something to look at (``None``: the digest is off)."""
        if not self.enabled:
            return None
        return self._next_check or now

    def run_once(self, worker_id: str) -> int:
        """Write the due week's rows if nobody has, then send what is due; how many handled.

        Does nothing (and reads nothing) between checks, every ``check_every`` seconds.
        """
        if not self.enabled:
            return 0
        now = self.ctx.clock.now()
        if self._next_check is not None and now < self._next_check:
            return 0
        self._next_check = now + self.check_every
        schedule = self.settings.weekly_digest
        assert schedule is not None  # enabled
        occurrence = latest_occurrence(schedule, now)
        week = due_week(schedule, occurrence)
        if self._written != week:
            if not service.week_scheduled(self.ctx, week):
                try:
                    recipients = self.recipients()
                except SLACK_FAILURES as exc:
                    log.warning("weekly digest %s: cannot list its recipients yet: %s", week, exc)
                    return 0
                service.schedule_week(self.ctx, week, recipients, occurrence)
            self._written = week
        handled = 0
        for row in service.claim(self.ctx, worker_id, self.batch):
            self.deliver(row, worker_id)
            handled += 1
        return handled

    # --- one recipient -----------------------------------------------------------------------

    def content(self, week: IsoWeek) -> tuple[Digest, bytes | None]:
        now = self.ctx.clock.now()
        cached = self._content
        if cached and cached[0] == week.label and now - cached[1] < CONTENT_FOR:
            return cached[2], cached[3]
        digest = service.make_digest(self.ctx, week, self.zone)
        chart = budget_chart(digest)
        self._content = (week.label, now, digest, chart)
        return digest, chart

    def deliver(self, row: DigestDelivery, holder: str) -> Outcome:
        """Post ``row``'s digest (it is claimed by ``holder``) and record the outcome."""
        digest, chart = self.content(parse_week(row.week))
        message = digest_message(digest, late_since=row.due_at if row.late else None)
        key = f"{row.week}/{row.recipient}"
        try:
            channel = self._conversation(row.recipient)
        except SLACK_FAILURES as exc:
            posted = self.delivery.failure(exc)
        else:
            posted = self.delivery.deliver(channel, message, key, check_first=row.attempts > 1)
        if isinstance(posted, Posted):
            if posted.already:
                service.sent(
                    self.ctx, row, holder, posted.channel, None, "found posted after a takeover"
                )
                return Outcome(row.recipient, OutcomeStatus.ALREADY_SENT)
            note = self._upload(posted.channel, chart, row.week)
            if not service.sent(self.ctx, row, holder, posted.channel, posted.ts, note):
                log.warning("digest %s was posted but its claim had been taken over", key)
            return Outcome(row.recipient, OutcomeStatus.SENT, note)
        if isinstance(posted, Retry):
            not_before = retry_at(posted, row.attempts, self.ctx.clock.now())
            if not_before is not None:
                service.retry(
                    self.ctx, row, holder, not_before, posted.reason, counts=posted.counts
                )
                log.warning(
                    "digest %s to %s: %s; retrying at %s",
                    row.week, row.recipient, posted.reason, f"{not_before:%H:%M:%S}",
                )  # fmt: skip
                return Outcome(row.recipient, OutcomeStatus.RETRY, posted.reason)
            posted = posted.gave_up(row.attempts)
        service.fail(self.ctx, row, holder, posted.reason)
        log.error("digest %s to %s failed: %s", row.week, row.recipient, posted.reason)
        return Outcome(row.recipient, OutcomeStatus.FAILED, posted.reason)

    def _conversation(self, recipient: str) -> str:
        """The channel to post in: a user's direct-message channel, or the channel itself."""
        if is_user_id(recipient):
            return self.client.conversations_open(users=recipient)["channel"]["id"]
        return recipient

    def _upload(self, channel: str, chart: bytes | None, week: str) -> str | None:
        if chart is None:
            return None
        try:
            self.client.files_upload_v2(
                channel=channel,
                file=chart,
                filename=f"slabot-digest-{week}.png",
                title=f"Downtime budgets, {week}",
            )
        except SLACK_FAILURES as exc:
            log.warning("digest %s: the chart was not uploaded to %s: %s", week, channel, exc)
            return f"chart not uploaded: {exc}"
        return None

    # --- slabot digest --send -----------------------------------------------------------------

    def send_now(self, week: IsoWeek, claimer: str) -> list[Outcome]:
        """Send ``week``'s digest to every recipient now (CLI).

        A complete week is recorded: each recipient's row is written or taken and marked
        sent, so the worker does not send it again; a recipient who already had it gets it
        again. The running week is a preview and records nothing.
        """
        recipients = self.recipients()
        if not recipients:
            raise Refusal(
                "the digest has no recipients: set SLABOT_MANAGERS (user or user-group ids) "
                "and/or SLABOT_DIGEST_CHANNEL (a channel id)"
            )
        digest, chart = self.content(week)
        plan = service.claim_for_send(self.ctx, claimer, week, recipients, record=digest.complete)
        outcomes = [self.deliver(row, claimer) for row in plan.claimed]
        message = digest_message(digest)
        for recipient in plan.again:
            try:
                channel = self._conversation(recipient)
                self.channels.post(channel, message)
            except SLACK_FAILURES as exc:
                outcomes.append(Outcome(recipient, OutcomeStatus.FAILED, str(exc)))
                continue
            status = OutcomeStatus.SENT_AGAIN if digest.complete else OutcomeStatus.PREVIEW
            outcomes.append(Outcome(recipient, status, self._upload(channel, chart, week.label)))
        outcomes += [
            Outcome(r, OutcomeStatus.BUSY, "a worker is sending it right now") for r in plan.busy
        ]
        order = {r: i for i, r in enumerate(recipients)}
        return sorted(outcomes, key=lambda o: order.get(o.recipient, len(order)))
