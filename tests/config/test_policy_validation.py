"""A policy file is refused with the file, the field and what is allowed: one mistake per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.contracts import (
    SHIPPED_POLICIES_DIR,
    ContractError,
    load_policies,
    load_policy_file,
    policy_files,
)
from config.policy import ClockKind, Duration, holiday_countries

DELETE = object()
DURATION_UNITS = ["m (minutes)", "h (hours)", "d (days)", "bh, bd", "e.g. 15m"]
WEEKDAYS = "mon, tue, wed, thu, fri, sat, sun"


def minimal_policy() -> dict[str, Any]:
    """A valid policy that uses every section, so each test breaks exactly one thing."""
    return {
        "id": "acme-sla",
        "name": "Acme SLA",
        "calendar": {
            "timezone": "Europe/Copenhagen",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": ["08:00", "17:00"],
            "holidays": {"country": "DK"},
        },
        "severities": [
            {
                "level": 1,
                "name": "Critical",
                "response": {"target": "15m", "clock": "24x7"},
                "restore": {"target": "4h", "clock": "24x7"},
                "progress": {"every": "60m"},
            },
            {
                "level": 2,
                "name": "High",
                "response": {"target": "1bh", "clock": "business"},
                "restore": {"target": "1bd", "clock": "business"},
            },
        ],
        "reminders": {
            "before": ["15m", "5m"],
            "at_percent": [50, 75],
            "long_target": "1bd",
            "escalate_every": "30m",
        },
        "uptime": {
            "period": "month",
            "commitment": 99.9,
            "credits": [{"below": 99.9, "percent": 5}, {"below": 99.0, "percent": 10}],
            "claim_window": "30d",
            "maintenance": {"excluded": True, "notice": "24h"},
        },
        "refunds": [{"severity": 1, "more_than": 3, "within": "28d"}],
        "response_misses": {"more_than": 3, "period": "year", "percent": 1.5},
    }


def mutated(changes: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
    data = minimal_policy()
    for path, value in changes.items():
        *parents, last = path
        node: Any = data
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


def refusal(*paths: Path) -> ContractError:
    with pytest.raises(ContractError) as caught:
        if len(paths) == 1:
            load_policy_file(paths[0])
        else:
            load_policies(paths)
    return caught.value


def test_the_minimal_policy_is_valid(write_yaml):
    policy = load_policy_file(write_yaml("acme-sla.yaml", minimal_policy()))
    assert policy.levels == (1, 2)
    assert policy.severity(2).response.target == Duration(1, "bh")
    assert policy.calendar.holidays.country == "DK"


def test_a_clause_is_optional_and_kept_on_one_line(write_yaml):
    assert load_policy_file(write_yaml("acme-sla.yaml", minimal_policy())).uptime.clause is None
    cited = mutated({("uptime", "clause"): "  §6   SLAs\tand credits "})
    assert load_policy_file(write_yaml("acme-sla.yaml", cited)).uptime.clause == (
        "§6 SLAs and credits"
    )


def case(changes: dict[tuple[Any, ...], Any], field: str, *allowed: str, id: str):
    return pytest.param(changes, field, allowed, id=id)


CLOCK = ("severities", 1, "response", "clock")
TARGET = ("severities", 1, "response", "target")

# fmt: off
REFUSALS = [  # one mistake per line: changes, field path, what the message must say
    # clocks and durations
    case({CLOCK: "wall"}, "severities[1].response.clock", "'wall' is not a clock", "use 24x7 or business", id="unknown clock"),
    case({("severities", 0, "progress", "clock"): "247"}, "severities[0].progress.clock", "'247' is not a clock", "24x7 or business", id="unknown progress clock"),
    case({TARGET: "5x"}, "severities[1].response.target", "'5x' is not a duration", *DURATION_UNITS, id="unknown unit"),
    case({TARGET: 5}, "severities[1].response.target", "5 has no unit", *DURATION_UNITS, id="no unit (number)"),
    case({TARGET: "5"}, "severities[1].response.target", "'5' is not a duration", *DURATION_UNITS, id="no unit (text)"),
    case({TARGET: "1.5h"}, "severities[1].response.target", "'1.5h' is not a duration", "a whole number and a unit", id="fraction"),
    case({TARGET: "5 hours"}, "severities[1].response.target", "'5 hours' is not a duration", *DURATION_UNITS, id="unit spelled out"),
    case({TARGET: True}, "severities[1].response.target", "True is not a duration", id="yes as a duration"),
    case({TARGET: "0m"}, "severities[1].response.target", "'0m' is zero", "a target must be longer than zero", id="zero target"),
    case({TARGET: "0bh"}, "severities[1].response.target", "'0bh' is zero", "longer than zero", id="zero business target"),
    case({("severities", 0, "progress", "every"): "0m"}, "severities[0].progress.every", "'0m' is zero", id="zero cadence"),
    case({TARGET: "-5m"}, "severities[1].response.target", "'-5m' is not a duration", "a whole number and a unit", id="negative target"),
    case({TARGET: -5}, "severities[1].response.target", "-5 has no unit", "a whole number and a unit", id="negative number"),
    case({("severities", 0, "response", "target"): "5bh"}, "severities[0].response", "5bh counts business time, so it needs clock: business", "m, h or d for the 24x7 clock", id="business unit on 24x7 clock"),
    case({("severities", 0, "progress", "every"): "1bd"}, "severities[0].progress", "1bd counts business time, so it needs clock: business", id="business cadence on 24x7 clock"),
    case({("severities", 0, "progress"): {"every": "1h", "at_resolution": True}}, "severities[0].progress", "give either every: <duration> or at_resolution: true", id="cadence and at resolution"),
    case({("severities", 0, "progress"): {}}, "severities[0].progress", "give either every: <duration> or at_resolution: true", id="progress without cadence"),
    case({("severities", 1, "response", "clock"): DELETE}, "severities[1].response.clock", "is required", id="target without clock"),
    # levels
    case({("severities", 1, "level"): 1}, "severities", "level 1 is given twice (severities[0] and severities[1])", "give each level once", id="duplicate level"),
    case({("severities", 1, "level"): "any"}, "severities", "severities[1] has level any", "must be the only level", id="any beside numbered levels"),
    case({("severities", 1, "level"): 0}, "severities[1].level", "0 is not a level", "a whole number from 1, or any", id="level zero"),
    case({("severities", 1, "level"): "two"}, "severities[1].level", "'two' is not a level", "a whole number from 1, or any", id="level as a word"),
    case({("severities", 1, "level"): "2"}, "severities[1].level", "'2' is not a level", id="level in quotes"),
    case({("severities",): []}, "severities", "at least 1 item", id="no severities"),
    case({("severities", 1): "high"}, "severities[1]", "expected a mapping of keys to values, got 'high'", id="severity not a mapping"),
    case({("severities", 1, "name"): DELETE}, "severities[1].name", "is required", id="severity without name"),
    # unknown keys: typos must not pass silently
    case({("severitis",): []}, "(top level)", "unknown key 'severitis' (did you mean 'severities'?)", "allowed here: calendar, id, name, refunds, reminders, response_misses, severities, source, uptime", id="unknown top-level key"),
    case({("severities", 1, "respose"): {"target": "1h", "clock": "24x7"}}, "severities[1]", "unknown key 'respose' (did you mean 'response'?)", "allowed here: level, name, progress, resolve, response, restore", id="unknown severity key"),
    case({("calendar", "timezon"): "UTC"}, "calendar", "unknown key 'timezon' (did you mean 'timezone'?)", "allowed here: days, default_timezone, holidays, hours, timezone", id="unknown calendar key"),
    case({("calendar", "holidays", "contry"): "DK"}, "calendar.holidays", "unknown key 'contry' (did you mean 'country'?)", "allowed here: country, extra, subdivision", id="unknown holidays key"),
    case({("uptime", "comitment"): 99}, "uptime", "unknown key 'comitment' (did you mean 'commitment'?)", id="unknown uptime key"),
    case({("uptime", "credits", 0, "percnt"): 5}, "uptime.credits[0]", "unknown key 'percnt' (did you mean 'percent'?)", "allowed here: below, percent", id="unknown tier key"),
    case({("reminders", "escalate"): "30m"}, "reminders", "unknown key 'escalate' (did you mean 'escalate_every'?)", id="unknown reminders key"),
    case({("refunds", 0, "within_days"): 28}, "refunds[0]", "unknown key 'within_days'", id="unknown refund key"),
    case({("severities", 1, "response", "duration"): "1h"}, "severities[1].response", "unknown key 'duration'", "allowed here: clock, target", id="unknown target key"),
    # zones
    case({("calendar", "timezone"): "Europe/Copenhagn"}, "calendar.timezone", "'Europe/Copenhagn' is not a known time zone (did you mean Europe/Copenhagen", "write an IANA name such as Europe/Copenhagen", id="unknown zone"),
    case({("calendar", "timezone"): "CET+1"}, "calendar.timezone", "'CET+1' is not a known time zone", "IANA name", id="zone that is no IANA name"),
    case({("calendar", "timezone"): ""}, "calendar.timezone", "'' is not a time zone", "IANA name", id="empty zone"),
    case({("calendar", "timezone"): "customer", ("calendar", "default_timezone"): "Europe/Copenhage"}, "calendar.default_timezone", "is not a known time zone (did you mean Europe/Copenhagen", id="unknown default zone"),
    case({("calendar", "timezone"): "customer"}, "(top level)", "calendar.timezone is customer, so give default_timezone", id="customer zone without default"),
    case({("calendar", "default_timezone"): "Europe/Oslo"}, "calendar", "default_timezone only applies with timezone: customer", id="default zone with a fixed zone"),
    # holidays
    case({("calendar", "holidays", "country"): "XX"}, "calendar.holidays.country", "'XX' is not a country the holidays package knows", "an ISO 3166 code such as DK, DE or US", id="unknown holiday country"),
    case({("calendar", "holidays", "country"): "Denmark"}, "calendar.holidays.country", "'Denmark' is not a country the holidays package knows", "ISO 3166", id="country by name"),
    case({("calendar", "holidays"): {"country": "DE", "subdivision": "ZZ"}}, "calendar.holidays", "'ZZ' is not a subdivision of DE", "allowed: BB, BE, BW, BY", id="unknown subdivision"),
    case({("calendar", "holidays"): {"subdivision": "BY"}}, "calendar.holidays", "a subdivision needs a country", id="subdivision without country"),
    case({("calendar", "holidays", "extra"): ["2026-13-01"]}, "calendar.holidays.extra[0]", "month value is outside expected range of 1-12", id="extra date that is no date"),
    # the business window
    case({("calendar", "hours"): ["17:00", "08:00"]}, "calendar.hours", "the window must open before it closes, got 17:00–08:00", id="hours open after close"),
    case({("calendar", "hours"): ["08:00", "08:00"]}, "calendar.hours", "the window must open before it closes, got 08:00–08:00", id="hours open at close"),
    case({("calendar", "hours"): ["8am", "5pm"]}, "calendar.hours", "'8am' is not a time of day", 'write HH:MM in quotes, e.g. "08:00"', id="hours in am/pm"),
    case({("calendar", "hours"): [8, 17]}, "calendar.hours", "8 is not a time of day", 'write HH:MM in quotes, e.g. "08:00"', id="hours as numbers"),
    case({("calendar", "hours"): [900, 1700]}, "calendar.hours", "900 is not a time of day", "HH:MM", id="hours as military time"),
    case({("calendar", "hours"): ["08:00", "25:00"]}, "calendar.hours", "'25:00' is not a time of day", "use 00:00 to 24:00", id="hour 25"),
    case({("calendar", "hours"): ["08:60", "17:00"]}, "calendar.hours", "'08:60' is not a time of day", "use 00:00 to 24:00", id="minute 60"),
    case({("calendar", "hours"): ["08:00"]}, "calendar.hours", "hours must be [open, close]", '["08:00", "17:00"]', id="hours without close"),
    case({("calendar", "days"): ["mon", "tues", "wed"]}, "calendar.days", "'tues' is not a weekday", f"use {WEEKDAYS}", id="weekday typo"),
    case({("calendar", "days"): ["mo", "tu"]}, "calendar.days", "'mo' is not a weekday", WEEKDAYS, id="two-letter weekday"),
    case({("calendar", "days"): ["mon", "Monday"]}, "calendar.days", "'Monday' is listed twice", id="weekday twice"),
    case({("calendar", "days"): []}, "calendar.days", "days must be a list such as [mon, tue, wed, thu, fri]", id="no weekdays"),
    case({("calendar", "days"): "mon-fri"}, "calendar.days", "days must be a list such as [mon, tue, wed, thu, fri], got 'mon-fri'", id="weekday range"),
    case({("calendar", "days"): DELETE}, "calendar", "give both days and hours for business time, or neither", id="hours without days"),
    case({("calendar", "days"): DELETE, ("calendar", "hours"): DELETE}, "(top level)", "a target uses clock: business, so calendar needs days and hours", id="business target without business hours"),
    # uptime and credit tiers
    case({("uptime", "credits"): [{"below": 99.0, "percent": 5}, {"below": 99.5, "percent": 10}]}, "uptime", "credit tiers must be strictly ordered from the highest 'below' to the lowest, got 99.0, 99.5", id="tiers not ordered"),
    case({("uptime", "credits"): [{"below": 99.0, "percent": 5}, {"below": 99.0, "percent": 10}]}, "uptime", "credit tiers must be strictly ordered", "got 99.0, 99.0", id="two tiers at one threshold"),
    case({("uptime", "credits"): [{"below": 99.9, "percent": 10}, {"below": 99.0, "percent": 5}]}, "uptime", "a lower uptime tier must credit a larger percent than the one above it", id="tier percent shrinks"),
    case({("uptime", "credits"): [{"below": 99.9, "percent": 5}, {"below": 99.0, "percent": 5}]}, "uptime", "must credit a larger percent", id="tier percent stays"),
    case({("uptime", "credits"): [{"below": 99.95, "percent": 5}]}, "uptime", "the first tier (below 99.95) is above the commitment 99.9", "cannot owe a credit", id="first tier above commitment"),
    case({("uptime", "credits", 0, "percent"): 0}, "uptime.credits[0].percent", "greater than 0", id="zero credit"),
    case({("uptime", "credits", 0, "percent"): "five"}, "uptime.credits[0].percent", "valid decimal", id="credit as a word"),
    case({("uptime", "credits", 1, "below"): 101}, "uptime.credits[1].below", "less than or equal to 100", id="tier above 100"),
    case({("uptime", "commitment"): 0}, "uptime.commitment", "greater than 0", id="zero commitment"),
    case({("uptime", "commitment"): 100.5}, "uptime.commitment", "less than or equal to 100", id="commitment above 100"),
    case({("uptime", "period"): "week"}, "uptime.period", "'week' is not an uptime period", "use month or year", id="uptime period"),
    case({("uptime", "claim_window"): "30bd"}, "uptime", "claim_window is in calendar days; write it in d", id="claim window in business days"),
    case({("uptime", "claim_window"): "0d"}, "uptime.claim_window", "'0d' is zero", id="zero claim window"),
    case({("uptime", "maintenance", "notice"): "-1h"}, "uptime.maintenance.notice", "'-1h' is not a duration", "a whole number and a unit", id="negative notice"),
    # refunds and response-miss credits
    case({("refunds", 0, "severity"): 9}, "(top level)", "refunds[0] counts severity 9, which this policy does not have; levels: 1, 2", id="refund for a missing severity"),
    case({("refunds", 0, "within"): "28bd"}, "refunds[0].within", "the window counts consecutive days; write it in d", id="refund window in business days"),
    case({("refunds", 0, "within"): "0d"}, "refunds[0].within", "'0d' is zero", id="zero refund window"),
    case({("refunds", 0, "more_than"): -1}, "refunds[0].more_than", "greater than or equal to 0", id="negative refund count"),
    case({("refunds", 0, "min_impact_pct"): 0}, "refunds[0].min_impact_pct", "greater than 0", id="zero impact"),
    case({("refunds", 0, "percent_of_monthly_fee"): 150}, "refunds[0].percent_of_monthly_fee", "less than or equal to 100", id="refund above the fee"),
    case({("response_misses", "period"): "week"}, "response_misses.period", "'month' or 'year'", id="response-miss period"),
    case({("response_misses", "percent"): 0}, "response_misses.percent", "greater than 0", id="zero response-miss credit"),
    case({("uptime", "clause"): ""}, "uptime.clause", "'' is not a clause", 'e.g. "§6 SLAs and credits"', id="empty clause"),
    case({("uptime", "clause"): 6}, "uptime.clause", "6 is not a clause", "on one line", id="clause as a number"),
    case({("refunds", 0, "clause"): "§5.2\n(a)"}, "refunds[0].clause", "is not a clause", "on one line", id="clause over two lines"),
    case({("response_misses", "clause"): "x" * 121}, "response_misses.clause", "the clause is 121 characters; cite it in at most 120", id="clause too long"),
    # reminders
    case({("reminders", "long_target"): DELETE}, "reminders", "at_percent needs long_target", id="at_percent without long_target"),
    case({("reminders", "at_percent"): [50, 100]}, "reminders.at_percent", "100 is not a share of a target; use 1 to 99", id="at 100 percent"),
    case({("reminders", "at_percent"): [0]}, "reminders.at_percent", "0 is not a share of a target; use 1 to 99", id="at 0 percent"),
    case({("reminders", "at_percent"): [50, 50]}, "reminders.at_percent", "a percentage is listed twice", id="percent twice"),
    case({("reminders", "before"): ["1bh"]}, "reminders", "1bh: reminder lead times are wall time; write m, h or d", id="business lead time"),
    case({("reminders", "escalate_every"): "1bd"}, "reminders", "1bd: reminder lead times are wall time", id="business escalation cadence"),
    case({("reminders", "before"): ["0m"]}, "reminders.before[0]", "'0m' is zero", id="zero lead time"),
    # the policy itself
    case({("id",): "Acme SLA"}, "id", "should match pattern '^[a-z0-9][a-z0-9-]*$'", id="id with capitals and spaces"),
    case({("name",): DELETE}, "name", "is required", id="no name"),
    case({("calendar",): DELETE}, "calendar", "is required", id="no calendar"),
]
# fmt: on


@pytest.mark.parametrize(("changes", "field", "allowed"), REFUSALS)
def test_a_mistake_is_refused_naming_file_field_and_what_is_allowed(
    write_yaml, changes, field, allowed
):
    path = write_yaml("acme-sla.yaml", mutated(changes))
    error = refusal(path)
    assert len(error.problems) == 1, error.problems
    assert error.problems[0].startswith(f"{path}: {field}: ")
    for text in allowed:
        assert text in error.problems[0]


# --- what only YAML text can say ----------------------------------------------------------

DIXA = (SHIPPED_POLICIES_DIR / "dixa.yaml").read_text(encoding="utf-8")
HOURS = 'hours: ["08:00", "17:00"]'


def dixa_with(old: str, new: str) -> str:
    assert DIXA.count(old) == 1
    return DIXA.replace(old, new)


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return lines[occurrence - 1]


def test_a_key_given_twice_is_refused_with_both_lines(write_yaml):
    text = dixa_with(HOURS, f'{HOURS}\n  hours: ["09:00", "17:00"]')
    path = write_yaml("dixa.yaml", text)
    first, second = line_of(text, "hours: ["), line_of(text, "hours: [", 2)
    assert str(refusal(path)) == (
        f"{path}:{second}: not valid YAML: key 'hours' is given twice (first on line {first})"
    )


def test_a_severity_level_given_twice_in_one_block_is_refused(write_yaml):
    path = write_yaml("dixa.yaml", dixa_with("  - level: 2\n", "  - level: 2\n    level: 3\n"))
    assert "key 'level' is given twice" in str(refusal(path))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("days: [mon, tue, wed, thu, fri]", "days: [mon, tue", "expected ',' or ']'"),
        ("  days:", "\tdays:", "found character '\\t' that cannot start any token"),
        ("name: High Impact", "name: High: Impact", "mapping values are not allowed here"),
    ],
    ids=["unclosed list", "tab indent", "colon in a plain value"],
)
def test_invalid_yaml_is_refused_with_the_line(write_yaml, old, new, problem):
    text = dixa_with(old, new)
    path = write_yaml("dixa.yaml", text)
    message = str(refusal(path))
    assert message.startswith(f"{path}:")
    assert "not valid YAML" in message
    assert problem in message
    line = int(message.removeprefix(f"{path}:").split(":")[0])
    assert line - line_of(text, new) in (0, 1)  # the line, or the next for an unclosed list


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("[08:00, 17:00]", ("08:00", "17:00")),
        ("[8:00, 17:00]", ("08:00", "17:00")),
        ("[9:30, 16:45]", ("09:30", "16:45")),
        ('["00:00", "24:00"]', ("00:00", "24:00")),
    ],
    ids=["unquoted 17:00", "unquoted 8:00", "unquoted half hours", "whole day"],
)
def test_unquoted_times_of_day_are_read_as_written(write_yaml, hours, expected):
    policy = load_policy_file(write_yaml("dixa.yaml", dixa_with(HOURS, f"hours: {hours}")))
    assert policy.calendar.hours == expected


@pytest.mark.parametrize(
    ("holidays", "field", "quoted"),
    [
        ("{country: NO}", "calendar.holidays.country", '"NO"'),
        ("{country: CA, subdivision: ON}", "calendar.holidays.subdivision", '"ON"'),
    ],
    ids=["Norway read as false", "Ontario read as true"],
)
def test_a_code_yaml_reads_as_yes_or_no_asks_for_quotes(write_yaml, holidays, field, quoted):
    text = dixa_with(HOURS, f"{HOURS}\n  holidays: {holidays}")
    path = write_yaml("dixa.yaml", text)
    message = str(refusal(path))
    assert message.startswith(f"{path}: {field}: ")
    assert "in quotes" in message
    assert quoted in message


@pytest.mark.parametrize(
    ("holidays", "country", "subdivision"),
    [
        ('{country: "NO"}', "NO", None),
        ("{country: dk}", "DK", None),
        ("{country: DE, subdivision: BY}", "DE", "BY"),
    ],
    ids=["quoted NO", "lower-case country", "subdivision"],
)
def test_holiday_countries_that_are_accepted(write_yaml, holidays, country, subdivision):
    text = dixa_with(HOURS, f"{HOURS}\n  holidays: {holidays}")
    calendar = load_policy_file(write_yaml("dixa.yaml", text)).calendar
    assert (calendar.holidays.country, calendar.holidays.subdivision) == (country, subdivision)


def test_the_countries_accepted_are_every_country_the_holidays_package_lists():
    import holidays

    assert holiday_countries() == set(holidays.list_supported_countries())
    assert {"DK", "DNK", "UK", "US"} <= holiday_countries()


def test_weekdays_may_be_written_in_full_and_in_capitals(write_yaml):
    text = dixa_with("days: [mon, tue, wed, thu, fri]", "days: [Monday, TUE, wednesday, thu, Fri]")
    calendar = load_policy_file(write_yaml("dixa.yaml", text)).calendar
    assert calendar.days == ("mon", "tue", "wed", "thu", "fri")


def test_one_day_on_the_24x7_clock_and_a_business_day_are_both_accepted(write_yaml):
    data = mutated(
        {("severities", 0, "restore", "target"): "1d", ("severities", 1, "restore", "target"): "1d"}
    )
    policy = load_policy_file(write_yaml("acme-sla.yaml", data))
    assert policy.severity(1).restore.clock is ClockKind.WALL
    assert policy.severity(2).restore.clock is ClockKind.BUSINESS
    assert policy.severity(2).restore.target == Duration(1, "d")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "(top level): Input should be a valid dictionary"),
        ("- id: acme-sla\n", "(top level): expected a mapping of keys to values"),
    ],
    ids=["empty file", "list instead of mapping"],
)
def test_a_file_that_is_not_a_policy_is_refused(write_yaml, text, problem):
    path = write_yaml("acme-sla.yaml", text)
    assert str(refusal(path)).startswith(f"{path}: {problem}")


# --- files and ids -------------------------------------------------------------------------


def test_the_file_name_must_be_the_policy_id(write_yaml):
    path = write_yaml("acme.yaml", minimal_policy())
    assert str(refusal(path)) == (
        f"{path}: id: 'acme-sla' differs from the file name; name the file acme-sla.yaml"
    )


def test_two_files_with_one_id_are_refused_naming_both(write_yaml):
    first = write_yaml("a/acme-sla.yaml", minimal_policy())
    second = write_yaml("b/acme-sla.yaml", minimal_policy())
    assert str(refusal(first, second)) == f"{second}: id: 'acme-sla' is already used by {first}"


def test_every_bad_file_is_reported_at_once(write_yaml):
    bad_clock = write_yaml("acme-sla.yaml", mutated({CLOCK: "wall"}))
    bad_zone = write_yaml("dixa.yaml", dixa_with("Europe/Copenhagen", "Europe/Kopenhagen"))
    problems = refusal(bad_clock, bad_zone).problems
    assert [p.split(": ")[0:2] for p in problems] == [
        [str(bad_clock), "severities[1].response.clock"],
        [str(bad_zone), "calendar.default_timezone"],
    ]


def test_a_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert str(refusal(path)) == f"{path}: cannot be read (No such file or directory)"


def test_a_policy_folder_must_exist_and_hold_policies(tmp_path):
    with pytest.raises(ContractError, match="not a folder of policy files"):
        policy_files(tmp_path / "missing")
    with pytest.raises(ContractError, match=r"holds no policy files \(\*\.yaml\)"):
        policy_files(tmp_path)


def test_a_folder_lists_yaml_and_yml_files_in_order(write_yaml, tmp_path):
    write_yaml("b.yml", "")
    write_yaml("a.yaml", "")
    write_yaml("notes.txt", "")
    assert [p.name for p in policy_files(tmp_path)] == ["a.yaml", "b.yml"]
