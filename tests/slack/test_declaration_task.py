"""A declaration's Slack side is a task written with the incident: a process that dies inside
it leaves it to a worker, which finds what the dead one made (the channel by its name, the
card by its metadata), makes the rest once, and tells the declarer the outcome."""

from __future__ import annotations

import datetime as dt

from bot.incidents import service
from bot.slack import answering, declaration
from bot.slack.app import make_client
from bot.slack.loopback import RESPONSE_URL
from bot.tasks.service import TaskRunner
from storage import tasks as stored
from storage.models import OutboxStatus, Task
from tests.slack.conftest import make_settings

LEASE = dt.timedelta(seconds=60)
LATER = dt.timedelta(seconds=61)
"""Past the dead process's lease (60 s): its claim may be taken over."""


def declared(ctx, slack, **kwargs) -> tuple[declaration.Declared, str]:
    """A declaration as the web process writes it, its task not yet done; its response URL."""
    url = slack.response_url()
    made = declaration.declare(
        ctx, title="Checkout down", severity=1, actor="U1", origin_channel="C0GENERAL",
        response_url=url, **kwargs,
    )  # fmt: skip
    return made, url


def runner(ctx, settings, name: str) -> TaskRunner:
    return TaskRunner(ctx, make_client(settings), settings, worker_id=name)


