"""``slabot incidents correct`` on the fixture history: a correction and its figures; a
refusal exits 1 and changes nothing; a malformed option exits 2."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from bot.context import build_context
from bot.incidents import service
from bot.reports.service import customer_report


def run(*args: str):
    return CliRunner().invoke(main, ["incidents", "correct", *args])


def acme_october() -> tuple:
    (acme,) = customer_report(build_context(), "2026-10", "acme").as_json()["customers"]
    return acme["downtime_minutes"], acme["credit_amount"]


def test_a_later_restore_and_resolution_change_the_report(cli_history):
    # tests/reports/test_report.py: acme was down 350 of October's 44,640 minutes (New York),
    # 5 % of 4,000 USD. INC-A (10:00–10:30Z) restored at 12:30Z instead adds 120 minutes:
    # 470 > 446.4 (1 % of 44,640) → below 99.0 % → 10 % = 400 USD.
    assert acme_october() == (350.0, 200.0)
    result = run(
        "INC-A", "--restored-at", "2026-10-05T12:30:00Z", "--resolved-at", "2026-10-05T13:00",
        "--reason", "the restore was the deploy's, not the recovery's", "--by", "ana",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "corrected INC-A (by ana):",
        "  restored 2026-10-05 10:30:00 UTC → 2026-10-05 12:30:00 UTC",
        "  resolved 2026-10-05 11:00:00 UTC → 2026-10-05 13:00:00 UTC",
    ]
    assert acme_october() == (470.0, 400.0)
    event = service.timeline(build_context(), "INC-A")[-1]
    assert (event.kind, event.actor, event.text) == (
        "corrected", "ana", "the restore was the deploy's, not the recovery's",
    )  # fmt: skip


def test_an_exclusion_takes_the_reason_as_its_own(cli_history):
    result = run("INC-A", "--excluded", "yes", "--reason", "customer's own network")
    assert result.exit_code == 0, result.output
    assert service.get(build_context(), "INC-A").excluded_reason == "customer's own network"
    assert acme_october()[0] == 320.0  # INC-A's 30 minutes no longer count


def test_a_correction_that_cannot_be_exits_1_and_changes_nothing(cli_history):
    before = service.get(build_context(), "INC-A")
    result = run("INC-A", "--restored-at", "2026-10-05T09:00:00Z", "--reason", "x")
    assert result.exit_code == 1
    assert result.stderr == (
        "slabot: restored 2026-10-05 09:00 UTC is before INC-A started (2026-10-05 10:00 UTC);"
        " nothing was changed\n"
    )
    assert service.get(build_context(), "INC-A") == before
    result = run("INC-A", "--acknowledged-at", "yesterday", "--reason", "x")
    assert result.exit_code == 2 and "--acknowledged-at" in result.stderr
    assert run("INC-A", "--outage", "no").exit_code == 2  # --reason is required
