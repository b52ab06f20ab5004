"""Uptime and credit reports through the service, on SQLite and PostgreSQL, hand-computed.

The tests' now is T0 = Fri 2026-11-20 09:00Z unless a test moves the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import event

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.importer import import_history, read_records
from bot.reports.service import customer_report, uptime_to_date
from bot.sla.credits import CreditKind
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, load_policies, policy_files
from config.policy import Contracts, Customer
from tests.conftest import FIXTURES, T0

UTC = dt.UTC
M = dt.timedelta(minutes=1)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def by_customer(report) -> dict:
    return {c["customer"]: c for c in report.as_json()["customers"]}


def outage(ctx, clock, customer, start, end, *, severity=1, **extra) -> str:
    """An outage of ``customer`` from ``start`` to ``end`` (both before now), declared now."""
    ref = service.declare(
        ctx,
        title=f"{customer} down",
        severity=severity,
        actor="U1",
        customers=[customer],
        outage=True,
        started_at=start,
        **extra,
    ).ref
    if end is not None:
        service.restore(ctx, ref, "U1", at=end)
    return ref


@pytest.fixture
def history(ctx):
    import_history(ctx, *read_records(FIXTURES / "history.json"))


# --- the fixture history, month by month -----------------------------------------------------


def test_october_judges_each_customer_by_its_own_contract_zone_and_fee(ctx, history):
    report = customer_report(ctx, "2026-10")
    assert report.as_json()["period"] == "2026-10"
    customers = by_customer(report)
    assert list(customers) == ["acme", "globex", "initech", "nordlys", "umbrella"]
    # acme — Dixa, monthly, New York: October is 04:00Z – 04:00Z, 31 × 1,440 = 44,640 min.
    # Down: INC-A 30 + INC-B 80 + INC-K 120 + INC-L 120 (1 Nov 02:00–04:00Z is still October
    # in New York) = 350. Uptime 44,290 / 44,640 = 99.21594… % < 99.9 → 5 % × 4,000 = 200 USD.
    # Budget before 99.0 %: 446.4 − 350 = 96.4 min. Claim by 31 Oct + 30 days = 30 Nov.
    assert customers["acme"] == {
        "customer": "acme",
        "name": "Acme Retail Inc.",
        "policy": "dixa",
        "period_start": "2026-10-01T00:00:00-04:00",
        "period_end": "2026-11-01T00:00:00-04:00",
        "available_minutes": 44640.0,
        "downtime_minutes": 350.0,
        "excluded_minutes": 0.0,
        "uptime_pct": 99.2159,
        "commitment_pct": 99.9,
        "met": False,
        "credit_amount": 200.0,
        "currency": "USD",
        "credits": [
            {
                "kind": "uptime",
                "percent": 5.0,
                "amount": 200.0,
                "reason": "uptime 99.2159 % in October 2026 is below 99.9 %: 5 % of the monthly "
                "fee; claim by 2026-11-30",
                "claim_deadline": "2026-11-30",
                "claim_expired": False,
            }
        ],
        "claim_deadline": "2026-11-30",
        "budget_minutes": 96.4,
        "incidents": ["INC-A", "INC-B", "INC-K", "INC-L"],
        "notes": [],
        "counts": [],
    }
    # globex — messaging platform, yearly (year to date through October), UTC, order form
    # commitment 99.8. Down: INC-B 80 + INC-K 120 + INC-E 50 = 250 of 525,600 → 99.95243… %.
    # Refunds: two severity I (INC-K, INC-E) and one severity II ≥ 25 % (INC-H, 40 %): none.
    # No tiers, no claim window.
    assert customers["globex"] == {
        "customer": "globex",
        "name": "Globex Messaging BV",
        "policy": "messaging-platform",
        "period_start": "2026-01-01T00:00:00+00:00",
        "period_end": "2027-01-01T00:00:00+00:00",
        "available_minutes": 525600.0,
        "downtime_minutes": 250.0,
        "excluded_minutes": 0.0,
        "uptime_pct": 99.9524,
        "commitment_pct": 99.8,
        "met": True,
        "credit_amount": 0.0,
        "currency": "EUR",
        "credits": [],
        "claim_deadline": None,
        "budget_minutes": None,
        "incidents": ["INC-B", "INC-K", "INC-E", "INC-H"],
        "notes": [],
        "counts": [],
    }
    # initech — Diplomasafe, yearly, Copenhagen: INC-B 80 + INC-K 120 = 200 → 525,400 / 525,600
    # = 99.96194… %; budget 525.6 − 200 = 325.6. INC-G's response was missed (due Wed 11:00
    # CET, answered 12:30): one miss, not more than three.
    initech = customers["initech"]
    assert (initech["period_start"], initech["period_end"]) == (
        "2026-01-01T00:00:00+01:00",
        "2027-01-01T00:00:00+01:00",
    )
    assert (initech["downtime_minutes"], initech["uptime_pct"], initech["met"]) == (
        200.0,
        99.9619,
        True,
    )
    assert (initech["budget_minutes"], initech["claim_deadline"]) == (325.6, "2027-01-30")
    assert (initech["credits"], initech["incidents"]) == ([], ["INC-B", "INC-K", "INC-G"])
    # nordlys — Dixa in Copenhagen: October has 44,700 minutes. INC-B 80 + INC-K 120 counted;
    # INC-I (customer's VPN, 120) excluded. 44,500 / 44,700 = 99.55257… % → 5 % × 30,000 DKK.
    # Budget before 99.0 %: 447 − 200 = 247.
    nordlys = customers["nordlys"]
    assert (
        nordlys["available_minutes"],
        nordlys["downtime_minutes"],
        nordlys["excluded_minutes"],
        nordlys["uptime_pct"],
    ) == (44700.0, 200.0, 120.0, 99.5525)
    assert (nordlys["credit_amount"], nordlys["currency"], nordlys["budget_minutes"]) == (
        1500.0,
        "DKK",
        247.0,
    )
    assert nordlys["incidents"] == ["INC-B", "INC-K"]
    # umbrella — messaging platform, 5,000 EUR a month. Down 80 + 60 + 60 + 120 + 50 = 370 →
    # 525,230 / 525,600 = 99.92960… % < 99.99: not met, but no tiers. Severity I on 14, 20, 25
    # and 27 October: the 28 days ending at INC-E hold 4 > 3 → October's fee refunded.
    umbrella = customers["umbrella"]
    assert (umbrella["uptime_pct"], umbrella["met"], umbrella["credit_amount"]) == (
        99.9296,
        False,
        5000.0,
    )
    assert umbrella["credits"] == [
        {
            "kind": "incident_count",
            "percent": 100.0,
            "amount": 5000.0,
            "reason": "4 severity 1 failures within 28d up to INC-E (2026-10-27 07:15 UTC), more "
            "than 3: INC-C, INC-D, INC-K, INC-E; refund of 100 % of the October 2026 monthly fee",
            "claim_deadline": None,  # the contract names no claim window for refunds
            "claim_expired": False,
        }
    ]


def test_an_incident_across_the_month_boundary_splits_in_the_customers_zone(ctx, history):
    # INC-L, 1 Nov 02:00–05:00Z, for acme in New York (EDT until 06:00Z): 120 minutes belong
    # to October (checked above), the last 60 to November. With INC-N (60) November so far has
    # 120 down of 43,260 (30 days + the hour New York gains on 1 Nov): 99.72260… % → 5 %.
    # Budget before 99.0 %: 432.6 − 120 = 312.6. Claim by 30 Nov + 30 = 30 Dec.
    acme = by_customer(customer_report(ctx, "2026-11", "acme"))["acme"]
    assert (acme["available_minutes"], acme["downtime_minutes"], acme["uptime_pct"]) == (
        43260.0,
        120.0,
        99.7226,
    )
    assert (acme["budget_minutes"], acme["claim_deadline"]) == (312.6, "2026-12-30")
    assert acme["incidents"] == ["INC-L", "INC-N"]


def test_a_monthly_contract_asked_for_a_year_sums_its_months(ctx, history):
    # acme's year (New York): 525,600 minutes, 350 + 120 = 470 down → 99.91057… %. October and
    # November each owe 5 % of 4,000: 400 USD. Not met (two months missed). Budget and claim
    # deadline are November's, the month still running.
    acme = by_customer(customer_report(ctx, "2026", "acme"))["acme"]
    assert (acme["available_minutes"], acme["downtime_minutes"], acme["uptime_pct"]) == (
        525600.0,
        470.0,
        99.9105,
    )
    assert (acme["met"], acme["credit_amount"], acme["budget_minutes"]) == (False, 400.0, 312.6)
    assert [c["amount"] for c in acme["credits"]] == [200.0, 200.0]
    assert acme["claim_deadline"] == "2026-12-30"


def test_a_yearly_contract_asked_for_a_month_shows_its_year_to_date(ctx, history):
    # umbrella in November: the year to now. INC-F (2 Nov, 50 min) adds to 370 → 420;
    # 525,180 / 525,600 = 99.92009… %. INC-F is a fifth severity I within 28 days of INC-C:
    # November is refunded too → 10,000 EUR for the year so far.
    november = by_customer(customer_report(ctx, "2026-11", "umbrella"))["umbrella"]
    year = by_customer(customer_report(ctx, "2026", "umbrella"))["umbrella"]
    assert november == year
    assert (year["downtime_minutes"], year["uptime_pct"], year["credit_amount"]) == (
        420.0,
        99.92,
        10000.0,
    )
    assert [c["reason"].split(" (")[0] for c in year["credits"]] == [
        "4 severity 1 failures within 28d up to INC-E",
        "5 severity 1 failures within 28d up to INC-F",
    ]
    # Asked for September, the year to date stops at 30 September: nothing yet.
    september = by_customer(customer_report(ctx, "2026-09", "umbrella"))["umbrella"]
    assert (september["downtime_minutes"], september["credits"]) == (0.0, [])


# --- the rules, one by one ------------------------------------------------------------------------


def test_overlapping_incidents_count_once(ctx, clock):
    # nordlys (Copenhagen, November = 43,200 min): 09:00–10:00Z and 09:30–11:00Z on 10 Nov are
    # 09:00–11:00 = 120 minutes down, not 60 + 90 = 150. 43,080 / 43,200 = 99.72222… % → 5 %
    # of 30,000 = 1,500 DKK; budget before 99.0 %: 432 − 120 = 312.
    outage(ctx, clock, "nordlys", utc(2026, 11, 10, 9), utc(2026, 11, 10, 10))
    outage(ctx, clock, "nordlys", utc(2026, 11, 10, 9, 30), utc(2026, 11, 10, 11))
    nordlys = by_customer(customer_report(ctx, "2026-11", "nordlys"))["nordlys"]
    assert (nordlys["downtime_minutes"], nordlys["uptime_pct"]) == (120.0, 99.7222)
    assert (nordlys["credit_amount"], nordlys["budget_minutes"]) == (1500.0, 312.0)
    assert nordlys["incidents"] == ["INC-1", "INC-2"]


def test_maintenance_announced_with_too_little_notice_is_not_excluded(ctx, clock):
    # Dixa needs 24 h notice. Window A (12 Nov 22–23Z) announced 23 h ahead: its outage
    # (60 min) counts. Window B (13 Nov 22–23Z) announced exactly 24 h ahead: of its outage
    # 22:00–23:30Z, 60 min are excluded and 30 count. Down 90, excluded 60 of 43,200:
    # 99.79166… %; budget before 99.0 %: 432 − 90 = 342.
    service.add_maintenance(ctx, title="A", starts_at=utc(2026, 11, 12, 22), ends_at=utc(2026, 11, 12, 23),
                            actor="U1", customers=["nordlys"], announced_at=utc(2026, 11, 11, 23))  # fmt: skip
    service.add_maintenance(ctx, title="B", starts_at=utc(2026, 11, 13, 22), ends_at=utc(2026, 11, 13, 23),
                            actor="U1", announced_at=utc(2026, 11, 12, 22))  # fmt: skip
    outage(ctx, clock, "nordlys", utc(2026, 11, 12, 22), utc(2026, 11, 12, 23))
    outage(ctx, clock, "nordlys", utc(2026, 11, 13, 22), utc(2026, 11, 13, 23, 30))
    nordlys = by_customer(customer_report(ctx, "2026-11", "nordlys"))["nordlys"]
    assert (nordlys["downtime_minutes"], nordlys["excluded_minutes"]) == (90.0, 60.0)
    assert (nordlys["uptime_pct"], nordlys["budget_minutes"]) == (99.7916, 342.0)


def test_maintenance_for_other_customers_does_not_exclude_anything(ctx, clock):
    # A well-announced window that names acme only does not excuse nordlys's outage.
    service.add_maintenance(ctx, title="acme only", starts_at=utc(2026, 11, 13, 22),
                            ends_at=utc(2026, 11, 13, 23), actor="U1", customers=["acme"],
                            announced_at=utc(2026, 11, 1))  # fmt: skip
    outage(ctx, clock, "nordlys", utc(2026, 11, 13, 22), utc(2026, 11, 13, 23))
    nordlys = by_customer(customer_report(ctx, "2026-11", "nordlys"))["nordlys"]
    assert (nordlys["downtime_minutes"], nordlys["excluded_minutes"]) == (60.0, 0.0)


def test_an_outage_marked_excluded_is_not_downtime(ctx, clock):
    # acme (New York, November = 43,260 min): 90 minutes on 12 Nov, then marked as the
    # customer's own network: 0 down, 90 excluded, uptime 100 %, budget 43.26 before 99.9 %.
    ref = outage(ctx, clock, "acme", utc(2026, 11, 12, 14), utc(2026, 11, 12, 15, 30))
    acme = by_customer(customer_report(ctx, "2026-11", "acme"))["acme"]
    assert (acme["downtime_minutes"], acme["credit_amount"]) == (90.0, 200.0)  # 99.7919… % → 5 %
    service.mark_excluded(ctx, ref, "customer's own network", "U1")
    acme = by_customer(customer_report(ctx, "2026-11", "acme"))["acme"]
    assert (acme["downtime_minutes"], acme["excluded_minutes"], acme["uptime_pct"]) == (
        0.0,
        90.0,
        100.0,
    )
    assert (acme["credits"], acme["budget_minutes"], acme["incidents"]) == ([], 43.26, [])


def test_an_open_incident_counts_until_now(ctx, clock):
    # acme down since 08:00Z, open at T0 = 09:00Z: 60 min of November's 43,260 →
    # 43,200 / 43,260 = 99.86130… %. Half an hour later: 90 min → 99.79195… %.
    outage(ctx, clock, "acme", utc(2026, 11, 20, 8), None)
    acme = by_customer(customer_report(ctx, "2026-11", "acme"))["acme"]
    assert (acme["downtime_minutes"], acme["uptime_pct"], acme["available_minutes"]) == (
        60.0,
        99.8613,
        43260.0,
    )
    clock.advance(minutes=30)
    acme = by_customer(customer_report(ctx, "2026-11", "acme"))["acme"]
    assert (acme["downtime_minutes"], acme["uptime_pct"]) == (90.0, 99.7919)


def test_response_misses_follow_the_customers_calendar_with_its_holidays(ctx, clock):
    # initech (Diplomasafe: 4 business hours, 09–17 Copenhagen, Danish holidays).
    # H: Wed 13 May 15:00 CEST, answered Thu 14 May 12:00 CEST. Thursday is Ascension Day, so
    #    it is due Fri 11:00: met (without holidays it would be a miss).
    clock.set(utc(2026, 5, 13, 13))
    service.declare(ctx, title="H", severity=1, actor="U1", customers=["initech"])
    clock.set(utc(2026, 5, 14, 10))
    service.acknowledge(ctx, "INC-1", "U1")
    # R1–R3: Mon–Wed 2–4 Nov, 09:00 CET, due 13:00 CET (12:00Z), answered late. R4: Thu 5 Nov
    # 09:00 CET, never answered, still open now: missed. P: Mon 9 Nov 09:00 CET, paused
    # 10:00–12:00 CET → due 15:00 CET, answered 14:00 CET: met.
    answers = {2: utc(2026, 11, 2, 12, 30), 3: utc(2026, 11, 3, 13), 4: utc(2026, 11, 4, 12, 1)}
    for day in (2, 3, 4, 5):
        clock.set(utc(2026, 11, day, 8))
        ref = service.declare(
            ctx, title=f"R{day}", severity=1, actor="U1", customers=["initech"]
        ).ref
        if day in answers:
            clock.set(answers[day])
            service.acknowledge(ctx, ref, "U1")
    clock.set(utc(2026, 11, 9, 8))
    paused = service.declare(ctx, title="P", severity=1, actor="U1", customers=["initech"]).ref
    clock.set(utc(2026, 11, 9, 9))
    service.pause(ctx, paused, "waiting for the customer's logs", "U1")
    clock.set(utc(2026, 11, 9, 11))
    service.resume(ctx, paused, "U1")
    clock.set(utc(2026, 11, 9, 13))
    service.acknowledge(ctx, paused, "U1")
    clock.set(T0)
    # Four misses (INC-2 … INC-5) are more than three: 1.5 % of 18,000 = 270 EUR.
    initech = by_customer(customer_report(ctx, "2026", "initech"))["initech"]
    assert initech["incidents"] == ["INC-2", "INC-3", "INC-4", "INC-5"]
    assert initech["credits"] == [
        {
            "kind": "response_misses",
            "percent": 1.5,
            "amount": 270.0,
            "reason": "4 response commitments missed in 2026, more than 3: INC-2, INC-3, INC-4, "
            "INC-5; 1.5 % of the annual fee; claim by 2027-01-30",
            "claim_deadline": "2027-01-30",
            "claim_expired": False,
        }
    ]
    # Through October the year had none of them.
    october = by_customer(customer_report(ctx, "2026-10", "initech"))["initech"]
    assert (october["incidents"], october["credits"]) == ([], [])


def test_severity_two_refunds_count_only_failures_with_enough_impact(ctx, clock):
    # umbrella: six severity II failures in November, one at 20 % impact: five count, not
    # more than five. A sixth at 25 % makes six → November refunded (5,000 EUR).
    for day, impact in ((2, 30), (3, 50), (4, 25), (5, 100), (6, 20), (9, 40)):
        outage(ctx, clock, "umbrella", utc(2026, 11, day, 10), utc(2026, 11, day, 10, 10),
               severity=2, impact_pct=impact)  # fmt: skip
    umbrella = by_customer(customer_report(ctx, "2026-11", "umbrella"))["umbrella"]
    assert umbrella["credits"] == []
    outage(ctx, clock, "umbrella", utc(2026, 11, 10, 10), utc(2026, 11, 10, 10, 10), severity=2,
           impact_pct=25)  # fmt: skip
    umbrella = by_customer(customer_report(ctx, "2026-11", "umbrella"))["umbrella"]
    assert [(c["kind"], c["amount"]) for c in umbrella["credits"]] == [("incident_count", 5000.0)]


def test_a_running_period_says_how_near_each_count_rule_is_to_its_credit(ctx, history):
    # As of 20 Nov: globex's 28 days (23 Oct, 20 Nov] hold INC-K and INC-E (severity I) and
    # INC-H (severity II, 40 %); initech has missed two responses this year (INC-G, INC-M).
    report = customer_report(ctx, "2026-11")
    customers = by_customer(report)
    assert customers["globex"]["counts"] == [
        {
            "kind": "incident_count", "counts": "severity 1 failures within 28d",
            "counted": 2, "owed_at": 4, "credit": "a refund of 100 % of the monthly fee",
            "incidents": ["INC-K", "INC-E"],
        },
        {
            "kind": "incident_count",
            "counts": "severity 2 failures affecting ≥ 25 % of traffic within 28d",
            "counted": 1, "owed_at": 6, "credit": "a refund of 100 % of the monthly fee",
            "incidents": ["INC-H"],
        },
    ]  # fmt: skip
    assert [(n["counted"], n["owed_at"]) for n in customers["initech"]["counts"]] == [(2, 4)]
    assert customers["acme"]["counts"] == []  # Dixa counts nothing
    text = report.as_text()
    assert (
        "- initech: 2 of the 4 missed response commitments this year that owe 1.5 % of the "
        "annual fee (INC-G, INC-M) so far" in text
    )
    # A period that has closed stands nowhere: what it owes is in its credits.
    assert all(c["counts"] == [] for c in by_customer(customer_report(ctx, "2026-10")).values())


def test_a_customers_order_form_overrides_its_policy(db, clock, tmp_path):
    # An order form giving a Dixa customer a stricter table: below 99.95 % → 10 %, and 60
    # days to claim. 30 min down in November (Copenhagen, 43,200 min): 99.93055… % — above
    # Dixa's 99.9 % (no credit there) but below 99.95 % → 10 % of 1,000 EUR = 100 EUR.
    # Claim by 30 Nov + 60 days = 29 January 2027. Budget: none left (the only tier is gone).
    customers = tmp_path / "customers.yaml"
    customers.write_text(
        "customers:\n"
        "  - {id: strict, name: Strict ApS, policy: dixa, timezone: Europe/Copenhagen,\n"
        "     fee: {amount: 1000, currency: EUR, per: month},\n"
        "     overrides: {uptime: {commitment: 99.95, claim_window: 60d,\n"
        "                          credits: [{below: 99.95, percent: 10}]}}}\n"
        "  - {id: plain, name: Plain ApS, policy: dixa, timezone: Europe/Copenhagen,\n"
        "     fee: {amount: 1000, currency: EUR, per: month}}\n"
    )
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers, None)
    ctx = Context(db=db, contracts=contracts, clock=clock)
    ref = service.declare(ctx, title="down", severity=1, actor="U1", outage=True,
                          started_at=utc(2026, 11, 10, 9)).ref  # fmt: skip
    service.restore(ctx, ref, "U1", at=utc(2026, 11, 10, 9, 30))
    report = by_customer(customer_report(ctx, "2026-11"))
    strict, plain = report["strict"], report["plain"]
    assert (strict["uptime_pct"], strict["commitment_pct"], strict["met"]) == (
        99.9305,
        99.95,
        False,
    )
    assert (strict["credit_amount"], strict["claim_deadline"], strict["budget_minutes"]) == (
        100.0,
        "2027-01-29",
        None,
    )
    # The same outage under the plain Dixa policy: met, nothing owed, 43.2 − 30 = 13.2 left.
    assert (plain["met"], plain["credit_amount"], plain["budget_minutes"]) == (True, 0.0, 13.2)


def test_a_policy_without_uptime_is_reported_with_nulls_and_says_so(db, clock):
    # A NOC-only contract: the messaging platform's refunds, no uptime section; no fee on file.
    # Four severity I in November → a refund whose amount cannot be known.
    policies = load_policies(policy_files(SHIPPED_POLICIES_DIR))
    noc = policies["messaging-platform"].model_copy(update={"id": "noc-only", "uptime": None})
    hooli = Customer(id="hooli", name="Hooli", policy=noc, timezone=None, fee=None)
    contracts = Contracts(policies={"noc-only": noc}, customers={"hooli": hooli})
    ctx = Context(db=db, contracts=contracts, clock=clock)
    for day in (2, 5, 9, 12):
        ref = service.declare(ctx, title="down", severity=1, actor="U1", customers=["hooli"],
                              started_at=utc(2026, 11, day, 10)).ref  # fmt: skip
        service.restore(ctx, ref, "U1", at=utc(2026, 11, day, 11))
    report = customer_report(ctx, "2026-11")
    hooli_json = by_customer(report)["hooli"]
    assert {k: hooli_json[k] for k in ("available_minutes", "downtime_minutes", "excluded_minutes",
                                        "uptime_pct", "commitment_pct", "met", "budget_minutes",
                                        "credit_amount", "currency", "claim_deadline")} == dict.fromkeys(
        ("available_minutes", "downtime_minutes", "excluded_minutes", "uptime_pct",
         "commitment_pct", "met", "budget_minutes", "credit_amount", "currency", "claim_deadline"))  # fmt: skip
    assert [(c["kind"], c["percent"], c["amount"]) for c in hooli_json["credits"]] == [
        ("incident_count", 100.0, None)
    ]
    # The month asked for is the customer's calendar month (UTC here).
    assert (hooli_json["period_start"], hooli_json["period_end"]) == (
        "2026-11-01T00:00:00+00:00",
        "2026-12-01T00:00:00+00:00",
    )
    notes = report.customers[0].notes
    assert notes == (
        "the noc-only policy has no uptime section: uptime is not measured",
        "no fee on file for this customer: credits are percentages only",
    )
    assert "uptime is not measured" in report.as_text()


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-13", "Oct 2026", "26-10", "2026/10", "", "2026-1"])
def test_a_malformed_period_is_refused_with_what_is_accepted(ctx, period):
    with pytest.raises(Refusal, match=r"YYYY-MM for a month \(e\.g\. 2026-10\) or YYYY"):
        customer_report(ctx, period)


def test_a_period_that_has_not_begun_is_refused(ctx):
    with pytest.raises(Refusal, match="2026-12 has not begun yet"):
        customer_report(ctx, "2026-12")


def test_an_unknown_customer_is_refused_with_the_closest_id(ctx):
    with pytest.raises(Refusal, match=r"'acmee' is not a customer \(did you mean 'acme'\?\)"):
        customer_report(ctx, "2026-10", "acmee")


def test_a_customer_can_be_named_by_its_name(ctx, history):
    report = customer_report(ctx, "2026-10", "Nordlys ApS")
    assert [c.customer for c in report.customers] == ["nordlys"]
    # The same figures as by its id, including the incidents that name it (INC-I, excluded).
    assert (
        report.as_json()["customers"]
        == customer_report(ctx, "2026-10", "nordlys").as_json()["customers"]
    )
    assert report.customers[0].uptime.excluded_minutes == 120


# --- how it reads ---------------------------------------------------------------------------------


def test_a_report_reads_with_the_same_number_of_queries_however_many_incidents(ctx, clock):
    def statements() -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(ctx.db.engine, "before_cursor_execute", count)
        try:
            customer_report(ctx, "2026-11")
        finally:
            event.remove(ctx.db.engine, "before_cursor_execute", count)
        return len(seen)

    def window(day: int, customer: str) -> None:
        service.add_maintenance(ctx, title="x", starts_at=utc(2026, 11, day, 1),
                                ends_at=utc(2026, 11, day, 2), actor="U1", customers=[customer],
                                announced_at=utc(2026, 11, 1))  # fmt: skip

    outage(ctx, clock, "acme", utc(2026, 11, 2, 9), utc(2026, 11, 2, 10))
    window(2, "acme")
    few = statements()
    for day in range(3, 15):
        outage(ctx, clock, "nordlys", utc(2026, 11, day, 9), utc(2026, 11, day, 10))
        outage(ctx, clock, "initech", utc(2026, 11, day, 11), utc(2026, 11, day, 12))
        window(day, "nordlys")
    assert statements() == few


def test_standings_to_date_show_the_running_period_and_credits_still_to_claim(ctx, history):
    standings = {s.customer: s for s in uptime_to_date(ctx)}
    assert list(standings) == ["acme", "globex", "initech", "nordlys", "umbrella"]
    # acme: November so far (as computed above): 99.72260… %, 200 USD, 312.6 min left; October's
    # 200 USD can still be claimed until 30 November.
    acme = standings["acme"]
    assert acme.uptime_pct == Fraction(43_260 - 120, 43_260) * 100
    assert (acme.commitment_pct, acme.met) == (Decimal("99.9"), False)
    assert (acme.budget_minutes, acme.credit_amount, acme.currency) == (
        Fraction("312.6"),
        Decimal("200.00"),
        "USD",
    )
    assert [(c.kind, c.amount, c.claim_deadline) for c in acme.claimable] == [
        (CreditKind.UPTIME, Decimal(200), dt.date(2026, 11, 30))
    ]
    assert acme.claim_deadlines == (dt.date(2026, 11, 30), dt.date(2026, 12, 30))
    # umbrella: the year so far, two refunds; nothing from 2025.
    umbrella = standings["umbrella"]
    assert (umbrella.credit_amount, umbrella.claimable, umbrella.claim_deadlines) == (
        Decimal("10000.00"),
        (),
        (),
    )
    # On 1 December October's credit can no longer be claimed; November's (200 USD) can,
    # until 30 December.
    december = {s.customer: s for s in uptime_to_date(ctx, utc(2026, 12, 1, 12))}
    assert [(c.amount, c.claim_deadline) for c in december["acme"].claimable] == [
        (Decimal(200), dt.date(2026, 12, 30))
    ]
    assert december["acme"].claimable_amount == Decimal("200.00")
    # On 31 December November's window has closed too (New York's 31 December).
    new_years_eve = {s.customer: s for s in uptime_to_date(ctx, utc(2026, 12, 31, 12))}
    assert (new_years_eve["acme"].claimable, new_years_eve["acme"].claim_deadlines) == (
        (),
        (dt.date(2027, 1, 30),),
    )
    # A yearly contract's month so far: umbrella's November (UTC) is INC-F's 50 minutes.
    assert umbrella.month_to_date.downtime == 50 * M
    assert umbrella.month_to_date.uptime_pct == Fraction(43_200 - 50, 43_200) * 100


def test_each_credit_carries_its_own_claim_deadline_and_says_expired_once_past(ctx, clock, history):
    # On Fri 4 December (New York) October's credit had to be claimed by 30 November:
    # expired; November's runs to 30 December. A year's report lists each with its own.
    clock.set(utc(2026, 12, 4, 15))
    october = customer_report(ctx, "2026-10", "acme")
    (line,) = october.as_json()["customers"][0]["credits"]
    assert (line["claim_deadline"], line["claim_expired"]) == ("2026-11-30", True)
    assert line["reason"].endswith("fee; claim by 2026-11-30 (expired)")
    text = october.as_text()
    assert "claim by 2026-11-30 (expired) = 200.00 USD" in text
    assert "2026-11-30 (expired)" in text.splitlines()[4]  # the table's "claim by" column
    row = next(csv.DictReader(io.StringIO(october.as_csv())))
    assert (row["claim_deadline"], row["claims_expired"]) == ("2026-11-30", "1")
    assert row["credits"].endswith("claim by 2026-11-30 (expired) = 200.00 USD")
    year = customer_report(ctx, "2026", "acme")
    credits = year.as_json()["customers"][0]["credits"]
    assert [(c["claim_deadline"], c["claim_expired"]) for c in credits] == [
        ("2026-11-30", True),
        ("2026-12-30", False),
    ]
    # The column names the first deadline still open, not the year's.
    assert "2026-12-30" in year.as_text().splitlines()[4]
    assert "claim by 2026-12-30 = 200.00 USD" in year.as_text()
    assert next(csv.DictReader(io.StringIO(year.as_csv())))["claims_expired"] == "1"
    # On 30 November itself October's claim is still in time (New York's day).
    clock.set(utc(2026, 12, 1, 4, 59))
    assert (
        customer_report(ctx, "2026-10", "acme").as_json()["customers"][0]["credits"][0][
            "claim_expired"
        ]
        is False
    )


def test_an_expired_claim_is_named_once_by_the_standing_of_the_week_after(ctx, history):
    # On 4 December October's claim (30 November) has lapsed within the week: named;
    # on 8 December it is more than a week ago: no longer.
    december = {s.customer: s for s in uptime_to_date(ctx, utc(2026, 12, 4, 12))}
    assert [(c.amount, c.claim_deadline) for c in december["acme"].lapsed] == [
        (Decimal(200), dt.date(2026, 11, 30))
    ]
    later = {s.customer: s for s in uptime_to_date(ctx, utc(2026, 12, 8, 12))}
    assert later["acme"].lapsed == ()


def test_a_report_as_text_names_the_period_and_what_is_owed(ctx, history):
    text = customer_report(ctx, "2026-10").as_text()
    assert "Uptime and credits for 2026-10" in text
    assert "acme      dixa                October 2026" in text
    assert "99.2159 %" in text and "200.00 USD" in text and "2026-11-30" in text
    assert "2026 through 2026-10-31" in text  # the yearly contracts' year to date
    assert "- umbrella: 4 severity 1 failures" in text and "monthly fee = 5,000.00 EUR" in text
    # The budget says which tier it is before; the totals are per currency.
    assert "1h 36m to the 10 % tier" in text and "5h 25m to the 2.5 % tier" in text
    assert "Owed in total: 1,500.00 DKK + 5,000.00 EUR + 200.00 USD." in text
    # nordlys's VPN outage (INC-I, 2 hours) was excluded: the text says so.
    assert "- nordlys: 2h of outage excluded" in text


def test_imported_maintenance_is_excluded_under_each_contracts_own_notice(ctx):
    # Imported history (now is T0 = 20 Nov). MW-X for acme and initech, announced 2 h ahead;
    # MW-Y for everyone, announced 4 days ahead. Two outages: 12 Nov 22:00–23:30Z for acme and
    # initech, and 14 Nov 00:30–02:00Z for everyone.
    maintenance = [
        {"ref": "MW-X", "title": "Emergency patch", "start": "2026-11-12T22:00:00Z",
         "end": "2026-11-12T23:00:00Z", "announced_at": "2026-11-12T20:00:00Z",
         "customers": ["acme", "initech"]},
        {"ref": "MW-Y", "title": "Network upgrade", "start": "2026-11-14T01:00:00Z",
         "end": "2026-11-14T03:00:00Z", "announced_at": "2026-11-10T09:00:00Z"},
    ]  # fmt: skip
    incidents = [
        {"ref": "O-1", "title": "Patch went wrong", "severity": 1, "outage": True,
         "declared_at": "2026-11-12T22:00:00Z", "restored_at": "2026-11-12T23:30:00Z",
         "customers": ["acme", "initech"]},
        {"ref": "O-2", "title": "Core network", "severity": 1, "outage": True,
         "declared_at": "2026-11-14T00:30:00Z", "restored_at": "2026-11-14T02:00:00Z"},
    ]  # fmt: skip
    summary = import_history(ctx, incidents, maintenance)
    assert summary.maintenance == 2
    customers = by_customer(customer_report(ctx, "2026-11"))
    # acme (Dixa, 24 h notice): MW-X came too late, so O-1 counts whole (90); of O-2, 30 minutes
    # fall before MW-Y and 60 inside it. Down 120, excluded 60.
    acme = customers["acme"]
    assert (acme["downtime_minutes"], acme["excluded_minutes"]) == (120.0, 60.0)
    assert acme["incidents"] == ["O-1", "O-2"]
    # initech (Diplomasafe: scheduled means announced before it starts): MW-X is excluded too,
    # so O-1 leaves 23:00–23:30 (30) and O-2 30. Down 60, excluded 120 (its year to date).
    initech = customers["initech"]
    assert (initech["downtime_minutes"], initech["excluded_minutes"]) == (60.0, 120.0)
    # nordlys is not named by MW-X nor O-1: only O-2, 30 down and 60 excluded.
    nordlys = customers["nordlys"]
    assert (nordlys["downtime_minutes"], nordlys["excluded_minutes"]) == (30.0, 60.0)


def test_credit_amount_is_every_kind_owed_for_the_period_together(ctx, clock):
    # initech (Diplomasafe, 18,000 EUR a year): four responses missed in November (each
    # declared 09:00 CET on a weekday, never answered: due 13:00 CET) → 1.5 % = 270; and one
    # outage of 10 hours (600 min) → 525,000 / 525,600 = 99.88584… % < 99.9 → 2.5 % = 450.
    # The year owes 720 EUR, the two lines add up to it.
    for day in (2, 3, 4, 5):
        clock.set(utc(2026, 11, day, 8))
        service.declare(ctx, title=f"R{day}", severity=1, actor="U1", customers=["initech"])
    clock.set(T0)
    outage(ctx, clock, "initech", utc(2026, 11, 10, 8), utc(2026, 11, 10, 18))
    initech = by_customer(customer_report(ctx, "2026", "initech"))["initech"]
    assert [(c["kind"], c["amount"]) for c in initech["credits"]] == [
        ("uptime", 450.0),
        ("response_misses", 270.0),
    ]
    assert initech["credit_amount"] == 720.0
    assert initech["uptime_pct"] == 99.8858
    # Asked for November, a yearly contract shows the same year to date.
    assert by_customer(customer_report(ctx, "2026-11", "initech"))["initech"] == initech


def test_csv_text_cells_never_run_as_spreadsheet_formulas(db, clock, tmp_path):
    # A name (or an imported reference) that starts like a formula is kept as text.
    customers = tmp_path / "customers.yaml"
    customers.write_text(
        "customers:\n  - {id: evil, name: '=HYPERLINK(\"http://x\")', policy: dixa,"
        " fee: {amount: 10, currency: EUR, per: month}}\n"
    )
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers, None)
    ctx = Context(db=db, contracts=contracts, clock=clock)
    import_history(ctx, [
        {"ref": "-1+1", "title": "x", "severity": 1, "outage": True,
         "declared_at": "2026-11-02T10:00:00Z", "restored_at": "2026-11-02T11:00:00Z"},
    ])  # fmt: skip
    (row,) = list(csv.DictReader(io.StringIO(customer_report(ctx, "2026-11").as_csv())))
    assert row["name"] == '\'=HYPERLINK("http://x")'
    assert row["incidents"] == "'-1+1"
    assert row["downtime_minutes"] == "60.000"  # numbers stay numbers
