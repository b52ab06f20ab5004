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
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Any

from sqlmodel import Session

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import archive, corrections
from bot.incidents.corrections import Changes, Correction
from bot.incidents.stakes import NOTHING, SHOWN, Stakes, at_stake
from bot.incidents.views import (
    HISTORY_KINDS,
    Evaluation,
    IncidentView,
    TimerView,
    breach_views,
    build_views,
    evaluate,
    make_view,
)
from bot.paging import service as paging
from bot.parse import parse_severity
from bot.reports.figures import Figures, figures, shown_periods
from bot.sla.contract import Contract, contracts_touched, levels_accepted, missing_level
from bot.sla.incident import plan_incident_reminders
from bot.sla.reminders import PlannedReminder, ReminderKind
from bot.sla.stakes import plan_crossing_reminders, plan_manager_notices
from bot.sla.timers import BudgetTimer, TimerKind, TimerState
from bot.sla.uptime import Interval
from bot.text import format_span, format_utc
from config.policy import Contracts, Customer, Policy
from storage import queries
from storage.models import (
    CorrectedPeriod,
    EventKind,
    Incident,
    IncidentPause,
    MaintenanceEvent,
    MaintenanceWindow,
    NoticedBy,
    OutboxStatus,
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


_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Characters Unicode counts as letters or symbols that show nothing (Hangul fillers, the
blank Braille pattern)."""


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces, format characters (zero-width
    spaces and joiners, direction marks and isolates, a byte-order mark, soft hyphens),
    combining marks with nothing to combine with, or blank letters."""
    return any(unicodedata.category(c)[0] not in "ZCM" and c not in _BLANK_LETTERS for c in text)


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


def refs_in_channel(ctx: Context, channel_id: str, *, limit: int = 10) -> list[tuple[str, str]]:
    """The incidents a command in this channel may mean, as (reference, title): the open
    ones, newest first; else its newest resolved one (a command in a resolved incident's
    own channel reads or corrects it); else none. One indexed lookup: the change itself
    reads the incident again, locked."""
    with ctx.db.read() as session:
        found = queries.incidents_in_channel(session, channel_id, limit=limit)
        open_ones = [(i.ref, i.title) for i in found if i.resolved_at is None]
        return open_ones or [(i.ref, i.title) for i in found[:1]]


def first_unused_channel(ctx: Context, channels: Sequence[str]) -> str | None:
    """The first of these channels that no incident has (one a declaration's earlier
    attempt made but did not record: ``bot.slack.declaration``)."""
    with ctx.db.read() as session:
        return next((c for c in channels if queries.incident_in_channel(session, c) is None), None)


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
    also: Callable[[Session, Incident], None] | None = None,
) -> IncidentView:
    """A new incident. ``started_at`` (impact start and reported time) defaults to now.

    ``also`` writes what the declaration calls for in its own transaction (the task that
    opens its Slack side: ``bot.slack.declaration``), so both commit or neither does."""
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
        view = sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD)
        if also is not None:
            also(session, incident)
        return view


def _new_ref(session: Session, incident_id: int) -> str:
    ref = f"INC-{incident_id}"
    suffix = 1
    while queries.ref_taken(session, ref):  # an imported history may hold INC-<n> already
        suffix += 1
        ref = f"INC-{incident_id}-{suffix}"
    return ref


# --- transitions ---------------------------------------------------------------------------


def acknowledge(ctx: Context, ref: str, actor: str, at: dt.datetime | None = None) -> IncidentView:
    """The first acknowledgement, now or at ``at`` (a response made before it was recorded).
    A later one is refused, naming the first; changing its time is a ``correct``ion."""
    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} is resolved; there is nothing left to acknowledge")
        if incident.acknowledged_at is not None:
            raise Refusal(
                f"{incident.ref} was already acknowledged {_when(incident.acknowledged_at)} "
                f"({_by(session, incident, EventKind.ACKNOWLEDGED)}); "
                "the response timer has stopped"
            )
        at = at or now
        incident.acknowledged_at = at
        _check(incident, now)
        _event(session, incident, at, actor, EventKind.ACKNOWLEDGED)
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD, others=False)


