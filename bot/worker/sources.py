"""The worker's sources of due work, side by side: reminders, tasks and weekly digests.

Each is a ``DueWork``: it says when its next row can be claimed, claims and handles a batch,
and hands back what it did not get to. Reminders and digests post through
``bot.slack.delivery.Delivery`` (tasks' handlers may too), which says what each of Slack's
answers means: posted (also: found already posted after a takeover), retry (429 after
Retry-After, 5xx and connection errors with backoff) or failed.

- **Reminders** post into incident channels, each once, on time; an archived or deleted
  incident channel falls back to SLABOT_ANNOUNCE_CHANNEL. A failed reminder is logged, and
  shown on App Home, in /healthz and by ``slabot doctor``.
- **Tasks** do the task outbox's work (``bot.tasks``): what a web process did not finish
  after the request that scheduled it, and delayed work such as archiving a channel.
- **Digests** send the weekly digest to managers (``bot.digest.sender.DigestSender``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING, Protocol

from bot import metrics
from bot.context import Context
from bot.digest import service as digests
from bot.digest.sender import DigestSender
from bot.paging import service as paging
from bot.reminders import service
from bot.reminders.service import Due
from bot.sla.reminders import ReminderKind
from bot.sla.timers import BudgetTimer
from bot.slack.blocks import Message, budget_message, manager_message, reminder_message
from bot.slack.channels import SLACK_FAILURES
from bot.slack.delivery import Delivery, Failed, Posted, Retry, retry_at
from bot.tasks import service as tasks
from bot.tasks.service import TaskRunner

if TYPE_CHECKING:
    from bot.worker.loop import Worker

log = logging.getLogger(__name__)

METADATA_EVENT = "slabot_reminder"
"""The message metadata a reminder's post carries (its row's key), to find it after a takeover."""


class DueWork(Protocol):
    """A kind of row the worker posts when it falls due; each is one of ``Worker.sources``."""

    name: str

    def next_due(self, ctx: Context) -> dt.datetime | None:
        """When the next row can be claimed (``None``: nothing is waiting)."""

    def run_due(self, worker: Worker, limit: int) -> int:
        """Claim up to ``limit`` due rows, post and mark each; how many were claimed."""

    def release(self, ctx: Context, worker_id: str) -> int:
        """Hand back this worker's claims it did not get to (shutdown)."""


# --- reminders -------------------------------------------------------------------------------


