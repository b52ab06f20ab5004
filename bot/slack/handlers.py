"""What the Slack edge does for each command, button and form: authorize, call one service,
update the incident's channel and card, and say what happened.

Slash commands, buttons and modal submissions all end here, so ``/incident ack`` and the
Acknowledge button are one code path. Every function returns a ``Reply``; a ``Refusal``
from a service becomes a clear ephemeral answer and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import web
from bot.context import Context
from bot.errors import Refusal
from bot.incidents import archive, corrections, service
from bot.incidents.corrections import Correction
from bot.incidents.postmortem import request_draft
from bot.incidents.record import incident_record
from bot.incidents.render import RELEVANT
from bot.incidents.views import TIMER_WORDS, IncidentView
from bot.maintenance import service as windows
from bot.paging import service as paging
from bot.parse import parse_ahead, parse_when
from bot.reminders import service as reminders
from bot.reports import service as reports
from bot.reports import statement as statements
from bot.sla.credits import period_name
from bot.sla.timers import TimerKind, TimerState
from bot.slack import answering, blocks, declaration, mrkdwn
from bot.slack.authz import (
    NOT_A_MANAGER,
    NOT_A_RESPONDER,
    NOT_AN_ADMIN,
    NOT_AN_ADMIN_TO_CHANGE,
    Permissions,
)
from bot.slack.blocks import Message
from bot.slack.channels import SLACK_FAILURES, IncidentChannels, why
from bot.slack.delivery import Failed
from bot.slack.grammar import (
    INCIDENT_USAGE,
    REPORT_USAGE,
    SLA_USAGE,
    STATEMENT_USAGE,
    Change,
    Correct,
    Customers,
    Declare,
    IncidentHelp,
    IncidentVerb,
    ListIncidents,
    Maintenance,
    MaintenanceCancel,
    MaintenanceList,
    MaintenanceMove,
    Policies,
    SlaCommand,
    SlaHelp,
    Status,
    Timeline,
)
from bot.slack.grammar import Report as ReportCommand
from bot.slack.grammar import Statement as StatementCommand
from bot.slack.mrkdwn import escape
from bot.slack.people import Directory
from bot.statements import filename as statement_filename
from bot.statements import render as render_statement
from bot.statements.pdf import find_chromium
from bot.tasks.registry import Done
from bot.tasks.service import run_now as run_task
from bot.text import describe_policy, format_span, format_window, plural
from config.settings import Settings
from storage import queries
from storage.db import unavailable

log = logging.getLogger(__name__)

REQUEST_MEMORY = dt.timedelta(days=1)
"""How long a processed Slack request id is remembered (Slack retries for minutes)."""


def request_key(kind: str, request_id: str | None) -> str | None:
    """The key under which a Slack request is processed once (``Edge.first_time``): its kind
    and Slack's id for it (a command's or a click's trigger, a form's view, an event).

    ``None`` when Slack sent no id: that request is processed, not deduplicated, rather than
    every request without one sharing a single key (and all but the first being dropped)."""
    return f"{kind}:{request_id}" if request_id else None


@dataclass(frozen=True)
class Reply:
    message: Message
    in_channel: bool = False
    refused: bool = False
    reason: str = ""
    """A refusal's reason as plain text (a form shows it beside the field, unescaped)."""
    field: str | None = None
    """The fact a refusal is about (``Refusal.field``): the form field to show it beside."""

    def payload(self) -> dict[str, Any]:
        return {
            **self.message.as_kwargs(),
            "response_type": "in_channel" if self.in_channel else "ephemeral",
        }


ALREADY_HANDLED = Reply(blocks.reply("(already handled)"))
"""The answer to a retry or a repeat of a request already processed."""


def refused(text: str, field: str | None = None) -> Reply:
    return Reply(blocks.refusal(escape(text)), refused=True, reason=text, field=field)


