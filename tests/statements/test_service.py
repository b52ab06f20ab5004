"""The statement service, hand-computed for each seed contract, on SQLite and PostgreSQL.

Its figures are ``slabot report``'s, and its details (outages, exclusions, days, responses)
add up to them. The tests' now is T0 = Fri 2026-11-20 09:00Z unless a test moves the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.incidents import service
from bot.reports import statement as statements
from bot.reports.service import customer_report
from bot.reports.statement import StatementMismatch, customer_statement
from bot.sla.credits import CreditKind
from tests.conftest import import_fixture_history
from tests.statements.conftest import import_initech_2026

UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def history(ctx):
    import_fixture_history(ctx)


def daily(statement, index: int = 0) -> dict[int, tuple[Fraction, Fraction]]:
    """Day of the month (customer's zone) → (downtime, excluded), for days with either."""
    chart = statement.charts[index]
    assert chart.unit == "day"
    zone = statement.zone
    return {
        b.start.astimezone(ZoneInfo(zone)).day: (b.downtime, b.excluded)
        for b in chart.bars
        if b.downtime or b.excluded
    }


# --- monthly Dixa --------------------------------------------------------------------------------


def test_dixa_month_outages_exclusions_days_and_credit(ctx, history):
    """Nordlys ApS, Dixa, Copenhagen, 30,000 DKK a month; October 2026 (docs/reports.md).

    Available: October in Copenhagen has 31 × 1,440 + 60 = 44,700 minutes (clocks go back).
    INC-B 12 Oct 13:50–15:10Z = 15:50–17:10 CEST: 80 min. INC-K 25 Oct 00:30–02:30Z =
    02:30 CEST – 03:30 CET: 120 min. INC-I 30 Oct 09:00–11:00Z is marked excluded
    (customer's own network): 120 min excluded, 0 counted. MW-1 (18 Oct 01:00–03:00Z,
    announced 10 Oct: more than the 24 hours Dixa asks) is excluded, but no outage fell in
    it: 0 min. Downtime 80 + 120 = 200; uptime (44,700 − 200) / 44,700 = 99.55257 % → shown
    99.5525 %; below 99.9 %, not below 99.0 %: 5 % × 30,000 = 1,500.00 DKK under §6, to be
    claimed by 31 Oct + 30 days = 30 Nov 2026.
    """
    s = customer_statement(ctx, "2026-10", "nordlys")
    up = s.figures.uptime
    assert (up.available_minutes, up.downtime_minutes, up.excluded_minutes) == (44700, 200, 120)
    assert s.figures.uptime.uptime_pct == Fraction(44500 * 100, 44700)
    assert [(o.ref, o.start, o.end, o.counted, o.excluded_reason) for o in s.outages] == [
        ("INC-B", utc(2026, 10, 12, 13, 50), utc(2026, 10, 12, 15, 10), 80, None),
        ("INC-K", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30), 120, None),
        ("INC-I", utc(2026, 10, 30, 9), utc(2026, 10, 30, 11), 0, "customer's own network"),
    ]
    assert s.outages[1].severity == "Severity 1 — Critical Impact (Code Red)"
    assert [(x.kind, x.ref, x.excluded, x.minutes) for x in s.exclusions] == [
        ("maintenance", "MW-1", True, 0),
        ("outage", "INC-I", True, 120),
    ]
    # One bar per Copenhagen day; 25 October is 25 hours long.
    (chart,) = s.charts
    assert len(chart.bars) == 31
    assert chart.bars[24].end - chart.bars[24].start == dt.timedelta(hours=25)
    assert daily(s) == {12: (80, 0), 25: (120, 0), 30: (0, 120)}
    ((owed),) = s.credits
    assert (owed.line.kind, owed.line.percent, owed.line.amount) == (
        CreditKind.UPTIME, Decimal(5), Decimal(1500),
    )  # fmt: skip
    assert owed.clause == "§6 SLAs and credits"
    assert s.figures.claim_deadline == dt.date(2026, 11, 30)
    assert s.responses is None  # Dixa credits no missed responses