class Reminders:
    """The reminder outbox: warnings, breach notices, escalations, progress reminders."""

    name = "reminders"

    def next_due(self, ctx: Context) -> dt.datetime | None:
        return service.next_due(ctx)

    def release(self, ctx: Context, worker_id: str) -> int:
        return service.release_all(ctx, worker_id)

    def run_due(self, worker: Worker, limit: int) -> int:
        batch = service.claim(worker.ctx, worker.worker_id, limit)
        worker.each(batch, lambda due: self.handle(worker, due))
        return len(batch)

    def message(self, worker: Worker, due: Due) -> Message:
        r = due.reminder
        if due.timer is BudgetTimer.BUDGET:
            return budget_message(
                due.incident, due.kind, r.deadline_at, r.due_at, worker.ctx.clock.now(),
                late=r.late,
            )  # fmt: skip
        return reminder_message(
            due.incident, due.timer, due.kind, r.step, r.deadline_at, r.due_at,
            worker.ctx.clock.now(), late=r.late, retried=r.last_error is not None,
            escalation=worker.settings.escalation, recorded_at=r.created_at,
            paging=[paging.NAMES[p] for p in paging.services(worker.settings)],
        )  # fmt: skip

    def handle(self, worker: Worker, due: Due) -> None:
        ctx, me, r, view = worker.ctx, worker.worker_id, due.reminder, due.incident
        if not due.holds:
            service.drop(ctx, due, me)
            return
        if due.timer is BudgetTimer.DM:
            self.tell_managers(worker, due)
            return
        channel = view.channel_id or worker.settings.announce_channel
        if channel is None:
            reason = "the incident has no channel and SLABOT_ANNOUNCE_CHANNEL is not set"
            service.fail(ctx, due, me, reason)
            log.error("reminder %s of %s failed: %s", r.dedupe_key, view.ref, reason)
            return
        if not service.renew(ctx, due, me):
            log.info("reminder %s was taken over by another worker; skipped", r.dedupe_key)
            return
        outcome = worker.delivery.deliver(
            channel, self.message(worker, due), r.dedupe_key,
            check_first=r.attempts > 1, since=r.due_at,
        )  # fmt: skip
        if isinstance(outcome, Posted):
            pages = paging.services(worker.settings)
            if not service.sent(ctx, due, me, outcome.channel, outcome.ts, pages=pages):
                log.warning(
                    "reminder %s was posted but its claim had been taken over", r.dedupe_key
                )
                return
            worker.count_posted()
            if not outcome.already:
                lag = (ctx.clock.now() - r.due_at).total_seconds()
                metrics.observe_reminder_lag(due.kind.value, lag)
            if due.kind is ReminderKind.BREACH and not outcome.already:
                worker.refresh_card(view)
            return
        if isinstance(outcome, Retry):
            not_before = retry_at(outcome, r.attempts, ctx.clock.now())
            if not_before is not None:
                service.retry(ctx, due, me, not_before, outcome.reason, counts=outcome.counts)
                log.warning(
                    "reminder %s of %s: %s; retrying at %s",
                    r.dedupe_key, view.ref, outcome.reason, f"{not_before:%H:%M:%S}",
                )  # fmt: skip
                return
            outcome = outcome.gave_up(r.attempts)
        service.fail(ctx, due, me, outcome.reason)
        log.error("reminder %s of %s failed: %s", r.dedupe_key, view.ref, outcome.reason)

    def tell_managers(self, worker: Worker, due: Due) -> None:
        """The amounts at stake, by direct message to each manager (SLABOT_MANAGERS), each
        once: a retried row first looks for its key in each manager's conversation, so
        those already told are not told again. Never in a channel: no fallback."""
        ctx, me, r, view = worker.ctx, worker.worker_id, due.reminder, due.incident
        managers = worker.settings.managers
        if not managers:
            service.drop(ctx, due, me)
            return
        if not service.renew(ctx, due, me):
            return
        message = manager_message(view, due.kind, r.deadline_at, ctx.clock.now())
        direct = Delivery(worker.client, worker.channels, event_type=METADATA_EVENT)
        outcome: Posted | Retry | Failed | None = None
        for manager in managers:
            try:
                channel = worker.client.conversations_open(users=manager)["channel"]["id"]
            except SLACK_FAILURES as exc:
                outcome = direct.failure(exc)
                break
            outcome = direct.deliver(
                channel, message, r.dedupe_key, check_first=r.attempts > 1, since=r.due_at
            )
            if not isinstance(outcome, Posted):
                break
        if isinstance(outcome, Posted):
            service.sent(ctx, due, me, outcome.channel, outcome.ts)
            worker.count_posted()
            return
        if isinstance(outcome, Retry):
            not_before = retry_at(outcome, r.attempts, ctx.clock.now())
            if not_before is not None:
                service.retry(ctx, due, me, not_before, outcome.reason, counts=outcome.counts)
                return
            outcome = outcome.gave_up(r.attempts)
        reason = outcome.reason if outcome is not None else "no manager"
        service.fail(ctx, due, me, reason)
        log.error("manager message %s of %s failed: %s", r.dedupe_key, view.ref, reason)


# --- tasks -----------------------------------------------------------------------------------


class Tasks:
    """The task outbox: each claimed task done by its kind's handler, then marked."""

    name = "tasks"

    def __init__(self) -> None:
        self._runner: TaskRunner | None = None

    def runner(self, worker: Worker) -> TaskRunner:
        if self._runner is None:
            self._runner = TaskRunner(
                worker.ctx, worker.client, worker.settings,
                worker_id=worker.worker_id, channels=worker.channels,
            )  # fmt: skip
        return self._runner

    def next_due(self, ctx: Context) -> dt.datetime | None:
        return tasks.next_due(ctx)

    def release(self, ctx: Context, worker_id: str) -> int:
        return tasks.release_all(ctx, worker_id)

    def run_due(self, worker: Worker, limit: int) -> int:
        runner = self.runner(worker)
        batch = runner.claim(limit)
        worker.each(batch, runner.perform)
        return len(batch)


# --- weekly digests --------------------------------------------------------------------------


class Digests:
    """The weekly digest as one of the worker's sources of due work.

    Building a digest reads a period of history for every customer — seconds, for a large
    deployment — so by default it runs on a thread of its own and reminders never wait
    behind it. ``background=False`` runs it in the worker's step (tests).
    """

    name = "digests"

    def __init__(self, sender: DigestSender, *, background: bool = True):
        self.sender, self.background = sender, background
        self._running: threading.Thread | None = None

    def _busy(self) -> bool:
        return self._running is not None and self._running.is_alive()

    def next_due(self, ctx: Context) -> dt.datetime | None:
        return None if self._busy() else self.sender.next_check(ctx.clock.now())

    def run_due(self, worker: Worker, limit: int) -> int:
        if not self.background:
            return self._step(worker.worker_id)
        if not self._busy():
            self._running = threading.Thread(
                target=self._step, args=(worker.worker_id,), name="slabot-digest", daemon=True
            )
            self._running.start()
        return 0

    def _step(self, worker_id: str) -> int:
        try:
            return self.sender.run_once(worker_id)
        except Exception:
            log.exception("weekly digest step failed; retrying")
            return 0

    def release(self, ctx: Context, worker_id: str) -> int:
        if self._running is not None:
            self._running.join(timeout=30)
        return digests.release_all(ctx, worker_id)
