"""A random sequence of corrections (and re-grades) ends where declaring with the final facts
from scratch starts: the same timers, and the same reminders still to come (SQLite and
PostgreSQL). docs/semantics.md §3: corrections recompute everything the facts feed, exactly
as if they had been recorded right the first time."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.corrections import Correction
from storage import queries
from tests.conftest import T0, empty

M = dt.timedelta(minutes=1)
CUSTOMERS = [(), ("globex",), ("umbrella",), ("globex", "umbrella")]
"""Customers whose contracts have severities I–III (the messaging platform's)."""

offsets = st.sampled_from([-200, -90, -45, -20, -5, 0, 10, 35, 70, 120]).map(lambda n: T0 + n * M)
"""Instants around the declaration (T0), a few of them, so that a sequence often returns to
a fact it had (a typo undone); the later ones are in the future for a while."""
starts = st.sampled_from([-180, -45, -20, -5, 0]).map(lambda n: T0 + n * M)
corrections = st.one_of(
    st.builds(Correction, started_at=starts),
    st.builds(Correction, acknowledged_at=offsets),
    st.builds(Correction, restored_at=offsets | st.none()),
    st.builds(Correction, resolved_at=offsets | st.none()),
    st.builds(Correction, outage=st.booleans()),
    st.builds(Correction, customers=st.sampled_from(CUSTOMERS)),
    st.sampled_from([1, 2, 3]),  # a re-grade
)
steps = st.lists(st.tuples(st.integers(0, 40), corrections), max_size=7)


def timers(view):
    return {
        kind: (
            t.state,
            t.target,
            t.contract,
            t.started_at,
            t.deadline,
            t.stopped_at,
            t.left,
            t.over_by,
        )
        for kind, t in view.timers.items()
    }


def to_come(ctx, ref, now):
    """Pending reminders still to come, and breach notices not yet posted (the worker posts
    those late); older overdue warnings and escalations are the worker's to supersede."""
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted(
            (r.timer, r.kind, r.step, r.due_at, r.deadline_at)
            for r in queries.reminders_of(session, incident.id)
            if r.status == "pending" and (r.kind == "breach" or r.due_at >= now)
        )


def resync(ctx, ref):
    """Re-plan at the clock's now, as any change does (the last step may have been refused)."""
    with ctx.db.transaction() as session:
        incident = queries.incident_by_ref(session, ref, lock=True)
        service.sync(session, incident, ctx.contracts, ctx.clock.now())


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    started=st.sampled_from([0, 5, 20, 45, 180]),
    severity=st.sampled_from([1, 2, 3]),
    customers=st.sampled_from(CUSTOMERS),
    history=steps,
)
def test_corrections_end_where_declaring_the_final_facts_starts(
    ctx, clock, started, severity, customers, history
):
    empty(ctx.db)
    clock.set(T0)
    service.declare(
        ctx, title="Corrected", severity=severity, actor="U1", customers=customers,
        outage=True, started_at=T0 - started * M,
    )  # fmt: skip
    for minutes, step in history:
        clock.advance(minutes=minutes)
        try:
            if isinstance(step, int):
                service.change_severity(ctx, "INC-1", step, "U1")
            else:
                service.correct(ctx, "INC-1", step, "U1", reason="x", admin=True)
        except Refusal:
            pass  # refused corrections change nothing (tests/incidents/test_corrections.py)
    now = clock.now()
    resync(ctx, "INC-1")
    final = service.get(ctx, "INC-1")

    clock.set(T0)
    fresh = service.declare(
        ctx, title="Declared right", severity=final.severity, actor="U1",
        customers=final.customers, outage=final.outage, started_at=final.reported_at,
    ).ref  # fmt: skip
    clock.set(now)
    if final.acknowledged_at is not None:
        service.acknowledge(ctx, fresh, "U1", at=final.acknowledged_at)
    if final.restored_at is not None:
        service.restore(ctx, fresh, "U1", at=final.restored_at)
    if final.resolved_at is not None:
        service.resolve(ctx, fresh, "U1", at=final.resolved_at)
    resync(ctx, fresh)

    assert timers(service.get(ctx, fresh)) == timers(final)
    assert to_come(ctx, fresh, now) == to_come(ctx, "INC-1", now)
