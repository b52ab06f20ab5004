"""``slabot digest`` end to end: the CLI on the test database, sending to the local Slack."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.digest import service
from bot.digest.weeks import parse_week
from bot.slack.loopback import LoopbackSlack
from config import settings
from tests.digest.test_chart import png_size
from tests.slack.conftest import BOT_TOKEN

W44 = parse_week("2026-W44")


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_user("UM1", "mette")
        server.add_user("UM2", "lars", tz="America/New_York")
        yield server


@pytest.fixture
def cli_env(cli_history, slack):
    """Two managers, the local Slack."""
    cli_history(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        SLABOT_MANAGERS="UM1, UM2",
        SLABOT_DIGEST_SCHEDULE="mon 09:00 Europe/Copenhagen",
    )


def run(*args: str):
    return CliRunner().invoke(main, ["digest", *args])


def test_send_gives_each_manager_a_direct_message_naming_the_incidents_and_uptime(
    cli_env, slack, ctx
):
    result = run("--week", "2026-W44", "--send")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["2026-W44: UM1 sent", "2026-W44: UM2 sent"]
    for manager in ("UM1", "UM2"):
        [message] = [m for m in slack.messages(manager) if not m.get("upload")]
        said = message["text"] + json.dumps(message["blocks"], ensure_ascii=False)
        for ref in ("INC-E", "INC-H", "INC-I", "INC-L", "INC-G", "INC-J"):
            assert f"*{ref}*" in said
        # As of the week's end (Sun 1 Nov 24:00 CET): acme's November so far is INC-L's hour.
        assert "Acme Retail Inc." in said and "99.8613 % (commitment 99.9 %)" in said
        assert "October 2026 closed at 99.2159 %" in said
        assert slack.channel(manager)["is_im"] is True
    assert len(slack.files) == 2  # the chart, in each direct message
    # Recorded as sent: the worker will not send week 44 again; asking again sends again.
    assert {(r.recipient, r.status, r.source) for r in service.deliveries(ctx, W44)} == {
        ("UM1", "sent", "cli"), ("UM2", "sent", "cli"),
    }  # fmt: skip
    again = run("--week", "2026-W44", "--send")
    assert again.stdout.splitlines() == ["2026-W44: UM1 sent again", "2026-W44: UM2 sent again"]
    assert len([m for m in slack.messages("UM1") if not m.get("upload")]) == 2


def test_print_is_the_default_and_covers_the_last_complete_week(cli_env, slack):
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Weekly SLA digest — 2026-W46 (9 Nov – 15 Nov 2026), Europe/Copenhagen"
    )
    assert "Sev 1  INC-M  Bulk issuing stuck" in result.stdout
    assert slack.calls == []


def test_bad_weeks_are_refused_and_change_nothing(cli_env, slack, ctx):
    bad = run("--week", "W44")
    assert (
        bad.exit_code == 2
        and "'W44' is not an ISO week; write YYYY-Www, e.g. 2026-W44" in bad.stderr
    )
    future = run("--week", "2026-W50", "--send")
    assert future.exit_code == 1 and future.stderr.startswith("2026-W50 has not begun yet")
    assert (
        service.deliveries(ctx, parse_week("2026-W50")) == []
        and slack.calls_to("chat.postMessage") == []
    )


def test_send_without_recipients_says_what_to_set(cli_env, monkeypatch):
    monkeypatch.setenv("SLABOT_MANAGERS", "")
    settings.reset()
    result = run("--send")
    assert result.exit_code == 1
    assert result.stderr.startswith("the digest has no recipients: set SLABOT_MANAGERS")


def test_the_running_week_is_sent_as_a_preview_and_not_recorded(cli_env, slack, ctx):
    result = run("--week", "2026-W47", "--send")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "2026-W47: UM1 sent as a preview (week so far)"
    assert service.deliveries(ctx, parse_week("2026-W47")) == []  # Monday's digest still goes out
    [message] = [m for m in slack.messages("UM1") if not m.get("upload")]
    assert "week 47 (so far)" in json.dumps(message["blocks"], ensure_ascii=False)


def test_chart_writes_the_digests_chart_as_a_png(cli_env, slack, tmp_path):
    """The chart the managers get in Slack, written to a file: one row per measured customer
    (the five fixture customers), 800 × (100 + 85 × 5) pixels (tests/digest/test_chart.py)."""
    path = tmp_path / "w44.png"
    result = run("--week", "2026-W44", "--chart", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Weekly SLA digest — 2026-W44")
    assert result.stderr == f"wrote {path}: the downtime budgets of 2026-W44\n"
    assert png_size(path.read_bytes()) == (800, 100 + 85 * 5)
    assert slack.calls == []


def test_chart_without_a_measured_customer_says_so(cli_db, tmp_path):
    empty = tmp_path / "customers.yaml"
    empty.write_text("customers: []\n", encoding="utf-8")
    cli_db(SLABOT_CUSTOMERS_FILE=str(empty))
    path = tmp_path / "chart.png"
    result = run("--week", "2026-W44", "--chart", str(path))
    assert result.exit_code == 1
    assert "no chart for 2026-W44: no customer's uptime is measured" in result.stderr
    assert not path.exists()
