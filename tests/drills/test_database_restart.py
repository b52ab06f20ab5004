"""The database going away under the worker and the web process (PostgreSQL): every
connection of both is terminated, again and again, while reminders fall due and commands
arrive. Neither is restarted; both reconnect on their own, and nothing is lost or doubled.

Terminating the connections is what a server restart does to its clients, without stopping
the server other test runs on this machine share: only the connections of this test (its
``application_name``) are terminated. A real restart: ``drills/db_restart.py``.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from bot.clock import SystemClock
from bot.context import Context
from bot.reminders.service import LEASE
from bot.slack.handlers import DATABASE_DOWN
from drills import ledger
from storage.db import Database
from tests.conftest import PATIENCE, empty, postgres_base_url, wait_until
from tests.drills.conftest import Answers, declare_due_soon, make_worker
from tests.slack.conftest import WORKING_ON_IT, make_workspace


class LaterClock(SystemClock):
    """The real clock, which a test can move on: waiting out a lease without the wait.
    ``skip(span)`` moves it on when the worker next goes to sleep — between two of its
    steps, with none of its posts in flight."""

    def __init__(self):
        self.ahead = dt.timedelta()
        self._skip: dt.timedelta | None = None
        self.skipped = threading.Event()

    def now(self) -> dt.datetime:
        return super().now() + self.ahead

    def skip(self, span: dt.timedelta) -> None:
        self._skip = span

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        if self._skip is not None:
            self.ahead, self._skip = self.ahead + self._skip, None
            self.skipped.set()
        super().sleep(seconds, wake)


@pytest.fixture
def databases(postgres_url, contracts):
    """Two handles on this session's schema — the web process's and the worker's — whose
    connections carry an application name of their own, and a way to cut them all."""
    name = f"slabot-drill-{secrets.token_hex(4)}"
    url = f"{postgres_url}&application_name={name}"
    web, work = Database(url), Database(url)
    web.upgrade()
    admin = create_engine(postgres_base_url())

    def cut() -> int:
        with admin.begin() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )

    yield web, work, cut
    empty(web)
    for database in (web, work):
        database.dispose()
    admin.dispose()


def test_web_and_worker_reconnect_by_themselves_when_their_connections_are_cut(
    databases, contracts, slack
):
    web_db, worker_db, cut = databases
    web = Context(web_db, contracts, SystemClock())
    clock = LaterClock()
    # One incident a channel: a bare command in a channel of two open ones asks which.
    due_by = declare_due_soon(web, slack, count=12, within=2.5, channels=12)
    # Slack's ack budget: a command that cannot finish in time says "working on it".
    workspace = make_workspace(slack, web, ack_budget=None)
    worker = make_worker(Context(worker_db, contracts, clock), slack)
    thread = worker.start()
    answers, cuts = Answers(), []
    channels = [f"C0DRILL{n:03d}" for n in range(6)]
    enough = threading.Event()

    def cutting() -> None:  # at random moments, so some cuts land inside units of work
        rng = random.Random(5)
        while not enough.is_set():
            cuts.append(cut())
            time.sleep(rng.uniform(0.01, 0.08))

    def done() -> bool:
        """Connections of both processes cut many times, commands sent meanwhile (some cut
        mid-command), and every reminder due: the cuts end. However fast this machine is."""
        refused = [a for a in answers.texts if a.startswith("⚠️")]
        return (
            sum(cuts) >= 20
            and len(answers.texts) >= 9
            and bool(refused)
            and web.clock.now() >= due_by
        )

    cutter = threading.Thread(target=cutting)
    cutter.start()
    try:
        n, give_up = 0, time.monotonic() + PATIENCE
        while not done() and time.monotonic() < give_up:
            text_, channel = [("status", channels[n % 6]), ("list", "C0GENERAL"),
                              ("update Still investigating", channels[n % 6])][n % 3]  # fmt: skip
            answers.send(workspace, text_, channel)
            n += 1
        enough.set()
        cutter.join()
        # Afterwards, with no more cuts, every command is answered as usual (an app that
        # waits as long as it takes: nothing is left over from the cuts to wait on).
        after, usual = Answers(), make_workspace(slack, web)
        for text_, channel in [("status", channels[0]), ("update Rolled back", channels[1]),
                               ("declare 2 After the cuts", "C0GENERAL")]:  # fmt: skip
            after.send(usual, text_, channel)
        # A post whose "sent" mark was lost with its connection is claimed until its lease
        # runs out; the worker's clock moves on by a lease instead of waiting, once it has
        # done what it could (asleep between steps: none of its posts in flight).
        clock.skip(LEASE + dt.timedelta(seconds=1))
        assert clock.skipped.wait(PATIENCE)
        wait_until(lambda: not ledger.unfinished(worker_db, due_by))
    finally:
        enough.set()
        worker.stop.set()
        thread.join(PATIENCE)
        assert workspace.edge.wait_idle(PATIENCE)
    assert slack.wait_idle()  # nothing more can be posted
    counted = ledger.count(worker_db, slack, due_by)
    assert done(), (sum(cuts), answers.texts)
    assert sum(cuts) >= 20, cuts  # connections of both processes were cut, many times
    assert counted.due >= 12 and counted.unfinished == 0, counted.summary()
    assert counted.lost == [] and counted.doubled == {} and counted.failed == [], counted.summary()
    assert set(answers.statuses) == {200}, answers.statuses
    # Each command was answered, or refused saying why — never an unexplained error.
    refused = [a for a in answers.texts if a.startswith("⚠️")]
    assert len(answers.texts) >= 9 and refused, answers.texts  # some cuts landed mid-command
    assert set(refused) == {f"⚠️ {DATABASE_DOWN}"}, set(refused)
    assert all(answers.texts), answers.texts
    assert not [a for a in after.texts if a.startswith(("⚠️", WORKING_ON_IT))], after.texts
    assert threading.active_count() < 100
