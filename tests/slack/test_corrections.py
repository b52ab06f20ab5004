"""Correcting the record through the real Bolt app: every correction verb, the "Correct the
record" form from the card's ⋯ menu, each refusal (an order that cannot be, a time in the
future, someone not allowed), and what happened before a re-grade on the card and in
``/incident status``.

The tests' now is Fri 2026-11-20 09:00Z: 10:00 for U1 (Copenhagen), 04:00 for U2 (New
York), 09:00 for U3 (UTC). The default contract is the messaging platform's: Severity I
responds in 30m, restores in 4h, reports every 60m; Severity III responds in 4h.

The overflow click and the form submission are built here (``overflow``, ``submit_form``):
``tests/slack/conftest.py``'s ``click`` sends buttons, and its ``submit`` no form blocks.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import urlencode

import pytest

from bot.incidents import service
from bot.incidents.record import incident_record
from bot.sla.timers import TimerKind, TimerState
from bot.slack.mrkdwn import decode, plain
from tests.conftest import T0
from tests.slack.conftest import make_workspace, text_of
from tests.slack.test_incident_commands import declared
from tests.slack.test_refusals import says, snapshot

M = dt.timedelta(minutes=1)


def overflow(workspace, ref: str, *, user: str = "U1", channel: str | None = None):
    """The card's ⋯ menu, "Correct the record…" chosen."""
    menu = {
        "action_id": "incident_correct", "block_id": f"incident:{ref}", "type": "overflow",
        "selected_option": {"value": ref, "text": {"type": "plain_text", "text": "Correct the record…"}},
    }  # fmt: skip
    request = workspace.requests.block_actions(
        [menu], user=user, channel=channel, response_url=workspace.slack.response_url()
    )
    return workspace.dispatch(request)


def submit_form(workspace, view: dict, changes: dict, *, user: str = "U1"):
    """Submit the form ``view`` (as ``views.open`` got it) with its fields as shown, but for
    ``changes``: a text for a text field, a list of values for checkboxes and selections."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        name, element = block["block_id"], block["element"]
        kind = element["type"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": changes.get(name, element.get("initial_value"))}
        else:
            shown = [o["value"] for o in element.get("initial_options") or []]
            chosen = changes.get(name, shown)
            state = {"type": kind, "selected_options": [{"value": v} for v in chosen]}
        values[name] = {"value": state}
    payload = {
        "type": "view_submission", "user": {"id": user}, "team": {"id": "T0LOOP"},
        "trigger_id": f"trig-{time.monotonic_ns()}",
        "view": {
            "id": f"V{time.monotonic_ns()}", "type": "modal", "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"], "blocks": view["blocks"],
            "state": {"values": values},
        },
    }  # fmt: skip
    return workspace.dispatch(workspace.requests.sign(urlencode({"payload": json.dumps(payload)})))


def answer(workspace, text: str, **kwargs) -> str:
    """A command's answer as the reader sees it (``<!date>`` tokens as their fallback)."""
    return plain(decode(workspace.ack_text(workspace.incident(text, **kwargs))))


def posts(slack, channel: str) -> list[str]:
    return [
        text_of(c) for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel
    ]


# --- ack, restore, resolve at a time --------------------------------------------------------


