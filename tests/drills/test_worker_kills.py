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

from bot.clock import SystemClock
from bot.context import Context
from bot.slack.loopback import Storm
from config.settings import HOW_TO_SET
from drills import ledger
from storage.models import Reminder
from tests.conftest import FIXTURES
from tests.drills.conftest import declare_due_soon
from tests.slack.conftest import BOT_TOKEN
from tests.worker.test_processes import Process


def test_workers_killed_at_random_moments_lose_no_reminder_and_double_none(
    db, contracts, slack, tmp_path
):
    ctx = Context(db, contracts, SystemClock())
    due_by = declare_due_soon(ctx, slack, count=30, within=3.0, channels=10, after=2.0)
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
    for worker in workers:
        worker.wait_for("posting reminders")
    try:
        while len(killed) < 4 and dt.datetime.now(dt.UTC) < due_by + dt.timedelta(seconds=1):
            time.sleep(rng.uniform(0.2, 0.9))  # a kill may land in a worker's start-up too
            victim = workers.pop(rng.randrange(len(workers)))
            victim.popen.send_signal(signal.SIGKILL)
            victim.popen.wait(5)
            killed.append(victim.popen.pid)
            workers.append(start())
        # The dead workers' claims are taken over once their lease (60 s) runs out; here
        # the lease is made to run out now instead of waiting for it.
        with ctx.db.transaction() as session:
            for pid in killed:
                session.execute(
                    update(Reminder)
                    .where(Reminder.status == "claimed", Reminder.claimed_by.contains(f":{pid}:"))
                    .values(lease_until=ctx.clock.now() - dt.timedelta(seconds=1))
                )
        deadline = time.monotonic() + 15
        while ledger.unfinished(ctx.db, due_by) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # room for a late duplicate to show
        for worker in workers:
            worker.wait_for("posting reminders")
        assert [w.stop() for w in workers] == [0, 0]
    finally:
        for worker in workers:
            if worker.popen.poll() is None:
                worker.popen.kill()
        slack.storm(None)
    counted = ledger.count(ctx.db, slack, due_by)
    assert len(killed) >= 3
    assert counted.due >= 30 and counted.unfinished == 0, counted.summary()
    assert counted.lost == [] and counted.doubled == {} and counted.failed == [], counted.summary()
