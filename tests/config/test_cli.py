"""``slabot policy check`` and ``slabot sla deadlines``, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from config import settings
from config.contracts import SHIPPED_POLICIES_DIR

CUSTOMERS = {
    "customers": [
        {"id": "acme", "name": "Acme Retail Inc.", "policy": "dixa", "timezone": "America/New_York",
         "fee": {"amount": 4000, "currency": "USD", "per": "month"}},
        {"id": "nordlys", "name": "Nordlys ApS", "policy": "dixa",
         "overrides": {"severities": [{"level": 2, "response": {"target": "30m"}}]}},
    ]
}  # fmt: skip


@pytest.fixture
def slabot(monkeypatch):
    """Run ``slabot ARGS`` with these settings in the environment."""

    def run(*args: str, **env: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.reset()
        return CliRunner().invoke(main, list(args))

    return run


@pytest.fixture
def customers_file(write_yaml) -> Path:
    return write_yaml("customers.yaml", CUSTOMERS)


def deadlines(slabot, *args: str, **env: str) -> dict:
    result = slabot("sla", "deadlines", *args, "--json", **env)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return json.loads(result.stdout)


def refused(result: Result) -> str:
    """The one-line usage error of a refused command (exit status 2)."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return result.stderr.strip().splitlines()[-1]


# --- policy check ---------------------------------------------------------------------------------


def test_policy_check_shows_every_shipped_policy(slabot):
    result = slabot("policy", "check")
    assert (result.exit_code, result.stderr) == (0, "")
    out = result.stdout
    for expected in [
        "dixa — Dixa Service-level Agreement (2018-04-03)",
        "diplomasafe — Diplomasafe Service Level Agreement (version 1.3)",
        "messaging-platform — Messaging platform Service Level Agreement",
        "contract: Diplomasafe Service Level Agreement (SLA), version 1.3",
        "business hours: Mon, Tue, Wed, Thu, Fri 08:00–17:00 in the customer's zone "
        "(default Europe/Copenhagen); no holidays",
        "Mon, Tue, Wed, Thu, Fri 09:00–17:00 in Europe/Copenhagen; closed on DK public holidays",
        "no business hours (every target runs 24x7); calendar zone UTC",
        "credits of the month's fee: below 99.9 % → 5 %, below 99 % → 10 %",
        "refund: more than 5 severity 2 failures affecting ≥ 25 % of traffic within 28d",
        "response misses: more than 3 in a year → 1.5 % of the annual fee; claim within 30d",
        "ok: 3 policies, 0 customers",
    ]:
        assert expected in out
    assert out.count("level  severity") == 3
    for row in [
        "1      Critical Impact (Code Red)  5m 24x7       4h 24x7       —",
        "2      High Impact                 1bh business  1bd business  —",
        "4      Low Impact                  1bd business  7bd business  —",
        "any    Support request  4bh business  —        —",
        "30m 24x7  4h 24x7  every 60m 24x7",
        "4h 24x7   1d 24x7  at resolution",
    ]:
        assert row in out


def test_policy_check_of_good_files_shows_only_them(slabot):
    result = slabot("policy", "check", str(SHIPPED_POLICIES_DIR / "dixa.yaml"))
    assert result.exit_code == 0
    assert "dixa — " in result.stdout and "diplomasafe" not in result.stdout
    assert result.stdout.rstrip().endswith("ok: 1 policy, 0 customers")


def test_policy_check_of_a_bad_file_fails_with_the_problem_on_stderr(slabot, write_yaml):
    dixa = (SHIPPED_POLICIES_DIR / "dixa.yaml").read_text(encoding="utf-8")
    bad = write_yaml("dixa.yaml", dixa.replace("clock: business}", "clock: office}", 1))
    result = slabot("policy", "check", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{bad}: severities[1].response.clock: 'office' is not a clock; use 24x7 or business\n"
    )


def test_policy_check_reports_every_bad_file(slabot, write_yaml):
    one = write_yaml("one.yaml", "id: one\nname: One\n")
    two = write_yaml("two.yaml", "id: two\nname: [\n")
    result = slabot("policy", "check", str(one), str(two))
    assert result.exit_code == 1
    problems = result.stderr.splitlines()
    assert f"{one}: calendar: is required" in problems
    assert any(p.startswith(f"{two}:") and "not valid YAML" in p for p in problems)


