"""Building the Bolt app, and serving it: HTTP on waitress, or Socket Mode.

Every Slack client — Bolt's, the worker's, Socket Mode's — is made by ``make_client``, so
``SLACK_API_URL`` is honoured everywhere (GovSlack, and the tests' local Slack).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.context import Context
from bot.slack.authz import Permissions
from bot.slack.channels import IncidentChannels
from bot.slack.handlers import Edge
from bot.slack.listeners import register
from bot.slack.people import Directory
from config.settings import Settings

log = logging.getLogger(__name__)


def make_client(
    settings: Settings, *, retry_rate_limits: bool = True, timeout: int = 10
) -> WebClient:
    """A Web API client on ``SLACK_API_URL``. The worker handles 429s itself (it moves the
    reminder by Retry-After instead of blocking), so it asks for no rate-limit retries."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=handlers
    )


def build_app(
    ctx: Context,
    settings: Settings,
    *,
    client: WebClient | None = None,
    socket_mode: bool = False,
    ack_budget: float = 2.0,
) -> tuple[App, Edge]:
    """The Bolt app with every listener registered, and the edge its listeners share."""
    settings.require("SLACK_BOT_TOKEN")
    secret = None if socket_mode else settings.require("SLACK_SIGNING_SECRET").get_secret_value()
    client = client or make_client(settings)
    app = App(
        client=client,
        signing_secret=secret,
        request_verification_enabled=not socket_mode,
        # Listeners ack themselves (``Edge.answer``) and hand what follows to ``Edge.after``;
        # Bolt's own hand-off would poll for the ack every 10 ms, adding that to every answer.
        process_before_response=True,
        logger=logging.getLogger("slabot.bolt"),
    )
    directory = Directory(client)
    edge = Edge(
        ctx=ctx,
        settings=settings,
        client=client,
        directory=directory,
        permissions=Permissions(settings, directory),
        channels=IncidentChannels(client, settings, ctx.contracts),
        ack_budget=ack_budget,
    )
    register(app, edge)
    return app, edge


def health(ctx: Context) -> tuple[int, dict]:
    """``GET /healthz``: the database answers (and, later, the worker's heartbeat)."""
    try:
        ctx.db.ping()
    except Exception as exc:
        return 503, {"status": "unhealthy", "database": type(exc).__name__}
    return 200, {"status": "ok", "database": "ok"}


def wsgi_app(app: App, ctx: Context) -> Callable:
    """Slack's commands, interactivity and events at ``POST /slack/events``; ``GET /healthz``."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            status, body = health(ctx)
            data = json.dumps(body).encode()
            start_response(
                f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        return slack(environ, start_response)

    return application


def http_server(
    app: App, ctx: Context, *, host: str = "0.0.0.0", port: int = 3000, threads: int = 16
):
    """A waitress server (production-grade, pure Python); ``.run()`` serves, ``.close()`` stops."""
    from waitress.server import create_server

    return create_server(wsgi_app(app, ctx), host=host, port=port, threads=threads, ident="slabot")


def socket_mode_handler(app: App, settings: Settings):
    """Socket Mode for a laptop or a firewalled host: no public URL needed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = settings.require("SLACK_APP_TOKEN").get_secret_value()
    return SocketModeHandler(app, app_token=token, web_client=make_client(settings))
