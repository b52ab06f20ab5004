"""Incident use-cases. Each call is one unit of work: it locks the incident, validates, writes
the change, its timeline event, the recomputed timers and the reminders they imply — or
refuses with a ``Refusal`` and changes nothing.

Transitions the issue leaves open, decided as a lead responder would (docs/decisions.md):

- Restoring an incident nobody acknowledged acknowledges it at the same instant (restoring
  service is a response). Resolving an incident not yet restored restores it (and
  acknowledges it) at the same instant.
- Restoring or resolving ends a pause at that instant.
- A pause stops every running timer; while paused no reminder is planned.
- The severity may change at any time, also after resolution (post-incident reviews
  re-grade); deadlines are recomputed from the original start and the timeline keeps the
  earlier deadlines and states.
- A progress update restarts the progress cadence; it does not acknowledge (the response
  target is met by an explicit acknowledgement, or by restoring service).
- A start time may not be in the future nor more than 30 days ago (older history is
  imported with ``slabot import``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.views import (
    Evaluation,
    IncidentView,
    TimerView,
    build_views,
    evaluate,
    make_view,
)
from bot.sla.contract import Contract, contracts_touched, missing_level
from bot.sla.incident import plan_incident_reminders
from bot.sla.reminders import PlannedReminder
from bot.sla.timers import TimerKind
from bot.text import format_span
from config.policy import Contracts
from storage import queries
from storage.models import (
    EventKind,
    Incident,
    IncidentPause,
    MaintenanceWindow,
    Reminder,
    TimelineEvent,
    Timer,
)

MAX_TITLE = 200
MAX_TEXT = 3000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def plain(text: str | None) -> str:
    """User text as it is stored: control characters (a NUL, a terminal's colour codes
    pasted with a log line) dropped — none of them shows in Slack, and PostgreSQL refuses a
    NUL — with line breaks and tabs kept; surrounding whitespace stripped."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


MAX_START_AGE = dt.timedelta(days=30)


# --- reading -------------------------------------------------------------------------


def get(ctx: Context, ref: str) -> IncidentView:
    with ctx.db.read() as session:
        incident = _find(session, ref)
        return _view(session, incident, ctx.contracts, ctx.clock.now())


def in_channel(ctx: Context, channel_id: str) -> IncidentView | None:
    """The incident whose channel this is, if any."""
    with ctx.db.read() as session:
        incident = queries.incident_in_channel(session, channel_id)
        if incident is None:
            return None
        return _view(session, incident, ctx.contracts, ctx.clock.now())


def ref_in_channel(ctx: Context, channel_id: str) -> str | None:
    """The reference of the incident whose channel this is, if any: one indexed lookup, for
    a command that acts on it (the change itself reads the incident again, locked)."""
    with ctx.db.read() as session:
        incident = queries.incident_in_channel(session, channel_id)
        return None if incident is None else incident.ref


def count_incidents(ctx: Context, *, open_only: bool = True) -> int:
    with ctx.db.read() as session:
        return queries.count_incidents(session, open_only=open_only)


def list_incidents(
    ctx: Context, *, open_only: bool = True, limit: int | None = None
) -> list[IncidentView]:
    with ctx.db.read() as session:
        rows = queries.incidents(session, open_only=open_only, limit=limit)
        return build_views(session, rows, ctx.contracts, ctx.clock.now())


def timeline(ctx: Context, ref: str) -> list[TimelineEvent]:
    with ctx.db.read() as session:
        return list(queries.timeline(session, _find(session, ref).id))


