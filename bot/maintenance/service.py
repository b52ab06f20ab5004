"""Announced maintenance: announce, list, move and cancel windows, and say per contract
whether a window's notice is enough for it to be excluded from downtime.

Whether a window is excluded is ``bot.sla.uptime.notice_given`` — the rule reports use —
applied to each affected customer's contract. Each announcement, move and cancellation is a
``MaintenanceEvent`` (who, when, before → after, reason), written with the change.

- A window called off before it starts excludes nothing (reports do not read it).
- Called off while under way, it ends then: the part already under way was announced with
  its notice and stays excluded (``ends_at`` becomes the cancellation instant).
- A window that has ended is history: neither moved nor cancelled (reports already counted
  it; a correction of the past is an import of the corrected record).
- A move to a time outside the announced window is a new announcement: its notice counts
  from the move. A window under way can only be shortened (its start has happened);
  more time is a new window with its own notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service as incidents
from bot.incidents.service import resolve_customers
from bot.sla.contract import Contract
from bot.sla.uptime import notice_given
from bot.text import format_span
from config.policy import Duration, Policy
from storage import queries
from storage.models import MaintenanceEvent, MaintenanceWindow

RECENT = dt.timedelta(days=30)
"""``list`` shows the windows that ended this long ago or less, and every later one."""
LISTED = 50
MAX_REASON = 500


class Notice(StrEnum):
    """What one contract makes of a window's notice."""

    ENOUGH = "enough"
    """Announced at least the contract's notice ahead: excluded from downtime."""
    TOO_LATE = "too_late"
    """Announced too late: the window counts as downtime."""
    NEVER = "never"
    """The contract never excludes maintenance (``excluded: false``)."""
    UNMEASURED = "unmeasured"
    """The contract has no uptime commitment: maintenance changes nothing."""


class WindowState(StrEnum):
    """Where a window stands at an instant (``WindowView.state``)."""

    UPCOMING = "upcoming"
    UNDER_WAY = "under way"
    ENDED = "ended"
    CALLED_OFF = "called off"
    """Cancelled before it started: it excludes nothing."""
    CUT_SHORT = "cut short"
    """Cancelled while under way: it ended then."""


@dataclass(frozen=True)
class Verdict:
    """The customers on one set of maintenance terms, and what those terms make of a window."""

    customers: tuple[str, ...]
    policy: str
    notice: Duration | None
    given: dt.timedelta
    outcome: Notice

    def describe(self) -> str:
        """``acme (dixa, 24 h notice): not enough notice (1h 52m given) — this window will
        count as downtime``."""
        who = ", ".join(self.customers)
        if self.notice is None:
            terms = self.policy
        elif self.notice.amount == 0:
            terms = f"{self.policy}, no minimum notice"
        else:
            terms = f"{self.policy}, {_duration(self.notice)} notice"
        given = format_span(max(self.given, dt.timedelta(0)))
        match self.outcome:
            case Notice.ENOUGH:
                what = f"enough notice ({given} given) — excluded from downtime"
            case Notice.TOO_LATE:
                what = f"not enough notice ({given} given) — this window will count as downtime"
            case Notice.NEVER:
                what = "maintenance is never excluded — this window will count as downtime"
            case _:
                what = "no uptime commitment — maintenance changes nothing"
        return f"{who} ({terms}): {what}"


@dataclass(frozen=True)
class Change:
    """A move or a cancellation: who, when, the window before, and why."""

    kind: str
    at: dt.datetime
    actor: str
    was: tuple[dt.datetime, dt.datetime] | None
    reason: str | None


@dataclass(frozen=True)
class WindowView:
    ref: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    announced_at: dt.datetime
    customers: tuple[str, ...]
    """The customers named; empty when the window affects every customer."""
    created_by: str
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
    verdicts: tuple[Verdict, ...]
    changes: tuple[Change, ...] = ()
    """Its moves and cancellation, oldest first (``list`` shows them)."""

    @property
    def called_off(self) -> bool:
        """Cancelled before it started: it excludes nothing."""
        return self.cancelled_at is not None and self.cancelled_at <= self.starts_at

    def state(self, now: dt.datetime) -> WindowState:
        if self.cancelled_at is not None:
            return WindowState.CALLED_OFF if self.called_off else WindowState.CUT_SHORT
        if self.ends_at <= now:
            return WindowState.ENDED
        return WindowState.UNDER_WAY if self.starts_at <= now else WindowState.UPCOMING


@dataclass(frozen=True)
class Moved:
    window: WindowView
    before: tuple[dt.datetime, dt.datetime]
    renoticed: bool
    """The notice now counts from the move (the new time lies outside the announced one)."""