@dataclass(eq=False)
class Edge:
    """Everything the listeners need, made once per app.

    ``executor`` runs what listeners do after their ack (``after``). Besides these fields an
    edge keeps state of its own, not constructor parameters: when it last forgot old request
    ids, and the work in flight (``wait_idle``)."""

    ctx: Context
    settings: Settings
    client: WebClient
    directory: Directory
    permissions: Permissions
    channels: IncidentChannels
    executor: Executor
    ack_budget: float = 2.0
    answers: Executor | None = None
    """Threads for the work an answer waits on (``answer``); the follow-ups' when not given."""
    reads: Executor | None = None
    """Threads for the work of reading commands (``answer(read=True)``); ``answers`` when not
    given."""
    _pruned_at: dt.datetime | None = field(default=None, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)
    _quiet: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)

    def __post_init__(self) -> None:
        self.answers = self.answers or self.executor
        self.reads = self.reads or self.answers

    def first_time(self, key: str | None) -> bool:
        """Record a Slack request id; ``False`` for a retry or a repeat already processed.

        Ids older than ``REQUEST_MEMORY`` are dropped, at most once an hour per process:
        Slack retries within minutes, and the table stays small."""
        if not key:
            return True
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            if self._pruned_at is None or now - self._pruned_at >= dt.timedelta(hours=1):
                self._pruned_at = now
                queries.forget_requests_before(session, now - REQUEST_MEMORY)
            return queries.claim_request(session, key, now)

    def forget(self, key: str | None) -> None:
        """Let a request id be processed again (its first processing was refused)."""
        if key:
            with self.ctx.db.transaction() as session:
                queries.release_request(session, key)

    def after(self, job: Callable[[], None], *, pool: Executor | None = None) -> None:
        """Run ``job`` on the edge's threads (``pool``: the answers' or the reads'; by default
        the follow-ups'), counted until it is done (see ``wait_idle``): what a listener does
        after its ack, since Slack waits for no more than the ack."""

        def counted() -> None:
            try:
                job()
            except Exception:
                log.exception("work after the ack failed")
            finally:
                with self._quiet:
                    self._in_flight -= 1
                    self._quiet.notify_all()

        with self._quiet:
            self._in_flight += 1
        (pool or self.executor).submit(counted)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no work is in flight (a graceful stop; tests before they empty the
        database); ``False`` if some is still running after ``timeout`` seconds."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._in_flight == 0, timeout)

    def answer(
        self,
        work: Callable[[], Reply],
        deliver_now: Callable[[Reply], None],
        deliver_later: Callable[[Reply], None],
        *,
        read: bool = False,
    ) -> None:
        """Run ``work``; answer with its reply if it is done within the ack budget, else answer
        "working on it" at once and deliver the reply when it is ready. Slack gets its ack in
        time even when the database or Slack is slow.

        The budget counts from the request's arrival (``web.arrived``; now, when it is not
        known), so time spent waiting for a thread counts too. ``work`` runs on the answers'
        threads — a ``read`` (it changes nothing) on threads of its own, so a list or a
        status is never queued behind changes waiting for a lock or for Slack — and neither
        waits for what listeners do after their ack (``after``)."""
        ready = threading.Condition()
        outcome: dict[str, Reply | bool] = {}
        state = answering.Answer()

        def job() -> None:
            token = answering.current.set(state)
            try:
                reply = safely(work)
            finally:
                answering.current.reset(token)
            with ready:
                if not outcome.get("gave_up"):
                    outcome["reply"] = reply
                    ready.notify_all()
                    return
            if not state.told:  # the work told them itself (``answering``)
                deliver_later(reply)  # the answer already said "working on it"

        self.after(job, pool=self.reads if read else self.answers)
        arrived = web.arrived.get()
        left = self.ack_budget if arrived is None else arrived + self.ack_budget - time.monotonic()
        with ready:
            ready.wait_for(lambda: "reply" in outcome, max(0.0, left))
            reply = outcome.get("reply")
            if reply is None:
                outcome["gave_up"] = True
                state.give_up()
        if isinstance(reply, Reply):
            deliver_now(reply)
            return
        deliver_now(
            Reply(
                blocks.reply(
                    "⏳ Working on it — this is taking longer than usual; the answer will follow here."
                )
            )
        )


def safely(work: Callable[[], Reply]) -> Reply:
    try:
        return work()
    except Refusal as refusal:
        return refused(str(refusal), refusal.field)
    except SlackApiError as exc:
        log.exception("Slack refused a call")
        return refused(
            f"Slack refused a call ({exc.response.get('error')}); nothing more was done. Try again, or tell your slabot admin."
        )
    except Exception as exc:
        if unavailable(exc):
            log.warning("the database did not answer (%s)", type(exc).__name__, exc_info=True)
            return refused(DATABASE_DOWN)
        log.exception("command failed")
        return refused(
            "something went wrong on slabot's side; the error is in its log. Try again in a moment."
        )


DATABASE_DOWN = (
    "slabot's database did not answer just now (it may be restarting). Try again in a "
    "moment; `/incident list` shows what was recorded."
)


# --- /incident ---------------------------------------------------------------------------


def declare(
    edge: Edge,
    user: str,
    origin_channel: str | None,
    command: Declare,
    *,
    response_url: str | None = None,
    notice_channel: str | None = None,
) -> Reply:
    """Declare, then open its channel and card: the declaration's task
    (``bot.slack.declaration``), written with the incident and done here at once. When this
    takes longer than the ack budget the answer says "working on it" and follows; if this
    process dies first, a worker finishes the task and tells the declarer at
    ``response_url`` (a command's), else in ``notice_channel`` (a form's), else by DM."""
    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    started = None
    if command.started:
        try:
            started = parse_when(command.started, edge.ctx.clock.now(), edge.directory.zone(user))
        except ValueError as exc:
            return refused(f"started: {exc}")
    severity = service.severity_level(edge.ctx, command.severity, customers=command.customers)
    declared = declaration.declare(
        edge.ctx, title=command.title, severity=severity, actor=user,
        customers=command.customers, outage=command.outage, started_at=started,
        origin_channel=origin_channel, response_url=response_url, notice_channel=notice_channel,
    )  # fmt: skip
    view, outcome = declaration.run(edge.ctx, edge.client, edge.settings, declared)
    message = declaration.outcome_message(view, outcome)
    here = isinstance(outcome, Done) and view.channel_id == origin_channel
    return Reply(message, in_channel=not here)


def declare_alert(edge: Edge, user: str, value: str, response_url: str | None) -> Reply:
    """The "Declare" button of an alert's question: declare what it proposed, with the
    alert's start; the outcome replaces the question (its response URL)."""
    from bot.alerts import service as alerts

    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    if not value.isascii() or not value.isdigit():
        return refused("this button names no alert slabot knows; nothing was declared")
    declared = alerts.declare_proposal(
        edge.ctx, int(value), user,
        lambda **fields: declaration.declare(edge.ctx, **fields, response_url=response_url),
    )  # fmt: skip
    view, outcome = declaration.run(edge.ctx, edge.client, edge.settings, declared)
    return Reply(declaration.outcome_message(view, outcome), in_channel=True)


