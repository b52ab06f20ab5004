"""Bolt listeners, registered per kind: commands, actions (buttons), modals (form
submissions), events.

tests/slack/test_manifest.py records what ``register`` registers and checks manifest.yml
declares the same commands and events."""

from slack_bolt import App

from bot.slack.handlers import Edge
from bot.slack.listeners import actions, commands, events, modals


def register(app: App, edge: Edge) -> None:
    commands.register(app, edge)
    actions.register(app, edge)
    modals.register(app, edge)
    events.register(app, edge)