# --- declaring -------------------------------------------------------------------------


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
    channel_id: str | None = None,
    source: str = "slack",
) -> IncidentView:
    """A new incident. ``started_at`` (impact start and reported time) defaults to now."""
    now = ctx.clock.now()
    title = _title(title)
    customer_ids = resolve_customers(ctx.contracts, customers)
    contracts = contracts_touched(ctx.contracts, customer_ids)
    check_severity(contracts, severity)
    started = _start(started_at, now)
    _impact(impact_pct)
    with ctx.db.transaction() as session:
        incident = Incident(
            ref=f"pending-{now.timestamp()}-{actor}",
            title=title,
            severity=severity,
            declared_at=now,
            reported_at=started,
            impact_start=started,
            declared_by=actor,
            outage=outage,
            impact_pct=impact_pct,
            affects_all=not customer_ids,
            channel_id=channel_id,
            origin_channel_id=channel_id,
            source=source,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        incident.ref = _new_ref(session, incident.id)
        queries.set_customers(session, incident.id, customer_ids)
        _event(
            session, incident, now, actor, EventKind.DECLARED, title,
            after={"severity": severity, "customers": customer_ids or "all", "started_at": started.isoformat()},
        )  # fmt: skip
        return sync(session, incident, ctx.contracts, now)


def _new_ref(session: Session, incident_id: int) -> str:
    ref = f"INC-{incident_id}"
    suffix = 1
    while queries.ref_taken(session, ref):  # an imported history may hold INC-<n> already
        suffix += 1
        ref = f"INC-{incident_id}-{suffix}"
    return ref


# --- transitions ---------------------------------------------------------------------------


def acknowledge(ctx: Context, ref: str, actor: str, at: dt.datetime | None = None) -> IncidentView:
    with _change(ctx, ref) as (session, incident, now):
        at = _at(at, now, incident)
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} is resolved; there is nothing left to acknowledge")
        if incident.acknowledged_at is not None:
            raise Refusal(
                f"{incident.ref} was already acknowledged {_when(incident.acknowledged_at)} "
                f"({_by(session, incident, EventKind.ACKNOWLEDGED)}); "
                "the response timer has stopped"
            )
        incident.acknowledged_at = at
        _event(session, incident, at, actor, EventKind.ACKNOWLEDGED)
        return sync(session, incident, ctx.contracts, now)


def post_update(ctx: Context, ref: str, text: str, actor: str) -> IncidentView:
    text = _text(text, "an update", needed="an update needs text: what is happening, what is next")
    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} is resolved; updates go to open incidents")
        _event(session, incident, now, actor, EventKind.UPDATE, text)
        return sync(session, incident, ctx.contracts, now)


def change_severity(ctx: Context, ref: str, severity: int, actor: str) -> IncidentView:
    """Re-grade: every deadline is recomputed from the original start (docs/semantics.md §3)."""
    with _change(ctx, ref) as (session, incident, now):
        if severity == incident.severity:
            raise Refusal(f"{incident.ref} is already severity {severity}")
        earlier = evaluate(session, incident, ctx.contracts, now)
        check_severity(earlier.contracts, severity)
        old = incident.severity
        incident.severity = severity
        view = sync(session, incident, ctx.contracts, now)
        before = _timer_summary(make_view(incident, earlier, now).timers)
        after = _timer_summary(view.timers)
        _event(
            session, incident, now, actor, EventKind.SEVERITY_CHANGED,
            f"severity {old} → {severity}",
            before={"severity": old, "timers": before}, after={"severity": severity, "timers": after},
        )  # fmt: skip
        return view


def pause(ctx: Context, ref: str, reason: str, actor: str) -> IncidentView:
    reason = _text(
        reason,
        "a reason",
        needed="a pause needs a reason, e.g. `pause waiting for the customer's logs`",
    )
    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} is resolved; its timers have stopped")
        current = _open_pause(session, incident)
        if current is not None:
            raise Refusal(
                f"{incident.ref} is already paused since {_iso(current.started_at)} "
                f"({current.reason}); resume it first"
            )
        session.add(
            IncidentPause(incident_id=incident.id, started_at=now, reason=reason, paused_by=actor)
        )
        _event(session, incident, now, actor, EventKind.PAUSED, reason)
        return sync(session, incident, ctx.contracts, now)


def resume(ctx: Context, ref: str, actor: str) -> IncidentView:
    with _change(ctx, ref) as (session, incident, now):
        current = _open_pause(session, incident)
        if current is None:
            raise Refusal(f"{incident.ref} is not paused; there is nothing to resume")
        current.ended_at = now
        _event(
            session,
            incident,
            now,
            actor,
            EventKind.RESUMED,
            f"paused for {format_span(now - current.started_at)}",
        )
        return sync(session, incident, ctx.contracts, now)


