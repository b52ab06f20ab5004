"""The incident lifecycle through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.errors import Refusal
from bot.incidents import service
from bot.sla.timers import TimerKind, TimerState
from storage import queries
from storage.models import Incident, Reminder, TimelineEvent, Timer
from tests.conftest import T0

NY = ZoneInfo("America/New_York")
CPH = ZoneInfo("Europe/Copenhagen")
M = dt.timedelta(minutes=1)


def pending(ctx, ref):
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted(
            (r.timer, r.kind, r.step, r.due_at)
            for r in queries.reminders_of(session, incident.id)
            if r.status == "pending"
        )


def events(ctx, ref):
    return [(e.kind, e.text) for e in service.timeline(ctx, ref)]


def counts(ctx):
    with ctx.db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Incident, TimelineEvent, Timer, Reminder)
        )


# --- declaring -----------------------------------------------------------------------


def test_declare_starts_the_default_contracts_timers_and_plans_their_reminders(ctx):
    view = service.declare(ctx, title="Checkout API down", severity=1, actor="U1")
    assert view.ref == "INC-1" and view.state == "declared" and view.customers == ()
    timers = view.timers
    assert {k: (t.target, t.deadline) for k, t in timers.items()} == {
        TimerKind.RESPONSE: ("30m 24x7", T0 + 30 * M),
        TimerKind.RESTORE: ("4h 24x7", T0 + 240 * M),
        TimerKind.PROGRESS: ("60m 24x7", T0 + 60 * M),
    }
    assert all(t.contract == "messaging-platform" for t in timers.values())
    assert pending(ctx, "INC-1") == sorted(
        [
            ("response", "warning", "15m", T0 + 15 * M),
            ("response", "warning", "5m", T0 + 25 * M),
            ("response", "breach", "breach", T0 + 30 * M),
            ("response", "escalation", "escalation 1", T0 + 60 * M),
            ("restore", "warning", "15m", T0 + 225 * M),
            ("restore", "warning", "5m", T0 + 235 * M),
            ("restore", "breach", "breach", T0 + 240 * M),
            ("restore", "escalation", "escalation 1", T0 + 270 * M),
            ("progress", "warning", "10m", T0 + 50 * M),
            ("progress", "breach", "breach", T0 + 60 * M),
            ("progress", "escalation", "escalation 1", T0 + 90 * M),
        ]
    )
    with ctx.db.read() as session:
        stored = {t.kind: (t.deadline_at, t.outcome) for t in session.scalars(select(Timer))}
    assert stored == {
        "response": (T0 + 30 * M, None),
        "restore": (T0 + 240 * M, None),
        "progress": (T0 + 60 * M, None),
    }
    assert events(ctx, "INC-1") == [("declared", "Checkout API down")]


def test_several_customers_run_each_timer_on_the_strictest_contract(ctx):
    # T0 is Fri 04:00 in New York: Dixa's 1 business hour for acme runs from Mon 09:00,
    # while the messaging platform's 1 hour for umbrella runs now.
    view = service.declare(
        ctx, title="Slow API", severity=2, actor="U1", customers=["acme", "umbrella"]
    )
    response = view.timers[TimerKind.RESPONSE]
    assert (response.contract, response.deadline) == (
        "messaging-platform for umbrella",
        T0 + 60 * M,
    )
    # Dixa's restore (1 business day = 9 h from Mon 08:00 New York) is later than 8 h 24x7.
    assert view.timers[TimerKind.RESTORE].deadline == T0 + 8 * 60 * M


def test_a_customer_on_business_hours_gets_business_deadlines_in_its_own_zone(ctx):
    view = service.declare(ctx, title="Reports slow", severity=3, actor="U1", customers=["acme"])
    # Fri 04:00 New York → opens 08:00 → 2 business hours → Fri 10:00 New York.
    assert view.timers[TimerKind.RESPONSE].deadline == dt.datetime(2026, 11, 20, 10, tzinfo=NY)
    assert TimerKind.PROGRESS not in view.timers  # Dixa gives no progress cadence


def test_a_one_level_contract_accepts_any_severity(ctx):
    view = service.declare(
        ctx, title="Certificate missing", severity=3, actor="U1", customers=["initech"]
    )
    # Fri 10:00 Copenhagen + 4 business hours (09–17) → 14:00.
    assert view.timers[TimerKind.RESPONSE].deadline == dt.datetime(2026, 11, 20, 14, tzinfo=CPH)
    assert view.severity_name == "Support request"


def test_declared_with_an_earlier_start_runs_from_that_start(ctx):
    started = T0 - dt.timedelta(minutes=29, seconds=35)
    view = service.declare(ctx, title="Checkout down", severity=1, actor="U1", started_at=started)
    assert view.timers[TimerKind.RESPONSE].deadline == started + 30 * M
    # The warnings are already past, the breach notice is 25 seconds away.
    assert [r for r in pending(ctx, view.ref) if r[0] == "response"] == [
        ("response", "breach", "breach", started + 30 * M),
        ("response", "escalation", "escalation 1", started + 60 * M),
    ]


def test_a_start_already_past_the_target_announces_the_breach_at_once(ctx):
    view = service.declare(
        ctx, title="Found late", severity=1, actor="U1", started_at=T0 - dt.timedelta(hours=2)
    )
    assert view.timers[TimerKind.RESPONSE].state is TimerState.BREACHED
    response = [r for r in pending(ctx, view.ref) if r[0] == "response"]
    assert response == [
        ("response", "breach", "breach", T0 - 90 * M),
        ("response", "escalation", "escalation 4", T0 + 30 * M),  # the first one after now
    ]


def test_refs_skip_one_that_an_import_already_holds(ctx):
    service.declare(ctx, title="one", severity=1, actor="U1")
    with ctx.db.transaction() as session:
        session.add(
            Incident(ref="INC-2", title="imported", severity=1, declared_at=T0, reported_at=T0,
                     impact_start=T0, updated_at=T0, source="import")
        )  # fmt: skip
    assert service.declare(ctx, title="three", severity=1, actor="U1").ref == "INC-3"
    assert service.declare(ctx, title="four", severity=1, actor="U1").ref == "INC-4"


# --- transitions ---------------------------------------------------------------------------


def test_acknowledge_stops_the_response_timer_and_cancels_its_reminders(ctx, clock):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    clock.advance(minutes=7)
    view = service.acknowledge(ctx, "INC-1", actor="U2")
    response = view.timers[TimerKind.RESPONSE]
    assert (response.state, response.stopped_at) == (TimerState.MET, T0 + 7 * M)
    assert view.state == "acknowledged"
    assert not [r for r in pending(ctx, "INC-1") if r[0] == "response"]
    with pytest.raises(
        Refusal, match=r"INC-1 was already acknowledged at 2026-11-20 09:07 UTC \(by U2\)"
    ):
        service.acknowledge(ctx, "inc-1", actor="U3")


def test_an_update_restarts_the_progress_cadence(ctx, clock):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    clock.advance(minutes=20)
    view = service.post_update(ctx, "INC-1", "Rolled back the deploy", actor="U2")
    assert view.timers[TimerKind.PROGRESS].deadline == T0 + 80 * M
    assert [r for r in pending(ctx, "INC-1") if r[0] == "progress"] == [
        ("progress", "breach", "breach", T0 + 80 * M),
        ("progress", "escalation", "escalation 1", T0 + 110 * M),
        ("progress", "warning", "10m", T0 + 70 * M),
    ]
    assert events(ctx, "INC-1")[-1] == ("update", "Rolled back the deploy")


def test_a_downgrade_recomputes_from_the_original_start_and_the_timeline_keeps_the_breach(
    ctx, clock
):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    clock.advance(minutes=40)
    breached = service.acknowledge(ctx, "INC-1", actor="U2")
    assert breached.timers[TimerKind.RESPONSE].state is TimerState.BREACHED
    view = service.change_severity(ctx, "INC-1", 2, actor="U2")
    response = view.timers[TimerKind.RESPONSE]
    assert (response.deadline, response.state) == (T0 + 60 * M, TimerState.MET)
    assert view.timers[TimerKind.RESTORE].deadline == T0 + 8 * 60 * M
    event = service.timeline(ctx, "INC-1")[-1]
    assert event.kind == "severity_changed"
    assert event.before["severity"] == 1 and event.after["severity"] == 2
    assert event.before["timers"]["response"]["state"] == "breached"
    assert event.before["timers"]["response"]["deadline"] == (T0 + 30 * M).isoformat()
    assert event.after["timers"]["response"]["state"] == "met"


def test_an_upgrade_replans_reminders_for_the_new_deadlines(ctx, clock):
    service.declare(ctx, title="Degraded", severity=3, actor="U1")
    clock.advance(minutes=10)
    service.change_severity(ctx, "INC-1", 1, actor="U1")
    response = [r for r in pending(ctx, "INC-1") if r[0] == "response"]
    assert response == [
        ("response", "breach", "breach", T0 + 30 * M),
        ("response", "escalation", "escalation 1", T0 + 60 * M),
        ("response", "warning", "15m", T0 + 15 * M),
        ("response", "warning", "5m", T0 + 25 * M),
    ]
    # Severity III had no progress cadence ("at resolution"); severity I has one.
    assert ("progress", "breach", "breach", T0 + 60 * M) in pending(ctx, "INC-1")


def test_a_pause_moves_deadlines_by_the_paused_time_on_the_24x7_clock(ctx, clock):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    clock.advance(minutes=10)
    paused = service.pause(ctx, "INC-1", "waiting for the customer's logs", actor="U2")
    assert paused.paused and paused.timers[TimerKind.RESPONSE].state is TimerState.PAUSED
    assert paused.timers[TimerKind.RESPONSE].left == 20 * M
    assert pending(ctx, "INC-1") == []  # nothing is announced while waiting on the customer
    clock.advance(minutes=25)
    view = service.resume(ctx, "INC-1", actor="U2")
    assert view.timers[TimerKind.RESPONSE].deadline == T0 + 55 * M
    assert view.timers[TimerKind.RESTORE].deadline == T0 + 265 * M
    assert ("response", "breach", "breach", T0 + 55 * M) in pending(ctx, "INC-1")
    assert events(ctx, "INC-1")[-2:] == [
        ("paused", "waiting for the customer's logs"),
        ("resumed", "paused for 25m"),
    ]


def test_a_pause_outside_business_hours_moves_a_business_deadline_not_at_all(ctx, clock):
    # acme (Dixa, New York) sev 3: response 2 business hours → Fri 10:00 New York.
    service.declare(ctx, title="Reports slow", severity=3, actor="U1", customers=["acme"])
    clock.advance(hours=1)  # Fri 05:00 New York, before opening
    service.pause(ctx, "INC-1", "waiting on customer", actor="U1")
    clock.advance(hours=2)  # Fri 07:00 New York, still before opening
    view = service.resume(ctx, "INC-1", actor="U1")
    assert view.timers[TimerKind.RESPONSE].deadline == dt.datetime(2026, 11, 20, 10, tzinfo=NY)


def test_a_pause_moves_a_business_deadline_by_the_business_time_it_covers(ctx, clock):
    # acme (Dixa, New York) sev 3 declared Fri 16:00: 2bh = 1h Fri + 1h Mon → Mon 09:00.
    clock.set(dt.datetime(2026, 11, 20, 16, 0, tzinfo=NY))
    declared = service.declare(
        ctx, title="Reports slow", severity=3, actor="U1", customers=["acme"]
    )
    assert declared.timers[TimerKind.RESPONSE].deadline == dt.datetime(2026, 11, 23, 9, tzinfo=NY)
    clock.set(dt.datetime(2026, 11, 20, 16, 30, tzinfo=NY))
    service.pause(ctx, "INC-1", "waiting on customer", actor="U1")
    clock.set(dt.datetime(2026, 11, 23, 8, 30, tzinfo=NY))
    view = service.resume(ctx, "INC-1", actor="U1")
    # Paused over 30m of Friday's window and Monday's first 30m: the deadline moves by 1h.
    assert view.timers[TimerKind.RESPONSE].deadline == dt.datetime(2026, 11, 23, 10, tzinfo=NY)


def test_restore_acknowledges_implicitly_and_ends_a_pause(ctx, clock):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    clock.advance(minutes=5)
    service.pause(ctx, "INC-1", "customer", actor="U1")
    clock.advance(minutes=5)
    view = service.restore(ctx, "INC-1", actor="U2")
    assert (view.state, view.acknowledged_at, view.restored_at) == (
        "restored",
        T0 + 10 * M,
        T0 + 10 * M,
    )
    assert not view.paused
    assert view.timers[TimerKind.RESTORE].state is TimerState.MET
    assert [k for k, _ in events(ctx, "INC-1")] == [
        "declared", "paused", "resumed", "acknowledged", "restored",
    ]  # fmt: skip
    assert {r[0] for r in pending(ctx, "INC-1")} == {"progress"}  # reports until resolution


def test_resolve_restores_implicitly_stops_everything_and_keeps_the_summary(ctx, clock):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    service.acknowledge(ctx, "INC-1", actor="U2")
    clock.advance(minutes=90)
    view = service.resolve(ctx, "INC-1", actor="U2", summary="Expired certificate renewed")
    assert (view.state, view.restored_at, view.resolved_at) == (
        "resolved",
        T0 + 90 * M,
        T0 + 90 * M,
    )
    assert view.summary == "Expired certificate renewed"
    assert all(not t.is_open for t in view.timers.values())
    assert view.timers[TimerKind.PROGRESS].state is TimerState.BREACHED  # no update for 90 min
    assert pending(ctx, "INC-1") == []


def test_at_resolution_reporting_is_known_to_the_view(ctx):
    view = service.declare(ctx, title="Minor", severity=3, actor="U1")
    assert view.reports_at_resolution and TimerKind.PROGRESS not in view.timers


def test_an_excluded_outage_can_be_included_again(ctx):
    service.declare(ctx, title="Customer network", severity=2, actor="U1", outage=True)
    assert service.mark_excluded(ctx, "INC-1", "customer's own network", "U1").excluded_reason
    assert service.mark_excluded(ctx, "INC-1", None, "U1").excluded_reason is None
    corrected = service.timeline(ctx, "INC-1")[-2:]
    assert [(e.kind, e.before, e.after) for e in corrected] == [
        ("corrected", {"excluded": None}, {"excluded": "customer's own network"}),
        ("corrected", {"excluded": "customer's own network"}, {"excluded": None}),
    ]


def test_the_incident_of_a_channel(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U1", channel_id="C0")
    service.set_slack_card(ctx, "INC-1", channel_id="CINC1", card_ts="123.456")
    assert service.in_channel(ctx, "CINC1").ref == "INC-1"
    assert service.in_channel(ctx, "CELSE") is None


def test_maintenance_is_recorded_and_updated_by_ref(ctx):
    window = service.add_maintenance(
        ctx,
        title="DB upgrade",
        starts_at=T0 + 60 * M,
        ends_at=T0 + 120 * M,
        actor="U1",
        customers=["acme"],
    )
    assert (window.ref, window.announced_at, window.customers) == ("MW-1", T0, ("acme",))
    again = service.add_maintenance(
        ctx,
        title="DB upgrade, longer",
        starts_at=T0 + 60 * M,
        ends_at=T0 + 180 * M,
        actor="U1",
        ref="MW-1",
    )
    assert (again.ref, again.customers) == ("MW-1", ())


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "   "}, "a title is required"),
        ({"title": "x" * 201}, "a title is at most 200 characters; this one has 201"),
        (
            {"severity": 4},
            r"severity 4 is not in the messaging-platform contract; its levels: 1 \(Severity I",
        ),
        (
            {"severity": 4, "customers": ["acme", "umbrella"]},
            "not in the messaging-platform for umbrella contract",
        ),
        ({"customers": ["acmee"]}, r"'acmee' is not a customer \(did you mean 'acme'\?\)"),
        ({"started_at": T0 + M}, "is in the future; give a time at or before now"),
        (
            {"started_at": T0 - dt.timedelta(days=31)},
            "more than 30 days ago; record older incidents with `slabot import`",
        ),
        ({"impact_pct": 120}, "is not a share of traffic"),
    ],
)
def test_a_declaration_that_makes_no_sense_is_refused_and_changes_nothing(ctx, kwargs, message):
    arguments = {"title": "Checkout down", "severity": 1, "actor": "U1", **kwargs}
    with pytest.raises(Refusal, match=message):
        service.declare(ctx, **arguments)
    assert counts(ctx) == (0, 0, 0, 0)


def _resolved(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    service.resolve(ctx, "INC-1", actor="U1")


def _paused(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U1")
    service.pause(ctx, "INC-1", "customer", actor="U1")


def _declared(ctx):
    service.declare(ctx, title="Down", severity=1, actor="U1")


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        (_resolved, lambda ctx: service.acknowledge(ctx, "INC-1", "U2"), "INC-1 is resolved; there is nothing left to acknowledge"),
        (_resolved, lambda ctx: service.restore(ctx, "INC-1", "U2"), "INC-1 is resolved; service was restored at"),
        (_resolved, lambda ctx: service.resolve(ctx, "INC-1", "U2"), "INC-1 was already resolved at"),
        (_resolved, lambda ctx: service.post_update(ctx, "INC-1", "hi", "U2"), "updates go to open incidents"),
        (_resolved, lambda ctx: service.pause(ctx, "INC-1", "x", "U2"), "INC-1 is resolved; its timers have stopped"),
        (_paused, lambda ctx: service.pause(ctx, "INC-1", "again", "U2"), r"already paused since 2026-11-20 09:00 UTC \(customer\); resume it first"),
        (_declared, lambda ctx: service.resume(ctx, "INC-1", "U2"), "INC-1 is not paused; there is nothing to resume"),
        (_declared, lambda ctx: service.pause(ctx, "INC-1", " ", "U2"), "a pause needs a reason"),
        (_declared, lambda ctx: service.post_update(ctx, "INC-1", "", "U2"), "an update needs text"),
        (_declared, lambda ctx: service.change_severity(ctx, "INC-1", 1, "U2"), "INC-1 is already severity 1"),
        (_declared, lambda ctx: service.change_severity(ctx, "INC-1", 7, "U2"), "severity 7 is not in the messaging-platform contract"),
        (_declared, lambda ctx: service.acknowledge(ctx, "INC-9", "U2"), "there is no incident 'INC-9'"),
        (_declared, lambda ctx: service.acknowledge(ctx, "INC-1", "U2", at=T0 + M), "is in the future"),
        (_declared, lambda ctx: service.restore(ctx, "INC-1", "U2", at=T0 - M), "is before INC-1 started"),
        (_declared, lambda ctx: service.mark_excluded(ctx, "INC-1", None, "U2"), "INC-1 is already counted"),
        (_declared, lambda ctx: service.mark_excluded(ctx, "INC-1", "x" * 3001, "U2"), "a reason is at most 3000 characters; this one has 3001"),
    ],
)  # fmt: skip
def test_a_transition_that_makes_no_sense_is_refused_and_changes_nothing(
    ctx, setup, action, message
):
    setup(ctx)
    before = counts(ctx), service.get(ctx, "INC-1")
    with pytest.raises(Refusal, match=message):
        action(ctx)
    assert (counts(ctx), service.get(ctx, "INC-1")) == before


def test_restoring_twice_is_refused(ctx):
    _declared(ctx)
    service.restore(ctx, "INC-1", "U1")
    with pytest.raises(Refusal, match="INC-1 was already restored at 2026-11-20 09:00 UTC"):
        service.restore(ctx, "INC-1", "U1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ends_at": T0}, "maintenance must end after it starts"),
        ({"announced_at": T0 + M}, "cannot be announced in the future"),
        ({"customers": ["nobody"]}, "'nobody' is not a customer"),
        ({"title": ""}, "a title is required"),
    ],
)
def test_maintenance_that_makes_no_sense_is_refused(ctx, kwargs, message):
    arguments = {
        "title": "DB upgrade",
        "starts_at": T0 + 60 * M,
        "ends_at": T0 + 120 * M,
        "actor": "U1",
        **kwargs,
    }
    with pytest.raises(Refusal, match=message):
        service.add_maintenance(ctx, **arguments)
