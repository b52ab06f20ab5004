"""The card's buttons and the forms they open, through the real Bolt app."""

from __future__ import annotations

import json

from bot.incidents import service
from bot.sla.timers import TimerKind, TimerState
from tests.slack.conftest import text_of
from tests.slack.test_incident_commands import declared


def form(values: dict) -> dict:
    return {block: {"value": value} for block, value in values.items()}


def test_acknowledge_button_acts_like_the_command_and_tells_the_clicker(workspace, slack):
    channel = declared(workspace)
    workspace.click("incident_ack", "INC-1", user="U2", channel=channel)
    confirmation = slack.wait_for("chat.postEphemeral")[0]
    assert confirmation.params["user"] == "U2" and confirmation.params["channel"] == channel
    assert "Acknowledged — response met (INC-1)" in confirmation.params["text"]
    assert service.get(workspace.ctx, "INC-1").timers[TimerKind.RESPONSE].state is TimerState.MET
    assert "Acknowledge" not in [
        b["text"]["text"]
        for b in slack.calls_to("chat.update")[-1].params["blocks"][-1]["elements"]
        if b["type"] == "button"
    ]


def test_restore_and_resume_buttons(workspace, slack):
    channel = declared(workspace)
    workspace.incident("pause waiting on customer", channel=channel)
    workspace.click("incident_resume", "INC-1", channel=channel)
    slack.wait_for("chat.postEphemeral")
    workspace.click("incident_restore", "INC-1", channel=channel)
    slack.wait_for("chat.postEphemeral", count=2)
    view = service.get(workspace.ctx, "INC-1")
    assert view.state == "restored" and not view.paused


def test_post_update_opens_a_form_and_its_text_is_posted_attributed(workspace, slack):
    channel = declared(workspace)
    workspace.click("incident_update", "INC-1", channel=channel)
    opened = slack.wait_for("views.open")[0].params["view"]
    assert (opened["callback_id"], opened["private_metadata"]) == ("update", "INC-1")
    response = workspace.submit(
        "update",
        {"text": {"value": {"type": "plain_text_input", "value": "DB failover done"}}},
        metadata="INC-1",
        user="U2",
    )
    assert response.status == 200 and not response.body  # the form closes
    posted = [c for c in slack.calls_to("chat.postMessage") if "DB failover done" in text_of(c)]
    assert posted and posted[0].params["channel"] == channel and "from <@U2>" in text_of(posted[0])


def test_pause_and_resolve_forms(workspace, slack):
    channel = declared(workspace)
    workspace.click("incident_pause", "INC-1", channel=channel)
    assert slack.wait_for("views.open")[0].params["view"]["callback_id"] == "pause"
    workspace.submit(
        "pause",
        {"text": {"value": {"type": "plain_text_input", "value": "customer logs"}}},
        metadata="INC-1",
    )
    assert service.get(workspace.ctx, "INC-1").pause_reason == "customer logs"
    workspace.click("incident_resolve", "INC-1", channel=channel)
    assert slack.wait_for("views.open", count=2)[-1].params["view"]["callback_id"] == "resolve"
    workspace.submit(
        "resolve",
        {"text": {"value": {"type": "plain_text_input", "value": "Cache node replaced"}}},
        metadata="INC-1",
    )
    view = service.get(workspace.ctx, "INC-1")
    assert (view.state, view.summary) == ("resolved", "Cache node replaced")


def test_a_refused_form_shows_the_reason_on_the_form(workspace, slack):
    declared(workspace)
    workspace.incident(
        "pause first", channel=slack.calls_to("conversations.create")[0].response["channel"]["id"]
    )
    response = workspace.submit(
        "pause",
        {"text": {"value": {"type": "plain_text_input", "value": "again"}}},
        metadata="INC-1",
    )
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert body["errors"]["text"].startswith("INC-1 is already paused since 2026-11-20 09:00 UTC")