def test_policy_check_of_a_customers_file_checks_it_against_the_configured_policies(
    slabot, customers_file
):
    result = slabot("policy", "check", str(customers_file))
    assert (result.exit_code, result.stderr) == (0, "")
    assert "customer  name" in result.stdout
    assert "acme      Acme Retail Inc.  dixa    America/New_York   4000 USD/month" in result.stdout
    assert "nordlys   Nordlys ApS       dixa    Europe/Copenhagen  —" in result.stdout
    assert result.stdout.rstrip().endswith("ok: 3 policies, 2 customers")


def test_policy_check_refuses_a_customer_of_an_unknown_policy(slabot, write_yaml):
    path = write_yaml(
        "customers.yaml", {"customers": [{"id": "a", "name": "A", "policy": "dixaa"}]}
    )
    result = slabot("policy", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:4: customers[0].policy: 'dixaa' is not a policy (did you mean 'dixa'?); "
        "policies: diplomasafe, dixa, messaging-platform\n"
    )


def test_policy_check_without_files_checks_the_configured_customers(slabot, customers_file):
    result = slabot("policy", "check", SLABOT_CUSTOMERS_FILE=str(customers_file))
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith("ok: 3 policies, 2 customers")


# --- sla deadlines -------------------------------------------------------------------------------


def test_dixa_severity_2_on_a_friday_afternoon(slabot):
    """docs/semantics.md §2, the first worked example."""
    got = deadlines(slabot, "--policy", "dixa", "--severity", "2", "--start", "2026-11-20T16:30")
    assert got["response_due"] == "2026-11-23T08:30:00+01:00"
    assert got["restore_due"] == "2026-11-23T16:30:00+01:00"
    assert got["first_progress_due"] is None
    assert (got["policy"], got["customer"], got["zone"], got["severity"]) == (
        "dixa",
        None,
        "Europe/Copenhagen",
        2,
    )


@pytest.mark.parametrize(
    ("args", "response", "restore"),
    [
        (
            ["--policy", "dixa", "--severity", "3", "--start", "2026-11-21T10:00"],
            "2026-11-23T10:00:00+01:00",
            "2026-11-25T17:00:00+01:00",
        ),
        (
            ["--policy", "dixa", "--severity", "1", "--start", "2026-03-29T00:30Z"],
            "2026-03-29T01:35:00+01:00",
            "2026-03-29T06:30:00+02:00",
        ),
        (
            ["--policy", "diplomasafe", "--severity", "2", "--start", "2026-11-20T16:30"],
            "2026-11-23T12:30:00+01:00",
            None,
        ),
    ],
    ids=["dixa sev 3 on a Saturday", "dixa sev 1 across summer time", "diplomasafe any level"],
)
def test_worked_examples(slabot, args, response, restore):
    got = deadlines(slabot, *args)
    assert (got["response_due"], got["restore_due"], got["first_progress_due"]) == (
        response,
        restore,
        None,
    )


@pytest.mark.parametrize(
    ("severity", "level", "response", "restore", "first_progress", "at_resolution"),
    [
        ("I", 1, "2026-11-20T17:00", "2026-11-20T20:30", "2026-11-20T17:30", False),
        ("sevII", 2, "2026-11-20T17:30", "2026-11-21T00:30", "2026-11-20T20:30", False),
        ("III", 3, "2026-11-20T20:30", "2026-11-21T16:30", None, True),
    ],
)
def test_messaging_platform_severities_from_16_30_utc(
    slabot, severity, level, response, restore, first_progress, at_resolution
):
    got = deadlines(
        slabot,
        "--policy",
        "messaging-platform",
        "--severity",
        severity,
        "--start",
        "2026-11-20T16:30Z",
    )

    def utc(local):
        return None if local is None else f"{local}:00+00:00"

    assert got["severity"] == level
    assert (got["response_due"], got["restore_due"], got["first_progress_due"]) == (
        utc(response),
        utc(restore),
        utc(first_progress),
    )
    assert got["progress_at_resolution"] is at_resolution


def test_every_deadline_is_an_instant_with_an_offset(slabot):
    got = deadlines(
        slabot, "--policy", "messaging-platform", "--severity", "1", "--start", "2026-11-20T16:30Z"
    )
    assert {"response_due", "restore_due", "first_progress_due"} <= set(got)
    for key in ("start", "response_due", "restore_due", "first_progress_due"):
        assert got[key].endswith("+00:00")