def test_ack_at_a_time_in_the_persons_own_zone_then_corrected(workspace, slack):
    channel = declared(workspace, "declare 1 Checkout API down started 09:30")  # 08:30Z
    # 09:50 in Copenhagen is 08:50Z: 20 minutes after the start, within the 30m target.
    said = answer(workspace, "ack at 09:50", channel=channel)
    assert said == "✅ Acknowledged at Fri 2026-11-20 09:50 CET — response met (INC-1)."
    view = service.get(workspace.ctx, "INC-1")
    assert view.acknowledged_at == T0 - 10 * M
    # The timeline is in the order things happened: the acknowledgement before the
    # declaration that recorded it; when it was recorded is kept beside.
    events = service.timeline(workspace.ctx, "INC-1")
    assert [(e.kind, e.at, e.recorded_at) for e in events] == [
        ("acknowledged", T0 - 10 * M, T0), ("declared", T0, T0),
    ]  # fmt: skip
    # Already acknowledged: `ack at` corrects the time, and says old → new.
    said = answer(workspace, "ack 09:45", channel=channel)
    assert said == (
        "✅ Corrected INC-1: acknowledged Fri 2026-11-20 09:50 CET → Fri 2026-11-20 09:45 CET "
        "— response met."
    )
    assert "<@U1> *corrected the record*: acknowledged" in posts(slack, channel)[-1]
    event = service.timeline(workspace.ctx, "INC-1")[-1]
    assert (event.kind, event.actor, event.before, event.after) == (
        "corrected", "U1", {"acknowledged_at": (T0 - 10 * M).isoformat()},
        {"acknowledged_at": (T0 - 15 * M).isoformat()},
    )  # fmt: skip


def test_restore_ago_and_resolve_at_with_a_summary(workspace, slack):
    channel = declared(workspace, "declare 1 Checkout API down started 30 minutes ago")
    said = answer(workspace, "restore 10 minutes ago", channel=channel)
    assert said.startswith("✅ Marked service restored at Fri 2026-11-20 09:50 CET — restore met")
    said = answer(workspace, "resolve at 09:55 Replaced the cache node", channel=channel)
    assert said.startswith("✅ Resolved the incident at Fri 2026-11-20 09:55 CET")
    view = service.get(workspace.ctx, "INC-1")
    assert (view.restored_at, view.resolved_at, view.summary) == (
        T0 - 10 * M, T0 - 5 * M, "Replaced the cache node",
    )  # fmt: skip
    assert "*Resolution:* Replaced the cache node" in text_of(slack.calls_to("chat.update")[-1])


def test_started_outage_impact_and_customers(workspace, slack):
    channel = declared(workspace, "declare 1 Checkout API down")
    said = answer(workspace, "started 09:20", channel=channel)  # 08:20Z
    assert said == (
        "✅ Corrected INC-1: started Fri 2026-11-20 10:00 CET → Fri 2026-11-20 09:20 CET "
        "— response breached by 10m, restore due Fri 2026-11-20 13:20 CET."
    )
    assert answer(workspace, "outage yes", channel=channel) == (
        "✅ Corrected INC-1: outage no → yes."
    )
    assert answer(workspace, "impact 25 %", channel=channel) == (
        "✅ Corrected INC-1: impact unknown → 25 %."
    )
    said = answer(workspace, "customers add acme", channel=channel)
    assert said.startswith("✅ Corrected INC-1: customers every customer → Acme Retail Inc. —")
    answer(workspace, "customers add Nordlys ApS,", channel=channel)  # a name with spaces
    answer(workspace, "customers remove acme", channel=channel)
    assert service.get(workspace.ctx, "INC-1").customers == ("nordlys",)
    answer(workspace, "customers all", channel=channel)
    view = service.get(workspace.ctx, "INC-1")
    assert (view.reported_at, view.outage, view.impact_pct, view.customers) == (
        T0 - 40 * M, True, 25.0, (),
    )  # fmt: skip
    kinds = [e.kind for e in service.timeline(workspace.ctx, "INC-1")]
    assert kinds == ["declared", *["corrected"] * 7]