# --- monthly messaging platform, refunded -----------------------------------------------------


def test_messaging_platform_month_with_a_refund(ctx, history):
    """Umbrella Telecom, messaging platform (UTC, yearly uptime), 5,000 EUR a month; asked
    for October 2026, its year to date (as ``slabot report``).

    Outages affecting Umbrella in 2026 up to 31 October: INC-B 80, INC-C 14 Oct 08:00–09:00
    60, INC-D 20 Oct 21:00–22:00 60, INC-K 120, INC-E 27 Oct 07:15–08:05 50 = 370 minutes of
    525,600: 99.92960 % → 99.9296 %, below the 99.99 % commitment, but the contract has no
    uptime credit (§5.1). Severity I failures INC-C, INC-D, INC-K, INC-E are four within the
    28 days ending at INC-E, more than 3: §5.2 (a) refunds October's fee, 5,000.00 EUR. The
    contract names no claim window for refunds.
    """
    s = customer_statement(ctx, "2026-10", "umbrella")
    up = s.figures.uptime
    assert (up.available_minutes, up.downtime_minutes, up.excluded_minutes) == (525600, 370, 0)
    assert s.figures.met is False
    assert [(o.ref, o.counted) for o in s.outages] == [
        ("INC-B", 80), ("INC-C", 60), ("INC-D", 60), ("INC-K", 120), ("INC-E", 50),
    ]  # fmt: skip
    assert (
        s.outages[0].severity
        == "Severity II — messages not delivered or Services unusable for many users"
    )
    # The year month by month (October holds it all), then October day by day.
    months, days = s.charts
    assert (months.unit, len(months.bars), days.unit, len(days.bars)) == ("month", 12, "day", 31)
    assert [b.downtime for b in months.bars] == [0] * 9 + [370, 0, 0]
    assert [b.known for b in months.bars] == [True] * 10 + [False, False]
    assert daily(s, 1) == {12: (80, 0), 14: (60, 0), 20: (60, 0), 25: (120, 0), 27: (50, 0)}
    ((owed),) = s.credits
    assert (owed.line.kind, owed.line.amount, owed.line.claim_deadline) == (
        CreditKind.INCIDENT_COUNT, Decimal(5000), None,
    )  # fmt: skip
    assert owed.line.incidents == ("INC-C", "INC-D", "INC-K", "INC-E")
    assert owed.clause == "§5.2 (a)"
    assert s.figures.claim_deadline is None


# --- yearly Diplomasafe with response misses ----------------------------------------------------


