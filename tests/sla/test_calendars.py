"""Deadlines on each seed contract's calendar: DST, holidays, window edges, customer zones.

Every expected value is computed by hand; the comment beside it shows the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.sla.calendar import calendar_for
from bot.sla.clocks import BusinessClock
from bot.sla.contract import Contract
from bot.sla.timers import TimerKind, due_at
from config.contracts import effective_policy, load_customers
from config.policy import CalendarSpec, HolidaySpec
from tests.sla.conftest import CPH, POLICIES, cph, ny, utc

RESPONSE, RESTORE, PROGRESS = TimerKind.RESPONSE, TimerKind.RESTORE, TimerKind.PROGRESS
H = dt.timedelta(hours=1)


def deadline(contract: Contract, kind: TimerKind, level: int, start: dt.datetime) -> dt.datetime:
    rule = contract.rule(kind, level)
    assert rule is not None, f"{contract.label} has no {kind} target at level {level}"
    result = due_at(rule, start)
    assert result is not None and result.tzinfo is dt.UTC
    return result


def customer_contract(tmp_path: Path, entry: str) -> Contract:
    """One customer from a customers file, the way the bot loads it."""
    path = tmp_path / "customers.yaml"
    path.write_text("customers:\n" + entry, encoding="utf-8")
    (customer,) = load_customers(path, POLICIES).values()
    return Contract.of_customer(customer)


# --- Dixa: Mon–Fri 08–17 in the customer's zone (Copenhagen by default), no holidays -------

DIXA_CPH = [
    # — spring forward Sun 2026-03-29 —
    # 30m Fri + 30m → Mon 08:30 CEST = 06:30Z
    (2, RESPONSE, cph(2026, 3, 27, 16, 30), utc(2026, 3, 30, 6, 30)),
    # 27h = Fri+Mon+Tue windows → Tue 17:00 CEST
    (3, RESTORE, cph(2026, 3, 27, 8, 0), utc(2026, 3, 31, 15, 0)),
    # 24x7: 4 real hours, 06:30 CEST
    (1, RESTORE, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 4, 30)),
    # 24x7: 01:58 CET + 5m = 03:03 CEST
    (1, RESPONSE, cph(2026, 3, 29, 1, 58), utc(2026, 3, 29, 1, 3)),
    # — fall back Sun 2026-10-25 —
    # 5h Fri + 4h Mon → 12:00 CET = 11:00Z
    (2, RESTORE, cph(2026, 10, 23, 12, 0), utc(2026, 10, 26, 11, 0)),
    # 24x7: 02:30 CEST + 4h = 05:30 CET
    (1, RESTORE, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 4, 30)),
    # 02:58 CEST + 5m = 02:03 CET (repeated hour)
    (1, RESPONSE, utc(2026, 10, 25, 0, 58), utc(2026, 10, 25, 1, 3)),
    # — window edges —
    # at opening: 1h → 09:00
    (2, RESPONSE, cph(2026, 11, 23, 8, 0), cph(2026, 11, 23, 9, 0)),
    # 1bd from opening ends at the close
    (4, RESPONSE, cph(2026, 11, 23, 8, 0), cph(2026, 11, 23, 17, 0)),
    # at close: outside [08,17) → Tue 08:00 + 1h
    (2, RESPONSE, cph(2026, 11, 23, 17, 0), cph(2026, 11, 24, 9, 0)),
    # 1m Mon + 59m Tue
    (2, RESPONSE, cph(2026, 11, 23, 16, 59), cph(2026, 11, 24, 8, 59)),
    # 2h used up at the close, not Tue 08:00
    (3, RESPONSE, cph(2026, 11, 23, 15, 0), cph(2026, 11, 23, 17, 0)),
    # Sunday: clock starts Mon 08:00
    (2, RESPONSE, cph(2026, 11, 22, 23, 59), cph(2026, 11, 23, 9, 0)),
    # before opening: starts 08:00
    (2, RESPONSE, cph(2026, 11, 20, 7, 0), cph(2026, 11, 20, 9, 0)),
    # — no holidays in Dixa's own calendar: Christmas Day and New Year's Day are business days —
    # 7h+9×6=61h by Thu 31 → 2h Fri Jan 1
    (4, RESTORE, cph(2026, 12, 23, 10, 0), cph(2027, 1, 1, 10, 0)),
]


@pytest.mark.parametrize(("level", "kind", "start", "expected"), DIXA_CPH)
def test_dixa_in_copenhagen(dixa, level, kind, start, expected):
    assert deadline(dixa, kind, level, start) == expected


def test_dixa_fall_back_deadline_is_in_the_repeated_hour(dixa):
    # 02:03 local happens twice on 2026-10-25; the deadline is the second (CET) one.
    # (Python never finds an ambiguous local time equal to one in another zone: compare in UTC.)
    result = deadline(dixa, RESPONSE, 1, utc(2026, 10, 25, 0, 58))
    second = dt.datetime(2026, 10, 25, 2, 3, fold=1, tzinfo=CPH)
    assert result == second.astimezone(dt.UTC) == utc(2026, 10, 25, 1, 3)
    local = result.astimezone(CPH)
    assert (local.hour, local.minute, local.fold, local.utcoffset()) == (2, 3, 1, H)


DIXA_NY = [
    # — spring forward Sun 2026-03-08 —
    # 30m Fri + 30m → Mon 08:30 EDT = 12:30Z
    (2, RESPONSE, ny(2026, 3, 6, 16, 30), utc(2026, 3, 9, 12, 30)),
    # 06:30Z + 4h = 06:30 EDT (5 wall hours)
    (1, RESTORE, ny(2026, 3, 8, 1, 30), utc(2026, 3, 8, 10, 30)),
    # — fall back Sun 2026-11-01 —
    # 4h Fri + 5h Mon → 13:00 EST = 18:00Z
    (4, RESPONSE, ny(2026, 10, 30, 13, 0), utc(2026, 11, 2, 18, 0)),
    # 04:30Z + 4h = 03:30 EST (3 wall hours)
    (1, RESTORE, ny(2026, 11, 1, 0, 30), utc(2026, 11, 1, 8, 30)),
    # — the same instant as in Copenhagen, judged in New York —
    # 10:30 EST Fri + 1h
    (2, RESPONSE, utc(2026, 11, 20, 15, 30), ny(2026, 11, 20, 11, 30)),
    # — no US holidays in Dixa's own calendar: Thanksgiving is a business day —
    # Wed+Thu+Fri windows = 27h
    (3, RESTORE, ny(2026, 11, 25, 8, 0), ny(2026, 11, 27, 17, 0)),
]


@pytest.mark.parametrize(("level", "kind", "start", "expected"), DIXA_NY)
def test_dixa_in_new_york(dixa_ny, level, kind, start, expected):
    assert deadline(dixa_ny, kind, level, start) == expected


def test_dixa_same_declaration_in_two_zones(dixa, dixa_ny):
    declared = utc(2026, 11, 20, 15, 30)  # Fri 16:30 CET, 10:30 EST
    assert deadline(dixa, RESPONSE, 2, declared) == cph(2026, 11, 23, 8, 30)  # over the weekend
    assert deadline(dixa_ny, RESPONSE, 2, declared) == ny(2026, 11, 20, 11, 30)  # same afternoon


def test_customer_zone_comes_from_the_customers_file(tmp_path, dixa_ny):
    acme = customer_contract(
        tmp_path, "  - {id: acme, name: Acme, policy: dixa, timezone: America/New_York}\n"
    )
    assert acme.zone == "America/New_York"
    declared = ny(2026, 3, 6, 16, 30)
    for level in (1, 2, 3, 4):
        assert acme.deadlines(level, declared) == dixa_ny.deadlines(level, declared)
    assert deadline(acme, RESPONSE, 2, declared) == ny(2026, 3, 9, 8, 30)  # Fri 30m + Mon 30m


def test_customer_without_zone_uses_the_default(tmp_path):
    plain = customer_contract(tmp_path, "  - {id: plain, name: Plain, policy: dixa}\n")
    assert plain.zone == "Europe/Copenhagen"
    assert deadline(plain, RESPONSE, 2, cph(2026, 11, 20, 16, 30)) == cph(2026, 11, 23, 8, 30)


def test_dixa_order_form_adds_danish_holidays_over_christmas(tmp_path, dixa):
    nordlys = customer_contract(
        tmp_path,
        "  - id: nordlys\n    name: Nordlys ApS\n    policy: dixa\n"
        "    timezone: Europe/Copenhagen\n"
        "    overrides: {calendar: {holidays: {country: DK}}}\n",
    )
    declared = cph(2026, 12, 23, 10, 0)  # Wednesday
    # 7bd = 63h: Wed 23 7h, Thu 24 9h (16; Dec 24 is no DK public holiday), Fri 25 holiday,
    # Mon 28 (25), Tue 29 (34), Wed 30 (43), Thu 31 (52), Fri Jan 1 holiday, Mon Jan 4 (61),
    # 2h on Tue Jan 5.
    assert deadline(nordlys, RESTORE, 4, declared) == cph(2027, 1, 5, 10, 0)
    # Dixa's own calendar counts Dec 25 and Jan 1: done at 10:00 on New Year's Day.
    assert deadline(dixa, RESTORE, 4, declared) == cph(2027, 1, 1, 10, 0)
    # The order form changes nothing else: Sev 2 on a plain Friday afternoon.
    assert deadline(nordlys, RESPONSE, 2, cph(2026, 11, 20, 16, 30)) == cph(2026, 11, 23, 8, 30)


def test_dixa_new_york_customer_with_us_holidays(tmp_path):
    acme = customer_contract(
        tmp_path,
        "  - id: acme\n    name: Acme\n    policy: dixa\n    timezone: America/New_York\n"
        "    overrides: {calendar: {holidays: {country: US}}}\n",
    )
    # 27h: Wed 25 9h, Thu 26 Thanksgiving, Fri 27 9h (18), Mon 30 9h (27) → Mon 17:00 EST.
    assert deadline(acme, RESTORE, 3, ny(2026, 11, 25, 8, 0)) == ny(2026, 11, 30, 17, 0)


def test_extra_holiday_dates_in_a_policy_calendar():
    bridge_day = effective_policy(
        POLICIES["dixa"], {"calendar": {"holidays": {"extra": ["2026-11-23"]}}}, "test"
    )
    contract = Contract.of_deployment(bridge_day)
    # 30m Fri 20, Mon 23 is an extra holiday, 30m from Tue 08:00.
    assert deadline(contract, RESPONSE, 2, cph(2026, 11, 20, 16, 30)) == cph(2026, 11, 24, 8, 30)
    # Started on the extra holiday itself: the clock starts Tue 08:00.
    assert deadline(contract, RESPONSE, 2, cph(2026, 11, 23, 10, 0)) == cph(2026, 11, 24, 9, 0)


def test_extra_dates_add_to_the_country_holidays():
    constitution_day = effective_policy(
        POLICIES["diplomasafe"], {"calendar": {"holidays": {"extra": ["2026-06-05"]}}}, "test"
    )
    declared = cph(2026, 6, 4, 15, 0)  # Thursday
    # 2h Thu, Fri 5 June closed (extra), 2h from Mon 09:00.
    assert deadline(Contract.of_deployment(constitution_day), RESPONSE, 1, declared) == cph(
        2026, 6, 8, 11, 0
    )
    # Without the extra date, 5 June is a business day: 2h from Fri 09:00.
    assert deadline(Contract.of_deployment(POLICIES["diplomasafe"]), RESPONSE, 1, declared) == cph(
        2026, 6, 5, 11, 0
    )
    # Easter (from the country) still closes the office.
    assert deadline(Contract.of_deployment(constitution_day), RESPONSE, 1, cph(2026, 4, 3, 12)) == (
        cph(2026, 4, 7, 13, 0)
    )


# --- Diplomasafe: Mon–Fri 09–17 Europe/Copenhagen, Danish public holidays, 4bh response ----

DIPLOMASAFE = [
    # — Easter 2026: Thu 2 (Maundy Thursday), Fri 3 (Good Friday), Mon 6 (Easter Monday) closed —
    # 2h Wed, 2h from Tue 09:00
    (cph(2026, 4, 1, 15, 0), cph(2026, 4, 7, 11, 0)),
    # declared on Good Friday: from Tue 09:00
    (cph(2026, 4, 3, 12, 0), cph(2026, 4, 7, 13, 0)),
    # Easter Monday afternoon: from Tue 09:00
    (cph(2026, 4, 6, 16, 0), cph(2026, 4, 7, 13, 0)),
    # — Christmas: Dec 24 is a business day, Dec 25 and 26 are not —
    # 2h Wed, 2h Thu Dec 24
    (cph(2026, 12, 23, 15, 0), cph(2026, 12, 24, 11, 0)),
    # 2h Thu, Fri 25 closed, Mon 09:00 + 2h
    (cph(2026, 12, 24, 15, 0), cph(2026, 12, 28, 11, 0)),
    # 2h Fri, Mon 25 + Tue 26 closed, Wed
    (cph(2028, 12, 22, 15, 0), cph(2028, 12, 27, 11, 0)),
    # 2h Thu, New Year's Day Fri closed
    (cph(2026, 12, 31, 15, 0), cph(2027, 1, 4, 11, 0)),
    # — DST —
    # 2h Fri CET, Mon 11:00 CEST = 09:00Z
    (cph(2026, 3, 27, 15, 0), utc(2026, 3, 30, 9, 0)),
    # 2h Fri CEST, Mon 11:00 CET = 10:00Z
    (cph(2026, 10, 23, 15, 0), utc(2026, 10, 26, 10, 0)),
    # — window edges —
    # at opening
    (cph(2026, 11, 23, 9, 0), cph(2026, 11, 23, 13, 0)),
    # at close: from Tue 09:00
    (cph(2026, 11, 23, 17, 0), cph(2026, 11, 24, 13, 0)),
    # used up exactly at the close
    (cph(2026, 11, 23, 13, 0), cph(2026, 11, 23, 17, 0)),
    # 08:00 is before its 09:00 opening
    (cph(2026, 11, 23, 8, 0), cph(2026, 11, 23, 13, 0)),
    # Saturday
    (cph(2026, 11, 21, 12, 0), cph(2026, 11, 23, 13, 0)),
]


@pytest.mark.parametrize(("start", "expected"), DIPLOMASAFE)
def test_diplomasafe_response(diplomasafe, start, expected):
    assert deadline(diplomasafe, RESPONSE, 1, start) == expected


def test_diplomasafe_one_level_for_every_request(diplomasafe):
    declared = cph(2026, 4, 1, 15, 0)
    for level in (1, 2, 3, 4, 9):
        assert deadline(diplomasafe, RESPONSE, level, declared) == cph(2026, 4, 7, 11, 0)
        assert diplomasafe.rule(RESTORE, level) is None  # no restore target in the contract
        assert diplomasafe.rule(PROGRESS, level) is None


# --- messaging platform: every target on the 24x7 clock -----------------------------------

MESSAGING = [
    # 00:45Z + 30m = 03:15 CEST
    (1, RESPONSE, cph(2026, 3, 29, 1, 45), utc(2026, 3, 29, 1, 15)),
    # 22:00Z + 8h: 7 wall hours
    (2, RESTORE, cph(2026, 10, 25, 0, 0), cph(2026, 10, 25, 7, 0)),
    # 1d = 24h; 25 wall hours
    (3, RESTORE, ny(2026, 3, 7, 12, 0), ny(2026, 3, 8, 13, 0)),
    # 24h; 23 wall hours
    (3, RESTORE, ny(2026, 10, 31, 12, 0), ny(2026, 11, 1, 11, 0)),
    # every 60m, Saturday too
    (1, PROGRESS, utc(2026, 11, 21, 3, 0), utc(2026, 11, 21, 4, 0)),
    # every 4h, Christmas too
    (2, PROGRESS, utc(2026, 12, 25, 22, 0), utc(2026, 12, 26, 2, 0)),
    # 4h over midnight
    (3, RESPONSE, utc(2026, 11, 20, 23, 0), utc(2026, 11, 21, 3, 0)),
]


@pytest.mark.parametrize(("level", "kind", "start", "expected"), MESSAGING)
def test_messaging_platform(messaging, level, kind, start, expected):
    assert deadline(messaging, kind, level, start) == expected


def test_messaging_severity_three_reports_at_resolution(messaging):
    assert messaging.rule(PROGRESS, 3) is None
    assert messaging.reports_at_resolution(3)
    assert not messaging.reports_at_resolution(1)


# --- calendars beyond the seeds --------------------------------------------------------------


def business_clock(zone: str, days, hours, country: str | None = None) -> BusinessClock:
    spec = CalendarSpec(
        timezone=zone,
        days=days,
        hours=hours,
        holidays=HolidaySpec(country=country) if country else None,
    )
    return BusinessClock(calendar_for(spec, zone))


EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def test_all_day_calendar_counts_real_time_across_dst():
    clock = business_clock("Europe/Copenhagen", EVERY_DAY, ["00:00", "24:00"])
    assert clock.calendar.window_length == 24 * H
    # 1d = 24h of window time; 2026-03-29's window is 23 real hours, so it ends a wall hour late.
    assert clock.deadline(cph(2026, 3, 28, 12, 0), 24 * H) == cph(2026, 3, 29, 13, 0)
    # 2026-10-25's window is 25 real hours: a wall hour early.
    assert clock.deadline(cph(2026, 10, 24, 12, 0), 24 * H) == cph(2026, 10, 25, 11, 0)


def test_midnight_close_ends_at_the_next_local_midnight():
    clock = business_clock(
        "America/New_York", ["mon", "tue", "wed", "thu", "fri"], ["18:00", "24:00"]
    )
    # 2h Fri 22:00–24:00, then Mon from 18:00: 1h more.
    assert clock.deadline(ny(2026, 11, 20, 22, 0), 3 * H) == ny(2026, 11, 23, 19, 0)
    # used up exactly at midnight: ends at 00:00 Saturday, not at Monday's opening
    assert clock.deadline(ny(2026, 11, 20, 22, 0), 2 * H) == ny(2026, 11, 21, 0, 0)


def test_window_opening_in_the_spring_forward_gap():
    # New York skips 02:00–03:00 on 2026-03-08: a 02:30 opening is the first real instant
    # after it, 03:00 EDT (07:00Z); the window then runs to 12:00 EDT.
    clock = business_clock("America/New_York", EVERY_DAY, ["02:30", "12:00"])
    assert clock.deadline(ny(2026, 3, 8, 0, 0), 30 * dt.timedelta(minutes=1)) == ny(
        2026, 3, 8, 3, 30
    )
    assert clock.elapsed(utc(2026, 3, 8, 0, 0), utc(2026, 3, 9, 0, 0)) == 9 * H


def test_window_closing_in_the_spring_forward_gap():
    # 00:00–02:30 on 2026-03-08 is 00:00 EST (05:00Z) to 03:00 EDT (07:00Z): two real hours.
    clock = business_clock("America/New_York", EVERY_DAY, ["00:00", "02:30"])
    assert clock.elapsed(ny(2026, 3, 8, 0, 0), ny(2026, 3, 8, 12, 0)) == 2 * H
    # 3h from 00:00: 2h on the 8th, 1h from 00:00 EDT on the 9th.
    assert clock.deadline(ny(2026, 3, 8, 0, 0), 3 * H) == ny(2026, 3, 9, 1, 0)


def test_window_edge_in_the_repeated_hour_is_its_first_occurrence():
    # calendar.py: an edge in the repeated hour is read as its first occurrence, so
    # 00:00–01:30 on 2026-11-01 is 00:00 EDT to 01:30 EDT: an hour and a half.
    clock = business_clock("America/New_York", EVERY_DAY, ["00:00", "01:30"])
    assert clock.elapsed(ny(2026, 11, 1, 0, 0), ny(2026, 11, 1, 12, 0)) == 1.5 * H


# --- the cases for each seed contract, where the lists above do not have them -------


def test_dixa_over_easter_with_and_without_danish_holidays(tmp_path, dixa):
    nordlys = customer_contract(
        tmp_path,
        "  - id: nordlys\n    name: Nordlys ApS\n    policy: dixa\n"
        "    overrides: {calendar: {holidays: {country: DK}}}\n",
    )
    declared = cph(2026, 4, 1, 16, 0)  # Wednesday before Easter
    # Dixa's own calendar has no holidays: Maundy Thursday is a business day, 1h Wed + 1h Thu.
    assert deadline(dixa, RESPONSE, 3, declared) == cph(2026, 4, 2, 9, 0)
    # With Denmark's: Thu 2 (Maundy Thursday), Fri 3 (Good Friday), Mon 6 (Easter Monday)
    # closed: 1h Wed, 1h from Tue 08:00.
    assert deadline(nordlys, RESPONSE, 3, declared) == cph(2026, 4, 7, 9, 0)
    # 3bd = 27h: 1h Wed, Tue 7 (10), Wed 8 (19), 8h on Thu 9.
    assert deadline(nordlys, RESTORE, 3, declared) == cph(2026, 4, 9, 16, 0)
    # Sev 1 runs 24x7: Easter changes nothing.
    assert deadline(nordlys, RESTORE, 1, cph(2026, 4, 3, 12, 0)) == cph(2026, 4, 3, 16, 0)


def test_dixa_seven_business_days_over_christmas_in_new_york(tmp_path):
    acme = customer_contract(
        tmp_path,
        "  - id: acme\n    name: Acme\n    policy: dixa\n    timezone: America/New_York\n"
        "    overrides: {calendar: {holidays: {country: US}}}\n",
    )
    declared = ny(2026, 12, 22, 12, 0)  # Tuesday
    # 63h: Tue 22 5h, Wed 23 (14), Thu 24 (23), Fri 25 Christmas closed, Mon 28 (32),
    # Tue 29 (41), Wed 30 (50), Thu 31 (59), Fri Jan 1 closed, 4h on Mon Jan 4.
    assert deadline(acme, RESTORE, 4, declared) == ny(2027, 1, 4, 12, 0)


NY_EDGES = [
    # at opening: 1h → 09:00 EST
    (2, RESPONSE, ny(2026, 11, 23, 8, 0), ny(2026, 11, 23, 9, 0)),
    # at close: outside [08,17) → Tue 08:00 + 1h
    (2, RESPONSE, ny(2026, 11, 23, 17, 0), ny(2026, 11, 24, 9, 0)),
    # 1bd from opening is used up exactly at the close
    (4, RESPONSE, ny(2026, 11, 23, 8, 0), ny(2026, 11, 23, 17, 0)),
    # 2h from 15:00 is used up exactly at the close, not Tue 08:00
    (3, RESPONSE, ny(2026, 11, 23, 15, 0), ny(2026, 11, 23, 17, 0)),
]


@pytest.mark.parametrize(("level", "kind", "start", "expected"), NY_EDGES)
def test_dixa_window_edges_in_new_york(dixa_ny, level, kind, start, expected):
    assert deadline(dixa_ny, kind, level, start) == expected


def test_diplomasafe_customer_in_new_york_keeps_copenhagen_hours(tmp_path, diplomasafe):
    initech = customer_contract(
        tmp_path,
        "  - {id: initech, name: Initech, policy: diplomasafe, timezone: America/New_York}\n",
    )
    # The calendar's zone is fixed by the contract ("CET"): the customer's zone changes nothing.
    assert initech.zone == "Europe/Copenhagen"
    declared = ny(2026, 11, 23, 10, 0)  # 16:00 in Copenhagen: 1h Mon, 3h from Tue 09:00
    assert deadline(initech, RESPONSE, 1, declared) == cph(2026, 11, 24, 12, 0)
    assert initech.deadlines(1, declared) == diplomasafe.deadlines(1, declared)


def test_diplomasafe_target_ending_exactly_at_close_across_dst(diplomasafe):
    # Fri 2026-10-23 13:00 CEST + 4bh = 17:00 CEST (15:00Z); the clocks go back on Sunday.
    assert deadline(diplomasafe, RESPONSE, 1, cph(2026, 10, 23, 13, 0)) == utc(2026, 10, 23, 15, 0)
    # Started at Friday's close: Mon 09:00 CET + 4h = 13:00 CET (12:00Z).
    assert deadline(diplomasafe, RESPONSE, 1, cph(2026, 10, 23, 17, 0)) == utc(2026, 10, 26, 12, 0)


def test_messaging_platform_customer_in_new_york_and_danish_holidays_change_nothing(tmp_path):
    umbrella = customer_contract(
        tmp_path,
        "  - {id: umbrella, name: Umbrella, policy: messaging-platform, timezone: America/New_York}\n",
    )
    messaging = Contract.of_deployment(POLICIES["messaging-platform"])
    for declared in (
        cph(2026, 4, 3, 23, 30),  # Good Friday night in Copenhagen
        cph(2026, 12, 24, 18, 0),  # Christmas Eve
        ny(2026, 3, 8, 1, 30),  # New York, half an hour before the clocks go forward
        ny(2026, 11, 1, 1, 30, 0),  # New York, the first 01:30 of the repeated hour
    ):
        for level in (1, 2, 3):
            assert umbrella.deadlines(level, declared) == messaging.deadlines(level, declared)
    # 24x7: Good Friday 23:30 CEST + 4h = Sat 03:30 CEST, holiday or not.
    assert deadline(umbrella, RESTORE, 1, cph(2026, 4, 3, 23, 30)) == cph(2026, 4, 4, 3, 30)
    # New York 01:30 EST + 1h response: 02:30 does not exist that night; 03:30 EDT is one hour on.
    assert deadline(umbrella, RESPONSE, 2, ny(2026, 3, 8, 1, 30)) == ny(2026, 3, 8, 3, 30)


def test_start_up_reads_the_holidays_of_last_this_and_next_year_of_every_calendar_in_use(
    contracts, clock, monkeypatch
):
    import bot.sla.calendar as calendars
    from bot.context import Context, warm
    from bot.sla.contract import calendars_in_use

    read = []
    monkeypatch.setattr(calendars, "holiday_dates", lambda *key: read.append(key))
    warm(Context(db=None, contracts=contracts, clock=clock))
    year = clock.now().year
    named = {
        (c.holiday_country, c.holiday_subdivision)
        for c in calendars_in_use(contracts)
        if c.holiday_country is not None
    }
    assert ("DK", None) in named  # Diplomasafe's customers: Danish public holidays
    assert set(read) == {(*country, y) for country in named for y in (year - 1, year, year + 1)}
