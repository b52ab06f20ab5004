"""Maintenance windows through the service, on SQLite and PostgreSQL: what each contract
makes of the notice, list, move and cancel, and what reports exclude afterwards."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import Refusal
from bot.incidents import service as incidents
from bot.maintenance import service
from bot.maintenance.service import Notice, WindowState
from bot.reports import service as reports
from tests.conftest import T0
from tests.worker.test_budget import FIVE, TEN, crossing_rows, declare

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


def announce(ctx, start, end, *customers, title="Database upgrade"):
    return service.announce(
        ctx, title=title, starts_at=start, ends_at=end, actor="U3", customers=customers
    )


def outcomes(view) -> dict[str, Notice]:
    return {c: v.outcome for v in view.verdicts for c in v.customers}


def downtime(ctx, customer: str) -> tuple[int, int]:
    """November's downtime and excluded minutes for the customer, as the report has them."""
    (figures,) = reports.customer_report(ctx, "2026-11", customer).customers
    return int(figures.uptime.downtime_minutes), int(figures.uptime.excluded_minutes)


def outage(ctx, clock, start, end):
    """An outage of every customer from ``start`` to ``end`` (declared when it began)."""
    clock.set(start)
    view = incidents.declare(ctx, title="Checkout down", severity=1, actor="U1", outage=True)
    clock.set(end)
    incidents.restore(ctx, view.ref, "U1")
    return view.ref


def test_each_contract_says_whether_the_notice_is_enough(ctx):
    # 1 h 52 m ahead: under Dixa's 24 h, over Diplomasafe's none.
    soon = announce(ctx, T0 + 112 * M, T0 + 172 * M, "acme", "nordlys", "initech")
    assert outcomes(soon) == {
        "acme": Notice.TOO_LATE, "nordlys": Notice.TOO_LATE, "initech": Notice.ENOUGH,
    }  # fmt: skip
    (dixa,) = [v for v in soon.verdicts if v.policy == "dixa"]
    assert dixa.describe() == (
        "acme, nordlys (dixa, 24 h notice): not enough notice (1h 52m given) — "
        "this window will count as downtime"
    )
    # Three days ahead: enough for everyone.
    later = announce(ctx, T0 + 72 * H, T0 + 73 * H, "acme", "initech")
    assert set(outcomes(later).values()) == {Notice.ENOUGH}
    assert [v.describe() for v in later.verdicts] == [
        "acme (dixa, 24 h notice): enough notice (3d given) — excluded from downtime",
        "initech (diplomasafe, no minimum notice): enough notice (3d given) — excluded from downtime",
    ]
    # No customer named: every configured customer is judged.
    everyone = announce(ctx, T0 + 2 * H, T0 + 3 * H)
    assert set(outcomes(everyone)) == {"acme", "nordlys", "globex", "umbrella", "initech"}


def test_an_announcement_history_is_recorded(ctx):
    view = announce(ctx, T0 + 30 * H, T0 + 31 * H, "acme")
    (event,) = service.history(ctx, view.ref)
    assert (event.kind, event.actor, event.at) == ("announced", "U3", T0)


def test_a_window_cancelled_before_it_starts_excludes_nothing(ctx, clock):
    start = T0 + 30 * H  # Saturday 15:00Z, announced 30 h ahead: excluded for acme
    announce(ctx, start, start + 2 * H, "acme")
    clock.set(T0 + H)
    cancelled = service.cancel(ctx, "mw-1", actor="U3", reason="vendor postponed")
    assert cancelled.called_off and cancelled.cancelled_by == "U3"
    (_, event) = service.history(ctx, "MW-1")
    assert (event.kind, event.actor, event.at, event.reason) == (
        "cancelled", "U3", T0 + H, "vendor postponed",
    )  # fmt: skip
    outage(ctx, clock, start + 30 * M, start + 90 * M)
    assert downtime(ctx, "acme") == (60, 0)  # the hour counts: nothing excluded


