"""Building the Bolt app, and serving it: HTTP on waitress, or Socket Mode.

Every Slack client — Bolt's, the worker's, Socket Mode's — is made by ``make_client``
(bot/slack/client.py), so ``SLACK_API_URL`` is honoured everywhere (GovSlack, and the
tests' local Slack).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.context import Context
from bot.reminders import service as reminders
from bot.slack.authz import Permissions
from bot.slack.channels import IncidentChannels
from bot.slack.client import check_bot_token, make_client
from bot.slack.handlers import Edge
from bot.slack.listeners import register
from bot.slack.people import Directory
from config.settings import Settings

log = logging.getLogger(__name__)


def build_app(
    ctx: Context,
    settings: Settings,
    *,
    client: WebClient | None = None,
    socket_mode: bool = False,
    ack_budget: float = 2.0,
    listener_executor: Executor | None = None,
    executor: Executor | None = None,
) -> tuple[App, Edge]:
    """The Bolt app with every listener registered, and the edge its listeners share.

    ``listener_executor`` runs Bolt's listeners (Bolt makes its own when none is given), and
    ``executor`` what they do after their ack (the edge makes its own when none is given);
    ``slabot console`` passes both, pools it can wait on, so each command's output is
    complete before the next line is read.
    """
    token = settings.require("SLACK_BOT_TOKEN").get_secret_value()
    secret = None if socket_mode else settings.require("SLACK_SIGNING_SECRET").get_secret_value()
    client = client or make_client(settings)
    app = App(
        # Bolt's own client has no token: ``workspace_authorize`` hands it over per request, so no
        # request (and no start-up) waits on Slack answering auth.test.
        client=WebClient(
            base_url=client.base_url, timeout=client.timeout, retry_handlers=client.retry_handlers
        ),
        authorize=workspace_authorize(token, check_bot_token(client)),
        signing_secret=secret,
        request_verification_enabled=not socket_mode,
        # Listeners ack themselves (``Edge.answer``) and hand what follows to ``Edge.after``;
        # Bolt's own hand-off would poll for the ack every 10 ms, adding that to every answer.
        process_before_response=True,
        logger=logging.getLogger("slabot.bolt"),
        listener_executor=listener_executor,
    )
    directory = Directory(client)
    edge = Edge(
        ctx=ctx,
        settings=settings,
        client=client,
        directory=directory,
        permissions=Permissions(settings, directory),
        channels=IncidentChannels(client, settings, ctx.contracts),
        executor=executor or ThreadPoolExecutor(16, thread_name_prefix="slabot-work"),
        ack_budget=ack_budget,
    )
    register(app, edge)
    return app, edge


def workspace_authorize(token: str, identity: dict | None) -> Callable[..., AuthorizeResult]:
    """Bolt's ``authorize`` for the one workspace slabot serves: the bot token, and the
    bot's identity when auth.test answered at start-up. (Bolt's own single-workspace path
    makes start-up fail when Slack does not answer auth.test, as if the token were invalid,
    and then asks again before every request until Slack does.)"""
    who = identity or {}

    def authorize(enterprise_id, team_id, user_id) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or who.get("team_id"),
            bot_token=token,
            bot_id=who.get("bot_id"),
            bot_user_id=who.get("user_id"),
            user_id=user_id,
        )

    return authorize


def health(ctx: Context, *, strict: bool = False) -> tuple[int, dict]:
    """``GET /healthz``: the database answers; what the reminder worker is doing.

    A web process is healthy when it can serve Slack: a worker that is down, or reminders
    that failed, are reported (``worker``: ``ok``, ``stale`` or ``none``) but do not make it
    503 — restarting the web process would not fix them, and a deployment may run the
    worker elsewhere. ``strict`` (``/healthz?strict=1``, for an uptime monitor) is 503 on
    anything ``slabot doctor`` would flag.
    """
    try:
        ctx.db.ping()
    except Exception as exc:
        return 503, {"status": "unhealthy", "database": type(exc).__name__}
    body: dict = {"status": "ok", "database": "ok"}
    try:
        state = reminders.health(ctx)
    except Exception as exc:  # e.g. a schema not yet migrated
        log.warning("reminder health unavailable", exc_info=True)
        body.update(worker="unknown", reminders=type(exc).__name__)
        return (503 if strict else 200), {**body, "status": "unhealthy" if strict else "ok"}
    body.update(state.summary())
    if strict and state.problems:
        return 503, {**body, "status": "unhealthy", "problems": state.problems}
    return 200, body


def wsgi_app(app: App, ctx: Context) -> Callable:
    """Slack's commands, interactivity and events at ``POST /slack/events``; ``GET /healthz``."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            query = parse_qs(environ.get("QUERY_STRING", ""))
            strict = query.get("strict", ["0"])[-1].lower() in ("1", "true", "yes")
            status, body = health(ctx, strict=strict)
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
