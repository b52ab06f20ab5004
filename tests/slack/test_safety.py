"""Safety and clarity: escaping, signatures, who may do what, answering in time."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import yaml

from bot.incidents import service
from bot.slack.listeners import COMMANDS
from tests.slack.conftest import make_workspace, signed_headers
from tests.slack.test_incident_commands import declared, writes


def mrkdwn_texts(blocks) -> list[str]:
    """Every mrkdwn string in a block tree (the places where Slack would parse a mention)."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def test_a_title_that_would_ping_everyone_never_does(workspace, slack):
    # Slack sends command text with &, < and > as entities.
    channel = declared(workspace, "declare 1 &lt;!channel&gt; everything is down &amp; &lt;@U3&gt;")
    assert service.get(workspace.ctx, "INC-1").title == "<!channel> everything is down & <@U3>"  # stored decoded
    workspace.incident("update &lt;!here&gt; still down", channel=channel)
    for call in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update"):
        assert "<!channel>" not in call.params["text"] and "<!here>" not in call.params["text"]
        for text in mrkdwn_texts(call.params.get("blocks", [])):
            assert "<!channel>" not in text and "<!here>" not in text and "<@U3>" not in text, text
    header = slack.calls_to("chat.postMessage")[0].params["blocks"][0]["text"]
    assert header == {"type": "plain_text", "text": "🔴 INC-1 · Sev 1 · <!channel> everything is down & <@U3>", "emoji": True}
    notice = json.loads(workspace.incident("list").body)["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; everything is down &amp; &lt;@U3&gt;" in notice


def test_long_titles_and_updates_are_clipped_to_slacks_limits(workspace, slack):
    channel = declared(workspace, "declare 1 " + "x" * 200)
    header = slack.calls_to("chat.postMessage")[0].params["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    workspace.incident("update " + "y" * 3000, channel=channel)
    assert all(len(t) <= 3000 for t in mrkdwn_texts(slack.calls_to("chat.postMessage")[-1].params["blocks"]))


def test_a_forged_or_stale_request_is_refused_with_401(workspace, slack):
    body = "command=%2Fincident&text=declare+1+Forged&user_id=U1&channel_id=C0GENERAL&trigger_id=t1"
    assert workspace.dispatch(body, signed_headers(body, secret="not-the-secret")).status == 401
    stale = signed_headers(body, timestamp=int(time.time()) - 600)
    assert workspace.dispatch(body, stale).status == 401
    assert service.list_incidents(workspace.ctx, open_only=False) == [] and writes(slack) == []


def test_only_responders_declare_and_act_and_groups_count(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="S1")  # S1 = {U2}
    refused = json.loads(workspace.incident("declare 1 Down", user="U1").body)["text"]
    assert "you are not on the responder list (SLABOT_RESPONDERS)" in refused
    channel = declared(workspace, user="U2")
    assert "not on the responder list" in workspace.ack_text(workspace.incident("ack", channel=channel, user="U1"))
    assert workspace.ack_text(workspace.incident("status", channel=channel, user="U1"))  # reading is open to all
    assert workspace.ack_text(workspace.incident("ack", channel=channel, user="U2")).startswith("✅")


def test_maintenance_is_for_admins(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U3")
    text = "maintenance 2026-11-25T22:00 2026-11-25T23:30 Database upgrade for acme"
    assert "announcing maintenance is for admins (SLABOT_ADMINS)" in workspace.ack_text(workspace.sla(text, user="U1"))
    answer = json.loads(workspace.sla(text, user="U3").body)
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("🛠️ MW-1 announced: *Database upgrade* for acme, ")
    # U3's zone is UTC: 22:00 is 22:00Z.
    starts = int(dt.datetime(2026, 11, 25, 22, tzinfo=dt.UTC).timestamp())
    assert f"<!date^{starts}^{{date_short_pretty}} {{time}}|Wed 2026-11-25 22:00 UTC>" in answer["text"]


def test_money_reaches_managers_and_admins_only(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_MANAGERS="S1")
    assert "4000 USD/month" not in workspace.ack_text(workspace.sla("customers", user="U1"))
    assert "• *acme* — Acme Retail Inc. · dixa · America/New_York · 4000 USD/month" in workspace.ack_text(workspace.sla("customers", user="U2"))


def test_a_slow_database_still_gets_an_answer_inside_three_seconds(workspace, slack, monkeypatch):
    slow_declare = service.declare
    released = threading.Event()

    def slow(*args, **kwargs):
        released.wait(5)
        return slow_declare(*args, **kwargs)

    monkeypatch.setattr(service, "declare", slow)
    started = time.monotonic()
    response = workspace.incident("declare 1 Checkout down")
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert json.loads(response.body)["text"].startswith("⏳ Working on it")
    released.set()
    later = slack.wait_for("response_url", timeout=10)[0]
    assert later.params["text"].startswith("🚨 INC-1 declared (Sev 1): Checkout down")


def test_app_home_lists_open_incidents_and_a_retried_event_is_processed_once(workspace, slack):
    declared(workspace)
    event = {"type": "app_home_opened", "user": "U2", "tab": "home", "channel": "D1"}
    assert workspace.event(event, event_id="Ev42").status == 200
    assert workspace.event(event, event_id="Ev42").status == 200  # Slack's retry of the same event
    published = slack.wait_for("views.publish")
    time.sleep(0.3)
    assert len(slack.calls_to("views.publish")) == 1
    view = published[0].params
    assert view["user_id"] == "U2" and view["view"]["type"] == "home"
    assert "INC-1 · Sev 1 · Checkout API down" in json.dumps(view["view"]["blocks"], ensure_ascii=False)


def test_sla_help_policies_and_bad_subcommands(workspace):
    assert "/sla report [<YYYY-MM>|<YYYY>] [<customer>] [csv]" in workspace.ack_text(workspace.sla("help"))
    policies = json.loads(workspace.sla("policies").body)
    assert "Dixa Service-level Agreement (2018-04-03)" in json.dumps(policies["blocks"], ensure_ascii=False)
    assert "Did you mean `/sla policies`?" in workspace.ack_text(workspace.sla("polices"))


def test_the_manifest_declares_exactly_the_commands_the_app_handles(workspace):
    manifest = yaml.safe_load(open("manifest.yml"))
    declared_commands = sorted(c["command"] for c in manifest["features"]["slash_commands"])
    assert declared_commands == sorted(COMMANDS)
    for command in COMMANDS:  # and the app answers each of them
        assert workspace.command(command, "help").status == 200
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    urls = {c["url"] for c in manifest["features"]["slash_commands"]}
    urls |= {manifest["settings"]["interactivity"]["request_url"], manifest["settings"]["event_subscriptions"]["request_url"]}
    assert all(url.endswith("/slack/events") for url in urls)
