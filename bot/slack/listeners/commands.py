"""Slash commands: parse, then answer within Slack's 3 seconds (see ``Edge.answer``)."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.incidents import service
from bot.slack import blocks, handlers
from bot.slack.authz import NOT_A_RESPONDER
from bot.slack.grammar import (
    Change,
    Correct,
    Declare,
    IncidentCommand,
    Maintenance,
    MaintenanceCancel,
    MaintenanceMove,
    OpenDeclareForm,
    Report,
    SlaCommand,
    Statement,
    UsageError,
    parse_incident,
    parse_sla,
)
from bot.slack.handlers import Edge, Reply, request_key
from bot.slack.payload import field


def register(app: App, edge: Edge) -> None:
    @app.command("/incident")
    def incident(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        user, channel = field(command, "user_id"), command.get("channel_id")
        try:
            parsed = parse_incident(command.get("text", ""), service.severity_names(edge.ctx))
        except UsageError as exc:
            ack(**handlers.refused(str(exc)).payload())
            return
        if isinstance(parsed, OpenDeclareForm):
            ack()
            form = blocks.declare_form(service.levels_for(edge.ctx), edge.ctx.contracts, channel)

            def open_form() -> None:  # after the ack: who may respond can take a Slack call
                if not edge.permissions.may_respond(user):
                    respond(**handlers.refused(NOT_A_RESPONDER).payload())
                    return
                client.views_open(trigger_id=command["trigger_id"], view=form)

            edge.after(open_form)
            return
        key = request_key("command", command.get("trigger_id")) if _changes(parsed) else None

        def work() -> Reply:
            if not edge.first_time(key):
                return handlers.ALREADY_HANDLED
            return handlers.incident(
                edge, user, channel, parsed, response_url=command.get("response_url")
            )

        _answer(edge, ack, respond, work, read=not _changes(parsed))

    @app.command("/sla")
    def sla(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        user = field(command, "user_id")
        try:
            parsed = parse_sla(command.get("text", ""))
        except UsageError as exc:
            ack(**handlers.refused(str(exc)).payload())
            return
        if isinstance(parsed, Report):
            channel, trigger = command.get("channel_id"), command.get("trigger_id")
            _report(edge, ack, respond, user, channel, trigger, parsed)
            return
        key = request_key("command", command.get("trigger_id")) if _changes(parsed) else None

        def work() -> Reply:
            if not edge.first_time(key):
                return handlers.ALREADY_HANDLED
            return handlers.sla(edge, user, command.get("channel_id"), parsed)

        _answer(edge, ack, respond, work, read=not _changes(parsed))


def _changes(parsed: IncidentCommand | SlaCommand) -> bool:
    """A command that changes something is processed once per delivery (a replayed or
    repeated request changes nothing more), and so is one that sends a file (a statement);
    reading needs no claim, and saves its write."""
    return isinstance(
        parsed,
        Declare | Change | Correct | Maintenance | MaintenanceCancel | MaintenanceMove | Statement,
    )


def _report(
    edge: Edge,
    ack: Ack,
    respond: Respond,
    user: str,
    channel: str | None,
    trigger: str | None,
    parsed: Report,
) -> None:
    """A report reads every customer's history: acknowledged at once (refused there when
    its period or customer is not one), the report replaces the acknowledgement when ready."""
    acknowledged = handlers.report_acknowledged(edge, parsed)
    ack(**acknowledged.payload())
    if acknowledged.refused:
        return
    # With ``csv`` it sends a file: processed once per delivery, like the other commands
    # that change or send something (a replay of it uploads nothing more).
    key = request_key("command", trigger) if parsed.csv else None

    def answer() -> None:
        if not edge.first_time(key):
            respond(**handlers.ALREADY_HANDLED.payload(), replace_original=True)
            return
        reply = handlers.safely(lambda: handlers.sla(edge, user, channel, parsed))
        respond(**reply.payload(), replace_original=True)

    edge.after(answer)


def _answer(edge: Edge, ack: Ack, respond: Respond, work, *, read: bool = False) -> None:
    edge.answer(
        work,
        read=read,
        deliver_now=lambda reply: ack(**reply.payload()),
        deliver_later=lambda reply: respond(**reply.payload(), replace_original=False),
    )