def post_update(ctx: Context, ref: str, text: str, actor: str) -> IncidentView:
    text = _text(text, "an update", needed="an update needs text: what is happening, what is next")
    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} is resolved; updates go to open incidents")
        _event(session, incident, now, actor, EventKind.UPDATE, text)
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD, others=False)


def change_severity(ctx: Context, ref: str, severity: int, actor: str) -> IncidentView:
    """Re-grade: every deadline is recomputed from the original start (docs/semantics.md §3)."""
    with _change(ctx, ref) as (session, incident, now):
        if severity == incident.severity:
            raise Refusal(f"{incident.ref} is already severity {severity}")
        earlier = evaluate(session, incident, ctx.contracts, now)
        check_severity(earlier.contracts, severity)
        old = incident.severity
        incident.severity = severity
        # The event first, so that the view says what the re-grade did to earlier breaches;
        # the timers it keeps are filled in once recomputed.
        event = _event(
            session,
            incident,
            now,
            actor,
            EventKind.SEVERITY_CHANGED,
            f"severity {old} → {severity}",
        )
        view = sync(
            session,
            incident,
            ctx.contracts,
            now,
            noticed=NoticedBy.RECORD,
            graded=old,
            others=False,
        )
        event.before = {
            "severity": old,
            "timers": _timer_summary(make_view(incident, earlier, now).timers),
        }
        event.after = {"severity": severity, "timers": _timer_summary(view.timers)}
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
                f"{incident.ref} is already paused since {format_utc(current.started_at)} "
                f"({current.reason}); resume it first"
            )
        session.add(
            IncidentPause(incident_id=incident.id, started_at=now, reason=reason, paused_by=actor)
        )
        _event(session, incident, now, actor, EventKind.PAUSED, reason)
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD, others=False)


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
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD, others=False)


def restore(ctx: Context, ref: str, actor: str, at: dt.datetime | None = None) -> IncidentView:
    """Service restored, now or at ``at``; changing a recorded restore is a ``correct``ion."""
    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None:
            raise Refusal(
                f"{incident.ref} is resolved; service was restored {_when(incident.restored_at)}"
            )
        if incident.restored_at is not None:
            raise Refusal(f"{incident.ref} was already restored {_when(incident.restored_at)}")
        _restore(session, incident, at or now, actor, now)
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD)


def resolve(
    ctx: Context,
    ref: str,
    actor: str,
    summary: str | None = None,
    at: dt.datetime | None = None,
    *,
    archive_after: dt.timedelta | None = None,
) -> IncidentView:
    """Resolved, now or at ``at`` (restoring it then too if it was not); changing a recorded
    resolution is a ``correct``ion. ``archive_after`` (``SLABOT_ARCHIVE_AFTER``): archive
    the incident's own channel that long from now (``bot.incidents.archive``)."""
    summary = _text(summary, "a summary") or None
    with _change(ctx, ref) as (session, incident, now):
        at = at or now
        if incident.resolved_at is not None:
            raise Refusal(f"{incident.ref} was already resolved {_when(incident.resolved_at)}")
        if incident.restored_at is None:
            _restore(session, incident, at, actor, now)
        incident.resolved_at = at
        incident.summary = summary
        _check(incident, now)
        _event(session, incident, at, actor, EventKind.RESOLVED, summary)
        archive.schedule(session, incident, now, archive_after)
        return sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD)


def _restore(
    session: Session, incident: Incident, at: dt.datetime, actor: str, now: dt.datetime
) -> None:
    incident.restored_at = at
    if incident.acknowledged_at is None:
        incident.acknowledged_at = at
        _check(incident, now)
        _end_pause(session, incident, at, actor)
        _event(session, incident, at, actor, EventKind.ACKNOWLEDGED, "acknowledged by the restore")
    else:
        _check(incident, now)
        _end_pause(session, incident, at, actor)
    _event(session, incident, at, actor, EventKind.RESTORED)
    paging.resolve_on_restore(session, incident, now)  # resolve what an escalation paged


def _end_pause(session: Session, incident: Incident, at: dt.datetime, actor: str) -> None:
    """A restore ends a pause that lasts: at the restore, or at the pause's own start when
    service came back before the clocks were paused (the pause then stopped nothing)."""
    current = _open_pause(session, incident)
    if current is not None:
        current.ended_at = max(at, current.started_at)
        _event(
            session, incident, current.ended_at, actor, EventKind.RESUMED,
            "pause ended by the restore",
        )  # fmt: skip


