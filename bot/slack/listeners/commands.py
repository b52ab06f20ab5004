"""Slash commands: parse, then answer within Slack's 3 seconds (see ``Edge.answer``)."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import blocks, handlers
from bot.slack.grammar import (
    Declare,
    IncidentVerb,
    Maintenance,
    OpenDeclareForm,
    Report,
    SlaVerb,
    UsageError,
    parse_incident,
    parse_sla,
)
from bot.slack.handlers import Edge, Reply


def register(app: App, edge: Edge) -> None:
    @app.command("/incident")
    def incident(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        user, channel = command["user_id"], command.get("channel_id")
        try:
            parsed = parse_incident(command.get("text", ""), edge.severity_names())
        except UsageError as exc:
            ack(**handlers.refused(str(exc)).payload())
            return
        if isinstance(parsed, OpenDeclareForm):
            ack()
            form = blocks.declare_form(edge.severity_names(), edge.ctx.contracts, channel)
            edge.after(lambda: client.views_open(trigger_id=command["trigger_id"], view=form))
            return

        def work() -> Reply:
            if _changes(parsed) and not edge.first_time(f"command:{command.get('trigger_id')}"):
                return handlers.ALREADY_HANDLED
            if isinstance(parsed, Declare):
                return handlers.declare(edge, user, channel, parsed)
            assert isinstance(parsed, IncidentVerb)
            return handlers.act(edge, user, channel, parsed)

        _answer(edge, ack, respond, work)

    @app.command("/sla")
    def sla(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        user = command["user_id"]
        try:
            parsed = parse_sla(command.get("text", ""))
        except UsageError as exc:
            ack(**handlers.refused(str(exc)).payload())
            return

        def work() -> Reply:
            if isinstance(parsed, Maintenance):
                if not edge.first_time(f"command:{command.get('trigger_id')}"):
                    return handlers.ALREADY_HANDLED
                return handlers.maintenance(edge, user, parsed)
            if isinstance(parsed, Report):
                return handlers.report(edge, user, command.get("channel_id"), parsed)
            assert isinstance(parsed, SlaVerb)
            if parsed.verb == "customers":
                return handlers.customers(edge, user)
            if parsed.verb == "policies":
                return handlers.policies(edge)
            return handlers.sla_help()

        _answer(edge, ack, respond, work)


def _changes(parsed: object) -> bool:
    """A command that changes something is processed once per delivery (a replayed or
    repeated request changes nothing more); reading needs no claim, and saves its write."""
    return isinstance(parsed, Declare) or (
        isinstance(parsed, IncidentVerb) and parsed.verb not in READ_ONLY_VERBS
    )


READ_ONLY_VERBS = frozenset({"status", "list", "help"})


def _answer(edge: Edge, ack: Ack, respond: Respond, work) -> None:
    edge.answer(
        work,
        deliver_now=lambda reply: ack(**reply.payload()),
        deliver_later=lambda reply: respond(**reply.payload(), replace_original=False),
    )
