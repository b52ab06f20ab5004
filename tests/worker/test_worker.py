"""The reminder worker with an injected clock against the local Slack (no sleeping)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import make_client
from bot.slack.loopback import LoopbackSlack, Reply
from bot.worker import MAX_ATTEMPTS, Worker
from storage import queries
from storage.db import Database
from tests.conftest import T0
from tests.slack.conftest import BOT_TOKEN, make_settings

M = dt.timedelta(minutes=1)


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_channel("inc-1", id="C0INC", bot_member=True)
        server.add_channel("announce", id="C0ANNOUNCE", bot_member=True)
        yield server


def make_worker(ctx, slack, **settings) -> Worker:
    config = make_settings(slack, SLABOT_ESCALATION="S0ONCALL", **settings)
    return Worker(ctx, make_client(config, retry_rate_limits=False), config, worker_id="w1")


@pytest.fixture
def worker(ctx, slack) -> Worker:
    return make_worker(ctx, slack)


def declare(ctx, severity=1, **kwargs):
    view = service.declare(ctx, title="Checkout down", severity=severity, actor="U1", **kwargs)
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    return view.ref


def posts(slack, channel="C0INC") -> list[str]:
    return [m["text"] for m in slack.messages(channel)]


def at(clock, worker, minutes: float) -> list[str]:
    """Move to T0 + ``minutes``, run the worker once, return what it posted."""
    clock.set(T0 + dt.timedelta(minutes=minutes))
    count = len(posts_of(worker))
    worker.run_once()
    return posts_of(worker)[count:]


def posts_of(worker) -> list[str]:
    return [c.params["text"] for c in worker._slack.calls_to("chat.postMessage") if c.ok]


@pytest.fixture(autouse=True)
def _attach(worker, slack):
    worker._slack = slack  # the tests read what the worker posted from the local Slack


def statuses(ctx, ref):
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted((r.timer, r.step, r.status) for r in queries.reminders_of(session, incident.id))


def test_every_reminder_kind_is_posted_at_its_time_once(ctx, clock, worker, slack):
    declare(ctx)
    assert at(clock, worker, 14.9) == []
    assert at(clock, worker, 15) == [
        "⏳ INC-1 (Checkout down): response target due Fri 2026-11-20 09:30 UTC — 30m 24x7 under messaging-platform."
    ]
    blocks = str(slack.calls_to("chat.postMessage")[0].params["blocks"])
    assert "due <!date^1795167000^{date_short_pretty} {time} ({ago})|Fri 2026-11-20 09:30 UTC>" in blocks
    assert "Acknowledge with `/incident ack`" in blocks
    assert at(clock, worker, 15.5) == []  # once
    assert len(at(clock, worker, 25)) == 1
    breach = at(clock, worker, 30)
    assert breach == [
        "🔥 INC-1 (Checkout down) missed the response target (30m 24x7 under messaging-platform): "
        "it was due Fri 2026-11-20 09:30 UTC."
    ]
    update_due = at(clock, worker, 50)
    assert update_due == ["📝 INC-1 (Checkout down): update due Fri 2026-11-20 10:00 UTC (60m 24x7 under messaging-platform)."]
    message = slack.calls_to("chat.postMessage")[-1]
    assert message.params["blocks"][-1]["elements"][0]["action_id"] == "incident_update"
    second = at(clock, worker, 60)
    assert sorted(second) == sorted([
        "🚨 <!subteam^S0ONCALL> still open: INC-1 (Checkout down) missed the response target (30m 24x7 under messaging-platform) by 30m: it was due Fri 2026-11-20 09:30 UTC.",
        "📝 INC-1 (Checkout down): update overdue — it was due Fri 2026-11-20 10:00 UTC (60m 24x7 under messaging-platform).",
    ])  # fmt: skip
    # The next escalation is planned when one is posted: every 30 minutes until it stops.
    later = at(clock, worker, 90)  # the response's second escalation, the update's first
    assert sorted(p.split(": INC-1")[0] + " / " + p.split("missed the ")[-1].split(" target")[0] for p in later if "missed" in p) == [
        "🚨 <!subteam^S0ONCALL> still open / response"
    ]
    assert [p for p in later if "update overdue" in p and p.startswith("🚨 <!subteam^S0ONCALL> still open")]
    assert worker.posted == 8


def test_each_post_carries_the_reminder_key_as_metadata(ctx, clock, worker, slack):
    declare(ctx)
    at(clock, worker, 15)
    metadata = slack.calls_to("chat.postMessage")[0].params["metadata"]
    assert metadata == {"event_type": "slabot_reminder", "event_payload": {"key": "1/response/20261120T093000Z/15m"}}


def test_acknowledging_cancels_the_response_reminders(ctx, clock, worker):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.acknowledge(ctx, ref, "U2")
    assert [p for p in at(clock, worker, 60) if "response" in p] == []
    assert ("response", "breach", "cancelled") in statuses(ctx, ref)


def test_a_severity_change_replans_and_never_announces_the_old_deadline(ctx, clock, worker):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.change_severity(ctx, ref, 2, "U2")  # response 1 h from the original start
    assert [p for p in at(clock, worker, 30) if "response" in p] == []
    assert [p for p in at(clock, worker, 45) if "response target due" in p]  # the 15m warning of 10:00
    assert [p for p in at(clock, worker, 60) if "missed the response target (1h 24x7" in p]


def test_a_pause_silences_reminders_and_resuming_replans_them(ctx, clock, worker):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.pause(ctx, ref, "customer", "U2")
    assert at(clock, worker, 40) == []
    clock.set(T0 + 40 * M)
    service.resume(ctx, ref, "U2")  # paused 30 min: the response is due at 10:00
    assert [p for p in at(clock, worker, 60) if "missed the response target" in p]


def test_restoring_cancels_the_restore_reminders(ctx, clock, worker):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.restore(ctx, ref, "U2")
    posted = at(clock, worker, 300)
    assert [p for p in posted if "restore" in p] == [] and [p for p in posted if "response" in p] == []


def test_after_downtime_only_the_newest_reminder_of_each_timer_is_posted_marked_late(ctx, clock, worker, slack):
    ref = declare(ctx)
    posted = at(clock, worker, 58)  # the worker was down from 09:00 to 09:58
    assert len(posted) == 2
    response = next(p for p in posted if "response" in p)
    assert response.startswith("🔥 INC-1 (Checkout down) missed the response target") and " by 28m" in response
    assert "update due" in next(p for p in posted if "update" in p)
    blocks = str(slack.calls_to("chat.postMessage")[0].params["blocks"])
    assert "Posted late: slabot's worker was not running when this was due" in blocks
    assert [s for s in statuses(ctx, ref) if s[2] == "superseded"] == [
        ("response", "15m", "superseded"), ("response", "5m", "superseded"),
    ]  # fmt: skip


def test_a_rate_limit_moves_that_reminder_by_retry_after_without_blocking_others(ctx, clock, worker, slack):
    declare(ctx)
    declare(ctx)
    slack.script("chat.postMessage", Reply(status=429, headers={"Retry-After": "30"}))
    assert len(at(clock, worker, 15)) == 1  # INC-1's warning was rate limited, INC-2's went out
    with ctx.db.read() as session:
        pending = [r for r in queries.reminders_of(session, 1) if r.step == "15m"][0]
    assert pending.status == "pending" and pending.next_attempt_at == T0 + 15 * M + dt.timedelta(seconds=30)
    assert at(clock, worker, 15.25) == []
    assert len(at(clock, worker, 15.5)) == 1


def test_server_errors_back_off_then_fail_visibly(ctx, clock, worker, slack):
    ref = declare(ctx)
    slack.fail_always("chat.postMessage", Reply(status=500))
    minute = 15.0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        at(clock, worker, minute)
        minute += 2 ** (attempt - 1) / 60 + 0.01
    assert ("response", "15m", "failed") in statuses(ctx, ref)
    health = reminders.health(ctx)
    assert [r.dedupe_key for r in health.failed] == ["1/response/20261120T093000Z/15m"]
    assert "Slack answered 500" in health.failed[0].last_error and f"after {MAX_ATTEMPTS} attempts" in health.failed[0].last_error


def test_connection_errors_are_retried(ctx, clock, worker, slack):
    declare(ctx)
    slack.script("chat.postMessage", Reply(drop=True), Reply(drop=True))
    assert at(clock, worker, 15) == []
    assert len(at(clock, worker, 15.1)) == 1


def test_not_in_channel_joins_and_posts(ctx, clock, worker, slack):
    slack.add_channel("inc-2", id="C0OUT")
    ref = declare(ctx)
    service.set_slack_card(ctx, ref, channel_id="C0OUT", card_ts=None)
    clock.set(T0 + 15 * M)
    worker.run_once()
    assert slack.calls_to("conversations.join")[0].params["channel"] == "C0OUT"
    assert len(slack.messages("C0OUT")) == 1


def test_an_archived_channel_falls_back_to_the_announce_channel(ctx, clock, slack):
    worker = make_worker(ctx, slack, SLABOT_ANNOUNCE_CHANNEL="C0ANNOUNCE")
    slack.add_channel("old", id="C0OLD", bot_member=True, is_archived=True)
    ref = declare(ctx)
    service.set_slack_card(ctx, ref, channel_id="C0OLD", card_ts=None)
    clock.set(T0 + 15 * M)
    worker.run_once()
    [message] = slack.messages("C0ANNOUNCE")
    assert "Posted here because the incident channel is archived" in str(message["blocks"])


def test_an_archived_channel_without_an_announce_channel_fails_visibly(ctx, clock, worker, slack):
    slack.add_channel("old", id="C0OLD", bot_member=True, is_archived=True)
    ref = declare(ctx)
    service.set_slack_card(ctx, ref, channel_id="C0OLD", card_ts=None)
    at(clock, worker, 15)
    failed = reminders.health(ctx).failed
    assert failed[0].last_error == "Slack refused it: is_archived"


def test_a_claim_left_by_a_killed_worker_is_taken_over_after_its_lease_and_posted_once(ctx, clock, worker, slack):
    declare(ctx)
    clock.set(T0 + 15 * M)
    [left] = reminders.claim(ctx, "killed-worker")  # claimed, then the process died
    assert worker.run_once() == 0  # the lease still holds
    clock.set(T0 + 15 * M + reminders.LEASE + dt.timedelta(seconds=1))
    assert worker.run_once() == 1
    assert len(slack.messages("C0INC")) == 1
    with ctx.db.read() as session:
        row = [r for r in queries.reminders_of(session, 1) if r.id == left.reminder.id][0]
    assert (row.status, row.claimed_by, row.attempts) == ("sent", "w1", 2)


def test_a_worker_that_died_after_posting_is_not_posted_twice(ctx, clock, worker, slack):
    declare(ctx)
    clock.set(T0 + 15 * M)
    [due] = reminders.claim(ctx, "killed-worker")
    dying = make_worker(ctx, slack)
    dying._post("C0INC", dying.message(due), due.reminder.dedupe_key)  # posted; died before marking
    clock.set(T0 + 15 * M + reminders.LEASE + dt.timedelta(seconds=1))
    worker.run_once()
    assert len(slack.messages("C0INC")) == 1
    assert ("response", "15m", "sent") in statuses(ctx, "INC-1")


def test_shutdown_hands_back_claims_and_says_it_stopped(ctx, clock, worker):
    declare(ctx)
    clock.set(T0 + 15 * M)
    reminders.claim(ctx, "w1")
    worker.stop.set()
    worker.run()
    assert ("response", "15m", "pending") in statuses(ctx, "INC-1")
    assert reminders.health(ctx).workers == []  # stopped workers are not counted alive


def test_workers_share_the_due_reminders_without_duplicates(database_url, contracts, slack):
    """Several workers (each with its own connections, as separate processes have) at once."""
    from bot.clock import ManualClock

    count = 3 if database_url.startswith("postgresql") else 2
    database = Database(database_url)
    clock = ManualClock(T0)
    ctx = Context(database, contracts, clock)
    try:
        from tests.conftest import empty

        empty(database)
        for _ in range(40):
            declare(ctx)
        clock.set(T0 + 58 * M)  # two due reminders per incident (response breach, update due)
        workers = [
            make_worker(Context(Database(database_url), contracts, clock), slack) for _ in range(count)
        ]
        for index, w in enumerate(workers):
            w.worker_id = f"w{index}"
        threads = [threading.Thread(target=lambda w=w: [w.run_once() for _ in range(10)]) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [c.params["metadata"]["event_payload"]["key"] for c in slack.calls_to("chat.postMessage")]
        assert len(keys) == 80 and len(set(keys)) == 80
        assert sum(w.posted for w in workers) == 80 and all(w.posted > 0 for w in workers)
    finally:
        empty(database)
        database.dispose()
