"""How the app is served: the port, /healthz, and Socket Mode (in process, quick)."""

from __future__ import annotations

import dataclasses
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.cli import main
from bot.context import Context
from bot.slack import app as slack_app
from bot.slack.app import build_app, socket_mode_handler, wsgi_app
from bot.slack.loopback import LoopbackSlack
from config import settings as settings_module
from storage.db import Database
from tests.slack.conftest import BOT_TOKEN, make_settings

APP_TOKEN = "xapp-test-app-token"


HEALTH_TOKEN = "health-token-0123456789"


def get(application, path: str, method: str = "GET", **headers: str) -> tuple[str, dict]:
    answered = {}

    def start_response(status, headers):
        answered["status"] = status

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO(b""),
               "CONTENT_LENGTH": "0", "QUERY_STRING": "", **headers}  # fmt: skip
    if "?" in path:
        environ["PATH_INFO"], environ["QUERY_STRING"] = path.split("?", 1)
    body = b"".join(application(environ, start_response))
    return answered["status"], json.loads(body) if body else {}


def application_on(workspace, ctx=None, **settings):
    settings = make_settings(workspace.slack, SLABOT_HEALTH_TOKEN=HEALTH_TOKEN, **settings)
    return wsgi_app(workspace.app, ctx or workspace.ctx, settings)


def test_healthz_without_a_token_says_only_whether_the_process_is_alive(workspace):
    application = application_on(workspace)
    assert get(application, "/healthz") == ("200 OK", {"status": "ok"})
    assert get(application, "/healthz", "HEAD") == ("200 OK", {})
    # A proxy's own credentials are not a request for details.
    basic = get(application, "/healthz", HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert basic == ("200 OK", {"status": "ok"})


def test_healthz_with_the_token_says_what_the_worker_is_doing(workspace):
    status, body = get(
        application_on(workspace), "/healthz", HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}"
    )
    assert status == "200 OK"
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["worker"] == "none"  # reported, but no worker alone makes the web process unhealthy


@pytest.mark.parametrize(
    ("path", "headers", "reason"),
    [
        (
            "/healthz",
            {"HTTP_AUTHORIZATION": "Bearer not-the-token"},
            "Bearer <SLABOT_HEALTH_TOKEN>",
        ),
        ("/healthz?strict=1", {}, "Bearer <SLABOT_HEALTH_TOKEN>"),
    ],
)
def test_healthz_details_without_the_right_token_are_refused(workspace, path, headers, reason):
    status, body = get(application_on(workspace), path, **headers)
    assert status == "401 Unauthorized" and reason in body["error"]


def test_healthz_details_are_off_without_a_health_token(workspace):
    application = wsgi_app(workspace.app, workspace.ctx, make_settings(workspace.slack))
    status, body = get(application, "/healthz?strict=1", HTTP_AUTHORIZATION="Bearer anything")
    assert status == "401 Unauthorized"
    assert body == {"error": "details are off: set SLABOT_HEALTH_TOKEN, or run slabot doctor"}
    assert get(application, "/healthz") == ("200 OK", {"status": "ok"})


def test_healthz_says_unhealthy_when_the_database_is_unreachable(
    workspace, contracts, clock, tmp_path
):
    broken = Context(
        db=Database(f"sqlite:///{tmp_path}/missing/dir/x.db"), contracts=contracts, clock=clock
    )
    application = application_on(workspace, broken)
    assert get(application, "/healthz") == ("503 Service Unavailable", {"status": "unhealthy"})
    status, body = get(application, "/healthz", HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}")
    assert status == "503 Service Unavailable"
    assert body == {"status": "unhealthy", "database": "OperationalError"}  # no URL, no secret


@pytest.fixture
def cli_env(monkeypatch, slack, tmp_path):
    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'slabot.db'}", "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": slack.api_url,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings_module.reset()
    served: dict = {}

    class Server:
        effective_port = 0

        def __init__(self, port):
            self.effective_port = port

        def run(self):
            served["ran"] = True

    def fake_server(app, ctx, settings, *, host, port, **_):
        served["port"] = port
        return Server(port)

    monkeypatch.setattr(slack_app, "http_server", fake_server)
    yield monkeypatch, served
    settings_module.reset()


def test_serve_listens_on_PORT_unless_port_is_given(cli_env):
    monkeypatch, served = cli_env
    monkeypatch.setenv("PORT", "5123")
    settings_module.reset()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    assert served == {"port": 5123, "ran": True}
    assert "listening on http://0.0.0.0:5123/slack/events" in result.output
    CliRunner().invoke(main, ["serve", "--port", "6001"])
    assert served["port"] == 6001


def test_socket_mode_without_an_app_token_says_what_to_set(cli_env):
    result = CliRunner().invoke(main, ["serve", "--socket"])
    assert result.exit_code == 2
    assert "SLACK_APP_TOKEN is not set" in result.output and "connections:write" in result.output


class SocketClient:
    """What Bolt's Socket Mode handler answers on: records the acknowledgements."""

    def __init__(self, logger):
        self.logger, self.sent = logger, []

    def send_socket_mode_response(self, response):
        self.sent.append(response)


def test_socket_mode_delivers_commands_to_the_same_app_without_a_signature(
    slack: LoopbackSlack, ctx
):
    settings = make_settings(slack, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET="")
    app, _ = build_app(ctx, settings, socket_mode=True)
    handler = socket_mode_handler(app, settings)
    client = SocketClient(handler.client.logger)
    command = {
        "command": "/incident", "text": "declare 2 Search is slow", "user_id": "U1", "channel_id": "C0GENERAL",
        "team_id": "T0LOOP", "trigger_id": "trig-socket", "response_url": slack.response_url(),
    }  # fmt: skip
    handler.handle(
        client, SocketModeRequest(type="slash_commands", envelope_id="env-1", payload=command)
    )
    (ack,) = client.sent
    assert ack.envelope_id == "env-1"
    assert ack.payload["text"].startswith("🚨 INC-1 declared (Sev 2): Search is slow")
    assert "Search is slow" in slack.calls_to("chat.postMessage")[0].params["text"]
    # The connection itself is opened through SLACK_API_URL too, with the app-level token.
    with pytest.raises(SlackApiError):
        handler.client.issue_new_wss_url()
    assert slack.calls_to("apps.connections.open")[0].token == APP_TOKEN


def test_build_app_takes_the_after_ack_executor_and_the_edge_keeps_its_state_private(
    slack: LoopbackSlack, ctx
):
    with ThreadPoolExecutor(2) as pool:
        _, edge = build_app(ctx, make_settings(slack), executor=pool)
        assert edge.executor is pool
    parameters = [f.name for f in dataclasses.fields(edge) if f.init]
    assert parameters and not [name for name in parameters if name.startswith("_")]
    assert "_quiet" not in repr(edge) and "_in_flight" not in repr(edge)