def test_change_severity_form_lists_the_other_levels_and_regrades(workspace, slack):
    channel = declared(workspace)
    workspace.click("incident_severity", "INC-1", channel=channel)
    opened = slack.wait_for("views.open")[0].params["view"]
    options = [o["value"] for o in opened["blocks"][1]["element"]["options"]]
    assert options == ["2", "3", "4"]  # every level a contract has, minus the current one
    workspace.submit(
        "severity",
        {"severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}}},
        metadata="INC-1",
    )
    assert service.get(workspace.ctx, "INC-1").severity == 2
    card = slack.calls_to("chat.update")[-1].params
    assert card["blocks"][0]["text"]["text"] == "🟠 INC-1 · Sev 2 · Checkout API down"  # in place
    assert (
        "<@U1> changed the severity 1 → *2*"
        in slack.calls_to("chat.postMessage")[-1].params["text"]
    )


def test_bare_incident_opens_the_declare_form_and_submitting_it_declares(workspace, slack):
    response = workspace.incident("")
    assert response.status == 200
    opened = slack.wait_for("views.open")[0].params["view"]
    assert opened["callback_id"] == "declare" and opened["private_metadata"] == "C0GENERAL"
    assert {b["block_id"] for b in opened["blocks"]} == {
        "title",
        "severity",
        "customers",
        "outage",
        "started",
    }
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Search is down"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "1"}}},
        "customers": {
            "value": {"type": "multi_static_select", "selected_options": [{"value": "acme"}]}
        },
        "outage": {"value": {"type": "checkboxes", "selected_options": [{"value": "outage"}]}},
        "started": {"value": {"type": "plain_text_input", "value": "5 minutes ago"}},
    }
    workspace.submit("declare", values, metadata="C0GENERAL")
    view = service.get(workspace.ctx, "INC-1")
    assert (view.title, view.customers, view.outage) == ("Search is down", ("acme",), True)
    assert view.impact_start.isoformat() == "2026-11-20T08:55:00+00:00"
    assert slack.calls_to("conversations.create")


def severities_offered(view: dict) -> list[str]:
    (block,) = [b for b in view["blocks"] if b["block_id"] == "severity"]
    return [o["value"] for o in block["element"]["options"]]


def test_the_declare_form_offers_the_levels_the_chosen_customers_contracts_have(workspace, slack):
    # No customer chosen: the deployment's own contract (messaging platform: I–III).
    workspace.incident("")
    opened = slack.wait_for("views.open")[0].response["view"]  # as Slack has it: with its id
    assert severities_offered(opened) == ["1", "2", "3"]
    # Choosing acme (Dixa: 1–4) and nordlys (Dixa): the form is drawn again with Dixa's four.
    # Adding globex (messaging platform, I–III): only the levels both contracts have.
    # initech (Diplomasafe: one level for any severity) narrows nothing.
    for chosen, offered, count in (
        (["acme", "nordlys"], ["1", "2", "3", "4"], 1),
        (["acme", "globex"], ["1", "2", "3"], 2),
        (["initech"], ["1", "2", "3", "4"], 3),
        (["initech", "globex"], ["1", "2", "3"], 4),
    ):
        values = {
            "customers": {
                "value": {
                    "type": "multi_static_select",
                    "selected_options": [{"value": c} for c in chosen],
                }
            }
        }
        action = {"type": "multi_static_select", "block_id": "customers", "action_id": "value",
                  "selected_options": [{"value": c} for c in chosen]}  # fmt: skip
        request = workspace.requests.view_action(action, view=opened, values=values, user="U1")
        assert workspace.dispatch(request).status == 200
        update = slack.wait_for("views.update", count=count)[-1].params
        assert update["view_id"] == opened["id"]
        assert severities_offered(update["view"]) == offered, chosen
        assert update["view"]["private_metadata"] == "C0GENERAL"
    (four,) = [b for b in slack.wait_for("views.update", count=1)[0].params["view"]["blocks"]
               if b["block_id"] == "severity"]  # fmt: skip
    assert four["element"]["options"][3]["text"]["text"].startswith("4 — ")


def test_a_declare_form_with_a_bad_start_points_at_that_field(workspace, slack):
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Search is down"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "1"}}},
        "started": {"value": {"type": "plain_text_input", "value": "teatime"}},
    }
    body = json.loads(workspace.submit("declare", values, metadata="C0GENERAL").body)
    assert (
        body["response_action"] == "errors"
        and "'teatime' is not a time" in body["errors"]["started"]
    )
    assert service.list_incidents(workspace.ctx, open_only=False) == []
