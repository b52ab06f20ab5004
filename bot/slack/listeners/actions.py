"""The incident card's buttons. Each acts like its slash command; some open a form first."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.alerts.announce import DECLARE_ACTION
from bot.errors import Refusal
from bot.incidents import service
from bot.slack import blocks, handlers
from bot.slack.blocks import ActionId
from bot.slack.handlers import Edge, Reply, request_key
from bot.slack.payload import field

_TEXT_FORMS: dict[ActionId, dict] = {
    ActionId.UPDATE: {
        "title": "Post an update", "submit": "Post", "label": "What is happening, what is next?",
    },
    ActionId.PAUSE: {
        "title": "Pause the clocks", "submit": "Pause",
        "label": "Why? (e.g. waiting for the customer's logs)",
    },
    ActionId.RESOLVE: {
        "title": "Resolve", "submit": "Resolve", "label": "Summary: cause and fix",
        "optional": True, "hint": "Posted in the channel and kept with the incident.",
    },
}  # fmt: skip
"""The buttons that open a one-field form first (``blocks.text_form``'s arguments; the
form's ``callback_id`` is the button's verb)."""


def register(app: App, edge: Edge) -> None:
    @app.action({"action_id": DECLARE_ACTION})
    def declare_alert(
        ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        """An alert's "Declare?" question answered (bot/alerts/announce.py): the outcome
        replaces the question for everyone; a refusal is told to the one who clicked."""
        user, value = field(body, "user", "id"), field(action, "value")
        ack()
        channel = (body.get("channel") or {}).get("id")
        key = request_key("action", body.get("trigger_id"))

        def answer() -> None:
            if not edge.first_time(key):
                return
            reply = handlers.safely(
                lambda: handlers.declare_alert(edge, user, value, body.get("response_url"))
            )
            if reply.refused or not body.get("response_url"):
                _ephemeral(client, channel, user, reply)
                return
            respond(**reply.payload(), replace_original=True)

        edge.after(answer)

    @app.action({"action_id": ActionId.ACK})
    @app.action({"action_id": ActionId.RESUME})
    @app.action({"action_id": ActionId.RESTORE})
    def direct(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        user, ref = field(body, "user", "id"), field(action, "value")
        ack()
        channel = (body.get("channel") or {}).get("id")
        verb = ActionId(action["action_id"]).verb
        key = request_key("action", body.get("trigger_id"))

        def work() -> Reply:
            if not edge.first_time(key):
                return handlers.ALREADY_HANDLED
            return handlers.change(edge, user, ref, verb)

        _answer_clicker(edge, client, channel, user, work)

    @app.action({"action_id": ActionId.UPDATE})
    @app.action({"action_id": ActionId.PAUSE})
    @app.action({"action_id": ActionId.RESOLVE})
    def text_form(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        button = ActionId(action["action_id"])
        fields = {"callback_id": button.verb, **_TEXT_FORMS[button]}
        _open_form(edge, client, body, lambda ref: blocks.text_form(ref=ref, **fields))

    @app.action({"block_id": "customers", "action_id": "value"})
    def declare_customers(ack: Ack, body: dict, client: WebClient) -> None:
        """Customers chosen on the declare form: the severity list is drawn again with the
        levels their contracts all have (what was typed elsewhere stays: same block ids)."""
        ack()
        view = body.get("view") or {}
        state = (view.get("state") or {}).get("values") or {}
        chosen = (state.get("customers") or {}).get("value") or {}
        ids = [o.get("value", "") for o in chosen.get("selected_options") or ()]
        form = blocks.declare_form(
            service.levels_for(edge.ctx, ids),
            edge.ctx.contracts,
            view.get("private_metadata") or None,
        )
        edge.after(
            lambda: client.views_update(view_id=view["id"], hash=view.get("hash"), view=form)
        )

    @app.action({"action_id": ActionId.SEVERITY})
    def severity(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()

        def form(ref: str):
            current = service.get(edge.ctx, ref).severity
            return blocks.severity_form(ref, service.every_level(edge.ctx), current)

        _open_form(edge, client, body, form)

    @app.action({"action_id": ActionId.CORRECT})
    def correct(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        """The ⋯ menu's "Correct the record": the form, with the incident's facts as they
        stand in the person's zone. A resolved incident is corrected by admins only."""
        ack()
        user = body["user"]["id"]

        def form(ref: str):
            view = service.get(edge.ctx, ref)
            if not view.is_open and not edge.permissions.is_admin(user):
                raise Refusal(service.NOT_ADMIN_RESOLVED.format(ref=view.ref))
            return blocks.correct_form(view, edge.ctx.contracts, edge.directory.zone(user))[0]

        _open_form(edge, client, body, form)

    @app.action({"action_id": ActionId.POSTMORTEM})
    def postmortem(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        """A resolved incident's "Postmortem draft": the file follows in its channel."""
        user, ref = field(body, "user", "id"), field(action, "value")
        ack()
        channel = (body.get("channel") or {}).get("id")
        key = request_key("action", body.get("trigger_id"))

        def work() -> Reply:
            if not edge.first_time(key):
                return handlers.ALREADY_HANDLED
            return handlers.postmortem(edge, user, ref, key or f"{user}:{edge.ctx.clock.now()}")

        _answer_clicker(edge, client, channel, user, work)

    @app.action({"action_id": ActionId.TIMELINE})
    def timeline(ack: Ack, body: dict, action: dict, respond: Respond) -> None:
        """A timeline page's "Earlier events": that page, in place of the one shown."""
        user = field(body, "user", "id")
        ref, _, page = field(action, "value").partition(" ")
        ack()
        number = int(page) if page.isascii() and page.isdigit() else None

        def show() -> None:
            reply = handlers.safely(lambda: handlers.timeline(edge, user, ref, number))
            respond(**reply.payload(), replace_original=True)

        edge.after(show)


def _open_form(edge: Edge, client: WebClient, body: dict, form: Callable[[str], object]) -> None:
    """Open a button's form, unless the person may not act (then say why, privately)."""
    field(body, "user", "id")  # a payload without them is refused now, not after the ack
    _chosen(body)
    edge.after(lambda: _open_now(edge, client, body, form))


def _chosen(body: dict) -> str:
    """The incident a button names (its ``value``), or the ⋯ menu's chosen option's."""
    action = field(body, "actions", 0)
    if isinstance(action, dict) and "selected_option" in action:
        return field(action, "selected_option", "value")
    return field(body, "actions", 0, "value")


def _open_now(edge: Edge, client: WebClient, body: dict, form: Callable[[str], object]) -> None:
    user, ref = body["user"]["id"], _chosen(body)
    channel = (body.get("channel") or {}).get("id")
    try:
        if not edge.permissions.may_respond(user):
            raise Refusal(handlers.NOT_A_RESPONDER)
        view = form(ref)
    except Refusal as refusal:
        reason = str(refusal)
        _answer_clicker(edge, client, channel, user, lambda: handlers.refused(reason))
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)  # within the trigger's 3 s


def _answer_clicker(edge: Edge, client: WebClient, channel: str | None, user: str, work) -> None:
    """Buttons are acked at once; ``work``'s outcome reaches the person who clicked,
    ephemerally (a repeat of a click already processed says nothing)."""

    def deliver(reply: Reply) -> None:
        if reply is not handlers.ALREADY_HANDLED:
            _ephemeral(client, channel, user, reply)

    edge.after(lambda: deliver(handlers.safely(work)))


def _ephemeral(client: WebClient, channel: str | None, user: str, reply: Reply) -> None:
    """``reply`` for ``user`` alone, in the channel they clicked in (none: nowhere to say it)."""
    if channel:
        client.chat_postEphemeral(channel=channel, user=user, **reply.message.as_kwargs())