def test_the_default_policy_is_the_deployments_own(slabot):
    args = ("--severity", "1", "--start", "2026-11-20T16:30Z")
    assert deadlines(slabot, *args)["policy"] == "messaging-platform"
    assert deadlines(slabot, *args, SLABOT_DEFAULT_POLICY="dixa")["policy"] == "dixa"


def test_tz_sets_the_zone_of_a_customer_local_calendar(slabot):
    got = deadlines(
        slabot, "--policy", "dixa", "--severity", "2", "--start", "2026-11-20T16:30",
        "--tz", "America/New_York",
    )  # fmt: skip
    assert (got["zone"], got["start"]) == ("America/New_York", "2026-11-20T16:30:00-05:00")
    assert got["response_due"] == "2026-11-23T08:30:00-05:00"
    assert got["restore_due"] == "2026-11-23T16:30:00-05:00"


def test_a_start_with_an_offset_is_taken_as_given(slabot):
    got = deadlines(slabot, "--policy", "dixa", "--severity", "2", "--start", "2026-11-20T15:30Z")
    assert got["start"] == "2026-11-20T16:30:00+01:00"


@pytest.mark.parametrize("customer", ["acme", "Acme Retail Inc."])
def test_customer_takes_the_customers_zone(slabot, customers_file, customer):
    got = deadlines(
        slabot, "--customer", customer, "--severity", "2", "--start", "2026-11-20T16:30",
        SLABOT_CUSTOMERS_FILE=str(customers_file),
    )  # fmt: skip
    assert (got["customer"], got["policy"], got["zone"]) == ("acme", "dixa", "America/New_York")
    assert got["response_due"] == "2026-11-23T08:30:00-05:00"


def test_customer_takes_the_order_form(slabot, customers_file):
    got = deadlines(
        slabot, "--customer", "nordlys", "--policy", "dixa", "--severity", "2",
        "--start", "2026-11-20T16:30", SLABOT_CUSTOMERS_FILE=str(customers_file),
    )  # fmt: skip
    assert got["zone"] == "Europe/Copenhagen"
    assert got["response_due"] == "2026-11-20T17:00:00+01:00"  # 30 min, used up at the close
    assert got["restore_due"] == "2026-11-23T16:30:00+01:00"  # the policy's own 1bd


def test_the_table_shows_the_calendar_zone_and_utc(slabot):
    result = slabot(
        "sla", "deadlines", "--policy", "dixa", "--severity", "2", "--start", "2026-11-20T16:30"
    )
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "dixa: severity 2 — High Impact"
    assert lines[1] == "started Fri 2026-11-20 16:30 CET (2026-11-20 15:30 UTC)"
    assert lines[2].split("  ")[0] == "timer"
    assert "due (Europe/Copenhagen)" in lines[2] and "due (UTC)" in lines[2]
    response = next(line for line in lines if line.startswith("response"))
    assert "1bh business" in response
    assert "Mon 2026-11-23 08:30 CET" in response and "2026-11-23 07:30 UTC" in response
    assert "no target" in next(line for line in lines if line.startswith("progress"))


