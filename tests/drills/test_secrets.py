"""Secrets never reach a log line or a message: the bot runs with known token values and a
database password through its error paths — Slack refusing the token, Slack failing (5xx),
an unreachable database, bad settings, an exception in a handler, a forged request,
``slabot doctor``, ``/healthz``, pages refused and failing, ``/metrics`` — with every logger
at DEBUG (slack_sdk's, Bolt's and SQLAlchemy's included), and the values are searched for in
every log record (tracebacks included), every CLI output, every HTTP answer and everything
sent to the fake Slack."""

from __future__ import annotations

import json
import logging
import signal
import threading
import traceback
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.clock import ManualClock, SystemClock
from bot.context import Context
from bot.incidents import service
from bot.slack.app import build_app, make_client, wsgi_app
from bot.slack.loopback import LoopbackSlack, Reply, SlackRequests
from bot.worker import Worker
from config import settings as settings_module
from config.settings import Settings, SettingsError
from storage.db import Database
from tests.conftest import PATIENCE, empty, wait_until
from tests.drills.conftest import declare_due_soon
from tests.slack import conftest as slack_harness
from tests.slack.conftest import PATIENT, Workspace

BOT_TOKEN = "xoxb-SEKRIT-bot-5c1d9e7a"
SIGNING_SECRET = "SEKRIT-signing-0b8f2c4d"
APP_TOKEN = "xapp-SEKRIT-app-6e3a9f1b"
PASSWORD = "SEKRIT-pw-7d4c2a9e"
HEALTH_TOKEN = "SEKRIT-health-3f7a1c9e5b"


