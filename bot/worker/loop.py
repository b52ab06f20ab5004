"""The worker's loop: ask each source of due work when its next row can be claimed, sleep
until then, claim and handle a batch, mark each row, and say it is alive.

Each step asks every source (``bot.worker.sources``: reminders, tasks, weekly digests) when its
next row can be claimed — one indexed read. When nothing is due it sleeps until then, but
never longer than ``poll`` seconds, so a row the web process has just written (a breach
notice due at once, say) is noticed within ``poll``. When something is due it claims a
batch, posts each row outside any transaction, then marks it — only while still holding
the claim, which it renews first if the post could outlive it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient

from bot.context import Context
from bot.digest.sender import DigestSender
from bot.incidents.views import IncidentView
from bot.reminders import service
from bot.slack.channels import IncidentChannels
from bot.slack.client import check_bot_token, make_client
from bot.slack.delivery import Delivery
from bot.tasks.service import process_id
from bot.worker.sources import METADATA_EVENT, Digests, DueWork, Reminders, Tasks
from config.settings import Settings

log = logging.getLogger(__name__)

MIN_NAP = 0.05
"""The shortest sleep when something looked due but another worker took it first."""
SPREAD = 0.02
"""Up to this many seconds are added at random to a sleep until the next due row."""


class Worker:
    """Claims and posts what its ``sources`` say is due, until ``stop`` is set."""

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
        concurrency: int = 1,
        sources: list[DueWork] | None = None,
    ):
        self.ctx, self.client, self.settings = ctx, client, settings
        self.worker_id = worker_id or process_id()
        self.poll, self.batch, self.heartbeat_every = poll, batch, heartbeat_every
        self.channels = IncidentChannels(client, settings, ctx.contracts)
        self.delivery = Delivery(
            client, self.channels, event_type=METADATA_EVENT, fallback=settings.announce_channel
        )
        if sources is None:
            sources = [Reminders(), Tasks(), Digests(DigestSender(ctx, client, settings))]
        self.sources: list[DueWork] = sources
        self.posted = 0
        self.stop = threading.Event()
        self._last_beat: dt.datetime | None = None
        self._lock = threading.Lock()
        self._pool = (
            ThreadPoolExecutor(concurrency, thread_name_prefix="slabot-post")
            if concurrency > 1
            else None
        )

    def run(self) -> None:
        """Work until ``stop`` is set; then hand back unfinished claims and say so."""
        log.info("worker %s started", self.worker_id)
        try:
            service.forget_old_workers(self.ctx)
        except Exception:
            log.warning("could not forget old heartbeats", exc_info=True)
        try:
            while not self.stop.is_set():
                self._beat()
                try:
                    nap = self.step()
                except Exception:
                    log.exception("worker step failed; retrying")
                    nap = min(5.0, self.poll * 4)
                if nap > 0:
                    self.ctx.clock.sleep(nap, self.stop)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            try:
                released = sum(source.release(self.ctx, self.worker_id) for source in self.sources)
                service.heartbeat(self.ctx, self.worker_id, self.posted, stopping=True)
            except Exception as exc:  # the database is down: the leases run out instead
                log.warning(
                    "worker %s stopped; its claims could not be handed back (%s), so other "
                    "workers take them over when their leases run out",
                    self.worker_id, type(exc).__name__,
                )  # fmt: skip
            else:
                log.info("worker %s stopped (%d claims handed back)", self.worker_id, released)

    def step(self) -> float:
        """Handle what is due now; how many seconds to sleep before the next step.

        Idle, a step is one read per source (no write, no lock), and the sleep runs until
        the next row is due or ``poll`` seconds, whichever is sooner.
        """
        now = self.ctx.clock.now()
        wake: list[dt.datetime] = []
        handled = 0
        for source in self.sources:
            due = source.next_due(self.ctx)
            if due is None:
                continue
            if due <= now:
                handled += source.run_due(self, self.batch)
            wake.append(due)
        if handled:
            return 0.0
        if not wake:
            return self.poll
        until = (min(wake) - now).total_seconds()
        if until <= 0:  # it looked due, but another worker claimed it first
            return MIN_NAP * (1 + random.random())
        # Several workers sleep until the same instant; a few ms of spread lets the first to
        # wake claim it while the others only read that nothing is left.
        return min(self.poll, until + SPREAD * random.random())

    def run_once(self) -> int:
        """Claim and handle one batch of what is due from each source; how many were handled."""
        return sum(source.run_due(self, self.batch) for source in self.sources)

    def each(self, rows: list, handle: Callable[[Any], None]) -> None:
        """Handle claimed rows, ``concurrency`` at a time (posts wait on Slack, not on the
        CPU); rows not begun when ``stop`` is set are left for ``release``. One row's
        unexpected error is logged and does not stop the others: its claim runs out and
        it is taken over."""

        def one(row) -> None:
            if self.stop.is_set():
                return
            try:
                handle(row)
            except Exception:
                log.exception("handling %r failed; its claim will be taken over", row)

        if self._pool is None:
            for row in rows:
                one(row)
            return
        for future in [self._pool.submit(one, row) for row in rows]:
            future.result()

    def count_posted(self) -> None:
        with self._lock:
            self.posted += 1

    def start(self) -> threading.Thread:
        """Run in a thread of its own (``slabot run``); stop it with ``stop.set()`` and join."""
        thread = threading.Thread(target=self.run, name="slabot-worker", daemon=True)
        thread.start()
        return thread

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT finish the row in hand, hand back the rest, and stop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def check_token(self) -> None:
        """Refuse to start with a token Slack rejects; a Slack that is down only warns."""
        who = check_bot_token(self.client)
        if who is not None:
            log.info("posting as @%s in %s", who.get("user"), who.get("team"))

    # --- what sources share ---------------------------------------------------------------

    def refresh_card(self, view: IncidentView) -> None:
        """Show the incident's card as of the claim (a breach turns its timer red)."""
        try:
            self.channels.refresh_card(view)
        except Exception:  # the card is a convenience; the notice is out
            log.warning("could not refresh the card of %s", view.ref, exc_info=True)

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


def worker_client(settings: Settings) -> WebClient:
    """The worker's Slack client: no automatic retries (the worker decides, and checks the
    channel before posting again), and a 5 s timeout that bounds a claim's work."""
    return make_client(settings, retry_rate_limits=False, retry_connection_errors=False, timeout=5)