def restore(ctx: Context, ref: str, actor: str, at: dt.datetime | None = None) -> IncidentView:
    with _change(ctx, ref) as (session, incident, now):
        at = _at(at, now, incident)
        if incident.resolved_at is not None:
            raise Refusal(
                f"{incident.ref} is resolved; service was restored {_when(incident.restored_at)}"
            )
        if incident.restored_at is not None:
            raise Refusal(f"{incident.ref} was already restored {_when(incident.restored_at)}")
        _restore(session, incident, at, actor)
        return sync(session, incident, ctx.contracts, now)


def resolve(
    ctx: Context, ref: str, actor: str, summary: str | None = None, at: dt.datetime | None = None
) -> IncidentView:
    summary = _text(summary, "a summary") or None
    with _change(ctx, ref) as (session, incident, now):
        at = _at(at, now, incident)
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} was already resolved {_when(incident.resolved_at)}")
        if incident.restored_at is None:
            _restore(session, incident, at, actor)
        incident.resolved_at = at
        incident.summary = summary
        _event(session, incident, at, actor, EventKind.RESOLVED, summary)
        return sync(session, incident, ctx.contracts, now)


def _restore(session: Session, incident: Incident, at: dt.datetime, actor: str) -> None:
    current = _open_pause(session, incident)
    if current is not None:
        current.ended_at = at
        _event(session, incident, at, actor, EventKind.RESUMED, "pause ended by the restore")
    if incident.acknowledged_at is None:
        incident.acknowledged_at = at
        _event(session, incident, at, actor, EventKind.ACKNOWLEDGED, "acknowledged by the restore")
    incident.restored_at = at
    _event(session, incident, at, actor, EventKind.RESTORED)


def mark_excluded(ctx: Context, ref: str, reason: str | None, actor: str) -> IncidentView:
    """Exclude an outage from uptime (customer's own network, force majeure…) or include it again."""
    reason = _text(reason, "a reason") or None
    with _change(ctx, ref) as (session, incident, now):
        if reason == incident.excluded_reason:
            state = f"excluded ({reason})" if reason else "counted"
            raise Refusal(f"{incident.ref} is already {state}")
        before = incident.excluded_reason
        incident.excluded_reason = reason
        _event(
            session, incident, now, actor,
            EventKind.EXCLUDED if reason else EventKind.INCLUDED, reason,
            before={"excluded": before}, after={"excluded": reason},
        )  # fmt: skip
        return sync(session, incident, ctx.contracts, now)


def set_slack_card(ctx: Context, ref: str, *, channel_id: str, card_ts: str | None) -> None:
    """Remember where the incident lives in Slack: its channel and the card to update.
    Nothing the engine reads changes, so the timers and reminders are left as they are."""
    with _change(ctx, ref) as (_session, incident, _now):
        incident.channel_id = channel_id
        incident.card_ts = card_ts


# --- maintenance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceView:
    ref: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    announced_at: dt.datetime
    customers: tuple[str, ...]


def add_maintenance(
    ctx: Context,
    *,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    actor: str,
    customers: Sequence[str] = (),
    announced_at: dt.datetime | None = None,
    ref: str | None = None,
) -> MaintenanceView:
    """Record announced maintenance; whether it is excluded depends on each contract's notice."""
    now = ctx.clock.now()
    title = _title(title)
    if ends_at <= starts_at:
        raise Refusal("maintenance must end after it starts")
    announced = announced_at or now
    if announced > now:
        raise Refusal("maintenance cannot be announced in the future")
    customer_ids = resolve_customers(ctx.contracts, customers)
    with ctx.db.transaction() as session:
        window = queries.maintenance_by_ref(session, ref) if ref else None
        if window is None:
            window = MaintenanceWindow(
                ref=ref or f"pending-{now.timestamp()}", title=title, starts_at=starts_at,
                ends_at=ends_at, announced_at=announced, affects_all=not customer_ids, created_by=actor,
            )  # fmt: skip
            session.add(window)
            session.flush()
            if ref is None:
                window.ref = f"MW-{window.id}"
        else:
            window.title, window.starts_at, window.ends_at = title, starts_at, ends_at
            window.announced_at, window.affects_all = announced, not customer_ids
        queries.set_maintenance_customers(session, window.id, customer_ids)
        return MaintenanceView(
            window.ref, title, starts_at, ends_at, announced, tuple(customer_ids)
        )


# --- validation shared with the importer ------------------------------------------------------


