"""Pages through worker kills: real ``slabot worker`` processes killed with SIGKILL at random
moments while escalations fall due — each escalation reaches PagerDuty (the local stand-in)
as one trigger of its incident's alert, and the restores that follow resolve every alert.
Counted by the events the stand-in received, never by time."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlmodel import select

from bot.clock import ManualClock, SystemClock
from bot.context import Context
from bot.incidents import service
from bot.paging.loopback import PagerDutyEvents
from bot.slack.loopback import Storm
from drills import ledger
from storage import queries
from storage.models import OutboxStatus, Reminder, Task
from tests.conftest import wait_until
from tests.drills.conftest import (
    expire_claims_of_the_dead,
    held_by_the_dead,
    kill_and_replace,
)
from tests.worker.test_processes import Process, slabot_env

KILLS = 3
INCIDENTS = 12
ROUTING_KEY = "R0UTINGKEY0123456789abcdef012345"


def declare_escalating_soon(ctx, slack, count: int, within: float, after: float) -> dt.datetime:
    """``count`` Severity I incidents whose response breach escalates (60 minutes after
    the start) over ``within`` seconds from ``after`` seconds from now; the instant by
    which all have."""
    channel = slack.add_channel("drill-pages", id="C0DRILLPG", bot_member=True, members=("U1",))
    now = ctx.clock.now()
    declaring = Context(ctx.db, ctx.contracts, ManualClock(now))
    for n in range(count):
        started = now - dt.timedelta(minutes=60, seconds=-(after + within * n / count))
        view = service.declare(
            declaring, title=f"Page drill {n}", severity=1, actor="U1", started_at=started
        )
        service.set_slack_card(declaring, view.ref, channel_id=channel, card_ts=None)
    return now + dt.timedelta(seconds=after + within)


def escalations(ctx, due_by: dt.datetime) -> list[Reminder]:
    with ctx.db.read() as session:
        return list(
            session.exec(
                select(Reminder).where(Reminder.kind == "escalation", Reminder.due_at <= due_by)
            ).all()
        )


def page_tasks(ctx) -> list[Task]:
    with ctx.db.read() as session:
        return list(session.exec(select(Task).where(Task.kind == "page_pagerduty")).all())


def test_each_escalation_pages_pagerduty_once_through_worker_kills(db, contracts, slack, tmp_path):
    ctx = Context(db, contracts, SystemClock())
    slack.storm(Storm(slow=0.6, slow_delay=(0.02, 0.15), methods={"chat.postMessage"}, seed=3))
    pagerduty = PagerDutyEvents(ROUTING_KEY).start()
    env = slabot_env(
        db.url, slack, SLABOT_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        SLABOT_PAGERDUTY_EVENTS_URL=pagerduty.events_url,
    )  # fmt: skip

    def start() -> Process:
        return Process(["worker", "--poll", "0.1", "--batch", "5"], env, tmp_path)

    rng = random.Random(5)
    workers = [start(), start()]
    due_by = declare_escalating_soon(ctx, slack, INCIDENTS, within=3.0, after=1.0)
    for worker in workers:
        worker.wait_for("posting reminders")

    def unfinished(model) -> list:
        with ctx.db.read() as session:
            return list(
                session.exec(select(model).where(model.status.in_(("pending", "claimed")))).all()
            )

    def only_the_dead_hold_what_is_left() -> bool:
        left = [r for r in unfinished(Reminder) if r.due_at <= due_by] + unfinished(Task)
        return ctx.clock.now() >= due_by and all(held_by_the_dead(r, killed) for r in left)

    killed: list[int] = []
    try:
        killed = kill_and_replace(workers, start, rng, KILLS, pause=(0.3, 1.2))
        wait_until(only_the_dead_hold_what_is_left)
        assert slack.wait_idle() and pagerduty.wait_idle()
        expire_claims_of_the_dead(ctx, killed, Reminder, Task)

        def all_escalated_and_paged() -> bool:
            return (
                len(escalations(ctx, due_by)) >= INCIDENTS
                and not [r for r in unfinished(Reminder) if r.due_at <= due_by]
                and not unfinished(Task)
            )

        wait_until(all_escalated_and_paged)
        sent = [r for r in escalations(ctx, due_by) if r.status == OutboxStatus.SENT]
        with ctx.db.read() as session:
            ref_of = queries.refs_of(session, {r.incident_id for r in sent})
        refs = set(ref_of.values())
        # Every incident restored: each alert paged is resolved, through the live workers.
        for ref in sorted(refs):
            service.restore(ctx, ref, "U1")
        wait_until(lambda: not unfinished(Task))
        for worker in workers:
            worker.wait_for("posting reminders")
        assert [w.stop() for w in workers] == [0, 0]
        assert pagerduty.wait_idle()
    finally:
        for worker in workers:
            if worker.popen.poll() is None:
                worker.popen.kill()
        slack.storm(None)
        pagerduty.stop()

    tasks = page_tasks(ctx)
    assert len(killed) == KILLS
    assert len(sent) == INCIDENTS  # each response breach escalated once, and was posted
    assert {t.status for t in tasks} == {"sent"}
    pages = ledger.count_pages(pagerduty, sent, ref_of, tasks)
    assert set(pages.triggers) == pages.expected  # every escalation paged, nothing else
    # Exactly one trigger per escalation, except where a worker died after PagerDuty had the
    # event and before it could say so: the task taken over sends it again, and PagerDuty
    # adds it to the same alert (dedup_key), paging no one twice.
    assert pages.doubled <= pages.taken_over, pages.triggers
    assert pagerduty.alerts == dict.fromkeys(refs, "resolved")
    assert pages.resolves == Counter(dict.fromkeys(refs, 1))  # after the kills: once each
