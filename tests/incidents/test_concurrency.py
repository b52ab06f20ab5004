"""Two responders acting at the same moment leave one consistent incident (real threads)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service


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


def test_two_acknowledgements_at_once_leave_one(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U0")
    results = race(
        ctx,
        lambda c: service.acknowledge(c, "INC-1", "U1"),
        lambda c: service.acknowledge(c, "INC-1", "U2"),
    )
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(refusals) == 1 and "already acknowledged" in str(refusals[0])
    kinds = [e.kind for e in service.timeline(ctx, "INC-1")]
    assert kinds.count("acknowledged") == 1


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
