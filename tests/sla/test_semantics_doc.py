"""docs/semantics.md's checked tables agree with the engine and the shipped policies.

Each table the page marks *checked* is read here and every row recomputed, so a change to
the engine or to a policy file that the page does not follow fails, and so does a row typed
wrong.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.sla.contract import Contract
from bot.sla.credits import applicable_tier
from bot.sla.timers import Pause, TimerKind, due_at
from bot.sla.uptime import measure_uptime, minutes, period_bounds
from config.policy import SeveritySpec
from tests.sla.conftest import POLICIES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "semantics.md").read_text(encoding="utf-8")


def table(heading: str) -> list[dict[str, str]]:
    """The first table under ``heading`` (a ``##`` or ``###`` line), as rows by column name."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#|\Z)", DOC, re.M | re.S)
    assert match, f"docs/semantics.md has no heading {heading!r}"
    lines = [line for line in match.group(1).splitlines() if line.startswith("|")]
    assert len(lines) > 2, f"no table under {heading!r}"

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=True)) for line in lines[2:]]


def instant(text: str) -> dt.datetime:
    """``2026-11-20T16:30+01:00 (Fri)`` or ``2026-02-28T23:00Z``."""
    return dt.datetime.fromisoformat(text.split()[0].replace("Z", "+00:00"))


def local_text(moment: dt.datetime, zone: str) -> str:
    """How the page writes an instant: ISO-8601 in the zone, and the weekday."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.isoformat(timespec='minutes')} ({local:%a})"


# --- §2 worked examples ------------------------------------------------------------------------

EXAMPLES = table("Worked examples")


@pytest.mark.parametrize(
    "row", EXAMPLES, ids=[f"{r['policy']} {r['timer']} {r['starts']}" for r in EXAMPLES]
)
def test_each_worked_example_is_the_engines_deadline(row):
    zone = row["zone"]
    contract = Contract(policy=POLICIES[row["policy"]], zone=zone)
    level = 1 if row["severity"] == "any" else int(row["severity"])
    rule = contract.rule(TimerKind(row["timer"]), level)
    assert rule is not None and rule.describe() == row["target"]
    start = instant(row["starts"])
    assert local_text(start, zone) == row["starts"], "write the start in the contract's zone"
    pauses = ()
    if row["paused"] != "—":
        began, ended = (instant(part) for part in row["paused"].split(" – "))
        pauses = (Pause(began, ended),)
    assert local_text(due_at(rule, start, pauses), zone) == row["due"]


def test_the_worked_examples_cover_the_three_contracts_and_both_clocks():
    assert {r["policy"] for r in EXAMPLES} == set(POLICIES)
    assert {r["target"].split()[1] for r in EXAMPLES} == {"24x7", "business"}
    assert any(r["paused"] != "—" for r in EXAMPLES)


# --- §5 available minutes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row", table("Available minutes"), ids=lambda r: f"{r['period']} {r['zone']}"
)
def test_available_minutes_are_every_real_minute_of_the_period(row):
    if row["period"].isdigit():
        bounds = period_bounds("year", row["zone"], year=int(row["period"]))
    else:
        name, year = row["period"].split()  # October 2026
        month = list(calendar.month_name).index(name)
        bounds = period_bounds("month", row["zone"], year=int(year), month=month)
    assert bounds == (instant(row["starts (UTC)"]), instant(row["ends (UTC)"]))
    assert minutes(bounds[1] - bounds[0]) == int(row["minutes"].replace(",", ""))


# --- §6 Dixa's tiers at their edges ------------------------------------------------------------


def span(text: str) -> dt.timedelta:
    """``44 min 42 s``, ``22,350 min``."""
    match = re.fullmatch(r"([\d,]+) min(?: (\d+) s)?", text)
    assert match, text
    return dt.timedelta(minutes=int(match.group(1).replace(",", "")), seconds=int(match[2] or 0))


@pytest.mark.parametrize("row", table("Dixa's tiers at their edges"), ids=lambda r: r["downtime"])
def test_dixa_tier_edges(row):
    october = period_bounds("month", "Europe/Copenhagen", year=2026, month=10)
    result = measure_uptime(
        *october, october[1], [(october[0], october[0] + span(row["downtime"]))]
    )
    tier = applicable_tier(result, POLICIES["dixa"].uptime.credits)
    credit = row["Dixa credit"]
    if credit.startswith("none"):
        assert tier is None
    else:
        assert tier is not None and credit.startswith(f"{tier.percent.normalize():f} %")
    stated = Decimal(re.search(r"([\d.]+) %", row["uptime"]).group(1))
    if row["uptime"].startswith("just below"):  # by a second's worth: under 0.0001 %
        assert result.below(stated) and result.uptime_pct > stated - Decimal("0.0001")
    else:
        assert result.uptime_pct == stated


# --- §7 severities, and the contracts shipped ------------------------------------------------------


def targets(spec: SeveritySpec) -> tuple[str, str, str]:
    def target(t) -> str:
        return "—" if t is None else f"{t.target} {t.clock}"

    progress = spec.progress
    if progress is None:
        cadence = "—"
    elif progress.at_resolution:
        cadence = "at resolution"
    else:
        cadence = f"every {progress.every} {progress.clock}"
    return target(spec.response), target(spec.restore), cadence


def test_the_severity_table_is_every_level_of_every_shipped_policy():
    rows = table("7. Severities in the shipped contracts")
    shown = {
        (r["policy"], r["level"]): (r["name"], r["response"], r["restore"], r["progress"])
        for r in rows
    }
    assert shown == {
        (policy.id, str(s.level)): (s.name, *targets(s))
        for policy in POLICIES.values()
        for s in policy.severities
    }


def test_the_contracts_are_named_as_their_policies_cite_them():
    rows = table("What the contracts mean to slabot")
    assert {r["policy"].strip("`"): r["contract"] for r in rows} == {
        policy.id: policy.source for policy in POLICIES.values()
    }
