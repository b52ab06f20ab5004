"""/incident through the real Bolt app: what responders type, what Slack receives."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from bot.incidents import service
from tests.slack.conftest import make_workspace, text_of

READS = {"auth.test", "users.info", "usergroups.users.list", "conversations.info"}


def writes(slack) -> list[str]:
    return [c.method for c in slack.calls if c.method not in READS]


def declared(workspace, text="declare 1 Checkout API down", **kwargs) -> str:
    """Declare, and return the new incident channel's id."""
    answer = workspace.ack_text(workspace.incident(text, **kwargs))
    assert "declared" in answer, answer
    made = [c for c in workspace.slack.calls_to("conversations.create") if c.response.get("ok")]
    workspace.slack.wait_for("pins.add", count=len(made))  # the invitation and pin that follow
    return made[-1].response["channel"]["id"]


def test_declare_opens_a_channel_posts_and_pins_the_card_and_says_where(workspace, slack):
    response = workspace.incident("declare sev1 Checkout API down for acme outage")
    body = json.loads(response.body)
    channel = slack.calls_to("conversations.create")[0].response["channel"]["id"]
    assert (
        slack.calls_to("conversations.create")[0].params["name"] == "inc-20261120-checkout-api-down"
    )
    # The answer does not wait for the invitation and the pin: they follow it.
    assert slack.wait_for("conversations.invite")[0].params == {"channel": channel, "users": "U1"}
    card = slack.calls_to("chat.postMessage")[0]
    assert card.params["channel"] == channel
    header = card.params["blocks"][0]
    assert (
        header["type"] == "header"
        and header["text"]["text"] == "🔴 INC-1 · Sev 1 · Checkout API down"
    )
    assert "Acme Retail Inc." in text_of(card) and "Outage" in text_of(card)
    assert [b["action_id"] for b in card.params["blocks"][-1]["elements"]] == [
        "incident_ack", "incident_update", "incident_severity", "incident_pause", "incident_restore", "incident_resolve",
        "incident_correct",
    ]  # fmt: skip
    slack.wait_for("pins.add")
    assert slack.pins(channel) == [card.response["ts"]]
    assert body["response_type"] == "in_channel"
    assert body["text"] == f"🚨 INC-1 declared (Sev 1): Checkout API down → <#{channel}>"
    stored = service.get(workspace.ctx, "INC-1")
    assert (stored.channel_id, stored.card_ts, stored.customers, stored.outage) == (
        channel,
        card.response["ts"],
        ("acme",),
        True,
    )


def test_the_card_shows_each_deadline_in_the_readers_own_zone_and_relative(workspace, slack):
    declared(workspace)
    card = text_of(slack.calls_to("chat.postMessage")[0])
    # 09:00Z + 30 min; <!date> renders in each reader's zone, with "in 30 minutes" beside it.
    due = int(workspace.ctx.clock.now().timestamp()) + 30 * 60
    assert (
        f"<!date^{due}^{{date_short_pretty}} {{time}} ({{ago}})|Fri 2026-11-20 09:30 UTC>" in card
    )
    assert "*Response* · 30m 24x7 (messaging-platform)" in card


def test_declaring_in_the_current_channel_when_configured(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_INCIDENT_CHANNELS="current")
    answer = workspace.ack_text(workspace.incident("declare 2 Login slow"))
    assert answer == "Declared INC-1; its card is pinned here."
    assert slack.calls_to("conversations.create") == []
    slack.wait_for("pins.add")
    card = slack.calls_to("chat.postMessage")[0]
    assert card.params["channel"] == "C0GENERAL" and slack.pins("C0GENERAL") == [
        card.response["ts"]
    ]


def test_an_earlier_start_is_read_in_the_declarers_own_zone(workspace, slack):
    # U2 is in New York: 03:30 there is 08:30Z, half an hour before "now" (09:00Z).
    declared(workspace, "declare 1 Queue stuck started 03:30", user="U2")
    view = service.get(workspace.ctx, "INC-1")
    assert view.impact_start.isoformat() == "2026-11-20T08:30:00+00:00"