def locate(edge: Edge, channel: str | None, ref: str | None) -> str:
    """The reference of the incident a command is about: the one named, else this channel's
    open one (its newest resolved one when none is open). Several open here are listed,
    asking which: the newest is not necessarily the one meant."""
    if ref:
        return ref
    here = service.refs_in_channel(edge.ctx, channel) if channel else []
    if len(here) == 1:
        return here[0][0]
    if here:
        names = "; ".join(f"{r} ({t})" for r, t in here)
        raise Refusal(
            f"{len(here)} incidents are open in this channel{'' if len(here) < 10 else ' (the newest 10)'}: "
            f"{names}. Say which: `/incident <command> {here[0][0]}`, e.g. `/incident ack {here[0][0]}`"
        )
    open_ones = service.list_incidents(edge.ctx, open_only=True, limit=10)
    if not open_ones:
        raise Refusal(
            "this channel has no incident, and none is open. Declare one: `/incident declare <sev> <title>`"
        )
    names = "; ".join(f"{v.ref} ({v.title})" for v in open_ones)
    raise Refusal(
        f"this channel has no incident. Open incidents: {names}. Run the command in the "
        f"incident's channel, or name it, e.g. `/incident ack {open_ones[0].ref}`"
    )


def incident(
    edge: Edge,
    user: str,
    channel: str | None,
    command: Declare | Change | Correct | Status | Timeline | ListIncidents | IncidentHelp,
    *,
    response_url: str | None = None,
) -> Reply:
    """One ``/incident`` command, from ``channel`` (whose incident it acts on unless it names
    one). The bare command (``OpenDeclareForm``) is the listener's: opening a form needs the
    request's trigger."""
    match command:
        case Declare():
            return declare(edge, user, channel, command, response_url=response_url)
        case Change(verb=verb, ref=ref, text=text, severity=severity, at=at):
            ref = locate(edge, channel, ref)
            return change(edge, user, ref, verb, text=text, severity=severity, at=at)
        case Correct(ref=ref):
            return correction_command(edge, user, locate(edge, channel, ref), command)
        case Status(ref=ref):
            view = service.get(edge.ctx, locate(edge, channel, ref))
            return Reply(blocks.incident_card(view, edge.ctx.contracts))
        case Timeline(ref=ref, page=page):
            return timeline(edge, user, locate(edge, channel, ref), page)
        case ListIncidents():
            total = service.count_incidents(edge.ctx, open_only=True)
            views = service.list_incidents(edge.ctx, open_only=True, limit=blocks.LIST_LIMIT)
            heading = f"*{plural(total, 'open incident')}*"
            return Reply(blocks.incident_list(views, heading, total=total))
        case IncidentHelp():
            return Reply(blocks.usage(INCIDENT_USAGE))
    assert_never(command)


def timeline(edge: Edge, user: str, ref: str, page: int | None) -> Reply:
    """A page of the incident's timeline for ``user`` alone, in their Slack zone (``None``:
    the newest page). Anyone who may run ``/incident status`` may read it
    (docs/decisions.md)."""
    record = incident_record(edge.ctx, ref)
    pages = blocks.timeline_pages(len(record.timeline))
    if page is not None and page > pages:
        raise Refusal(
            f"{record.incident.ref}'s timeline has {plural(pages, 'page')}; "
            f"ask for one of them, e.g. `/incident timeline {record.incident.ref} page {pages}`"
        )
    return Reply(blocks.timeline_page(record, page or pages, edge.directory.zone(user)))


def postmortem(edge: Edge, user: str, ref: str, request: str) -> Reply:
    """The card's "Postmortem draft" (a resolved incident, by a responder): answered at once;
    the Markdown file is a task, posted in the incident channel right after the ack, or by
    a worker if this process cannot (``bot.slack.postmortem``)."""
    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    asked = request_draft(edge.ctx, ref, user, request)
    if asked.task_id is not None:
        task_id = asked.task_id
        edge.after(lambda: _post_draft(edge, user, asked.ref, task_id))
    return Reply(
        blocks.reply(
            f"📝 Drafting the post-incident review of {asked.ref}; it will be posted in "
            f"{mrkdwn.channel(asked.channel)} as a Markdown file."
        )
    )


def _post_draft(edge: Edge, user: str, ref: str, task_id: int) -> None:
    """Do the draft's task now; if Slack refused it, tell the person (a retry is the worker's)."""
    outcome = run_task(edge.ctx, edge.client, edge.settings, task_id)
    if isinstance(outcome, Failed):
        _direct_message(
            edge, user,
            f"⚠️ The draft of {ref} was not posted ({escape(outcome.reason)}); "
            f"`slabot incidents postmortem {ref}` writes the same file.",
        )  # fmt: skip


