"""Declaring an incident with its Slack side: the incident, and a ``declaration`` task written
in the same transaction that opens its channel, posts and pins its card, records both and
tells the declarer.

``declare`` is the one way to declare from Slack (commands, the form, and anything else that
opens incidents, such as alerts): the incident and the promise of its channel commit
together. The process that declared does the task at once, after its answer (``run``); if
it dies first, or Slack fails, a worker resumes it. Each step looks for what an earlier
attempt made before making it (the channel recorded or found by its name, the card by its
metadata), so a channel is made once and nobody who was told "declared" is left without
the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlmodel import Session

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service
from bot.incidents.views import IncidentView
from bot.slack import answering, blocks
from bot.slack.blocks import Message
from bot.slack.channels import SLACK_FAILURES, why
from bot.slack.delivery import Posted, retry_at
from bot.slack.mrkdwn import escape
from bot.tasks.registry import Done, Failed, Retry, TaskRun, handles
from config.settings import Settings
from storage.models import Incident

log = logging.getLogger(__name__)

KIND = "declaration"
CARD_EVENT = "slabot_card"
"""The metadata the card is posted with (the task's key), to find it after a crash."""


@dataclass(frozen=True)
class Declared:
    view: IncidentView
    task_id: int | None
    """The ``declaration`` task that opens its Slack side (``run``)."""
    runner: str
    """The claimant id under which this process does the task (``run``): run by it, the
    task leaves telling the declarer to this process's answer unless that has said
    "working on it" already (``_tell``)."""


def task_key(incident_id: int) -> str:
    return f"{KIND}:{incident_id}"


def declare(
    ctx: Context,
    *,
    title: str,
    severity: int,
    actor: str,
    customers: Sequence[str] = (),
    outage: bool = False,
    started_at: dt.datetime | None = None,
    impact_pct: float | None = None,
    origin_channel: str | None = None,
    response_url: str | None = None,
    notice_channel: str | None = None,
    source: str = "slack",
    tell: bool = True,
    also: Callable[[Session, Incident], None] | None = None,
) -> Declared:
    """Declare an incident (``service.declare``) and, in its transaction, the task that opens
    its channel and card. The declarer is told the outcome at ``response_url`` (a command's),
    else in ``notice_channel`` (where a form was opened), else in a direct message; nobody
    when ``tell`` is false (a declarer that is not a person: an alert).

    Then ``run`` does the task in this process, or, not called, a worker does it. ``also``
    writes more in the same transaction (an alert's keys claimed: ``bot.alerts.service``)."""
    from bot.tasks import service as tasks

    scheduled: dict[str, int | None] = {}
    runner = tasks.process_id()

    def slack_side(session: Session, incident: Incident) -> None:
        if also is not None:  # e.g. an alert's keys claimed (bot/alerts/service.py)
            also(session, incident)
        payload = {
            "ref": incident.ref, "declarer": actor, "origin": origin_channel,
            "response_url": response_url, "notice_channel": notice_channel, "answers": runner,
            "tell": tell,
        }  # fmt: skip
        scheduled["task"] = tasks.schedule(
            session, KIND, task_key(incident.id), payload, due_at=incident.declared_at,
            incident_id=incident.id,
        )  # fmt: skip

    view = service.declare(
        ctx, title=title, severity=severity, actor=actor, customers=customers, outage=outage,
        started_at=started_at, impact_pct=impact_pct, channel_id=origin_channel, source=source,
        also=slack_side,
    )  # fmt: skip
    return Declared(view, scheduled.get("task"), runner)


def run(
    ctx: Context, client: WebClient, settings: Settings, declared: Declared
) -> tuple[IncidentView, Done | Retry | Failed | None]:
    """Do the declaration's Slack side in this process now; the incident as it then is, and
    how it went (``None``: a worker has it). What is not finished here (Slack down, this
    process killed) a worker resumes, and then tells the declarer itself."""
    from bot.tasks.service import TaskRunner

    outcome = None
    if declared.task_id is not None:
        runner = TaskRunner(ctx, client, settings, worker_id=declared.runner)
        outcome = runner.run_now(declared.task_id)
    try:
        return service.get(ctx, declared.view.ref), outcome
    except Refusal:
        return declared.view, outcome


def outcome_message(view: IncidentView, outcome: Done | Retry | Failed | None) -> Message:
    """What the declarer is told: where the incident is, or why its channel is not there yet."""
    ref = escape(view.ref)
    if isinstance(outcome, Done) and view.channel_id:
        if view.channel_id == view.origin_channel_id:
            return blocks.reply(f"Declared {ref}; its card is pinned here.")
        return blocks.declared_notice(view)
    if isinstance(outcome, Failed):
        return blocks.reply(
            f"🚨 {ref} is declared and its clocks are running, but Slack refused its channel "
            f"({escape(outcome.reason)}). Use `/incident status {view.ref}` from here meanwhile."
        )
    return blocks.reply(
        f"🚨 {ref} declared (Sev {view.severity}): {escape(view.title)} — its clocks are "
        "running; Slack is slow to answer, so its channel and card follow (you will be told)."
    )


@handles(KIND)
def open_slack_side(run: TaskRun) -> Done | Retry | Failed:
    """Channel, card, record, invitation and pin, then the declarer told. Repeatable: an
    earlier attempt's channel and card are found (recorded, or by name and metadata)."""
    ref, key = run.payload["ref"], run.task.dedupe_key
    try:
        view = service.get(run.ctx, ref)
    except Refusal as refusal:
        return Failed(str(refusal))
    earlier = run.task.attempts > 1  # a process may have died inside an earlier attempt
    try:
        channel = _channel(run, view, earlier)
        card_ts = view.card_ts or (_card_made(run, channel, key) if earlier else None)
        if card_ts is None:
            card = blocks.incident_card(replace(view, channel_id=channel), run.ctx.contracts)
            metadata = {"event_type": CARD_EVENT, "event_payload": {"key": key}}
            card_ts = run.channels.post(channel, card, metadata=metadata)
        if card_ts != view.card_ts:
            service.set_slack_card(run.ctx, ref, channel_id=channel, card_ts=card_ts)
    except SLACK_FAILURES as exc:
        outcome = run.delivery.failure(exc)
        if (
            isinstance(outcome, Retry)
            and retry_at(outcome, run.task.attempts, run.ctx.clock.now()) is None
        ):
            outcome = Failed(f"{why(exc)}, after {run.task.attempts} attempts")  # the last one
        elif isinstance(outcome, Failed):
            outcome = Failed(why(exc))
        if isinstance(outcome, Failed):
            log.warning("declared %s but could not open its channel: %s", ref, outcome.reason)
            _tell(run, view, outcome_message(view, outcome), earlier)
        return outcome
    view = replace(view, channel_id=channel, card_ts=card_ts)
    run.channels.settle(view, channel, card_ts or "", run.payload["declarer"])
    done = Done({"channel": channel, "card_ts": card_ts})
    _tell(
        run,
        view,
        outcome_message(view, done),
        earlier,
        in_channel=channel != view.origin_channel_id,
    )
    return done


def _channel(run: TaskRun, view: IncidentView, earlier: bool) -> str:
    """The incident's channel: the one it was declared in (``current``), the one recorded,
    one an earlier attempt made, or a new one — recorded at once."""
    origin = view.origin_channel_id
    if run.settings.incident_channels == "current" and origin:
        run.channels.join(origin)
        return origin
    if view.channel_id and view.channel_id != origin:
        return view.channel_id
    channel = (_channel_made(run, view) if earlier else None) or run.channels.create(view)
    service.set_slack_card(run.ctx, view.ref, channel_id=channel, card_ts=None)
    return channel


def _channel_made(run: TaskRun, view: IncidentView) -> str | None:
    """A channel an earlier attempt made for this incident but did not record: one of its
    names, made by slabot, that no other incident has."""
    names = run.channels.candidate_names(view)
    me = run.client.auth_test().get("user_id")
    found: dict[str, str] = {}
    cursor = None
    while True:
        page = run.client.conversations_list(
            types="public_channel", exclude_archived=True, limit=1000,
            **({"cursor": cursor} if cursor else {}),
        )  # fmt: skip
        for c in page.get("channels", []):
            if c.get("name") in names and c.get("creator") == me:
                found[c["name"]] = c["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return service.first_unused_channel(run.ctx, [found[n] for n in names if n in found])


def _card_made(run: TaskRun, channel: str, key: str) -> str | None:
    """The card an earlier attempt posted (its metadata holds the task's key)."""
    history = run.client.conversations_history(
        channel=channel, limit=100, include_all_metadata=True
    )
    for message in history.get("messages", []):
        if ((message.get("metadata") or {}).get("event_payload") or {}).get("key") == key:
            return message.get("ts")
    return None


def _tell(
    run: TaskRun, view: IncidentView, message: Message, earlier: bool, *, in_channel: bool = True
) -> None:
    """Tell the declarer the outcome: in place of the command's answer (its response URL),
    else in the channel the form came from, else in a direct message. Once: a repeat
    replaces the same answer, or finds its post by its metadata.

    Done by the process that declared it (``Declared.runner``), the task tells the person
    only when that process's acknowledgement has already said "working on it"
    (``bot.slack.answering``): then before the task is marked done, so a kill between the
    two leaves the telling to the worker that resumes it; else the acknowledgement says it."""
    payload = run.payload
    if not payload.get("tell", True):
        return
    if run.worker_id == payload.get("answers"):  # done by the process that declared it
        state = answering.current.get()
        if state is None or not state.tell_here():
            return  # its answer says it
    if payload.get("response_url"):
        kind = "in_channel" if in_channel else "ephemeral"
        try:
            sent = WebhookClient(payload["response_url"], timeout=run.client.timeout).send(
                **message.as_kwargs(), response_type=kind, replace_original=True
            )
            if sent.status_code >= 300:
                log.warning("could not tell %s of %s: %s", payload["declarer"], view.ref, sent.body)
        except OSError as exc:
            log.warning("could not tell %s of %s: %s", payload["declarer"], view.ref, exc)
        return
    where = payload.get("notice_channel")
    try:
        if not where:
            where = run.client.conversations_open(users=payload["declarer"])["channel"]["id"]
        outcome = run.delivery.deliver(
            where, message, f"{run.task.dedupe_key}:told", check_first=earlier,
            since=view.declared_at,
        )  # fmt: skip
    except SLACK_FAILURES as exc:
        log.warning("could not tell %s of %s: %s", payload["declarer"], view.ref, why(exc))
        return
    if not isinstance(outcome, Posted):
        log.warning("could not tell %s of %s: %s", payload["declarer"], view.ref, outcome)