def test_exclude_include_and_reopen_are_for_admins(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U3")
    channel = declared(workspace, "declare 2 Search down outage")
    refused = workspace.incident("exclude customer's own network", channel=channel, user="U1")
    says(json.loads(refused.body), "is for admins (SLABOT_ADMINS)")
    said = answer(workspace, "exclude customer's own network", channel=channel, user="U3")
    assert said == (
        "✅ Corrected INC-1: excluded from uptime counted → excluded (customer's own network)."
    )
    assert "Excluded from uptime: customer's own network" in text_of(
        slack.calls_to("chat.update")[-1]
    )
    assert answer(workspace, "include", channel=channel, user="U3").startswith(
        "✅ Corrected INC-1: excluded from uptime excluded (customer's own network) → counted"
    )
    workspace.incident("resolve Fixed", channel=channel)
    refused = workspace.incident("reopen it came back", channel=channel, user="U1")
    says(json.loads(refused.body), "INC-1 is resolved: after resolution only admins")
    said = answer(workspace, "reopen it came back", channel=channel, user="U3")
    assert said.startswith(
        "✅ Corrected INC-1: resolved Fri 2026-11-20 09:00 UTC → not resolved; summary Fixed → none"
    )
    assert "*corrected the record*: *reopened* it" in posts(slack, channel)[-1]
    assert service.get(workspace.ctx, "INC-1").state == "restored"


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # 20:00 is yesterday's (the latest 20:00 before now): before the incident started.
        ("restore at 20:00", "restored 2026-11-19 19:00 UTC is before INC-1 started (2026-11-20 08:30 UTC)"),
        ("ack at yesterday 23:40", "acknowledged 2026-11-19 22:40 UTC is before INC-1 started"),
        ("ack at 2026-11-21T10:00", "acknowledged 2026-11-21 09:00 UTC is in the future; give a time at or before now"),
        ("started 2026-11-20T11:00", "is in the future"),
        ("resolve at teatime", "`at` needs a time"),
        ("ack now please", "`/incident ack` takes no text (got `now please`), only a time"),
        ("outage maybe", "say whether the service was down: `/incident outage yes`"),
        ("impact 150", "150 % is not a share of traffic"),
        ("customers add nobody", "'nobody' is not a customer"),
        ("customers remove acme", "INC-1 affects every customer (it names none)"),
        ("exclude", "an exclusion needs a reason"),
        ("reopen", "INC-1 is not resolved; there is nothing to reopen"),
        ("outage no", "nothing to correct: INC-1 already has outage no"),
    ],
)  # fmt: skip
def test_a_correction_that_cannot_be_is_refused_and_changes_nothing(workspace, slack, text, said):
    channel = declared(workspace, "declare 1 Checkout API down started 09:30")
    before, calls = snapshot(workspace.ctx), len(slack.calls)
    response = workspace.incident(text, channel=channel)
    body = json.loads(response.body)
    says(body, said)
    assert body["response_type"] == "ephemeral"
    assert snapshot(workspace.ctx) == before
    assert [c.method for c in slack.calls[calls:] if c.method == "chat.postMessage"] == []


def test_someone_not_allowed_is_refused(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="U1", SLABOT_ADMINS="U3")
    channel = declared(workspace, "declare 1 Checkout API down started 20 minutes ago")
    body = json.loads(workspace.incident("started 09:30", channel=channel, user="U2").body)
    says(body, "you are not on the responder list (SLABOT_RESPONDERS)")
    workspace.incident("resolve", channel=channel)
    before = snapshot(ctx)
    body = json.loads(workspace.incident("restore at 09:50", channel=channel, user="U1").body)
    says(body, "INC-1 is resolved: after resolution only admins (SLABOT_ADMINS) may correct")
    assert snapshot(ctx) == before
    # An admin may: the restore (implied by the resolution at 09:00Z) was at 08:50Z.
    said = answer(workspace, "restore 10 minutes ago", channel=channel, user="U3")
    assert said.startswith(
        "✅ Corrected INC-1: restored Fri 2026-11-20 09:00 UTC → Fri 2026-11-20 08:50 UTC"
    )


# --- the form ------------------------------------------------------------------------------------


