"""``slabot report`` on the fixture history: JSON, CSV and the manager's table; refusals exit 1."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from bot.cli import main


def run(*args: str):
    return CliRunner().invoke(main, ["report", *args])


def test_json_for_one_customer(cli_history):
    result = run("--period", "2026-10", "--customer", "acme", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "2026-10"
    (acme,) = data["customers"]
    # Hand-computed in tests/reports/test_report.py: 350 of 44,640 minutes down → 99.2159 %,
    # 5 % of 4,000 USD, 96.4 minutes before the 99.0 % tier, claim by 30 November.
    assert {k: acme[k] for k in ("downtime_minutes", "uptime_pct", "credit_amount", "currency",
                                 "budget_minutes", "claim_deadline")} == {
        "downtime_minutes": 350.0, "uptime_pct": 99.2159, "credit_amount": 200.0,
        "currency": "USD", "budget_minutes": 96.4, "claim_deadline": "2026-11-30",
    }  # fmt: skip
    assert list(acme) == [
        "customer", "name", "policy", "period_start", "period_end", "available_minutes",
        "downtime_minutes", "excluded_minutes", "uptime_pct", "commitment_pct", "met",
        "credit_amount", "currency", "credits", "claim_deadline", "budget_minutes", "incidents",
        "notes", "counts",
    ]  # fmt: skip


def test_csv_has_one_row_per_customer_that_a_spreadsheet_reads(cli_history):
    result = run("--period", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["customer"] for r in rows] == ["acme", "globex", "initech", "nordlys", "umbrella"]
    acme = rows[0]
    assert (acme["available_minutes"], acme["downtime_minutes"], acme["uptime_pct"]) == (
        "44640.000",
        "350.000",
        "99.2159",
    )
    assert (acme["met"], acme["credit_amount"], acme["currency"], acme["budget_minutes"]) == (
        "no",
        "200.00",
        "USD",
        "96.400",
    )
    assert acme["incidents"] == "INC-A INC-B INC-K INC-L"
    assert acme["credits"].endswith("claim by 2026-11-30 = 200.00 USD")
    umbrella = rows[-1]
    assert (umbrella["credit_amount"], umbrella["claim_deadline"], umbrella["budget_minutes"]) == (
        "5000.00",
        "",
        "",
    )
    assert "refund of 100 % of the October 2026 monthly fee = 5,000.00 EUR" in umbrella["credits"]


def test_text_is_a_table_a_manager_reads(cli_history):
    result = run("--period", "2026-10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("customer"))
    assert header.split() == [
        "customer", "policy", "period", "uptime", "commitment", "met", "downtime", "budget",
        "left", "credits", "owed", "claim", "by",
    ]  # fmt: skip
    nordlys = next(line for line in lines if line.startswith("nordlys"))
    # 200 min down = 3h 20m; 247 min left = 4h 7m; 5 % of 30,000 DKK.
    for cell in ("October 2026", "99.5525 %", "99.9 %", "NO", "3h 20m", "4h 7m to the 10 % tier", "1,500.00 DKK",
                 "2026-11-30"):  # fmt: skip
        assert cell in nordlys


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "October"], "'October' is not a period; write YYYY-MM for a month"),
        (["--period", "2026-10", "--customer", "nordlis"], "did you mean 'nordlys'?"),
        (["--period", "2027"], "2027 has not begun yet"),
    ],
)
def test_a_refusal_is_said_on_stderr_and_exits_1(cli_history, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_the_collector_is_paused_while_the_report_runs_and_given_back(cli_history, monkeypatch):
    """The one-shot command pauses the cyclic garbage collector (its objects live until it
    prints) and leaves it as it found it: enabled here, as in any process that goes on."""
    import gc

    import bot.reports.service as service

    seen = []
    real = service.customer_report

    def watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "customer_report", watched)
    assert gc.isenabled()
    result = run("--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    assert seen == [False]
    assert gc.isenabled()
