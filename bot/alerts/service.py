"""Alerts in: what slabot does with the alerts a monitoring tool sends (docs/semantics.md is
the SLA's; these are the alert's, decided in docs/decisions.md, "Alerts in").

- A firing alert the rules take declares an incident whose impact started when the alert
  began firing, or — when an open incident already holds its key or its group's key —
  joins that incident. Alerts of one group (one Alertmanager or Grafana ``groupKey``) make
  one incident.
- When every alert of an incident has resolved, the incident is *restored* at the last
  one's end; a person still resolves it.
- A key belongs to one open incident (or waiting "declare?" proposal) at a time: its
  ``claim`` is unique, so the same payload twice, a storm of one group, or two processes
  receiving at once make one incident — the loser of a race rolls back and joins the
  winner's. A key is released when its incident is resolved: the alert firing after that
  is a new outage.
- Every change is a timeline event by the source (``alertmanager``, ``pagerduty``…).

The Slack side (the incident's channel and card, the restore note, the "declare?"
message) is the ``Announcer``'s; this module only decides and records.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from bot.alerts.rules import AlertRules, Decision
from bot.alerts.sources import Alert
from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service as incidents
from bot.incidents.views import IncidentView
from bot.text import plural
from storage import alerts as alert_keys
from storage import queries
from storage.models import AlertKey, Incident

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5
"""Rounds of declare-or-join a delivery makes when other deliveries keep winning the race."""


class Announcer(Protocol):
    """The Slack side of what alerts do."""

    def declare(
        self, ctx: Context, also: Callable[[Session, Incident], None], **fields: Any
    ) -> IncidentView:
        """Declare with ``incidents.declare``'s ``fields``, and the Slack side with it; ``also``
        runs in the declaration's transaction."""
        ...

    def restored(self, view: IncidentView, source: str) -> None: ...

    def proposed(self, task_id: int | None) -> None:
        """Post the "declare?" question: the ``QUESTION`` task written with the proposal."""
        ...

    def settled(self, proposal: dict, text: str) -> None: ...


@dataclass
class Outcome:
    """What one delivery did: references declared, joined, restored; proposals asked;
    alerts no rule took."""

    declared: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    proposed: int = 0
    ignored: int = 0
    unchanged: int = 0

    def as_json(self) -> dict:
        return {
            "declared": self.declared,
            "joined": self.joined,
            "restored": self.restored,
            "proposed": self.proposed,
            "ignored": self.ignored,
            "unchanged": self.unchanged,
        }


class _Taken(Exception):
    """Another delivery claimed the group's key first: join its incident instead."""


def receive(
    ctx: Context, rules: AlertRules, alerts: Sequence[Alert], announcer: Announcer
) -> Outcome:
    """Take in one delivery's alerts: declare, join, restore, or ask."""
    outcome = Outcome()
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.source, alert.group or alert.key), []).append(alert)
    for (source, group), members in groups.items():
        resolved = [a for a in members if not a.firing]
        if resolved:
            _resolve(ctx, source, resolved, announcer, outcome)
        firing = []
        for alert in members:
            if not alert.firing:
                continue
            decision = rules.decide(alert)
            if decision is None:
                outcome.ignored += 1
            else:
                firing.append((alert, decision))
        if firing:
            _fire(ctx, source, group, firing, announcer, outcome)
    return outcome


# --- firing ------------------------------------------------------------------------------------


_STRIPES = [threading.Lock() for _ in range(64)]
"""Deliveries of one group in this process take turns (a group hashes to one of these):
the second finds the first's incident and joins it, rather than declare, lose the race for
the claim and roll back (which skips an incident number). Other processes are kept to one
incident by the claim alone."""


def _fire(
    ctx: Context,
    source: str,
    group: str,
    firing: list[tuple[Alert, Decision]],
    announcer: Announcer,
    outcome: Outcome,
) -> None:
    """Join the incident or proposal holding the group, else declare or propose one, in
    turn with this process's other deliveries of the group (``_STRIPES``)."""
    with _STRIPES[zlib.crc32(f"{source}:{group}".encode()) % len(_STRIPES)]:
        grouped = firing[0][0].group is not None
        firing = _not_repeats(ctx, source, firing)
        if not firing:
            outcome.unchanged += 1
            return
        for _ in range(ATTEMPTS):
            if _join(ctx, source, group, grouped, firing, outcome):
                return
            decision = min((d for _, d in firing), key=lambda d: d.severity)
            try:
                if decision.auto:
                    view = _declare(ctx, source, group, grouped, firing, decision, announcer)
                    outcome.declared.append(view.ref)
                else:
                    task_id = _propose(ctx, source, group, grouped, firing, decision)
                    outcome.proposed += 1
                    announcer.proposed(task_id)
                return
            except _Taken:
                continue
    raise RuntimeError(f"{source} group {group!r}: no incident after {ATTEMPTS} rounds")


