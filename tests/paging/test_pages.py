"""Pages out: an escalated breach pages PagerDuty and Opsgenie, once, through the task
outbox; a restore resolves them. Against local stand-ins of both APIs
(``bot.paging.loopback``), on a held clock."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from prometheus_client import REGISTRY

from bot.incidents import service
from bot.incidents.render import PLAIN, event_line
from bot.paging.loopback import OpsgenieAlerts, PagerDutyEvents, Reply
from bot.reminders import service as reminders
from bot.slack.app import make_client
from bot.slack.loopback import LoopbackSlack
from bot.worker import Worker
from storage import queries, tasks
from tests.conftest import T0
from tests.slack.conftest import BOT_TOKEN, make_settings

ROUTING_KEY = "R0UTINGKEY0123456789abcdef012345"
GENIE_KEY = "genie-key-0123-4567-89ab-cdef"
ESCALATES = T0 + dt.timedelta(minutes=60)
"""When a severity-1 incident declared at T0 escalates its response breach (30 m + 30 m)."""


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_channel("inc-1", id="C0INC", bot_member=True)
        yield server


@pytest.fixture
def pagerduty():
    with PagerDutyEvents(ROUTING_KEY) as server:
        yield server


@pytest.fixture
def opsgenie():
    with OpsgenieAlerts(GENIE_KEY) as server:
        yield server


def settings_for(slack, pagerduty=None, opsgenie=None, **more):
    values = dict(more)
    if pagerduty is not None:
        values.update(
            SLABOT_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
            SLABOT_PAGERDUTY_EVENTS_URL=pagerduty.events_url,
        )
    if opsgenie is not None:
        values.update(SLABOT_OPSGENIE_API_KEY=GENIE_KEY, SLABOT_OPSGENIE_API_URL=opsgenie.base_url)
    return make_settings(slack, **values)


def worker(ctx, settings) -> Worker:
    return Worker(ctx, make_client(settings), settings, worker_id="w1")


def declare(ctx, severity: int = 1, title: str = "Checkout down") -> str:
    view = service.declare(ctx, title=title, severity=severity, actor="U1")
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    return view.ref


def page_tasks(ctx) -> list:
    with ctx.db.read() as session:
        return [t for t in tasks.of_incident(session, 1) if t.kind.startswith("page_")]


def pages_counted(service_: str, action: str, outcome: str) -> float:
    labels = {"service": service_, "action": action, "outcome": outcome}
    return REGISTRY.get_sample_value("slabot_pages_total", labels) or 0.0


def test_an_escalation_pages_both_services_once_and_a_restore_resolves_both(
    ctx, clock, slack, pagerduty, opsgenie
):
    settings = settings_for(slack, pagerduty, opsgenie)
    ref = declare(ctx)
    sent_before = pages_counted("pagerduty", "trigger", "sent")
    clock.set(ESCALATES - dt.timedelta(minutes=1))  # the breach notice: no page yet
    worker(ctx, settings).run_once()
    assert pagerduty.calls == [] and opsgenie.calls == []

    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    worker(ctx, settings).run_once()  # nothing more to send
    [trigger] = pagerduty.events("trigger")
    assert trigger["routing_key"] == ROUTING_KEY
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", ref)
    payload = trigger["payload"]
    assert payload["severity"] == "critical" and payload["source"] == "slabot"
    assert payload["summary"].startswith(f"{ref} Checkout down: the response deadline (30m 24x7)")
    assert payload["custom_details"]["escalation"] == "escalation 1"
    [create] = opsgenie.requests("create")
    assert create.authorization == f"GenieKey {GENIE_KEY}"
    assert (create.body["alias"], create.body["priority"]) == (ref, "P1")
    assert len(create.body["message"]) <= 130
    assert pagerduty.alerts == {ref: "triggered"} and opsgenie.alerts == {ref: "open"}
    assert pages_counted("pagerduty", "trigger", "sent") == sent_before + 1
    assert {t.status for t in page_tasks(ctx)} == {"sent"}
    said = [m.get("text", "") for m in slack.messages("C0INC")]
    [escalation] = [t for t in said if "is still past the response target" in t]
    blocks = json.dumps(slack.messages("C0INC")[said.index(escalation)].get("blocks"))
    assert f"Paging PagerDuty and Opsgenie ({ref})." in blocks
    assert not any("Paging" in json.dumps(m.get("blocks")) for m in slack.messages("C0INC")
                   if "is still past" not in m.get("text", ""))  # fmt: skip

    clock.set(ESCALATES + dt.timedelta(minutes=5))
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()
    [resolve] = pagerduty.events("resolve")
    assert (resolve["dedup_key"], resolve["routing_key"]) == (ref, ROUTING_KEY)
    [close] = opsgenie.requests("close")
    assert close.path == f"/v2/alerts/{ref}/close" and close.query == {"identifierType": "alias"}
    assert pagerduty.alerts == {ref: "resolved"} and opsgenie.alerts == {ref: "closed"}
    assert len(pagerduty.calls) == 2 and len(opsgenie.calls) == 2
    # Each page, and each resolve, is in the incident's timeline once, by slabot.
    with ctx.db.read() as session:
        events = [e for e in queries.timeline(session, 1) if e.kind == "paged"]
    assert sorted((e.actor, e.text) for e in events) == [
        ("slabot", "Opsgenie: alert resolved, service restored"),
        ("slabot", "Opsgenie: the response target's escalation 1"),
        ("slabot", "PagerDuty: alert resolved, service restored"),
        ("slabot", "PagerDuty: the response target's escalation 1"),
    ]
    line = event_line(next(e for e in events if e.text.startswith("PagerDuty: the")), PLAIN)
    assert line.endswith("· slabot paged: PagerDuty: the response target's escalation 1")


def test_without_keys_nothing_is_paged_or_scheduled(ctx, clock, slack, pagerduty):
    settings = settings_for(slack)
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()
    assert page_tasks(ctx) == [] and pagerduty.calls == []
    assert not any("Paging" in json.dumps(m.get("blocks")) for m in slack.messages("C0INC"))


def test_a_restore_of_an_incident_never_paged_resolves_nothing(ctx, clock, slack, pagerduty):
    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    clock.set(T0 + dt.timedelta(minutes=31))  # breached, not yet escalated
    worker(ctx, settings).run_once()
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()
    assert page_tasks(ctx) == [] and pagerduty.calls == []


def test_5xx_and_429_are_retried_with_backoff_and_page_once(ctx, clock, slack, pagerduty):
    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    pagerduty.script(
        Reply(502, "<html>Bad Gateway</html>"),
        Reply(drop=True),
        Reply(429, {"status": "throttle event", "message": "Requests for this service are "
                    "arriving too quickly."}, headers={"Retry-After": "20"}),
    )  # fmt: skip
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    [task] = page_tasks(ctx)
    assert (task.status, task.last_error) == ("pending", "PagerDuty answered 502")
    assert task.next_attempt_at == ESCALATES + dt.timedelta(seconds=1)
    clock.set(task.next_attempt_at)
    worker(ctx, settings).run_once()
    [task] = page_tasks(ctx)
    assert task.last_error.startswith("PagerDuty did not answer")
    assert task.next_attempt_at == clock.now() + dt.timedelta(seconds=2)  # backing off
    clock.set(task.next_attempt_at)
    worker(ctx, settings).run_once()
    [task] = page_tasks(ctx)
    assert task.last_error == "PagerDuty rate limited for 20s"
    assert task.next_attempt_at == clock.now() + dt.timedelta(seconds=20)
    clock.set(task.next_attempt_at)
    worker(ctx, settings).run_once()
    [task] = page_tasks(ctx)
    assert task.status == "sent"
    assert [c.status for c in pagerduty.calls] == [502, None, 429, 202]
    assert len(pagerduty.events("trigger")) == 1 and pagerduty.alerts == {ref: "triggered"}


def test_a_refused_page_fails_at_once_visibly_and_without_the_key(
    ctx, clock, slack, pagerduty, caplog
):
    settings = make_settings(
        slack, SLABOT_PAGERDUTY_ROUTING_KEY="not-the-right-key-0123456789",
        SLABOT_PAGERDUTY_EVENTS_URL=pagerduty.events_url,
    )  # fmt: skip
    failed_before = pages_counted("pagerduty", "trigger", "failed")
    ref = declare(ctx)
    clock.set(ESCALATES)
    with caplog.at_level(logging.ERROR):
        worker(ctx, settings).run_once()
    [task] = page_tasks(ctx)
    reason = "PagerDuty refused it: 400 Event object is invalid; 'routing_key' is invalid"
    assert (task.status, task.last_error) == ("failed", reason)
    assert pages_counted("pagerduty", "trigger", "failed") == failed_before + 1
    health = reminders.health(ctx)
    assert "1 task could not be done" in health.problems
    assert any(reason in line for line in health.lines())
    assert f"PagerDuty page of {ref} (trigger) failed: {reason}" in caplog.text
    assert "not-the-right-key" not in caplog.text + "\n".join(health.lines())


def test_a_resolve_waits_for_its_trigger_and_a_trigger_after_the_restore_is_not_sent(
    ctx, clock, slack, pagerduty
):
    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    pagerduty.script(Reply(503, {"message": "unavailable"}))
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()  # the trigger: 503, to be retried in a second
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()  # the resolve waits for the trigger
    assert [c.status for c in pagerduty.calls] == [503]
    clock.set(clock.now() + dt.timedelta(seconds=10))
    worker(ctx, settings).run_once()
    assert pagerduty.events("trigger") == []  # restored before it went out: not sent
    [resolve] = pagerduty.events("resolve")
    assert resolve["dedup_key"] == ref
    results = {t.payload["action"]: t for t in page_tasks(ctx)}
    assert results["trigger"].result == {"skipped": f"{ref} was restored before the page went out"}
    assert results["resolve"].status == "sent"


def test_each_escalation_is_one_trigger_of_the_same_alert(ctx, clock, slack, pagerduty):
    """Response and progress escalate separately: two triggers, one PagerDuty alert."""
    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    clock.set(T0 + dt.timedelta(minutes=95))  # response escalated at 60 m, progress at 90 m
    worker(ctx, settings).run_once()
    worker(ctx, settings).run_once()
    triggers = pagerduty.events("trigger")
    assert sorted(t["payload"]["custom_details"]["timer"] for t in triggers) == [
        "progress", "response",
    ]  # fmt: skip
    assert {t["dedup_key"] for t in triggers} == {ref} and pagerduty.alerts == {ref: "triggered"}


def test_app_home_shows_a_failed_page(ctx, clock, slack, opsgenie):
    from bot.slack.app import build_app
    from bot.slack.handlers import home_view

    settings = make_settings(
        slack, SLABOT_OPSGENIE_API_KEY="wrong-genie-key", SLABOT_OPSGENIE_API_URL=opsgenie.base_url
    )
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    _, edge = build_app(ctx, settings)
    text = json.dumps(home_view(edge, "U1").to_dict(), ensure_ascii=False)
    assert (
        f"The Opsgenie page of {ref} could not be sent: Opsgenie refused it: 401 Could not "
        "authenticate (`slabot doctor --retry-failed`"
    ) in text
    assert "wrong-genie-key" not in text


def test_a_service_down_for_good_fails_the_page_after_the_last_attempt(
    ctx, clock, slack, pagerduty
):
    from bot.slack.delivery import MAX_ATTEMPTS

    settings = settings_for(slack, pagerduty)
    declare(ctx)
    pagerduty.script(*[Reply(503, {"message": "down"})] * MAX_ATTEMPTS)
    retried, failed = (pages_counted("pagerduty", "trigger", o) for o in ("retry", "failed"))
    clock.set(ESCALATES)
    for _ in range(MAX_ATTEMPTS):
        worker(ctx, settings).run_once()
        [task] = page_tasks(ctx)
        if task.next_attempt_at is not None and task.status == "pending":
            clock.set(max(clock.now(), task.next_attempt_at))
    assert (task.status, task.attempts) == ("failed", MAX_ATTEMPTS)
    assert task.last_error == f"PagerDuty answered 503 (down) (after {MAX_ATTEMPTS} attempts)"
    assert pages_counted("pagerduty", "trigger", "retry") == retried + MAX_ATTEMPTS - 1
    assert pages_counted("pagerduty", "trigger", "failed") == failed + 1
    assert len(pagerduty.calls) == MAX_ATTEMPTS and pagerduty.alerts == {}


# --- corrections: the record's restore resolves as `/incident restore` does ----------------


def test_a_paged_incident_restored_by_a_correction_resolves_each_service_once(
    ctx, clock, slack, pagerduty, opsgenie
):
    from bot.incidents.corrections import Correction

    settings = settings_for(slack, pagerduty, opsgenie)
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    assert pagerduty.alerts == {ref: "triggered"} and opsgenie.alerts == {ref: "open"}

    clock.set(ESCALATES + dt.timedelta(minutes=20))
    restored = ESCALATES + dt.timedelta(minutes=10)  # `/incident restore at …`: the record
    service.correct(ctx, ref, Correction(restored_at=restored), "U1", reason="back at 10 past")
    # Moving the restore's time is not a new restore: still one resolve per service.
    service.correct(ctx, ref, Correction(restored_at=restored + dt.timedelta(minutes=1)), "U1")
    worker(ctx, settings).run_once()
    worker(ctx, settings).run_once()
    [resolve] = pagerduty.events("resolve")
    assert (resolve["dedup_key"], resolve["routing_key"]) == (ref, ROUTING_KEY)
    [close] = opsgenie.requests("close")
    assert close.path == f"/v2/alerts/{ref}/close"
    assert close.body["note"] == f"{ref} restored at {restored.isoformat()}"
    assert pagerduty.alerts == {ref: "resolved"} and opsgenie.alerts == {ref: "closed"}
    assert len(pagerduty.calls) == 2 and len(opsgenie.calls) == 2
    with ctx.db.read() as session:
        texts = sorted(e.text for e in queries.timeline(session, 1) if e.kind == "paged")
    assert texts.count("PagerDuty: alert resolved, service restored") == 1
    assert texts.count("Opsgenie: alert resolved, service restored") == 1


def test_a_never_paged_incident_restored_by_a_correction_resolves_nothing(
    ctx, clock, slack, pagerduty, opsgenie
):
    from bot.incidents.corrections import Correction

    settings = settings_for(slack, pagerduty, opsgenie)
    ref = declare(ctx)
    clock.set(T0 + dt.timedelta(minutes=31))  # breached, not yet escalated
    worker(ctx, settings).run_once()
    service.correct(ctx, ref, Correction(restored_at=T0 + dt.timedelta(minutes=20)), "U1")
    worker(ctx, settings).run_once()
    assert page_tasks(ctx) == [] and pagerduty.calls == [] and opsgenie.calls == []


def test_a_correction_that_clears_the_restore_before_the_resolve_went_out_keeps_the_page(
    ctx, clock, slack, pagerduty
):
    """Reopening the outage pages no one anew; a resolve not yet sent is not sent."""
    from bot.incidents.corrections import Correction

    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    service.restore(ctx, ref, "U1")
    service.correct(ctx, ref, Correction(restored_at=None), "U1", reason="not back after all")
    worker(ctx, settings).run_once()
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger"]
    assert pagerduty.alerts == {ref: "triggered"}
    results = {t.payload["action"]: t for t in page_tasks(ctx)}
    assert results["resolve"].result == {
        "skipped": f"{ref} was no longer restored when the resolve was due"
    }
    # Restored again: one resolve, of the new restore.
    clock.set(clock.now() + dt.timedelta(minutes=5))
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()
    [resolve] = pagerduty.events("resolve")
    assert resolve["dedup_key"] == ref and pagerduty.alerts == {ref: "resolved"}


def test_a_correction_that_clears_a_sent_resolve_pages_again_at_the_next_escalation(
    ctx, clock, slack, pagerduty
):
    """The outage back on the record re-triggers nothing by itself; the escalations of the
    reopened clocks page as any escalation does."""
    from bot.incidents.corrections import Correction

    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()  # the response escalation: a trigger
    clock.set(ESCALATES + dt.timedelta(minutes=5))
    service.restore(ctx, ref, "U1")
    worker(ctx, settings).run_once()  # its resolve
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger", "resolve"]

    clock.set(ESCALATES + dt.timedelta(minutes=10))
    service.correct(ctx, ref, Correction(restored_at=None), "U1", reason="not back after all")
    worker(ctx, settings).run_once()
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger", "resolve"]
    assert pagerduty.alerts == {ref: "resolved"}

    clock.set(T0 + dt.timedelta(minutes=95))  # the progress timer escalates at 90 m
    worker(ctx, settings).run_once()
    worker(ctx, settings).run_once()
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger", "resolve", "trigger"]
    assert pagerduty.alerts == {ref: "triggered"}


def test_slabot_incidents_correct_schedules_the_resolve_and_a_worker_sends_it(
    ctx, clock, slack, pagerduty, cli_db, monkeypatch
):
    """The CLI has no worker: the correction's transaction holds the resolve, the worker's
    next look sends it."""
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setattr("bot.context.SystemClock", lambda: clock)
    settings = settings_for(slack, pagerduty)
    ref = declare(ctx)
    clock.set(ESCALATES)
    worker(ctx, settings).run_once()
    clock.set(ESCALATES + dt.timedelta(minutes=20))
    result = CliRunner().invoke(
        main, ["incidents", "correct", ref, "--restored-at", "2026-11-20T10:10:00Z",
               "--reason", "monitoring saw it back at 10:10", "--by", "ana"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [resolve_task] = [t for t in page_tasks(ctx) if t.payload["action"] == "resolve"]
    assert resolve_task.status == "pending" and pagerduty.events("resolve") == []
    worker(ctx, settings).run_once()
    [resolve] = pagerduty.events("resolve")
    assert resolve["dedup_key"] == ref and pagerduty.alerts == {ref: "resolved"}
