"""The incident card's buttons. Each acts like its slash command; some open a form first."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import Refusal
from bot.incidents import service
from bot.slack import blocks, handlers
from bot.slack.handlers import Edge, Reply

_DIRECT = {"incident_ack": "ack", "incident_resume": "resume", "incident_restore": "restore"}
_TEXT_FORMS: dict[str, dict] = {
    "incident_update": {
        "callback_id": "update", "title": "Post an update", "submit": "Post",
        "label": "What is happening, what is next?",
    },
    "incident_pause": {
        "callback_id": "pause", "title": "Pause the clocks", "submit": "Pause",
        "label": "Why? (e.g. waiting for the customer's logs)",
    },
    "incident_resolve": {
        "callback_id": "resolve", "title": "Resolve", "submit": "Resolve",
        "label": "Summary: cause and fix",
        "optional": True, "hint": "Posted in the channel and kept with the incident.",
    },
}  # fmt: skip
"""The buttons that open a one-field form first (``blocks.text_form``'s arguments)."""


def register(app: App, edge: Edge) -> None:
    @app.action({"action_id": "incident_ack"})
    @app.action({"action_id": "incident_resume"})
    @app.action({"action_id": "incident_restore"})
    def direct(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user, ref = body["user"]["id"], action["value"]
        channel = (body.get("channel") or {}).get("id")

        def work() -> Reply:
            if not edge.first_time(f"action:{body.get('trigger_id')}"):
                return handlers.ALREADY_HANDLED
            return handlers.change(edge, user, ref, _DIRECT[action["action_id"]])

        _tell(edge, client, channel, user, work)

    @app.action({"action_id": "incident_update"})
    @app.action({"action_id": "incident_pause"})
    @app.action({"action_id": "incident_resolve"})
    def text_form(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        fields = _TEXT_FORMS[action["action_id"]]
        _open_form(edge, client, body, lambda ref: blocks.text_form(ref=ref, **fields))

    @app.action({"action_id": "incident_severity"})
    def severity(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()

        def form(ref: str):
            current = service.get(edge.ctx, ref).severity
            return blocks.severity_form(ref, edge.severity_names(), current)

        _open_form(edge, client, body, form)


def _open_form(edge: Edge, client: WebClient, body: dict, form: Callable[[str], object]) -> None:
    """Open a button's form, unless the person may not act (then say why, privately)."""
    edge.after(lambda: _open_now(edge, client, body, form))


def _open_now(edge: Edge, client: WebClient, body: dict, form: Callable[[str], object]) -> None:
    user, ref = body["user"]["id"], body["actions"][0]["value"]
    channel = (body.get("channel") or {}).get("id")
    try:
        if not edge.permissions.may_respond(user):
            raise Refusal(handlers.NOT_A_RESPONDER)
        view = form(ref)
    except Refusal as refusal:
        reason = str(refusal)
        _tell(edge, client, channel, user, lambda: handlers.refused(reason))
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)  # within the trigger's 3 s


def _tell(edge: Edge, client: WebClient, channel: str | None, user: str, work) -> None:
    """Buttons are acked at once; the outcome reaches the person who clicked, ephemerally."""

    def deliver(reply: Reply) -> None:
        if channel and reply is not handlers.ALREADY_HANDLED:
            client.chat_postEphemeral(channel=channel, user=user, **reply.message.as_kwargs())

    edge.after(lambda: deliver(handlers.safely(work)))
