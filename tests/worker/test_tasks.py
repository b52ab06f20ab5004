"""The task outbox: scheduled in the fact's transaction, done once by whoever claims it —
the process that wrote it, else a worker — with the reminders' lease and retry rules."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.slack.app import make_client
from bot.slack.delivery import MAX_ATTEMPTS
from bot.slack.loopback import LoopbackSlack
from bot.tasks import service as tasks
from bot.tasks.registry import Done, Failed, Retry, handles
from bot.tasks.service import TaskRunner
from bot.worker import Worker
from bot.worker.sources import Tasks
from storage import tasks as stored
from storage.models import OutboxStatus
from tests.conftest import T0
from tests.slack.conftest import BOT_TOKEN, make_settings

S = dt.timedelta(seconds=1)
done: list[tuple[str, str, dict]] = []
"""(worker, key, payload) of every run of the test kinds below."""
answers: dict[str, list] = {}
"""Scripted outcomes per key (popped one per run); Done() when none is left."""


def _answer(run):
    done.append((run.worker_id, run.task.dedupe_key, run.payload))
    script = answers.get(run.task.dedupe_key)
    outcome = script.pop(0) if script else Done({"made": run.payload.get("n")})
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


handles("test_echo")(_answer)


@handles("test_then")
def _then(run):
    done.append((run.worker_id, run.task.dedupe_key, run.payload))
    return Done({"ok": True}, then=lambda session: then_ran.append(run.task.dedupe_key))


then_ran: list[str] = []


@pytest.fixture(autouse=True)
def forget():
    done.clear(), answers.clear(), then_ran.clear()


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        yield server


@pytest.fixture
def config(slack):
    return make_settings(slack)


def runner(ctx, config, name: str) -> TaskRunner:
    client = make_client(config, retry_rate_limits=False, retry_connection_errors=False)
    return TaskRunner(ctx, client, config, worker_id=name)


def worker(ctx, config, name: str) -> Worker:
    client = make_client(config, retry_rate_limits=False, retry_connection_errors=False)
    return Worker(ctx, client, config, worker_id=name, sources=[Tasks()])


def schedule(ctx, key, kind="test_echo", due_at=None, **payload):
    with ctx.db.transaction() as session:
        return tasks.schedule(
            session, kind, key, payload, due_at=due_at or ctx.clock.now(), now=ctx.clock.now()
        )


def row(ctx, key):
    with ctx.db.read() as session:
        return stored.by_key(session, key)


def test_the_same_key_schedules_the_work_once(ctx):
    first = schedule(ctx, "k1", n=1)
    assert isinstance(first, int)
    assert schedule(ctx, "k1", n=2) is None
    assert row(ctx, "k1").payload == {"n": 1}


def test_a_kind_without_a_handler_is_refused_when_scheduled(ctx):
    with ctx.db.transaction() as session, pytest.raises(ValueError, match="no handler"):
        tasks.schedule(session, "nobody_does_this", "k", {}, due_at=T0)


def test_a_task_rolled_back_with_its_fact_is_never_done(ctx, config):
    with pytest.raises(RuntimeError), ctx.db.transaction() as session:
        tasks.schedule(session, "test_echo", "k-rolled", {}, due_at=T0)
        raise RuntimeError("the fact was refused")
    assert row(ctx, "k-rolled") is None
    assert worker(ctx, config, "w").run_once() == 0


def test_run_now_does_it_once_and_keeps_its_result(ctx, config):
    task_id = schedule(ctx, "k1", n=7)
    web = runner(ctx, config, "web")
    assert web.run_now(task_id) == Done({"made": 7})
    assert web.run_now(task_id) is None  # done: nothing to claim
    assert worker(ctx, config, "w").run_once() == 0
    assert done == [("web", "k1", {"n": 7})]
    task = row(ctx, "k1")
    assert (task.status, task.result, task.attempts) == (OutboxStatus.SENT, {"made": 7}, 1)


def test_done_writes_what_the_work_calls_for_in_the_marking_transaction(ctx, config):
    task_id = schedule(ctx, "k-then", kind="test_then")
    runner(ctx, config, "web").run_now(task_id)
    assert then_ran == ["k-then"]


def test_a_task_due_later_is_left_to_the_worker_until_it_is_due(ctx, clock, config):
    task_id = schedule(ctx, "later", due_at=T0 + 10 * S)
    assert runner(ctx, config, "web").run_now(task_id) is None
    w = worker(ctx, config, "w")
    assert w.run_once() == 0
    clock.set(T0 + 10 * S)
    assert w.run_once() == 1
    assert done == [("w", "later", {})]


def test_retry_waits_then_tries_again_and_a_rate_limit_does_not_count(ctx, clock, config):
    answers["k"] = [Retry("Slack answered 503"), Retry("rate limited", after=30, counts=False)]
    task_id = schedule(ctx, "k")
    runner(ctx, config, "web").run_now(task_id)
    task = row(ctx, "k")
    assert (task.status, task.next_attempt_at, task.last_error) == (
        OutboxStatus.PENDING, T0 + S, "Slack answered 503",
    )  # fmt: skip
    w = worker(ctx, config, "w")
    assert w.run_once() == 0  # not before its retry time
    clock.set(T0 + S)
    assert w.run_once() == 1
    assert row(ctx, "k").next_attempt_at == T0 + 31 * S
    clock.set(T0 + 31 * S)
    assert w.run_once() == 1
    task = row(ctx, "k")
    assert (task.status, task.attempts, len(done)) == (OutboxStatus.SENT, 2, 3)


def test_a_task_that_keeps_failing_is_given_up_visibly(ctx, clock, config):
    answers["k"] = [Retry("Slack answered 500")] * MAX_ATTEMPTS
    schedule(ctx, "k")
    w = worker(ctx, config, "w")
    for _ in range(MAX_ATTEMPTS):
        clock.set(clock.now() + dt.timedelta(minutes=2))
        w.run_once()
    task = row(ctx, "k")
    assert task.status is OutboxStatus.FAILED
    assert task.last_error == f"Slack answered 500 (after {MAX_ATTEMPTS} attempts)"
    with ctx.db.read() as session:
        assert [t.dedupe_key for t in stored.claims.failed(session)] == ["k"]


def test_a_refusal_fails_at_once_and_an_unexpected_error_is_retried(ctx, clock, config):
    answers["refused"] = [Failed("Slack refused it: missing_scope")]
    answers["broken"] = [KeyError("channel")]
    web = runner(ctx, config, "web")
    web.run_now(schedule(ctx, "refused"))
    web.run_now(schedule(ctx, "broken"))
    assert row(ctx, "refused").status is OutboxStatus.FAILED
    broken = row(ctx, "broken")
    assert (broken.status, broken.last_error) == (OutboxStatus.PENDING, "KeyError: 'channel'")
    clock.set(T0 + S)
    assert worker(ctx, config, "w").run_once() == 1
    assert row(ctx, "broken").status is OutboxStatus.SENT


def test_a_row_of_an_unknown_kind_fails_saying_so(ctx, config):
    with ctx.db.transaction() as session:
        task_id = stored.add(session, "retired_kind", "old", {}, due_at=T0, now=T0)
    runner(ctx, config, "web").run_now(task_id)
    task = row(ctx, "old")
    assert (task.status, task.last_error) == (
        OutboxStatus.FAILED, "no handler for task kind 'retired_kind'",
    )  # fmt: skip


def test_a_claim_whose_holder_died_is_taken_over_and_its_late_mark_is_refused(ctx, clock, config):
    task_id = schedule(ctx, "k-then", kind="test_then")
    dying = runner(ctx, config, "dying")
    [claimed] = dying.claim(10)  # claimed, then the process is killed before the work
    other = worker(ctx, config, "w2")
    assert other.run_once() == 0  # the lease still holds
    clock.set(T0 + dt.timedelta(seconds=61))
    assert other.run_once() == 1
    assert [who for who, _, _ in done] == ["w2"]
    assert then_ran == ["k-then"]
    # The first process wakes up: its claim is gone, so it does nothing.
    assert dying.perform(claimed) is None
    assert runner(ctx, config, "web").run_now(task_id) is None
    assert (len(done), then_ran) == (1, ["k-then"])


def test_a_cancelled_task_is_not_done(ctx, clock, config):
    schedule(ctx, "archive", due_at=T0 + 10 * S)
    with ctx.db.transaction() as session:
        assert tasks.cancel(session, "archive", "the incident was reopened")
    clock.set(T0 + 20 * S)
    assert worker(ctx, config, "w").run_once() == 0
    assert row(ctx, "archive").status is OutboxStatus.CANCELLED


def test_a_stopping_worker_hands_back_its_claims(ctx, config):
    schedule(ctx, "k")
    w = worker(ctx, config, "w")
    runner_of_w = w.sources[0].runner(w)
    runner_of_w.claim(10)
    assert w.sources[0].release(ctx, "w") == 1
    task = row(ctx, "k")
    assert (task.status, task.attempts) == (OutboxStatus.PENDING, 0)


def test_doctor_shows_a_failed_task_and_retry_failed_queues_it_again(ctx, config):
    from bot.reminders.service import diagnose

    answers["page"] = [Failed("PagerDuty refused it: invalid routing key")]
    runner(ctx, config, "web").run_now(schedule(ctx, "page"))
    health = diagnose(ctx)
    assert "1 task could not be done" in health.problems
    assert (
        "  test_echo page, due Fri 2026-11-20 09:00 UTC: PagerDuty refused it: invalid routing key"
        in health.lines()
    )
    assert health.as_json()["failed_tasks"][0]["key"] == "page"
    assert diagnose(ctx, requeue_failed=True).requeued == 1
    assert row(ctx, "page").status is OutboxStatus.PENDING


def test_the_next_look_is_when_a_task_falls_due_its_retry_comes_or_a_lease_runs_out(
    ctx, clock, config
):
    assert tasks.next_due(ctx) is None
    schedule(ctx, "later", due_at=T0 + 10 * S)
    assert tasks.next_due(ctx) == T0 + 10 * S
    answers["soon"] = [Retry("Slack answered 503", after=30)]
    runner(ctx, config, "web").run_now(schedule(ctx, "soon"))
    assert tasks.next_due(ctx) == T0 + 10 * S  # "soon" is retried at T0 + 30 s: after it
    clock.set(T0 + 10 * S)
    [claimed] = runner(ctx, config, "dying").claim(10)  # "later"; its holder dies
    assert claimed.dedupe_key == "later"
    assert tasks.next_due(ctx) == T0 + 30 * S  # the retry comes before the lease runs out
    clock.set(T0 + 30 * S)
    assert worker(ctx, config, "w").run_once() == 1
    assert tasks.next_due(ctx) == claimed.lease_until
