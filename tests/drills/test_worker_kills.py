"""Real ``slabot worker`` processes killed with SIGKILL at random moments, several times,
while reminders fall due — two workers at once, each restarted at once when killed: every
reminder is posted, none twice. The long run: ``drills/worker_kills.py``."""

from __future__ import annotations

import random

from sqlmodel import select

from bot.clock import SystemClock
from bot.context import Context
from bot.slack.loopback import Storm
from drills import ledger
from storage.models import Reminder
from tests.conftest import wait_until
from tests.drills.conftest import (
    declare_due_soon,
    expire_claims_of_the_dead,
    held_by_the_dead,
    kill_and_replace,
)
from tests.worker.test_processes import Process, slabot_env

KILLS = 4


def test_workers_killed_at_random_moments_lose_no_reminder_and_double_none(
    db, contracts, slack, tmp_path
):
    ctx = Context(db, contracts, SystemClock())
    # Posts take a little while, so a kill often lands between a post and its mark.
    slack.storm(Storm(slow=0.6, slow_delay=(0.02, 0.15), methods={"chat.postMessage"}, seed=1))
    env = slabot_env(db.url, slack)

    def start() -> Process:
        return Process(["worker", "--poll", "0.1", "--batch", "5"], env, tmp_path)

    rng = random.Random(11)
    workers = [start(), start()]
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
        return ctx.clock.now() >= due_by and all(held_by_the_dead(r, killed) for r in left)

    killed: list[int] = []
    try:
        # A kill may land in a worker's start-up too.
        killed = kill_and_replace(workers, start, rng, KILLS, pause=(0.2, 0.9))
        # The dead workers' claims are taken over once their lease (60 s) runs out; here
        # the lease is made to run out as soon as the live workers have done the rest and
        # every post a dead worker sent has landed, instead of waiting for it.
        wait_until(only_the_dead_hold_what_is_left)
        assert slack.wait_idle(), "a post is still being answered"
        expire_claims_of_the_dead(ctx, killed, Reminder)
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