def resolve_customers(registry: Contracts, names: Sequence[str]) -> list[str]:
    """Customer ids for what was typed (id or name, any case), or a refusal that suggests."""
    ids: list[str] = []
    for name in names:
        if not name.strip():
            continue
        try:
            customer = registry.customer(name)
        except LookupError as exc:
            raise Refusal(str(exc.args[0])) from None
        if customer.id not in ids:
            ids.append(customer.id)
    return ids


def check_severity(contracts: Sequence[Contract], severity: int) -> None:
    lacking = missing_level(contracts, severity)
    if lacking is not None:
        levels = ", ".join(
            f"{s.level} ({s.name})" for s in lacking.policy.severities if s.level != "any"
        )
        raise Refusal(
            f"severity {severity} is not in the {lacking.label} contract; its levels: {levels}"
        )


def _text(text: str | None, what: str, *, needed: str | None = None) -> str:
    """A person's text, stripped, of at most ``MAX_TEXT`` characters (``what``: "a reason");
    ``needed`` is the refusal when it is empty (else empty is allowed)."""
    text = plain(text)
    if not text and needed:
        raise Refusal(needed)
    if len(text) > MAX_TEXT:
        raise Refusal(f"{what} is at most {MAX_TEXT} characters; this one has {len(text)}")
    return text


def _title(title: str) -> str:
    title = " ".join(plain(title).split())
    if not title:
        raise Refusal("a title is required: say what is broken, e.g. `Checkout API down`")
    if len(title) > MAX_TITLE:
        raise Refusal(f"a title is at most {MAX_TITLE} characters; this one has {len(title)}")
    return title