def test_a_window_cancelled_while_under_way_ends_then(ctx, clock):
    start = T0 + 30 * H
    announce(ctx, start, start + 2 * H, "acme")
    outage(ctx, clock, start + 30 * M, start + 31 * M)  # excluded: the window is under way
    clock.set(start + 60 * M)
    cancelled = service.cancel(ctx, "MW-1", actor="U3")
    assert not cancelled.called_off and cancelled.ends_at == start + 60 * M
    # An outage from 45 minutes into the window to 90: 15 minutes excluded, 30 down.
    clock.set(start + 45 * M)
    later = incidents.declare(ctx, title="Down again", severity=1, actor="U1", outage=True)
    clock.set(start + 90 * M)
    incidents.restore(ctx, later.ref, "U1")
    assert downtime(ctx, "acme") == (30, 16)


def test_moving_inside_the_window_keeps_its_notice_and_elsewhere_renews_it(ctx, clock):
    start = T0 + 30 * H
    announce(ctx, start, start + 3 * H, "acme")
    clock.set(T0 + 10 * H)
    shorter = service.move(ctx, "MW-1", starts_at=start + H, ends_at=start + 2 * H, actor="U3")
    assert not shorter.renoticed and shorter.window.announced_at == T0
    assert outcomes(shorter.window) == {"acme": Notice.ENOUGH}
    later = service.move(
        ctx, "MW-1", starts_at=start + 5 * H, ends_at=start + 6 * H, actor="U3", reason="clash"
    )
    # Announced anew at T0 + 10 h for 25 h later: still enough for Dixa's 24 h.
    assert later.renoticed and later.window.announced_at == T0 + 10 * H
    assert later.before == (start + H, start + 2 * H)
    moved = [e for e in service.history(ctx, "MW-1") if e.kind == "moved"]
    assert [(e.before["starts_at"], e.after["starts_at"], e.reason) for e in moved] == [
        (start.isoformat(), (start + H).isoformat(), None),
        ((start + H).isoformat(), (start + 5 * H).isoformat(), "clash"),
    ]
    # Moved to start in 2 h: not enough notice any more.
    sooner = service.move(ctx, "MW-1", starts_at=T0 + 12 * H, ends_at=T0 + 13 * H, actor="U3")
    assert outcomes(sooner.window) == {"acme": Notice.TOO_LATE}


def test_a_window_under_way_can_only_end_earlier(ctx, clock):
    start = T0 + 30 * H
    announce(ctx, start, start + 3 * H, "acme")
    clock.set(start + H)
    with pytest.raises(Refusal, match="under way: it can only end earlier"):
        service.move(ctx, "MW-1", starts_at=start, ends_at=start + 4 * H, actor="U3")
    with pytest.raises(Refusal, match="under way"):
        service.move(ctx, "MW-1", starts_at=start + 2 * H, ends_at=start + 3 * H, actor="U3")
    moved = service.move(ctx, "MW-1", starts_at=start, ends_at=start + 2 * H, actor="U3")
    assert moved.window.ends_at == start + 2 * H and not moved.renoticed


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda ctx: service.cancel(ctx, "MW-9", actor="U3"), "'MW-9' is not a maintenance window"),
        (lambda ctx: service.cancel(ctx, "MW-2", actor="U3"), "MW-2 has ended, so it cannot be cancelled"),
        (lambda ctx: service.move(ctx, "MW-2", starts_at=T0 + H, ends_at=T0 + 2 * H, actor="U3"),
         "MW-2 has ended, so it cannot be moved"),
        (lambda ctx: service.move(ctx, "MW-1", starts_at=T0 + 2 * H, ends_at=T0 + H, actor="U3"),
         "maintenance must end after it starts"),
        (lambda ctx: service.move(ctx, "MW-1", starts_at=T0 - H, ends_at=T0 + H, actor="U3"),
         "cannot be moved into the past"),
        (lambda ctx: service.cancel(ctx, "MW-1", actor="U3", reason="x" * 501), "at most 500"),
    ],
)  # fmt: skip
def test_what_makes_no_sense_is_refused_and_changes_nothing(ctx, clock, act, message):
    announce(ctx, T0 + 30 * H, T0 + 31 * H, "acme")
    clock.set(T0 - 3 * H)
    announce(ctx, T0 - 2 * H, T0 - H, "acme", title="Past")
    clock.set(T0)
    before = [service.window(ctx, ref) for ref in ("MW-1", "MW-2")]
    with pytest.raises(Refusal, match=message):
        act(ctx)
    assert [service.window(ctx, ref) for ref in ("MW-1", "MW-2")] == before
    assert [len(service.history(ctx, ref)) for ref in ("MW-1", "MW-2")] == [1, 1]


