"""Scenario harness: signed requests into the real Bolt app, a local Slack Web API behind it."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.context import Context
from bot.slack.app import build_app
from bot.slack.handlers import Edge
from bot.slack.loopback import RESPONSE_URL, LoopbackSlack, SignedRequest, SlackRequests
from config.settings import Settings

SIGNING_SECRET = "test-signing-secret-9f8e7d"
BOT_TOKEN = "xoxb-test-token-1234"
SIGNED = SlackRequests(SIGNING_SECRET)
"""Requests signed as Slack signs them for this app (``SIGNED.command(...)``, …)."""
PATIENT = 60.0
"""The ack budget of the test apps, in seconds: what a command answers at once does not
depend on how busy the machine is. Tests of the budget itself build the app with Slack's
(``make_workspace(..., ack_budget=None)``)."""
WORKING_ON_IT = "⏳ Working on it"
"""How an answer that did not fit the ack budget begins; the answer follows at the
command's response URL."""


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
    requests: SlackRequests = field(default=SIGNED)

    def dispatch(self, request: SignedRequest):
        return self.app.dispatch(BoltRequest(body=request.body, headers=request.headers))

    def command(
        self,
        command: str,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C0GENERAL",
        trigger: str | None = None,
    ):
        request = self.requests.command(
            command, text, user=user, channel=channel, response_url=self.slack.response_url(),
            trigger_id=trigger,
        )  # fmt: skip
        return self.dispatch(request)

    def incident(self, text: str, **kwargs):
        return self.command("/incident", text, **kwargs)

    def sla(self, text: str, **kwargs):
        return self.command("/sla", text, **kwargs)

    def click(
        self,
        action_id: str,
        ref: str,
        *,
        user: str = "U1",
        channel: str | None = None,
        trigger: str | None = None,
    ):
        button = self.requests.button(action_id, ref, block_id=f"incident:{ref}")
        request = self.requests.block_actions(
            [button], user=user, channel=channel, response_url=self.slack.response_url(),
            trigger_id=trigger,
        )  # fmt: skip
        return self.dispatch(request)

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
        request = self.requests.view_submission(
            callback_id=callback_id, values=values, user=user, view_id=view_id,
            private_metadata=metadata,
        )  # fmt: skip
        return self.dispatch(request)

    def event(self, event: dict, event_id: str = "Ev1"):
        return self.dispatch(self.requests.event(event, event_id=event_id))

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
        assert _EDGES.pop().wait_idle(60), "work after the ack still running after 60 s"


@pytest.fixture
def workspace(slack, ctx) -> Workspace:
    return make_workspace(slack, ctx)


def make_workspace(
    slack: LoopbackSlack, ctx: Context, *, ack_budget: float | None = PATIENT, **overrides
) -> Workspace:
    """The app with these settings; ``ack_budget=None`` keeps the production budget."""
    budget = {} if ack_budget is None else {"ack_budget": ack_budget}
    app, edge = build_app(ctx, make_settings(slack, **overrides), **budget)
    _EDGES.append(edge)
    return Workspace(app, edge, slack, ctx)


def answer(response) -> dict:
    """The JSON body of a 200 answer to a signed request."""
    assert response.status == 200, response.body
    return json.loads(response.body)


def text_of(call) -> str:
    """Everything a posted message says: its fallback text and its blocks, as JSON."""
    return call.params.get("text", "") + json.dumps(
        call.params.get("blocks", []), ensure_ascii=False
    )


def command_over_http(
    base: str, slack: LoopbackSlack, text: str, *, channel: str, user: str = "U1"
) -> tuple[int, dict]:
    """A signed ``/incident`` command sent to a running ``slabot serve`` (or ``run``) over
    HTTP: the HTTP status, and the answer — the immediate one or, when that said "working
    on it" (a busy machine: the process keeps Slack's ack budget), the one that followed."""
    url = slack.response_url()
    signed = SIGNED.command("/incident", text, user=user, channel=channel, response_url=url)
    with urllib.request.urlopen(signed.http(f"{base}/slack/events"), timeout=60) as answer:
        status, body = answer.status, json.loads(answer.read() or b"{}")
    if body.get("text", "").startswith(WORKING_ON_IT):
        target = url.rsplit("/", 1)[1]
        body = slack.wait_for(RESPONSE_URL, where=lambda c: c.target == target)[-1].params
    return status, body
