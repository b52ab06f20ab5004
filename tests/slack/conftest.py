"""Scenario harness: signed requests into the real Bolt app, a local Slack Web API behind it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.context import Context
from bot.slack.app import build_app
from bot.slack.handlers import Edge
from bot.slack.loopback import LoopbackSlack
from config.settings import Settings

SIGNING_SECRET = "test-signing-secret-9f8e7d"
BOT_TOKEN = "xoxb-test-token-1234"


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {
        "content-type": [
            "application/x-www-form-urlencoded" if not body.startswith("{") else "application/json"
        ],
        "x-slack-request-timestamp": [str(timestamp)],
        "x-slack-signature": [signature],
    }


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_user("U1", "ana", tz="Europe/Copenhagen")
        server.add_user("U2", "bo", tz="America/New_York")
        server.add_user("U3", "cy", tz="UTC")
        server.add_usergroup("S1", "oncall", ["U2"])
        server.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1", "U2", "U3"))
        yield server


def make_settings(slack: LoopbackSlack, **overrides) -> Settings:
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Workspace:
    """A Bolt app wired to the local Slack, and ways to send it what Slack would."""

    app: App
    edge: Edge
    slack: LoopbackSlack
    ctx: Context

    def dispatch(self, body: str, headers: dict | None = None):
        return self.app.dispatch(BoltRequest(body=body, headers=headers or signed_headers(body)))

    def command(
        self,
        command: str,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C0GENERAL",
        trigger: str | None = None,
    ):
        body = urlencode({
            "token": "legacy", "team_id": "T0LOOP", "channel_id": channel, "channel_name": "x",
            "user_id": user, "user_name": user.lower(), "command": command, "text": text,
            "response_url": self.slack.response_url(), "trigger_id": trigger or f"trig-{time.monotonic_ns()}",
        })  # fmt: skip
        return self.dispatch(body)

    def incident(self, text: str, **kwargs):
        return self.command("/incident", text, **kwargs)

    def sla(self, text: str, **kwargs):
        return self.command("/sla", text, **kwargs)

    def _payload(self, payload: dict):
        return self.dispatch(urlencode({"payload": json.dumps(payload)}))

    def click(self, action_id: str, ref: str, *, user: str = "U1", channel: str | None = None):
        return self._payload({
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T0LOOP"},
            "channel": {"id": channel} if channel else None, "trigger_id": f"trig-{time.monotonic_ns()}",
            "response_url": self.slack.response_url(), "container": {"type": "message"},
            "actions": [{"action_id": action_id, "block_id": f"incident:{ref}", "value": ref, "type": "button"}],
        })  # fmt: skip

    def submit(
        self,
        callback_id: str,
        values: dict,
        *,
        metadata: str = "",
        user: str = "U1",
        view_id: str | None = None,
    ):
        """A form submitted; each opened form has its own view id (give one to repeat it)."""
        return self._payload({
            "type": "view_submission", "user": {"id": user}, "team": {"id": "T0LOOP"},
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "view": {"id": view_id or f"V{time.monotonic_ns()}", "type": "modal", "callback_id": callback_id, "private_metadata": metadata, "state": {"values": values}},
        })  # fmt: skip

    def event(self, event: dict, event_id: str = "Ev1"):
        body = json.dumps(
            {"type": "event_callback", "team_id": "T0LOOP", "event_id": event_id, "event": event}
        )
        return self.dispatch(body)

    def ack_text(self, response) -> str:
        """The text of a command's immediate answer (its ack body)."""
        assert response.status == 200, response.body
        return json.loads(response.body).get("text", "") if response.body else ""


_EDGES: list[Edge] = []


@pytest.fixture
def ctx(ctx):
    """The root ``ctx``; when the test ends, the work its apps left running (what follows an
    ack) finishes before the database is emptied."""
    yield ctx
    while _EDGES:
        assert _EDGES.pop().wait_idle(10), "work after the ack still running after 10 s"


@pytest.fixture
def workspace(slack, ctx) -> Workspace:
    return make_workspace(slack, ctx)


def make_workspace(slack: LoopbackSlack, ctx: Context, **overrides) -> Workspace:
    app, edge = build_app(ctx, make_settings(slack, **overrides))
    _EDGES.append(edge)
    return Workspace(app, edge, slack, ctx)


def text_of(call) -> str:
    """Everything a posted message says: its fallback text and its blocks, as JSON."""
    return call.params.get("text", "") + json.dumps(
        call.params.get("blocks", []), ensure_ascii=False
    )