def test_the_form_shows_the_facts_in_the_readers_zone_and_corrects_what_changed(workspace, slack):
    channel = declared(workspace, "declare 1 Checkout API down for acme outage started 09:30")
    answer(workspace, "restore at 09:50", channel=channel)
    card = slack.calls_to("chat.update")[-1].params["blocks"][-1]["elements"]
    assert card[-1]["type"] == "overflow" and card[-1]["action_id"] == "incident_correct"
    overflow(workspace, "INC-1", channel=channel)
    form = slack.wait_for("views.open")[0].params["view"]
    assert form["callback_id"] == "correct"
    shown = {
        b["block_id"]: b["element"].get("initial_value")
        for b in form["blocks"]
        if b["type"] == "input"
    }
    assert {k: shown[k] for k in ("reported_at", "acknowledged_at", "restored_at", "resolved_at")} == {
        "reported_at": "2026-11-20 09:30", "acknowledged_at": "2026-11-20 09:50",
        "restored_at": "2026-11-20 09:50", "resolved_at": None,
    }  # fmt: skip
    response = submit_form(
        workspace, form, {"restored_at": "09:40", "reason": "the monitor's recovery time"}
    )
    assert response.status == 200 and not response.body  # the form closes
    view = service.get(workspace.ctx, "INC-1")
    assert (view.restored_at, view.acknowledged_at) == (T0 - 20 * M, T0 - 10 * M)
    event = service.timeline(workspace.ctx, "INC-1")[-1]
    assert (event.kind, event.text, list(event.after)) == (
        "corrected", "the monitor's recovery time", ["restored_at"],
    )  # fmt: skip
    assert "the monitor's recovery time" in posts(slack, channel)[-1]


def test_the_form_shows_a_refusal_beside_its_field(workspace, slack):
    channel = declared(workspace, "declare 1 Checkout API down started 09:30")
    overflow(workspace, "INC-1", channel=channel)
    form = slack.wait_for("views.open")[0].params["view"]
    before = snapshot(workspace.ctx)
    body = json.loads(submit_form(workspace, form, {"restored_at": "09:10", "reason": "x"}).body)
    assert body["response_action"] == "errors"
    assert body["errors"]["restored_at"].startswith("restored 2026-11-20 08:10 UTC is before INC-1")
    body = json.loads(submit_form(workspace, form, {"reason": "nothing changed"}).body)
    assert body["errors"] == {
        "reason": "nothing was changed on the form: change a fact, then submit"
    }
    body = json.loads(
        submit_form(workspace, form, {"acknowledged_at": "teatime", "reason": "x"}).body
    )
    assert "'teatime' is not a time" in body["errors"]["acknowledged_at"]
    assert snapshot(workspace.ctx) == before


def test_the_form_of_a_resolved_incident_is_for_admins(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U3")
    channel = declared(workspace, "declare 1 Checkout API down")
    workspace.incident("resolve", channel=channel)
    overflow(workspace, "INC-1", channel=channel, user="U1")
    refusal = slack.wait_for("chat.postEphemeral")[-1]
    assert "after resolution only admins" in refusal.params["text"]
    assert slack.calls_to("views.open") == []
    overflow(workspace, "INC-1", channel=channel, user="U3")
    assert slack.wait_for("views.open")[0].params["view"]["callback_id"] == "correct"


# --- what happened before a re-grade ------------------------------------------------------------


def test_a_regrade_after_a_breach_is_told_on_the_card_and_in_status(workspace, slack, clock):
    channel = declared(workspace, "declare 1 Checkout API down")
    clock.advance(minutes=35)  # the response was due 09:30Z
    workspace.incident("severity 3", channel=channel)
    regraded = text_of(slack.calls_to("chat.update")[-1])
    assert "re-graded to Sev 3 at" in regraded and "(response running under Sev 3)" in regraded
    clock.advance(minutes=5)
    workspace.incident("ack", channel=channel)
    card = text_of(slack.calls_to("chat.update")[-1])
    story = (
        "🔥 Before: response breached <!date^1795167000^{date_short_pretty} {time}|"
        "Fri 2026-11-20 09:30 UTC> under Sev 1; re-graded to Sev 3 at "
        "<!date^1795167300^{date_short_pretty} {time}|Fri 2026-11-20 09:35 UTC> "
        "(response met under Sev 3)"
    )
    assert story in card
    assert service.get(workspace.ctx, "INC-1").timers[TimerKind.RESPONSE].state is TimerState.MET
    status = workspace.incident("status", channel=channel)
    assert story in json.dumps(json.loads(status.body)["blocks"], ensure_ascii=False)
    assert [(b.severity, b.stands) for b in incident_record(workspace.ctx, "INC-1").breaches] == [
        (1, False)
    ]