def _claims(source: str, keys: Sequence[str]) -> list[str]:
    return [f"{source}:{key}"[:220] for key in keys]


def _not_repeats(
    ctx: Context, source: str, firing: list[tuple[Alert, Decision]]
) -> list[tuple[Alert, Decision]]:
    """The alerts that are not a repeat of one a resolved incident held: the same key *and*
    the same start is the alert a person already resolved, sent again by the tool
    (Alertmanager repeats a group's firing alerts every ``repeat_interval``); a new start is
    a new outage."""
    keys = [a.key for a, _ in firing]
    with ctx.db.read() as session:
        rows = alert_keys.history(session, source, keys)
    held = {key for key, _, claim, resolved in rows if claim is not None and resolved is None}
    over = {(key, at) for key, at, claim, resolved in rows if claim is None or resolved is not None}
    return [
        (alert, decision)
        for alert, decision in firing
        if alert.key in held or (alert.key, alert.started_at) not in over
    ]


def _join(
    ctx: Context,
    source: str,
    group: str,
    grouped: bool,
    firing: list[tuple[Alert, Decision]],
    outcome: Outcome,
) -> bool:
    """Join the open incident (or waiting proposal) that holds the group's key or one of the
    alerts' keys; ``False`` when none does."""
    keys = [a.key for a, _ in firing]
    with ctx.db.transaction() as session:
        live = alert_keys.live(session, _claims(source, ([group] if grouped else []) + keys))
        if not live:
            return False
        anchor = live[0]
        incident = None
        if anchor.incident_id is not None:
            incident = queries.incident_by_id(session, anchor.incident_id, lock=True)
        now = ctx.clock.now()
        held = {r.key: r for r in live}
        again = [a for a, _ in firing if a.key in held and not held[a.key].firing]
        for alert in again:
            row = held[alert.key]
            row.firing, row.ended_at = True, None
        fresh = [a for a, _ in firing if a.key not in held]
        added = _insert(session, source, fresh, anchor.anchor_id, anchor.incident_id, now)
        if incident is None:
            outcome.unchanged += 1
            return True
        if added or again:
            parts = []
            if added:
                parts.append(f"{plural(len(added), 'more alert')} firing")
            if again:
                parts.append(f"{len(again)} firing again")
            names = _names([a.title for a in fresh if a.key in added] + [a.title for a in again])
            earliest = min(a.started_at for a in fresh if a.key in added) if added else None
            if earliest is not None and earliest < incident.impact_start:
                names += (
                    f" (one began {earliest.isoformat()}, before the incident's start: "
                    "`/incident correct` moves it)"
                )
            incidents.note_alert(
                session, incident, now, source, f"{', '.join(parts)}: {names}",
                after={"keys": sorted(added) + [a.key for a in again]},
            )  # fmt: skip
            outcome.joined.append(incident.ref)
        else:
            outcome.unchanged += 1
        return True


def _names(titles: Sequence[str], limit: int = 5) -> str:
    """``a; b; c and 2 more``: the distinct titles, the first ``limit`` of them."""
    titles = list(dict.fromkeys(titles))
    more = f" and {len(titles) - limit} more" if len(titles) > limit else ""
    return "; ".join(titles[:limit]) + more


def _insert(
    session: Session,
    source: str,
    alerts: Sequence[Alert],
    anchor_id: int | None,
    incident_id: int | None,
    now: dt.datetime,
) -> set[str]:
    """Claim the keys of ``alerts`` for the anchor; the keys this call claimed (a key another
    delivery claimed meanwhile is left to it)."""
    if not alerts:
        return set()
    unique = {a.key: a for a in sorted(alerts, key=lambda a: a.key)}  # one lock order for all
    rows = [
        {
            "source": source, "key": key[:200], "claim": claim, "anchor_id": anchor_id,
            "incident_id": incident_id, "is_group": False, "firing": True,
            "started_at": alert.started_at, "received_at": now, "title": alert.title[:500],
        }
        for (key, alert), claim in zip(unique.items(), _claims(source, list(unique)), strict=True)
    ]  # fmt: skip
    return alert_keys.claim(session, rows)


