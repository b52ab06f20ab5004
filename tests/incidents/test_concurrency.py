"""Two responders acting at the same moment leave one consistent incident.

Real concurrency: each action runs in its own thread with its own database connection, and
all start together. Reading the time takes 0.3 s inside the unit of work (after the
incident is loaded), so without the row lock (``SELECT … FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) both would load the same state and both would write:
on PostgreSQL that gives two acknowledgements (verified by removing the lock).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service
from storage import queries


class SlowClock:
    """Reading the time takes a while, so two units of work overlap after loading the incident."""

    def __init__(self, base, delay: float):
        self.base, self.delay = base, delay

    def now(self):
        time.sleep(self.delay)
        return self.base.now()

    def sleep(self, seconds, wake=None):
        self.base.sleep(seconds, wake)


def race(ctx: Context, *actions):
    """Run the actions at once; each result is the returned view or the Refusal raised."""
    slow = Context(db=ctx.db, contracts=ctx.contracts, clock=SlowClock(ctx.clock, 0.3))
    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        try:
            return action(slow)
        except Refusal as refusal:
            return refusal

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


def assert_consistent(ctx: Context, ref: str) -> None:
    """The stored timers and pending reminders are what the incident's facts imply."""
    view = service.get(ctx, ref)
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        timers = queries.timers_of(session, [incident.id]).get(incident.id, {})
        pending = [r for r in queries.reminders_of(session, incident.id) if r.status == "pending"]
    assert timers["response"].stopped_at == view.acknowledged_at
    assert timers["restore"].stopped_at == view.restored_at
    for kind, timer in timers.items():
        assert timer.deadline_at == view.timers[kind].deadline
    stopped = {kind for kind, timer in timers.items() if timer.stopped_at is not None}
    assert not [r for r in pending if r.timer in stopped], "a stopped timer still has reminders"
    keys = [r.dedupe_key for r in pending]
    assert len(keys) == len(set(keys))


def test_two_acknowledgements_at_once_leave_one(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U0")
    results = race(
        ctx,
        lambda c: service.acknowledge(c, "INC-1", "U1"),
        lambda c: service.acknowledge(c, "INC-1", "U2"),
    )
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(refusals) == 1 and "already acknowledged" in str(refusals[0])
    events = [e for e in service.timeline(ctx, "INC-1") if e.kind == "acknowledged"]
    assert len(events) == 1
    # The refusal names the winner.
    assert f"by {events[0].actor}" in str(refusals[0])
    assert_consistent(ctx, "INC-1")


def test_acknowledge_and_restore_at_once_leave_one_consistent_incident(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U0")
    results = race(
        ctx,
        lambda c: service.acknowledge(c, "INC-1", "U1"),
        lambda c: service.restore(c, "INC-1", "U2"),
    )
    incident = service.get(ctx, "INC-1")
    kinds = [e.kind for e in service.timeline(ctx, "INC-1")]
    assert incident.state == "restored"
    assert kinds.count("acknowledged") == 1 and kinds.count("restored") == 1
    # Either the ack went first (both succeed) or the restore did (it acknowledged, the ack is refused).
    refused = [r for r in results if isinstance(r, Refusal)]
    assert len(refused) in (0, 1)
    if refused:
        assert "already acknowledged" in str(refused[0])
    assert incident.acknowledged_at <= incident.restored_at
    assert_consistent(ctx, "INC-1")


def test_restore_and_resolve_at_once_leave_one_resolved_incident(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U0")
    results = race(
        ctx,
        lambda c: service.restore(c, "INC-1", "U1"),
        lambda c: service.resolve(c, "INC-1", "U2", summary="fixed"),
    )
    incident = service.get(ctx, "INC-1")
    kinds = [e.kind for e in service.timeline(ctx, "INC-1")]
    assert incident.state == "resolved"
    assert kinds.count("restored") == 1 and kinds.count("resolved") == 1
    refused = [r for r in results if isinstance(r, Refusal)]
    # The resolve went first (it restored; the restore is refused) or the restore did.
    assert len(refused) in (0, 1)
    if refused:
        assert "is resolved; service was restored" in str(refused[0])
    assert_consistent(ctx, "INC-1")