def _start(started_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if started_at is None:
        return now
    if started_at > now:
        raise Refusal(
            f"the start {_iso(started_at)} is in the future; give a time at or before now"
        )
    if now - started_at > MAX_START_AGE:
        raise Refusal(
            f"the start {_iso(started_at)} is more than 30 days ago; "
            "record older incidents with `slabot import`"
        )
    return started_at


def _impact(impact_pct: float | None) -> None:
    if impact_pct is not None and not 0 < impact_pct <= 100:
        raise Refusal(f"impact {impact_pct} % is not a share of traffic; give 0 < impact ≤ 100")


def _at(at: dt.datetime | None, now: dt.datetime, incident: Incident) -> dt.datetime:
    if at is None:
        return now
    if at > now:
        raise Refusal(f"{_iso(at)} is in the future; give a time at or before now")
    if at < incident.reported_at:
        raise Refusal(f"{_iso(at)} is before {incident.ref} started ({_iso(incident.reported_at)})")
    return at


# --- the unit of work --------------------------------------------------------------------------


@contextmanager
def _change(ctx: Context, ref: str) -> Iterator[tuple[Session, Incident, dt.datetime]]:
    """A unit of work on one incident, locked against concurrent changes until it commits."""
    with ctx.db.transaction() as session:
        incident = _find(session, ref, lock=True)
        now = ctx.clock.now()  # read after the lock: changes are ordered as they commit
        incident.updated_at = now
        yield session, incident, now


def _find(session: Session, ref: str, *, lock: bool = False) -> Incident:
    incident = queries.incident_by_ref(session, ref, lock=lock)
    if incident is None:
        raise Refusal(f"there is no incident {ref!r}; `/incident list` shows the open ones")
    return incident


def _view(
    session: Session, incident: Incident, registry: Contracts, now: dt.datetime
) -> IncidentView:
    return make_view(incident, evaluate(session, incident, registry, now), now)


def _open_pause(session: Session, incident: Incident) -> IncidentPause | None:
    pauses = queries.pauses_of(session, [incident.id]).get(incident.id, [])
    return next((p for p in pauses if p.ended_at is None), None)


def _event(
    session: Session,
    incident: Incident,
    at: dt.datetime,
    actor: str,
    kind: EventKind,
    text: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        TimelineEvent(
            incident_id=incident.id,
            at=at,
            actor=actor,
            kind=kind,
            text=text,
            before=before,
            after=after,
        )
    )
    session.flush()


def sync(
    session: Session, incident: Incident, registry: Contracts, now: dt.datetime
) -> IncidentView:
    """Recompute the timers, store them, re-plan the reminders; return the incident as it now is."""
    session.flush()
    evaluation = evaluate(session, incident, registry, now)
    derived = derive(evaluation, now)
    _store_timers(session, incident, derived.timers)
    _replan(session, incident, evaluation, derived.reminders(incident.id, now))
    return make_view(incident, evaluation, now)


@dataclass(frozen=True)
class Derived:
    """What the engine makes of an incident at an instant, as rows: its timers and the
    reminders still to come. ``sync`` writes them one incident at a time, the importer in
    batches; both derive them here, so the rule that turns timers into rows is in one place."""

    timers: dict[str, dict[str, Any]]
    """The columns of each timer row, by kind (``incident_id`` and ``kind`` aside)."""
    plan: list[PlannedReminder]

    def reminders(self, incident_id: int, now: dt.datetime) -> dict[str, dict[str, Any]]:
        """The columns of each planned reminder's row, by dedupe key, in due order."""
        rows = {}
        for planned in self.plan:
            key = reminder_key(incident_id, planned)
            rows[key] = {
                "incident_id": incident_id, "timer": planned.timer.value,
                "kind": planned.kind.value, "step": planned.step, "due_at": planned.due_at,
                "deadline_at": planned.deadline, "dedupe_key": key, "created_at": now,
            }  # fmt: skip
        return rows


def derive(evaluation: Evaluation, now: dt.datetime) -> Derived:
    """The timer rows of an evaluation, and the reminders its open timers plan from ``now``."""
    timers = {}
    for kind, reading in evaluation.readings.items():
        start, stop = evaluation.facts.span(kind)
        timers[kind.value] = {
            "target": reading.rule.describe(), "contract": reading.rule.contract,
            "started_at": start, "deadline_at": reading.deadline, "stopped_at": stop,
            "outcome": reading.state.value if reading.stopped else None,
        }  # fmt: skip
    plan = plan_incident_reminders(evaluation.facts, evaluation.contracts, evaluation.readings, now)
    return Derived(timers, plan)


def _store_timers(session: Session, incident: Incident, timers: dict[str, dict[str, Any]]) -> None:
    stored = queries.timers_of(session, [incident.id]).get(incident.id, {})
    for kind, values in timers.items():
        timer = stored.pop(kind, None) or Timer(incident_id=incident.id, kind=kind)
        for column, value in values.items():
            setattr(timer, column, value)
        session.add(timer)
    for timer in stored.values():  # a re-grade can drop a timer (no progress cadence)
        session.delete(timer)


def reminder_key(incident_id: int, reminder: PlannedReminder) -> str:
    return (
        f"{incident_id}/{reminder.timer.value}/{reminder.deadline.strftime('%Y%m%dT%H%M%SZ')}/"
        f"{reminder.step.replace(' ', '-')}"
    )


def _replan(
    session: Session,
    incident: Incident,
    evaluation: Evaluation,
    planned: dict[str, dict[str, Any]],
) -> None:
    """Cancel pending reminders whose deadline no longer holds; add the planned ones not yet known.

    A pending reminder stays as long as its timer is open, unpaused and still due at the
    same deadline, even if it is overdue (a worker that was down posts it, late).
    """
    holding = {
        kind: reading.deadline
        for kind, reading in evaluation.readings.items()
        if not reading.stopped and reading.deadline is not None
    }
    paused = any(p.ended_at is None for p in evaluation.pauses)
    stale = [
        r.id
        for r in queries.pending_reminders(session, incident.id)
        if paused or holding.get(TimerKind(r.timer)) != r.deadline_at
    ]
    queries.cancel_reminders(session, stale)
    known = queries.existing_reminder_keys(session, planned)
    for key, values in planned.items():
        if key not in known:
            session.add(Reminder(**values))


def _timer_summary(timers: dict[TimerKind, TimerView]) -> dict[str, Any]:
    """What the timeline keeps of each timer when a re-grade moves it."""
    return {
        kind.value: {
            "deadline": None if t.deadline is None else t.deadline.isoformat(),
            "state": t.state.value,
            "target": t.target,
            "contract": t.contract,
        }
        for kind, t in timers.items()
    }


def _by(session: Session, incident: Incident, kind: EventKind) -> str:
    events = [e for e in queries.timeline(session, incident.id) if e.kind == kind]
    return f"by {events[-1].actor}" if events else "earlier"


def _when(instant: dt.datetime | None) -> str:
    return "earlier" if instant is None else f"at {_iso(instant)}"


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
