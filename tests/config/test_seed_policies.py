"""The shipped policies say what their contracts say (docs/semantics.md §1, §6 and §7)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from config.contracts import SHIPPED_POLICIES_DIR
from config.policy import ClockKind, Duration

WALL, BUSINESS = ClockKind.WALL, ClockKind.BUSINESS


def test_the_three_contracts_are_shipped(shipped):
    assert sorted(shipped) == ["diplomasafe", "dixa", "messaging-platform"]
    # Each cites its contract by name and version or date, not by a file outside the repository.
    assert {p.id: p.source for p in shipped.values()} == {
        "dixa": "Dixa Service-level Agreement, last updated 2018-04-03",
        "messaging-platform": "Messaging platform Service Level Agreement "
        "(undated; the provider's name is not in the text)",
        "diplomasafe": "Diplomasafe Service Level Agreement (SLA), version 1.3",
    }


# --- §7 severities --------------------------------------------------------------------------

TARGETS = [
    # policy, level, response, restore
    ("dixa", 1, ("5m", WALL), ("4h", WALL)),
    ("dixa", 2, ("1bh", BUSINESS), ("1bd", BUSINESS)),
    ("dixa", 3, ("2bh", BUSINESS), ("3bd", BUSINESS)),
    ("dixa", 4, ("1bd", BUSINESS), ("7bd", BUSINESS)),
    ("messaging-platform", 1, ("30m", WALL), ("4h", WALL)),
    ("messaging-platform", 2, ("1h", WALL), ("8h", WALL)),
    ("messaging-platform", 3, ("4h", WALL), ("1d", WALL)),
    ("diplomasafe", 1, ("4bh", BUSINESS), None),
    ("diplomasafe", 4, ("4bh", BUSINESS), None),
]


@pytest.mark.parametrize(("policy", "level", "response", "restore"), TARGETS)
def test_response_and_restore_targets(shipped, policy, level, response, restore):
    spec = shipped[policy].severity(level)

    def target(t):
        return None if t is None else (str(t.target), t.clock)

    assert (target(spec.response), target(spec.restore)) == (response, restore)
    assert spec.resolve is None  # tracked, but no shipped contract sets a target


@pytest.mark.parametrize(
    ("policy", "level", "every", "at_resolution"),
    [
        ("messaging-platform", 1, Duration(60, "m"), False),
        ("messaging-platform", 2, Duration(4, "h"), False),
        ("messaging-platform", 3, None, True),
    ],
)
def test_messaging_platform_progress_reports(shipped, policy, level, every, at_resolution):
    progress = shipped[policy].severity(level).progress
    assert (progress.every, progress.clock, progress.at_resolution) == (every, WALL, at_resolution)


@pytest.mark.parametrize("policy", ["dixa", "diplomasafe"])
def test_no_progress_cadence_where_the_contract_gives_none(shipped, policy):
    assert all(s.progress is None for s in shipped[policy].severities)


@pytest.mark.parametrize(
    ("policy", "levels", "names"),
    [
        (
            "dixa",
            (1, 2, 3, 4),
            ["Critical Impact (Code Red)", "High Impact", "Medium Impact", "Low Impact"],
        ),
        ("messaging-platform", (1, 2, 3), ["Severity I", "Severity II", "Severity III"]),
        ("diplomasafe", (), ["Support request"]),
    ],
)
def test_levels_and_their_names(shipped, policy, levels, names):
    policy_ = shipped[policy]
    assert policy_.levels == levels
    assert all(s.name.startswith(n) for s, n in zip(policy_.severities, names, strict=True))


def test_diplomasafe_has_one_level_for_every_request(shipped):
    policy = shipped["diplomasafe"]
    assert [s.level for s in policy.severities] == ["any"]
    assert policy.severity(1) is policy.severity(9) is policy.severities[0]


# --- §1 calendars ---------------------------------------------------------------------------


def test_dixa_runs_in_customer_local_time_mon_to_fri_8_to_17(shipped):
    calendar = shipped["dixa"].calendar
    assert (calendar.timezone, calendar.default_timezone) == ("customer", "Europe/Copenhagen")
    assert calendar.days == ("mon", "tue", "wed", "thu", "fri")
    assert calendar.hours == ("08:00", "17:00")
    assert calendar.holidays is None
    assert calendar.zone_for("America/New_York") == "America/New_York"
    assert calendar.zone_for(None) == "Europe/Copenhagen"


def test_diplomasafe_runs_in_copenhagen_mon_to_fri_9_to_17_without_danish_holidays(shipped):
    calendar = shipped["diplomasafe"].calendar
    assert calendar.timezone == "Europe/Copenhagen"
    assert calendar.days == ("mon", "tue", "wed", "thu", "fri")
    assert calendar.hours == ("09:00", "17:00")
    assert (calendar.holidays.country, calendar.holidays.subdivision) == ("DK", None)
    assert calendar.zone_for("America/New_York") == "Europe/Copenhagen"


def test_diplomasafe_says_it_reads_cet_as_copenhagen_time():
    text = (SHIPPED_POLICIES_DIR / "diplomasafe.yaml").read_text(encoding="utf-8")
    assert re.search(r'#.*"CET" is read as Europe/Copenhagen, which follows summer time', text)


def test_the_messaging_platform_runs_24x7(shipped):
    policy = shipped["messaging-platform"]
    assert not policy.calendar.has_business_hours
    assert policy.calendar.timezone == "UTC"
    targets = [
        t for s in policy.severities for t in (s.response, s.restore, s.progress) if t is not None
    ]
    assert {t.clock for t in targets} == {WALL}


# --- §6 uptime, credits and refunds -----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "period", "commitment", "credits", "claim_window", "notice"),
    [
        ("dixa", "month", "99.9", [("99.9", "5"), ("99.0", "10")], "30d", "24h"),
        (
            "diplomasafe",
            "year",
            "99.9",
            [("99.9", "2.5"), ("90", "25"), ("80", "100")],
            "30d",
            "0m",
        ),
        ("messaging-platform", "year", "99.99", [], None, "24h"),
    ],
)
def test_uptime(shipped, policy, period, commitment, credits, claim_window, notice):
    uptime = shipped[policy].uptime
    assert (uptime.period, uptime.commitment) == (period, Decimal(commitment))
    assert [(t.below, t.percent) for t in uptime.credits] == [
        (Decimal(b), Decimal(p)) for b, p in credits
    ]
    assert (None if uptime.claim_window is None else str(uptime.claim_window)) == claim_window
    assert (uptime.maintenance.excluded, str(uptime.maintenance.notice)) == (True, notice)


def test_messaging_platform_refunds_the_monthly_fee_for_repeated_failures(shipped):
    refunds = [
        (r.severity, r.more_than, str(r.within), r.min_impact_pct, r.percent_of_monthly_fee)
        for r in shipped["messaging-platform"].refunds
    ]
    assert refunds == [
        (1, 3, "28d", None, Decimal(100)),
        (2, 5, "28d", Decimal(25), Decimal(100)),
    ]


def test_diplomasafe_credits_more_than_three_response_misses_a_year(shipped):
    misses = shipped["diplomasafe"].response_misses
    assert (misses.more_than, misses.period, misses.percent, str(misses.claim_window)) == (
        3,
        "year",
        Decimal("1.5"),
        "30d",
    )


@pytest.mark.parametrize(
    ("policy", "refunds", "response_misses"),
    [("dixa", False, False), ("diplomasafe", False, True), ("messaging-platform", True, False)],
)
def test_only_the_contracts_that_say_so_have_refunds_or_response_miss_credits(
    shipped, policy, refunds, response_misses
):
    assert (bool(shipped[policy].refunds), shipped[policy].response_misses is not None) == (
        refunds,
        response_misses,
    )


# --- every number quotes the contract ---------------------------------------------------------

NUMBER_KEYS = re.compile(
    r"\b(target|every|hours|holidays|commitment|below|percent|claim_window|notice|more_than"
    r"|within|min_impact_pct|credits|period|timezone):"
)
QUOTING_COMMENT = re.compile(r'^\s*#.*"')


def quoted_lines(name: str) -> list[tuple[int, str, bool]]:
    """Each contract line with a number: whether a comment within 6 lines above quotes the contract."""
    lines = (SHIPPED_POLICIES_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    section = ""
    found = []
    for number, line in enumerate(lines, 1):
        if re.match(r"^[a-z_]+:", line):
            section = line.split(":")[0]
        code = line.split("#")[0]
        if section == "reminders" or line.lstrip().startswith("#"):
            continue
        if NUMBER_KEYS.search(code) and re.search(r"\d|\[\]", code):
            above = lines[max(0, number - 7) : number - 1]
            found.append((number, line, any(QUOTING_COMMENT.match(a) for a in above)))
    return found


@pytest.mark.parametrize("name", ["dixa", "diplomasafe", "messaging-platform"])
def test_every_contract_number_has_a_comment_quoting_the_contract(name):
    lines = quoted_lines(name)
    assert len(lines) >= 8
    assert [(n, line) for n, line, quoted in lines if not quoted] == []


@pytest.mark.parametrize("name", ["dixa", "diplomasafe", "messaging-platform"])
def test_every_severity_block_carries_a_comment(name):
    text = (SHIPPED_POLICIES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    severities = text.split("\nseverities:\n")[1].split("\nreminders:")[0]
    blocks = re.split(r"\n  - level:", severities)[1:]
    assert blocks
    for block in blocks:
        assert any(QUOTING_COMMENT.match(line) for line in block.splitlines()), block


@pytest.mark.parametrize("name", ["dixa", "diplomasafe", "messaging-platform"])
def test_readings_that_are_not_in_the_contract_say_so(name):
    text = (SHIPPED_POLICIES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    reminders = text.split("\nreminders:\n")[1]
    assert reminders.lstrip().startswith("# Not in the contract")


def test_every_credit_rule_cites_the_clause_a_statement_quotes(shipped):
    """A customer's statement names the clause that owes each credit; each quoted in its
    policy file's comments (§6 of Dixa, §5.2 (a) and (b) of the messaging platform, the
    defined terms of Diplomasafe, which numbers no sections)."""
    cited = {
        p.id: (
            p.uptime.clause if p.uptime else None,
            [r.clause for r in p.refunds],
            p.response_misses.clause if p.response_misses else None,
        )
        for p in shipped.values()
    }
    assert cited == {
        "dixa": ("§6 SLAs and credits", [], None),
        "messaging-platform": ("§3.1 Availability", ["§5.2 (a)", "§5.2 (b)"], None),
        "diplomasafe": (
            "Uptime Commitment and Uptime Service Credit",
            [],
            "Response Time Commitment and Response Time Service Credit",
        ),
    }