def _anchor(
    session: Session,
    source: str,
    group: str,
    grouped: bool,
    firing: list[tuple[Alert, Decision]],
    incident_id: int | None,
    now: dt.datetime,
    proposal: dict | None = None,
) -> int:
    """Claim the group's key (or, ungrouped, the first alert's) and the alerts' keys; the
    anchor's id. ``_Taken`` when another delivery holds the group's key."""
    first = firing[0][0]
    key = group if grouped else first.key
    row = {
        "source": source, "key": key[:200], "claim": _claims(source, [key])[0],
        "incident_id": incident_id, "is_group": grouped, "firing": True,
        "started_at": min(a.started_at for a, _ in firing), "received_at": now,
        "title": first.title[:500], "proposal": proposal,
    }  # fmt: skip
    anchor_id = alert_keys.claim_anchor(session, row)
    if anchor_id is None:
        raise _Taken()
    rest = [a for a, _ in firing if not (not grouped and a.key == key)]
    _insert(session, source, rest, anchor_id, incident_id, now)
    return anchor_id


def _start(firing: list[tuple[Alert, Decision]], now: dt.datetime) -> dt.datetime:
    """The impact start: when the first alert began firing (a clock a little ahead of
    slabot's is read as now)."""
    return min(min(a.started_at for a, _ in firing), now)


def _declare(
    ctx: Context,
    source: str,
    group: str,
    grouped: bool,
    firing: list[tuple[Alert, Decision]],
    decision: Decision,
    announcer: Announcer,
) -> IncidentView:
    now = ctx.clock.now()
    customers, unknown = _known_customers(ctx, decision.customers)

    def claim(session: Session, incident: Incident) -> None:
        """In the declaration's transaction: the alerts' keys, and a note of any customer
        the alert names that the customers file does not know."""
        _anchor(session, source, group, grouped, firing, incident.id, now)
        if unknown:
            incidents.note_alert(
                session, incident, now, source,
                f"the alert names {', '.join(unknown)}, not a customer in the customers "
                "file: declared for no customer in particular",
            )  # fmt: skip

    return announcer.declare(
        ctx, claim, title=decision.title, severity=decision.severity, actor=source,
        customers=customers, outage=decision.outage, started_at=_start(firing, now),
        source=source,
    )  # fmt: skip


def _known_customers(ctx: Context, names: Sequence[str]) -> tuple[list[str], list[str]]:
    known, unknown = [], []
    for name in names:
        try:
            known.extend(incidents.resolve_customers(ctx.contracts, [name]))
        except Refusal:
            unknown.append(name)
    return known, unknown


# --- "declare?" --------------------------------------------------------------------------------


def _propose(
    ctx: Context,
    source: str,
    group: str,
    grouped: bool,
    firing: list[tuple[Alert, Decision]],
    decision: Decision,
) -> int | None:
    """Claim the alerts' keys for a "declare?" proposal; the ``QUESTION`` task that asks it
    (``None``: one with its key exists already)."""
    now = ctx.clock.now()
    proposal = {
        "source": source, "title": decision.title, "severity": decision.severity,
        "customers": list(decision.customers), "outage": decision.outage,
        "started_at": _start(firing, now).isoformat(), "rule": decision.rule,
        "alerts": len(firing),
    }  # fmt: skip
    with ctx.db.transaction() as session:
        anchor_id = _anchor(session, source, group, grouped, firing, None, now, proposal)
        # The question is posted by a task written with the proposal: a crash before it is
        # posted leaves it to the worker, not a proposal nobody is asked about.
        from bot.tasks import service as tasks  # (it imports every kind's handler)

        return tasks.schedule(
            session, QUESTION, f"{QUESTION}:{anchor_id}", {"anchor_id": anchor_id}, due_at=now
        )


QUESTION = "alert_question"
"""The task kind that posts a "declare?" question (``bot.alerts.announce``)."""


def remember_message(ctx: Context, anchor_id: int, ts: str) -> None:
    """The question's message, kept with the proposal (so its outcome can replace it)."""
    with ctx.db.transaction() as session:
        anchor = session.get(AlertKey, anchor_id, with_for_update=True)
        if anchor is not None and anchor.proposal is not None:
            anchor.proposal = {**anchor.proposal, "message_ts": ts}


