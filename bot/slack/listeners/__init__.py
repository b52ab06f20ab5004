"""Bolt listeners, registered per kind: commands, actions, views, events."""

from slack_bolt import App

from bot.slack.handlers import Edge
from bot.slack.listeners import actions, commands, events, views

COMMANDS = ("/incident", "/sla")


def register(app: App, edge: Edge) -> None:
    commands.register(app, edge)
    actions.register(app, edge)
    views.register(app, edge)
    events.register(app, edge)