def verdicts(
    ctx: Context,
    customer_ids: Sequence[str],
    announced_at: dt.datetime,
    starts_at: dt.datetime,
) -> tuple[Verdict, ...]:
    """What each affected contract makes of a window's notice, customers on the same terms
    together. No customers named: every configured customer (or, with none configured, the
    deployment's own contract)."""
    registry = ctx.contracts
    if customer_ids:  # a customer no longer configured has no contract to judge by
        contracts = [
            Contract.of_customer(registry.customers[c])
            for c in customer_ids
            if c in registry.customers
        ]
    elif registry.customers:
        contracts = [Contract.of_customer(c) for c in registry.customers.values()]
    else:
        contracts = [Contract.of_deployment(registry.default_policy)]
    grouped: dict[tuple, list[str]] = {}
    for contract in contracts:
        key = _judge(contract.policy, contract, announced_at, starts_at)
        who = contract.customer.id if contract.customer else "everyone"
        grouped.setdefault(key, []).append(who)
    return tuple(
        Verdict(tuple(who), policy, notice, starts_at - announced_at, outcome)
        for (policy, notice, outcome), who in grouped.items()
    )


def _judge(
    policy: Policy, contract: Contract, announced_at: dt.datetime, starts_at: dt.datetime
) -> tuple[str, Duration | None, Notice]:
    uptime = policy.uptime
    if uptime is None:
        return policy.id, None, Notice.UNMEASURED
    if not uptime.maintenance.excluded:
        return policy.id, None, Notice.NEVER
    given = notice_given(announced_at, starts_at, uptime.maintenance, contract.calendar)
    return policy.id, uptime.maintenance.notice, Notice.ENOUGH if given else Notice.TOO_LATE


def _duration(notice: Duration) -> str:
    """``24 h``, ``2 bd``."""
    return f"{notice.amount} {notice.unit}"


def as_json(view: WindowView) -> dict:
    """A window for ``slabot maintenance list --format json``."""
    return {
        "ref": view.ref, "title": view.title, "starts_at": view.starts_at.isoformat(),
        "ends_at": view.ends_at.isoformat(), "announced_at": view.announced_at.isoformat(),
        "customers": list(view.customers), "created_by": view.created_by,
        "cancelled_at": view.cancelled_at.isoformat() if view.cancelled_at else None,
        "cancelled_by": view.cancelled_by, "excludes_nothing": view.called_off,
        "changes": [
            {"kind": c.kind, "at": c.at.isoformat(), "by": c.actor, "reason": c.reason,
             "was": None if c.was is None else [c.was[0].isoformat(), c.was[1].isoformat()]}
            for c in view.changes
        ],
        "contracts": [
            {"customers": list(v.customers), "policy": v.policy,
             "notice": None if v.notice is None else str(v.notice), "outcome": v.outcome.value}
            for v in view.verdicts
        ],
    }  # fmt: skip


# --- announce, list ----------------------------------------------------------------------------


def announce(
    ctx: Context,
    *,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    actor: str,
    customers: Sequence[str] = (),
) -> WindowView:
    """Announce a window now; the view says per contract whether the notice is enough."""
    if ends_at <= ctx.clock.now():
        raise Refusal(
            "that window has already ended; announce maintenance that is still to come "
            "(past windows are recorded with `slabot import`)"
        )
    made = incidents.add_maintenance(
        ctx, title=title, starts_at=starts_at, ends_at=ends_at, actor=actor, customers=customers
    )
    return window(ctx, made.ref)


def window(ctx: Context, ref: str) -> WindowView:
    with ctx.db.read() as session:
        found = _find(session, ref)
        named = queries.maintenance_customers(session, [found.id]).get(found.id, [])
        return _view(ctx, found, named)


def listed(ctx: Context, customer: str | None = None) -> list[WindowView]:
    """The windows still to come or under way, and those that ended in the last ``RECENT``,
    soonest first; with ``customer``, only those affecting it (and only its verdict)."""
    customer_id = resolve_customers(ctx.contracts, [customer])[0] if customer else None
    since = ctx.clock.now() - RECENT
    with ctx.db.read() as session:
        rows = queries.maintenance_listed(session, since, LISTED)
        named = queries.maintenance_customers(session, [w.id for w in rows])
        events = queries.maintenance_events(session, [w.id for w in rows])
        views = []
        for row in rows:
            affected = named.get(row.id, [])
            if customer_id is not None and affected and customer_id not in affected:
                continue
            judged = [customer_id] if customer_id is not None else None
            views.append(_view(ctx, row, affected, judged, events.get(row.id, ())))
        return views


def history(ctx: Context, ref: str) -> list[MaintenanceEvent]:
    """The window's events, oldest first."""
    with ctx.db.read() as session:
        found = _find(session, ref)
        return queries.maintenance_events(session, [found.id]).get(found.id, [])


# --- move, cancel ------------------------------------------------------------------------------


