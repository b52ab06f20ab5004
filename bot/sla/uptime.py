"""Uptime (docs/semantics.md §5): contract periods, downtime as a union of intervals, exclusions.

An interval is a half-open span ``[start, end)`` of UTC-aware instants. For one customer and
one contract period ``P = [period_start, period_end)`` whose data is known ``until`` an
instant (the period's end, or now while it runs):

- **outage intervals**: each outage incident affecting the customer, from its impact start
  to its restore, or to ``now`` while it is open; outages marked excluded are included here.
- **exclusion intervals**: maintenance windows affecting the customer that were announced at
  least the contract's notice before they start (never, when ``maintenance.excluded`` is
  false), and the intervals of outages marked excluded (customer's own network, force
  majeure, security patches).
- ``raw = union(outage intervals) ∩ [period_start, until)``
- ``excluded = raw ∩ union(exclusion intervals)`` — ``excluded_minutes`` is ``|excluded|``
- ``downtime = raw − excluded``
- ``available = |P|``: every real minute of the whole period, also while it runs (a month
  with a daylight-saving change is an hour longer or shorter than its days say)
- ``uptime % = (available − |downtime|) / available × 100``, an exact ``Fraction``.

A maintenance window is an exclusion only: it is not downtime by itself; an outage during
it is recorded as an incident. Nothing is rounded here; renderers round.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from math import floor
from typing import Literal
from zoneinfo import ZoneInfo

from bot.sla.calendar import BusinessCalendar, as_utc
from bot.sla.clocks import ZERO, BusinessClock, WallClock
from config.policy import Duration, MaintenanceSpec

UTC = dt.UTC
Interval = tuple[dt.datetime, dt.datetime]
"""``[start, end)``, UTC-aware."""
Period = Literal["month", "year"]

_MICROSECOND = dt.timedelta(microseconds=1)
_FAR_FUTURE = dt.datetime.max.replace(tzinfo=UTC)
_MINUTE_IN_MICROSECONDS = 60_000_000


# --- interval arithmetic ---------------------------------------------------------------


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged: sorted, disjoint, empty ones dropped; touching ones joined."""
    ordered = sorted(i for i in intervals if i[1] > i[0])
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime) -> list[Interval]:
    """The parts of ``intervals`` inside ``[start, end)``, merged."""
    return union((max(s, start), min(e, end)) for s, e in intervals)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Where both ``a`` and ``b`` hold, merged."""
    return _intersect_merged(union(a), union(b))


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Where ``a`` holds and ``b`` does not, merged."""
    return _subtract_merged(union(a), union(b))


def _intersect_merged(
    left: Sequence[Interval],
    right: Sequence[Interval],
    right_ends: Sequence[dt.datetime] | None = None,
) -> list[Interval]:
    """Where merged ``left`` and ``right`` both hold (``right_ends``: ``right``'s ends, when
    known, for the few ``left`` against a long ``right``)."""
    if right_ends is None:
        if len(left) > len(right):
            left, right = right, left
        right_ends = [end for _, end in right]
    result: list[Interval] = []
    for start, end in left:  # the few against the many, found by bisection
        j = bisect.bisect_right(right_ends, start)
        while j < len(right) and right[j][0] < end:
            result.append((max(start, right[j][0]), min(end, right[j][1])))
            j += 1
    return result


def _subtract_merged(base: Sequence[Interval], cuts: Sequence[Interval]) -> list[Interval]:
    result: list[Interval] = []
    j = 0
    for start, end in base:
        while j < len(cuts) and cuts[j][1] <= start:
            j += 1
        k = j
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > start:
                result.append((start, cuts[k][0]))
            start = max(start, cuts[k][1])
            k += 1
        if start < end:
            result.append((start, end))
    return result


def total(intervals: Iterable[Interval]) -> dt.timedelta:
    """The summed length of ``intervals`` as given (merge them first to measure a union)."""
    return sum((end - start for start, end in intervals), ZERO)


@lru_cache(maxsize=256)
def _fraction(value: Decimal) -> Fraction:
    return Fraction(value)


def least_below(available: int, threshold: Decimal) -> int:
    """The least downtime, in microseconds of a period of ``available`` microseconds, that
    puts uptime under ``threshold`` % (``UptimeResult.below``): one more than the most a
    tier at ``threshold`` allows, with which uptime is exactly ``threshold``."""
    return floor(Fraction(available) * (100 - _fraction(threshold)) / 100) + 1


