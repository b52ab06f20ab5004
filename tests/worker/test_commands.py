"""``slabot doctor``, ``slabot worker`` and ``slabot run`` through click's runner."""

from __future__ import annotations

import datetime as dt
import json
import signal

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.clock import ManualClock
from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import make_client
from bot.slack.loopback import Reply
from bot.worker import Worker
from config import settings as settings_module
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings


@pytest.fixture
def slabot(monkeypatch, tmp_path):
    """Run ``slabot ARGS`` in an empty folder with only these settings in the environment."""
    for name in settings_module.HOW_TO_SET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def run(*args: str, **env: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings_module.reset()
        return CliRunner().invoke(main, list(args))

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    settings_module.reset()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_doctor_is_healthy_when_a_worker_is_alive_and_nothing_failed(slabot, db, contracts):
    ctx = Context(db, contracts, ManualClock(now()))
    reminders.heartbeat(ctx, "host:1:abc", posted=7)
    result = slabot("doctor", DATABASE_URL=db.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"database   ok, schema {db.head_revision()} (current)"
    assert lines[1].startswith("worker     host:1:abc: alive, seen ") and lines[1].endswith(
        ", 7 posted"
    )
    assert "failed     0" in lines and "overdue    0" in lines and lines[-1] == "healthy"


def test_doctor_lists_failed_reminders_with_their_errors_and_exits_1(slabot, db, contracts, slack):
    clock = ManualClock(now() - dt.timedelta(minutes=20))
    ctx = Context(db, contracts, clock)
    view = service.declare(ctx, title="Checkout down", severity=1, actor="U1")
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    clock.advance(minutes=15)
    slack.script("chat.postMessage", Reply(error="invalid_auth"))
    settings = make_settings(slack)
    Worker(ctx, make_client(settings), settings, worker_id="host:2:def").run_once()
    reminders.heartbeat(ctx, "host:2:def", posted=0)  # …and then it was not seen for 5 minutes
    result = slabot("doctor", DATABASE_URL=db.url)
    assert result.exit_code == 1
    out = result.stdout
    assert "worker     none alive; host:2:def last seen 5m ago" in out
    assert "failed     1" in out
    assert "  INC-1 response 15m, due " in out and ": Slack refused it: invalid_auth" in out
    assert "`slabot doctor --retry-failed` sends them again" in out
    assert "problem    1 reminder could not be posted" in out
    assert out.splitlines()[-1] == "unhealthy: 2 problems"
    report = json.loads(slabot("doctor", "--json", DATABASE_URL=db.url).stdout)
    assert report["failed"] == [
        {"incident": "INC-1", "reminder": "response 15m", "due": report["failed"][0]["due"],
         "error": "Slack refused it: invalid_auth"}
    ]  # fmt: skip
    assert (report["healthy"], report["worker"], report["failed_count"]) == (False, "stale", 1)
    again = slabot("doctor", "--retry-failed", DATABASE_URL=db.url)
    assert "re-queued  1 failed reminders" in again.stdout and "failed     0" in again.stdout


def test_doctor_says_when_the_schema_is_behind_or_the_database_does_not_answer(slabot, tmp_path):
    fresh = f"sqlite:///{tmp_path / 'new.db'}"
    result = slabot("doctor", DATABASE_URL=fresh)
    assert result.exit_code == 1
    assert "problem    the schema is at nothing, this slabot needs" in result.stdout
    assert "run `slabot db upgrade`" in result.stdout
    down = slabot("doctor", DATABASE_URL="postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert down.exit_code == 1
    assert "problem    the database does not answer (check DATABASE_URL)" in down.stdout
    assert "secret" not in down.output


def test_worker_needs_a_token_slack_accepts(slabot, db, slack):
    missing = slabot("worker", DATABASE_URL=db.url, SLACK_API_URL=slack.api_url)
    assert missing.exit_code == 2
    assert "SLACK_BOT_TOKEN is not set" in missing.stderr
    wrong = slabot(
        "worker", DATABASE_URL=db.url, SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN="xoxb-wrong"
    )
    assert wrong.exit_code == 2
    assert "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)" in wrong.stderr
    assert "xoxb-wrong" not in wrong.output


def test_run_needs_an_app_token_for_socket_mode(slabot, db, slack):
    result = slabot("run", DATABASE_URL=db.url, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert result.exit_code == 2 and "SLACK_APP_TOKEN is not set" in result.stderr


def test_run_stops_its_worker_cleanly_when_socket_mode_cannot_connect(slabot, db, contracts, slack):
    result = slabot(
        "run", DATABASE_URL=db.url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "slabot: Socket Mode could not connect: invalid_auth" in result.stderr
    state = reminders.health(Context(db, contracts, ManualClock(now())))
    assert state.workers == [] and state.last_seen is not None and state.last_seen[2]  # stopped