def claimed_by_the_dead(ctx, settings, made) -> None:
    """The web process claimed the task, then died (its claim stands until its lease ends)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        assert stored.claim_one(session, made.task_id, made.runner, now, lease=LEASE)


def test_the_task_is_written_with_the_incident(ctx, slack):
    made, _ = declared(ctx, slack)
    with ctx.db.read() as session:
        task = session.get(Task, made.task_id)
    assert (task.kind, task.dedupe_key) == ("declaration", f"declaration:{task.incident_id}")
    assert task.payload["ref"] == "INC-1" and task.status == OutboxStatus.PENDING
    assert slack.calls_to("conversations.create") == []


def test_a_channel_made_before_the_crash_is_found_and_the_declarer_told(ctx, slack, clock):
    settings = make_settings(slack)
    made, url = declared(ctx, slack)
    claimed_by_the_dead(ctx, settings, made)
    # The dead process made the channel; it died before recording it.
    client = make_client(settings)
    name = "inc-20261120-checkout-down"
    orphan = client.conversations_create(name=name)["channel"]["id"]
    clock.advance(LATER)
    worker = runner(ctx, settings, "worker-1")
    (task,) = worker.claim(10)
    worker.perform(task)
    assert len(slack.calls_to("conversations.create")) == 1  # the dead one's, no other
    view = service.get(ctx, "INC-1")
    assert view.channel_id == orphan and view.card_ts
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [orphan]
    told = slack.wait_for(RESPONSE_URL)[0]
    assert told.target == url.rsplit("/", 1)[1]
    assert told.params["text"] == f"🚨 INC-1 declared (Sev 1): Checkout down → <#{orphan}>"
    assert told.params["replace_original"] is True
    assert slack.pins(orphan) == [view.card_ts]


def test_a_card_posted_before_the_crash_is_found_not_posted_again(ctx, slack, clock):
    settings = make_settings(slack)
    made, _ = declared(ctx, slack)
    claimed_by_the_dead(ctx, settings, made)
    client = make_client(settings)
    channel = client.conversations_create(name="inc-20261120-checkout-down")["channel"]["id"]
    service.set_slack_card(ctx, "INC-1", channel_id=channel, card_ts=None)  # recorded
    key = {"event_type": declaration.CARD_EVENT, "event_payload": {"key": "declaration:1"}}
    card = client.chat_postMessage(channel=channel, text="card", metadata=key)["ts"]
    clock.advance(LATER)
    worker = runner(ctx, settings, "worker-1")
    (task,) = worker.claim(10)
    worker.perform(task)
    assert len(slack.calls_to("chat.postMessage")) == 1  # the dead one's card only
    assert service.get(ctx, "INC-1").card_ts == card
    assert slack.wait_for(RESPONSE_URL)


def test_a_channel_of_the_same_name_another_incident_has_is_not_taken(ctx, slack, clock):
    settings = make_settings(slack)
    first, _ = declared(ctx, slack)
    declaration.run(ctx, make_client(settings), settings, first)
    taken = service.get(ctx, "INC-1").channel_id
    made, _ = declared(ctx, slack)
    claimed_by_the_dead(ctx, settings, made)
    clock.advance(LATER)
    worker = runner(ctx, settings, "worker-1")
    (task,) = worker.claim(10)
    worker.perform(task)
    second = service.get(ctx, "INC-2").channel_id
    assert second not in (taken, "C0GENERAL")
    assert slack.channel(second)["name"] == "inc-20261120-checkout-down-2"


def test_the_declaring_process_tells_nobody_while_its_answer_can_still_say_it(ctx, slack):
    """Within the ack budget the acknowledgement carries the outcome: a message at the
    response URL before it would be a second one."""
    settings = make_settings(slack)
    made, _ = declared(ctx, slack)
    waiting = answering.Answer()  # the acknowledgement has not gone out
    token = answering.current.set(waiting)
    try:
        view, outcome = declaration.run(ctx, make_client(settings), settings, made)
    finally:
        answering.current.reset(token)
    assert outcome is not None and view.channel_id and view.card_ts
    assert slack.calls_to(RESPONSE_URL) == [] and not waiting.told


def test_after_working_on_it_the_task_tells_before_it_is_marked_done(ctx, slack):
    """The acknowledgement said "working on it": the task replaces it with the outcome
    itself, before it is marked done (a kill in between leaves the telling to the worker),
    and the answer that would have followed is not sent."""
    settings = make_settings(slack)
    made, url = declared(ctx, slack)
    late = answering.Answer()
    late.give_up()
    token = answering.current.set(late)
    try:
        view, outcome = declaration.run(ctx, make_client(settings), settings, made)
    finally:
        answering.current.reset(token)
    (told,) = slack.wait_for(RESPONSE_URL)
    assert told.target == url.rsplit("/", 1)[1] and told.params["replace_original"] is True
    assert told.params["text"] == declaration.outcome_message(view, outcome).text
    assert late.told


def test_a_forms_outcome_is_left_to_the_process_that_declared_it(ctx, slack):
    settings = make_settings(slack)
    made = declaration.declare(
        ctx, title="Checkout down", severity=1, actor="U1", origin_channel="C0GENERAL",
        notice_channel="C0GENERAL",
    )  # fmt: skip
    view, _ = declaration.run(ctx, make_client(settings), settings, made)
    posted = [c.params["channel"] for c in slack.calls_to("chat.postMessage")]
    assert posted == [view.channel_id]  # the card; the notice is the form's listener's


def test_a_declaration_left_to_the_worker_tells_nobody_when_asked_not_to(ctx, slack):
    """An alert declares without a person to tell: the worker opens the channel and card."""
    settings = make_settings(slack)
    made = declaration.declare(
        ctx, title="Disk full", severity=2, actor="alertmanager", source="alert", tell=False
    )
    worker = runner(ctx, settings, "worker-1")
    (task,) = worker.claim(10)
    worker.perform(task)
    view = service.get(ctx, made.view.ref)
    assert view.channel_id and view.card_ts
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [view.channel_id]
    assert slack.calls_to("conversations.open") == [] and slack.calls_to(RESPONSE_URL) == []


def test_the_last_attempt_slack_does_not_answer_tells_the_declarer_why(ctx, slack):
    """Slack down for every attempt: the task fails visibly, and whoever was told the
    channel would follow is told it did not."""
    from bot.slack.delivery import MAX_ATTEMPTS
    from bot.slack.loopback import Reply

    settings = make_settings(slack)
    made, _ = declared(ctx, slack)
    slack.fail_always("conversations.create", Reply(status=503))
    with ctx.db.transaction() as session:  # the attempts before the last
        session.get(Task, made.task_id).attempts = MAX_ATTEMPTS - 1
    worker = runner(ctx, settings, "worker-1")
    (task,) = worker.claim(10)
    worker.perform(task)
    with ctx.db.read() as session:
        assert session.get(Task, made.task_id).status == OutboxStatus.FAILED
    told = slack.wait_for(RESPONSE_URL)[0].params["text"]
    assert "INC-1 is declared and its clocks are running, but Slack refused its channel" in told
    assert f"after {MAX_ATTEMPTS} attempts" in told
