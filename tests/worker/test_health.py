"""What the reminder machinery says about itself: /healthz, App Home, the health summary."""

from __future__ import annotations

import datetime as dt
import json

from bot.clock import ManualClock
from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import build_app, health, make_client, wsgi_app
from bot.slack.handlers import home_view
from bot.slack.loopback import Reply
from bot.worker import Worker
from storage.db import Database
from tests.conftest import T0
from tests.slack.conftest import make_settings


def failed_reminder(ctx, clock, slack) -> None:
    """INC-1's 15-minute warning, refused by Slack for good."""
    view = service.declare(ctx, title="Checkout down", severity=1, actor="U1")
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    slack.script("chat.postMessage", Reply(error="invalid_auth"))
    clock.set(T0 + dt.timedelta(minutes=15))
    settings = make_settings(slack)
    Worker(ctx, make_client(settings), settings, worker_id="w1").run_once()


HEALTH_TOKEN = "health-token-0123456789"


def get(application, query: str = "") -> tuple[int, dict]:
    """``/healthz`` asked by a monitor holding the health token."""
    answer = {}

    def start_response(status, headers):
        answer["status"] = int(status.split()[0])

    environ = {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET", "QUERY_STRING": query,
               "HTTP_AUTHORIZATION": f"Bearer {HEALTH_TOKEN}"}  # fmt: skip
    body = b"".join(application(environ, start_response))
    return answer["status"], json.loads(body)


def test_the_worker_is_none_then_ok_then_stale(ctx, clock):
    assert reminders.health(ctx).worker == "none"
    reminders.heartbeat(ctx, "w1", posted=3)
    state = reminders.health(ctx)
    assert (state.worker, state.workers, state.problems) == ("ok", [("w1", T0, 3)], [])
    clock.set(T0 + reminders.ALIVE_WITHIN + dt.timedelta(seconds=1))
    state = reminders.health(ctx)
    assert state.worker == "stale" and state.last_seen == ("w1", T0, False)
    assert state.problems == [
        "no worker has checked in for 30 seconds: reminders are not going out "
        "(start `slabot worker`, or use `slabot run`)"
    ]


def test_heartbeats_of_workers_gone_for_a_week_are_forgotten(ctx, clock):
    reminders.heartbeat(ctx, "old", posted=1)
    clock.set(T0 + dt.timedelta(days=8))
    reminders.heartbeat(ctx, "new", posted=0)
    assert reminders.forget_old_workers(ctx) == 1
    assert reminders.health(ctx).last_seen[0] == "new"


def test_healthz_reports_the_worker_without_failing_the_web_process_for_it(ctx, clock, slack):
    settings = make_settings(slack, SLABOT_HEALTH_TOKEN=HEALTH_TOKEN)
    app, _ = build_app(ctx, settings)
    application = wsgi_app(app, ctx, settings)
    assert get(application) == (
        200,
        {"status": "ok", "database": "ok", "worker": "none", "workers": 0,
         "failed_reminders": 0, "overdue_reminders": 0},
    )  # fmt: skip
    failed_reminder(ctx, clock, slack)
    status, body = get(application)
    assert (status, body["worker"], body["failed_reminders"]) == (200, "none", 1)
    status, body = get(application, "strict=1")  # for an uptime monitor: anything doctor flags
    assert status == 503 and body["status"] == "unhealthy"
    assert body["problems"][1] == "1 reminder could not be posted"
    reminders.heartbeat(ctx, "w1", posted=0)
    reminders.retry_failed(ctx)
    assert get(application, "strict=1")[1]["worker"] == "ok"
    assert get(application, "strict=1")[0] == 200


def test_healthz_counts_overdue_reminders(ctx, clock):
    service.declare(ctx, title="Nobody posts", severity=1, actor="U1")
    clock.set(T0 + dt.timedelta(minutes=20))  # the 15-minute warning is 5 minutes overdue
    status, body = health(ctx, detailed=True)
    assert (status, body["overdue_reminders"]) == (200, 1)
    # One reminder, said as one (bot.text.plural).
    assert "1 reminder is more than 60 seconds overdue" in reminders.diagnose(ctx).problems
    assert health(ctx, detailed=True, strict=True)[0] == 503
    assert health(ctx) == (200, {"status": "ok"})  # all an unauthenticated probe sees


def test_healthz_is_503_when_the_database_does_not_answer(contracts):
    gone = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        status, body = health(Context(gone, contracts, ManualClock(T0)), detailed=True)
        assert health(Context(gone, contracts, ManualClock(T0))) == (503, {"status": "unhealthy"})
    finally:
        gone.dispose()
    assert (status, body["status"], body["database"]) == (503, "unhealthy", "OperationalError")


def test_doctors_health_is_one_problem_when_the_database_stops_it(contracts):
    gone = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        state = reminders.diagnose(Context(gone, contracts, ManualClock(T0)))
    finally:
        gone.dispose()
    problem = "the database does not answer (check DATABASE_URL)"
    assert state.as_json() == {
        "database": "unreachable (OperationalError)", "problems": [problem], "healthy": False
    }  # fmt: skip
    assert state.lines() == [f"problem    {problem}", "unhealthy: 1 problem"]


def test_doctors_health_reads_the_same_in_text_and_json(ctx, clock):
    reminders.heartbeat(ctx, "w1", posted=2)
    clock.set(T0 + dt.timedelta(seconds=5))
    state = reminders.diagnose(ctx)
    head = ctx.db.head_revision()
    assert state.lines() == [
        f"database   ok, schema {head} (current)",
        "worker     w1: alive, seen 5s ago, 2 posted",
        "failed     0",
        "overdue    0",
        "next due   nothing pending",
        "healthy",
    ]
    assert state.as_json() == {
        "database": "ok", "problems": [], "schema": {"current": head, "head": head},
        "worker": "ok", "workers": [{"id": "w1", "seen": T0.isoformat(), "posted": 2}],
        "failed": [], "failed_count": 0, "failed_tasks": [], "failed_tasks_count": 0,
        "overdue": 0, "next_due": None, "healthy": True,
    }  # fmt: skip
    assert health(ctx, detailed=True)[1] == {"status": "ok", "database": "ok", **state.summary()}


def test_app_home_shows_failed_reminders_and_a_missing_worker(ctx, clock, slack):
    failed_reminder(ctx, clock, slack)
    _, edge = build_app(ctx, make_settings(slack))
    text = json.dumps(home_view(edge, "U1").to_dict(), ensure_ascii=False)
    assert "Reminder for *INC-1* could not be posted: Slack refused it: invalid_auth" in text
    assert "No worker has checked in for 30 seconds" in text


def test_app_home_says_one_overdue_reminder_in_the_singular(ctx, clock, slack):
    service.declare(ctx, title="Nobody posts", severity=1, actor="U1")
    clock.set(T0 + dt.timedelta(minutes=20))  # the 15-minute warning is 5 minutes overdue
    _, edge = build_app(ctx, make_settings(slack))
    text = json.dumps(home_view(edge, "U1").to_dict(), ensure_ascii=False)
    assert "1 reminder is overdue." in text and "reminders are overdue" not in text