def cancel(ctx: Context, ref: str, *, actor: str, reason: str = "") -> WindowView:
    """Call a window off. Before it starts it excludes nothing; under way, it ends now."""
    now = ctx.clock.now()
    reason = reason_text(reason)
    with ctx.db.transaction() as session:
        found = _find(session, ref, for_update=True)
        _still_to_come(found, now, "cancelled")
        before = _instants(found)
        found.cancelled_at, found.cancelled_by = now, actor
        if found.starts_at < now:
            found.ends_at = now
        return _changed(ctx, session, found, "cancelled", before, now, actor, reason)


def move(
    ctx: Context,
    ref: str,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    actor: str,
    reason: str = "",
) -> Moved:
    """Move a window to ``[starts_at, ends_at)``. Inside the announced window the notice
    stands; anywhere else it is a new announcement, whose notice counts from now."""
    now = ctx.clock.now()
    reason = reason_text(reason)
    if ends_at <= starts_at:
        raise Refusal("maintenance must end after it starts")
    with ctx.db.transaction() as session:
        found = _find(session, ref, for_update=True)
        _still_to_come(found, now, "moved")
        old = (found.starts_at, found.ends_at)
        if old == (starts_at, ends_at):
            raise Refusal(f"{found.ref} already runs from then to then; nothing to move")
        if found.starts_at <= now:
            if starts_at != found.starts_at or ends_at > found.ends_at or ends_at <= now:
                raise Refusal(
                    f"{found.ref} is under way: it can only end earlier (but not before now). "
                    f"Keep its start and give an earlier end, cancel it to end it now, or "
                    "announce more time as a new window (its notice counts from now)"
                )
        elif starts_at < now:
            raise Refusal(
                f"{found.ref} has not started; it cannot be moved into the past (give a start "
                "from now on)"
            )
        inside = found.starts_at <= starts_at and ends_at <= found.ends_at
        before = _instants(found)
        found.starts_at, found.ends_at = starts_at, ends_at
        if not inside:
            found.announced_at = now
        view = _changed(ctx, session, found, "moved", before, now, actor, reason)
        return Moved(view, old, renoticed=not inside)


def _changed(
    ctx: Context,
    session,
    found: MaintenanceWindow,
    kind: str,
    before: dict[str, str],
    now: dt.datetime,
    actor: str,
    reason: str,
) -> WindowView:
    """Write the change to ``found`` (a move or a cancellation, already applied) as its
    event, and re-plan the budget reminders of the outages running for its customers, as
    announcing does: the excluded time moved, and with it their tier crossings. The window
    as it now stands."""
    session.add(
        MaintenanceEvent(
            maintenance_id=found.id, at=now, actor=actor, kind=kind,
            before=before, after=_instants(found), reason=reason or None,
        )
    )  # fmt: skip
    session.flush()
    named = queries.maintenance_customers(session, [found.id]).get(found.id, [])
    incidents.replan_others(session, None, named, ctx.contracts, now)
    return _view(ctx, found, named)


def _still_to_come(found: MaintenanceWindow, now: dt.datetime, done: str) -> None:
    if found.cancelled_at is not None:
        raise Refusal(f"{found.ref} was cancelled already; announce a new window instead")
    if found.ends_at <= now:
        raise Refusal(
            f"{found.ref} has ended, so it cannot be {done}: reports have counted it "
            "(a correction of the past is an import of the corrected record)"
        )


def _find(session, ref: str, *, for_update: bool = False) -> MaintenanceWindow:
    found = queries.maintenance_by_ref(session, ref)
    if found is None:
        raise Refusal(
            f"{ref!r} is not a maintenance window; `/sla maintenance list` shows them (MW-1, …)"
        )
    if for_update:
        session.refresh(found, with_for_update=True)
    return found


def reason_text(reason: str) -> str:
    """A move's or a cancellation's reason as recorded: on one line, spaces collapsed."""
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise Refusal(f"a reason is at most {MAX_REASON} characters; this one has {len(reason)}")
    return reason


def _instants(window: MaintenanceWindow) -> dict[str, str]:
    return {
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "announced_at": window.announced_at.isoformat(),
    }


def _changes(events: Sequence[MaintenanceEvent]) -> tuple[Change, ...]:
    def was(event: MaintenanceEvent) -> tuple[dt.datetime, dt.datetime] | None:
        before = event.before or {}
        if "starts_at" not in before:
            return None
        start, end = before["starts_at"], before["ends_at"]
        return dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)

    return tuple(
        Change(e.kind, e.at, e.actor, was(e), e.reason) for e in events if e.kind != "announced"
    )


def _view(
    ctx: Context,
    row: MaintenanceWindow,
    named: Sequence[str],
    judged: Sequence[str] | None = None,
    events: Sequence[MaintenanceEvent] = (),
) -> WindowView:
    return WindowView(
        ref=row.ref,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        announced_at=row.announced_at,
        customers=tuple(sorted(named)),
        created_by=row.created_by,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        verdicts=verdicts(ctx, judged if judged is not None else sorted(named), row.announced_at,
                          row.starts_at),
        changes=_changes(events),
    )  # fmt: skip
