"""Tables. Instants are ``UTCDateTime`` (aware UTC on both databases).

An incident's state (declared → acknowledged → restored → resolved) is not stored: it
follows from which instants are set, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, Word


def _instant(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _incident_fk() -> Any:
    return Field(
        sa_column=Column(
            Integer, ForeignKey("incident.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class IncidentState(StrEnum):
    """Where an incident is, from the instants it has (``Incident.state``)."""

    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    RESTORED = "restored"
    RESOLVED = "resolved"


class Incident(SQLModel, table=True):
    __table_args__ = (Index("ix_incident_ref_upper", text("upper(ref)")),)
    """References are looked up case-insensitively (``inc-7`` is ``INC-7``)."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    severity: int
    declared_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    reported_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    """When the response timer starts: the declaration, or the earlier time the declarer gave."""
    impact_start: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    acknowledged_at: dt.datetime | None = _instant()
    restored_at: dt.datetime | None = _instant()
    resolved_at: dt.datetime | None = _instant(index=True)
    declared_by: str | None = Field(default=None, max_length=64)
    outage: bool = False
    impact_pct: float | None = None
    excluded_reason: str | None = Field(default=None, sa_type=Text)
    affects_all: bool = True
    """Affects every customer (no customers named); otherwise see ``IncidentCustomer``."""
    summary: str | None = Field(default=None, sa_type=Text)
    channel_id: str | None = Field(default=None, max_length=32, index=True)
    card_ts: str | None = Field(default=None, max_length=32)
    origin_channel_id: str | None = Field(default=None, max_length=32)
    source: str = Field(default="slack", max_length=16)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)

    @property
    def state(self) -> IncidentState:
        if self.resolved_at is not None:
            return IncidentState.RESOLVED
        if self.restored_at is not None:
            return IncidentState.RESTORED
        if self.acknowledged_at is not None:
            return IncidentState.ACKNOWLEDGED
        return IncidentState.DECLARED


class IncidentCustomer(SQLModel, table=True):
    __tablename__ = "incident_customer"

    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True)
    )
    customer_id: str = Field(sa_column=Column(String(64), primary_key=True, index=True))


class EventKind(StrEnum):
    """What a timeline event records: a person's change, or a re-import of the history."""

    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    UPDATE = "update"
    """A progress update (it restarts the progress cadence)."""
    SEVERITY_CHANGED = "severity_changed"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESTORED = "restored"
    RESOLVED = "resolved"
    EXCLUDED = "excluded"
    """Excluded from uptime (``text``: why); ``included`` counts it again. Written by
    releases before corrections; an exclusion is now a ``corrected`` event."""
    INCLUDED = "included"
    REIMPORTED = "reimported"
    CORRECTED = "corrected"
    """A correction of the record: ``before``/``after`` hold the fields changed (old → new,
    instants as ISO-8601, ``null`` for none), ``text`` the reason given."""
    PAGED = "paged"
    """A paging service was paged, or its alert resolved (``bot.paging``): ``text`` says
    which and why, the actor is ``slabot``."""
    ALERT = "alert"
    """What an alerting tool said of the incident's alerts (more firing, some resolved, one
    firing again); the actor is the tool (``alertmanager``, ``pagerduty``…)."""


class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_event"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=64)
    kind: EventKind = Field(sa_type=Word(EventKind, 32), nullable=False)
    text: str | None = Field(default=None, sa_type=Text)
    before: dict | None = Field(default=None, sa_type=JSON)
    after: dict | None = Field(default=None, sa_type=JSON)
    recorded_at: dt.datetime | None = _instant()
    """When slabot wrote it; ``at`` is when it happened (earlier for ``ack at 10:05``).
    ``None`` on events written before this column existed."""


class IncidentPause(SQLModel, table=True):
    __tablename__ = "incident_pause"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    started_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: dt.datetime | None = _instant()
    reason: str = Field(sa_type=Text)
    paused_by: str = Field(max_length=64)


