"""What the digest says, on the fixture history and on hand-made weeks (SQLite and PostgreSQL).

The tests' now is T0 = Fri 2026-11-20 09:00Z. Week 44 of 2026 runs Mon 26 Oct – Sun 1 Nov
in Copenhagen (2026-10-25T23:00Z – 2026-11-01T23:00Z).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from bot.digest.service import make_digest
from bot.digest.text import as_text, summary
from bot.digest.views import Risk
from bot.digest.weeks import parse_week
from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.importer import import_history, read_records
from bot.sla.timers import TimerKind
from bot.slack.digest import digest_message
from tests.conftest import FIXTURES

UTC = dt.UTC
CPH = "Europe/Copenhagen"
W44 = parse_week("2026-W44")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def history(ctx):
    import_history(ctx, *read_records(FIXTURES / "history.json"))


@pytest.fixture
def w44(ctx, history):
    return make_digest(ctx, W44, CPH)


@pytest.fixture
def w47(ctx, history):
    """The running week (16 – 22 November): as of the tests' now."""
    return make_digest(ctx, parse_week("2026-W47"), CPH)


def test_the_weeks_incidents_by_severity(w44):
    assert [(i.severity, i.ref) for i in w44.incidents] == [
        (1, "INC-E"), (2, "INC-H"), (2, "INC-I"), (2, "INC-L"), (3, "INC-G"), (4, "INC-J"),
    ]  # fmt: skip
    assert w44.by_severity() == [(1, 1), (2, 3), (3, 1), (4, 1)]
    assert w44.incidents[0].customers == ("Globex Messaging BV", "Umbrella Telecom")
    assert w44.complete and not w44.quiet


def test_targets_met_and_breached_with_percentages_and_by_how_much(w44):
    # Responses: INC-G (Diplomasafe, 4 business hours from Tue 15:00 CET → Wed 11:00 CET)
    # was acknowledged at 12:30 CET: 1h 30m late. Restores: INC-H (Sev II, 8 h) took 9h 30m;
    # INC-G's contract has no restore target.
    response, restore = w44.tally(TimerKind.RESPONSE), w44.tally(TimerKind.RESTORE)
    assert (response.met, response.breached, response.running) == (5, 1, 0)
    assert response.met_pct == Fraction(500, 6)
    assert (restore.met, restore.breached, restore.judged) == (4, 1, 5)
    assert [(b.ref, b.kind, b.over_by) for b in w44.breaches] == [
        ("INC-H", TimerKind.RESTORE, dt.timedelta(hours=1, minutes=30)),
        ("INC-G", TimerKind.RESPONSE, dt.timedelta(hours=1, minutes=30)),
    ]
    text = as_text(w44)
    assert "Targets: response 5 of 6 met (83.3 %); restore 4 of 5 met (80.0 %)" in text
    assert "INC-G response missed by 1h 30m (4bh business under diplomasafe for initech)" in text


def test_mtta_and_mttr_are_wall_time_means(w44):
    # Acknowledged after 5m, 40m, 20m, 30m, 21h 30m and 52h: 4,505 / 6 minutes.
    assert (w44.mtta, w44.acknowledged) == (dt.timedelta(minutes=4505) / 6, 6)
    # Restored after 50m, 9h 30m, 2h, 3h, 43h and 72h: 7,820 / 6 minutes.
    assert (w44.mttr, w44.restored) == (dt.timedelta(minutes=7820) / 6, 6)
    assert "MTTA 12h 30m (6 acknowledged) · MTTR 21h 43m (6 restored)" in as_text(w44)


