"""Money at stake in an incident: the budget before each credit tier as a timer on the card,
its reminders through the outbox and worker, exactly once (docs/semantics.md §6)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.context import Context
from bot.incidents import service
from bot.incidents.corrections import Correction
from bot.reminders import service as reminders
from bot.reports.service import customer_report
from bot.slack.blocks import incident_card, stake_lines
from bot.worker.sources import Reminders
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files
from storage import queries
from storage.models import Reminder
from tests.conftest import T0
from tests.worker.test_worker import make_worker, posted, statuses

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)
US = dt.timedelta(microseconds=1)
# nordlys: Dixa in Copenhagen. November 2026 there has 43,200 minutes: 43 min 12 s of
# downtime before the 5 % tier (uptime below 99.9 %), 432 minutes before the 10 % tier.
FIVE = T0 + dt.timedelta(minutes=43, seconds=12) + US
TEN = T0 + 432 * M + US


def declare(ctx, customers=("nordlys",), channel="C0INC", severity=2, **kwargs):
    view = service.declare(
        ctx, title="Checkout down", severity=severity, actor="U1", customers=customers,
        outage=True, **kwargs,
    )  # fmt: skip
    service.set_slack_card(ctx, view.ref, channel_id=channel, card_ts=None)
    return view.ref


def earlier_outage(ctx, clock, days_ago: int, lasting: dt.timedelta, customers=("nordlys",)):
    """Downtime earlier this month: an outage ``days_ago`` before T0, restored after
    ``lasting``; its ref."""
    clock.set(T0 - dt.timedelta(days=days_ago))
    ref = declare(ctx, customers=customers)
    clock.set(T0 - dt.timedelta(days=days_ago) + lasting)
    service.restore(ctx, ref, "U1")
    return ref


def budget_rows(ctx, ref):
    return [(step, status) for timer, step, status in statuses(ctx, ref) if timer == "budget"]


def budget_posts(slack, since=0):
    return [c.params["text"] for c in posted(slack)[since:] if "tier" in c.params["text"]]


def test_the_card_counts_down_to_the_next_tier_and_counts_earlier_downtime(ctx, clock):
    # 20 minutes down earlier this month: 23 min 12 s are left before the 5 % tier.
    earlier_outage(ctx, clock, days_ago=2, lasting=20 * M)
    clock.set(T0)
    ref = declare(ctx)
    view = service.get(ctx, ref)
    [line] = stake_lines(view)
    assert line.startswith("*nordlys*: 23 min to the 5 % tier (dixa, November 2026) · <!date^")
    assert str(int((FIVE - 20 * M).timestamp())) in line
    text = str(incident_card(view, ctx.contracts).blocks)
    assert "At stake" in text and "EUR" not in text and "DKK" not in text
    # Once restored the incident spends nothing more: the card shows nothing.
    clock.set(T0 + 5 * M)
    assert stake_lines(service.restore(ctx, ref, "U1")) == []


def test_a_customer_without_tiers_shows_nothing_and_an_excluded_outage_burns_no_budget(ctx, clock):
    clock.set(T0)
    assert stake_lines(service.get(ctx, declare(ctx, customers=("umbrella",), severity=3))) == []
    ref = declare(ctx)
    service.mark_excluded(ctx, ref, "customer's own network", "UADMIN")
    assert stake_lines(service.get(ctx, ref)) == []
    assert {status for _, status in budget_rows(ctx, ref)} == {"cancelled"}


def test_a_count_rule_on_the_card_counts_the_incident_with_the_28_days_before_it(ctx, clock):
    for days in (20, 3):
        clock.set(T0 - dt.timedelta(days=days))
        declare(ctx, customers=("globex",), severity=1)
    clock.set(T0)
    ref = declare(ctx, customers=("globex", "nordlys"), severity=1)
    tier, count = stake_lines(service.get(ctx, ref))
    assert tier.startswith("*nordlys*: 43 min to the 5 % tier (dixa, November 2026) · ")
    assert count == "*globex*: 3rd severity 1 failure within 28d: one more refunds the month"


def test_at_most_five_customers_worst_first_and_the_others_counted(ctx, clock):
    clock.set(T0)
    ref = declare(ctx, customers=())  # every customer: acme, nordlys, initech have tiers
    lines = stake_lines(service.get(ctx, ref), limit=2)
    # nordlys (Copenhagen, November: 43,200 min) crosses 5 % before acme (New York,
    # November: 43,260 min); initech's yearly 2.5 % tier is 525.6 minutes away.
    assert [line.split(":")[0] for line in lines] == ["*nordlys*", "*acme*", "and 1 more"]


def test_a_pause_does_not_move_the_budget_and_its_reminders_stay(ctx, clock, slack):
    clock.set(T0)
    ref = declare(ctx)
    before = budget_rows(ctx, ref)
    assert before == [
        ("15m", "pending"), ("15m", "pending"), ("5m", "pending"), ("5m", "pending"),
        ("crossed", "pending"), ("crossed", "pending"),
    ]  # fmt: skip
    clock.set(T0 + 10 * M)
    view = service.pause(ctx, ref, "waiting for the customer's logs", "U1")
    assert budget_rows(ctx, ref) == before  # the contract's timers are silenced, not this
    assert stake_lines(view)[0].startswith("*nordlys*: 33 min to the 5 % tier")
    worker = make_worker(ctx, slack)
    clock.set(FIVE - 15 * M)
    worker.run_once()
    [warning] = budget_posts(slack)
    assert warning == (
        "⏳ INC-1 (Checkout down): nordlys crosses the 5 % tier (dixa, November 2026: uptime "
        "below 99.9 %) in 15 minutes, Fri 2026-11-20 10:43 CET, unless service is restored."
    )


def test_overlapping_outages_cross_at_the_same_instant_announced_in_each_channel(ctx, clock, slack):
    clock.set(T0)
    slack.add_channel("inc-2", id="C0INC2", bot_member=True)
    first = declare(ctx)
    clock.set(T0 + 10 * M)
    second = declare(ctx, channel="C0INC2", started_at=T0 + 5 * M)
    for ref in (first, second):
        line = stake_lines(service.get(ctx, ref))[0]
        assert line.startswith("*nordlys*: 33 min to the 5 % tier")  # counted once
    worker = make_worker(ctx, slack)
    clock.set(FIVE)
    worker.run_once()
    crossed = [
        c for c in posted(slack) if "crossed" in c.params["text"] and "💸" in c.params["text"]
    ]
    assert sorted(c.params["channel"] for c in crossed) == ["C0INC", "C0INC2"]


def test_restoring_before_the_crossing_cancels_its_reminders(ctx, clock, slack):
    clock.set(T0)
    ref = declare(ctx)
    clock.set(T0 + 20 * M)
    service.restore(ctx, ref, "U1")
    assert {status for _, status in budget_rows(ctx, ref)} == {"cancelled"}
    worker = make_worker(ctx, slack)
    clock.set(FIVE + M)
    worker.run_once()
    assert budget_posts(slack) == []


def test_each_budget_reminder_is_posted_once_through_worker_restarts(ctx, clock, slack):
    clock.set(T0)
    ref = declare(ctx)
    clock.set(FIVE)
    claimed = reminders.claim(ctx, "killed-worker")  # claimed at the crossing; then it died
    assert any(d.reminder.step == "crossed" for d in claimed)
    worker = make_worker(ctx, slack)
    assert worker.run_once() == 0  # its lease still holds
    clock.set(FIVE + reminders.LEASE + S)
    worker.run_once()
    again = make_worker(ctx, slack, "w2")  # a restarted worker finds nothing left to post
    clock.set(FIVE + reminders.LEASE + 2 * S)
    again.run_once()
    crossed = [t for t in budget_posts(slack) if t.startswith("💸")]
    assert len(crossed) == 1 and "nordlys crossed the 5 % tier" in crossed[0]
    assert ("crossed", "sent") in budget_rows(ctx, ref)
    # Re-planning after the crossing (any change) keeps it posted once.
    service.post_update(ctx, ref, "still digging", "U1")
    again.run_once()
    assert len([t for t in budget_posts(slack) if t.startswith("💸")]) == 1


# --- the amounts, to managers only ------------------------------------------------------------


def test_managers_hear_the_amount_15_minutes_before_and_at_the_crossing_once_each(
    ctx, clock, slack
):
    for user in ("UM1", "UM2"):
        slack.add_user(user, user.lower())
    clock.set(T0)
    declare(ctx)
    worker = make_worker(ctx, slack, SLABOT_MANAGERS="UM1,UM2")
    clock.set(FIVE - 15 * M)
    worker.run_once()
    # nordlys pays 30,000 DKK a month: the 5 % tier is 1,500.00 DKK more.
    for user in ("UM1", "UM2"):
        [warning] = [m["text"] for m in slack.messages(user)]
        assert warning.startswith(
            "💰 nordlys will owe 1,500.00 DKK more if INC-1 is not restored by "
        )
        assert (
            "(in 15 minutes; the 5 % tier of dixa, November 2026: uptime below 99.9 %)" in warning
        )
    # The channel hears minutes and percentages, never the amount.
    assert not [
        c for c in posted(slack) if c.params["channel"] == "C0INC" and "DKK" in c.params["text"]
    ]
    # The crossing: a worker claims the DM, tells UM1, then dies; the next one tells UM2 only.
    clock.set(FIVE)
    dying = make_worker(ctx, slack, "killed-worker", SLABOT_MANAGERS="UM1")
    [due] = [d for d in reminders.claim(ctx, "killed-worker") if d.reminder.timer == "budget-dm"]
    Reminders().tell_managers(dying, due)  # told UM1; dies before marking it with UM2 listed
    with ctx.db.transaction() as session:  # its claim is left as it was: still claimed
        row = session.get(Reminder, due.reminder.id)
        row.status, row.claimed_by, row.sent_at = "claimed", "killed-worker", None
        row.lease_until = FIVE + reminders.LEASE
    clock.set(FIVE + reminders.LEASE + S)
    worker.run_once()
    make_worker(ctx, slack, "w3", SLABOT_MANAGERS="UM1,UM2").run_once()
    for user in ("UM1", "UM2"):
        texts = [m["text"] for m in slack.messages(user)]
        assert len(texts) == 2, texts
        assert texts[1].startswith("💰 nordlys now owes 1,500.00 DKK more: INC-1 crossed the 5 %")


def test_without_managers_nothing_is_sent_and_the_rows_are_closed(ctx, clock, slack):
    clock.set(T0)
    ref = declare(ctx)
    worker = make_worker(ctx, slack)
    clock.set(FIVE)
    worker.run_once()
    dm_rows = [status for timer, _, status in statuses(ctx, ref) if timer == "budget-dm"]
    # The 5 % tier's two closed unsent (the warning superseded by the crossing, which was
    # dropped); the 10 % tier's two still to come.
    assert sorted(dm_rows) == ["cancelled", "pending", "pending", "superseded"]
    assert not slack.calls_to("conversations.open")


def crossing_rows(ctx, ref):
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted(
            (r.deadline_at, r.status)
            for r in queries.reminders_of(session, incident.id)
            if (r.timer, r.step) == ("budget", "crossed")
        )


def test_announced_maintenance_and_a_corrected_outage_move_a_running_outages_crossings(ctx, clock):
    earlier = earlier_outage(ctx, clock, days_ago=2, lasting=10 * M)
    clock.set(T0)
    ref = declare(ctx)
    assert crossing_rows(ctx, ref) == [(FIVE - 10 * M, "pending"), (TEN - 10 * M, "pending")]
    # Maintenance announced two days ago for 11:00–12:00 (Copenhagen) today: excluded, so
    # the 10 % tier comes an hour later.
    service.add_maintenance(
        ctx, title="DB upgrade", starts_at=T0 + H, ends_at=T0 + 2 * H, actor="U1",
        customers=["nordlys"], announced_at=T0 - dt.timedelta(days=2),
    )  # fmt: skip
    assert crossing_rows(ctx, ref) == [
        (FIVE - 10 * M, "pending"), (TEN - 10 * M, "cancelled"), (TEN - 10 * M + H, "pending"),
    ]  # fmt: skip
    # The earlier outage lasted 20 minutes, not 10: every crossing comes 10 minutes sooner.
    service.correct(
        ctx, earlier, Correction(restored_at=T0 - dt.timedelta(days=2) + 20 * M), "U1",
        reason="restored later than recorded",
    )  # fmt: skip
    pending = [at for at, status in crossing_rows(ctx, ref) if status == "pending"]
    assert pending == [FIVE - 20 * M, TEN - 20 * M + H]


def test_at_the_cards_crossing_the_report_owes_the_tier_and_a_minute_before_it_does_not(ctx, clock):
    earlier_outage(ctx, clock, days_ago=3, lasting=17 * M)
    clock.set(T0)
    ref = declare(ctx, started_at=T0 - 7 * M)
    ahead = service.get(ctx, ref).stakes.tiers[0].ahead
    assert ahead is not None and ahead.at == FIVE - 24 * M

    def owed(at):
        clock.set(at)
        [report] = customer_report(ctx, "2026-11", "nordlys").customers
        return [line.percent for line in report.credits]

    assert owed(ahead.at - M) == [] and owed(ahead.at - US) == []
    assert owed(ahead.at) == [5]


@pytest.fixture
def many(db, clock, tmp_path) -> Context:
    """Seven Dixa customers in Copenhagen, c1 … c7, each with its own earlier downtime (c7
    the most), so an outage of every customer crosses their tiers at seven instants."""
    path = tmp_path / "customers.yaml"
    path.write_text(
        "customers:\n"
        + "".join(
            f"  - {{id: c{k}, name: C{k}, policy: dixa, timezone: Europe/Copenhagen}}\n"
            for k in range(1, 8)
        )
    )
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), path, "dixa")
    ctx = Context(db=db, contracts=contracts, clock=clock)
    for k in range(1, 8):
        earlier_outage(ctx, clock, days_ago=2, lasting=k * M, customers=(f"c{k}",))
    return ctx


def test_only_the_nearest_crossings_are_planned_and_each_notice_brings_the_next(many, clock, slack):
    clock.set(T0)
    ref = declare(many, customers=())
    fives = [FIVE - k * M for k in range(7, 0, -1)]  # c7 first
    assert [at for at, _ in crossing_rows(many, ref)] == fives[:5]
    assert len(stake_lines(service.get(many, ref))) == 6  # five, and "and 2 more"
    worker = make_worker(many, slack)
    clock.set(fives[0])
    worker.run_once()
    assert [p for p in budget_posts(slack) if p.startswith("💸")] == [
        "💸 INC-8 (Checkout down): c7 crossed the 5 % tier (dixa, November 2026: uptime below "
        "99.9 %) Fri 2026-11-20 10:36 CET."
    ]
    assert [at for at, _ in crossing_rows(many, ref)] == fives[:6]  # c2's came into view
