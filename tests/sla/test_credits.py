"""Credits and refunds, hand-computed (docs/semantics.md §6): every row of every contract's tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.sla.contract import Contract
from bot.sla.credits import (
    CreditKind,
    Failure,
    applicable_tier,
    incident_count_refunds,
    incident_count_standing,
    money,
    next_tier_budget,
    period_name,
    response_miss_credit,
    response_miss_standing,
    response_missed,
    shown_pct,
    tier_budgets,
    uptime_credit,
)
from bot.sla.timers import Pause, TimerKind
from bot.sla.uptime import claim_deadline, measure_uptime, period_bounds
from config.contracts import SHIPPED_POLICIES_DIR, load_policies, policy_files
from config.policy import Duration, Fee

UTC = dt.UTC
CPH = ZoneInfo("Europe/Copenhagen")
M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)
POLICIES = load_policies(policy_files(SHIPPED_POLICIES_DIR))
DIXA = POLICIES["dixa"].uptime
DIPLOMASAFE = POLICIES["diplomasafe"].uptime
MESSAGING = POLICIES["messaging-platform"]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def cph(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=CPH)


OCTOBER = period_bounds("month", "Europe/Copenhagen", year=2026, month=10)  # 44,700 minutes
YEAR = period_bounds("year", "Europe/Copenhagen", year=2026)  # 525,600 minutes


def down(period, span: dt.timedelta):
    """A whole period with one outage of ``span`` at its start."""
    return measure_uptime(*period, period[1], [(period[0], period[0] + span)])


# --- uptime tiers: every row ------------------------------------------------------------------

# Dixa (monthly, October in Copenhagen = 44,700 min; fee 4,000 a month):
#   below 99.9 % → 5 % = 200; below 99.0 % → 10 % = 400. 0.1 % = 44.7 min = 44 m 42 s;
#   1 % = 447 min.
DIXA_ROWS = [
    ("99.9 exactly owes nothing", 44 * M + 42 * S, None),
    ("a second below 99.9 owes 5 %", 44 * M + 43 * S, Decimal(5)),
    ("99.0 exactly is not below 99.0: 5 %", 447 * M, Decimal(5)),
    ("a second below 99.0 owes 10 %", 447 * M + S, Decimal(10)),
    ("50 % owes 10 %, tiers do not add up", 22_350 * M, Decimal(10)),
]


@pytest.mark.parametrize(("row", "downtime", "percent"), DIXA_ROWS, ids=[r[0] for r in DIXA_ROWS])
def test_dixa_uptime_tiers(row, downtime, percent):
    lines = uptime_credit(
        down(OCTOBER, downtime),
        DIXA.credits,
        Decimal(4000),
        fee_basis="monthly",
        zone="Europe/Copenhagen",
        claim_by=dt.date(2026, 11, 30),
    )
    if percent is None:
        assert lines == []
        return
    (line,) = lines
    assert (line.kind, line.percent, line.fee) == (CreditKind.UPTIME, percent, "monthly")
    assert line.amount == {Decimal(5): Decimal(200), Decimal(10): Decimal(400)}[percent]
    assert line.period == OCTOBER and line.claim_deadline == dt.date(2026, 11, 30)
    assert "in October 2026" in line.reason and "claim" not in line.reason
    # The line carries its own deadline; expired only after that day (contract's zone).
    assert line.text(dt.date(2026, 11, 30)).endswith("fee; claim by 2026-11-30")
    assert line.text(dt.date(2026, 12, 1)).endswith("fee; claim by 2026-11-30 (expired)")
    assert (
        line.claim_expired(dt.date(2026, 11, 30)),
        line.claim_expired(dt.date(2026, 12, 1)),
    ) == (
        False,
        True,
    )


# Diplomasafe (yearly, 2026 = 525,600 min; annual fee 18,000): "Above or equal to 99.9 % None /
# 90 %–99.8 % 2.5 % / 80 %–89.9 % 25 % / 79.9 % and below 100 %", read as "below 99.9 → 2.5,
# below 90 → 25, below 80 → 100". 1 % of the year = 5,256 min.
DIPLOMASAFE_ROWS = [
    # (row, uptime %, downtime minutes = (100 − uptime) × 5,256, amount)
    ("99.9 exactly owes nothing", "99.9", "525.6", None),
    ("the gap 99.8–99.9 owes 2.5 %", "99.85", "788.4", "450"),  # 2.5 % of 18,000 = 450
    ("99.8 owes 2.5 %", "99.8", "1051.2", "450"),
    ("90 exactly owes 2.5 %", "90", "52560", "450"),
    ("the gap 89.9–90 owes 25 %", "89.95", "52822.8", "4500"),  # 25 % of 18,000 = 4,500
    ("89.9 owes 25 %", "89.9", "53085.6", "4500"),
    ("80 exactly owes 25 %", "80", "105120", "4500"),
    ("79.9 owes 100 %", "79.9", "105645.6", "18000"),
    ("0 owes 100 %", "0", "525600", "18000"),
]


@pytest.mark.parametrize(
    ("row", "uptime", "downtime_minutes", "amount"),
    DIPLOMASAFE_ROWS,
    ids=[r[0] for r in DIPLOMASAFE_ROWS],
)
def test_diplomasafe_uptime_tiers(row, uptime, downtime_minutes, amount):
    seconds = Fraction(downtime_minutes) * 60  # every row is a whole number of seconds
    result = down(YEAR, dt.timedelta(seconds=int(seconds)))
    assert result.uptime_pct == Fraction(uptime)
    lines = uptime_credit(
        result,
        DIPLOMASAFE.credits,
        Fee(amount=18000, currency="EUR", per="year").annual,
        fee_basis="annual",
        zone="Europe/Copenhagen",
        claim_by=dt.date(2027, 1, 30),
    )
    if amount is None:
        assert lines == []
    else:
        assert [line.amount for line in lines] == [Decimal(amount)]
        assert lines[0].fee == "annual" and "in 2026" in lines[0].reason


def test_no_tier_applies_at_or_above_the_highest_below():
    # A 10,000-minute span: 10 min down is 99.9 % exactly; 10.08 min is 99.8992 %.
    span = (utc(2026, 1, 1), utc(2026, 1, 1) + 10_000 * M)
    assert applicable_tier(down(span, 0 * M), DIXA.credits) is None
    assert applicable_tier(down(span, 10 * M), DIXA.credits) is None
    assert (
        applicable_tier(
            down(span, 10 * M + 4800 * dt.timedelta(milliseconds=1)), DIXA.credits
        ).percent
        == 5
    )
    assert applicable_tier(down(span, 10_000 * M), MESSAGING.uptime.credits) is None  # no tiers


def test_a_customer_without_a_fee_gets_the_percentage_but_no_amount():
    (line,) = uptime_credit(
        down(OCTOBER, 50 * M), DIXA.credits, None, fee_basis="monthly", zone="UTC", claim_by=None
    )
    assert (line.percent, line.amount) == (5, None)


# --- budget ----------------------------------------------------------------------------------------


def test_budget_is_the_downtime_left_before_each_tier_not_yet_triggered():
    # October in Copenhagen with 30 min down: 99.9 % allows 44.7 min → 14.7 left;
    # 99.0 % allows 447 → 417 left. The next tier is 99.9 %.
    result = down(OCTOBER, 30 * M)
    budgets = tier_budgets(result, DIXA.credits)
    assert [(b.tier.below, b.minutes) for b in budgets] == [
        (Decimal("99.9"), Fraction("14.7")),
        (Decimal("99.0"), Fraction(417)),
    ]
    assert next_tier_budget(result, DIXA.credits) == Fraction("14.7")


def test_exactly_at_a_threshold_the_tier_is_not_triggered_and_the_budget_is_zero():
    result = down(OCTOBER, 44 * M + 42 * S)  # uptime exactly 99.9 %
    assert next_tier_budget(result, DIXA.credits) == 0


def test_after_a_tier_triggers_the_budget_is_the_next_ones():
    # 100 min down: 99.9 % is gone; 447 − 100 = 347 minutes before 99.0 %.
    assert next_tier_budget(down(OCTOBER, 100 * M), DIXA.credits) == 347


def test_no_budget_when_every_tier_is_triggered_or_there_are_none():
    assert next_tier_budget(down(OCTOBER, 500 * M), DIXA.credits) is None
    assert next_tier_budget(down(YEAR, 0 * M), MESSAGING.uptime.credits) is None


def test_diplomasafe_yearly_budget():
    # 2026 with 200 min down: 525.6 − 200 = 325.6 minutes before the 2.5 % tier.
    assert next_tier_budget(down(YEAR, 200 * M), DIPLOMASAFE.credits) == Fraction("325.6")


# --- claim deadline ---------------------------------------------------------------------------------


def test_claim_deadline_is_thirty_days_after_the_period_in_the_contracts_zone():
    thirty = Duration(30, "d")
    # "within thirty (30) days after the month": October's last day 31 Oct + 30 = 30 Nov.
    assert claim_deadline(OCTOBER[1], thirty, "Europe/Copenhagen") == dt.date(2026, 11, 30)
    # The year 2026: 31 Dec + 30 days = 30 January 2027.
    assert claim_deadline(YEAR[1], thirty, "Europe/Copenhagen") == dt.date(2027, 1, 30)
    # February in Copenhagen: 28 Feb + 30 = 30 March, calendar days across the March clock change.
    february = period_bounds("month", "Europe/Copenhagen", year=2026, month=2)
    assert claim_deadline(february[1], thirty, "Europe/Copenhagen") == dt.date(2026, 3, 30)
    # New York's October ends at 04:00Z on 1 November: still 30 November there.
    october_ny = period_bounds("month", "America/New_York", year=2026, month=10)
    assert claim_deadline(october_ny[1], thirty, "America/New_York") == dt.date(2026, 11, 30)
    # No claim window (messaging platform): no deadline.
    assert claim_deadline(YEAR[1], None, "UTC") is None
    # A window in hours runs in real time: 48 h after 1 Nov 00:00 CET → by the end of 2 Nov.
    assert claim_deadline(OCTOBER[1], Duration(48, "h"), "Europe/Copenhagen") == dt.date(
        2026, 11, 2
    )


# --- incident-count refunds (messaging platform §5.2) ----------------------------------------------

FEE = Fee(amount=5000, currency="EUR", per="month")


def sev(level: int, at: dt.datetime, ref: str, impact=None, excluded=False) -> Failure:
    return Failure(ref, level, at, impact, excluded)


Y2026 = (utc(2026, 1, 1), utc(2027, 1, 1))


def refunds(failures, *, zone="UTC", since=Y2026[0], until=Y2026[1], fee=FEE):
    return incident_count_refunds(
        failures, MESSAGING.refunds, zone=zone, monthly_fee=fee.monthly, since=since, until=until
    )


def test_three_severity_one_failures_in_28_days_are_not_more_than_three():
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20)]
    assert refunds(failures) == []


def test_a_fourth_severity_one_failure_within_28_days_refunds_its_month():
    # 5, 12, 20 and 27 October: the 28 days ending at the fourth hold 4 > 3.
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20, 27)]
    (line,) = refunds(failures)
    assert (line.kind, line.percent, line.fee, line.amount) == (
        CreditKind.INCIDENT_COUNT,
        Decimal(100),
        "monthly",
        Decimal(5000),
    )
    assert line.period == period_bounds("month", "UTC", year=2026, month=10)
    assert line.incidents == ("F5", "F12", "F20", "F27")
    assert "October 2026" in line.reason


def test_the_28_days_end_at_the_failure_and_reach_back_exactly_28_times_24_hours():
    # The 28 days ending at 29 Oct 10:00 are (1 Oct 10:00, 29 Oct 10:00]: a failure exactly
    # 28 × 24 h earlier is outside, one a minute later is inside.
    three_more = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (10, 20, 29)]
    assert refunds([sev(1, utc(2026, 10, 1, 10), "edge"), *three_more]) == []
    (line,) = refunds([sev(1, utc(2026, 10, 1, 10, 1), "inside"), *three_more])
    assert line.incidents == ("inside", "F10", "F20", "F29")


def test_severity_two_needs_more_than_five_failures_affecting_at_least_25_percent():
    # (b) "more than 5 Severity II Failures … adversely affect at least 25 %": 25 exactly counts.
    impacts = [25, 40, 100, 30, 26, 25.0]
    failures = [
        sev(2, utc(2026, 10, 2 + 3 * i, 9), f"S{i}", impact) for i, impact in enumerate(impacts)
    ]
    (line,) = refunds(failures)
    assert line.incidents == ("S0", "S1", "S2", "S3", "S4", "S5")
    # Five are not more than five.
    assert refunds(failures[:5]) == []
    # 24.9 % of messages does not count, nor does an unknown impact.
    assert refunds([*failures[:5], sev(2, utc(2026, 10, 20, 9), "low", 24.9)]) == []
    assert refunds([*failures[:5], sev(2, utc(2026, 10, 20, 9), "unknown", None)]) == []


def test_failures_marked_excluded_are_left_out_of_the_count():
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20)]
    assert refunds([*failures, sev(1, utc(2026, 10, 27, 10), "vpn", excluded=True)]) == []


def test_other_severities_do_not_count_towards_a_rule():
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20)]
    assert refunds([*failures, sev(3, utc(2026, 10, 27, 10), "minor")]) == []


def test_a_month_is_refunded_once_however_many_failures_and_rules_trigger_it():
    # Six severity I (the 4th, 5th and 6th each bring the count above 3) and six severity II
    # at 50 % impact, all in October: one refund of October.
    ones = [sev(1, utc(2026, 10, d, 10), f"I{d}") for d in (1, 3, 5, 7, 9, 11)]
    twos = [sev(2, utc(2026, 10, d, 12), f"II{d}", 50) for d in (2, 4, 6, 8, 10, 12)]
    (line,) = refunds([*ones, *twos])
    assert line.incidents == ("I1", "I3", "I5", "I7")  # the first trigger
    assert line.amount == 5000


def test_a_streak_into_the_next_month_refunds_that_month_too():
    # 20, 22, 25, 28 October → October. 3 November: the 28 days (6 Oct, 3 Nov] hold 5 → November.
    failures = [sev(1, utc(2026, 10, d, 10), f"O{d}") for d in (20, 22, 25, 28)]
    failures.append(sev(1, utc(2026, 11, 3, 10), "N3"))
    lines = refunds(failures)
    assert [line.period for line in lines] == [
        period_bounds("month", "UTC", year=2026, month=10),
        period_bounds("month", "UTC", year=2026, month=11),
    ]
    assert lines[1].incidents == ("O20", "O22", "O25", "O28", "N3")


def test_the_refunded_month_is_the_contracts_calendar_month_not_utcs():
    # The fourth failure at 2026-10-31T23:30Z: October in UTC, November in Copenhagen.
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (20, 25, 28)]
    failures.append(sev(1, utc(2026, 10, 31, 23, 30), "late"))
    assert refunds(failures)[0].period[0] == utc(2026, 10, 1)
    copenhagen = refunds(failures, zone="Europe/Copenhagen")[0]
    assert copenhagen.period == period_bounds("month", "Europe/Copenhagen", year=2026, month=11)


def test_the_window_reaches_back_before_the_report_but_only_its_months_are_refunded():
    # 25 and 28 September, 1 and 3 October: the 4th (3 Oct) refunds October; a report from
    # 1 October counts the September failures in that window, and refunds no September.
    failures = [
        sev(1, utc(2026, 9, 25, 10), "S25"),
        sev(1, utc(2026, 9, 28, 10), "S28"),
        sev(1, utc(2026, 10, 1, 10), "O1"),
        sev(1, utc(2026, 10, 3, 10), "O3"),
    ]
    (line,) = refunds(failures, since=utc(2026, 10, 1), until=utc(2026, 11, 1))
    assert line.incidents == ("S25", "S28", "O1", "O3")
    assert refunds(failures, since=utc(2026, 9, 1), until=utc(2026, 10, 1)) == []


def test_a_yearly_fee_refunds_a_twelfth_of_it():
    # Globex pays 120,000 EUR a year: the monthly subscription is 10,000.
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20, 27)]
    (line,) = refunds(failures, fee=Fee(amount=120000, currency="EUR", per="year"))
    assert line.amount == 10000


# --- response-time misses (Diplomasafe) -------------------------------------------------------------

DIPLOMASAFE_CPH = Contract(policy=POLICIES["diplomasafe"], zone="Europe/Copenhagen")
RESPONSE = DIPLOMASAFE_CPH.rule(TimerKind.RESPONSE, 1)
NO_HOLIDAYS = Contract(
    policy=POLICIES["diplomasafe"].model_copy(
        update={"calendar": POLICIES["diplomasafe"].calendar.model_copy(update={"holidays": None})}
    ),
    zone="Europe/Copenhagen",
)


def test_a_response_that_is_only_late_if_holidays_are_ignored_is_not_a_miss():
    # Wed 13 May 2026 15:00 CEST, 4 business hours (09–17): Wed 15–17 (2 h); Thu 14 May is
    # Ascension Day (Danish public holiday); Fri 09–11 → due Fri 11:00. Answered Thu 12:00: met.
    # Ignoring the holiday it would be due Thu 11:00, and Thu 12:00 would be a miss.
    declared, answered = cph(2026, 5, 13, 15), cph(2026, 5, 14, 12)
    now = cph(2026, 6, 1, 12)
    assert not response_missed(RESPONSE, declared, answered, (), now)
    assert response_missed(NO_HOLIDAYS.rule(TimerKind.RESPONSE, 1), declared, answered, (), now)


def test_a_pause_moves_the_response_deadline():
    # Mon 16 Nov 2026 09:00 CET + 4 bh = 13:00; paused 10:00–12:00 (waiting on the customer)
    # → due 15:00. Answered 14:00: met (without the pause, a miss); answered 15:30: missed.
    declared = cph(2026, 11, 16, 9)
    pause = (Pause(cph(2026, 11, 16, 10), cph(2026, 11, 16, 12)),)
    now = cph(2026, 11, 20, 9)
    assert not response_missed(RESPONSE, declared, cph(2026, 11, 16, 14), pause, now)
    assert response_missed(RESPONSE, declared, cph(2026, 11, 16, 14), (), now)
    assert response_missed(RESPONSE, declared, cph(2026, 11, 16, 15, 30), pause, now)


def test_an_open_request_never_answered_is_missed_once_past_its_deadline():
    # Mon 16 Nov 09:00 CET, due 13:00, nobody has answered.
    declared = cph(2026, 11, 16, 9)
    assert not response_missed(RESPONSE, declared, None, (), cph(2026, 11, 16, 12, 59))
    assert response_missed(RESPONSE, declared, None, (), cph(2026, 11, 16, 13, 1))


def test_more_than_three_missed_responses_in_the_year_owe_one_and_a_half_percent():
    spec = POLICIES["diplomasafe"].response_misses
    fee = Fee(amount=18000, currency="EUR", per="year").annual
    args = {"period": YEAR, "zone": "Europe/Copenhagen", "claim_by": dt.date(2027, 1, 30)}
    assert response_miss_credit(["R1", "R2", "R3"], spec, fee, **args) == []
    (line,) = response_miss_credit(["R1", "R2", "R3", "R4"], spec, fee, **args)
    # 1.5 % of 18,000 = 270.
    assert (line.kind, line.percent, line.fee, line.amount) == (
        CreditKind.RESPONSE_MISSES,
        Decimal("1.5"),
        "annual",
        Decimal(270),
    )
    assert line.incidents == ("R1", "R2", "R3", "R4") and "in 2026" in line.reason


def test_a_count_lines_reason_lists_its_incidents_and_its_brief_leaves_them_out():
    spec = POLICIES["diplomasafe"].response_misses
    args = {"period": YEAR, "zone": "Europe/Copenhagen", "claim_by": dt.date(2027, 1, 30)}
    (miss,) = response_miss_credit(["R1", "R2", "R3", "R4"], spec, None, **args)
    assert miss.reason == (
        "4 response commitments missed in 2026, more than 3: R1, R2, R3, R4; 1.5 % of the "
        "annual fee"
    )
    assert (
        miss.brief == "4 response commitments missed in 2026, more than 3; 1.5 % of the annual fee"
    )
    failures = [sev(1, utc(2026, 10, d, 10), f"F{d}") for d in (5, 12, 20, 27)]
    (refund,) = refunds(failures)
    assert refund.reason.endswith(
        "more than 3: F5, F12, F20, F27; refund of 100 % of the October 2026 monthly fee"
    )
    assert refund.brief == refund.reason.replace(": F5, F12, F20, F27;", ";")
    (line,) = uptime_credit(
        down(OCTOBER, 447 * M + S), DIXA.credits, None, fee_basis="monthly",
        zone="Europe/Copenhagen", claim_by=None,
    )  # fmt: skip
    assert line.reason == line.brief and line.incidents == ()


# --- count standings: how near a count rule is to its credit -------------------------------------


def standing(failures, at, level=1):
    rule = next(r for r in MESSAGING.refunds if r.severity == level)
    return incident_count_standing(rule, failures, at)


def test_the_standing_counts_the_28_days_that_end_now_as_the_next_failure_would():
    # Now is 29 Oct 10:00: (1 Oct 10:00, 29 Oct 10:00]. A failure exactly 28 × 24 h ago is out,
    # one now is in, an excluded one and another severity are out.
    failures = [
        sev(1, utc(2026, 10, 1, 10), "edge"),
        sev(1, utc(2026, 10, 1, 10, 1), "inside"),
        sev(1, utc(2026, 10, 20, 10), "vpn", excluded=True),
        sev(2, utc(2026, 10, 21, 10), "other", 50),
        sev(1, utc(2026, 10, 29, 10), "now"),
    ]
    n = standing(failures, utc(2026, 10, 29, 10))
    assert (n.kind, n.counted, n.owed_at, n.left, n.incidents) == (
        CreditKind.INCIDENT_COUNT, 2, 4, 2, ("inside", "now"),
    )  # fmt: skip
    assert n.counts == "severity 1 failures within 28d"
    assert n.credit == "a refund of 100 % of the monthly fee"
    assert n.used == Fraction(1, 2)


def test_the_standing_of_an_impact_rule_says_the_impact_it_counts():
    failures = [sev(2, utc(2026, 10, 5, 9), "S1", 25), sev(2, utc(2026, 10, 6, 9), "S2", 24.9)]
    n = standing(failures, utc(2026, 10, 7), level=2)
    assert (n.counted, n.owed_at, n.incidents) == (1, 6, ("S1",))
    assert n.counts == "severity 2 failures affecting ≥ 25 % of traffic within 28d"


def test_response_misses_stand_against_the_count_that_owes_their_credit():
    spec = POLICIES["diplomasafe"].response_misses
    n = response_miss_standing(["R1", "R2"], spec)
    assert (n.kind, n.counted, n.owed_at, n.left) == (CreditKind.RESPONSE_MISSES, 2, 4, 2)
    assert (n.counts, n.credit) == (
        "missed response commitments this year",
        "1.5 % of the annual fee",
    )
    assert response_miss_standing(["R1", "R2", "R3", "R4", "R5"], spec).left == 0


# --- presentation ----------------------------------------------------------------------------------


def test_shown_percentages_are_cut_never_rounded_up_to_a_threshold():
    assert shown_pct(Fraction("99.89995")) == Decimal("99.8999")
    assert shown_pct(Fraction(44_700 - 60, 44_700) * 100) == Decimal("99.8657")  # 99.86577…


def test_money_is_rounded_half_up_to_cents():
    assert money(Decimal("1.005")) == Decimal("1.01")
    assert money(Decimal(1000) / 12 * Decimal("2.5") / 100) == Decimal("2.08")  # 2.0833…


def test_period_names():
    assert period_name(OCTOBER, "Europe/Copenhagen") == "October 2026"
    assert period_name(YEAR, "Europe/Copenhagen") == "2026"