class Timer(SQLModel, table=True):
    """An incident's timer as last computed by the engine (the strictest contract's)."""

    __table_args__ = (UniqueConstraint("incident_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    kind: str = Field(max_length=16)
    target: str = Field(max_length=32)
    contract: str = Field(max_length=128)
    started_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    deadline_at: dt.datetime | None = _instant(index=True)
    stopped_at: dt.datetime | None = _instant()
    outcome: str | None = Field(default=None, max_length=16)
    """``met`` or ``breached`` once stopped; open timers are read against the clock."""


class NoticedBy(StrEnum):
    """How slabot learnt that a deadline passed unmet (``Breach.noticed_by``)."""

    NOTICE = "notice"
    """The worker posted its breach notice (or an escalation, when the notice was superseded)."""
    RECORD = "record"
    """A change to the record found it: an acknowledgement, update, restore or resolution
    made after the deadline, a re-grade or a correction (under the facts before or after it)."""


class Breach(SQLModel, table=True):
    """A deadline that passed unmet, as the incident's timer stood then: an event of the
    record, kept whatever happens after (a re-grade or a correction may change the timer's
    verdict; it does not remove this). One row per timer and deadline: a progress timer
    has a deadline per cadence, the others one per grade and set of facts."""

    __table_args__ = (UniqueConstraint("incident_id", "timer", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    timer: str = Field(max_length=16)
    contract: str = Field(max_length=128)
    """Whose contract set the deadline (``dixa for acme``, or the deployment's policy id)."""
    target: str = Field(max_length=32)
    """The target with its clock, as the timer had it: ``30m 24x7``."""
    severity: int
    """The incident's grade when the deadline passed."""
    due_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    noticed_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    noticed_by: NoticedBy = Field(sa_type=Word(NoticedBy, 16), nullable=False)


class CorrectedPeriod(SQLModel, table=True):
    """A customer's contract period (month or year) whose figures a correction may have
    changed after a weekly digest had shown that period: the next digest says what changed
    (``before`` against the figures it computes then), who corrected it and why."""

    __tablename__ = "corrected_period"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("timeline_event.id", ondelete="CASCADE"), nullable=False
        )
    )
    """The ``corrected`` timeline event."""
    customer_id: str = Field(max_length=64)
    period_start: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    period_end: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    before: dict = Field(sa_type=JSON, nullable=False)
    """The period's figures just before the correction (``bot.reports.figures.Figures``)."""
    corrected_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=64)
    reason: str | None = Field(default=None, sa_type=Text)


class OutboxStatus(StrEnum):
    """Where a leased outbox row is (``LeasedRow.status``)."""

    PENDING = "pending"
    """Waiting to be claimed: when due, and past any retry time."""
    CLAIMED = "claimed"
    """Held by one worker until its lease runs out."""
    SENT = "sent"
    FAILED = "failed"
    """Given up on (shown on App Home, in /healthz and by ``slabot doctor``); re-queued by hand."""
    CANCELLED = "cancelled"
    """A reminder whose deadline stopped holding."""
    SUPERSEDED = "superseded"
    """A newer row of the same timer (reminders) or recipient (digests) came first."""


class LeasedRow(SQLModel):
    """The columns of a leased outbox row (``storage.leased``), each table declaring its own
    id, key and indexes: reminders, tasks and weekly digests."""

    due_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING, sa_type=Word(OutboxStatus, 16), nullable=False
    )
    """pending → claimed → sent | failed; pending → cancelled | superseded (reminders: the
    deadline stopped holding, or a newer one of the timer; digests: a newer week came first)."""
    next_attempt_at: dt.datetime | None = _instant()
    """Not before this instant (a 429's Retry-After, or the backoff after an error)."""
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: dt.datetime | None = _instant()
    attempts: int = 0
    created_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: dt.datetime | None = _instant()
    late: bool = False
    last_error: str | None = Field(default=None, sa_type=Text)
    channel_id: str | None = Field(default=None, max_length=32)
    """Where it was posted: a reminder's incident channel (or the announce channel as a
    fallback), a digest's direct-message channel (``D…``) or channel."""
    message_ts: str | None = Field(default=None, max_length=32)


class Reminder(LeasedRow, table=True):
    """The outbox: one announcement, due at an instant, posted once by whichever worker claims it."""

    __table_args__ = (
        Index("ix_reminder_status_due", "status", "due_at"),
        Index("ix_reminder_status_next_attempt", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = _incident_fk()
    timer: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    step: str = Field(max_length=32)
    deadline_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    dedupe_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))


