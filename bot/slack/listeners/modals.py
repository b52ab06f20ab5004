"""Modal submissions (Slack's ``view_submission``): the declare form and the update / pause /
resolve / severity forms. Each form's ``callback_id`` is the ``/incident`` verb it submits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import Refusal
from bot.incidents import service
from bot.slack import handlers, mrkdwn
from bot.slack.channels import SLACK_FAILURES, why
from bot.slack.grammar import Declare, IncidentVerb
from bot.slack.handlers import Edge, Reply, request_key
from bot.slack.payload import field

log = logging.getLogger(__name__)


def _value(view: dict, block: str):
    state = (field(view, "state", "values").get(block) or {}).get("value") or {}
    if "value" in state:
        return (state["value"] or "").strip()
    if "selected_option" in state:
        return (state["selected_option"] or {}).get("value")
    if "selected_options" in state:
        return [o["value"] for o in state["selected_options"] or []]
    return None


def _level(view: dict) -> int | None:
    """The severity chosen on a form, or ``None`` (none chosen, or not a level)."""
    value = _value(view, "severity")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def register(app: App, edge: Edge) -> None:
    @app.view(IncidentVerb.DECLARE)
    def declare(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = field(body, "user", "id")
        origin = view.get("private_metadata") or None
        level = _level(view)
        if level is None:
            ack(response_action="errors", errors={"severity": "Choose a severity."})
            return
        command = Declare(
            severity=level,
            title=_value(view, "title") or "",
            customers=tuple(_value(view, "customers") or ()),
            outage=bool(_value(view, "outage")),
            started=_value(view, "started") or None,
        )
        _submit(
            edge, ack, client, user, view, "title",
            lambda: handlers.declare(edge, user, origin, command),
            channel=lambda: origin,
        )  # fmt: skip

    @app.view(IncidentVerb.UPDATE)
    @app.view(IncidentVerb.PAUSE)
    @app.view(IncidentVerb.RESOLVE)
    def text_forms(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user, ref = field(body, "user", "id"), field(view, "private_metadata")
        verb = IncidentVerb(view["callback_id"])
        text = _value(view, "text") or ""

        def work() -> Reply:
            return handlers.change(edge, user, ref, verb, text=text)

        _submit(edge, ack, client, user, view, "text", work, channel=lambda: _channel_of(edge, ref))

    @app.view(IncidentVerb.SEVERITY)
    def severity(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user, ref = field(body, "user", "id"), field(view, "private_metadata")
        level = _level(view)
        if level is None:
            ack(response_action="errors", errors={"severity": "Choose a severity."})
            return

        def work() -> Reply:
            return handlers.change(edge, user, ref, IncidentVerb.SEVERITY, severity=level)

        _submit(
            edge, ack, client, user, view, "severity", work, channel=lambda: _channel_of(edge, ref)
        )


def _channel_of(edge: Edge, ref: str) -> str | None:
    try:
        return service.get(edge.ctx, ref).channel_id
    except Refusal:
        return None


def _submit(
    edge: Edge,
    ack: Ack,
    client: WebClient,
    user: str,
    view: dict,
    field: str,
    work: Callable[[], Reply],
    *,
    channel: Callable[[], str | None],
) -> None:
    """A refusal shows on the form itself; success closes it and confirms where the person is.

    A submission is processed once (``view:<id>``); a refused one may be corrected and sent
    again under the same view id, so its claim is released. Everything that reads the
    database runs inside ``work`` or after the ack, so a slow database never delays it.
    """
    key = request_key("view", view.get("id"))

    def once() -> Reply:
        if not edge.first_time(key):
            return handlers.ALREADY_HANDLED
        reply = handlers.safely(work)
        if reply.refused:
            edge.forget(key)
        return reply

    def now(reply: Reply) -> None:
        if reply.refused:
            text = reply.reason
            where = "started" if text.startswith("started:") and field == "title" else field
            ack(response_action="errors", errors={where: mrkdwn.clip(text, 150)})
            return
        ack()
        edge.after(lambda: later(reply))

    def later(reply: Reply) -> None:
        if reply is handlers.ALREADY_HANDLED:
            return  # the first delivery told them
        where = channel()
        try:
            if reply.in_channel and where:
                edge.channels.post(where, reply.message)
            elif where:
                client.chat_postEphemeral(channel=where, user=user, **reply.message.as_kwargs())
        except SLACK_FAILURES as exc:
            log.warning("could not tell %s the outcome: %s", user, why(exc))

    edge.answer(once, deliver_now=now, deliver_later=later)