def change(
    edge: Edge,
    user: str,
    ref: str,
    verb: IncidentVerb,
    *,
    text: str = "",
    severity: int | str | None = None,
    at: str | None = None,
) -> Reply:
    """Apply one change to an incident, then tell its channel and refresh its card.

    Only a responder may change an incident; anyone else is refused before anything is read.
    ``at``: when an acknowledgement, restore or resolution happened (a time as typed); one
    already recorded is corrected to it (``correct``)."""
    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    ctx = edge.ctx
    if at is not None:
        return _happened_at(edge, user, ref, verb, at, summary=text)
    match verb:
        case IncidentVerb.ACK:
            view = service.acknowledge(ctx, ref, user)
            response = view.timers.get(TimerKind.RESPONSE)
            done = "Acknowledged" + (f" — response {response.state.value}" if response else "")
            _post(edge, view, blocks.change_post(view, user, "acknowledged the incident"))
        case IncidentVerb.UPDATE:
            view = service.post_update(ctx, ref, text, user)
            _post(edge, view, blocks.update_post(view, user, text))
            done = "Update posted"
        case IncidentVerb.SEVERITY:
            before = service.get(ctx, ref).severity
            level = service.severity_level(ctx, severity if severity is not None else "", ref=ref)
            view = service.change_severity(ctx, ref, level, user)
            what = (
                f"changed the severity {before} → *{view.severity}*; "
                "deadlines recomputed from the start"
            )
            _post(edge, view, blocks.change_post(view, user, what))
            done = f"Severity is now {view.severity}"
        case IncidentVerb.PAUSE:
            view = service.pause(ctx, ref, text, user)
            what = f"*paused* the clocks: {escape(text)}"
            _post(edge, view, blocks.change_post(view, user, what))
            done = "Paused; no reminders until `/incident resume`"
        case IncidentVerb.RESUME:
            view = service.resume(ctx, ref, user)
            _post(edge, view, blocks.change_post(view, user, "*resumed* the clocks"))
            done = "Resumed; deadlines moved by the paused time"
        case IncidentVerb.RESTORE:
            view = service.restore(ctx, ref, user)
            restore = view.timers.get(TimerKind.RESTORE)
            done = "Service restored" + (
                f" — restore target {restore.state.value}" if restore else ""
            )
            _post(edge, view, blocks.change_post(view, user, "marked service *restored*"))
        case IncidentVerb.RESOLVE:
            view = service.resolve(
                ctx, ref, user, summary=text or None,
                archive_after=edge.settings.archive_channels_after,
            )  # fmt: skip
            summary = f": {escape(text)}" if text else ""
            archiving = _archiving(edge, view, user)
            _post(
                edge,
                view,
                blocks.change_post(view, user, f"*resolved* {view.ref}{summary}{archiving}"),
            )
            done = "Resolved" + archiving.replace("*", "")
        case _:
            raise Refusal(f"`{verb}` is not an incident change")
    edge.channels.refresh_card(view)
    return Reply(blocks.reply(f"✅ {done} ({escape(view.ref)})."))


def _archiving(edge: Edge, view: IncidentView, user: str) -> str:
    """``. This channel will be archived …`` when the resolution scheduled that."""
    due = archive.due(edge.ctx, view.ref)
    if due is None:
        return ""
    return (
        f". This channel will be archived {mrkdwn.due(due, edge.directory.zone(user))} "
        f"(SLABOT_ARCHIVE_AFTER={escape(edge.settings.archive_after)}); reopening the incident "
        "keeps it"
    )


# --- corrections -----------------------------------------------------------------------

_FIELDS = {
    IncidentVerb.ACK: ("acknowledged_at", "acknowledged"),
    IncidentVerb.RESTORE: ("restored_at", "marked service *restored*"),
    IncidentVerb.RESOLVE: ("resolved_at", "*resolved* the incident"),
}


def _timers_moved_by(fact: str) -> tuple[TimerKind, ...]:
    """The timers a fact feeds (``render.RELEVANT``): a correction says how they stand
    afterwards."""
    return tuple(kind for kind, facts in RELEVANT.items() if fact in facts)


def when_typed(edge: Edge, user: str, text: str, field: str) -> dt.datetime:
    """A time a person typed, in their own Slack zone (``bot.parse.parse_when``)."""
    try:
        return parse_when(text, edge.ctx.clock.now(), edge.directory.zone(user))
    except ValueError as exc:
        raise Refusal(f"{corrections.LABELS[field]}: {exc}", field=field) from None


def _happened_at(
    edge: Edge, user: str, ref: str, verb: IncidentVerb, at_text: str, *, summary: str = ""
) -> Reply:
    """``ack|restore|resolve at <when>``: recorded at that time, or, when already recorded,
    corrected to it."""
    field, did = _FIELDS[verb]
    at = when_typed(edge, user, at_text, field)
    current = service.get(edge.ctx, ref)
    if getattr(current, field) is not None:
        if summary:
            raise Refusal(
                f"{current.ref} is already resolved; `resolve at <when>` corrects its time "
                "only: leave the summary out"
            )
        return correct(edge, user, ref, Correction(**{field: at}))
    ctx, zone = edge.ctx, edge.directory.zone(user)
    match verb:
        case IncidentVerb.ACK:
            view = service.acknowledge(ctx, ref, user, at=at)
        case IncidentVerb.RESTORE:
            view = service.restore(ctx, ref, user, at=at)
        case _:
            view = service.resolve(
                ctx, ref, user, summary=summary or None, at=at,
                archive_after=edge.settings.archive_channels_after,
            )  # fmt: skip
    summary_text = f": {escape(summary)}" if summary else ""
    if verb is IncidentVerb.RESOLVE:
        summary_text += _archiving(edge, view, user)
    _post(
        edge,
        view,
        blocks.change_post(view, user, f"{did} (at {mrkdwn.date(at, zone)}){summary_text}"),
    )
    edge.channels.refresh_card(view)
    timers = _verdicts(view, _timers_moved_by(field), zone)
    return Reply(blocks.reply(
        f"✅ {did.replace('*', '').capitalize()} at {mrkdwn.date(at, zone)}"
        + (f" — {timers}" if timers else "") + f" ({escape(view.ref)})."
    ))  # fmt: skip


