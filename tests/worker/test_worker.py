"""The reminder worker with an injected clock against the local Slack (no sleeping)."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import event

from bot.clock import ManualClock
from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import make_client
from bot.slack.delivery import MAX_ATTEMPTS
from bot.slack.loopback import Reply
from bot.worker import Worker
from bot.worker.loop import SPREAD
from bot.worker.sources import Reminders
from storage import queries
from storage.db import Database
from tests.conftest import PATIENCE, T0, empty
from tests.slack.conftest import make_settings

M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)


def make_worker(ctx, slack, worker_id="w1", concurrency=1, **settings) -> Worker:
    config = make_settings(slack, **{"SLABOT_ESCALATION": "S0ONCALL", **settings})
    client = make_client(config, retry_rate_limits=False, retry_connection_errors=False)
    return Worker(ctx, client, config, worker_id=worker_id, concurrency=concurrency)


@pytest.fixture
def worker(ctx, slack) -> Worker:
    return make_worker(ctx, slack)


def declare(ctx, severity=1, channel="C0INC", **kwargs):
    view = service.declare(ctx, title="Checkout down", severity=severity, actor="U1", **kwargs)
    service.set_slack_card(ctx, view.ref, channel_id=channel, card_ts=None)
    return view.ref


def posted(slack) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c.ok]


def at(clock, worker, slack, minutes: float) -> list[str]:
    """Move to T0 + ``minutes``, run the worker once, return the texts it posted."""
    clock.set(T0 + dt.timedelta(minutes=minutes))
    count = len(posted(slack))
    worker.run_once()
    return sorted(c.params["text"] for c in posted(slack)[count:])


def statuses(ctx, ref):
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, ref)
        return sorted(
            (r.timer, r.step, r.status) for r in queries.reminders_of(session, incident.id)
        )


def row(ctx, step, timer="response"):
    with ctx.db.read() as session:
        return next(
            r for r in queries.reminders_of(session, 1) if (r.timer, r.step) == (timer, step)
        )


RESPONSE = "the response target of messaging-platform (30m 24x7)"
UPDATES = "(messaging-platform asks for one every 60m 24x7)"


# --- what is announced, when ------------------------------------------------------------


def test_every_reminder_kind_is_posted_at_its_time_once_and_says_what_to_do(
    ctx, clock, worker, slack
):
    declare(ctx)
    assert at(clock, worker, slack, 14.9) == []
    assert at(clock, worker, slack, 15) == [
        f"⏳ INC-1 (Checkout down): {RESPONSE} is due Fri 2026-11-20 09:30 UTC, in 15 minutes."
    ]
    warning = posted(slack)[0].params["blocks"]
    section = warning[0]["text"]["text"]
    # The deadline is a <!date> token: every reader sees it in their own local time.
    assert (
        "is due <!date^1795167000^{date_short_pretty} {time}|Fri 2026-11-20 09:30 UTC>" in section
    )
    assert "Acknowledge with `/incident ack` or the button below." in section
    assert warning[1]["elements"][0]["action_id"] == "incident_ack"
    assert at(clock, worker, slack, 15.5) == []  # once
    assert at(clock, worker, slack, 25) == [
        f"⏳ INC-1 (Checkout down): {RESPONSE} is due Fri 2026-11-20 09:30 UTC, in 5 minutes."
    ]
    assert at(clock, worker, slack, 30) == [
        f"🔥 INC-1 (Checkout down) missed {RESPONSE}: it was due Fri 2026-11-20 09:30 UTC, "
        "over by less than a minute."
    ]
    assert at(clock, worker, slack, 50) == [
        f"📝 INC-1 (Checkout down): update due Fri 2026-11-20 10:00 UTC, in 10 minutes {UPDATES}."
    ]
    update_due = posted(slack)[-1].params["blocks"]
    assert (
        "Post one with `/incident update …` or the button below." in update_due[0]["text"]["text"]
    )
    assert update_due[1]["elements"][0]["action_id"] == "incident_update"
    assert at(clock, worker, slack, 60) == [
        f"📝 INC-1 (Checkout down): update overdue — one was due Fri 2026-11-20 10:00 UTC {UPDATES}.",
        f"🚨 <!subteam^S0ONCALL> INC-1 (Checkout down) is still past {RESPONSE}: "
        "it was due Fri 2026-11-20 09:30 UTC, over by 30 minutes.",
    ]
    overdue = next(c for c in posted(slack)[-2:] if "update overdue" in c.params["text"])
    assert overdue.params["blocks"][1]["elements"][0]["action_id"] == "incident_update"
    # Each escalation plans the next: every 30 minutes until the timer stops.
    assert at(clock, worker, slack, 90) == [
        "🚨 <!subteam^S0ONCALL> INC-1 (Checkout down) is still past "
        f"{RESPONSE}: it was due Fri 2026-11-20 09:30 UTC, over by 1 hour.",
        "🚨 <!subteam^S0ONCALL> INC-1 (Checkout down): update still overdue, by 30 minutes — "
        f"one was due Fri 2026-11-20 10:00 UTC {UPDATES}.",
    ]
    assert worker.posted == 8


def test_the_restore_target_says_what_to_do_and_escalation_mentions_users_and_groups(
    ctx, clock, slack
):
    worker = make_worker(ctx, slack, SLABOT_ESCALATION="S0ONCALL, U0BOSS")
    declare(ctx)
    clock.set(T0 + 10 * M)
    service.acknowledge(ctx, "INC-1", "U2")
    service.post_update(ctx, "INC-1", "Looking", "U2")
    assert [t for t in at(clock, worker, slack, 240) if "restore" in t] == [
        "🔥 INC-1 (Checkout down) missed the restore target of messaging-platform (4h 24x7): "
        "it was due Fri 2026-11-20 13:00 UTC, over by less than a minute."
    ]
    restore = next(c for c in posted(slack) if "missed the restore" in c.params["text"])
    assert (
        "when service is back, `/incident restore`" in restore.params["blocks"][0]["text"]["text"]
    )
    escalation = next(t for t in at(clock, worker, slack, 270) if "restore" in t)
    assert escalation.startswith(
        "🚨 <!subteam^S0ONCALL> <@U0BOSS> INC-1 (Checkout down) is still past the restore"
    )


def test_without_an_escalation_audience_the_channel_is_alerted(ctx, clock, slack):
    worker = make_worker(ctx, slack, SLABOT_ESCALATION="")
    declare(ctx)
    clock.set(T0 + 30 * M)
    worker.run_once()
    assert [t for t in at(clock, worker, slack, 60) if t.startswith("🚨 <!here> INC-1")]


def test_long_business_targets_warn_at_half_and_three_quarters_in_the_customers_local_time(
    ctx, clock, worker, slack
):
    # Nordlys (Dixa, Europe/Copenhagen, Mon–Fri 08–17): Sev 2 declared Fri 10:00 local, so
    # the 1-business-day restore target (9 h) is due Mon 10:00 local.
    declare(ctx, severity=2, customers=["nordlys"])
    half = next(t for t in at(clock, worker, slack, 270) if "restore" in t)  # Fri 14:30 local
    assert half == (
        "⏳ INC-1 (Checkout down): 50% of the restore target of dixa for nordlys (1bd business) is "
        "used; it is due Mon 2026-11-23 10:00 CET, in 2 days 19 hours 30 minutes."
    )
    three_quarters = next(t for t in at(clock, worker, slack, 405) if "restore" in t)  # Fri 16:45
    assert three_quarters.startswith(
        "⏳ INC-1 (Checkout down): 75% of the restore target of dixa for nordlys"
    )


def test_an_update_restarts_the_progress_cadence(ctx, clock, worker, slack):
    declare(ctx)
    service.acknowledge(ctx, "INC-1", "U2")
    clock.set(T0 + 45 * M)
    service.post_update(ctx, "INC-1", "Rolled back", "U2")  # the next one is due at 10:45
    assert [t for t in at(clock, worker, slack, 50) if "update" in t] == []
    assert at(clock, worker, slack, 95) == [
        f"📝 INC-1 (Checkout down): update due Fri 2026-11-20 10:45 UTC, in 10 minutes {UPDATES}."
    ]


def test_acknowledging_cancels_the_response_reminders(ctx, clock, worker, slack):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.acknowledge(ctx, ref, "U2")
    assert [p for p in at(clock, worker, slack, 60) if "response" in p] == []
    assert ("response", "breach", "cancelled") in statuses(ctx, ref)


def test_a_severity_change_replans_and_never_announces_the_old_deadline(ctx, clock, worker, slack):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.change_severity(ctx, ref, 2, "U2")  # response 1 h from the original start
    assert [p for p in at(clock, worker, slack, 30) if "response" in p] == []
    assert [
        p
        for p in at(clock, worker, slack, 45)
        if "the response target of messaging-platform (1h 24x7) is due" in p
        and "in 15 minutes" in p
    ]
    assert [
        p
        for p in at(clock, worker, slack, 60)
        if "missed the response target of messaging-platform (1h 24x7)" in p
    ]


def test_a_pause_silences_reminders_and_resuming_replans_them(ctx, clock, worker, slack):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.pause(ctx, ref, "customer", "U2")
    assert at(clock, worker, slack, 40) == []
    clock.set(T0 + 40 * M)
    service.resume(ctx, ref, "U2")  # paused 30 min: the response is due at 10:00
    assert [
        p
        for p in at(clock, worker, slack, 60)
        if "missed the response target" in p and "10:00 UTC" in p
    ]


def test_restoring_and_resolving_cancel_what_they_stop(ctx, clock, worker, slack):
    ref = declare(ctx)
    clock.set(T0 + 10 * M)
    service.restore(ctx, ref, "U2")
    later = at(clock, worker, slack, 300)
    assert [p for p in later if "restore" in p or "response" in p] == []
    service.resolve(ctx, ref, "U2", "fixed")
    assert at(clock, worker, slack, 400) == []
    assert not [s for s in statuses(ctx, ref) if s[2] == "pending"]


def test_a_breach_notice_turns_the_pinned_card_red(ctx, clock, worker, slack):
    card = slack.add_message("C0INC", "the card", user=slack.bot_user_id)
    declare(ctx)
    service.set_slack_card(ctx, "INC-1", channel_id="C0INC", card_ts=card)
    at(clock, worker, slack, 30 + 1 / 60)  # a second after the deadline
    [update] = slack.calls_to("chat.update")
    assert update.params["ts"] == card
    assert "🔥 breached" in json.dumps(update.params["blocks"], ensure_ascii=False)


def test_a_claim_whose_deadline_stopped_holding_meanwhile_is_dropped_not_posted(
    ctx, clock, worker, slack
):
    declare(ctx)
    clock.set(T0 + 15 * M)
    reminders.claim(ctx, "killed-worker")  # claimed; then the incident was acknowledged
    service.acknowledge(ctx, "INC-1", "U2")
    clock.set(T0 + 15 * M + reminders.LEASE + S)
    assert worker.run_once() == 1
    assert posted(slack) == []
    assert row(ctx, "15m").status == "cancelled"


def test_after_downtime_only_the_newest_reminder_of_each_timer_is_posted_marked_late(
    ctx, clock, worker, slack
):
    ref = declare(ctx)
    texts = at(clock, worker, slack, 58)  # the worker was down from 09:00 to 09:58
    assert len(texts) == 2
    response = next(p for p in texts if "response" in p)
    assert (
        response.startswith(f"🔥 INC-1 (Checkout down) missed {RESPONSE}")
        and "over by 28 minutes" in response
    )
    assert ", in 2 minutes (" in next(p for p in texts if "update" in p)
    blocks = str(posted(slack)[0].params["blocks"])
    assert (
        "Posted late: this was due <!date^1795167000^{date_short_pretty} {time}|Fri 2026-11-20 09:30 UTC>; slabot's worker was not running then."
        in blocks
    )
    assert [s for s in statuses(ctx, ref) if s[2] == "superseded"] == [
        ("response", "15m", "superseded"), ("response", "5m", "superseded"),
    ]  # fmt: skip


# --- Slack's errors --------------------------------------------------------------------------


def test_a_rate_limit_moves_that_reminder_by_retry_after_without_blocking_others(
    ctx, clock, worker, slack
):
    declare(ctx)
    declare(ctx)
    slack.script("chat.postMessage", Reply(status=429, headers={"Retry-After": "90"}))
    # INC-1's warning is rate limited, INC-2's goes out.
    assert len(at(clock, worker, slack, 15)) == 1
    pending = row(ctx, "15m")
    assert pending.status == "pending" and pending.next_attempt_at == T0 + 15 * M + 90 * S
    assert at(clock, worker, slack, 16) == []
    assert len(at(clock, worker, slack, 16.5)) == 1
    blocks = str(posted(slack)[-1].params["blocks"])
    assert "Posted late" in blocks and "Slack did not accept it at first" in blocks
    done = row(ctx, "15m")
    assert (done.status, done.attempts) == ("sent", 1)  # a 429 is not an attempt


def test_rate_limits_alone_never_fail_a_reminder(ctx, clock, worker, slack):
    declare(ctx)
    slack.script(
        "chat.postMessage", *[Reply(status=429, headers={"Retry-After": "1"})] * (MAX_ATTEMPTS + 2)
    )
    for second in range(MAX_ATTEMPTS + 3):
        clock.set(T0 + 15 * M + 1.5 * second * S)
        worker.run_once()
    assert row(ctx, "15m").status == "sent"


def test_server_errors_back_off_then_fail_visibly(ctx, clock, worker, slack):
    ref = declare(ctx)
    slack.fail_always("chat.postMessage", Reply(status=500))
    moment = T0 + 15 * M
    for attempt in range(1, MAX_ATTEMPTS + 1):
        clock.set(moment)
        worker.run_once()
        moment += dt.timedelta(seconds=2 ** (attempt - 1)) + S
    assert ("response", "15m", "failed") in statuses(ctx, ref)
    health = reminders.health(ctx)
    assert [r.dedupe_key for r in health.failed] == ["1/response/20261120T093000Z/15m"]
    assert health.failed_count == 1
    assert (
        "Slack answered 500" in health.failed[0].last_error
        and f"after {MAX_ATTEMPTS} attempts" in health.failed[0].last_error
    )
    assert "1 reminder could not be posted" in health.problems


def test_connection_errors_are_retried_after_checking_the_channel(ctx, clock, worker, slack):
    declare(ctx)
    slack.script("chat.postMessage", Reply(drop=True))
    assert at(clock, worker, slack, 15) == []
    assert row(ctx, "15m").next_attempt_at == T0 + 15 * M + S
    assert len(at(clock, worker, slack, 15 + 2 / 60)) == 1
    assert slack.calls_to("conversations.history")[0].params["channel"] == "C0INC"  # did it land?


def test_a_refusal_slack_will_not_change_its_mind_about_fails_at_once(ctx, clock, worker, slack):
    declare(ctx)
    slack.script("chat.postMessage", Reply(error="invalid_auth"))
    at(clock, worker, slack, 15)
    assert (row(ctx, "15m").status, row(ctx, "15m").last_error) == (
        "failed",
        "Slack refused it: invalid_auth",
    )


def test_not_in_channel_joins_and_posts(ctx, clock, worker, slack):
    slack.add_channel("inc-2", id="C0OUT")
    declare(ctx, channel="C0OUT")
    clock.set(T0 + 15 * M)
    worker.run_once()
    assert slack.calls_to("conversations.join")[0].params["channel"] == "C0OUT"
    assert len(slack.messages("C0OUT")) == 1


@pytest.mark.parametrize("gone", ["archived", "deleted"])
def test_a_channel_that_is_gone_falls_back_to_the_announce_channel(ctx, clock, slack, gone):
    worker = make_worker(ctx, slack, SLABOT_ANNOUNCE_CHANNEL="C0ANNOUNCE")
    if gone == "archived":
        slack.add_channel("old", id="C0OLD", bot_member=True, is_archived=True)
    declare(ctx, channel="C0OLD")
    clock.set(T0 + 15 * M)
    worker.run_once()
    [message] = slack.messages("C0ANNOUNCE")
    assert (
        f"Posted here because the incident channel is {'archived' if gone == 'archived' else 'gone'}"
        in str(message["blocks"])
    )
    assert (row(ctx, "15m").status, row(ctx, "15m").channel_id) == ("sent", "C0ANNOUNCE")


def test_an_archived_channel_without_an_announce_channel_fails_visibly(ctx, clock, worker, slack):
    slack.add_channel("old", id="C0OLD", bot_member=True, is_archived=True)
    declare(ctx, channel="C0OLD")
    at(clock, worker, slack, 15)
    failed = reminders.health(ctx).failed
    assert failed[0].last_error == "Slack refused it: is_archived"


def test_an_incident_without_a_channel_posts_in_the_announce_channel_or_fails_saying_why(
    ctx, clock, slack
):
    service.declare(ctx, title="No channel", severity=1, actor="U1")
    service.declare(ctx, title="No channel either", severity=1, actor="U1")
    clock.set(T0 + 15 * M)
    make_worker(ctx, slack).run_once()
    assert {r.last_error for r in reminders.health(ctx).failed} == {
        "the incident has no channel and SLABOT_ANNOUNCE_CHANNEL is not set"
    }
    reminders.retry_failed(ctx)
    make_worker(ctx, slack, SLABOT_ANNOUNCE_CHANNEL="C0ANNOUNCE").run_once()
    assert len(slack.messages("C0ANNOUNCE")) == 2 and reminders.health(ctx).failed_count == 0


def test_failed_reminders_can_be_sent_again_late_once_the_cause_is_fixed(ctx, clock, worker, slack):
    declare(ctx)
    slack.script("chat.postMessage", Reply(error="missing_scope"))
    at(clock, worker, slack, 15)
    assert reminders.retry_failed(ctx) == 1
    texts = at(clock, worker, slack, 17)
    assert texts == [
        f"⏳ INC-1 (Checkout down): {RESPONSE} is due Fri 2026-11-20 09:30 UTC, in 13 minutes."
    ]
    assert "Posted late" in str(posted(slack)[-1].params["blocks"])
    assert row(ctx, "15m").status == "sent"


# --- claims, leases, crashes --------------------------------------------------------------------


def test_a_claim_left_by_a_killed_worker_is_taken_over_after_its_lease_and_posted_once(
    ctx, clock, worker, slack
):
    declare(ctx)
    clock.set(T0 + 15 * M)
    [left] = reminders.claim(ctx, "killed-worker")  # claimed, then the process died
    assert worker.run_once() == 0  # the lease still holds
    clock.set(T0 + 15 * M + reminders.LEASE + S)
    assert worker.run_once() == 1
    assert len(slack.messages("C0INC")) == 1
    taken = row(ctx, "15m")
    assert (taken.id, taken.status, taken.claimed_by, taken.attempts) == (
        left.reminder.id,
        "sent",
        "w1",
        2,
    )


def test_a_worker_that_died_after_posting_is_not_posted_twice(ctx, clock, worker, slack):
    declare(ctx)
    clock.set(T0 + 15 * M)
    [due] = reminders.claim(ctx, "killed-worker")
    dying = make_worker(ctx, slack, "killed-worker")
    message = Reminders().message(dying, due)
    dying.delivery.deliver("C0INC", message, due.reminder.dedupe_key)  # posted; then it died
    clock.set(T0 + 15 * M + reminders.LEASE + S)
    worker.run_once()
    assert len(slack.messages("C0INC")) == 1
    assert row(ctx, "15m").status == "sent"


def test_an_unreadable_channel_history_risks_a_second_post_rather_than_losing_one(
    ctx, clock, worker, slack
):
    declare(ctx)
    clock.set(T0 + 15 * M)
    reminders.claim(ctx, "killed-worker")
    slack.script("conversations.history", Reply(error="missing_scope"))
    clock.set(T0 + 15 * M + reminders.LEASE + S)
    worker.run_once()
    assert len(slack.messages("C0INC")) == 1 and row(ctx, "15m").status == "sent"


def test_a_worker_whose_claim_was_taken_over_does_not_post_it(ctx, clock, slack):
    declare(ctx)
    clock.set(T0 + 15 * M)
    slow, fast = make_worker(ctx, slack, "slow"), make_worker(ctx, slack, "fast")
    [stale] = reminders.claim(ctx, "slow")  # …then "slow" stalled past its lease
    clock.set(T0 + 15 * M + reminders.LEASE + S)
    assert fast.run_once() == 1
    Reminders().handle(slow, stale)  # it wakes up: its claim is gone, so it must not post
    assert len(slack.messages("C0INC")) == 1
    assert row(ctx, "15m").claimed_by == "fast"


def test_a_claim_near_the_end_of_its_lease_is_renewed_before_posting(ctx, clock, worker, slack):
    declare(ctx)
    clock.set(T0 + 15 * M)
    [due] = reminders.claim(ctx, "w1")
    clock.set(T0 + 15 * M + reminders.LEASE - reminders.POST_BUDGET + S)  # too little left to post
    seen = []

    def note_lease(call):
        if call.method == "chat.postMessage":
            seen.append(row(ctx, "15m").lease_until)

    slack.on_call = note_lease
    Reminders().handle(worker, due)
    assert seen == [clock.now() + reminders.LEASE]
    assert row(ctx, "15m").status == "sent"


def test_shutdown_hands_back_claims_and_says_it_stopped(ctx, clock, worker):
    declare(ctx)
    clock.set(T0 + 15 * M)
    reminders.claim(ctx, "w1")
    worker.stop.set()
    worker.run()
    assert ("response", "15m", "pending") in statuses(ctx, "INC-1")
    assert row(ctx, "15m").attempts == 0  # handed back unposted: not an attempt
    state = reminders.health(ctx)
    assert state.workers == [] and state.worker == "stale"  # stopped workers are not counted alive


# --- sleeping ------------------------------------------------------------------------------------


def test_an_idle_worker_reads_each_outbox_once_writes_nothing_and_sleeps_until_the_next_due(
    ctx, clock, worker, slack
):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()[:2]).upper())

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        assert worker.step() == worker.poll  # nothing at all pending
        declare(ctx)  # the web process writes reminders; the first is due at 09:15
        statements.clear()
        assert worker.step() == worker.poll  # 15 minutes away: look again after one poll
        clock.set(T0 + 15 * M - 0.2 * S)
        assert 0.2 <= worker.step() <= 0.2 + SPREAD  # sleep until it is due (a few ms spread)
        # One read per outbox per step (reminders, tasks): no claim, no write lock (SQLite's
        # BEGIN IMMEDIATE), no write.
        assert [s for s in statements if s.startswith("SELECT")] == ["SELECT (SELECT"] * 4
        assert not [
            s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE"))
        ]
        clock.set(T0 + 15 * M)
        assert worker.step() == 0.0 and len(slack.messages("C0INC")) == 1
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)


def test_a_reminder_written_by_another_process_while_the_worker_sleeps_is_posted_within_a_poll(
    ctx, database_url, contracts, slack
):
    """The worker in a thread, a "web process" with its own connections; time only moves when
    the worker sleeps, so the test is exact and never waits."""
    naps: list[float] = []

    class Steps(ManualClock):
        def sleep(self, seconds, wake=None):
            naps.append(seconds)
            if len(naps) == 3:  # while the worker sleeps, the web process declares
                web = Context(Database(database_url), contracts, self)
                declare(web, started_at=self.now() - 31 * M)  # already breached: due at once
                web.db.dispose()
            if len(naps) == 6:
                worker.stop.set()
            super().sleep(seconds)

    clock = Steps(T0)
    worker = make_worker(Context(ctx.db, contracts, clock), slack)
    worker.run()
    assert naps[:3] == [0.5, 0.5, 0.5]  # idle: one poll at a time, no busy spin
    assert len(slack.messages("C0INC")) == 1  # noticed on the very next step
    [breach] = posted(slack)
    assert breach.params["text"].startswith("🔥 INC-1 (Checkout down) missed")


# --- several workers -----------------------------------------------------------------------------


def test_workers_share_the_due_reminders_without_duplicates(database_url, contracts, slack):
    """Three workers on PostgreSQL, two on SQLite, each with its own connections (as separate
    processes have) and three posts in flight, in threads, over the same due reminders."""
    count = 3 if database_url.startswith("postgresql") else 2
    database = Database(database_url)
    clock = ManualClock(T0)
    ctx = Context(database, contracts, clock)
    try:
        empty(database)
        for _ in range(40):
            declare(ctx)
        clock.set(T0 + 58 * M)  # two due reminders per incident (response breach, update due)
        workers = [
            make_worker(
                Context(Database(database_url), contracts, clock), slack, f"w{index}", concurrency=3
            )
            for index in range(count)
        ]
        start = threading.Barrier(count, timeout=PATIENCE)

        def work(w):
            for _ in range(10):  # in rounds, each worker claiming at the same moment as the
                start.wait()  # others (so each gets a batch, however the threads are scheduled)
                w.run_once()

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [
            c.params["metadata"]["event_payload"]["key"] for c in slack.calls_to("chat.postMessage")
        ]
        assert len(keys) == 80 and len(set(keys)) == 80
        assert sum(w.posted for w in workers) == 80 and all(w.posted > 0 for w in workers)
    finally:
        empty(database)
        database.dispose()


def test_a_worker_stopped_while_the_database_is_down_exits_cleanly_and_says_so(
    contracts, clock, slack, tmp_path, caplog
):
    """Its claims cannot be handed back: they are taken over when their leases run out."""
    down = Context(
        db=Database(f"sqlite:///{tmp_path}/missing/dir/x.db"), contracts=contracts, clock=clock
    )
    worker = make_worker(down, slack)
    worker.stop.set()
    worker.run()  # returns; no traceback escapes
    assert "its claims could not be handed back" in caplog.text