def declare_proposal(ctx: Context, anchor_id: int, actor: str, declare: Callable[..., T]) -> T:
    """Declare what a "declare?" message proposed (its button) through ``declare`` (the
    Slack side's ``declaration.declare``, given ``also`` and the incident's fields); a
    refusal when it was declared already or its alerts resolved before anyone did."""
    with ctx.db.read() as session:
        anchor = session.get(AlertKey, anchor_id)
        if anchor is None or anchor.proposal is None:
            raise Refusal("this alert is no longer known to slabot; nothing was declared")
        proposal = dict(anchor.proposal)
    now = ctx.clock.now()
    customers, _ = _known_customers(ctx, proposal["customers"])

    def claim(session: Session, incident: Incident) -> None:
        row = session.get(AlertKey, anchor_id, with_for_update=True)
        if row.incident_id is not None:
            taken = session.get(Incident, row.incident_id)
            raise Refusal(f"it was declared already: {taken.ref if taken else 'an incident'}")
        if row.claim is None:
            raise Refusal("its alerts resolved before anyone declared it; nothing was declared")
        alert_keys.give(session, anchor_id, incident.id)

    return declare(
        title=proposal["title"], severity=proposal["severity"], actor=actor,
        customers=customers, outage=proposal["outage"],
        started_at=min(dt.datetime.fromisoformat(proposal["started_at"]), now),
        source=proposal["source"], also=claim,
    )  # fmt: skip


def proposal_of(ctx: Context, anchor_id: int) -> dict | None:
    with ctx.db.read() as session:
        anchor = session.get(AlertKey, anchor_id)
        return None if anchor is None else anchor.proposal


# --- resolved ------------------------------------------------------------------------------------


def _resolve(
    ctx: Context, source: str, resolved: list[Alert], announcer: Announcer, outcome: Outcome
) -> None:
    ends = {a.key: a.ended_at for a in resolved}
    restore: list[tuple[str, dt.datetime]] = []
    settled: list[dict] = []
    claims = _claims(source, list(ends))
    with ctx.db.transaction() as session:
        now = ctx.clock.now()
        # The incidents' anchors first, as a firing delivery locks them (its group's key is
        # its first row): deliveries resolving different alerts of one incident take turns,
        # so the last of them sees the others' alerts resolved and restores it.
        alert_keys.lock_anchors_of(session, claims)
        live = [r for r in alert_keys.live(session, claims) if not r.is_group]
        changed = [r for r in live if r.firing]
        if not changed:
            outcome.unchanged += len(resolved)
            return
        for row in changed:
            row.firing, row.ended_at = False, min(ends[row.key] or now, now)
        session.flush()
        for anchor_id in {r.anchor_id for r in changed}:
            rows = alert_keys.held(session, anchor_id)
            firing = [r for r in rows if r.firing]
            last_end = max(r.ended_at for r in rows if r.ended_at is not None)
            incident_id = rows[0].incident_id if rows else None
            if incident_id is None:  # a proposal nobody took up: its alerts are over
                if not firing:
                    anchor = session.get(AlertKey, anchor_id)
                    settled.append(dict(anchor.proposal or {}, ended_at=last_end.isoformat()))
                    alert_keys.release(session, anchor_id)
                continue
            incident = queries.incident_by_id(session, incident_id, lock=True)
            ended = [r for r in changed if r.anchor_id == anchor_id]
            text = f"{plural(len(ended), 'alert')} resolved"
            text += f", {len(firing)} still firing" if firing else ", none still firing"
            text += f": {_names([r.title or r.key for r in ended])}"
            incidents.note_alert(
                session, incident, now, source, text,
                after={"keys": [r.key for r in ended]},
            )  # fmt: skip
            if not firing and incident.restored_at is None and incident.resolved_at is None:
                restore.append((incident.ref, last_end))
    for proposal in settled:
        announcer.settled(proposal, "its alerts resolved before anyone declared it")
    for ref, at in restore:
        try:
            view = incidents.restore(ctx, ref, source, at=at)
        except Refusal as refusal:  # restored or resolved meanwhile, or a time it refuses
            log.info("%s not restored by %s: %s", ref, source, refusal)
            continue
        outcome.restored.append(ref)
        announcer.restored(view, source)