# --- corrections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Corrected:
    """A correction made: the incident as it now is, the facts changed (old, new), and the
    customers' periods already shown in a digest whose figures it may have changed."""

    view: IncidentView
    changes: Changes
    flagged: tuple[tuple[str, dt.datetime, dt.datetime], ...] = ()
    """``(customer id, period start, period end)``."""


NOT_ADMIN_RESOLVED = (
    "{ref} is resolved: after resolution only admins (SLABOT_ADMINS) may correct its record, "
    "because the record decides what customers are owed"
)
NOT_ADMIN_EXCLUDED = (
    "excluding an outage from uptime, or counting it again, is for admins (SLABOT_ADMINS): "
    "it changes what customers are owed"
)


def correct(
    ctx: Context,
    ref: str,
    correction: Correction,
    actor: str,
    *,
    reason: str | None = None,
    admin: bool = False,
) -> Corrected:
    """Correct the record: set the facts ``correction`` gives, with what follows from them
    (``bot.incidents.corrections``), in one unit of work: the facts, one ``corrected``
    timeline event (who, when, each fact old → new, ``reason``), the breaches the facts
    before and after show, the timers recomputed and the reminders re-planned, and the
    periods a digest already showed flagged for the next one (``CorrectedPeriod``).

    Who may: anyone acting on an open incident; once it is resolved, ``admin``s only; an
    exclusion (``excluded``), admins only. The caller says whether ``actor`` is an admin.
    Refused, changing nothing: facts that cannot have happened (``corrections.check``), a
    severity a new customer's contract lacks, a correction that changes nothing.
    """
    reason = _text(reason, "a reason") or None
    if correction.empty:
        raise Refusal(
            "say what to correct: a time, the outage flag, the impact, the customers or the exclusion"
        )
    given = correction.given()
    if "excluded" in given and given["excluded"] is not None:
        excluded = _text(
            given["excluded"],
            "an exclusion's reason",
            needed="an exclusion needs a reason, e.g. `exclude customer's own network`",
        )
        correction = dataclass_replace(correction, excluded=excluded)
    if "excluded" in given and not admin:
        raise Refusal(NOT_ADMIN_EXCLUDED, field="excluded")

    def ids(names: Sequence[str]) -> list[str]:
        try:
            return resolve_customers(ctx.contracts, names)
        except Refusal as refusal:
            raise Refusal(str(refusal), field="customers") from None

    with _change(ctx, ref) as (session, incident, now):
        if incident.resolved_at is not None and not admin:
            raise Refusal(NOT_ADMIN_RESOLVED.format(ref=incident.ref))
        before = _facts(session, incident)
        after = corrections.apply(correction, before, ids, incident.ref)
        found = corrections.changes(before, after)
        if not found:
            raise Refusal(
                f"nothing to correct: {incident.ref} already has "
                + "; ".join(corrections.state(after, given, format_utc))
            )
        corrections.check(after, now, incident.ref, format_utc)
        check_severity(contracts_touched(ctx.contracts, after["customers"]), incident.severity)
        shown = _shown_periods(ctx, before, after, now)
        _write_facts(session, incident, after)
        if before["resolved_at"] is not None and after["resolved_at"] is None:
            archive.withdraw(session, incident)  # reopened: its channel is in use again
        if after["restored_at"] is not None and before["restored_at"] is None:
            paging.resolve_on_restore(session, incident, now)  # as `_restore` does
        current = _open_pause(session, incident)
        if current is not None and after["restored_at"] and not before["restored_at"]:
            # Restoring ends a pause that lasts (at the pause's start if service came back
            # before it): part of this correction, in its one event.
            current.ended_at = max(after["restored_at"], current.started_at)
            found["pause_ended_at"] = (None, current.ended_at)
        event = _event(
            session, incident, now, actor, EventKind.CORRECTED, reason,
            before={k: corrections.as_json(old) for k, (old, _) in found.items()},
            after={k: corrections.as_json(new) for k, (_, new) in found.items()},
        )  # fmt: skip
        view = sync(session, incident, ctx.contracts, now, noticed=NoticedBy.RECORD)
        flagged = _flag(session, incident, event, shown, actor, reason, now)
        return Corrected(view, found, flagged)