def correction_command(edge: Edge, user: str, ref: str, command: Correct) -> Reply:
    """``/incident started|outage|impact|customers|exclude|include|reopen …``."""
    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    match command.verb:
        case IncidentVerb.STARTED:
            at = when_typed(edge, user, command.when or "", "reported_at")
            return correct(edge, user, ref, Correction(started_at=at))
        case IncidentVerb.OUTAGE:
            return correct(edge, user, ref, Correction(outage=bool(command.outage)))
        case IncidentVerb.IMPACT:
            return correct(edge, user, ref, Correction(impact_pct=command.impact_pct))
        case IncidentVerb.CUSTOMERS if command.every_customer:
            return correct(edge, user, ref, Correction(customers=()))
        case IncidentVerb.CUSTOMERS if command.add:
            return correct(edge, user, ref, Correction(add_customers=command.add))
        case IncidentVerb.CUSTOMERS:
            return correct(edge, user, ref, Correction(remove_customers=command.remove))
        case IncidentVerb.EXCLUDE:
            return correct(edge, user, ref, Correction(excluded=command.text), reason=command.text)
        case IncidentVerb.INCLUDE:
            return correct(edge, user, ref, Correction(excluded=None))
        case IncidentVerb.REOPEN:
            planned = archive.due(edge.ctx, ref)
            outcome = service.reopen(
                edge.ctx, ref, user, command.text or None, admin=edge.permissions.is_admin(user)
            )
            kept = "This channel is kept: it is no longer to be archived." if planned else ""
            return _corrected(
                edge, user, outcome, command.text or None, what="*reopened* it", note=kept
            )
    raise Refusal(f"`{command.verb}` is not a correction")


def correct(
    edge: Edge, user: str, ref: str, correction: Correction, *, reason: str | None = None
) -> Reply:
    """One correction of the record (a verb, or the form), then the channel and the card.

    Responders correct open incidents; admins also resolved ones, and exclusions
    (``service.correct`` decides, under the incident's lock)."""
    if not edge.permissions.may_respond(user):
        return refused(NOT_A_RESPONDER)
    outcome = service.correct(
        edge.ctx, ref, correction, user, reason=reason, admin=edge.permissions.is_admin(user)
    )
    return _corrected(edge, user, outcome, reason)


def _corrected(
    edge: Edge,
    user: str,
    outcome: service.Corrected,
    reason: str | None,
    *,
    what: str = "",
    note: str = "",
) -> Reply:
    view, zone = outcome.view, edge.directory.zone(user)
    customers = edge.ctx.contracts.customers

    def name(customer_id: str) -> str:
        return escape(customers[customer_id].name if customer_id in customers else customer_id)

    changed = "; ".join(
        corrections.describe(outcome.changes, lambda t: mrkdwn.date(t, zone), name, escape)
    )
    why = f" — {escape(reason)}" if reason else ""
    head = f"{what}: " if what else ""
    _post(
        edge, view, blocks.change_post(view, user, f"*corrected the record*: {head}{changed}{why}")
    )
    edge.channels.refresh_card(view)
    kinds = [k for field in outcome.changes for k in _timers_moved_by(field)]
    timers = _verdicts(view, list(dict.fromkeys(kinds)), zone)
    lines = [
        f"✅ Corrected {escape(view.ref)}: {changed}" + (f" — {timers}" if timers else "") + "."
    ]
    if outcome.flagged:
        periods = ", ".join(
            f"{name(c)} {period_name((start, end), customers[c].zone if c in customers else 'UTC')}"
            for c, start, end in outcome.flagged
        )
        lines.append(f"The next weekly digest says what this changed for {periods}, if anything.")
    if note:
        lines.append(note)
    return Reply(blocks.reply("\n".join(lines)))


def _verdicts(view: IncidentView, kinds: Sequence[TimerKind], zone: str) -> str:
    """``response met, restore breached by 20m``: how the timers a change feeds stand now."""
    found = []
    for kind in kinds:
        timer = view.timers.get(kind)
        if timer is None:
            continue
        word = TIMER_WORDS[kind]
        if timer.state is TimerState.BREACHED:
            found.append(f"{word} breached by {format_span(timer.over_by or dt.timedelta(0))}")
        elif timer.state is TimerState.RUNNING:
            found.append(f"{word} due {mrkdwn.due(timer.deadline, zone)}")
        else:
            found.append(f"{word} {timer.state.value}")
    return ", ".join(found)


def _post(edge: Edge, view: IncidentView, message: Message) -> None:
    if view.channel_id:
        try:
            edge.channels.post(view.channel_id, message)
        except SLACK_FAILURES as exc:  # the change is made; its post is a courtesy
            log.warning("could not post to %s: %s", view.channel_id, why(exc))


