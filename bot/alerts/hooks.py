"""The alert webhooks on slabot's HTTP server: ``POST /hooks/alertmanager``, ``/hooks/grafana``,
``/hooks/pagerduty``, ``/hooks/opsgenie``.

Each request is read within the shared body cap (413), authenticated (401, nothing read
further), parsed by its source's parser (400 saying what was wrong) and handed to the alerts
service; the answer is what the delivery did, as JSON. A refusal is one line of
``web.refusals`` like every route's. Authentication: ``Authorization: Bearer
<SLABOT_HOOK_TOKEN>`` from any source, or PagerDuty's own ``X-PagerDuty-Signature``
(``v1=`` HMAC-SHA256 of the body under ``SLABOT_PAGERDUTY_WEBHOOK_SECRET``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable

from bot import metrics, web
from bot.alerts import service
from bot.alerts.rules import AlertRules, load_rules
from bot.alerts.service import Announcer
from bot.alerts.sources import SOURCES, Malformed, parse
from bot.context import Context
from bot.errors import Refusal
from config.contracts import ContractError
from config.settings import Settings
from storage.db import unavailable

log = logging.getLogger(__name__)

PREFIX = "/hooks/"


def record_hook_outcome(source: str, outcome: str) -> None:
    """The one place a hook request's outcome is told (``declared``, ``joined``,
    ``restored``, ``proposed``, ``ignored``, ``unchanged``, ``unauthorized``, ``malformed``,
    ``too_large``, ``refused``, ``unavailable``, ``error``): metrics count it."""
    log.debug("hook %s: %s", source, outcome)
    metrics.record_hook_outcome(source, outcome)


def _summary(outcome: service.Outcome) -> str:
    for name in ("declared", "restored", "joined"):
        if getattr(outcome, name):
            return name
    if outcome.proposed:
        return "proposed"
    return "ignored" if outcome.ignored and not outcome.unchanged else "unchanged"


def pagerduty_signed(secret: str, body: bytes, header: str) -> bool:
    """PagerDuty's ``X-PagerDuty-Signature``: one or more ``v1=<hex>`` (more while a secret
    is rotated), any of which is the HMAC-SHA256 of the raw body."""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(web.same_secret(given.strip(), expected) for given in header.split(","))


class AlertHooks:
    """The four routes, sharing the rules (read once) and the Slack side (made on first use:
    a process without Slack settings still refuses and parses)."""

    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        announcer: Callable[[], Announcer] | None = None,
    ):
        self.ctx, self.settings = ctx, settings
        self._announcer_factory = announcer or self._slack_announcer
        self._announcer: Announcer | None = None
        self._rules: AlertRules | None = None
        self._lock = threading.Lock()

    def routes(self) -> dict[str, tuple[tuple[str, ...], Callable]]:
        return {PREFIX + source: (("POST",), self._route(source)) for source in SOURCES}

    def rules(self) -> AlertRules:
        with self._lock:
            if self._rules is None:
                try:
                    self._rules = load_rules(self.settings.alerts_file)
                except ContractError as exc:
                    log.error("the alert rules cannot be used:\n%s", exc)
                    raise web.Refused(
                        503, "slabot's alert rules file is invalid; `slabot policy check` says why"
                    ) from None
            return self._rules

    def announcer(self) -> Announcer:
        with self._lock:
            if self._announcer is None:
                self._announcer = self._announcer_factory()
            return self._announcer

    def _slack_announcer(self) -> Announcer:
        from bot.alerts.announce import SlackAnnouncer
        from bot.slack.channels import IncidentChannels
        from bot.slack.client import make_client

        channels = IncidentChannels(make_client(self.settings), self.settings, self.ctx.contracts)
        return SlackAnnouncer(self.ctx, self.settings, channels)

    def _route(self, source: str) -> Callable:
        def route(environ: dict, start_response: Callable) -> Iterable[bytes]:
            try:
                return self._serve(source, environ, start_response)
            except web.Refused as refusal:
                record_hook_outcome(source, _refusal_outcome(refusal.status))
                raise

        return route

    def _serve(self, source: str, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = web.read_body(environ)
        self._authenticate(source, environ, body)
        try:
            alerts = parse(source, body, self.ctx.clock.now())
        except Malformed as exc:
            raise web.Refused(400, f"not a {source} webhook payload: {exc}") from None
        rules = self.rules()
        try:
            outcome = service.receive(self.ctx, rules, alerts, self.announcer())
        except Refusal as refusal:
            raise web.Refused(422, str(refusal)) from None
        except Exception as exc:
            if unavailable(exc):
                raise web.Refused(503, "slabot's database did not answer; send it again") from None
            log.exception("%s: taking in the alerts failed", source)
            record_hook_outcome(source, "error")
            return web.answer(start_response, 500, {"error": "slabot failed; see its log"})
        record_hook_outcome(source, _summary(outcome))
        return web.answer(start_response, 200, {"ok": True, **outcome.as_json()})

    def _authenticate(self, source: str, environ: dict, body: bytes) -> None:
        token = self.settings.hook_token.get_secret_value() if self.settings.hook_token else None
        given = web.bearer_token(environ)
        if token and given is not None:
            if web.same_secret(given, token):
                return
            raise web.Refused(401, "the bearer token is not SLABOT_HOOK_TOKEN")
        if source == "pagerduty":
            secret = self.settings.pagerduty_webhook_secret
            header = (environ.get("HTTP_X_PAGERDUTY_SIGNATURE") or "").strip()
            if secret is not None and header:
                if pagerduty_signed(secret.get_secret_value(), body, header):
                    return
                raise web.Refused(401, "the PagerDuty signature does not match")
            if secret is not None or token:
                raise web.Refused(
                    401, "no PagerDuty signature (X-PagerDuty-Signature) and no bearer token"
                )
        elif token:
            raise web.Refused(401, "no Authorization: Bearer <SLABOT_HOOK_TOKEN>")
        raise web.Refused(
            401,
            "alert hooks are off: set SLABOT_HOOK_TOKEN"
            + (" or SLABOT_PAGERDUTY_WEBHOOK_SECRET" if source == "pagerduty" else ""),
        )


def _refusal_outcome(status: int) -> str:
    return {401: "unauthorized", 400: "malformed", 413: "too_large", 503: "unavailable"}.get(
        status, "refused"
    )