def test_diplomasafe_year_with_response_misses(ctx, history, clock):
    """Initech University, Diplomasafe (Copenhagen, yearly), 18,000 EUR a year; 2026, made
    on 10 January 2027 (tests/statements/conftest.py lists the year).

    Downtime: INC-B 80 + INC-K 120 + DS-4 (180 min, 60 of them in MW-4) 120 + DS-5/DS-6
    (10:00–11:00 and 10:30–12:00: 120, DS-6 counting the 60 after DS-5's) + DS-7 240 = 680.
    DS-2 (150 min) lies wholly in MW-3, announced the day before: excluded. Excluded 150 + 60
    = 210. Uptime (525,600 − 680) / 525,600 = 99.87062 % → 99.8706 %: below 99.9 %, not below
    90 %: 2.5 % × 18,000 = 450.00 EUR. Responses missed (4 business hours): INC-G (5h 30m),
    INC-M (5h 30m), DS-1 (5h 30m), DS-3 (5h over a weekend) = 4, more than 3: 1.5 % × 18,000
    = 270.00 EUR. Owed 720.00 EUR, claim by 31 Dec + 30 days = 30 January 2027.
    """
    import_initech_2026(ctx, clock)
    s = customer_statement(ctx, "2026", "initech")
    up = s.figures.uptime
    assert (up.available_minutes, up.downtime_minutes, up.excluded_minutes) == (525600, 680, 210)
    assert [(o.ref, o.counted) for o in s.outages] == [
        ("DS-2", 0), ("DS-4", 120), ("DS-5", 60), ("DS-6", 60), ("INC-B", 80), ("INC-K", 120),
        ("DS-7", 240),
    ]  # fmt: skip
    notes = {o.ref: o.notes for o in s.outages}
    assert notes["DS-2"] == ("150 min fell in excluded time (MW-3)",)
    assert notes["DS-4"] == ("60 min fell in excluded time (MW-4)",)
    assert notes["DS-6"] == ("30 min overlapped DS-5, counted once",)
    assert [(x.ref, x.excluded, x.minutes) for x in s.exclusions] == [
        ("MW-3", True, 150), ("MW-4", True, 60), ("MW-1", True, 0), ("MW-2", True, 0),
    ]  # fmt: skip
    months = s.charts[0]
    assert len(s.charts) == 1 and months.unit == "month"
    assert [b.downtime for b in months.bars] == [0, 0, 0, 0, 0, 0, 0, 120, 120, 200, 0, 240]
    assert [b.excluded for b in months.bars] == [0, 0, 0, 150, 0, 0, 0, 60, 0, 0, 0, 0]
    responses = {r.ref: r for r in s.responses}
    assert [r for r, line in responses.items() if line.missed] == ["DS-1", "DS-3", "INC-G", "INC-M"]
    assert len(responses) == 11 and s.missed_responses == 4
    ds3 = responses["DS-3"]
    assert (str(ds3.target), ds3.clock, ds3.due, ds3.taken) == (
        "4bh", "business", utc(2026, 6, 15, 9), dt.timedelta(hours=5),
    )  # fmt: skip
    assert responses["DS-2"].missed is False  # Saturday night: answered before Monday 09:00
    assert [(c.line.kind, c.line.amount, c.clause) for c in s.credits] == [
        (CreditKind.UPTIME, Decimal(450), "Uptime Commitment and Uptime Service Credit"),
        (CreditKind.RESPONSE_MISSES, Decimal(270),
         "Response Time Commitment and Response Time Service Credit"),
    ]  # fmt: skip
    assert s.figures.credit_amount == Decimal("720.00")
    assert s.figures.claim_deadline == dt.date(2027, 1, 30)


# --- the same figures as slabot report -------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-10", "2026-11", "2026"])
def test_every_customers_figures_are_the_reports_and_the_details_add_up(ctx, history, period):
    report = {c.customer: c for c in customer_report(ctx, period).customers}
    for customer in report:
        s = customer_statement(ctx, period, customer)
        assert s.figures == report[customer]
        up = s.figures.uptime
        assert sum(o.counted for o in s.outages) == up.downtime_minutes
        assert sum(x.minutes for x in s.exclusions) == up.excluded_minutes
        assert s.charts[0].downtime == up.downtime_minutes
        if len(s.charts) == 2:  # a yearly contract asked for a month: that month, day by day
            month = next(b for b in s.charts[0].bars if b.start == s.charts[1].span[0])
            assert s.charts[1].downtime == month.downtime


def test_an_open_outage_counts_until_now_and_says_so(ctx, history, clock):
    """acme, November 2026 to T0: INC-L's 60 min after New York's midnight (1 Nov 04:00–05:00Z),
    INC-N 60, and an outage open since 08:00Z: 60 more, 180 in all."""
    ref = service.declare(
        ctx, title="Checkout down", severity=1, actor="U1", customers=["acme"], outage=True,
        started_at=utc(2026, 11, 20, 8),
    ).ref  # fmt: skip
    s = customer_statement(ctx, "2026-11", "acme")
    assert s.figures.uptime.downtime_minutes == 180
    (inc_l, _, open_one) = s.outages
    assert inc_l.notes == ("began before the period: counted from the period's start",)
    assert (open_one.ref, open_one.end, open_one.counted) == (ref, None, 60)
    assert open_one.notes == ("still open: counted until now",)
    assert s.figures.is_running