def test_a_cancelled_window_cannot_be_cancelled_or_moved_again(ctx):
    announce(ctx, T0 + 30 * H, T0 + 31 * H, "acme")
    service.cancel(ctx, "MW-1", actor="U3")
    for act in (
        lambda: service.cancel(ctx, "MW-1", actor="U3"),
        lambda: service.move(ctx, "MW-1", starts_at=T0 + 40 * H, ends_at=T0 + 41 * H, actor="U3"),
    ):
        with pytest.raises(Refusal, match="MW-1 was cancelled already"):
            act()


def test_list_shows_upcoming_and_recent_windows_per_customer(ctx, clock):
    clock.set(T0 - 40 * 24 * H)
    announce(ctx, T0 - 39 * 24 * H, T0 - 39 * 24 * H + H, "acme", title="Long ago")
    clock.set(T0 - 3 * 24 * H)
    announce(ctx, T0 - 2 * 24 * H, T0 - 2 * 24 * H + H, "acme", title="Last week")
    clock.set(T0)
    announce(ctx, T0 + 30 * H, T0 + 31 * H, "globex", title="Gateway")
    announce(ctx, T0 + 50 * H, T0 + 51 * H, title="Everyone")
    service.cancel(ctx, "MW-4", actor="U3")
    assert [(w.ref, w.title) for w in service.listed(ctx)] == [
        ("MW-2", "Last week"), ("MW-3", "Gateway"), ("MW-4", "Everyone"),
    ]  # fmt: skip
    acme = service.listed(ctx, "Acme Retail Inc.")
    assert [w.ref for w in acme] == ["MW-2", "MW-4"]
    assert all(c == "acme" for w in acme for v in w.verdicts for c in v.customers)
    assert service.listed(ctx)[2].called_off
    with pytest.raises(Refusal, match="'acne' is not a customer"):
        service.listed(ctx, "acne")


def test_a_window_that_has_ended_is_not_announced(ctx):
    with pytest.raises(Refusal, match="already ended"):
        announce(ctx, T0 - 2 * H, T0 - H, "acme")


def test_moving_or_cancelling_a_window_moves_a_running_outages_tier_crossings(ctx, clock):
    """The budget's reminders follow the window as announcing it moves them
    (tests/worker/test_budget.py): an hour excluded ahead puts the 10 % tier an hour later."""
    clock.set(T0)
    ref = declare(ctx)
    assert pending_crossings(ctx, ref) == [FIVE, TEN]
    # Announced two days ago for 11:00–12:00 Copenhagen: enough of Dixa's 24 h notice.
    window = incidents.add_maintenance(
        ctx, title="DB upgrade", starts_at=T0 + H, ends_at=T0 + 2 * H, actor="U1",
        customers=["nordlys"], announced_at=T0 - dt.timedelta(days=2),
    )  # fmt: skip
    assert pending_crossings(ctx, ref) == [FIVE, TEN + H]
    clock.set(T0 + 10 * M)
    # Inside the announced window: its notice stands, half the hour is excluded.
    service.move(ctx, window.ref, starts_at=T0 + H, ends_at=T0 + 90 * M, actor="U3")
    assert pending_crossings(ctx, ref) == [FIVE, TEN + 30 * M]
    service.cancel(ctx, window.ref, actor="U3")
    assert pending_crossings(ctx, ref) == [FIVE, TEN]


def pending_crossings(ctx, ref) -> list[dt.datetime]:
    return [at for at, status in crossing_rows(ctx, ref) if status == "pending"]


def test_a_window_is_upcoming_under_way_ended_called_off_or_cut_short(ctx, clock):
    start = T0 + 30 * H
    window = announce(ctx, start, start + 2 * H, "acme")
    assert [window.state(at) for at in (start - M, start, start + 2 * H)] == [
        WindowState.UPCOMING, WindowState.UNDER_WAY, WindowState.ENDED,
    ]  # fmt: skip
    announce(ctx, start, start + 2 * H, "acme", title="Called off")
    clock.set(start - M)
    assert service.cancel(ctx, "MW-2", actor="U3").state(start) == WindowState.CALLED_OFF
    clock.set(start + M)
    assert service.cancel(ctx, "MW-1", actor="U3").state(start + M) == WindowState.CUT_SHORT
