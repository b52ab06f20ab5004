"""Alertmanager's webhook (payload version 4) through the real server: refused, malformed,
declared with the alert's start, joined, restored, repeated, in a storm."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import func, select

from bot.incidents import service
from bot.slack.loopback import RESPONSE_URL
from storage.models import AlertKey, EventKind, IncidentState
from tests.alerts import payloads
from tests.alerts.conftest import ANNOUNCE
from tests.conftest import T0
from tests.slack.conftest import text_of

STARTED = T0 - dt.timedelta(minutes=7)


def incidents(ctx):
    return service.list_incidents(ctx, open_only=False)


def test_a_firing_alert_declares_an_incident_whose_impact_began_when_the_alert_did(
    hooks, ctx, slack
):
    alert = payloads.am_alert("a1", STARTED, customer="acme")
    status, answer = hooks.post("alertmanager", payloads.alertmanager([alert]))
    assert status == 200 and answer["declared"] == ["INC-1"], answer
    (view,) = incidents(ctx)
    assert (view.severity, view.title, view.outage) == (1, "Checkout API is down", True)
    assert view.impact_start == STARTED and view.customers == ("acme",)
    (declared,) = service.timeline(ctx, "INC-1")
    assert (declared.kind, declared.actor) == (EventKind.DECLARED, "alertmanager")
    created = slack.calls_to("conversations.create")
    assert len(created) == 1 and view.channel_id == created[0].response["channel"]["id"]
    posts = slack.calls_to("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [created[0].response["channel"]["id"], ANNOUNCE]
    assert "INC-1" in text_of(posts[1]) and "from alertmanager" in text_of(posts[1])


def test_an_alert_naming_an_unknown_customer_declares_for_everyone_and_says_so(hooks, ctx):
    alert = payloads.am_alert("a1", STARTED, customer="globex-eu")
    status, answer = hooks.post("alertmanager", payloads.alertmanager([alert]))
    assert status == 200 and answer["declared"] == ["INC-1"], answer
    (view,) = incidents(ctx)
    assert view.customers == ()
    declared, note = service.timeline(ctx, "INC-1")
    assert (declared.kind, note.kind, note.actor) == (
        EventKind.DECLARED, EventKind.ALERT, "alertmanager",
    )  # fmt: skip
    assert note.text == (
        "the alert names globex-eu, not a customer in the customers file: declared for no "
        "customer in particular"
    )


def test_the_same_payload_twice_is_one_incident_and_no_second_message(hooks, ctx, slack):
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    first = hooks.post("alertmanager", body)
    posted = len(slack.calls)
    second = hooks.post("alertmanager", body)
    assert first[1]["declared"] == ["INC-1"]
    assert second == (200, {**second[1], "declared": [], "joined": [], "unchanged": 1})
    assert len(incidents(ctx)) == 1 and len(slack.calls) == posted
    assert [e.kind for e in service.timeline(ctx, "INC-1")] == [EventKind.DECLARED]


def test_an_alert_of_the_group_joins_its_open_incident_as_a_timeline_event(hooks, ctx, slack):
    first = payloads.am_alert("a1", STARTED)
    hooks.post("alertmanager", payloads.alertmanager([first]))
    posted = len(slack.calls)
    ctx.clock.advance(dt.timedelta(minutes=2))
    second = payloads.am_alert("b2", T0, summary="Checkout API is down in eu-west")
    status, answer = hooks.post("alertmanager", payloads.alertmanager([first, second]))
    assert (status, answer["joined"], answer["declared"]) == (200, ["INC-1"], [])
    assert len(incidents(ctx)) == 1 and len(slack.calls) == posted  # the card shows it
    joined = service.timeline(ctx, "INC-1")[-1]
    assert (joined.kind, joined.actor) == (EventKind.ALERT, "alertmanager")
    assert joined.text == "1 more alert firing: Checkout API is down in eu-west"


def test_a_known_fingerprint_in_another_group_joins_the_incident_holding_it(hooks, ctx):
    alert = payloads.am_alert("a1", STARTED)
    hooks.post("alertmanager", payloads.alertmanager([alert], group="checkout"))
    status, answer = hooks.post("alertmanager", payloads.alertmanager([alert], group="payments"))
    assert status == 200 and answer["declared"] == [] and len(incidents(ctx)) == 1


def test_resolved_alerts_restore_the_incident_at_their_end_and_say_so_once(hooks, ctx, slack):
    a, b = payloads.am_alert("a1", STARTED), payloads.am_alert("b2", STARTED)
    hooks.post("alertmanager", payloads.alertmanager([a, b]))
    channel = service.get(ctx, "INC-1").channel_id
    ctx.clock.advance(dt.timedelta(minutes=20))
    a_end, b_end = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=15)
    a_over = payloads.am_alert("a1", STARTED, ends=a_end)
    status, answer = hooks.post("alertmanager", payloads.alertmanager([a_over, b]))
    assert status == 200 and answer["restored"] == []
    assert service.get(ctx, "INC-1").restored_at is None
    assert service.timeline(ctx, "INC-1")[-1].text.startswith("1 alert resolved, 1 still firing")

    b_over = payloads.am_alert("b2", STARTED, ends=b_end)
    body = payloads.alertmanager([a_over, b_over])
    status, answer = hooks.post("alertmanager", body)
    assert (status, answer["restored"]) == (200, ["INC-1"])
    view = service.get(ctx, "INC-1")
    assert view.state is IncidentState.RESTORED and view.restored_at == b_end
    restored = [e for e in service.timeline(ctx, "INC-1") if e.kind is EventKind.RESTORED]
    assert [(e.actor, e.at) for e in restored] == [("alertmanager", b_end)]
    said = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel]
    assert "marked restored" in text_of(said[-1]) and "/incident resolve INC-1" in text_of(said[-1])

    calls = len(slack.calls)
    assert hooks.post("alertmanager", body)[1]["restored"] == []  # delivered again: nothing
    assert len(slack.calls) == calls


def test_an_alert_firing_after_its_incident_was_resolved_is_a_new_incident(hooks, ctx, workspace):
    alert = payloads.am_alert("a1", STARTED)
    hooks.post("alertmanager", payloads.alertmanager([alert]))
    service.resolve(ctx, "INC-1", "U1", "fixed")
    ctx.clock.advance(dt.timedelta(hours=1))
    again = payloads.am_alert("a1", T0 + dt.timedelta(minutes=50))
    status, answer = hooks.post("alertmanager", payloads.alertmanager([again]))
    assert (status, answer["declared"]) == (200, ["INC-2"])
    assert service.get(ctx, "INC-2").impact_start == T0 + dt.timedelta(minutes=50)


def test_a_storm_of_one_group_is_one_incident_and_one_channel(hooks, ctx, slack):
    alerts = [
        payloads.am_alert(f"fp{i:04}", STARTED + dt.timedelta(seconds=i % 60)) for i in range(1000)
    ]
    deliveries = [payloads.alertmanager(alerts[i : i + 50]) for i in range(0, 1000, 50)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: hooks.post("alertmanager", body), deliveries))
    assert {status for status, _ in answers} == {200}
    assert sum(len(a["declared"]) for _, a in answers) == 1
    (view,) = incidents(ctx)
    assert view.impact_start == STARTED and view.ref == "INC-1"  # in turn: no number skipped
    assert len(slack.calls_to("conversations.create")) == 1
    assert (
        len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "C0GENERAL"])
        == 1
    )
    whole = hooks.post("alertmanager", payloads.alertmanager(alerts))  # Alertmanager's repeat
    assert whole[1]["declared"] == [] and len(incidents(ctx)) == 1
    ctx.clock.advance(dt.timedelta(minutes=30))
    over = [
        payloads.am_alert(f"fp{i:04}", STARTED, ends=T0 + dt.timedelta(minutes=i % 20))
        for i in range(1000)
    ]
    resolving = [payloads.alertmanager(over[i : i + 50]) for i in range(0, 1000, 50)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: hooks.post("alertmanager", body), resolving))
    assert sum(len(a["restored"]) for _, a in answers) == 1  # the last to finish saw all resolved
    assert service.get(ctx, view.ref).restored_at == T0 + dt.timedelta(minutes=19)
    with ctx.db.read() as session:
        held = session.scalar(
            select(func.count()).select_from(AlertKey).where(AlertKey.incident_id == 1)
        )
    assert held == 1001  # the group's key and each alert's


def test_an_alert_no_rule_takes_is_answered_and_ignored(hooks, ctx, slack):
    info = payloads.am_alert("i1", STARTED, severity="info")
    status, answer = hooks.post("alertmanager", payloads.alertmanager([info]))
    assert (status, answer["ignored"], answer["declared"]) == (200, 1, [])
    assert incidents(ctx) == [] and slack.calls_to("chat.postMessage") == []


def test_unauthenticated_requests_are_401_and_change_nothing(hooks, ctx, slack, logged):
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    assert hooks.post("alertmanager", body, token=None) == (
        401,
        {"error": "no Authorization: Bearer <SLABOT_HOOK_TOKEN>"},
    )
    assert hooks.post("alertmanager", body, token="guess-0123456789abcdef")[0] == 401
    assert incidents(ctx) == [] and [c.method for c in slack.calls] in ([], ["auth.test"])
    lines = [r.getMessage() for r in logged.records if r.name == "bot.web"]
    assert len(lines) == 2 and all(
        line.startswith("refused 401 POST /hooks/alertmanager") for line in lines
    )
    assert not any("hook-token" in r.getMessage() for r in logged.records)


def test_hooks_without_a_token_set_are_off(workspace, ctx):
    from tests.alerts.conftest import Hooks

    off = Hooks(workspace, SLABOT_HOOK_TOKEN="")
    status, answer = off.post(
        "alertmanager", payloads.alertmanager([]), token="anything-at-all-12345"
    )
    assert (status, answer) == (401, {"error": "alert hooks are off: set SLABOT_HOOK_TOKEN"})


def test_malformed_payloads_are_400_saying_what_was_wrong(hooks, ctx):
    good = payloads.am_alert("a1", STARTED)
    cases = {
        b"{not json": "the body is not JSON",
        b"[1]": "the body is not a JSON object",
        json.dumps({**payloads.alertmanager([good]), "version": "3"}).encode(): "version is '3'",
        json.dumps({**payloads.alertmanager([good]), "alerts": "x"}).encode(): "alerts is missing or not a list",
        json.dumps(payloads.alertmanager([{**good, "startsAt": "yesterday"}])).encode(): "alerts[0].startsAt is 'yesterday', not an RFC 3339 time",
        json.dumps(payloads.alertmanager([{**good, "status": "pending"}])).encode(): "alerts[0].status is 'pending'; expected firing or resolved",
    }  # fmt: skip
    for body, reason in cases.items():
        status, answer = hooks.post("alertmanager", body)
        assert status == 400 and reason in answer["error"], (body, answer)
    assert incidents(ctx) == []


def test_a_body_over_the_cap_is_413_unread(hooks, ctx):
    status, answer = hooks.post("alertmanager", b"{}", length=str(2 * 1024 * 1024))
    assert (status, answer) == (413, {"error": "the body is over 1,048,576 bytes"})


# --- "declare?" ------------------------------------------------------------------------------

ASK = "rules:\n  - {match: {severity: critical}, severity: 1, customer_label: customer, declare: ask}\n"


def asking(workspace, tmp_path):
    from tests.alerts.conftest import Hooks

    path = tmp_path / "alerts.yaml"
    path.write_text(ASK, encoding="utf-8")
    return Hooks(workspace, SLABOT_ALERTS_FILE=str(path))


def click_declare(workspace, question, user="U1"):
    button = question.params["blocks"][-1]["elements"][0]
    pressed = workspace.requests.button(button["action_id"], button["value"], block_id="alert:x")
    request = workspace.requests.block_actions(
        [pressed], user=user, channel=ANNOUNCE, message={"ts": question.response["ts"]},
        response_url=workspace.slack.response_url(),
    )  # fmt: skip
    return workspace.dispatch(request)


def test_an_ask_rule_posts_a_question_whose_button_declares_with_the_alerts_start(
    workspace, ctx, slack, tmp_path
):
    hooks = asking(workspace, tmp_path)
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED, customer="acme")])
    status, answer = hooks.post("alertmanager", body)
    assert (status, answer["proposed"], answer["declared"]) == (200, 1, [])
    assert incidents(ctx) == []
    (question,) = slack.calls_to("chat.postMessage")
    assert question.params["channel"] == ANNOUNCE
    assert "Declare it as Sev 1 for acme?" in text_of(question)
    assert hooks.post("alertmanager", body)[1]["unchanged"] == 1  # asked once
    assert len(slack.calls_to("chat.postMessage")) == 1

    ctx.clock.advance(dt.timedelta(minutes=3))
    assert click_declare(workspace, question).status == 200
    workspace.edge.wait_idle(60)
    (view,) = incidents(ctx)
    assert (view.declared_by, view.impact_start, view.customers) == ("U1", STARTED, ("acme",))
    assert view.channel_id == slack.calls_to("conversations.create")[0].response["channel"]["id"]
    (answered,) = slack.calls_to(RESPONSE_URL)  # the question, replaced for everyone
    assert answered.params["replace_original"] and answered.params["response_type"] == "in_channel"
    assert "INC-1 declared (Sev 1)" in text_of(answered)

    click_declare(workspace, question, user="U2")  # another responder, a moment later
    workspace.edge.wait_idle(60)
    assert len(incidents(ctx)) == 1
    told = slack.calls_to("chat.postEphemeral")[-1]
    assert told.params["user"] == "U2" and "it was declared already: INC-1" in text_of(told)

    ctx.clock.advance(dt.timedelta(minutes=30))
    over = payloads.am_alert("a1", STARTED, ends=T0 + dt.timedelta(minutes=20))
    assert hooks.post("alertmanager", payloads.alertmanager([over]))[1]["restored"] == ["INC-1"]


def test_a_question_whose_alert_resolved_first_says_so_and_declares_nothing(
    workspace, ctx, slack, tmp_path
):
    hooks = asking(workspace, tmp_path)
    hooks.post("alertmanager", payloads.alertmanager([payloads.am_alert("a1", STARTED)]))
    (question,) = slack.calls_to("chat.postMessage")
    over = payloads.am_alert("a1", STARTED, ends=T0)
    assert hooks.post("alertmanager", payloads.alertmanager([over]))[0] == 200
    updated = slack.calls_to("chat.update")[-1]
    assert updated.params["ts"] == question.response["ts"]
    assert "resolved before anyone declared it" in text_of(updated)
    click_declare(workspace, question)
    workspace.edge.wait_idle(60)
    assert incidents(ctx) == []
    assert "resolved before anyone declared it" in text_of(slack.calls_to("chat.postEphemeral")[-1])


def test_slack_refusing_the_channel_leaves_the_incident_declared_and_says_so(hooks, ctx, slack):
    from bot.slack.loopback.faults import Reply

    slack.fail_always("conversations.create", Reply(error="restricted_action"))
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    status, answer = hooks.post("alertmanager", body)
    assert (status, answer["declared"]) == (200, ["INC-1"])  # the tool is not asked to resend
    assert service.get(ctx, "INC-1").impact_start == STARTED
    (note,) = slack.calls_to("chat.postMessage")
    assert note.params["channel"] == ANNOUNCE and "restricted_action" in text_of(note)
    assert hooks.post("alertmanager", body)[1]["declared"] == []


def test_an_alert_older_than_a_declaration_may_start_is_422_saying_why(hooks, ctx):
    old = payloads.am_alert("a1", T0 - dt.timedelta(days=31))
    status, answer = hooks.post("alertmanager", payloads.alertmanager([old]))
    assert status == 422 and "more than 30 days ago" in answer["error"]
    assert incidents(ctx) == []


def test_each_requests_outcome_is_told_once_for_the_metrics(hooks, ctx, monkeypatch):
    from bot.alerts import hooks as module

    told = []
    monkeypatch.setattr(module, "record_hook_outcome", lambda *args: told.append(args))
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    hooks.post("alertmanager", body)
    hooks.post("alertmanager", body)
    hooks.post("alertmanager", body, token=None)
    hooks.post("alertmanager", b"[")
    hooks.post("alertmanager", b"{}", length="99999999")
    info = payloads.alertmanager([payloads.am_alert("i1", STARTED, severity="info")], group="x")
    hooks.post("alertmanager", info)
    assert [outcome for _, outcome in told] == [
        "declared", "unchanged", "unauthorized", "malformed", "too_large", "ignored",
    ]  # fmt: skip
    assert {source for source, _ in told} == {"alertmanager"}


def test_a_broken_rules_file_is_503_until_it_is_fixed(workspace, ctx, tmp_path, logged):
    from tests.alerts.conftest import Hooks

    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - {severity: one}\n", encoding="utf-8")
    hooks = Hooks(workspace, SLABOT_ALERTS_FILE=str(path))
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    assert hooks.post("alertmanager", body) == (
        503, {"error": "slabot's alert rules file is invalid; `slabot policy check` says why"}
    )  # fmt: skip
    assert any(f"{path}:2: rules[0].severity" in r.getMessage() for r in logged.records)
    assert incidents(ctx) == []
    path.write_text("rules:\n  - {severity: 1}\n", encoding="utf-8")
    assert hooks.post("alertmanager", body)[1]["declared"] == ["INC-1"]


def test_a_question_slack_did_not_take_is_posted_once_by_the_worker(
    workspace, ctx, slack, tmp_path
):
    from bot.slack.client import make_client
    from bot.slack.loopback.faults import Reply
    from bot.tasks.service import TaskRunner

    hooks = asking(workspace, tmp_path)
    slack.fail_always("chat.postMessage", Reply(status=503))
    body = payloads.alertmanager([payloads.am_alert("a1", STARTED)])
    assert hooks.post("alertmanager", body)[1]["proposed"] == 1  # answered: the task keeps it
    assert not [c for c in slack.calls_to("chat.postMessage") if c.response.get("ok")]
    slack.clear_script()
    ctx.clock.advance(dt.timedelta(minutes=5))  # past the retry's back-off
    worker = TaskRunner(ctx, make_client(hooks.settings), hooks.settings, worker_id="worker-1")
    for task in worker.claim(10):
        worker.perform(task)
    posted = [c for c in slack.calls_to("chat.postMessage") if c.response.get("ok")]
    assert len(posted) == 1 and "Declare it as Sev 1" in text_of(posted[0])
    assert hooks.post("alertmanager", body)[1]["unchanged"] == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if c.response.get("ok")]) == 1