class Everything(logging.Handler):
    """Every log record of every logger, formatted with its traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.texts: list[str] = []
        """Everything else shown: CLI output, HTTP answers, what the fake Slack received."""

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def shown(self, slack: LoopbackSlack | None = None) -> str:
        seen = [*self.lines, *self.texts]
        if slack is not None:  # the token authenticates each call; the messages are checked
            seen += [json.dumps([c.method, c.params, c.response], default=str) for c in slack.calls]
        return "\n".join(seen)

    def assert_no_secret(self, slack: LoopbackSlack | None = None, *values: str) -> None:
        shown = self.shown(slack)
        secrets = values or (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, PASSWORD)
        found = {v: shown.count(v) for v in secrets if v in shown}
        assert found == {}, "\n".join(
            line for line in shown.splitlines() if any(v in line for v in found)
        )


@pytest.fixture
def everything():
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "slack_sdk", "slack_bolt", "slabot.bolt", "sqlalchemy", "alembic")}  # fmt: skip
    handler = Everything()
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_user("U1", "ana", tz="Europe/Copenhagen")
        server.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1",))
        yield server


@pytest.fixture
def urls(postgres_url):
    """This session's PostgreSQL schema behind a URL with a password (the local server
    trusts the connection and ignores it), and one that nothing answers."""
    url = make_url(postgres_url)
    password = url.password or PASSWORD
    reachable = url.set(password=password).render_as_string(hide_password=False)
    nowhere = url.set(password=password, port=1).render_as_string(hide_password=False)
    database = Database(reachable)
    database.upgrade()
    yield reachable, nowhere, password
    empty(database)  # as the ``db`` fixture leaves it, for the tests that follow
    database.dispose()


def secret_settings(slack: LoopbackSlack, **overrides) -> Settings:
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url,
        "SLABOT_HEALTH_TOKEN": HEALTH_TOKEN, **overrides,
    }  # fmt: skip
    return Settings(_env_file=None, **values)


def workspace_on(slack, ctx, everything, **settings) -> Workspace:
    app, edge = build_app(ctx, secret_settings(slack, **settings), ack_budget=PATIENT)
    slack_harness._EDGES.append(edge)
    return Workspace(app, edge, slack, ctx, requests=SlackRequests(SIGNING_SECRET))


def healthz(ctx: Context, slack: LoopbackSlack, query: str = "") -> tuple[str, str]:
    """``/healthz`` in full, asked with the health token (and once without, refused)."""
    environ: dict = {"PATH_INFO": "/healthz", "QUERY_STRING": query, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    application = wsgi_app(None, ctx, secret_settings(slack))  # type: ignore[arg-type]
    status: list[str] = []
    b"".join(
        application(
            {**environ, "HTTP_AUTHORIZATION": "Bearer wrong"}, lambda s, h: status.append(s)
        )
    )
    assert status.pop().startswith("401")
    environ["HTTP_AUTHORIZATION"] = f"Bearer {HEALTH_TOKEN}"
    body = b"".join(application(environ, lambda s, h: status.append(s)))
    return status[0], body.decode()


def test_the_web_process_leaks_no_secret_through_its_error_paths(
    urls, contracts, slack, everything, monkeypatch
):
    reachable, nowhere, password = urls
    database = Database(reachable)
    ctx = Context(database, contracts, SystemClock())
    slack.fail_always("auth.test", Reply(status=503))  # start-up while Slack fails
    workspace = workspace_on(slack, ctx, everything)
    slack.clear_script()
    answers = [workspace.incident("declare 1 Checkout down")]
    channel = slack.calls_to("conversations.create")[-1].response["channel"]["id"]
    slack.script("conversations.create", Reply(error="invalid_auth"))  # Slack refuses the token
    answers.append(workspace.incident("declare 2 Search slow"))
    slack.fail_always("chat.postMessage", Reply(status=500))  # Slack fails
    answers.append(workspace.incident("update Rolled back", channel=channel))
    slack.clear_script()

    def boom(*args, **kwargs):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(service, "post_update", boom)  # an exception in a handler
    answers.append(workspace.incident("update Still down", channel=channel))
    body = urlencode({"command": "/incident", "text": "list", "user_id": "U1", "trigger_id": "t"})
    forged = workspace.dispatch(workspace.requests.sign(body, secret="not-the-secret"))
    assert forged.status == 401
    everything.texts += [healthz(ctx, slack)[1], healthz(ctx, slack, "strict=1")[1]]

    down = Context(Database(nowhere), contracts, SystemClock())  # an unreachable database
    unreachable = workspace_on(slack, down, everything)
    answers.append(unreachable.incident("list"))
    status, health = healthz(down, slack)
    assert status.startswith("503")
    everything.texts.append(health)
    everything.texts += [a.body for a in answers]
    assert workspace.edge.wait_idle(PATIENCE) and unreachable.edge.wait_idle(PATIENCE)
    texts = [json.loads(a.body)["text"] for a in answers]
    assert "declared" in texts[0] and "invalid_auth" in texts[1] and "went wrong" in texts[3]
    assert "database did not answer" in texts[4]
    assert any("Traceback" in line or "RuntimeError" in line for line in everything.lines)
    assert {c.token for c in slack.calls if c.method != "response_url"} == {BOT_TOKEN}
    assert any(line.startswith("DEBUG slack_sdk") for line in everything.lines)
    database.dispose()
    everything.assert_no_secret(slack, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, password, HEALTH_TOKEN)


def test_the_worker_leaks_no_secret_through_its_error_paths(urls, contracts, slack, everything):
    reachable, nowhere, password = urls
    database = Database(reachable)
    ctx = Context(database, contracts, SystemClock())
    due_by = declare_due_soon(ctx, slack, count=4, within=0.2, after=0.0)
    settings = secret_settings(slack)
    client = make_client(settings, retry_rate_limits=False, retry_connection_errors=False)
    worker = Worker(Context(database, contracts, ManualClock(due_by)), client, settings, poll=0.05)
    slack.script("chat.postMessage", Reply(status=502), Reply(error="invalid_auth"))
    worker.run_once()
    slack.script("auth.test", Reply(error="invalid_auth"))
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN: Slack refused it"):
        worker.check_token()
    down = Worker(Context(Database(nowhere), contracts, SystemClock()), client, settings, poll=0.05)

    def run() -> None:
        try:
            down.run()
        except Exception:  # its stop hands claims back, which needs the database
            logging.getLogger("tests").exception("the worker stopped without its database")

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: any("worker step failed" in line for line in everything.lines))
    down.stop.set()
    thread.join(PATIENCE)
    assert any("Slack refused it: invalid_auth" in line for line in everything.lines)
    database.dispose()
    everything.assert_no_secret(slack, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, password)


def test_the_command_line_leaks_no_secret_through_its_error_paths(
    urls, slack, everything, monkeypatch, tmp_path
):
    reachable, nowhere, password = urls
    for name in settings_module.HOW_TO_SET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url}  # fmt: skip
    runs = [
        (["doctor"], {"DATABASE_URL": reachable}),
        (["doctor", "--json"], {"DATABASE_URL": nowhere}),
        (["db", "upgrade"], {"DATABASE_URL": nowhere}),
        (["doctor"], {"DATABASE_URL": reachable.replace(":5432/", ":port/")}),  # a bad setting
        (["doctor"], {"DATABASE_URL": reachable, "PORT": "http"}),  # another
        (["worker"], {"DATABASE_URL": reachable, "SLACK_BOT_TOKEN": "xoxb-SEKRIT-revoked"}),
        (["run"], {"DATABASE_URL": reachable}),  # Socket Mode: Slack refuses the app token
    ]  # fmt: skip
    codes = []
    try:
        for args, env in runs:
            for name in settings_module.HOW_TO_SET:
                monkeypatch.delenv(name, raising=False)
            for name, value in {**base, **env}.items():
                monkeypatch.setenv(name, value)
            settings_module.reset()
            result = CliRunner().invoke(main, args)
            codes.append(result.exit_code)
            everything.texts += [result.stdout, result.stderr]
            if result.exc_info and not isinstance(result.exception, SystemExit):
                everything.texts.append("".join(traceback.format_exception(*result.exc_info)))
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        settings_module.reset()
    assert codes == [1, 1, 2, 2, 2, 2, 1], codes  # doctor: no worker alive, then no database
    shown = everything.shown()
    assert "is not a database URL" in shown and "PORT:" in shown and "did not answer" in shown
    assert APP_TOKEN in {c.token for c in slack.calls_to("apps.connections.open")}
    everything.assert_no_secret(
        slack, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, password, "xoxb-SEKRIT-revoked"
    )


ROUTING_KEY = "SEKRIT-pagerduty-4b7e1d3c9a"
GENIE_KEY = "SEKRIT-opsgenie-8f2a6c0e5d"
METRICS_TOKEN = "SEKRIT-metrics-2d9b7f4a1c"


def test_pages_and_metrics_leak_no_key_through_their_error_paths(db, contracts, slack, everything):
    """PagerDuty failing (5xx, then a dropped connection), Opsgenie refusing the key, a page
    failed for good: the keys are in no log line, no task's error, ``slabot doctor``'s lines,
    App Home, ``/metrics`` (with its own token) or anything sent to Slack."""
    import datetime as dt

    from bot.paging.loopback import OpsgenieAlerts, PagerDutyEvents
    from bot.paging.loopback import Reply as PageReply
    from bot.reminders import service as reminders
    from bot.slack.handlers import home_view
    from storage import tasks

    clock = ManualClock(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))
    ctx = Context(db, contracts, clock)
    slack.add_channel("inc-1", id="C0INC", bot_member=True)
    with PagerDutyEvents("another-routing-key") as pagerduty, OpsgenieAlerts("other") as opsgenie:
        settings = secret_settings(
            slack, SLABOT_PAGERDUTY_ROUTING_KEY=ROUTING_KEY, SLABOT_OPSGENIE_API_KEY=GENIE_KEY,
            SLABOT_PAGERDUTY_EVENTS_URL=pagerduty.events_url,
            SLABOT_OPSGENIE_API_URL=opsgenie.base_url, SLABOT_METRICS_TOKEN=METRICS_TOKEN,
        )  # fmt: skip
        view = service.declare(ctx, title="Checkout down", severity=1, actor="U1")
        service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
        pagerduty.script(PageReply(500, {"message": "oops"}), PageReply(drop=True))
        clock.set(clock.now() + dt.timedelta(minutes=60))
        for _ in range(3):  # 500, dropped, then refused: the wrong key
            Worker(ctx, make_client(settings), settings, worker_id="w1").run_once()
            clock.set(clock.now() + dt.timedelta(minutes=1))
        with ctx.db.read() as session:
            errors = [t.last_error or "" for t in tasks.of_incident(session, view.id)]
        assert len(errors) == 2 and all("refused it" in e for e in errors), errors
        everything.texts += errors
        everything.texts += reminders.health(ctx).lines()
        _, edge = build_app(ctx, settings, ack_budget=PATIENT)
        everything.texts.append(json.dumps(home_view(edge, "U1").to_dict()))
        environ: dict = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}
        setup_testing_defaults(environ)
        application = wsgi_app(None, ctx, settings)
        everything.texts.append(
            b"".join(application(environ, lambda s, h: everything.texts.append(s))).decode()
        )
        environ["HTTP_AUTHORIZATION"] = f"Bearer {METRICS_TOKEN}"
        body = b"".join(application(environ, lambda s, h: everything.texts.append(s))).decode()
        assert "slabot_pages_total" in body
    everything.assert_no_secret(slack, ROUTING_KEY, GENIE_KEY, METRICS_TOKEN, BOT_TOKEN)
