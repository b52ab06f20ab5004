"""Short versions of the reliability drills (the long ones are in drills/, docs/drills.md).

They run on the real clock — faults take real time — and each stays within a few seconds:
reminders are declared due within the next seconds, and the fake Slack's delays are shorter
than a real Slack's, with the worker's client timeout shortened to match. None depends on
how fast the machine is: a drill goes on until enough has happened (faults injected,
commands sent, reminders due), and counts what happened only once nothing more can happen
(the worker stopped, the fake Slack idle); a time limit only bounds a hang.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import update

from bot.clock import ManualClock, SystemClock
from bot.context import Context
from bot.incidents import service
from bot.slack.app import make_client
from bot.slack.loopback import LoopbackSlack
from bot.worker import Worker
from storage.db import Database
from storage.models import LeasedRow, OutboxStatus
from tests.conftest import PATIENCE, empty
from tests.slack import conftest as slack_harness
from tests.slack.conftest import BOT_TOKEN, make_settings

ctx = slack_harness.ctx
"""The root ``ctx``, waiting at the end for the work that followed each ack."""

WORKER_TIMEOUT = 1
"""The worker's Slack timeout in these tests, in seconds (``slabot worker`` has 5)."""


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_user("U1", "ana", tz="Europe/Copenhagen")
        server.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1",))
        yield server


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('drills') / 'slabot.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def sqlite_ctx(sqlite_database, contracts, clock):
    """A context on SQLite only, for the tests about Slack that no database changes."""
    yield Context(sqlite_database, contracts, clock)
    while slack_harness._EDGES:
        assert slack_harness._EDGES.pop().wait_idle(PATIENCE), "work after the ack still running"
    empty(sqlite_database)


@pytest.fixture
def workspace(slack, sqlite_ctx):
    return slack_harness.make_workspace(slack, sqlite_ctx)


@pytest.fixture
def live(ctx) -> Context:
    """The test's database and contracts on the real clock."""
    return Context(ctx.db, ctx.contracts, SystemClock())


def make_worker(ctx: Context, slack: LoopbackSlack, **options) -> Worker:
    settings = make_settings(slack)
    client = make_client(
        settings, retry_rate_limits=False, retry_connection_errors=False, timeout=WORKER_TIMEOUT
    )
    return Worker(ctx, client, settings, **{"poll": 0.05, "concurrency": 4, **options})


def declare_due_soon(
    ctx: Context,
    slack: LoopbackSlack,
    count: int,
    within: float,
    channels: int = 6,
    after: float = 0.5,
) -> dt.datetime:
    """``count`` Severity I incidents (messaging-platform: 30-minute response target) spread
    over ``channels`` channels, each with a card, half with their 15-minute warning and half
    with their response breach due over ``within`` seconds from ``after`` seconds from now.
    Returns the instant by which all of those are due.

    All are declared as of the same "now", however long declaring them takes: on a busy
    machine the first may fall due before the last is written, and each still has its
    reminder (a warning already past when its incident is declared would be left out)."""
    made = [
        slack.add_channel(f"drill-{n}", id=f"C0DRILL{n:03d}", bot_member=True, members=("U1",))
        for n in range(channels)
    ]
    now = ctx.clock.now()
    declaring = Context(ctx.db, ctx.contracts, ManualClock(now))
    for n in range(count):
        lead = dt.timedelta(minutes=15 if n % 2 else 30)
        started = now - lead + dt.timedelta(seconds=after + within * n / count)
        view = service.declare(
            declaring, title=f"Drill {n}", severity=1, actor="U1", started_at=started
        )
        channel = made[n % channels]
        card = slack.add_message(channel, f"card of {view.ref}", user=slack.bot_user_id)
        service.set_slack_card(declaring, view.ref, channel_id=channel, card_ts=card)
    return now + dt.timedelta(seconds=after + within)


@dataclass
class Answers:
    """Slash commands sent while something misbehaves, and how each was answered. (How long
    the answers take is measured by the drill scripts, not asserted here: an app with
    Slack's ack budget answers "working on it" rather than wait longer, which the tests
    check by holding Slack or the database still.)"""

    texts: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def send(self, workspace, text: str, channel: str = "C0GENERAL") -> str:
        response = workspace.incident(text, channel=channel)
        self.statuses.append(response.status)
        answer = json.loads(response.body).get("text", "") if response.body else ""
        self.texts.append(answer)
        return answer

    @property
    def later(self) -> int:
        """How many were acknowledged with "working on it" (the answer follows)."""
        return sum(1 for t in self.texts if t.startswith("⏳"))


# --- worker processes killed at random moments ------------------------------------------------


def kill_and_replace(
    workers: list, start: Callable, rng: random.Random, kills: int, pause: tuple[float, float]
) -> list[int]:
    """Kill one of ``workers`` (processes of ``tests.worker.test_processes``) with SIGKILL,
    chosen at random, ``kills`` times, each after a pause of ``pause`` seconds (at random
    between the two), and replace it at once with ``start()``; the pids killed."""
    killed = []
    for _ in range(kills):
        time.sleep(rng.uniform(*pause))
        victim = workers.pop(rng.randrange(len(workers)))
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(PATIENCE)
        killed.append(victim.popen.pid)
        workers.append(start())
    return killed


def held_by_the_dead(row: LeasedRow, killed: list[int]) -> bool:
    """Claimed by one of the processes ``killed`` (its id has the process id in it)."""
    return row.status == OutboxStatus.CLAIMED and any(
        f":{pid}:" in (row.claimed_by or "") for pid in killed
    )


def expire_claims_of_the_dead(ctx: Context, killed: list[int], *models: type[LeasedRow]) -> None:
    """Make the leases the ``killed`` processes held run out now, instead of waiting for
    them (60 s): the live workers then take those rows over."""
    with ctx.db.transaction() as session:
        for model in models:
            m: Any = model
            for pid in killed:
                session.execute(
                    update(m)
                    .where(m.status == OutboxStatus.CLAIMED, m.claimed_by.contains(f":{pid}:"))
                    .values(lease_until=ctx.clock.now() - dt.timedelta(seconds=1))
                )