def test_commands_in_the_incident_channel_act_on_its_incident(workspace, slack):
    channel = declared(workspace)
    card_ts = slack.calls_to("chat.postMessage")[0].response["ts"]

    assert (
        workspace.ack_text(workspace.incident("ack", channel=channel))
        == "✅ Acknowledged — response met (INC-1)."
    )
    assert "Acknowledged" in text_of(slack.calls_to("chat.update")[-1])
    assert "<@U1> acknowledged the incident" in text_of(slack.calls_to("chat.postMessage")[-1])

    workspace.incident("update Rolled back the 14:02 deploy & watching", channel=channel, user="U2")
    update = slack.calls_to("chat.postMessage")[-1]
    assert update.params["channel"] == channel
    assert (
        "📝 *Update* on INC-1 from <@U2>:\\nRolled back the 14:02 deploy &amp; watching"
        in text_of(update)
    )

    workspace.incident("severity II", channel=channel)
    assert (
        slack.calls_to("chat.update")[-1].params["blocks"][0]["text"]["text"]
        == "🟠 INC-1 · Sev 2 · Checkout API down"
    )

    workspace.incident("pause waiting for the customer's logs", channel=channel)
    assert "⏸️ paused: waiting for the customer's logs" in text_of(slack.calls_to("chat.update")[-1])
    workspace.incident("resume", channel=channel)
    assert workspace.ack_text(workspace.incident("restore", channel=channel)).startswith(
        "✅ Service restored"
    )
    workspace.incident("resolve Expired certificate renewed", channel=channel)
    final = slack.calls_to("chat.update")[-1]
    assert final.params["ts"] == card_ts and "Resolved" in text_of(final)
    # A resolved incident keeps the postmortem draft and the ⋯ menu (admins correct it).
    assert [e["action_id"] for e in final.params["blocks"][-1]["elements"]] == [
        "incident_postmortem", "incident_correct",
    ]  # fmt: skip
    assert "*Resolution:* Expired certificate renewed" in text_of(final)
    kinds = [e.kind for e in service.timeline(workspace.ctx, "INC-1")]
    assert kinds == [
        "declared",
        "acknowledged",
        "update",
        "severity_changed",
        "paused",
        "resumed",
        "restored",
        "resolved",
    ]


def test_status_list_and_help(workspace, slack):
    channel = declared(workspace)
    status = json.loads(workspace.incident("status", channel=channel).body)
    assert status["blocks"][0]["text"]["text"] == "🔴 INC-1 · Sev 1 · Checkout API down"
    listing = json.loads(workspace.incident("list").body)
    assert listing["text"] == "*1 open incident*"
    assert (
        f"*INC-1* Sev 1 — Checkout API down · <#{channel}>" in listing["blocks"][0]["text"]["text"]
    )
    assert "/incident declare &lt;sev&gt; &lt;title…&gt;" in workspace.ack_text(
        workspace.incident("help")
    )


def test_outside_an_incident_channel_commands_say_which_are_open_and_how_to_pick(workspace, slack):
    declared(workspace)
    answer = workspace.ack_text(workspace.incident("ack"))
    assert answer == (
        "⚠️ this channel has no incident. Open incidents: INC-1 (Checkout API down). Run the "
        "command in the incident's channel, or name it, e.g. `/incident ack INC-1`"
    )
    assert service.get(workspace.ctx, "INC-1").acknowledged_at is None
    assert workspace.ack_text(workspace.incident("ack INC-1")).startswith("✅ Acknowledged")


def test_a_channel_name_already_taken_gets_a_suffix_then_the_incidents_ref(workspace, slack):
    slack.add_channel("inc-20261120-checkout-api-down")
    channel = declared(workspace)
    assert slack.channel(channel)["name"] == "inc-20261120-checkout-api-down-2"
    for n in (3, 4):
        slack.add_channel(f"inc-20261120-checkout-api-down-{n}")
    channel = declared(workspace)
    assert slack.channel(channel)["name"] == "inc-20261120-checkout-api-down-inc-2"


