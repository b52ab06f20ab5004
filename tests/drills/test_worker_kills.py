"""Real ``slabot worker`` processes killed with SIGKILL at random moments, several times,
while reminders fall due — two workers at once, each restarted at once when killed: every
reminder is posted, none twice. The long run: ``drills/worker_kills.py``."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import time

from sqlalchemy import update
from sqlmodel import select

from bot.clock import SystemClock
from bot.context import Context
from bot.slack.loopback import Storm
from config.settings import HOW_TO_SET
from drills import ledger
from storage.models import Reminder
from tests.conftest import FIXTURES, PATIENCE, wait_until
from tests.drills.conftest import declare_due_soon
from tests.slack.conftest import BOT_TOKEN
from tests.worker.test_processes import Process

KILLS = 4


def test_workers_killed_at_random_moments_lose_no_reminder_and_double_none(
    db, contracts, slack, tmp_path
):
    ctx = Context(db, contracts, SystemClock())
    # Posts take a little while, so a kill often lands between a post and its mark.
    slack.storm(Storm(slow=0.6, slow_delay=(0.02, 0.15), methods={"chat.postMessage"}, seed=1))
    env = {k: v for k, v in os.environ.items() if k not in HOW_TO_SET}
    env.update(
        DATABASE_URL=db.url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url,
        SLABOT_DEFAULT_POLICY="messaging-platform", PYTHONUNBUFFERED="1",
        SLABOT_CUSTOMERS_FILE=str(FIXTURES / "customers.yaml"),
    )  # fmt: skip

    def start() -> Process:
        return Process(["worker", "--poll", "0.1", "--batch", "5"], env, tmp_path)

    rng = random.Random(11)
    workers, killed = [start(), start()], []
    # Declared while the workers start; due over the next seconds, or at once if the
    # workers took longer to start: the kills begin when both are up, either way.
    due_by = declare_due_soon(ctx, slack, count=30, within=3.0, channels=10, after=1.0)
    for worker in workers:
        worker.wait_for("posting reminders")

    def only_the_dead_hold_what_is_left() -> bool:
        with ctx.db.read() as session:
            left = session.exec(
                select(Reminder).where(
                    Reminder.due_at <= due_by, Reminder.status.in_(("pending", "claimed"))
                )
            ).all()
        return ctx.clock.now() >= due_by and all(
            r.status == "claimed" and any(f":{pid}:" in (r.claimed_by or "") for pid in killed)
            for r in left
        )

    try:
        for _ in range(KILLS):  # a kill may land in a worker's start-up too
            time.sleep(rng.uniform(0.2, 0.9))
            victim = workers.pop(rng.randrange(len(workers)))
            victim.popen.send_signal(signal.SIGKILL)
            victim.popen.wait(PATIENCE)
            killed.append(victim.popen.pid)
            workers.append(start())
        # The dead workers' claims are taken over once their lease (60 s) runs out; here
        # the lease is made to run out as soon as the live workers have done the rest and
        # every post a dead worker sent has landed, instead of waiting for it.
        wait_until(only_the_dead_hold_what_is_left)
        assert slack.wait_idle(), "a post is still being answered"
        with ctx.db.transaction() as session:
            for pid in killed:
                session.execute(
                    update(Reminder)
                    .where(Reminder.status == "claimed", Reminder.claimed_by.contains(f":{pid}:"))
                    .values(lease_until=ctx.clock.now() - dt.timedelta(seconds=1))
                )
        wait_until(lambda: not ledger.unfinished(ctx.db, due_by))
        for worker in workers:
            worker.wait_for("posting reminders")
        assert [w.stop() for w in workers] == [0, 0]
        assert slack.wait_idle()  # no worker left: nothing more can be posted
    finally:
        for worker in workers:
            if worker.popen.poll() is None:
                worker.popen.kill()
        slack.storm(None)
    counted = ledger.count(ctx.db, slack, due_by)
    assert len(killed) == KILLS
    assert counted.due >= 30 and counted.unfinished == 0, counted.summary()
    assert counted.lost == [] and counted.doubled == {} and counted.failed == [], counted.summary()
