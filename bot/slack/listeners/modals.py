"""Modal submissions (Slack's ``view_submission``): the declare form and the update / pause /
resolve / severity forms. Each form's ``callback_id`` is the ``/incident`` verb it submits."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.corrections import Correction
from bot.slack import blocks, handlers, mrkdwn
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
            lambda: handlers.declare(edge, user, origin, command, notice_channel=origin),
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

    @app.view(IncidentVerb.CORRECT)
    def correct(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        """ "Correct the record": the fields changed from what the form showed are corrected
        (an emptied time clears it), in one correction with the reason given."""
        user = body["user"]["id"]
        metadata = json.loads(view.get("private_metadata") or "{}")
        ref, initial = metadata.get("ref", ""), metadata.get("initial", {})
        values = {block: _value(view, block) for block in (*CORRECT_FIELDS, "reason")}

        def work() -> Reply:
            return handlers.correct(
                edge, user, ref, _correction(edge, user, initial, values),
                reason=values["reason"] or None,
            )  # fmt: skip

        _submit(
            edge, ack, client, user, view, "reason", work, channel=lambda: _channel_of(edge, ref)
        )


CORRECT_FIELDS = (
    *(name for name, _, _ in blocks.CORRECT_TIMES), "outage", "impact_pct", "customers", "excluded",
)  # fmt: skip


def _correction(edge: Edge, user: str, initial: dict, values: dict) -> Correction:
    """What the person changed on the correction form, as a ``Correction``."""
    changed: dict = {}
    for name, _, _ in blocks.CORRECT_TIMES:
        typed = values[name] or ""
        if typed != (initial.get(name) or ""):
            at = handlers.when_typed(edge, user, typed, name) if typed else None
            changed["started_at" if name == "reported_at" else name] = at
    if "started_at" in changed and changed["started_at"] is None:
        raise Refusal("when it started is required", field="reported_at")
    outage = bool(values["outage"])
    if outage != bool(initial.get("outage")):
        changed["outage"] = outage
    impact = values["impact_pct"] or ""
    if impact != (initial.get("impact_pct") or ""):
        try:
            changed["impact_pct"] = float(impact.removesuffix("%").strip()) if impact else None
        except ValueError:
            raise Refusal(
                f"{impact!r} is not a percentage; give 0 < impact ≤ 100, or leave it empty",
                field="impact_pct",
            ) from None
    customers = values["customers"]
    if customers is not None and sorted(customers) != sorted(initial.get("customers") or []):
        changed["customers"] = tuple(customers)
    excluded = values["excluded"] or ""
    if excluded != (initial.get("excluded") or ""):
        changed["excluded"] = excluded or None
    if not changed:
        raise Refusal("nothing was changed on the form: change a fact, then submit", field="reason")
    return Correction(**changed)


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

    blocks_shown = {b.get("block_id") for b in view.get("blocks") or []}
    aliases = {"impact_start": "reported_at", "declared_at": "reported_at"}

    def now(reply: Reply) -> None:
        if reply.refused:
            text = reply.reason
            where = "started" if text.startswith("started:") and field == "title" else field
            shown = aliases.get(reply.field or "", reply.field)
            if shown in blocks_shown:
                where = shown
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
