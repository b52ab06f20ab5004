"""Building the Bolt app, and serving it: HTTP on waitress, or Socket Mode.

Every Slack client — Bolt's, the worker's, Socket Mode's — is made by ``make_client``
(bot/slack/client.py), so ``SLACK_API_URL`` is honoured everywhere (GovSlack, and the
tests' local Slack).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from urllib.parse import parse_qs

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot import metrics, web
from bot.alerts.hooks import AlertHooks
from bot.context import Context
from bot.reminders import service as reminders
from bot.slack.authz import Permissions
from bot.slack.channels import IncidentChannels
from bot.slack.client import MeteredWebClient, check_bot_token, make_client
from bot.slack.handlers import Edge
from bot.slack.listeners import register
from bot.slack.payload import MissingField
from bot.slack.people import Directory
from config.settings import Settings

log = logging.getLogger(__name__)

HTTP_THREADS = 64
"""Threads answering HTTP requests. Each holds a command for at most the ack budget (the
work goes on elsewhere), so 64 acknowledge a burst of 50 simultaneous commands without one
waiting for a thread; waiting for one counts against the budget all the same."""
ANSWERS = 64
"""Threads doing the work of changing commands: a declaration holds one while Slack makes
its channel, so a burst of them with Slack slow needs many, and the rest wait their turn
(their ack says "working on it")."""
READS = 16
"""Threads of reading commands (``list``, ``status``, ``help``): never behind changes
waiting for a lock or for Slack."""
FOLLOW_UPS = 32
"""Threads of what follows an ack (pins, invitations, statements, reports, late answers)."""


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
        client=MeteredWebClient(
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
        executor=executor or ThreadPoolExecutor(FOLLOW_UPS, thread_name_prefix="slabot-after"),
        ack_budget=ack_budget,
        answers=executor or ThreadPoolExecutor(ANSWERS, thread_name_prefix="slabot-answer"),
        reads=executor or ThreadPoolExecutor(READS, thread_name_prefix="slabot-read"),
    )
    register(app, edge)
    app.error(refuse_malformed)
    return app, edge


def refuse_malformed(error: Exception, body: dict, logger: logging.Logger) -> BoltResponse | None:
    """Bolt's error handler: a signed payload without a field slabot needs is refused in words
    (a command's person reads why; Slack gets a 400 for the rest), logged in one line without
    a traceback; any other exception is a bug, logged with its traceback (a 500)."""
    if not isinstance(error, MissingField):
        logger.exception("Failed to run listener function (error: %s)", error)
        return None
    kind = "command" if body.get("command") else str(body.get("type") or "request")[:40]
    log.warning("refused a Slack %s: %s", kind, error)
    if kind == "command":
        text = f"⚠️ {error}, so slabot did nothing; try again."
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    return BoltResponse(status=400, body={"error": str(error)})


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


def health(ctx: Context, *, detailed: bool = False, strict: bool = False) -> tuple[int, dict]:
    """``GET /healthz``: 200 ``{"status": "ok"}`` while the database answers, else 503.

    That is all an unauthenticated probe sees. ``detailed`` (a monitor holding
    ``SLABOT_HEALTH_TOKEN``) adds what the reminder worker is doing: a worker that is down,
    or reminders that failed, are reported (``worker``: ``ok``, ``stale`` or ``none``) but do
    not make it 503 — restarting the web process would not fix them, and a deployment may
    run the worker elsewhere. ``strict`` (``/healthz?strict=1``, for an uptime monitor) is
    503 on anything ``slabot doctor`` would flag.
    """
    try:
        ctx.db.ping()
    except Exception as exc:
        down = {"status": "unhealthy"}
        return 503, {**down, "database": type(exc).__name__} if detailed else down
    if not detailed:
        return 200, {"status": "ok"}
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


SLACK_PATH = "/slack/events"
SIGNATURE_TOLERANCE = 300
"""Seconds a Slack request's timestamp may be off (Slack's own rule): older ones are replays."""


def verify_slack_request(
    secret: str, environ: dict, body: bytes, now: Callable[[], float] = time.time
) -> None:
    """Slack's signature over the raw body (``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``),
    checked before anything reads the body; ``Refused(401)`` saying what is wrong."""
    timestamp = (environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "").strip()
    signature = (environ.get("HTTP_X_SLACK_SIGNATURE") or "").strip()
    if not timestamp or not signature:
        raise web.Refused(401, "no Slack signature")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise web.Refused(401, "the Slack timestamp is not a number")
    if abs(now() - int(timestamp)) > SIGNATURE_TOLERANCE:
        raise web.Refused(401, "the Slack timestamp is more than 5 minutes off (a replay?)")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    if not web.same_secret(signature, "v0=" + digest.hexdigest()):
        raise web.Refused(401, "the Slack signature does not match")


def wsgi_app(
    app: App | None,
    ctx: Context,
    settings: Settings,
    *,
    now: Callable[[], float] = time.time,
    hooks: AlertHooks | None = None,
) -> Callable:
    """Slack's commands, interactivity and events at ``POST /slack/events``; ``GET /healthz``;
    ``GET /metrics`` (bot/metrics.py); the alert webhooks at ``POST /hooks/<source>``
    (bot/alerts/hooks.py).

    Every request to ``/slack/events`` is read within ``web.BODY_LIMIT`` and its signature
    checked here, before Bolt parses or logs anything of it: a forged, stale or oversized
    request, or one that is not a Slack payload, is refused (401, 413, 400) in one bounded
    log line (``web.refusals``). ``now`` is the clock signatures are judged by."""
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    token = settings.health_token.get_secret_value() if settings.health_token else None

    def healthz(environ: dict, start_response: Callable) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        strict = query.get("strict", ["0"])[-1].lower() in ("1", "true", "yes")
        given = web.bearer_token(environ)
        if (given is not None or strict) and not (token and web.same_secret(given, token)):
            raise web.Refused(
                401,
                "the details need Authorization: Bearer <SLABOT_HEALTH_TOKEN>"
                if token
                else "details are off: set SLABOT_HEALTH_TOKEN, or run slabot doctor",
            )
        status, body = health(ctx, detailed=given is not None, strict=strict)
        head = environ.get("REQUEST_METHOD") == "HEAD"
        return web.answer(start_response, status, body, head=head)

    def slack_events(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if app is None or not secret:
            raise web.Refused(404, "this process serves no Slack app over HTTP")
        body = web.read_body(environ)
        verify_slack_request(secret, environ, body, now)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise web.Refused(400, "the body is not UTF-8") from None
        wsgi_request = WsgiHttpRequest(environ)
        try:
            request = BoltRequest(
                body=text, query=wsgi_request.query_string, headers=wsgi_request.get_headers()
            )
        except Exception:  # not JSON, a list, a string: not a payload Slack sends
            raise web.Refused(400, "the body is not a Slack payload") from None
        if not isinstance(request.body, dict):
            raise web.Refused(400, "the body is not a Slack payload")
        # Slack's 3 seconds run from the request's arrival (``Edge.answer``).
        token = web.arrived.set(environ.get(web.ARRIVED) or time.monotonic())
        try:
            response = app.dispatch(request)
        finally:
            web.arrived.reset(token)
        wsgi_response = WsgiHttpResponse(response.status, response.headers, response.body)
        start_response(wsgi_response.status, wsgi_response.get_headers())
        return wsgi_response.get_body()

    routes = {
        "/healthz": (("GET", "HEAD"), healthz),
        SLACK_PATH: (("POST",), slack_events),
        "/metrics": (("GET", "HEAD"), metrics.route(ctx, settings)),
    }
    routes.update((hooks or AlertHooks(ctx, settings)).routes())

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            methods, route = routes.get(environ.get("PATH_INFO") or "", ((), None))
            if route is None:
                raise web.Refused(404, "no such path")
            if environ.get("REQUEST_METHOD") not in methods:
                raise web.Refused(405, f"use {' or '.join(methods)}")
            return route(environ, start_response)
        except web.Refused as refusal:
            web.refusals.refused(web.describe(environ), refusal.status, refusal.reason)
            return web.answer(
                start_response,
                refusal.status,
                {"error": refusal.reason},
                head=environ.get("REQUEST_METHOD") == "HEAD",
                close=refusal.status == 413,
            )

    return application


def http_server(
    app: App,
    ctx: Context,
    settings: Settings,
    *,
    host: str = "0.0.0.0",
    port: int = 3000,
    threads: int = HTTP_THREADS,
):
    """The HTTP server (waitress, guarded against slow and greedy clients: bot/webserver.py);
    ``.run()`` serves, ``.close()`` stops."""
    from bot.webserver import guarded_server

    return guarded_server(wsgi_app(app, ctx, settings), host=host, port=port, threads=threads)


def socket_mode_handler(app: App, settings: Settings):
    """Socket Mode for a laptop or a firewalled host: no public URL needed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = settings.require("SLACK_APP_TOKEN").get_secret_value()
    return SocketModeHandler(app, app_token=token, web_client=make_client(settings))
