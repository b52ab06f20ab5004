"""Form submissions: the declare form and the update / pause / resolve / severity forms."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import Refusal
from bot.incidents import service
from bot.slack import handlers, mrkdwn
from bot.slack.grammar import Declare
from bot.slack.handlers import Edge, Reply


def _value(view: dict, block: str):
    state = view["state"]["values"].get(block, {}).get("value", {})
    if "value" in state:
        return (state["value"] or "").strip()
    if "selected_option" in state:
        return (state["selected_option"] or {}).get("value")
    if "selected_options" in state:
        return [o["value"] for o in state["selected_options"] or []]
    return None


def register(app: App, edge: Edge) -> None:
    @app.view("declare")
    def declare(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        origin = view.get("private_metadata") or None
        command = Declare(
            severity=int(_value(view, "severity")),
            title=_value(view, "title") or "",
            customers=tuple(_value(view, "customers") or ()),
            outage=bool(_value(view, "outage")),
            started=_value(view, "started") or None,
        )
        _submit(
            edge,
            ack,
            client,
            user,
            origin,
            "title",
            lambda: handlers.declare(edge, user, origin, command),
        )

    @app.view("update")
    @app.view("pause")
    @app.view("resolve")
    def text_forms(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user, ref = body["user"]["id"], view["private_metadata"]
        verb = view["callback_id"]
        text = _value(view, "text") or ""

        def work() -> Reply:
            if not edge.permissions.may_respond(user):
                return handlers.refused(handlers.NOT_A_RESPONDER)
            return handlers.change(edge, user, ref, verb, text=text)

        _submit(edge, ack, client, user, _channel_of(edge, ref), "text", work)

    @app.view("severity")
    def severity(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user, ref = body["user"]["id"], view["private_metadata"]
        level = int(_value(view, "severity"))

        def work() -> Reply:
            if not edge.permissions.may_respond(user):
                return handlers.refused(handlers.NOT_A_RESPONDER)
            return handlers.change(edge, user, ref, "severity", severity=level)

        _submit(edge, ack, client, user, _channel_of(edge, ref), "severity", work)


def _channel_of(edge: Edge, ref: str) -> str | None:
    try:
        return service.get(edge.ctx, ref).channel_id
    except Refusal:
        return None


def _submit(
    edge: Edge, ack: Ack, client: WebClient, user: str, channel: str | None, field: str, work
) -> None:
    """A refusal shows on the form itself; success closes it and confirms ephemerally."""

    def now(reply: Reply) -> None:
        if reply.refused:
            text = reply.message.text.removeprefix("⚠️ ")
            where = "started" if text.startswith("started:") and field == "title" else field
            ack(response_action="errors", errors={where: mrkdwn.clip(text, 150)})
            return
        ack()
        later(reply)

    def later(reply: Reply) -> None:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, **reply.message.as_kwargs())

    edge.answer(work, deliver_now=now, deliver_later=later)