def test_the_table_says_when_reports_are_due_at_resolution(slabot):
    result = slabot(
        "sla", "deadlines", "--policy", "messaging-platform", "--severity", "3",
        "--start", "2026-11-20T16:30Z",
    )  # fmt: skip
    assert "one report at resolution" in next(
        line for line in result.stdout.splitlines() if line.startswith("progress")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--policy", "dixa", "--severity", "7"],
            "Error: severity 7 is not in dixa; levels: 1 (Critical Impact (Code Red)), "
            "2 (High Impact), 3 (Medium Impact), 4 (Low Impact)",
        ),
        (
            ["--policy", "dixa", "--severity", "urgent"],
            "Error: 'urgent' is not a severity; write a level such as 1, sev1, I or critical",
        ),
        (
            ["--policy", "dixaa", "--severity", "2"],
            "Error: 'dixaa' is not a policy (did you mean 'dixa'?); "
            "policies: diplomasafe, dixa, messaging-platform",
        ),
        (
            ["--policy", "dixa", "--severity", "2", "--start", "last friday"],
            "Error: 'last friday' is not an ISO-8601 time; "
            "write e.g. 2026-11-20T16:30 or 2026-11-20T16:30+01:00",
        ),
        (
            ["--policy", "diplomasafe", "--severity", "2", "--tz", "America/New_York"],
            "Error: diplomasafe runs in Europe/Copenhagen, fixed by the contract; "
            "--tz only sets the zone of a calendar with timezone: customer",
        ),
        (
            ["--policy", "messaging-platform", "--severity", "2", "--tz", "Europe/Oslo"],
            "Error: messaging-platform runs in UTC, fixed by the contract; "
            "--tz only sets the zone of a calendar with timezone: customer",
        ),
        (
            ["--policy", "dixa", "--severity", "2", "--tz", "America/NewYork"],
            "Error: 'America/NewYork' is not a known time zone (did you mean America/New_York",
        ),
        (
            ["--customer", "acme", "--severity", "2", "--tz", "Europe/Oslo"],
            "Error: --tz and --customer exclude each other: the customer's zone is used",
        ),
        (
            ["--customer", "acme", "--policy", "diplomasafe", "--severity", "2"],
            "Error: customer acme is on policy dixa, not diplomasafe; "
            "leave out --policy or pick one of them",
        ),
        (
            ["--customer", "acmee", "--severity", "2"],
            "Error: 'acmee' is not a customer (did you mean 'acme'?); customers: acme, nordlys",
        ),
    ],
    ids=[
        "unknown severity",
        "unreadable severity",
        "unknown policy",
        "unreadable start",
        "--tz on a fixed zone",
        "--tz on UTC",
        "unknown --tz",
        "--tz with --customer",
        "customer on another policy",
        "unknown customer",
    ],
)
def test_sla_deadlines_refusals(slabot, customers_file, args, message):
    if "--start" not in args:
        args = [*args, "--start", "2026-11-20T16:30"]
    result = slabot("sla", "deadlines", *args, SLABOT_CUSTOMERS_FILE=str(customers_file))
    assert refused(result).startswith(message)


def test_a_customer_when_none_are_configured(slabot):
    result = slabot(
        "sla", "deadlines", "--customer", "acme", "--severity", "2", "--start", "2026-11-20T16:30"
    )
    assert refused(result) == "Error: 'acme' is not a customer; customers: none are configured"


# --- a setting that stops start-up ----------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["policy", "check"], ["sla", "deadlines", "--severity", "1", "--start", "2026-11-20T16:30Z"]],
    ids=["policy check", "sla deadlines"],
)
@pytest.mark.parametrize(
    ("name", "value", "start"),
    [
        (
            "DATABASE_URL",
            "foo",
            "slabot: DATABASE_URL: is not a database URL; set it in the environment or in .env",
        ),
        (
            "SLACK_API_URL",
            "slack.com",
            "slabot: SLACK_API_URL: must start with http:// or https://",
        ),
        ("PORT", "http", "slabot: PORT: "),
    ],
)
def test_a_bad_setting_stops_with_one_line(slabot, command, name, value, start):
    result = slabot(*command, **{name: value})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(start)
    assert f"({settings.HOW_TO_SET[name]})" in result.stderr


@pytest.mark.parametrize(
    ("env", "start"),
    [
        (
            {"SLABOT_DEFAULT_POLICY": "dixaa"},
            "slabot: SLABOT_DEFAULT_POLICY: 'dixaa' is not a policy (did you mean 'dixa'?)",
        ),
        (
            {"SLABOT_CUSTOMERS_FILE": "nowhere.yaml"},
            "slabot: SLABOT_CUSTOMERS_FILE: nowhere.yaml does not exist",
        ),
        (
            {"SLABOT_POLICIES_DIR": "nowhere"},
            "slabot: SLABOT_POLICIES_DIR: nowhere: not a folder of policy files",
        ),
    ],
    ids=["default policy", "customers file", "policies dir"],
)
def test_bad_contract_settings_stop_sla_deadlines_with_one_line(slabot, env, start):
    result = slabot("sla", "deadlines", "--severity", "1", "--start", "2026-11-20T16:30Z", **env)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(start)


def test_the_settings_file_in_the_working_directory_is_read(slabot, customers_file):
    Path(".env").write_text(f"SLABOT_CUSTOMERS_FILE={customers_file}\n", encoding="utf-8")
    got = deadlines(slabot, "--customer", "acme", "--severity", "1", "--start", "2026-11-20T16:30")
    assert got["customer"] == "acme"