def test_customers_at_risk_first_with_budgets_and_money(w47):
    lines = {c.customer: c for c in w47.customers}
    assert [(c.customer, c.risk) for c in w47.customers] == [
        ("umbrella", Risk.MISSED),  # two 28-day refunds this year; 7 h down against 52.56 min
        ("acme", Risk.MISSED),  # November below 99.9 %: 5 %
        ("nordlys", Risk.MISSED),
        # Downtime alone would leave these two on track (24 % and 38 % of what they may take),
        # but each has counted half of what owes a count rule's credit: two of the four
        # severity I failures within 28 days (INC-K, INC-E) that refund Globex a month, and
        # two of the four missed responses (INC-G, INC-M) that cost Initech 1.5 % of the year.
        ("globex", Risk.AT_RISK),  # 2 of 4, and 250 of 1,051.2 minutes; by name at 1/2
        ("initech", Risk.AT_RISK),  # 2 of 4, and 200 of 525.6 minutes
    ]
    globex = lines["globex"]
    assert [(n.counts, n.counted, n.owed_at, n.incidents) for n in globex.counts] == [
        ("severity 1 failures within 28d", 2, 4, ("INC-K", "INC-E")),
        ("severity 2 failures affecting ≥ 25 % of traffic within 28d", 1, 6, ("INC-H",)),
    ]
    (misses,) = lines["initech"].counts
    assert (misses.counted, misses.owed_at, misses.incidents) == (2, 4, ("INC-G", "INC-M"))
    assert (
        "2 of the 4 missed response commitments this year that owe 1.5 % of the annual fee "
        "(INC-G, INC-M)" in as_text(w47)
    )
    acme = lines["acme"]
    # November in New York to now: 120 of 43,260 minutes down (INC-N); 432.6 allowed before
    # the 99 % tier, so 312.6 left; 5 % of 4,000 USD owed, and October's 200 USD to claim.
    assert acme.uptime_pct == Fraction(43_260 - 120, 43_260) * 100
    assert (acme.budget_minutes, acme.next_tier.credit_pct, acme.owed) == (
        Fraction("312.6"), Decimal(10), Decimal("200.00"),
    )  # fmt: skip
    assert acme.used == Fraction(120) / Fraction("432.6")
    assert [(c.amount, c.claim_deadline) for c in acme.claimable] == [
        (Decimal(200), dt.date(2026, 11, 30))
    ]
    assert [c.claim_deadline for c in acme.claims_soon] == [dt.date(2026, 11, 30)]  # within 14 days
    assert lines["initech"].used == Fraction(200) / Fraction("525.6")
    assert w47.totals == (
        ("DKK", Decimal("3000.00")),
        ("EUR", Decimal("10000.00")),
        ("USD", Decimal("400.00")),
    )


def test_a_month_that_closed_during_the_week_shows_its_final_figures(w44):
    closed = {c.customer: c.closed for c in w44.customers if c.closed}
    assert sorted(closed) == ["acme", "nordlys"]  # the yearly contracts did not close
    acme = closed["acme"]  # October in New York ended 1 Nov 04:00Z, inside the week
    assert (acme.name, acme.uptime_pct, acme.met, acme.amount) == (
        "October 2026", Fraction(44_290, 44_640) * 100, False, Decimal("200.00"),
    )  # fmt: skip
    text = as_text(w44)
    assert (
        "October 2026 closed at 99.2159 % (commitment 99.9 % — missed): 200.00 USD owed, claim by Mon 30 Nov 2026"
        in text
    )
    assert (
        "Credits owed (this period and still to claim): 1500.00 DKK, 5000.00 EUR, 400.00 USD"
        in text  # as of the week's end: November's refund and Nordlys's credit came later
    )


def test_a_credit_whose_claim_deadline_passed_that_week_says_expired(ctx, clock, history):
    # Week 49 (30 Nov – 6 Dec), as of Fri 4 December: acme's October credit had to be claimed
    # by Mon 30 November (New York): the digest names it as expired, once.
    clock.set(utc(2026, 12, 4, 15))
    digest = make_digest(ctx, parse_week("2026-W49"), CPH)
    (acme,) = [c for c in digest.customers if c.customer == "acme"]
    assert [(c.amount, c.claim_deadline) for c in acme.lapsed] == [
        (Decimal(200), dt.date(2026, 11, 30))
    ]
    expected = "200.00 USD (October 2026): claim deadline Mon 30 Nov passed (expired)"
    assert expected in as_text(digest)
    assert expected in json.dumps(digest_message(digest).as_kwargs()["blocks"], ensure_ascii=False)


def test_the_notification_text_says_it_in_one_line(w44):
    line = summary(w44)
    assert line == (
        "SLA digest 2026-W44: 6 incidents (Sev 1: 1, Sev 2: 3, Sev 3: 1, Sev 4: 1); 2 targets "
        "breached; 1 open; customers: 2 missed, 1 at risk; owed 1500.00 DKK, 5000.00 EUR, 400.00 USD."
    )
    message = digest_message(w44)
    assert message.text == line and "\n" not in line and len(line) < 250
    assert len(message.blocks) <= 50
    blocks = json.dumps(message.as_kwargs()["blocks"], ensure_ascii=False)
    assert "*INC-E* Voice and SMS both down" in blocks
    assert "🔴 *Umbrella Telecom* (missed)" in blocks