def minutes(span: dt.timedelta) -> Fraction:
    """A span as an exact number of minutes."""
    return Fraction(span // _MICROSECOND, _MINUTE_IN_MICROSECONDS)


# --- contract periods -------------------------------------------------------------------


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``, as UTC (a midnight in a DST gap: the gap's end)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_bounds(period: Period, zone: str, *, year: int, month: int | None = None) -> Interval:
    """A calendar month (``month`` given) or year of ``zone``, as UTC ``[start, end)``.

    October 2026 in Europe/Copenhagen is 2026-09-30T22:00Z – 2026-10-31T23:00Z.
    """
    tz = ZoneInfo(zone)
    if period == "year":
        return _local_midnight(dt.date(year, 1, 1), tz), _local_midnight(
            dt.date(year + 1, 1, 1), tz
        )
    if month is None or not 1 <= month <= 12:
        raise ValueError(f"a month period needs a month 1–12, got {month!r}")
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return _local_midnight(dt.date(year, month, 1), tz), _local_midnight(following, tz)


def period_containing(period: Period, instant: dt.datetime, zone: str) -> Interval:
    """The contract period of ``zone`` that ``instant`` falls in."""
    local = as_utc(instant).astimezone(ZoneInfo(zone))
    return period_bounds(period, zone, year=local.year, month=local.month)


def periods_between(
    period: Period, start: dt.datetime, end: dt.datetime, zone: str
) -> list[Interval]:
    """The whole months or years of ``zone`` that overlap ``[start, end)``, in order."""
    return list(_periods_between(period, start, end, zone))


@lru_cache(maxsize=1024)
def _periods_between(
    period: Period, start: dt.datetime, end: dt.datetime, zone: str
) -> tuple[Interval, ...]:
    """``periods_between``, remembered: a report asks it for every customer of each zone."""
    found: list[Interval] = []
    bounds = period_containing(period, start, zone)
    while bounds[0] < end:
        found.append(bounds)
        bounds = period_containing(period, bounds[1], zone)
    return tuple(found)


def days_between(start: dt.datetime, end: dt.datetime, zone: str) -> list[Interval]:
    """The calendar days of ``zone`` that overlap ``[start, end)``, in order, as UTC
    ``[start, end)``: a day the clocks go back on is 25 hours long."""
    tz = ZoneInfo(zone)
    day = as_utc(start).astimezone(tz).date()
    found: list[Interval] = []
    while (begins := _local_midnight(day, tz)) < end:
        following = day + dt.timedelta(days=1)
        found.append((begins, _local_midnight(following, tz)))
        day = following
    return found


def claim_deadline(period_end: dt.datetime, window: Duration | None, zone: str) -> dt.date | None:
    """The last day (in ``zone``) a credit for a period ending at ``period_end`` can be claimed.

    "Within 30 days after the month": October's claims run to 30 November. Days are calendar
    days of the zone; an hour or minute window is counted in real time.
    """
    if window is None:
        return None
    end = as_utc(period_end).astimezone(ZoneInfo(zone))
    if window.unit == "d":
        last_day = end - _MICROSECOND
        return last_day.date() + dt.timedelta(days=window.amount)
    closes = as_utc(period_end) + WallClock().length(window)
    return (closes - _MICROSECOND).astimezone(ZoneInfo(zone)).date()


# --- what counts ------------------------------------------------------------------------


def outage_interval(
    impact_start: dt.datetime, restored_at: dt.datetime | None, now: dt.datetime
) -> Interval:
    """An outage from impact start to restore, or to ``now`` while it is open."""
    end = restored_at if restored_at is not None else max(now, impact_start)
    if impact_start.tzinfo is UTC and end.tzinfo is UTC:  # as stored: nothing to convert
        return impact_start, end
    return as_utc(impact_start), as_utc(end)


def notice_given(
    announced_at: dt.datetime,
    starts_at: dt.datetime,
    maintenance: MaintenanceSpec,
    calendar: BusinessCalendar,
) -> bool:
    """Whether a maintenance window is excluded: announced at least the notice before it starts.

    A notice in business units (``2bd``) is counted on the contract's business calendar.
    ``excluded: false`` means maintenance is never excluded.
    """
    if not maintenance.excluded:
        return False
    notice = maintenance.notice
    clock = BusinessClock(calendar) if notice.is_business_unit else WallClock()
    return clock.elapsed(announced_at, starts_at) >= clock.length(notice)


# --- the measure --------------------------------------------------------------------------


@dataclass(frozen=True)
class UptimeResult:
    """Uptime of one period (or several, summed) with data ``until`` an instant."""

    start: dt.datetime
    end: dt.datetime
    until: dt.datetime
    available: dt.timedelta
    downtime: dt.timedelta
    excluded: dt.timedelta
    spans: tuple[Interval, ...] = ()
    """The downtime itself: merged intervals whose lengths add up to ``downtime``."""

    @property
    def available_minutes(self) -> Fraction:
        return minutes(self.available)

    @property
    def downtime_minutes(self) -> Fraction:
        return minutes(self.downtime)

    @property
    def excluded_minutes(self) -> Fraction:
        return minutes(self.excluded)

    @property
    def uptime_pct(self) -> Fraction:
        """``(available − downtime) / available × 100``, exact."""
        available = self.available // _MICROSECOND
        return Fraction((available - self.downtime // _MICROSECOND) * 100, available)

    def below(self, threshold: Decimal) -> bool:
        """Uptime under ``threshold`` %, compared exactly: 99.8992 % is below 99.9 %."""
        exact = _fraction(threshold)
        available = self.available // _MICROSECOND
        up = (available - self.downtime // _MICROSECOND) * 100
        return up * exact.denominator < exact.numerator * available

    def meets(self, commitment: Decimal) -> bool:
        """At least the commitment, compared exactly (99.8992 % does not meet 99.9 %)."""
        return not self.below(commitment)

    @property
    def is_complete(self) -> bool:
        """The whole period is known (it has ended)."""
        return self.until >= self.end


def measure_uptime(
    start: dt.datetime,
    end: dt.datetime,
    until: dt.datetime,
    outages: Iterable[Interval],
    exclusions: Iterable[Interval] = (),
) -> UptimeResult:
    """The uptime of ``[start, end)`` with outages known up to ``until`` (module docstring)."""
    return measure_periods([(start, end)], until, outages, exclusions)[0]


def measure_periods(
    periods: Sequence[Interval],
    until: dt.datetime,
    outages: Iterable[Interval],
    exclusions: Iterable[Interval] = (),
) -> list[UptimeResult]:
    """``measure_uptime`` of consecutive periods (the months of a year), in one pass.

    Downtime and exclusions are worked out once over all the periods, then cut at each
    period's bounds: clipping commutes with intersecting and subtracting.
    """
    first = as_utc(periods[0][0])
    until = as_utc(until)
    outages, exclusions = _in_utc(outages), _in_utc(exclusions)
    raw = clip(outages, first, max(min(until, as_utc(periods[-1][1])), first))
    excluded = _intersect_merged(raw, union(exclusions)) if raw else []
    down = _subtract_merged(raw, excluded) if excluded else raw
    down_ends = [end for _, end in down]
    excluded_ends = [end for _, end in excluded]
    results = []
    for start, end in periods:
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            raise ValueError("a period must end after it starts")
        cut = min(max(until, start), end)
        spans = _within(down, down_ends, start, cut)
        results.append(
            UptimeResult(
                start=start,
                end=end,
                until=cut,
                available=end - start,
                downtime=total(spans),
                excluded=total(_within(excluded, excluded_ends, start, cut)),
                spans=tuple(spans),
            )
        )
    return results


def _in_utc(intervals: Iterable[Interval]) -> list[Interval]:
    """Intervals in UTC. Two instants of one local zone subtract as wall time (an outage from
    01:00 to 04:00 on the night the clocks go back would measure 3 hours, not 4)."""
    return [
        (s, e) if s.tzinfo is UTC and e.tzinfo is UTC else (as_utc(s), as_utc(e))
        for s, e in intervals
    ]


def _within(
    merged: Sequence[Interval], ends: Sequence[dt.datetime], start: dt.datetime, end: dt.datetime
) -> list[Interval]:
    """``clip`` for merged intervals (``ends``: their ends), found by bisection."""
    found = []
    for index in range(bisect.bisect_right(ends, start), len(merged)):
        s, e = merged[index]
        if s >= end:
            break
        found.append((max(s, start), min(e, end)))
    return found


def combine(results: Sequence[UptimeResult]) -> UptimeResult:
    """Consecutive periods as one (a monthly contract's year): minutes add up exactly."""
    if not results:
        raise ValueError("nothing to combine")
    return UptimeResult(
        start=results[0].start,
        end=results[-1].end,
        until=max(r.until for r in results),
        available=sum((r.available for r in results), ZERO),
        downtime=sum((r.downtime for r in results), ZERO),
        excluded=sum((r.excluded for r in results), ZERO),
        spans=tuple(span for r in results for span in r.spans),
    )


def overlaps(spans: Sequence[Interval], interval: Interval) -> bool:
    """Whether ``interval`` shares any time with the merged, ordered ``spans``."""
    if interval[1] <= interval[0]:
        return False
    index = bisect.bisect_right(spans, (interval[0], _FAR_FUTURE))
    if index and spans[index - 1][1] > interval[0]:
        return True
    return index < len(spans) and spans[index][0] < interval[1]


# --- shared by many customers -------------------------------------------------------------


class SharedOutages:
    """Outages that many customers share (an outage of the whole platform affects every
    customer), put in UTC and merged once for every ``SharedDowntime`` that clips them to
    its periods.

    ``listed``: shared outages whose overlap with downtime a caller asks about (those a
    report lists when they left downtime), by position.
    """

    def __init__(self, outages: Iterable[Interval], listed: Sequence[Interval] = ()) -> None:
        self._merged = union(_in_utc(outages))
        self._merged_ends = [end for _, end in self._merged]
        self.listed = _in_utc(listed)
        self._by_start = sorted(range(len(self.listed)), key=self.listed.__getitem__)
        self._starts = [self.listed[k][0] for k in self._by_start]
        # For ``touching``: the short ones by start, reached by bisection; the few long ones
        # (open for days) looked at one by one.
        self._reach = _SHORT
        short = [k for k in self._by_start if self.listed[k][1] - self.listed[k][0] <= _SHORT]
        self._short, self._short_starts = short, [self.listed[k][0] for k in short]
        self._long = [k for k in self._by_start if self.listed[k][1] - self.listed[k][0] > _SHORT]

    def within(self, lo: dt.datetime, hi: dt.datetime) -> list[Interval]:
        """``clip(outages, lo, hi)``: their union within ``[lo, hi)``."""
        found: list[Interval] = []
        if hi <= lo:
            return found
        index = bisect.bisect_right(self._merged_ends, lo)
        while index < len(self._merged) and self._merged[index][0] < hi:
            start, end = self._merged[index]
            found.append((max(start, lo), min(end, hi)))
            index += 1
        return found

    def listed_within(self, lo: dt.datetime, hi: dt.datetime) -> list[int]:
        """The positions of the ``listed`` outages that start before ``hi`` and end after
        ``lo``, in order."""
        listed = self.listed
        before = self._by_start[: bisect.bisect_left(self._starts, hi)]
        return sorted(k for k in before if listed[k][1] > lo)

    def listed_overlapping(self, spans: Sequence[Interval]) -> list[int]:
        """The positions of the ``listed`` outages that share time with the merged
        ``spans``, in order: one sweep over both, by start."""
        if not spans:
            return []
        found, listed, index = [], self.listed, 0
        for k in self._by_start[: bisect.bisect_left(self._starts, spans[-1][1])]:
            start, end = listed[k]
            while index < len(spans) and spans[index][1] <= start:
                index += 1
            if index == len(spans):
                break
            if spans[index][0] < end and start < end:
                found.append(k)
        return sorted(found)

    def touching(self, start: dt.datetime, end: dt.datetime) -> list[int]:
        """The positions of the ``listed`` outages that share time with ``[start, end)``."""
        listed = self.listed
        first = bisect.bisect_right(self._short_starts, start - self._reach)
        last = bisect.bisect_left(self._short_starts, end)
        found = [k for k in self._short[first:last] if listed[k][1] > start]
        found += [k for k in self._long if listed[k][0] < end and listed[k][1] > start]
        return [k for k in found if listed[k][0] < listed[k][1]]


_SHORT = dt.timedelta(days=1)


class SharedDowntime:
    """``measure_periods`` for many customers whose outages and exclusions are mostly the same:
    an outage of the whole platform affects every customer, and customers on the same terms
    judge the same maintenance alike.

    The intervals they all share are measured once. ``measure`` then adds one customer's own
    outages and exclusions and works only where those reach: outside them the customer's
    downtime is the shared one. Its cost grows with the customer's own intervals, not with
    the shared ones, and its results equal ``measure_periods`` of the shared and own intervals
    together, except that they carry no spans (a customer's spans would repeat the shared
    ones; ``CustomerDowntime.left_downtime`` answers what they were kept for).
    """

    def __init__(
        self,
        periods: Sequence[Interval],
        until: dt.datetime,
        outages: SharedOutages,
        exclusions: Iterable[Interval] = (),
    ) -> None:
        self._periods = [(as_utc(start), as_utc(end)) for start, end in periods]
        if any(end <= start for start, end in self._periods):
            raise ValueError("a period must end after it starts")
        until = as_utc(until)
        first = self._periods[0][0]
        self._cuts = [(start, min(max(until, start), end)) for start, end in self._periods]
        self._cut_ends = [cut for _, cut in self._cuts]
        self._lo, self._hi = first, max(min(until, self._periods[-1][1]), first)
        self._outages = outages
        self._raw = outages.within(self._lo, self._hi)
        self._raw_ends = [end for _, end in self._raw]
        self._exclusions = union(_in_utc(exclusions))
        self._exclusion_ends = [end for _, end in self._exclusions]
        excluded = _intersect_merged(self._raw, self._exclusions) if self._raw else []
        self.spans: list[Interval] = (
            _subtract_merged(self._raw, excluded) if excluded else self._raw
        )
        """The shared downtime: merged intervals."""
        self._ends = [end for _, end in self.spans]
        excluded_ends = [end for _, end in excluded]
        # How much of each is where a customer's own intervals reach, by running totals.
        self._down_lengths = _Lengths(self.spans)
        self._excluded_lengths = _Lengths(excluded)
        self.results = tuple(
            UptimeResult(
                start=start,
                end=end,
                until=cut,
                available=end - start,
                downtime=total(_within(self.spans, self._ends, start, cut)),
                excluded=total(_within(excluded, excluded_ends, start, cut)),
            )
            for (start, end), (_, cut) in zip(self._periods, self._cuts, strict=True)
        )
        """Each period measured with the shared intervals alone."""

    @cached_property
    def listed_within(self) -> list[int]:
        """The positions of the shared ``listed`` outages that start before the periods'
        data ends and end after they start: every one that left downtime when nothing was
        excluded."""
        return self._outages.listed_within(self._lo, self._hi)

    @cached_property
    def listed_in_downtime(self) -> list[int]:
        """The positions of the shared ``listed`` outages that share time with the shared
        downtime."""
        return self._outages.listed_overlapping(self.spans)

    def _per_period(self, spans: Sequence[Interval]) -> list[dt.timedelta]:
        """How much of the merged ``spans`` falls in each period up to its cut."""
        cuts, found = self._cuts, [ZERO] * len(self._cuts)
        for start, end in spans:
            index = bisect.bisect_right(self._cut_ends, start)
            while index < len(cuts) and cuts[index][0] < end:
                piece = min(end, cuts[index][1]) - max(start, cuts[index][0])
                if piece > ZERO:
                    found[index] += piece
                index += 1
        return found

    def left_downtime(self, interval: Interval) -> bool:
        """Whether ``interval`` shares time with the shared downtime."""
        return overlaps(self.spans, interval)

    def measure(
        self, outages: Iterable[Interval] = (), exclusions: Iterable[Interval] = ()
    ) -> CustomerDowntime:
        """The periods measured with one customer's own outages and exclusions added.

        Only the region they reach is measured again: the shared downtime and exclusions
        there (before) come from running totals, the customer's (after) from its own
        outages, the shared outages where only its exclusions reach, and the exclusions.
        An outage of its own that lasts months costs no more than a short one."""
        own = clip(_in_utc(outages), self._lo, self._hi)
        cuts = clip(_in_utc(exclusions), self._lo, self._hi)  # they matter only on outages
        if not own and not cuts:
            return CustomerDowntime(self, self.results, [], [], [])
        region = union([*own, *cuts])
        only_cut = _subtract_merged(cuts, own)  # where the shared outages still decide
        raw_after = union([*own, *_intersect_merged(only_cut, self._raw, self._raw_ends)])
        shared_cuts = _intersect_merged(region, self._exclusions, self._exclusion_ends)
        cuts_after = union([*shared_cuts, *cuts])
        down_after = _subtract_merged(raw_after, cuts_after)
        totals = (
            self._per_period_of(self._down_lengths, region),
            self._per_period(down_after),
            self._per_period_of(self._excluded_lengths, region),
            self._per_period(_intersect_merged(raw_after, cuts_after)),
        )
        results = tuple(
            _adjusted(result, *(t[index] for t in totals))
            for index, result in enumerate(self.results)
        )
        # Shared downtime the customer has not: where its own exclusions cover it.
        removed = _intersect_merged(cuts, self.spans, self._ends)
        return CustomerDowntime(self, results, region, down_after, removed)

    def _per_period_of(self, lengths: _Lengths, region: Sequence[Interval]) -> list[dt.timedelta]:
        """How much of the merged intervals behind ``lengths`` falls in each period up to its
        cut, within the merged ``region``."""
        cuts, found = self._cuts, [ZERO] * len(self._cuts)
        for start, end in region:
            index = bisect.bisect_right(self._cut_ends, start)
            while index < len(cuts) and cuts[index][0] < end:
                found[index] += lengths.within(max(start, cuts[index][0]), min(end, cuts[index][1]))
                index += 1
        return found


class _Lengths:
    """Merged intervals whose total length within any span is found by bisection."""

    def __init__(self, merged: Sequence[Interval]) -> None:
        self._merged = merged
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]
        self._before = [ZERO]  # the summed lengths of the intervals before each
        for start, end in merged:
            self._before.append(self._before[-1] + (end - start))

    def within(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Their total length within ``[start, end)``."""
        if end <= start:
            return ZERO
        first = bisect.bisect_right(self._ends, start)
        last = bisect.bisect_left(self._starts, end)
        if first >= last:
            return ZERO
        found = self._before[last] - self._before[first]
        found -= max(ZERO, start - self._merged[first][0])
        found -= max(ZERO, self._merged[last - 1][1] - end)
        return found


def _adjusted(
    result: UptimeResult,
    down_before: dt.timedelta,
    down_after: dt.timedelta,
    excluded_before: dt.timedelta,
    excluded_after: dt.timedelta,
) -> UptimeResult:
    """``result`` with a region's downtime and exclusions replaced: before → after."""
    if down_before == down_after and excluded_before == excluded_after:
        return result
    return UptimeResult(
        start=result.start,
        end=result.end,
        until=result.until,
        available=result.available,
        downtime=result.downtime - down_before + down_after,
        excluded=result.excluded - excluded_before + excluded_after,
    )


class CustomerDowntime:
    """One customer's downtime: the shared downtime, changed where its own intervals reach."""

    def __init__(
        self,
        shared: SharedDowntime,
        results: tuple[UptimeResult, ...],
        region: list[Interval],
        down: list[Interval],
        removed: list[Interval],
    ) -> None:
        self.results = results
        """Each period, measured (no spans)."""
        self._shared = shared
        self._region = region
        """Where the customer's own intervals reach (merged)."""
        self._down = down
        """The customer's downtime within ``region`` (merged)."""
        self._removed = removed
        """Shared downtime that the customer's own exclusions took away (merged)."""

    def left_downtime(self, interval: Interval) -> bool:
        """Whether ``interval`` shares time with this customer's downtime (as ``overlaps`` of
        its spans would say)."""
        start, end = as_utc(interval[0]), as_utc(interval[1])
        if end <= start:
            return False
        if overlaps(self._down, (start, end)):
            return True
        spans = self._shared.spans  # outside the region the downtime is the shared one
        index = bisect.bisect_right(self._shared._ends, start)
        while index < len(spans) and spans[index][0] < end:
            piece = (max(spans[index][0], start), min(spans[index][1], end))
            if not _inside(self._region, piece):
                return True
            index += 1
        return False

    @cached_property
    def lost(self) -> frozenset[int]:
        """The positions of the shared ``listed`` outages that share time with the shared
        downtime but not with this customer's (its own exclusions took all of it away)."""
        shared = self._shared
        listed = shared._outages.listed
        candidates = {
            k for start, end in self._removed for k in shared._outages.touching(start, end)
        }
        return frozenset(
            k
            for k in candidates
            if shared.left_downtime(listed[k]) and not self.left_downtime(listed[k])
        )


def _inside(merged: Sequence[Interval], piece: Interval) -> bool:
    """Whether ``piece`` lies within one of the ``merged`` intervals."""
    index = bisect.bisect_right(merged, (piece[0], _FAR_FUTURE)) - 1
    return index >= 0 and merged[index][0] <= piece[0] and piece[1] <= merged[index][1]