def test_a_window_announced_too_late_excludes_nothing(ctx, history):
    """MW-2 (5 Nov 22:00–23:00Z) was announced two hours ahead: not the 24 hours Dixa asks,
    so an outage in it (22:15–22:45Z) is acme's downtime: INC-L's November hour + INC-N's
    hour + 30 = 150 min. Diplomasafe asks no notice: for initech it is excluded."""
    ref = service.declare(
        ctx, title="Patch broke checkout", severity=1, actor="U1", customers=["acme", "initech"],
        outage=True, started_at=utc(2026, 11, 5, 22, 15),
    ).ref  # fmt: skip
    service.restore(ctx, ref, "U1", at=utc(2026, 11, 5, 22, 45))
    acme = customer_statement(ctx, "2026-11", "acme")
    mw2 = next(x for x in acme.exclusions if x.ref == "MW-2")
    assert (mw2.excluded, mw2.minutes, str(mw2.notice)) == (False, 0, "24h")
    assert acme.figures.uptime.downtime_minutes == 150
    assert next(o for o in acme.outages if o.ref == ref).counted == 30
    initech = customer_statement(ctx, "2026", "initech")
    mw2 = next(x for x in initech.exclusions if x.ref == "MW-2")
    assert (mw2.excluded, mw2.minutes) == (True, 30)
    initech = customer_statement(ctx, "2026", "initech")
    mw2 = next(x for x in initech.exclusions if x.ref == "MW-2")
    assert (mw2.excluded, mw2.minutes) == (True, 30)


def test_a_statement_whose_details_disagree_with_the_report_is_not_made(ctx, history, monkeypatch):
    real = customer_report

    def one_minute_more(*args, **kwargs):
        report = real(*args, **kwargs)
        (figures,) = report.customers
        uptime = replace(figures.uptime, downtime=figures.uptime.downtime + dt.timedelta(minutes=1))
        return replace(report, customers=(replace(figures, uptime=uptime),))

    monkeypatch.setattr(statements, "customer_report", one_minute_more)
    with pytest.raises(StatementMismatch, match="come to 200 min but the report says 201 min"):
        customer_statement(ctx, "2026-10", "nordlys")


@pytest.mark.parametrize(
    ("customer", "period", "says"),
    [
        ("nordlys", "October", "'October' is not a period; write YYYY-MM"),
        ("nordlis", "2026-10", "'nordlis' is not a customer (did you mean 'nordlys'?)"),
        ("acme", "2026-12", "2026-12 has not begun yet in America/New_York"),
    ],
)
def test_a_statement_that_makes_no_sense_is_refused(ctx, customer, period, says):
    with pytest.raises(Refusal) as refused:
        customer_statement(ctx, period, customer)
    assert says in str(refused.value)


def test_a_credit_past_its_claim_deadline_says_expired(ctx, history, clock):
    # Nordlys's October credit (1,500 DKK) had to be claimed by 30 November (Copenhagen).
    # Made on 1 December, the statement says so in its table and its claim line.
    from bot.statements import render, words

    clock.set(utc(2026, 11, 30, 22, 59))  # 30 November, 23:59 in Copenhagen: still in time
    on_time = customer_statement(ctx, "2026-10", "nordlys")
    assert words.claim(on_time) == "Claim by 30 November 2026."
    clock.set(utc(2026, 12, 1, 9))
    late = customer_statement(ctx, "2026-10", "nordlys")
    assert words.claim(late) == "The claim deadline of 30 November 2026 has passed (expired)."
    markdown = render(late, "md").decode()
    assert "| 30 November 2026 (expired) |" in markdown
    assert "claim by 30 November 2026 (expired)" in render(late, "html").decode()