def test_open_incidents_and_their_next_deadlines(ctx, clock, history):
    clock.set(utc(2026, 11, 23, 8, 30))  # Monday 09:30 CET
    ref = service.declare(
        ctx, title="Payments <b>down</b>", severity=1, actor="U1", customers=["umbrella"]
    ).ref
    service.set_slack_card(ctx, ref, channel_id="C0PAY", card_ts=None)
    clock.set(utc(2026, 11, 23, 8, 40))
    digest = make_digest(ctx, parse_week("2026-W48"), CPH)  # the running week
    opened, waiting = digest.open  # the nearest deadline first; no target running last
    assert (opened.ref, waiting.ref, waiting.next) == (ref, "INC-M", None)
    assert (opened.next.kind, opened.next.deadline) == (TimerKind.RESPONSE, utc(2026, 11, 23, 9))
    blocks = json.dumps(digest_message(digest).as_kwargs()["blocks"])
    assert "Payments &lt;b&gt;down&lt;/b&gt;" in blocks and "<#C0PAY>" in blocks
    assert "response due <!date^" in blocks
    assert (
        f"{ref}  Payments <b>down</b> · response due Mon 2026-11-23 10:00 CET (in 20m)"
        in as_text(digest)
    )


def test_a_week_without_incidents_says_so_plainly(ctx, history):
    digest = make_digest(ctx, parse_week("2026-W40"), CPH)
    assert digest.quiet and digest.tallies and digest.breaches == ()
    text = as_text(digest)
    assert "No incidents were declared in 2026-W40." in text and "Targets" not in text
    message = digest_message(digest)
    # As of that week's end (4 October): nothing was open, nobody owed anything yet.
    assert message.text == (
        "SLA digest 2026-W40: no incidents this week; none open; customers on track; nothing owed."
    )
    assert "No incidents were declared in 2026-W40." in json.dumps(message.as_kwargs()["blocks"])


def test_a_past_weeks_digest_is_as_of_that_weeks_end(ctx, clock, history):
    # Week 43 (19 – 25 October, Copenhagen) ends Sun 25 Oct 24:00 CET (23:00Z), asked for on
    # 4 December with history after it. Open then: nothing (INC-K, 00:30–04:00Z on the 25th,
    # was resolved). acme's October to then (New York, to 25 Oct 19:00): INC-A 30 + INC-B 80
    # + INC-K 120 = 230 min of October's 44,640; umbrella's refund was not owed yet (three
    # severity I failures in 28 days: INC-C, INC-D, INC-K). Nothing of November or December.
    clock.set(utc(2026, 12, 4, 15))
    week = parse_week("2026-W43")
    digest = make_digest(ctx, week, CPH)
    assert digest.as_of == week.bounds(CPH)[1] and digest.complete
    assert digest.open == ()
    lines = {c.customer: c for c in digest.customers}
    acme = lines["acme"]
    assert acme.period == "October 2026 to 2026-10-25 19:00 EDT"
    assert acme.downtime == dt.timedelta(minutes=230)
    assert acme.uptime_pct == Fraction(44_640 - 230, 44_640) * 100
    assert acme.claimable == () and acme.lapsed == ()
    umbrella = lines["umbrella"]
    assert umbrella.credits == ()
    (severity_one, _) = umbrella.counts
    assert severity_one.incidents == ("INC-C", "INC-D", "INC-K")
    text = as_text(digest)
    assert "December" not in text and "November 2026" not in text
    # An incident open at a past week's end is listed as it stood then.
    w44 = make_digest(ctx, W44, CPH)  # ends Sun 1 Nov 23:00Z: INC-J (resolved 3 Nov) was open
    assert [o.ref for o in w44.open] == ["INC-J"]


def test_an_empty_database_is_a_plain_quiet_digest(ctx):
    digest = make_digest(ctx, W44, CPH)
    assert digest.quiet and digest.open == () and digest.totals == ()
    assert all(c.risk is Risk.ON_TRACK for c in digest.customers)
    assert (
        summary(digest)
        == "SLA digest 2026-W44: no incidents this week; none open; customers on track; nothing owed."
    )


