"""Uptime, hand-computed (docs/semantics.md §5): periods, unions, exclusions, exact comparison."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.sla.calendar import calendar_for
from bot.sla.uptime import (
    clip,
    combine,
    intersect,
    least_below,
    measure_uptime,
    minutes,
    notice_given,
    outage_interval,
    overlaps,
    period_bounds,
    period_containing,
    periods_between,
    subtract,
    total,
    union,
)
from config.contracts import SHIPPED_POLICIES_DIR, load_policies, policy_files
from config.policy import Duration, MaintenanceSpec

UTC = dt.UTC
CPH = "Europe/Copenhagen"
NY = "America/New_York"
M = dt.timedelta(minutes=1)
US = dt.timedelta(microseconds=1)
POLICIES = load_policies(policy_files(SHIPPED_POLICIES_DIR))
DIXA_CPH = calendar_for(POLICIES["dixa"].calendar, CPH)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def length_in_minutes(bounds) -> Fraction:
    return minutes(bounds[1] - bounds[0])


# --- periods: real minutes in the contract's zone ------------------------------------------


def test_october_in_copenhagen_has_44700_minutes_because_the_clocks_go_back():
    # 31 days × 1,440 = 44,640, plus the hour repeated on Sun 25 October (03:00 CEST → 02:00 CET).
    bounds = period_bounds("month", CPH, year=2026, month=10)
    assert bounds == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))
    assert length_in_minutes(bounds) == 44_700


def test_november_in_copenhagen_has_43200_minutes():
    # 30 × 1,440, no clock change: 2026-10-31T23:00Z – 2026-11-30T23:00Z.
    bounds = period_bounds("month", CPH, year=2026, month=11)
    assert bounds == (utc(2026, 10, 31, 23), utc(2026, 11, 30, 23))
    assert length_in_minutes(bounds) == 43_200


def test_march_in_copenhagen_has_44580_minutes_because_the_clocks_go_forward():
    # 31 × 1,440 − 60 (Sun 29 March 02:00 CET → 03:00 CEST) = 44,580.
    bounds = period_bounds("month", CPH, year=2026, month=3)
    assert bounds == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert length_in_minutes(bounds) == 44_580


def test_october_in_utc_has_44640_minutes():
    assert length_in_minutes(period_bounds("month", "UTC", year=2026, month=10)) == 44_640


def test_the_year_2026_has_525600_minutes_in_copenhagen_and_in_utc():
    # 365 × 1,440; the hour lost in March comes back in October.
    copenhagen = period_bounds("year", CPH, year=2026)
    assert copenhagen == (utc(2025, 12, 31, 23), utc(2026, 12, 31, 23))
    assert length_in_minutes(copenhagen) == 525_600
    assert length_in_minutes(period_bounds("year", "UTC", year=2026)) == 525_600


def test_new_york_changes_its_clocks_on_other_days_than_copenhagen():
    # New York: summer time ends Sun 1 November 2026, so its October is a plain 44,640 minutes
    # (EDT throughout: 04:00Z – 04:00Z) and its November has 30 × 1,440 + 60 = 43,260.
    october = period_bounds("month", NY, year=2026, month=10)
    assert october == (utc(2026, 10, 1, 4), utc(2026, 11, 1, 4))
    assert length_in_minutes(october) == 44_640
    november = period_bounds("month", NY, year=2026, month=11)
    assert november == (utc(2026, 11, 1, 4), utc(2026, 12, 1, 5))
    assert length_in_minutes(november) == 43_260


def test_the_period_containing_an_instant_depends_on_the_zone():
    # 2026-10-31T23:30Z is 00:30 on 1 November in Copenhagen, still 31 October in UTC.
    instant = utc(2026, 10, 31, 23, 30)
    assert period_containing("month", instant, CPH) == period_bounds(
        "month", CPH, year=2026, month=11
    )
    assert period_containing("month", instant, "UTC") == period_bounds(
        "month", "UTC", year=2026, month=10
    )
    assert period_containing("year", utc(2026, 12, 31, 23, 30), CPH) == period_bounds(
        "year", CPH, year=2027
    )


def test_periods_between_lists_whole_months_of_the_zone():
    year = period_bounds("year", CPH, year=2026)
    months = periods_between("month", *year, CPH)
    assert len(months) == 12
    assert months[0] == period_bounds("month", CPH, year=2026, month=1)
    assert months[-1][1] == year[1]
    # Every month starts where the one before ends, so the year's minutes are the months' sum.
    assert all(a[1] == b[0] for a, b in itertools.pairwise(months))
    assert sum(length_in_minutes(m) for m in months) == 525_600
    # A month asks for the year around it.
    october = period_bounds("month", CPH, year=2026, month=10)
    assert periods_between("year", *october, CPH) == [year]


# --- interval arithmetic ------------------------------------------------------------------


def test_overlapping_outages_are_a_union_never_a_sum():
    # 10:00–11:00 and 10:30–12:00 overlap for 30 minutes: 120 minutes down, not 150.
    outages = [
        (utc(2026, 10, 5, 10), utc(2026, 10, 5, 11)),
        (utc(2026, 10, 5, 10, 30), utc(2026, 10, 5, 12)),
    ]
    assert union(outages) == [(utc(2026, 10, 5, 10), utc(2026, 10, 5, 12))]
    assert total(union(outages)) == 120 * M
    assert total(outages) == 150 * M


def test_union_joins_touching_intervals_drops_empty_ones_and_sorts():
    a = (utc(2026, 1, 1, 12), utc(2026, 1, 1, 13))
    b = (utc(2026, 1, 1, 10), utc(2026, 1, 1, 12))  # ends where a starts
    empty = (utc(2026, 1, 1, 15), utc(2026, 1, 1, 15))
    inside = (utc(2026, 1, 1, 10, 15), utc(2026, 1, 1, 10, 45))
    assert union([a, empty, inside, b]) == [(utc(2026, 1, 1, 10), utc(2026, 1, 1, 13))]


def test_clip_intersect_and_subtract():
    day = [(utc(2026, 1, 1, 8), utc(2026, 1, 1, 12)), (utc(2026, 1, 1, 14), utc(2026, 1, 1, 18))]
    assert clip(day, utc(2026, 1, 1, 10), utc(2026, 1, 1, 15)) == [
        (utc(2026, 1, 1, 10), utc(2026, 1, 1, 12)),
        (utc(2026, 1, 1, 14), utc(2026, 1, 1, 15)),
    ]
    cut = [(utc(2026, 1, 1, 11), utc(2026, 1, 1, 15))]
    assert intersect(day, cut) == [
        (utc(2026, 1, 1, 11), utc(2026, 1, 1, 12)),
        (utc(2026, 1, 1, 14), utc(2026, 1, 1, 15)),
    ]
    assert subtract(day, cut) == [
        (utc(2026, 1, 1, 8), utc(2026, 1, 1, 11)),
        (utc(2026, 1, 1, 15), utc(2026, 1, 1, 18)),
    ]
    # A cut inside one interval splits it in two.
    assert subtract(
        [(utc(2026, 1, 1, 8), utc(2026, 1, 1, 12))], [(utc(2026, 1, 1, 9), utc(2026, 1, 1, 10))]
    ) == [
        (utc(2026, 1, 1, 8), utc(2026, 1, 1, 9)),
        (utc(2026, 1, 1, 10), utc(2026, 1, 1, 12)),
    ]


def test_overlaps_finds_shared_time_but_not_touching():
    spans = [(utc(2026, 1, 1, 8), utc(2026, 1, 1, 9)), (utc(2026, 1, 1, 12), utc(2026, 1, 1, 13))]
    assert overlaps(spans, (utc(2026, 1, 1, 8, 59), utc(2026, 1, 1, 10)))
    assert overlaps(spans, (utc(2026, 1, 1, 11), utc(2026, 1, 1, 12, 1)))
    assert not overlaps(spans, (utc(2026, 1, 1, 9), utc(2026, 1, 1, 12)))  # touches both
    assert not overlaps(spans, (utc(2026, 1, 1, 12, 30), utc(2026, 1, 1, 12, 30)))  # empty


# --- measuring ---------------------------------------------------------------------------------


def october_cph():
    return period_bounds("month", CPH, year=2026, month=10)


def test_uptime_is_compared_exactly_99_8992_is_below_99_9():
    # A 10,000-minute span with 10.08 minutes (10 min 4.8 s) down: 9,989.92 / 10,000 = 99.8992 %.
    start = utc(2026, 1, 1)
    end = start + 10_000 * M
    result = measure_uptime(
        start, end, end, [(start, start + dt.timedelta(minutes=10, seconds=4.8))]
    )
    assert result.uptime_pct == Fraction("99.8992")
    assert not result.meets(Decimal("99.9"))


def test_uptime_exactly_at_the_commitment_meets_it_and_one_second_more_does_not():
    # October in Copenhagen: 44,700 min × 0.1 % = 44.7 min = 44 min 42 s may be down at 99.9 %.
    start, end = october_cph()
    at_threshold = measure_uptime(
        start, end, end, [(start, start + dt.timedelta(minutes=44, seconds=42))]
    )
    assert at_threshold.uptime_pct == Fraction("99.9")
    assert at_threshold.meets(Decimal("99.9"))
    over = measure_uptime(start, end, end, [(start, start + dt.timedelta(minutes=44, seconds=43))])
    assert over.uptime_pct < Fraction("99.9")
    assert not over.meets(Decimal("99.9"))


@given(
    days=st.integers(1, 366),
    threshold=st.decimals(min_value=Decimal("90"), max_value=Decimal("99.9999"), places=4),
)
def test_least_below_is_where_uptime_first_falls_under_the_threshold(days, threshold):
    """The tier crossings' boundary (``bot.sla.stakes``) is the report's ``below``."""
    start = utc(2026, 1, 1)
    end = start + dt.timedelta(days=days)
    least = least_below((end - start) // US, threshold)

    def down(micros):
        return measure_uptime(start, end, end, [(start, start + micros * US)])

    assert down(least).below(threshold)
    assert not down(least - 1).below(threshold)


def test_an_outage_across_a_month_boundary_is_split_in_the_customers_zone_not_utc():
    # 2026-10-31T22:30Z – 2026-11-01T00:30Z (two hours). Copenhagen's October ends at 23:00Z:
    # 30 minutes in October, 90 in November. In UTC October ends at 00:00Z: 90 and 30.
    outage = (utc(2026, 10, 31, 22, 30), utc(2026, 11, 1, 0, 30))
    for zone, october_minutes, november_minutes in ((CPH, 30, 90), ("UTC", 90, 30)):
        october = period_bounds("month", zone, year=2026, month=10)
        november = period_bounds("month", zone, year=2026, month=11)
        assert measure_uptime(*october, october[1], [outage]).downtime == october_minutes * M
        assert measure_uptime(*november, november[1], [outage]).downtime == november_minutes * M


def test_exclusions_are_subtracted_from_downtime_not_from_available_minutes():
    # October, Copenhagen: 44,700 min. Outage 10:00–12:00Z on the 5th, an excluded window
    # 11:00–13:00Z: raw 120, excluded = raw ∩ window = 60, downtime 60.
    start, end = october_cph()
    outage = (utc(2026, 10, 5, 10), utc(2026, 10, 5, 12))
    window = (utc(2026, 10, 5, 11), utc(2026, 10, 5, 13))
    result = measure_uptime(start, end, end, [outage], [window])
    assert (result.available, result.downtime, result.excluded) == (44_700 * M, 60 * M, 60 * M)
    assert result.uptime_pct == Fraction(44_700 - 60, 44_700) * 100
    assert result.spans == ((utc(2026, 10, 5, 10), utc(2026, 10, 5, 11)),)


def test_an_outage_marked_excluded_is_its_own_exclusion():
    # The customer's VPN outage, 09:00–11:00Z, overlaps a real outage 10:30–11:30Z.
    # raw = 09:00–11:30 (150 min); excluded = raw ∩ 09:00–11:00 = 120; downtime = 30.
    start, end = october_cph()
    vpn = (utc(2026, 10, 30, 9), utc(2026, 10, 30, 11))
    real = (utc(2026, 10, 30, 10, 30), utc(2026, 10, 30, 11, 30))
    result = measure_uptime(start, end, end, [vpn, real], [vpn])
    assert (result.downtime, result.excluded) == (30 * M, 120 * M)


def test_an_open_incident_counts_until_now():
    # Impact since 08:00Z, still open at 09:15Z: 75 minutes so far; an open period keeps all
    # 43,200 of November's minutes ("if nothing else goes down").
    now = utc(2026, 11, 20, 9, 15)
    interval = outage_interval(utc(2026, 11, 20, 8), None, now)
    assert interval == (utc(2026, 11, 20, 8), now)
    start, end = period_bounds("month", CPH, year=2026, month=11)
    result = measure_uptime(start, end, now, [interval])
    assert (result.available, result.downtime) == (43_200 * M, 75 * M)
    assert not result.is_complete
    # A restored one runs to its restore, whatever now is.
    assert outage_interval(utc(2026, 11, 20, 8), utc(2026, 11, 20, 8, 20), now)[1] == utc(
        2026, 11, 20, 8, 20
    )


def test_data_after_until_is_not_counted():
    # A yearly contract seen to the end of October: an outage on 2 November does not count yet.
    year = period_bounds("year", CPH, year=2026)
    until = period_bounds("month", CPH, year=2026, month=10)[1]
    outage = (utc(2026, 10, 31, 22), utc(2026, 11, 2, 0))  # 60 min before 23:00Z, the rest after
    result = measure_uptime(*year, until, [outage])
    assert (result.available, result.downtime) == (525_600 * M, 60 * M)


def test_combine_adds_the_months_of_a_year_exactly():
    # October + November in Copenhagen: 44,700 + 43,200 minutes, 30 + 90 minutes down.
    outage = (utc(2026, 10, 31, 22, 30), utc(2026, 11, 1, 0, 30))
    months = [period_bounds("month", CPH, year=2026, month=m) for m in (10, 11)]
    both = combine([measure_uptime(s, e, e, [outage]) for s, e in months])
    assert (both.available, both.downtime) == (87_900 * M, 120 * M)
    assert (both.start, both.end) == (months[0][0], months[1][1])


# --- maintenance notice ---------------------------------------------------------------------


def test_maintenance_announced_with_less_than_the_notice_is_not_excluded():
    # Dixa reads "advance notice" as 24 h: announced 23 h 59 m ahead is too late; 24 h is enough.
    dixa = POLICIES["dixa"].uptime.maintenance
    starts = utc(2026, 11, 5, 22)
    assert not notice_given(starts - dt.timedelta(hours=23, minutes=59), starts, dixa, DIXA_CPH)
    assert notice_given(starts - dt.timedelta(hours=24), starts, dixa, DIXA_CPH)


def test_diplomasafe_maintenance_needs_only_to_be_announced_before_it_starts():
    # notice: 0m — "scheduled downtime" is downtime announced before it starts.
    spec = POLICIES["diplomasafe"].uptime.maintenance
    starts = utc(2026, 11, 5, 22)
    assert notice_given(starts, starts, spec, DIXA_CPH)
    assert not notice_given(starts + M, starts, spec, DIXA_CPH)


def test_maintenance_is_never_excluded_when_the_contract_says_so():
    spec = MaintenanceSpec(excluded=False, notice=Duration(0, "m"))
    assert not notice_given(utc(2026, 1, 1), utc(2026, 2, 1), spec, DIXA_CPH)


def test_a_notice_in_business_days_counts_on_the_contract_calendar():
    # 1bd on Dixa's Mon–Fri 08–17 Copenhagen calendar = 9 business hours. Announced Fri
    # 2026-11-20 16:00 CET, window Mon 08:00 CET: Fri 16–17 (1 h) + Mon 08–08 (0) = 1 h < 9 h.
    # Announced Thu 16:00: Thu 16–17 + Fri 08–17 = 10 h ≥ 9 h.
    spec = MaintenanceSpec(excluded=True, notice=Duration(1, "bd"))
    cph = ZoneInfo(CPH)
    starts = dt.datetime(2026, 11, 23, 8, tzinfo=cph)
    assert not notice_given(dt.datetime(2026, 11, 20, 16, tzinfo=cph), starts, spec, DIXA_CPH)
    assert notice_given(dt.datetime(2026, 11, 19, 16, tzinfo=cph), starts, spec, DIXA_CPH)


# --- properties ---------------------------------------------------------------------------------

BASE = utc(2026, 3, 1)
SPAN = 60 * 24 * 40  # minutes: a bit more than a month around March (DST included)


@st.composite
def intervals(draw):
    start = draw(st.integers(min_value=0, max_value=SPAN))
    length = draw(st.integers(min_value=0, max_value=60 * 24 * 3))
    return (BASE + start * M, BASE + (start + length) * M)


interval_lists = st.lists(intervals(), max_size=12)
MARCH = period_bounds("month", CPH, year=2026, month=3)


@given(interval_lists, interval_lists)
def test_uptime_is_never_above_100_or_below_0(outages, exclusions):
    result = measure_uptime(*MARCH, MARCH[1], outages, exclusions)
    assert 0 <= result.uptime_pct <= 100
    assert result.downtime + result.excluded == total(clip(outages, *MARCH))


@given(interval_lists, interval_lists, intervals())
def test_adding_an_outage_never_raises_uptime(outages, exclusions, extra):
    before = measure_uptime(*MARCH, MARCH[1], outages, exclusions)
    after = measure_uptime(*MARCH, MARCH[1], [*outages, extra], exclusions)
    assert after.uptime_pct <= before.uptime_pct


@given(interval_lists)
def test_the_union_never_exceeds_the_sum(items):
    assert total(union(items)) <= total(items)


@given(interval_lists, interval_lists)
def test_union_is_idempotent_and_commutative(a, b):
    assert union(union(a)) == union(a)
    assert union(a + b) == union(b + a)
    assert union(union(a) + union(b)) == union(a + b)


@given(interval_lists, interval_lists)
def test_a_union_splits_into_the_part_inside_and_the_part_outside(a, b):
    # |a| = |a ∩ b| + |a − b|, for merged a.
    assert total(union(a)) == total(intersect(a, b)) + total(subtract(a, b))


def test_local_instants_are_measured_in_real_time_across_the_clock_change():
    # 01:00 CEST to 04:00 CET on Sun 25 October 2026 is four real hours (02:00–03:00 happens
    # twice), though the wall clock moved three: instants of one zone subtract as wall time,
    # so the engine measures in UTC whatever zone it is given.
    cph = ZoneInfo(CPH)
    outage = (dt.datetime(2026, 10, 25, 1, tzinfo=cph), dt.datetime(2026, 10, 25, 4, tzinfo=cph))
    window = (dt.datetime(2026, 10, 25, 3, tzinfo=cph), dt.datetime(2026, 10, 25, 5, tzinfo=cph))
    result = measure_uptime(*october_cph(), october_cph()[1], [outage], [window])
    assert (result.downtime, result.excluded) == (180 * M, 60 * M)