def test_when_slack_refuses_the_channel_the_incident_still_runs_and_says_so(workspace, slack):
    from bot.slack.loopback import Reply

    slack.script("conversations.create", Reply(error="restricted_action"))
    body = json.loads(workspace.incident("declare 1 Checkout down").body)
    assert (
        "INC-1 is declared and its clocks are running, but Slack refused its channel (restricted_action)"
        in body["text"]
    )
    assert service.get(workspace.ctx, "INC-1").timers


def test_the_same_command_delivered_twice_declares_once(workspace, slack):
    workspace.incident("declare 1 Checkout down", trigger="same-trigger")
    workspace.incident("declare 1 Checkout down", trigger="same-trigger")
    assert len(service.list_incidents(workspace.ctx, open_only=False)) == 1


def test_requests_without_an_id_are_each_processed_not_taken_for_repeats(workspace, slack):
    """Slack sends an id with each request (a trigger, an event id); one that comes without
    is processed, not deduplicated: requests without one do not share a key."""
    for title in ("Checkout down", "Search down"):  # two commands, neither with a trigger id
        body = urlencode({
            "team_id": "T0LOOP", "channel_id": "C0GENERAL", "user_id": "U1",
            "command": "/incident", "text": f"declare 1 {title}",
            "response_url": slack.response_url(),
        })  # fmt: skip
        assert workspace.dispatch(workspace.requests.sign(body)).status == 200
    assert workspace.edge.wait_idle(60)
    for ref in ("INC-1", "INC-2"):  # two clicks, neither with a trigger id
        click = {
            "type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T0LOOP"},
            "channel": {"id": "C0GENERAL"}, "container": {"type": "message"},
            "actions": [{"action_id": "incident_ack", "block_id": f"incident:{ref}", "value": ref, "type": "button"}],
        }  # fmt: skip
        assert (
            workspace.dispatch(
                workspace.requests.sign(urlencode({"payload": json.dumps(click)}))
            ).status
            == 200
        )
    home = {"type": "app_home_opened", "user": "U1", "tab": "home"}
    for _ in range(2):  # two events, neither with an event id
        body = json.dumps({"type": "event_callback", "team_id": "T0LOOP", "event": home})
        assert workspace.dispatch(workspace.requests.sign(body)).status == 200
    assert workspace.edge.wait_idle(60)
    incidents = service.list_incidents(workspace.ctx, open_only=False)
    assert sorted(v.title for v in incidents) == ["Checkout down", "Search down"]
    assert all(v.acknowledged_at is not None for v in incidents)
    assert len(slack.calls_to("views.publish")) == 2


def test_app_home_shows_twenty_open_incidents_and_counts_the_rest(workspace, slack):
    from bot.slack.handlers import home_view

    for n in range(22):
        service.declare(workspace.ctx, title=f"Outage {n}", severity=3, actor="U1")
    texts = [
        json.dumps(b, ensure_ascii=False)
        for b in home_view(workspace.edge, "U1").to_dict()["blocks"]
    ]
    assert sum("Outage " in t for t in texts if '"section"' in t) == 20
    assert any("… and 2 more: `/incident list`" in t for t in texts)


def test_list_shows_the_newest_forty_and_counts_them_all(workspace, slack):
    for n in range(42):
        service.declare(workspace.ctx, title=f"Outage {n}", severity=3, actor="U1")
    body = json.loads(workspace.incident("list").body)
    assert body["text"] == "*42 open incidents*"
    listing = "\n".join(b["text"]["text"] for b in body["blocks"])  # split within Slack's limit
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"])
    assert listing.count("\n• ") == 40 and "*INC-42*" in listing and "*INC-2*" not in listing
    assert listing.endswith("… and 2 more")


def test_references_are_read_in_any_case(workspace, slack):
    declared(workspace)
    status = json.loads(workspace.incident("status inc-1").body)
    assert status["blocks"][0]["text"]["text"] == "🔴 INC-1 · Sev 1 · Checkout API down"