def test_ordering_puts_missed_then_at_risk_then_on_track(ctx, clock):
    def outage(customer: str, start: dt.datetime, minutes: int) -> None:
        clock.set(start + dt.timedelta(minutes=1))
        ref = service.declare(ctx, title=f"{customer} down", severity=1, actor="U1",
                              customers=[customer], outage=True, started_at=start).ref  # fmt: skip
        clock.set(start + dt.timedelta(minutes=minutes))
        service.restore(ctx, ref, "U1")

    outage("initech", utc(2026, 11, 17, 10), 300)  # 300 of 525.6 minutes a year: 57 %
    outage("acme", utc(2026, 11, 18, 10), 60)  # above November's 43.26: the 5 % tier
    outage("globex", utc(2026, 11, 19, 10), 30)  # 30 of 1,051.2 (99.8 %, no tiers)
    clock.set(utc(2026, 11, 23, 8))
    digest = make_digest(ctx, parse_week("2026-W47"), CPH)
    assert [(c.customer, c.risk) for c in digest.customers] == [
        ("acme", Risk.MISSED), ("initech", Risk.AT_RISK), ("globex", Risk.ON_TRACK),
        ("nordlys", Risk.ON_TRACK), ("umbrella", Risk.ON_TRACK),
    ]  # fmt: skip
    assert digest.customers[1].used == Fraction(300) / Fraction("525.6")
    # 525.6 − 300 = 225.6 minutes; 1,051.2 − 30 = 1,021.2 minutes (cut to the minute).
    assert "3h 45m left before the 2.5 % credit tier (below 99.9 %)" in as_text(digest)
    assert "17h 1m left before the 99.8 % commitment" in as_text(digest)
    assert digest.totals == (("USD", Decimal("200.00")),)
    assert summary(digest).endswith("customers: 1 missed, 1 at risk; owed 200.00 USD.")


def test_a_commitment_without_tiers_says_by_how_much_it_is_missed(ctx, clock):
    start = utc(2026, 11, 17, 10)
    clock.set(start + dt.timedelta(minutes=1))
    ref = service.declare(ctx, title="Globex down", severity=1, actor="U1",
                          customers=["globex"], outage=True, started_at=start).ref  # fmt: skip
    clock.set(start + dt.timedelta(minutes=1100))  # 1,051.2 minutes a year are allowed
    service.restore(ctx, ref, "U1")
    clock.set(utc(2026, 11, 23, 8))
    digest = make_digest(ctx, parse_week("2026-W47"), CPH)
    globex = next(c for c in digest.customers if c.customer == "globex")
    assert globex.risk is Risk.MISSED and globex.limits[0].left == Fraction("-48.8")
    assert "the 99.8 % commitment missed by 48m (no credit tiers)" in as_text(digest)


def test_the_running_week_is_the_week_so_far_and_a_future_week_is_refused(ctx, history):
    running = make_digest(ctx, parse_week("2026-W47"), CPH)
    assert not running.complete and [i.ref for i in running.incidents] == ["INC-N"]
    assert "2026-W47 (16 Nov – 22 Nov 2026, so far)" in as_text(running)
    with pytest.raises(Refusal) as refused:
        make_digest(ctx, parse_week("2026-W49"), CPH)
    assert str(refused.value).startswith("2026-W49 has not begun yet")


def test_at_new_year_the_yearly_contracts_close_too(ctx, clock, history):
    clock.set(utc(2027, 1, 4, 8))  # Monday 4 January 2027, 09:00 CET
    digest = make_digest(ctx, parse_week("2026-W53"), CPH)  # 28 Dec 2026 – 3 Jan 2027
    closed = {c.customer: c.closed for c in digest.customers}
    assert {k: v.name for k, v in closed.items()} == {
        "acme": "December 2026", "nordlys": "December 2026",
        "globex": "2026", "umbrella": "2026", "initech": "2026",
    }  # fmt: skip
    umbrella = closed["umbrella"]
    assert (umbrella.met, umbrella.amount) == (False, Decimal("10000.00"))
    assert "2026 closed at 99.9200 % (commitment 99.99 % — missed): 10000.00 EUR owed" in as_text(
        digest
    )