# --- /sla ----------------------------------------------------------------------------------


def sla(edge: Edge, user: str, channel: str | None, command: SlaCommand) -> Reply:
    """One ``/sla`` command."""
    match command:
        case ReportCommand():
            return report(edge, user, channel, command)
        case StatementCommand():
            return statement(edge, user, command)
        case Maintenance():
            return maintenance(edge, user, command)
        case MaintenanceList():
            return maintenance_list(edge, user, command)
        case MaintenanceCancel():
            return maintenance_cancel(edge, user, command)
        case MaintenanceMove():
            return maintenance_move(edge, user, command)
        case Customers():
            return customers(edge, user)
        case Policies():
            return policies(edge)
        case SlaHelp():
            return Reply(blocks.usage(SLA_USAGE))
    assert_never(command)


def maintenance(edge: Edge, user: str, command: Maintenance) -> Reply:
    """Announce a window: said back in the announcer's zone, and per affected contract
    whether the notice is enough for it to be excluded."""
    if not edge.permissions.is_admin(user):
        return refused(NOT_AN_ADMIN)
    zone = edge.directory.zone(user)
    starts, ends = _window_times(edge, zone, command.start, command.end)
    window = windows.announce(
        edge.ctx,
        title=command.title,
        starts_at=starts,
        ends_at=ends,
        actor=user,
        customers=command.customers,
    )
    whom = ", ".join(window.customers) or "every customer"
    lead = format_span(max(window.starts_at - window.announced_at, dt.timedelta(0)))
    return Reply(blocks.reply(
        f"🛠️ {window.ref} announced: *{escape(window.title)}* for {escape(whom)}, "
        f"{_window_when(window, zone)} · {lead} notice.\n{_notices(window)}"
    ), in_channel=True)  # fmt: skip


def maintenance_list(edge: Edge, user: str, command: MaintenanceList) -> Reply:
    """Upcoming and recent windows, with what each contract makes of them (anyone may ask)."""
    zone = edge.directory.zone(user)
    listed = windows.listed(edge.ctx, command.customer)
    since = edge.ctx.clock.now() - windows.RECENT
    whose = f" affecting {escape(command.customer)}" if command.customer else ""
    if not listed:
        return Reply(blocks.reply(
            f"No maintenance{whose} is announced, under way or ended since "
            f"{mrkdwn.date(since, zone, '{date_short_pretty}')}. Announce a window with "
            "`/sla maintenance <start> <end> <title…> [for <customer>,…]` (admins)."
        ))  # fmt: skip
    now = edge.ctx.clock.now()
    lines = [f"*Maintenance{whose}* (ended in the last {windows.RECENT.days} days, and to come):"]
    for window in listed:
        whom = ", ".join(window.customers) or "every customer"
        lines.append(
            f"• *{window.ref}* {escape(window.title)} — for {escape(whom)} · {_window_state(window, now, zone)}\n"
            f"   {_window_when(window, zone)} · announced {mrkdwn.date(window.announced_at, zone)} "
            f"by {mrkdwn.user(window.created_by)}"
        )
        for change in window.changes:
            was = f", was {escape(format_window(*change.was, zone))}" if change.was else ""
            why = f" ({escape(change.reason)})" if change.reason else ""
            lines.append(
                f"   ↳ {change.kind} by {mrkdwn.user(change.actor)} "
                f"{mrkdwn.date(change.at, zone)}{why}{was}"
            )
        if not window.called_off:
            lines.extend(f"   {line}" for line in _notices(window).splitlines())
    return Reply(blocks.reply("\n".join(lines)))


def maintenance_cancel(edge: Edge, user: str, command: MaintenanceCancel) -> Reply:
    if not edge.permissions.is_admin(user):
        return refused(NOT_AN_ADMIN_TO_CHANGE)
    zone = edge.directory.zone(user)
    window = windows.cancel(edge.ctx, command.ref, actor=user, reason=command.reason)
    why = f" ({escape(windows.reason_text(command.reason))})" if command.reason.strip() else ""
    if window.called_off:
        effect = "It had not started: it excludes nothing, and downtime then counts as usual."
    else:
        effect = (
            f"It was under way, so it ended now ({mrkdwn.date(window.ends_at, zone)}); the time "
            "until then stays excluded under the contracts whose notice it met."
        )
    return Reply(blocks.reply(
        f"🛠️ {window.ref} cancelled by {mrkdwn.user(user)}{why}: *{escape(window.title)}*. {effect}"
    ), in_channel=True)  # fmt: skip


def maintenance_move(edge: Edge, user: str, command: MaintenanceMove) -> Reply:
    if not edge.permissions.is_admin(user):
        return refused(NOT_AN_ADMIN_TO_CHANGE)
    zone = edge.directory.zone(user)
    starts, ends = _window_times(edge, zone, command.start, command.end)
    moved = windows.move(
        edge.ctx, command.ref, starts_at=starts, ends_at=ends, actor=user, reason=command.reason
    )
    window = moved.window
    why = f" ({escape(windows.reason_text(command.reason))})" if command.reason.strip() else ""
    notice = (
        "The new time is a new announcement: its notice counts from now."
        if moved.renoticed
        else "It stays inside the announced time, so its notice stands."
    )
    return Reply(blocks.reply(
        f"🛠️ {window.ref} moved by {mrkdwn.user(user)}{why}: *{escape(window.title)}*, was "
        f"{escape(format_window(*moved.before, zone))}, now {_window_when(window, zone)}. {notice}\n"
        f"{_notices(window)}"
    ), in_channel=True)  # fmt: skip