class Task(LeasedRow, table=True):
    """The task outbox: one piece of work outside the database (a Slack call, a page), written
    in the transaction of the fact that calls for it and done once by whichever process
    claims it — the web process right after the request that wrote it, else a worker."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_status_due", "status", "due_at"),
        Index("ix_task_status_next_attempt", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    """Which handler does it (``bot.tasks.registry.handles``)."""
    dedupe_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    """The work's identity: scheduling the same key twice schedules it once."""
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("incident.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    payload: dict = Field(default_factory=dict, sa_type=JSON, nullable=False)
    result: dict | None = Field(default=None, sa_type=JSON)
    """What the handler reported when done (ids it made, say), for the next step to read."""


class WorkerHeartbeat(SQLModel, table=True):
    """Each worker process says it is alive; /healthz and `slabot doctor` read it."""

    __tablename__ = "worker_heartbeat"

    worker_id: str = Field(sa_column=Column(String(128), primary_key=True))
    started_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    seen_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    posted: int = 0
    stopped_at: dt.datetime | None = _instant()


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_window"
    __table_args__ = (Index("ix_maintenance_window_ref_upper", text("upper(ref)")),)

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    title: str = Field(sa_type=Text)
    starts_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ends_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    announced_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    affects_all: bool = True
    created_by: str = Field(max_length=64)
    cancelled_at: dt.datetime | None = _instant()
    """When it was called off. Called off before it started, it excludes nothing; called
    off while under way, it ended then (``ends_at`` was set to the cancellation)."""
    cancelled_by: str | None = Field(default=None, max_length=64)


class MaintenanceEvent(SQLModel, table=True):
    """What was done to a maintenance window, by whom and when: its announcement, each move
    (``before`` → ``after``: starts, ends, announced) and its cancellation."""

    __tablename__ = "maintenance_event"

    id: int | None = Field(default=None, primary_key=True)
    maintenance_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("maintenance_window.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    """``announced``, ``moved`` or ``cancelled``."""
    before: dict | None = Field(default=None, sa_type=JSON)
    after: dict | None = Field(default=None, sa_type=JSON)
    reason: str | None = Field(default=None, sa_type=Text)


class MaintenanceCustomer(SQLModel, table=True):
    __tablename__ = "maintenance_customer"

    maintenance_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("maintenance_window.id", ondelete="CASCADE"), primary_key=True
        )
    )
    customer_id: str = Field(sa_column=Column(String(64), primary_key=True))


class AlertKey(SQLModel, table=True):
    """An alert (``fingerprint``, ``dedup key``, ``alias``) or an alert group that slabot
    took in, and the incident it declared or joined; ``incident_id`` is empty while a
    "declare?" proposal waits for a person.

    ``claim`` is ``<source>:<key>`` while the key belongs to an open incident or a waiting
    proposal, and empty once released (its incident resolved, its proposal settled): its
    unique constraint is what makes a repeated or concurrent delivery join the incident
    already declared rather than declare another. ``anchor_id`` is the row of the group's
    first key: the rows of one incident or proposal share it; the anchor's ``proposal``
    holds what a "declare?" button declares."""

    __tablename__ = "alert_key"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    key: str = Field(sa_column=Column(String(200), nullable=False))
    claim: str | None = Field(default=None, sa_column=Column(String(220), unique=True))
    anchor_id: int | None = Field(default=None, index=True)
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("incident.id", ondelete="CASCADE"), index=True),
    )
    is_group: bool = False
    firing: bool = True
    started_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: dt.datetime | None = _instant()
    received_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    title: str | None = Field(default=None, sa_type=Text)
    proposal: dict | None = Field(default=None, sa_type=JSON)


class ProcessedRequest(SQLModel, table=True):
    """Slack retries and repeated interactions are processed once: the first claims the key."""

    __tablename__ = "processed_request"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    received_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class DigestDelivery(LeasedRow, table=True):
    """One weekly digest for one recipient: the row is the claim that it is sent once.

    ``recipient`` is a user id (``U…``/``W…``: a direct message) or a channel id (``C…``).
    """

    __tablename__ = "digest_delivery"
    __table_args__ = (
        UniqueConstraint("week", "recipient"),
        Index("ix_digest_delivery_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(max_length=8)
    """The ISO week it covers: ``2026-W44``."""
    recipient: str = Field(max_length=32)
    source: str = Field(default="schedule", max_length=16)
    """``schedule`` (the worker) or ``cli`` (``slabot digest --send``)."""