def reopen(
    ctx: Context, ref: str, actor: str, reason: str | None = None, *, admin: bool = False
) -> Corrected:
    """A resolved incident open again: the resolution (and its summary) cleared, the restore
    kept — if service went down again, that is a new incident, and the time between was
    uptime. A correction like any other: resolved incidents are corrected by admins."""
    with ctx.db.read() as session:
        incident = _find(session, ref)
        if incident.resolved_at is None:
            raise Refusal(f"{incident.ref} is not resolved; there is nothing to reopen")
    return correct(ctx, ref, Correction(resolved_at=None), actor, reason=reason, admin=admin)


def mark_excluded(ctx: Context, ref: str, reason: str | None, actor: str) -> IncidentView:
    """Exclude an outage from uptime (customer's own network, force majeure…) with
    ``reason``, or count it again (``None``): a correction, by an admin."""
    with ctx.db.read() as session:
        incident = _find(session, ref)
        if (reason or None) == incident.excluded_reason:
            state = f"excluded ({reason})" if reason else "counted"
            raise Refusal(f"{incident.ref} is already {state}")
    return correct(
        ctx, ref, Correction(excluded=reason or None), actor, reason=reason, admin=True
    ).view


def _facts(session: Session, incident: Incident) -> dict[str, Any]:
    """The facts a correction may change, as stored (``corrections.FACTS``)."""
    facts = {name: getattr(incident, name) for name in corrections.INSTANTS}
    customers = queries.customers_of(session, [incident.id]).get(incident.id, [])
    return {
        **facts,
        "outage": incident.outage,
        "impact_pct": incident.impact_pct,
        "customers": () if incident.affects_all else tuple(sorted(customers)),
        "excluded": incident.excluded_reason,
        "summary": incident.summary,
    }


def _write_facts(session: Session, incident: Incident, facts: dict[str, Any]) -> None:
    for name in corrections.INSTANTS:
        setattr(incident, name, facts[name])
    incident.outage = facts["outage"]
    incident.impact_pct = facts["impact_pct"]
    incident.excluded_reason = facts["excluded"]
    incident.summary = facts["summary"]
    incident.affects_all = not facts["customers"]
    queries.set_customers(session, incident.id, facts["customers"])


def _check(incident: Incident, now: dt.datetime) -> None:
    """Refuse an order of instants that cannot have happened (``corrections.check``)."""
    facts = {name: getattr(incident, name) for name in corrections.INSTANTS}
    corrections.check({**facts, "impact_pct": incident.impact_pct}, now, incident.ref, format_utc)


def _shown_periods(
    ctx: Context, before: dict[str, Any], after: dict[str, Any], now: dt.datetime
) -> list[tuple[Customer, Interval, Figures]]:
    """The periods the facts before or after feed that a digest has shown, with their
    figures now (before the correction: it is not written yet)."""
    instants = [
        facts[name] or now
        for facts in (before, after)
        for name in ("declared_at", "impact_start", "restored_at")
    ]
    if not before["customers"] or not after["customers"]:
        customers = None
    else:
        customers = {*before["customers"], *after["customers"]}
    periods = shown_periods(ctx, customers, instants)
    if not periods:
        return []
    found = figures(ctx, periods)
    return [(c, p, found[(c.id, p[0])]) for c, p in periods if (c.id, p[0]) in found]


def _flag(
    session: Session,
    incident: Incident,
    event: TimelineEvent,
    shown: list[tuple[Customer, Interval, Figures]],
    actor: str,
    reason: str | None,
    now: dt.datetime,
) -> tuple[tuple[str, dt.datetime, dt.datetime], ...]:
    for customer, period, before in shown:
        session.add(
            CorrectedPeriod(
                incident_id=incident.id, event_id=event.id, customer_id=customer.id,
                period_start=period[0], period_end=period[1], before=before.as_json(),
                corrected_at=now, actor=actor, reason=reason,
            )
        )  # fmt: skip
    return tuple((c.id, p[0], p[1]) for c, p, _ in shown)


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
            session.add(
                MaintenanceEvent(maintenance_id=window.id, at=now, actor=actor, kind="announced")
            )
        else:
            window.title, window.starts_at, window.ends_at = title, starts_at, ends_at
            window.announced_at, window.affects_all = announced, not customer_ids
        queries.set_maintenance_customers(session, window.id, customer_ids)
        session.flush()
        replan_others(session, None, customer_ids, ctx.contracts, now)
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


