"""Every refusal the issue names, as a scenario: the reply says what was wrong and what is
accepted, it is private, nothing is stored and nothing is announced."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.incidents import service
from bot.slack.loopback import RESPONSE_URL
from bot.slack.mrkdwn import decode
from storage import queries
from tests.slack.conftest import make_workspace
from tests.slack.test_incident_commands import READS, declared

FAR = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def snapshot(ctx) -> tuple:
    """Everything a refused command could have changed."""
    incidents = [v.as_json() for v in service.list_incidents(ctx, open_only=False)]
    timelines = {
        i["ref"]: [(e.kind, e.text) for e in service.timeline(ctx, i["ref"])] for i in incidents
    }
    with ctx.db.read() as session:
        windows = [(w.ref, w.title) for w in queries.maintenance_between(session, *FAR)]
    return incidents, timelines, windows


def says(body: dict, expected: str) -> None:
    """The refusal says ``expected`` (as the reader sees it), and all of it is escaped text:
    nothing in it can ping or link (a refusal may quote what was typed)."""
    assert "<" not in body["text"], body["text"]
    assert expected in decode(body["text"]), body["text"]


def announced(slack, since: int, allowed: frozenset = frozenset()) -> list[str]:
    return [c.method for c in slack.calls[since:] if c.method not in READS | allowed]


OUTSIDE = [
    ("acknowlege", "`acknowlege` is not a `/incident` command. Did you mean `/incident ack`?"),
    (
        "frobnicate now",
        "`frobnicate` is not a `/incident` command.\n`/incident` — open the declare form",
    ),
    ("&lt;!channel&gt;", "`<!channel>` is not a `/incident` command"),
    ("declare", "say the severity and what is broken: `/incident declare <sev> <title…>"),
    ("declare 1", "a title is required: say what is broken"),
    ("declare 1    ", "a title is required"),
    (
        "declare 9 Checkout down",
        "severity 9 is not in the messaging-platform contract; its levels: 1 (Severity I — cannot connect",
    ),
    (
        "declare critcal Checkout down",
        "'critcal' is not a severity; write a level such as 1, sev1, SEV-1, s1, p1 or I, or a level's name: critical (1), high (2)",
    ),
    (
        "declare 4 Slow for acme,umbrella",
        "severity 4 is not in the messaging-platform for umbrella contract",
    ),
    ("declare 1 Checkout down for acmee", "'acmee' is not a customer (did you mean 'acme'?)"),
    ("declare 1 Checkout down for", "`for` needs customers"),
    ("declare 1 Payments down for EU users", "`users` is not understood here"),
    ('declare 1 "Payments down for EU', "the quoted title has no closing quote"),
    (
        "declare 1 Checkout down started yesterday-ish",
        "started: 'yesterday-ish' is not a time; accepted: a time ago",
    ),
    (
        "declare 1 Checkout down started 10 minutes from now",
        "started: '10 minutes from now' is not a time",
    ),
    (
        "declare 1 Checkout down started 45 days ago",
        "is more than 30 days ago; record older incidents with `slabot import`",
    ),
    ("declare 1 " + "x" * 201, "a title is at most 200 characters; this one has 201"),
    (
        "ack",
        "this channel has no incident, and none is open. Declare one: `/incident declare <sev> <title>`",
    ),
    ("status", "this channel has no incident, and none is open"),
    ("ack INC-99", "there is no incident 'INC-99'; `/incident list` shows the open ones"),
    ("update", "an update needs text: `/incident update Rolled back the deploy`"),
    ("pause", "a pause needs a reason: `/incident pause waiting for the customer's logs`"),
    ("severity", "say which severity: `/incident severity 2`"),
    (
        "severity bogus",
        "'bogus' is not a severity; write a level such as 1, sev1, SEV-1, s1, p1 or I, or a level's name:",
    ),
    ("ack now please", "`/incident ack` takes no text (got `now please`)"),
]


@pytest.mark.parametrize(("text", "expected"), OUTSIDE, ids=[t[:30] for t, _ in OUTSIDE])
def test_bad_incident_commands_outside_an_incident(workspace, slack, text, expected):
    response = workspace.incident(text)
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    says(body, expected)
    assert snapshot(workspace.ctx) == ([], {}, [])
    assert announced(slack, 0) == []


INSIDE = [
    (
        [],
        "severity 9",
        "severity 9 is not in the messaging-platform contract; its levels: 1 (Severity I",
    ),
    ([], "severity 1", "INC-1 is already severity 1"),
    (
        ["ack"],
        "ack",
        "INC-1 was already acknowledged at 2026-11-20 09:00 UTC (by U1); the response timer has stopped",
    ),
    ([], "resume", "INC-1 is not paused; there is nothing to resume"),
    (
        ["pause waiting for logs"],
        "pause again",
        "INC-1 is already paused since 2026-11-20 09:00 UTC (waiting for logs); resume it first",
    ),
    (["restore"], "restore", "INC-1 was already restored at 2026-11-20 09:00 UTC"),
    (["resolve Fixed"], "update still here", "INC-1 is resolved; updates go to open incidents"),
    (["resolve Fixed"], "resolve", "INC-1 was already resolved at 2026-11-20 09:00 UTC"),
    (["resolve Fixed"], "pause why", "INC-1 is resolved; its timers have stopped"),
    ([], "update " + "y" * 3001, "an update is at most 3000 characters; this one has 3001"),
]


@pytest.mark.parametrize(("before", "text", "expected"), INSIDE, ids=[t[:30] for _, t, _ in INSIDE])
def test_refused_changes_inside_the_incident_channel(workspace, slack, before, text, expected):
    channel = declared(workspace)
    for step in before:
        assert workspace.ack_text(workspace.incident(step, channel=channel)).startswith("✅")
    state, since = snapshot(workspace.ctx), len(slack.calls)
    body = json.loads(workspace.incident(text, channel=channel).body)
    assert body["response_type"] == "ephemeral" and body["text"].startswith("⚠️ ")
    says(body, expected)
    assert snapshot(workspace.ctx) == state
    assert announced(slack, since) == []  # no channel post, no card update


MAINTENANCE = [
    ("maintenance", "give a start, an end and a title"),
    ("maintenance 2026-11-25T22:00 2026-11-25T23:30", "give a start, an end and a title"),
    ("maintenance tonight 2026-11-25T23:30 Upgrade", "'tonight'"),
    (
        "maintenance 2026-11-25T23:30 2026-11-25T22:00 Upgrade",
        "maintenance must end after it starts",
    ),
    (
        "maintenance 2026-11-25T22:00 2026-11-25T23:30 Upgrade for acmee",
        "'acmee' is not a customer (did you mean 'acme'?)",
    ),
    ("maintenance 2026-11-25T22:00 2026-11-25T23:30 for acme", "a title is required"),
    ("polices", "`polices` is not a `/sla` command. Did you mean `/sla policies`?"),
    ("customers please", "`/sla customers` takes no text (got `please`)"),
]


@pytest.mark.parametrize(("text", "expected"), MAINTENANCE, ids=[t[:30] for t, _ in MAINTENANCE])
def test_bad_sla_commands(slack, ctx, text, expected):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U1")
    body = json.loads(workspace.sla(text).body)
    assert body["response_type"] == "ephemeral"
    says(body, expected)
    assert snapshot(ctx) == ([], {}, [])
    assert announced(slack, 0) == []


def test_maintenance_is_for_admins_named_by_their_user_group(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="S1")  # S1 = {U2}
    text = "maintenance 2026-11-25T22:00 2026-11-25T23:30 Upgrade"
    body = json.loads(workspace.sla(text, user="U1").body)
    says(body, "announcing maintenance is for admins (SLABOT_ADMINS)")
    assert snapshot(ctx) == ([], {}, []) and announced(slack, 0) == []
    assert workspace.ack_text(workspace.sla(text, user="U2")).startswith("🛠️ MW-1 announced")


def test_a_button_clicked_by_someone_not_a_responder_changes_nothing(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="U2")
    channel = declared(workspace, user="U2")
    state, since = snapshot(ctx), len(slack.calls)
    workspace.click("incident_ack", "INC-1", user="U1", channel=channel)
    told = slack.wait_for("chat.postEphemeral")[0].params
    assert (
        told["user"] == "U1"
        and "you are not on the responder list (SLABOT_RESPONDERS)" in told["text"]
    )
    workspace.click("incident_update", "INC-1", user="U1", channel=channel)  # no form for them
    assert (
        "not on the responder list"
        in slack.wait_for("chat.postEphemeral", count=2)[-1].params["text"]
    )
    assert slack.calls_to("views.open") == []
    assert snapshot(ctx) == state
    assert announced(slack, since, frozenset({"chat.postEphemeral"})) == []


def test_a_form_submitted_by_someone_not_a_responder_shows_why_on_the_form(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="U2")
    declared(workspace, user="U2")
    state, since = snapshot(ctx), len(slack.calls)
    values = {"text": {"value": {"type": "plain_text_input", "value": "hello"}}}
    body = json.loads(workspace.submit("update", values, metadata="INC-1", user="U1").body)
    assert body["response_action"] == "errors"
    assert body["errors"]["text"].startswith("you are not on the responder list")
    assert snapshot(ctx) == state and announced(slack, since) == []


def test_the_bare_command_from_someone_not_a_responder_opens_no_form(slack, ctx):
    """``/incident`` alone opens the declare form for a responder; anyone else is told why
    (after the ack: who is a responder may take a Slack call), and no form opens."""
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="U2")
    assert workspace.ack_text(workspace.incident("", user="U1")) == ""
    told = slack.wait_for(RESPONSE_URL)[0].params
    assert "you are not on the responder list (SLABOT_RESPONDERS)" in told["text"]
    assert told["response_type"] == "ephemeral"
    workspace.incident("", user="U2")
    assert slack.wait_for("views.open")[0].params["view"]["callback_id"] == "declare"
    assert workspace.edge.wait_idle(60) and len(slack.calls_to("views.open")) == 1


@pytest.mark.parametrize(
    "title",
    ["\u200b\u200b", "\u200e\u200f", "\u2066\u2069", "\ufeff", "\u00ad", "\u3164", "\u200d \u2060"],
)
def test_a_title_of_only_invisible_characters_is_refused(workspace, slack, ctx, title):
    body = json.loads(workspace.incident(f"declare 2 {title}").body)
    says(body, "a title is required: say what is broken")
    says(body, "only characters that show nothing")
    assert snapshot(ctx) == ([], {}, []) and announced(slack, 0) == []
    update = json.loads(workspace.incident(f"update INC-7 {title}").body)
    says(update, "only characters that show nothing")


def test_a_title_with_marks_around_words_is_kept(workspace, ctx):
    workspace.incident("declare 2 \u200fCheckout\u200b down")
    assert service.get(ctx, "INC-1").title == "\u200fCheckout\u200b down"
