"""Corrections of the record and breaches that stand, through the services (SQLite and
PostgreSQL). The default contract is the messaging platform's: Severity I responds in 30m,
restores in 4h and reports every 60m (24x7); Severity III responds in 4h."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.corrections import Correction
from bot.incidents.record import incident_record
from bot.reminders import service as reminders
from bot.sla.timers import TimerKind, TimerState
from bot.text import format_local
from storage import queries
from storage.models import Breach, Incident, IncidentCustomer, Reminder, TimelineEvent, Timer
from tests.conftest import T0

M = dt.timedelta(minutes=1)


def declared(ctx, started=T0 - 40 * M, severity=1, **kwargs) -> str:
    """Declared at T0, started 40 minutes before (response due T0 - 10m: breached)."""
    return service.declare(
        ctx, title="Checkout down", severity=severity, actor="U1", started_at=started,
        outage=True, **kwargs,
    ).ref  # fmt: skip


def snapshot(ctx):
    """Every row a correction could touch, as plain values."""
    with ctx.db.read() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Incident, IncidentCustomer, TimelineEvent, Timer, Reminder, Breach)
        )
    return counts, service.get(ctx, "INC-1")


def pending(ctx, ref="INC-1"):
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted(
            (r.timer, r.kind, r.step, r.due_at)
            for r in queries.reminders_of(session, incident.id)
            if r.status == "pending"
        )


def breaches(ctx, ref="INC-1"):
    return [
        (b.timer.value, b.severity, b.due_at, b.noticed_by.value, b.stands)
        for b in incident_record(ctx, ref).breaches
    ]


def test_a_correction_is_one_event_with_old_new_who_why_and_the_timers_follow(ctx, clock):
    declared(ctx)
    service.restore(ctx, "INC-1", "U1")  # at T0: restore met (due T0 - 40m + 4h)
    clock.advance(minutes=10)
    outcome = service.correct(
        ctx, "INC-1", Correction(restored_at=T0 - 10 * M), "U2", reason="the deploy's time"
    )
    assert outcome.changes == {"restored_at": (T0, T0 - 10 * M)}
    event = service.timeline(ctx, "INC-1")[-1]
    assert (event.kind, event.actor, event.text, event.at, event.recorded_at) == (
        "corrected", "U2", "the deploy's time", T0 + 10 * M, T0 + 10 * M,
    )  # fmt: skip
    assert (event.before, event.after) == (
        {"restored_at": T0.isoformat()}, {"restored_at": (T0 - 10 * M).isoformat()},
    )  # fmt: skip
    restore = outcome.view.timers[TimerKind.RESTORE]
    assert (restore.stopped_at, restore.state) == (T0 - 10 * M, TimerState.MET)
    # Restoring at T0 acknowledged at T0; the acknowledgement stands (40m: 10m late).
    assert outcome.view.acknowledged_at == T0
    assert outcome.view.timers[TimerKind.RESPONSE].state is TimerState.BREACHED


def test_resolving_by_correction_restores_and_acknowledges_in_the_one_event(ctx):
    declared(ctx)
    outcome = service.correct(ctx, "INC-1", Correction(resolved_at=T0 - 5 * M), "U1", reason="x")
    assert outcome.changes == {
        "acknowledged_at": (None, T0 - 5 * M),
        "restored_at": (None, T0 - 5 * M),
        "resolved_at": (None, T0 - 5 * M),
    }
    assert [e.kind for e in service.timeline(ctx, "INC-1")] == ["declared", "corrected"]
    assert outcome.view.state == "resolved" and pending(ctx) == []


def test_started_moves_the_response_and_the_restore_start_and_their_reminders(ctx):
    declared(ctx, started=T0)
    assert ("response", "breach", "breach", T0 + 30 * M) in pending(ctx)
    outcome = service.correct(ctx, "INC-1", Correction(started_at=T0 - 20 * M), "U1")
    assert (outcome.view.reported_at, outcome.view.impact_start) == (T0 - 20 * M, T0 - 20 * M)
    assert outcome.view.timers[TimerKind.RESPONSE].deadline == T0 + 10 * M
    # The 15m warning (due T0 - 5m) is past: not planned; the 5m one and the breach are.
    assert [p for p in pending(ctx) if p[0] == "response"] == [
        ("response", "breach", "breach", T0 + 10 * M),
        ("response", "escalation", "escalation 1", T0 + 40 * M),
        ("response", "warning", "5m", T0 + 5 * M),
    ]


def test_customers_are_added_removed_and_all(ctx):
    declared(ctx, severity=2, customers=["acme"])
    view = service.correct(ctx, "INC-1", Correction(add_customers=("nordlys",)), "U1").view
    assert view.customers == ("acme", "nordlys")
    view = service.correct(ctx, "INC-1", Correction(remove_customers=("acme",)), "U1").view
    assert view.customers == ("nordlys",)
    outcome = service.correct(ctx, "INC-1", Correction(customers=()), "U1")
    assert outcome.view.customers == () and outcome.changes == {"customers": (("nordlys",), ())}
    assert service.timeline(ctx, "INC-1")[-1].after == {"customers": "all"}


def test_reopening_clears_the_resolution_and_keeps_the_restore(ctx, clock):
    declared(ctx)
    service.resolve(ctx, "INC-1", "U1", summary="cache node replaced")
    clock.advance(minutes=5)
    outcome = service.reopen(ctx, "INC-1", "U3", "it came back", admin=True)
    view = outcome.view
    assert (view.state, view.resolved_at, view.summary, view.restored_at) == (
        "restored", None, None, T0,
    )  # fmt: skip
    assert outcome.changes == {
        "resolved_at": (T0, None), "summary": ("cache node replaced", None),
    }  # fmt: skip
    with pytest.raises(Refusal, match="INC-1 is not resolved; there is nothing to reopen"):
        service.reopen(ctx, "INC-1", "U3", admin=True)


def _restored(ctx):
    declared(ctx)
    service.restore(ctx, "INC-1", "U1")


def _resolved(ctx):
    declared(ctx)
    service.resolve(ctx, "INC-1", "U1")


def _for_acme(ctx):
    declared(ctx, severity=4, customers=["acme"])


def _correct(correction: Correction, *, admin: bool = False, reason: str | None = None):
    return lambda ctx: service.correct(ctx, "INC-1", correction, "U2", reason=reason, admin=admin)


@pytest.mark.parametrize(
    ("setup", "action", "message", "field"),
    [
        (_restored, _correct(Correction(restored_at=T0 - 50 * M)),
         "restored 2026-11-20 08:10 UTC is before INC-1 started \\(2026-11-20 08:20 UTC\\)", "restored_at"),
        (declared, _correct(Correction(acknowledged_at=T0 - 41 * M)),
         "acknowledged 2026-11-20 08:19 UTC is before INC-1 started", "acknowledged_at"),
        (_restored, _correct(Correction(resolved_at=T0 - M)),
         "resolved 2026-11-20 08:59 UTC is before service was restored \\(2026-11-20 09:00 UTC\\)", "resolved_at"),
        (declared, _correct(Correction(acknowledged_at=T0 + M)),
         "acknowledged 2026-11-20 09:01 UTC is in the future; give a time at or before now", "acknowledged_at"),
        (declared, _correct(Correction(declared_at=T0 - 50 * M)),
         "INC-1 cannot have started 2026-11-20 08:20 UTC, after it was declared", "reported_at"),
        (_restored, _correct(Correction(acknowledged_at=None)),
         "the acknowledgement cannot be cleared while the restore stands", "acknowledged_at"),
        (_resolved, _correct(Correction(restored_at=None), admin=True),
         "reopen it before clearing the restore", "restored_at"),
        (declared, _correct(Correction(outage=True)), "nothing to correct: INC-1 already has outage yes", None),
        (declared, _correct(Correction()), "say what to correct", None),
        (declared, _correct(Correction(impact_pct=150)), "impact 150 % is not a share of traffic", "impact_pct"),
        (_resolved, _correct(Correction(outage=False)),
         "INC-1 is resolved: after resolution only admins \\(SLABOT_ADMINS\\) may correct", None),
        (declared, _correct(Correction(excluded="customer's network")), "is for admins", "excluded"),
        (declared, _correct(Correction(excluded=" "), admin=True), "an exclusion needs a reason", None),
        (declared, _correct(Correction(remove_customers=("acme",))), "INC-1 affects every customer", "customers"),
        (_for_acme, _correct(Correction(remove_customers=("nordlys",))),
         "nordlys is not among INC-1's customers \\(acme\\)", "customers"),
        (_for_acme, _correct(Correction(remove_customers=("acme",))), "would name no customer", "customers"),
        (_for_acme, _correct(Correction(add_customers=("nobody",))), "'nobody' is not a customer", "customers"),
        (_for_acme, _correct(Correction(add_customers=("globex",))),
         "severity 4 is not in the messaging-platform for globex contract", None),
    ],
)  # fmt: skip
def test_a_correction_that_cannot_be_is_refused_and_changes_nothing(
    ctx, setup, action, message, field
):
    setup(ctx)
    before = snapshot(ctx)
    with pytest.raises(Refusal, match=message) as refusal:
        action(ctx)
    assert refusal.value.field == field
    assert snapshot(ctx) == before


def test_an_exclusion_is_the_admins_and_its_reason_is_the_exclusion(ctx):
    declared(ctx)
    view = service.correct(
        ctx, "INC-1", Correction(excluded="customer's own network"), "U3",
        reason="customer's own network", admin=True,
    ).view  # fmt: skip
    assert view.excluded_reason == "customer's own network"


# --- breaches stand ----------------------------------------------------------------------------


def test_a_regrade_after_a_breach_keeps_it_and_says_what_happened(ctx, clock):
    declared(ctx, started=T0)
    clock.advance(minutes=35)  # the response was due T0 + 30m
    view = service.change_severity(ctx, "INC-1", 3, "U1")
    assert view.timers[TimerKind.RESPONSE].state is TimerState.RUNNING  # 4h from T0 now
    clock.advance(minutes=5)
    view = service.acknowledge(ctx, "INC-1", "U1")
    assert view.timers[TimerKind.RESPONSE].state is TimerState.MET
    assert breaches(ctx) == [("response", 1, T0 + 30 * M, "record", False)]
    (earlier,) = view.earlier_breaches
    assert earlier.story(lambda t: format_local(t, "UTC")) == (
        "response breached Fri 2026-11-20 09:30 UTC under Sev 1; re-graded to Sev 3 at "
        "Fri 2026-11-20 09:35 UTC (response met under Sev 3)"
    )
    assert service.get(ctx, "INC-1").earlier_breaches == (earlier,)


def test_a_correction_that_withdraws_a_breach_keeps_it_in_the_record(ctx, clock):
    declared(ctx, started=T0)
    clock.advance(minutes=40)
    service.acknowledge(ctx, "INC-1", "U1")  # 40m: breached, and recorded by the ack
    clock.advance(minutes=5)
    view = service.correct(
        ctx, "INC-1", Correction(acknowledged_at=T0 + 20 * M), "U1", reason="paged at 09:20"
    ).view
    assert view.timers[TimerKind.RESPONSE].state is TimerState.MET
    (earlier,) = view.earlier_breaches
    assert earlier.story(lambda t: f"{t:%H:%M}") == (
        "response breached 09:30 as recorded then; corrected 09:45 (response met under the "
        "corrected facts)"
    )


def test_a_late_update_is_a_missed_progress_deadline_by_how_much(ctx, clock):
    declared(ctx, started=T0)
    clock.advance(minutes=80)  # the first report was due T0 + 60m
    service.post_update(ctx, "INC-1", "rolled back", "U1")
    record = incident_record(ctx, "INC-1")
    (missed,) = [b for b in record.breaches if b.timer is TimerKind.PROGRESS]
    assert (missed.due_at, missed.stands, missed.answered_at, missed.late_by) == (
        T0 + 60 * M, True, T0 + 80 * M, 20 * M,
    )  # fmt: skip
    assert (
        missed.story(lambda t: f"{t:%H:%M}") == "update missed 10:00 under Sev 1, posted 20m late"
    )
    assert [(d.due, d.state) for d in record.progress] == [
        (T0 + 60 * M, TimerState.BREACHED), (T0 + 140 * M, TimerState.RUNNING),
    ]  # fmt: skip


def test_a_breach_announced_is_not_announced_again_when_a_correction_moves_it(ctx, clock):
    declared(ctx, started=T0)
    clock.advance(minutes=31)
    (notice,) = [d for d in reminders.claim(ctx, "w1") if d.kind == "breach"]
    assert reminders.sent(ctx, notice, "w1", "C1", "1.0")
    assert breaches(ctx) == [("response", 1, T0 + 30 * M, "notice", True)]
    # Started five minutes earlier: the response was due T0 + 25m, also past. Its breach was
    # announced: no breach notice for the new deadline, only the escalation still to come.
    service.correct(ctx, "INC-1", Correction(started_at=T0 - 5 * M), "U1", reason="earlier")
    assert [p for p in pending(ctx) if p[0] == "response"] == [
        ("response", "escalation", "escalation 1", T0 + 55 * M),
    ]


def test_a_breach_never_announced_is_announced_when_a_correction_makes_it(ctx, clock):
    declared(ctx, started=T0)
    clock.advance(minutes=10)
    service.correct(ctx, "INC-1", Correction(started_at=T0 - 30 * M), "U1", reason="earlier")
    # Due T0 now, ten minutes ago, never announced: the breach notice is planned at once.
    assert ("response", "breach", "breach", T0) in pending(ctx)


def test_a_deadline_that_holds_again_gets_its_reminders_back(ctx, clock):
    declared(ctx, started=T0)
    first = [p for p in pending(ctx) if p[0] == "response"]
    service.correct(ctx, "INC-1", Correction(started_at=T0 - 10 * M), "U1", reason="typo")
    service.correct(ctx, "INC-1", Correction(started_at=T0), "U1", reason="the typo undone")
    # The reminders cancelled when the deadline moved are pending again, none lost.
    assert [p for p in pending(ctx) if p[0] == "response"] == first


def test_resolving_a_paused_incident_by_correction_ends_the_pause_in_the_one_event(ctx, clock):
    declared(ctx)
    service.pause(ctx, "INC-1", "waiting for the customer's logs", "U1")  # at T0
    clock.advance(minutes=30)
    outcome = service.correct(ctx, "INC-1", Correction(resolved_at=T0 + 20 * M), "U1", reason="x")
    assert outcome.changes["pause_ended_at"] == (None, T0 + 20 * M)
    assert not outcome.view.paused
    assert [e.kind for e in service.timeline(ctx, "INC-1")][-1:] == ["corrected"]
    assert [e.kind for e in service.timeline(ctx, "INC-1")].count("resumed") == 0
    # A correction of something else leaves a pause of a restored incident alone.
    declared(ctx)
    service.restore(ctx, "INC-2", "U1")
    service.pause(ctx, "INC-2", "customer confirms", "U1")
    assert service.correct(ctx, "INC-2", Correction(outage=False), "U1").view.paused