def severity_names(ctx: Context) -> list[tuple[int, str]]:
    """Every level's name in every contract, the deployment's own first, as ``(level,
    name)``: what a severity typed as a name may be before the incident's contracts are
    known (``severity_level`` then decides which level it means)."""
    policies = [ctx.contracts.default_policy, *ctx.contracts.policies.values()]
    return _level_names(policies)


def every_level(ctx: Context) -> list[tuple[int, str]]:
    """Every numbered level any contract has, named by the deployment's own contract first."""
    return _by_level(severity_names(ctx))


def levels_for(ctx: Context, customer_ids: Sequence[str] = ()) -> list[tuple[int, str]]:
    """The severity levels an incident affecting these customers can be declared with (none:
    the deployment's own contract), as ``(level, name)``: those every contract touched has
    (the strictest rule decides, as ``check_severity`` refuses the others), each named by
    the first of those contracts that numbers it; every level any contract has when they
    all accept any."""
    touched = contracts_touched(ctx.contracts, [c for c in customer_ids if c])
    accepted = levels_accepted(touched)
    names = dict(_by_level(_level_names([c.policy for c in touched])))
    every = dict(every_level(ctx))
    levels = sorted(every) if accepted is None else sorted(accepted)
    return [
        (level, names.get(level) or every.get(level) or f"Severity {level}") for level in levels
    ]


def _level_names(policies: Sequence[Policy]) -> list[tuple[int, str]]:
    return [(s.level, s.name) for p in policies for s in p.severities if s.level != "any"]


