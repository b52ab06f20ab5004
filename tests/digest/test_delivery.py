"""Sending the weekly digest: on schedule, exactly once per week and recipient, also with
several workers, caught up once after downtime, through Slack's errors (local Slack)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from bot.clock import ManualClock
from bot.context import Context
from bot.digest import service
from bot.digest.sender import DigestSender
from bot.digest.weeks import parse_week
from bot.incidents import service as incidents
from bot.slack.app import make_client
from bot.slack.delivery import MAX_ATTEMPTS
from bot.slack.loopback import LoopbackSlack, Reply
from bot.worker import Worker
from bot.worker.sources import Digests, Reminders
from storage.db import Database
from tests.conftest import PATIENCE, empty
from tests.slack.conftest import BOT_TOKEN, make_settings

UTC = dt.UTC
MONDAY_9 = dt.datetime(2026, 11, 23, 8, tzinfo=UTC)  # Mon 23 Nov 09:00 in Copenhagen: W47 is due
W47 = parse_week("2026-W47")
S = dt.timedelta(seconds=1)


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        for user in ("UM1", "UM2", "UM3", "UM4"):
            server.add_user(user, user.lower())
        server.add_usergroup("S0MGRS", "managers", ["UM3", "UM4"])
        server.add_channel("managers", id="C0MGRS", bot_member=True)
        yield server


@pytest.fixture(autouse=True)
def quick_chart(request, monkeypatch):
    """Drawing the real chart takes ~0.4 s; only the test about the chart needs it."""
    if "real_chart" not in request.keywords:
        monkeypatch.setattr(
            "bot.digest.sender.budget_chart", lambda digest: b"\x89PNG\r\n\x1a\nstub"
        )


def sender_for(ctx, slack, **settings) -> DigestSender:
    values = {
        "SLABOT_MANAGERS": "UM1,UM2",
        "SLABOT_DIGEST_SCHEDULE": "mon 09:00 Europe/Copenhagen",
        **settings,
    }
    config = make_settings(slack, **values)
    return DigestSender(ctx, make_client(config, retry_rate_limits=False), config, check_every=0)


def dms(slack, user) -> list[dict]:
    return [m for m in slack.messages(user) if not m.get("upload")]


def rows(ctx, week=W47) -> dict[str, tuple[str, bool]]:
    return {r.recipient: (r.status, r.late) for r in service.deliveries(ctx, week)}


@pytest.mark.real_chart
def test_at_the_scheduled_time_each_manager_gets_one_direct_message_with_the_chart(
    ctx, clock, slack
):
    sender = sender_for(ctx, slack, SLABOT_DIGEST_CHANNEL="C0MGRS")
    clock.set(MONDAY_9 - dt.timedelta(days=7))
    service.schedule_week(ctx, parse_week("2026-W46"), ["UM1", "UM2", "C0MGRS"], clock.now())
    for row in service.claim(ctx, "last-week"):
        service.sent(ctx, row, "last-week", "D0", None)  # last week's went out on time
    clock.set(MONDAY_9 - S)
    assert sender.run_once("w1") == 0 and rows(ctx) == {}  # not due yet
    clock.set(MONDAY_9 + S)
    assert sender.run_once("w1") == 3
    for recipient in ("UM1", "UM2", "C0MGRS"):
        [message] = dms(slack, recipient)
        assert message["text"].startswith("SLA digest 2026-W47: no incidents this week")
        assert message["metadata"]["event_payload"] == {"key": f"2026-W47/{recipient}"}
        [chart] = [m for m in slack.messages(recipient) if m.get("upload")]
        assert chart["files"][0]["name"] == "slabot-digest-2026-W47.png"
    assert {f["bytes"][:8] for f in slack.files.values()} == {b"\x89PNG\r\n\x1a\n"}
    assert rows(ctx) == {"UM1": ("sent", False), "UM2": ("sent", False), "C0MGRS": ("sent", False)}
    assert "Sent late" not in str(dms(slack, "UM1")[0]["blocks"])
    clock.set(MONDAY_9 + dt.timedelta(hours=3))
    assert sender.run_once("w1") == 0 and len(dms(slack, "UM1")) == 1  # once


def test_user_groups_are_expanded_and_nothing_is_written_until_slack_can_say_who(ctx, clock, slack):
    sender = sender_for(ctx, slack, SLABOT_MANAGERS="UM1,S0MGRS")
    slack.script("usergroups.users.list", Reply(status=500))
    clock.set(MONDAY_9 + S)
    assert sender.run_once("w1") == 0 and rows(ctx) == {}
    clock.set(MONDAY_9 + 10 * S)
    assert sender.run_once("w1") == 3
    assert sorted(rows(ctx)) == ["UM1", "UM3", "UM4"]


def test_after_downtime_only_the_latest_week_is_sent_once_saying_it_is_late(ctx, clock, slack):
    sender = sender_for(ctx, slack)
    service.schedule_week(
        ctx, parse_week("2026-W45"), ["UM1", "UM2"], MONDAY_9 - dt.timedelta(days=14)
    )
    # Workers down from before Mon 16 Nov until Thu 26 Nov: W45 was written but never sent, W46
    # never written. Only W47 goes out, late; W45 is superseded; W46 is never sent.
    clock.set(MONDAY_9 + dt.timedelta(days=3))
    assert sender.run_once("w1") == 2
    assert rows(ctx) == {"UM1": ("sent", True), "UM2": ("sent", True)}
    assert rows(ctx, parse_week("2026-W45")) == {
        "UM1": ("superseded", False),
        "UM2": ("superseded", False),
    }
    assert rows(ctx, parse_week("2026-W46")) == {}
    [message] = dms(slack, "UM1")
    assert message["text"].startswith("SLA digest 2026-W47 (late):")
    assert "Sent late: it was due <!date^1795420800^" in str(message["blocks"])
    assert sender.run_once("w1") == 0 and len(dms(slack, "UM1")) == 1


def test_two_workers_send_each_recipient_one_digest(database_url, contracts, slack):
    """Workers with their own connections (as separate processes have), in threads at once."""
    count = 3 if database_url.startswith("postgresql") else 2
    database = Database(database_url)
    clock = ManualClock(MONDAY_9 + S)
    managers = [f"UX{i}" for i in range(8)]
    for user in managers:
        slack.add_user(user, user.lower())
    try:
        empty(database)
        senders = [
            sender_for(
                Context(Database(database_url), contracts, clock),
                slack,
                SLABOT_MANAGERS=",".join(managers),
            )
            for _ in range(count)
        ]
        for sender in senders:
            sender.batch = 2
        threads = [
            threading.Thread(target=lambda s=s, i=i: [s.run_once(f"w{i}") for _ in range(6)])
            for i, s in enumerate(senders)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [
            c.params["metadata"]["event_payload"]["key"] for c in slack.calls_to("chat.postMessage")
        ]
        assert sorted(keys) == sorted(f"2026-W47/{m}" for m in managers)  # each once
        ctx = Context(database, contracts, clock)
        assert {status for status, _ in rows(ctx).values()} == {"sent"} and len(rows(ctx)) == 8
    finally:
        empty(database)
        database.dispose()


def test_a_claim_left_by_a_dead_worker_is_taken_over_and_not_posted_twice(ctx, clock, slack):
    sender = sender_for(ctx, slack)
    clock.set(MONDAY_9 + S)
    service.schedule_week(ctx, W47, ["UM1", "UM2"], MONDAY_9)
    left = service.claim(ctx, "dead-worker")
    um1 = next(r for r in left if r.recipient == "UM1")
    dying = sender_for(ctx, slack)
    # It posted UM1's digest, then died before marking it sent.
    dying.channels.post(dying._conversation("UM1"), _message(dying),
                        metadata={"event_type": "slabot_digest", "event_payload": {"key": "2026-W47/UM1"}})  # fmt: skip
    assert um1.claimed_by == "dead-worker"
    assert sender.run_once("w1") == 0  # the lease still holds
    clock.set(MONDAY_9 + service.LEASE + 2 * S)
    assert sender.run_once("w1") == 2
    assert len(dms(slack, "UM1")) == 1 and len(dms(slack, "UM2")) == 1
    assert rows(ctx) == {"UM1": ("sent", False), "UM2": ("sent", False)}


def _message(sender):
    from bot.slack.digest import digest_message

    return digest_message(sender.content(W47)[0])


def test_slack_errors_wait_retry_or_fail_visibly(ctx, clock, slack):
    sender = sender_for(ctx, slack, SLABOT_MANAGERS="UM1,UM2,U0GONE")
    slack.script("chat.postMessage", Reply(status=429, headers={"Retry-After": "30"}))
    slack.script("files.getUploadURLExternal", Reply(error="not_allowed"))
    clock.set(MONDAY_9 + S)
    sender.run_once("w1")
    statuses = {r.recipient: (r.status, r.last_error) for r in service.deliveries(ctx, W47)}
    assert statuses["UM1"] == ("pending", "rate limited for 30s")
    assert statuses["U0GONE"] == ("failed", "Slack refused it: user_not_found")
    assert statuses["UM2"][0] == "sent" and statuses["UM2"][1].startswith("chart not uploaded")
    clock.set(MONDAY_9 + 20 * S)
    assert sender.run_once("w1") == 0
    clock.set(MONDAY_9 + 32 * S)
    assert sender.run_once("w1") == 1 and len(dms(slack, "UM1")) == 1


def test_server_errors_back_off_as_reminders_do_and_rate_limits_are_not_counted(ctx, clock, slack):
    """One retry policy for reminders and digests (``bot.slack.delivery``)."""
    sender = sender_for(ctx, slack, SLABOT_MANAGERS="UM1")
    slack.script("chat.postMessage", *[Reply(status=429, headers={"Retry-After": "1"})] * 3)
    slack.fail_always("chat.postMessage", Reply(status=500))
    moment = MONDAY_9 + S
    for _ in range(3):
        clock.set(moment)
        assert sender.run_once("w1") == 1
        moment += 2 * S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        clock.set(moment)
        assert sender.run_once("w1") == 1
        [row] = service.deliveries(ctx, W47)
        assert row.attempts == attempt  # the three rate limits were not counted
        if attempt < MAX_ATTEMPTS:
            wait = dt.timedelta(seconds=min(60, 2 ** (attempt - 1)))  # 1, 2, 4 … 60 s
            assert (row.status, row.next_attempt_at) == ("pending", moment + wait)
            moment += wait + S
    assert row.status == "failed"
    assert row.last_error.startswith("Slack answered 500")
    assert row.last_error.endswith(f"(after {MAX_ATTEMPTS} attempts)")


def test_an_unreadable_conversation_risks_a_second_digest_rather_than_losing_one(ctx, clock, slack):
    sender = sender_for(ctx, slack, SLABOT_MANAGERS="UM1")
    clock.set(MONDAY_9 + S)
    service.schedule_week(ctx, W47, ["UM1"], MONDAY_9)
    service.claim(ctx, "dead-worker")
    slack.script("conversations.history", Reply(error="missing_scope"))
    clock.set(MONDAY_9 + service.LEASE + 2 * S)
    assert sender.run_once("w1") == 1
    assert len(dms(slack, "UM1")) == 1 and rows(ctx) == {"UM1": ("sent", False)}


def test_the_worker_loop_runs_the_digest_step(ctx, clock, slack):
    config = make_settings(
        slack, SLABOT_MANAGERS="UM1", SLABOT_DIGEST_SCHEDULE="mon 09:00 Europe/Copenhagen"
    )
    client = make_client(config, retry_rate_limits=False)
    worker = Worker(ctx, client, config, worker_id="w1")
    assert [source.name for source in worker.sources] == ["reminders", "tasks", "digests"]
    step_by_step = [Reminders(), Digests(DigestSender(ctx, client, config), background=False)]
    worker = Worker(ctx, client, config, worker_id="w1", sources=step_by_step)
    clock.set(MONDAY_9 + S)
    assert worker.run_once() == 1
    assert len(dms(slack, "UM1")) == 1


def test_a_slow_digest_never_holds_up_reminders(ctx, clock, slack):
    """The digest is built on a thread of its own: a reminder due meanwhile is posted at once."""
    config = make_settings(
        slack, SLABOT_MANAGERS="UM1", SLABOT_DIGEST_SCHEDULE="mon 09:00 Europe/Copenhagen"
    )
    worker = Worker(ctx, make_client(config, retry_rate_limits=False), config, worker_id="w1")
    digests = next(s for s in worker.sources if s.name == "digests")
    building, release = threading.Event(), threading.Event()
    build = digests.sender.content

    def slow_content(week):
        building.set()
        release.wait(PATIENCE)
        return build(week)

    digests.sender.content = slow_content
    clock.set(MONDAY_9 + S)
    incident = incidents.declare(
        ctx, title="Checkout down", severity=1, actor="U1", channel_id="C0MGRS"
    )
    worker.step()
    assert building.wait(PATIENCE), "the digest build did not start"
    clock.advance(minutes=16)  # the 15-minute response warning is due
    worker.step()
    posts = [c for c in slack.calls_to("chat.postMessage") if incident.ref in str(c.params)]
    assert posts and not dms(slack, "UM1")  # the reminder is out; the digest is still building
    release.set()
    digests._running.join(PATIENCE)
    assert len(dms(slack, "UM1")) == 1


def test_no_schedule_or_no_recipients_sends_nothing(ctx, clock, slack):
    clock.set(MONDAY_9 + S)
    assert sender_for(ctx, slack, SLABOT_DIGEST_SCHEDULE="off").run_once("w1") == 0
    assert sender_for(ctx, slack, SLABOT_MANAGERS="").run_once("w1") == 0
    assert rows(ctx) == {} and slack.calls == []