def _window_times(edge: Edge, zone: str, start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    """A window's start and end as typed, in the person's zone; an end typed as a bare
    clock time (``23:30``) is the first after the start. A refusal says which is not a time."""
    now = edge.ctx.clock.now()
    try:
        starts = parse_ahead(start, now, zone)
        return starts, parse_ahead(end, now, zone, after=starts)
    except ValueError as exc:
        raise Refusal(str(exc)) from None


def _window_when(window: windows.WindowView, zone: str) -> str:
    """Each reader's own zone (Slack's date tokens), then the writer's in words, with its offset."""
    return (
        f"{mrkdwn.date(window.starts_at, zone)} – {mrkdwn.date(window.ends_at, zone)} · "
        f"{escape(format_window(window.starts_at, window.ends_at, zone))}"
    )


def _notices(window: windows.WindowView) -> str:
    return "\n".join(f"• {escape(v.describe())}" for v in window.verdicts)


def _window_state(window: windows.WindowView, now: dt.datetime, zone: str) -> str:
    by = mrkdwn.user(window.cancelled_by)
    match window.state(now):
        case windows.WindowState.CALLED_OFF:
            return f"cancelled by {by} before it started: excludes nothing"
        case windows.WindowState.CUT_SHORT:
            return f"cancelled by {by} while under way: ended {mrkdwn.date(window.ends_at, zone)}"
        case windows.WindowState.UNDER_WAY:
            return "*under way*"
        case other:
            return other.value


def customers(edge: Edge, user: str) -> Reply:
    contracts = edge.ctx.contracts
    if not contracts.customers:
        return Reply(blocks.reply("No customers are configured (SLABOT_CUSTOMERS_FILE)."))
    money = edge.permissions.sees_money(user)
    lines = []
    for c in contracts.customers.values():
        fee = f" · {c.fee.amount} {c.fee.currency}/{c.fee.per}" if money and c.fee else ""
        lines.append(
            f"• *{escape(c.id)}* — {escape(c.name)} · {escape(c.policy.id)} · {escape(c.zone)}{fee}"
        )
    return Reply(blocks.reply("\n".join(lines)))


def policies(edge: Edge) -> Reply:
    text = "\n\n".join(f"```{describe_policy(p)}```" for p in edge.ctx.contracts.policies.values())
    return Reply(blocks.reply(escape(text)))


# --- App Home ------------------------------------------------------------------------------


def home_view(edge: Edge, user: str):
    total = service.count_incidents(edge.ctx, open_only=True)
    views = service.list_incidents(edge.ctx, open_only=True, limit=blocks.HOME_INCIDENTS)
    state = reminders.health(edge.ctx)
    problems = [
        f"• Reminder for *{escape(state.refs.get(r.incident_id, '?'))}* could not be posted: {escape(r.last_error or '')}"
        for r in state.failed[:10]
    ]
    problems += [
        f"• {escape(failure)}" for t in state.failed_tasks[:10] if (failure := paging.failure(t))
    ]
    if not state.workers:
        alive = int(reminders.ALIVE_WITHIN.total_seconds())
        problems.append(
            f"• No worker has checked in for {alive} seconds: reminders are not going out (`slabot worker`)."
        )
    if state.overdue:
        problems.append(f"• {plural(state.overdue, 'reminder', verb='is')} overdue.")
    try:
        standings = blocks.standing_lines(
            reports.uptime_to_date(edge.ctx), money=edge.permissions.sees_money(user)
        )
    except Exception:
        log.exception("App Home: uptime to date failed")
        standings = []
        problems.append("• Uptime could not be worked out just now; the error is in slabot's log.")
    return blocks.home(
        views, standings=standings, problems=problems, now=edge.ctx.clock.now(), total=total
    )


def report_acknowledged(edge: Edge, command: ReportCommand) -> Reply:
    """``/sla report``'s acknowledgement: a refusal of a period or customer that is not one,
    found without reading the database, or word that the report follows (``report``, after
    the acknowledgement: it reads every customer's history)."""
    period = command.period or edge.ctx.clock.now().strftime("%Y-%m")  # begun in every zone
    try:
        reports.check_request(edge.ctx, period, command.customer)
    except Refusal as refusal:
        return refused(_report_refusal(refusal))
    return Reply(
        blocks.reply(f"⏳ Working out uptime and credits for {command.period or 'this month'}…")
    )


def _report_refusal(refusal: Refusal) -> str:
    return f"{mrkdwn.clip(str(refusal), 1500)}\nUsage: {REPORT_USAGE}"


def report(edge: Edge, user: str, channel: str | None, command: ReportCommand) -> Reply:
    """``/sla report [period] [customer] [csv]``: the summary, ephemeral (it may hold money);
    with ``csv``, the whole report as a file in the requester's direct messages."""
    zone = edge.directory.zone(user)
    period = command.period or edge.ctx.clock.now().astimezone(ZoneInfo(zone)).strftime("%Y-%m")
    try:
        result = reports.customer_report(edge.ctx, period, command.customer)
    except Refusal as refusal:
        raise Refusal(_report_refusal(refusal)) from None
    money = edge.permissions.sees_money(user)
    message = blocks.report_summary(result, money=money, zone=zone)
    if command.csv:
        message = blocks.with_note(message, _send_csv(edge, user, result, money=money))
    return Reply(message)


def _send_csv(edge: Edge, user: str, result, *, money: bool) -> str:
    """Upload the report's CSV to the requester's DM with slabot; say where it went.

    Never to the channel the command came from: the summary is ephemeral, and the file may
    hold money. UTF-8 with a byte-order mark, so spreadsheet programs read ≥ and – right.
    """
    scope = f"-{result.customers[0].customer}" if len(result.customers) == 1 else ""
    filename = f"slabot-report-{result.period}{scope}.csv"
    error = _upload_to_dm(
        edge, user, filename=filename, title=f"Uptime and credits {result.period}",
        content=result.as_csv(money=money).encode("utf-8-sig"),
        comment=f"Uptime and credits for {result.period}, "
        f"{plural(len(result.customers), 'customer')}"
        + ("" if money else " (amounts are for managers and admins)"),
    )  # fmt: skip
    if error is not None:
        return (
            f"⚠️ Slack refused the CSV ({escape(error)}); the summary above is complete. "
            f"`slabot report --period {result.period} --format csv` writes the same file."
        )
    return f"📎 The CSV is in your direct messages with slabot: `{filename}`"


def _upload_to_dm(
    edge: Edge, user: str, *, filename: str, title: str, content: bytes, comment: str
) -> str | None:
    """Upload a file to ``user``'s direct messages with slabot: never to a channel, since
    reports and statements may hold money. ``None`` when done, else Slack's refusal."""
    try:
        dm = edge.client.conversations_open(users=user)["channel"]["id"]
        edge.client.files_upload_v2(
            channel=dm, filename=filename, title=title, content=content, initial_comment=comment
        )
    except SLACK_FAILURES as exc:
        error = str(why(exc))
        log.warning("could not upload %s to %s: %s", filename, user, error)
        return error
    return None


# --- /sla statement ----------------------------------------------------------------------------


def statement(edge: Edge, user: str, command: StatementCommand) -> Reply:
    """``/sla statement <customer> [period] [format]``, for managers and admins: answered at
    once, the file made after the ack and sent to the requester's direct messages."""
    if not edge.permissions.sees_money(user):
        return refused(NOT_A_MANAGER)
    zone = ZoneInfo(edge.directory.zone(user))
    period = command.period
    if period is None:  # a statement is for a period that has ended: last month, in your zone
        this_month = edge.ctx.clock.now().astimezone(zone).replace(day=1)
        period = f"{this_month - dt.timedelta(days=1):%Y-%m}"
    try:
        customer, requested = statements.statement_request(edge.ctx, command.customer, period)
    except Refusal as refusal:
        raise Refusal(f"{mrkdwn.clip(str(refusal), 1500)}\nUsage: {STATEMENT_USAGE}") from None
    edge.after(lambda: _send_statement(edge, user, customer.id, requested.label, command.format))
    return Reply(
        blocks.reply(
            f"📄 Making the SLA statement of *{escape(customer.name)}* for {requested.label} "
            f"({command.format.upper()}); it will be in your direct messages with slabot."
        )
    )


def _send_statement(edge: Edge, user: str, customer_id: str, period: str, output: str) -> None:
    """Make the statement and upload it to the requester's DM, or tell them there why not."""
    command = f"`slabot statement --customer {customer_id} --period {period} --format {output}`"
    note = ""
    try:
        made = statements.customer_statement(edge.ctx, period, customer_id)
        chromium = find_chromium() if output == "pdf" else None
        if output == "pdf" and chromium is None:
            output = "html"
            note = (
                " (a PDF needs Chromium on slabot's server, which is not installed: here is the "
                "HTML, which any browser prints to PDF)"
            )
        content = render_statement(made, output, chromium=chromium)  # type: ignore[arg-type]
    except Refusal as refusal:
        _direct_message(edge, user, f"⚠️ The statement was not made: {escape(str(refusal))}")
        return
    except Exception:
        log.exception("the statement of %s for %s failed", customer_id, period)
        _direct_message(
            edge, user,
            f"⚠️ The statement of {escape(customer_id)} for {period} could not be made; the "
            f"error is in slabot's log. {command} makes the same file.",
        )  # fmt: skip
        return
    name = statement_filename(made, output)  # type: ignore[arg-type]
    error = _upload_to_dm(
        edge, user, filename=name,
        title=f"SLA statement — {made.customer.name} — {made.figures.period_text()}",
        content=content,
        comment=f"SLA statement of {made.customer.name} for {made.figures.period_text()}{note}",
    )  # fmt: skip
    if error is not None:
        _direct_message(
            edge, user,
            f"⚠️ Slack refused the statement ({escape(error)}); {command} makes the same file.",
        )  # fmt: skip


def _direct_message(edge: Edge, user: str, text: str) -> None:
    """A line in the user's direct messages with slabot: how work done after the ack, with no
    response URL to answer at, tells them what went wrong."""
    try:
        dm = edge.client.conversations_open(users=user)["channel"]["id"]
        edge.client.chat_postMessage(channel=dm, text=text)
    except SLACK_FAILURES as exc:
        log.warning("could not tell %s: %s (%s)", user, text, why(exc))