def _by_level(names: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """One name per level, the first given, in level order."""
    first: dict[int, str] = {}
    for level, name in names:
        first.setdefault(level, name)
    return sorted(first.items())


def severity_level(
    ctx: Context, typed: int | str, *, customers: Sequence[str] = (), ref: str | None = None
) -> int:
    """A severity as typed — a level (``2``, ``sev2``, ``II``) or a level's name — read
    against the contracts the incident touches: ``ref``'s, or those of ``customers`` (one
    being declared). ``critical for acme`` is acme's contract's word for level 1, whatever
    the deployment's own contract calls its levels; a word none of them uses is refused,
    listing what they accept."""
    if isinstance(typed, int):
        return typed
    if ref is not None:
        with ctx.db.read() as session:
            incident = _find(session, ref)
            ids = queries.customers_of(session, [incident.id]).get(incident.id, [])
    else:
        ids = resolve_customers(ctx.contracts, customers)
    contracts = contracts_touched(ctx.contracts, ids)
    try:
        return parse_severity(typed, _level_names([c.policy for c in contracts]))
    except ValueError as exc:
        whose = " and ".join(c.label for c in contracts)
        plural = "s" if len(contracts) > 1 else ""
        raise Refusal(f"{exc} (in the {whose} contract{plural})", field="severity") from None


def check_severity(contracts: Sequence[Contract], severity: int) -> None:
    lacking = missing_level(contracts, severity)
    if lacking is not None:
        levels = ", ".join(
            f"{s.level} ({s.name})" for s in lacking.policy.severities if s.level != "any"
        )
        raise Refusal(
            f"severity {severity} is not in the {lacking.label} contract; its levels: {levels}"
        )


_INVISIBLE = " (this one is only characters that show nothing, such as zero-width spaces)"


def _text(text: str | None, what: str, *, needed: str | None = None) -> str:
    """A person's text, stripped, of at most ``MAX_TEXT`` characters (``what``: "a reason");
    ``needed`` is the refusal when it is empty (else empty is allowed)."""
    text = plain(text)
    if not visible(text) and needed:
        raise Refusal(needed + _INVISIBLE if text else needed)
    if len(text) > MAX_TEXT:
        raise Refusal(f"{what} is at most {MAX_TEXT} characters; this one has {len(text)}")
    return text


def _title(title: str) -> str:
    title = " ".join(plain(title).split())
    if not visible(title):
        raise Refusal(
            "a title is required: say what is broken, e.g. `Checkout API down`"
            + (_INVISIBLE if title else "")
        )
    if len(title) > MAX_TITLE:
        raise Refusal(f"a title is at most {MAX_TITLE} characters; this one has {len(title)}")
    return title


def _start(started_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if started_at is None:
        return now
    if started_at > now:
        raise Refusal(
            f"the start {format_utc(started_at)} is in the future; give a time at or before now"
        )
    if now - started_at > MAX_START_AGE:
        raise Refusal(
            f"the start {format_utc(started_at)} is more than 30 days ago; "
            "record older incidents with `slabot import`"
        )
    return started_at


def _impact(impact_pct: float | None) -> None:
    if impact_pct is not None and not 0 < impact_pct <= 100:
        raise Refusal(f"impact {impact_pct} % is not a share of traffic; give 0 < impact ≤ 100")


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
    evaluation = evaluate(session, incident, registry, now)
    stakes = at_stake(session, incident, evaluation.customer_ids, registry, now)
    return make_view(incident, evaluation, now, _breaches(session, incident, evaluation), stakes)


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
) -> TimelineEvent:
    """A timeline event that happened ``at``, recorded now (the unit of work's instant,
    ``incident.updated_at``)."""
    event = TimelineEvent(
        incident_id=incident.id,
        at=at,
        actor=actor,
        kind=kind,
        text=text,
        before=before,
        after=after,
        recorded_at=incident.updated_at,
    )
    session.add(event)
    session.flush()
    return event


def note_alert(
    session: Session,
    incident: Incident,
    now: dt.datetime,
    source: str,
    text: str,
    *,
    after: dict[str, Any] | None = None,
) -> None:
    """A timeline event of what an alerting tool said of the incident's alerts (more firing,
    some resolved): no timer changes with it."""
    incident.updated_at = now
    _event(session, incident, now, source, EventKind.ALERT, text, after=after)


def sync(
    session: Session,
    incident: Incident,
    registry: Contracts,
    now: dt.datetime,
    *,
    noticed: NoticedBy | None = None,
    graded: int | None = None,
    budget: bool = True,
    others: bool = True,
) -> IncidentView:
    """Recompute the timers, store them, re-plan the reminders; return the incident as it now is.

    ``budget``: also work out what the incident puts at stake and re-plan the budget's
    reminders (``_replan_budget``); the importer does not, since they depend on the other
    incidents of the record, which an import writes in no particular order. ``others``:
    also re-plan the budgets of the other outages still down for its customers; a change
    that cannot move downtime (an acknowledgement, an update, a pause, a re-grade) need not.

    ``noticed``: a change to the record records the breaches its timers now show (how it
    noticed them) and those the timers stored before it show (``graded``: the severity they
    were computed under, when a re-grade changed it), and the view it returns carries the
    incident's recorded breaches (the card shows them). The worker records its own notices (``note_breach``); it and the
    import re-plan without ``noticed`` and use no view."""
    session.flush()
    evaluation = evaluate(session, incident, registry, now)
    derived = derive(evaluation, now)
    before = _store_timers(session, incident, derived.timers)
    if noticed is not None:
        _note_stored_breaches(session, incident, before, graded or incident.severity, now)
        for kind, reading in evaluation.readings.items():
            if reading.state is TimerState.BREACHED and reading.deadline is not None:
                note_breach(
                    session, incident, kind, reading.rule.contract, reading.rule.describe(),
                    reading.deadline, now, noticed,
                )  # fmt: skip
    _replan(session, incident, evaluation, derived, now)
    stakes = NOTHING
    if budget:
        stakes = at_stake(session, incident, evaluation.customer_ids, registry, now)
        _replan_budget(session, incident, stakes, registry, now)
        if others:
            replan_others(session, incident.id, evaluation.customer_ids, registry, now)
    recorded = _breaches(session, incident, evaluation) if noticed is not None else ()
    return make_view(incident, evaluation, now, recorded, stakes)


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
        return {
            reminder_key(incident_id, planned): reminder_row(incident_id, planned, now)
            for planned in self.plan
        }


def reminder_row(incident_id: int, planned: PlannedReminder, now: dt.datetime) -> dict[str, Any]:
    """The columns of a planned reminder's row."""
    return {
        "incident_id": incident_id, "timer": planned.timer.value, "kind": planned.kind.value,
        "step": planned.step, "due_at": planned.due_at, "deadline_at": planned.deadline,
        "dedupe_key": reminder_key(incident_id, planned), "created_at": now,
    }  # fmt: skip


def _breaches(session: Session, incident: Incident, evaluation: Evaluation):
    recorded = queries.breaches_of(session, [incident.id]).get(incident.id, [])
    if not recorded:
        return ()
    history = queries.events_of(session, [incident.id], HISTORY_KINDS).get(incident.id, [])
    return breach_views(incident, evaluation, recorded, history)


def note_breach(
    session: Session,
    incident: Incident,
    timer: TimerKind | str,
    contract: str,
    target: str,
    due_at: dt.datetime,
    noticed_at: dt.datetime,
    noticed_by: NoticedBy,
) -> None:
    """Record that ``timer``'s deadline ``due_at`` passed unmet, under the incident's grade
    now, unless it is recorded already (the first sighting is kept)."""
    queries.note_breach(
        session,
        {
            "incident_id": incident.id, "timer": str(timer), "contract": contract,
            "target": target, "severity": incident.severity, "due_at": due_at,
            "noticed_at": noticed_at, "noticed_by": noticed_by,
        },
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Stored:
    """A timer as it was stored before a change (what ``_note_stored_breaches`` needs)."""

    kind: str
    contract: str
    target: str
    deadline_at: dt.datetime | None
    stopped_at: dt.datetime | None
    outcome: str | None


def _note_stored_breaches(
    session: Session, incident: Incident, stored: list[_Stored], severity: int, now: dt.datetime
) -> None:
    """The breaches the timers stored before a change show (stopped late, or open past
    their deadline; pauses already moved the stored deadlines), under ``severity``."""
    for timer in stored:
        late = timer.outcome == TimerState.BREACHED or (
            timer.stopped_at is None and timer.deadline_at is not None and timer.deadline_at < now
        )
        if late and timer.deadline_at is not None:
            queries.note_breach(
                session,
                {
                    "incident_id": incident.id, "timer": timer.kind, "contract": timer.contract,
                    "target": timer.target, "severity": severity, "due_at": timer.deadline_at,
                    "noticed_at": now, "noticed_by": NoticedBy.RECORD,
                },
            )  # fmt: skip


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


def _store_timers(
    session: Session, incident: Incident, timers: dict[str, dict[str, Any]]
) -> list[_Stored]:
    """Store the derived timers; return them as they were stored before."""
    stored = queries.timers_of(session, [incident.id]).get(incident.id, {})
    before = [
        _Stored(t.kind, t.contract, t.target, t.deadline_at, t.stopped_at, t.outcome)
        for t in stored.values()
    ]
    for kind, values in timers.items():
        timer = stored.pop(kind, None) or Timer(incident_id=incident.id, kind=kind)
        for column, value in values.items():
            setattr(timer, column, value)
        session.add(timer)
    for timer in stored.values():  # a re-grade can drop a timer (no progress cadence)
        session.delete(timer)
    return before


def reminder_key(incident_id: int, reminder: PlannedReminder) -> str:
    return (
        f"{incident_id}/{reminder.timer.value}/{reminder.deadline.strftime('%Y%m%dT%H%M%SZ')}/"
        f"{reminder.step.replace(' ', '-')}"
    )


def _replan(
    session: Session,
    incident: Incident,
    evaluation: Evaluation,
    derived: Derived,
    now: dt.datetime,
) -> None:
    """Cancel pending reminders whose deadline no longer holds; add the planned ones not yet known.

    A pending reminder stays as long as its timer is open, unpaused and still due at the
    same deadline, even if it is overdue (a worker that was down posts it, late). A breach
    notice for a deadline already past is planned only if the timer's breach was never
    announced: a re-grade or a correction that moves a breached timer's deadline does not
    announce the breach again (a progress deadline is its own: each cadence is announced).
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
        if r.timer not in (BudgetTimer.BUDGET, BudgetTimer.DM)
        and (paused or holding.get(TimerKind(r.timer)) != r.deadline_at)
    ]
    queries.cancel_reminders(session, stale)
    keyed = {reminder_key(incident.id, p): p for p in derived.plan}
    known = queries.reminders_by_key(session, keyed)
    overdue = [  # breach notices for a deadline already past, to be written or revived
        p
        for key, p in keyed.items()
        if p.kind is ReminderKind.BREACH
        and p.due_at < now
        and p.timer is not TimerKind.PROGRESS
        and (key not in known or known[key][1] == OutboxStatus.CANCELLED)
    ]
    announced = queries.announced_timers(session, incident.id) if overdue else set()
    wanted = {
        key: p for key, p in keyed.items() if not (p in overdue and p.timer.value in announced)
    }
    # A deadline that holds again (a re-grade or a correction undone) gets back the
    # reminders cancelled when it stopped holding: their keys are taken.
    queries.revive_reminders(
        session,
        [known[k][0] for k in wanted if k in known and known[k][1] == OutboxStatus.CANCELLED],
    )
    for key, planned in wanted.items():
        if key not in known:
            session.add(Reminder(**reminder_row(incident.id, planned, now)))


def replan_others(
    session: Session,
    incident_id: int | None,
    customer_ids: Sequence[str],
    registry: Contracts,
    now: dt.datetime,
) -> None:
    """Re-plan the budget reminders of the other outages running for these customers
    (``customer_ids``; none: every customer): a change to one outage's facts, or announced
    maintenance, moves the crossings of every outage of the customer."""
    others = queries.running_outages(session, besides=incident_id or -1)
    if not others:
        return
    linked = queries.customers_of(session, [o.id for o in others])
    wanted = set(customer_ids)
    for other in others:
        theirs = linked.get(other.id, [])
        if wanted and theirs and not wanted & set(theirs):
            continue
        stakes = at_stake(session, other, theirs, registry, now)
        _replan_budget(session, other, stakes, registry, now)


def _replan_budget(
    session: Session, incident: Incident, stakes: Stakes, registry: Contracts, now: dt.datetime
) -> None:
    """The budget timer's reminders (``bot.sla.stakes``): warnings before each of the
    ``SHOWN`` nearest crossings this incident runs towards and a notice when it comes, one
    row per instant for all the customers crossing then; and the managers' direct messages
    with the amounts, 15 minutes before and at each crossing (``BudgetTimer.DM``: a timer
    of its own, so that the outbox never supersedes one by the channel's notice due at the
    same instant). Pending ones whose crossing no longer holds are cancelled; a pause
    cancels none (downtime goes on while the incident waits on the customer)."""
    deadlines = stakes.deadlines
    stale = [
        r.id
        for r in queries.pending_reminders(session, incident.id)
        if r.timer in (BudgetTimer.BUDGET, BudgetTimer.DM) and r.deadline_at not in deadlines
    ]
    queries.cancel_reminders(session, stale)
    if not deadlines:
        return
    # The nearest crossings ahead only, as the card shows them: an outage of the whole
    # platform may run towards a thousand customers' tiers, each at its own instant. Each
    # crossing notice posted re-plans the incident, so the next ones come into view.
    ahead = set(sorted({at for at in deadlines if at > now})[:SHOWN])
    plan = {
        reminder_key(incident.id, p): p
        for t in stakes.tiers
        for p in plan_crossing_reminders(
            [c for c in t.crossings if c.at in ahead], t.customer.policy.reminders, now
        )
    }
    plan.update(
        (reminder_key(incident.id, p), p)
        for p in plan_manager_notices(
            [c for t in stakes.tiers for c in t.crossings if c.at in ahead], now
        )
    )
    known = queries.reminders_by_key(session, plan)
    queries.revive_reminders(
        session, [known[k][0] for k in plan if k in known and known[k][1] == OutboxStatus.CANCELLED]
    )
    new = [reminder_row(incident.id, p, now) for key, p in plan.items() if key not in known]
    if new:  # another unit of work may be re-planning this incident's budget too
        session.execute(queries.insert_new(session, Reminder, new, unique=["dedupe_key"]))


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
    return "earlier" if instant is None else f"at {format_utc(instant)}"
