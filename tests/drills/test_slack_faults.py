"""Slack misbehaving — 429s with Retry-After, 5xx (one in three an HTML page from a proxy),
slow answers, timeouts whose post did land, dropped connections — on the Web API calls of
the web process and of the worker: no reminder lost or doubled, and every slash command sent
meanwhile is acknowledged within Slack's 3 seconds. The long version:
``drills/slack_faults.py`` (docs/drills.md)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time

import pytest
from sqlmodel import select

from bot.incidents import service
from bot.slack.loopback import RESPONSE_URL, Hold, Reply, Storm
from config.settings import SettingsError
from drills import ledger
from storage.models import OutboxStatus, Reminder, Task
from tests.conftest import PATIENCE, T0, wait_until
from tests.drills.conftest import WORKER_TIMEOUT, Answers, declare_due_soon, make_worker
from tests.slack.conftest import make_workspace

HISTORY = "conversations.history"


def enough_faults(storm: Storm) -> bool:
    return sum(storm.counts.values()) > 20 and all(storm.counts.values())


def test_a_storm_of_slack_faults_loses_no_reminder_doubles_none_and_commands_are_acked_in_time(
    live, slack, caplog
):
    due_by = declare_due_soon(live, slack, count=20, within=2.0)
    storm = Storm(
        rate_limited=0.12, server_error=0.1, slow=0.1, timeout=0.06, dropped=0.06,
        slow_delay=(0.1, 0.8), timeout_delay=WORKER_TIMEOUT + 0.3, seed=8,
    )  # fmt: skip
    slack.storm(storm)
    worker = make_worker(live, slack)
    thread = worker.start()
    # Built while Slack misbehaves, with Slack's ack budget: a command that cannot finish
    # in time answers "working on it" and its answer follows.
    workspace = make_workspace(slack, live, ack_budget=None)
    answers = Answers()
    channels = [f"C0DRILL{n:03d}" for n in range(6)]
    commands = [
        ("status", channels[0]), ("update Still investigating &lt;!channel&gt;", channels[1]),
        ("list", "C0GENERAL"), ("declare 3 Declared in the storm", "C0GENERAL"),
        ("help", "C0GENERAL"), ("severity 2", channels[2]), ("status", channels[3]),
    ]  # fmt: skip

    def calm() -> bool:
        """Enough of every fault, enough commands, and every reminder due: the storm ends."""
        return (
            enough_faults(storm)
            and len(answers.texts) >= len(commands)
            and live.clock.now() >= due_by
        )

    try:
        # However fast this machine makes its calls, the storm lasts until all of that has
        # happened (the reminders fall due and are posted while Slack misbehaves).
        n, give_up = 0, time.monotonic() + PATIENCE
        while not calm() and time.monotonic() < give_up:
            answers.send(workspace, *commands[n % len(commands)])
            n += 1
        slack.storm(None)  # Slack recovers; the retries waiting finish
        wait_until(lambda: not ledger.unfinished(live.db, due_by), explain=storm.counts.__repr__)
    finally:
        worker.stop.set()
        thread.join(PATIENCE)
        slack.storm(None)
    assert workspace.edge.wait_idle(PATIENCE)
    assert slack.wait_idle(), "a request to the fake Slack is still being answered"
    # Nothing more can be posted now (a post answered too late for its sender has landed).
    counted = ledger.count(live.db, slack, due_by)
    assert calm(), (storm.counts, len(answers.texts))
    assert counted.due >= 20 and counted.unfinished == 0, counted.summary()
    assert counted.lost == [] and counted.doubled == {}, counted.summary()
    assert counted.failed == [], counted.failed
    assert set(answers.statuses) == {200} and all(answers.texts), answers.texts
    assert not [t for t in answers.texts if "went wrong" in t], answers.texts
    # A command that took too long was answered "working on it"; its answer followed.
    later = [c for c in slack.calls_to(RESPONSE_URL) if c.params.get("text")]
    assert len(later) >= answers.later
    broken = [r for r in caplog.records if r.exc_info and r.name.startswith("bot.")]
    assert broken == [], [r.getMessage() for r in broken]


def test_commands_are_acknowledged_while_slack_answers_nothing(slack, sqlite_ctx):
    """The acknowledgement never waits on Slack: with every Web API call held unanswered,
    each command still answers — itself, or "working on it" after the ack budget — and
    what it started finishes once Slack answers again."""
    patient = make_workspace(slack, sqlite_ctx)
    answer = patient.ack_text(patient.incident("declare 1 Checkout down"))
    assert "INC-1 declared" in answer, answer
    channel = slack.calls_to("conversations.create")[0].response["channel"]["id"]
    assert patient.edge.wait_idle(PATIENCE)
    hurried = make_workspace(slack, sqlite_ctx, ack_budget=0.2)
    held = Hold()
    slack.fail_always("*", Reply(hold=held))
    answers = Answers()

    def send() -> None:
        for text, where in [("status", channel), ("update Failover started", channel),
                            ("list", "C0GENERAL"), ("declare 2 Search slow", "C0GENERAL"),
                            ("ack", channel)]:  # fmt: skip
            answers.send(hurried, text, where)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(PATIENCE)
    answered_while_held = not sender.is_alive()
    held.release()
    slack.clear_script()
    sender.join(PATIENCE)
    assert answered_while_held, "a command waited on Slack before answering"
    assert held.reached.is_set()  # Slack was asked, and held
    assert set(answers.statuses) == {200} and all(answers.texts), answers.texts
    assert answers.later, answers.texts  # some work needed Slack: it answered "working on it"
    assert hurried.edge.wait_idle(PATIENCE)
    assert service.get(sqlite_ctx, "INC-1").acknowledged_at is not None
    later = [c for c in slack.calls_to(RESPONSE_URL) if c.params.get("text")]
    assert len(later) >= answers.later


def test_a_post_that_landed_unheard_is_not_repeated_when_the_channel_check_fails_for_a_moment(
    sqlite_ctx, clock, slack
):
    ctx = sqlite_ctx
    slack.add_channel("inc-1", id="C0INC", bot_member=True)
    view = service.declare(
        ctx, title="Checkout down", severity=1, actor="U1", started_at=T0 - dt.timedelta(minutes=15)
    )  # its 15-minute warning is due now
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    worker = make_worker(ctx, slack, concurrency=1)
    landing = Hold()  # the post lands only after the worker stopped listening
    slack.script("chat.postMessage", Reply(hold=landing))
    slack.script(HISTORY, Reply(status=503))  # the retry's check: Slack hiccups once
    assert worker.run_once() == 1  # the post times out: retried in a second
    landing.release()
    slack.wait_for("chat.postMessage")  # it landed, unheard
    clock.advance(seconds=2)
    worker.run_once()  # the check fails for a moment: retried, not posted blindly
    keys = [p["key"] for _, p in slack.metadata_payloads("slabot_reminder")]
    assert len(keys) == 1, keys
    clock.advance(seconds=5)
    worker.run_once()  # the check works: the post is found, and recorded as sent
    assert [p["key"] for _, p in slack.metadata_payloads("slabot_reminder")] == keys
    with ctx.db.read() as session:
        statuses = {r.dedupe_key: r.status for r in session.exec(select(Reminder))}
    assert statuses[keys[0]] == "sent"


@pytest.mark.parametrize("outage", [Reply(status=503), Reply(drop=True)], ids=["503", "dropped"])
def test_the_web_process_starts_and_answers_while_slack_does_not_answer_auth_test(
    sqlite_ctx, slack, outage, caplog
):
    slack.fail_always("auth.test", outage)
    with caplog.at_level(logging.WARNING, logger="bot.slack.app"):
        workspace = make_workspace(slack, sqlite_ctx)  # Bolt's check raised "invalid token"
    assert "serving anyway" in caplog.text
    answer = workspace.ack_text(workspace.incident("declare 1 Checkout down"))
    assert "INC-1 declared" in answer, answer
    assert len(slack.calls_to("auth.test")) <= 2  # at start-up only, not before each request


def test_the_web_process_refuses_to_start_with_a_token_slack_rejects(sqlite_ctx, slack):
    slack.fail_always("auth.test", Reply(error="invalid_auth"))
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN: Slack refused it \(invalid_auth\)"):
        make_workspace(slack, sqlite_ctx)


def test_a_declaration_whose_channel_gets_no_answer_is_declared_once_and_says_so(workspace, slack):
    slack.script("conversations.create", Reply(drop=True), Reply(drop=True))  # retried once
    answer = workspace.ack_text(workspace.incident("declare 1 Checkout down"))
    assert "INC-1 declared (Sev 1): Checkout down — its clocks are running" in answer
    assert "its channel and card follow (you will be told)" in answer
    assert [v.ref for v in service.list_incidents(workspace.ctx, open_only=False)] == ["INC-1"]
    with workspace.ctx.db.read() as session:  # the worker tries the channel again, later
        (task,) = session.exec(select(Task)).all()
    assert (task.kind, task.status, task.last_error) == (
        "declaration",
        OutboxStatus.PENDING,
        "RemoteDisconnected: Remote end closed connection without response",
    )


def test_a_change_whose_channel_post_and_card_get_no_answer_still_says_it_is_done(workspace, slack):
    answer = workspace.ack_text(workspace.incident("declare 1 Checkout down"))
    assert "declared" in answer
    channel = slack.calls_to("conversations.create")[0].response["channel"]["id"]
    slack.wait_for("pins.add")
    slack.fail_always("chat.postMessage", Reply(drop=True))
    slack.fail_always("chat.update", Reply(drop=True))
    answer = json.loads(workspace.incident("ack", channel=channel).body)["text"]
    if answer.startswith("⏳"):  # the client's retries outlasted the ack budget
        answer = slack.wait_for(RESPONSE_URL)[-1].params["text"]
    assert answer.startswith("✅ Acknowledged"), answer
    assert service.get(workspace.ctx, "INC-1").acknowledged_at is not None
