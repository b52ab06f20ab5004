"""The queries services need. Services never build a statement themselves."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import case, delete, false, func, insert, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session

from storage.models import (
    Breach,
    CorrectedPeriod,
    EventKind,
    Incident,
    IncidentCustomer,
    IncidentPause,
    MaintenanceCustomer,
    MaintenanceEvent,
    MaintenanceWindow,
    OutboxStatus,
    ProcessedRequest,
    Reminder,
    TimelineEvent,
    Timer,
)
from storage.types import UTCDateTime

# --- incidents -------------------------------------------------------------------------


def incident_by_ref(session: Session, ref: str, *, lock: bool = False) -> Incident | None:
    """The incident with this reference (case-insensitive); ``lock`` holds it for an update."""
    statement = select(Incident).where(func.upper(Incident.ref) == ref.strip().upper())
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def incidents_by_refs(
    session: Session, refs: Iterable[str], *, lock: bool = False
) -> dict[str, Incident]:
    """The stored incidents among these references, in one query, by upper-cased reference
    (as ``incident_by_ref`` compares them); ``lock`` holds them for an update."""
    wanted = sorted({ref.strip().upper() for ref in refs})
    if not wanted:
        return {}
    key = func.upper(Incident.ref)
    statement = select(key, Incident).where(key.in_(wanted))
    if lock:
        statement = statement.with_for_update(of=Incident)
    return {upper: incident for upper, incident in session.execute(statement)}


def incident_by_id(session: Session, incident_id: int, *, lock: bool = False) -> Incident | None:
    statement = select(Incident).where(Incident.id == incident_id)
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def running_outages(session: Session, besides: int) -> Sequence[Incident]:
    """The outages still down and counted (not excluded) other than ``besides``, each
    locked unless another unit of work holds it (then it is left out: that one re-plans
    it). Never waiting on a lock, two changes to two outages cannot deadlock."""
    statement = (
        select(Incident)
        .where(
            Incident.outage,
            Incident.restored_at.is_(None),
            Incident.excluded_reason.is_(None),
            Incident.id != besides,
        )
        .order_by(Incident.id)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(statement).all()


def incident_in_channel(session: Session, channel_id: str) -> Incident | None:
    """The incident whose channel this is: its newest open one, else its newest (a channel
    may hold several, e.g. incidents declared in #general)."""
    return next(iter(incidents_in_channel(session, channel_id, limit=1)), None)


def incidents_in_channel(session: Session, channel_id: str, *, limit: int) -> Sequence[Incident]:
    """The incidents in a channel, the open ones first, newest first within each."""
    resolved = case((Incident.resolved_at.is_(None), 0), else_=1)
    statement = (
        select(Incident)
        .where(Incident.channel_id == channel_id)
        .order_by(resolved, Incident.id.desc())
        .limit(limit)
    )
    return session.scalars(statement).all()


def incidents(session: Session, *, open_only: bool, limit: int | None = None) -> Sequence[Incident]:
    """Incidents, newest declaration first; ``open_only`` leaves out the resolved ones."""
    statement = select(Incident).order_by(Incident.declared_at.desc(), Incident.id.desc())
    if open_only:
        statement = statement.where(Incident.resolved_at.is_(None))
    if limit is not None:
        statement = statement.limit(limit)
    return session.scalars(statement).all()


def incidents_open_at(session: Session, at: dt.datetime) -> Sequence[Incident]:
    """Incidents declared by ``at`` and not resolved by then (a past week's digest), newest
    declaration first."""
    return session.scalars(
        select(Incident)
        .where(
            Incident.declared_at <= at,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at > at),
        )
        .order_by(Incident.declared_at.desc(), Incident.id.desc())
    ).all()


def count_incidents(session: Session, *, open_only: bool) -> int:
    statement = select(func.count()).select_from(Incident)
    if open_only:
        statement = statement.where(Incident.resolved_at.is_(None))
    return session.scalar(statement) or 0


def incidents_declared(
    session: Session, start: dt.datetime, end: dt.datetime
) -> Sequence[Incident]:
    """Incidents declared in ``[start, end)``, in order of declaration (the weekly digest)."""
    return session.scalars(
        select(Incident)
        .where(Incident.declared_at >= start, Incident.declared_at < end)
        .order_by(Incident.declared_at, Incident.id)
    ).all()


def ids_declared(session: Session, start: dt.datetime, end: dt.datetime) -> list[int]:
    """The ids of the incidents declared in ``[start, end)``, in order of declaration."""
    return list(
        session.scalars(
            select(Incident.id)
            .where(Incident.declared_at >= start, Incident.declared_at < end)
            .order_by(Incident.declared_at, Incident.id)
        )
    )


def incidents_by_ids(session: Session, incident_ids: Sequence[int]) -> list[Incident]:
    """These incidents, in the order given (those that exist)."""
    found = {
        i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))
    }
    return [found[i] for i in incident_ids if i in found]


def ref_taken(session: Session, ref: str) -> bool:
    return incident_by_ref(session, ref) is not None


def refs_of(session: Session, incident_ids: Iterable[int]) -> dict[int, str]:
    """The reference of each of these incidents that exists."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = session.execute(select(Incident.id, Incident.ref).where(Incident.id.in_(ids)))
    return {incident_id: ref for incident_id, ref in rows}


def customers_of(session: Session, incident_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(incident_ids)
    result: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(IncidentCustomer.incident_id, IncidentCustomer.customer_id)
        .where(IncidentCustomer.incident_id.in_(ids))
        .order_by(IncidentCustomer.customer_id)
    )
    for incident_id, customer_id in rows:
        result[incident_id].append(customer_id)
    return result


def set_customers(session: Session, incident_id: int, customer_ids: Iterable[str]) -> None:
    session.execute(delete(IncidentCustomer).where(IncidentCustomer.incident_id == incident_id))
    for customer_id in sorted(set(customer_ids)):
        session.add(IncidentCustomer(incident_id=incident_id, customer_id=customer_id))


# --- pauses, timeline ----------------------------------------------------------------------


def pauses_of(session: Session, incident_ids: Iterable[int]) -> dict[int, list[IncidentPause]]:
    ids = list(incident_ids)
    result: dict[int, list[IncidentPause]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(IncidentPause)
        .where(IncidentPause.incident_id.in_(ids))
        .order_by(IncidentPause.started_at, IncidentPause.id)
    )
    for pause in rows:
        result[pause.incident_id].append(pause)
    return result


def last_reports(session: Session, incident_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """The latest progress update of each incident that has one."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(TimelineEvent.incident_id, func.max(TimelineEvent.at))
        .where(TimelineEvent.incident_id.in_(ids), TimelineEvent.kind == EventKind.UPDATE)
        .group_by(TimelineEvent.incident_id)
    )
    return {incident_id: latest for incident_id, latest in rows if latest is not None}


def timeline(session: Session, incident_id: int) -> Sequence[TimelineEvent]:
    return session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.at, TimelineEvent.id)
    ).all()


# --- timers and reminders ------------------------------------------------------------------


def timers_of(session: Session, incident_ids: Iterable[int]) -> dict[int, dict[str, Timer]]:
    ids = list(incident_ids)
    result: dict[int, dict[str, Timer]] = defaultdict(dict)
    if not ids:
        return result
    for timer in session.scalars(select(Timer).where(Timer.incident_id.in_(ids))):
        result[timer.incident_id][timer.kind] = timer
    return result


def pending_reminders(session: Session, incident_id: int) -> Sequence[Reminder]:
    return session.scalars(
        select(Reminder).where(
            Reminder.incident_id == incident_id, Reminder.status == OutboxStatus.PENDING
        )
    ).all()


def reminders_by_key(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The id and status of each of these reminders that exists, by its dedupe key."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = session.execute(
        select(Reminder.dedupe_key, Reminder.id, Reminder.status).where(
            Reminder.dedupe_key.in_(wanted)
        )
    )
    return {key: (reminder_id, status) for key, reminder_id, status in rows}


def revive_reminders(session: Session, reminder_ids: Iterable[int]) -> None:
    """Cancelled reminders pending again: their deadline holds again (a re-grade or a
    correction undone). Never one that was posted."""
    ids = list(reminder_ids)
    if ids:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.status == OutboxStatus.CANCELLED)
            .values(
                status=OutboxStatus.PENDING,
                claimed_by=None,
                lease_until=None,
                next_attempt_at=None,
                attempts=0,
                late=False,
                last_error=None,
            )
        )


def cancel_reminders(session: Session, reminder_ids: Iterable[int]) -> None:
    ids = list(reminder_ids)
    if ids:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.CANCELLED)
        )


def reminders_of(session: Session, incident_id: int) -> Sequence[Reminder]:
    return session.scalars(
        select(Reminder)
        .where(Reminder.incident_id == incident_id)
        .order_by(Reminder.due_at, Reminder.id)
    ).all()


# --- the record: breaches, corrections ---------------------------------------------------


def note_breach(session: Session, breach: dict) -> None:
    """Record a deadline that passed unmet, unless it is recorded already (by its incident,
    timer and deadline): the first sighting is kept."""
    session.execute(insert_new(session, Breach, breach, unique=["incident_id", "timer", "due_at"]))


def breaches_of(session: Session, incident_ids: Iterable[int]) -> dict[int, list[Breach]]:
    """Each incident's recorded breaches, by deadline."""
    ids = list(incident_ids)
    result: dict[int, list[Breach]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(Breach).where(Breach.incident_id.in_(ids)).order_by(Breach.due_at, Breach.id)
    )
    for breach in rows:
        result[breach.incident_id].append(breach)
    return result


def breaches_between(session: Session, start: dt.datetime, end: dt.datetime) -> Sequence[Breach]:
    """Breaches whose deadline passed, or that were noticed, in ``[start, end)``."""
    return session.scalars(
        select(Breach)
        .where(
            or_(
                (Breach.due_at >= start) & (Breach.due_at < end),
                (Breach.noticed_at >= start) & (Breach.noticed_at < end),
            )
        )
        .order_by(Breach.due_at, Breach.id)
    ).all()


def incidents_with_breaches(
    session: Session, start: dt.datetime, end: dt.datetime
) -> Sequence[Incident]:
    """Incidents declared in ``[start, end)`` that have a recorded breach."""
    return session.scalars(
        select(Incident)
        .where(
            Incident.declared_at >= start,
            Incident.declared_at < end,
            Incident.id.in_(select(Breach.incident_id)),
        )
        .order_by(Incident.declared_at, Incident.id)
    ).all()


def announced_timers(session: Session, incident_id: int) -> set[str]:
    """The incident's timers whose breach was announced: a breach notice or an escalation
    posted (or being posted) for them."""
    return set(
        session.scalars(
            select(Reminder.timer)
            .where(
                Reminder.incident_id == incident_id,
                Reminder.kind.in_(("breach", "escalation")),
                Reminder.status.in_((OutboxStatus.SENT, OutboxStatus.CLAIMED)),
            )
            .distinct()
        )
    )


def events_of(
    session: Session, incident_ids: Iterable[int], kinds: Collection[EventKind]
) -> dict[int, list[TimelineEvent]]:
    """Each incident's timeline events of these kinds, in order."""
    ids = list(incident_ids)
    result: dict[int, list[TimelineEvent]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id.in_(ids), TimelineEvent.kind.in_(list(kinds)))
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    for event in rows:
        result[event.incident_id].append(event)
    return result


def report_times(session: Session, incident_ids: Iterable[int]) -> dict[int, list[dt.datetime]]:
    """When each incident's progress updates were posted, in order."""
    ids = list(incident_ids)
    result: dict[int, list[dt.datetime]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(TimelineEvent.incident_id, TimelineEvent.at)
        .where(TimelineEvent.incident_id.in_(ids), TimelineEvent.kind == EventKind.UPDATE)
        .order_by(TimelineEvent.at)
    )
    for incident_id, at in rows:
        result[incident_id].append(at)
    return result


def corrected_periods(
    session: Session, since: dt.datetime | None, until: dt.datetime
) -> Sequence[tuple[CorrectedPeriod, str]]:
    """Periods corrected in ``(since, until]`` (``since`` ``None``: from the beginning), in
    order, each with its incident's reference."""
    statement = (
        select(CorrectedPeriod, Incident.ref)
        .join(Incident, Incident.id == CorrectedPeriod.incident_id)
        .where(CorrectedPeriod.corrected_at <= until)
        .order_by(CorrectedPeriod.corrected_at, CorrectedPeriod.id)
    )
    if since is not None:
        statement = statement.where(CorrectedPeriod.corrected_at > since)
    return [(row, ref) for row, ref in session.execute(statement)]


# --- maintenance ---------------------------------------------------------------------------


def maintenance_by_ref(session: Session, ref: str) -> MaintenanceWindow | None:
    return session.scalars(
        select(MaintenanceWindow).where(func.upper(MaintenanceWindow.ref) == ref.strip().upper())
    ).first()


def maintenance_customers(session: Session, window_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(window_ids)
    result: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(MaintenanceCustomer.maintenance_id, MaintenanceCustomer.customer_id).where(
            MaintenanceCustomer.maintenance_id.in_(ids)
        )
    )
    for window_id, customer_id in rows:
        result[window_id].append(customer_id)
    return result


def set_maintenance_customers(
    session: Session, window_id: int, customer_ids: Iterable[str]
) -> None:
    session.execute(
        delete(MaintenanceCustomer).where(MaintenanceCustomer.maintenance_id == window_id)
    )
    for customer_id in sorted(set(customer_ids)):
        session.add(MaintenanceCustomer(maintenance_id=window_id, customer_id=customer_id))


def _in_force() -> Any:
    """A window that was not called off before it started (one called off while under way
    ended then: its ``ends_at`` is the cancellation)."""
    return or_(
        MaintenanceWindow.cancelled_at.is_(None),
        MaintenanceWindow.cancelled_at > MaintenanceWindow.starts_at,
    )


def maintenance_between(
    session: Session, start: dt.datetime, end: dt.datetime
) -> Sequence[MaintenanceWindow]:
    """The windows in force overlapping ``[start, end)``: what reports exclude."""
    return session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.starts_at < end, MaintenanceWindow.ends_at > start, _in_force())
        .order_by(MaintenanceWindow.starts_at)
    ).all()


def maintenance_listed(
    session: Session, since: dt.datetime, limit: int
) -> Sequence[MaintenanceWindow]:
    """Every window ending after ``since`` (cancelled ones too), soonest first."""
    return session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.ends_at > since)
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
        .limit(limit)
    ).all()


def maintenance_events(
    session: Session, window_ids: Iterable[int]
) -> dict[int, list[MaintenanceEvent]]:
    """Each window's events, oldest first."""
    ids = list(window_ids)
    found: dict[int, list[MaintenanceEvent]] = defaultdict(list)
    if not ids:
        return found
    for event in session.scalars(
        select(MaintenanceEvent)
        .where(MaintenanceEvent.maintenance_id.in_(ids))
        .order_by(MaintenanceEvent.at, MaintenanceEvent.id)
    ):
        found[event.maintenance_id].append(event)
    return found


# --- bulk loading ------------------------------------------------------------------------------


def insert_rows(session: Session, model: type, rows: Sequence[dict], *, batch: int = 10_000) -> int:
    """Insert plain rows (each with the same columns) into ``model``'s table, as fast as the
    database takes them, with no ORM bookkeeping: for loading history (imports, benchmarks).
    Returns how many.

    PostgreSQL gets them by ``COPY … FROM STDIN`` (a third of the time of one INSERT per
    row, which is what an executemany sends it); other databases by one executemany at the
    driver. Columns the rows leave out get their default, and each value is bound by its
    column's type, as an INSERT binds it (an instant must be aware; JSON is encoded, ``None``
    as JSON ``null``)."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    dialect = connection.dialect
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    }
    columns = [c.name for c in table.columns if c.name in rows[0] or c.name in defaults]
    if len(columns) != len(rows[0]) + len(defaults):
        raise ValueError(f"{table.name} has no column {sorted(set(rows[0]) - set(columns))}")
    steps = [(name, defaults.get(name), _bound_by(table.c[name].type, dialect)) for name in columns]

    def bound(chunk: Sequence[dict]) -> Iterator[tuple]:
        for row in chunk:
            yield tuple(convert(row.get(name, default)) for name, default, convert in steps)

    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer.quote
        copy_sql = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for values in bound(rows):
                copy.write_row(values)
        return len(rows)
    compiled = insert(table).compile(dialect=dialect, column_keys=columns)
    if list(compiled.positiontup or ()) != columns:
        raise ValueError(f"{table.name}: rows must give every column without a constant default")
    for start in range(0, len(rows), batch):
        connection.exec_driver_sql(str(compiled), list(bound(rows[start : start + batch])))
    return len(rows)


def _bound_by(column_type, dialect) -> Callable[[Any], Any]:
    """What binding a value to a parameter of ``column_type`` makes of it, as an INSERT does."""
    bind = column_type.dialect_impl(dialect).bind_processor(dialect)
    if bind is None:
        return lambda value: value
    null = bind(None)  # JSON makes JSON null of it; other types leave None
    return lambda value: null if value is None else bind(value)


def reserve_ids(session: Session, model: type, count: int) -> list[int]:
    """``count`` new ids for rows of ``model``'s table, ascending, for rows written with
    ``insert_rows`` that others must refer to. PostgreSQL takes them from the table's
    sequence; SQLite gives the next ids after the highest, as it would itself, which holds
    because a writing transaction has the database's one write lock from its start."""
    if count <= 0:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    if session.bind.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        taken = session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        )
        return sorted(taken)
    highest = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def insert_new(session: Session, model: type, values: dict | Sequence[dict], *, unique: list[str]):
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` of ``values`` into ``model``'s table: the
    rows not already there (by the unique columns ``unique``) are written. PostgreSQL and
    SQLite both have it; SQLAlchemy spells it per dialect."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    return insert(model).values(values).on_conflict_do_nothing(index_elements=unique)


# --- Slack requests --------------------------------------------------------------------------


def claim_request(session: Session, key: str, at: dt.datetime) -> bool:
    """Record a Slack request id; ``False`` when it was already processed (a retry).

    On PostgreSQL the claim's commit does not wait for its WAL flush: the row is visible to
    every other process at once, and only a server crash within a fraction of a second
    could lose it (a retry after that crash would then be processed again). Waiting would
    put a disk flush in front of every command's answer."""
    postgres = session.bind.dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL synchronous_commit = off"))
    new = insert_new(session, ProcessedRequest, {"key": key, "received_at": at}, unique=["key"])
    claimed = session.execute(new.returning(ProcessedRequest.key)).first()
    return claimed is not None


def release_request(session: Session, key: str) -> None:
    """Forget a claimed request id, so the same request may be processed again (a form
    whose submission was refused is corrected and sent again under the same view id)."""
    session.execute(delete(ProcessedRequest).where(ProcessedRequest.key == key))


def forget_requests_before(session: Session, before: dt.datetime) -> int:
    """Drop request ids older than Slack ever retries; returns how many went."""
    return session.execute(
        delete(ProcessedRequest).where(ProcessedRequest.received_at < before)
    ).rowcount


# --- uptime and credit reports -------------------------------------------------------------
# A report reads a whole period for every customer at once, in one pass: plain rows (not
# tracked objects), each incident joined to the customers it names, never one query per
# incident or per customer. Such a read touches most of the period's incidents, so on SQLite
# (which keeps no statistics) the incident table is scanned once instead of through the OR
# of two indexes, which reads the same rows three times slower: SQLite's unary ``+`` keeps a
# term from choosing an index. PostgreSQL plans with statistics and is left to it.


class _Scanned(ColumnElement):
    """A column compared without an index on SQLite (``+column``); the column elsewhere."""

    inherit_cache = True
    _traverse_internals: ClassVar = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(_Scanned)
def _scanned(element: _Scanned, compiler, **kw) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Scanned, "sqlite")
def _scanned_sqlite(element: _Scanned, compiler, **kw) -> str:
    return "+" + compiler.process(element.column, **kw)


def _reported(start: dt.datetime, end: dt.datetime):
    """Declared in ``[start, end)``, or with an impact that overlaps it."""
    declared, impact = _Scanned(Incident.declared_at), _Scanned(Incident.impact_start)
    return or_(
        (declared >= start) & (declared < end),
        (impact < end) & or_(Incident.restored_at.is_(None), Incident.restored_at > start),
    )


class ReportRow(NamedTuple):
    """A row of ``report_incidents`` by name, for readers that are not on its hot path
    (``ReportRow._make(row)``); reports unpack the plain rows by position."""

    id: int
    ref: str
    severity: int
    declared_at: dt.datetime
    outage: bool
    impact_pct: float | None
    excluded: bool
    affects_all: bool
    customer: str | None
    impact_start: dt.datetime | None
    restored_at: dt.datetime | None
    reported_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


def report_incidents(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    customer_id: str | None = None,
    response_customers: Collection[str] | None = None,
    severities: Collection[int] | None = None,
) -> Iterator[tuple]:
    """The incidents a report of ``[start, end)`` reads: one row per incident and customer it
    names (``customer`` is ``None`` for an incident that affects every customer).

    Columns: ``id, ref, severity, declared_at, outage, impact_pct, excluded, affects_all,
    customer, impact_start, restored_at, reported_at, acknowledged_at``. The impact instants
    are given for outages only; the response instants only for incidents that affect one of
    ``response_customers`` (``None``: every incident), everyone included.
    ``customer_id`` keeps only what affects that customer. ``severities`` leaves out what
    no figure can use: an incident that is no outage is read only when it has one of these
    severities (a refund rule counts it) or answers to one of ``response_customers``.
    Iterate it inside the session.
    """
    named = IncidentCustomer.customer_id
    if response_customers is None:
        responds = true()
    elif response_customers:
        link = aliased(IncidentCustomer)  # not the joined one: a subquery of its own
        answering = select(link.incident_id).where(link.customer_id.in_(sorted(response_customers)))
        responds = or_(Incident.affects_all, Incident.id.in_(answering))
    else:
        responds = false()
    columns = (
        Incident.id, Incident.ref, Incident.severity, Incident.declared_at, Incident.outage,
        Incident.impact_pct, Incident.excluded_reason.is_not(None).label("excluded"),
        Incident.affects_all, named.label("customer"),
        case((Incident.outage, Incident.impact_start)).label("impact_start"),
        case((Incident.outage, Incident.restored_at)).label("restored_at"),
        case((responds, Incident.reported_at)).label("reported_at"),
        case((responds, Incident.acknowledged_at)).label("acknowledged_at"),
    )  # fmt: skip
    statement = (
        select(*columns)
        .select_from(Incident)
        .outerjoin(IncidentCustomer, IncidentCustomer.incident_id == Incident.id)
        .where(_reported(start, end))
    )
    if customer_id is not None:
        statement = statement.where(or_(Incident.affects_all, named == customer_id))
    if severities is not None:
        statement = statement.where(
            or_(Incident.outage, Incident.severity.in_(sorted(severities)), responds)
        )
    return _driver_rows(session, statement, instants=(3, 9, 10, 11, 12), flags=(4, 6, 7))


def _driver_rows(
    session: Session, statement, *, instants: Sequence[int], flags: Sequence[int]
) -> Iterator[Sequence]:
    """The rows of ``statement`` as the database driver's cursor gives them, with the
    columns at ``instants`` aware instants in ``dt.UTC`` and those at ``flags`` booleans, as
    ``UTCDateTime`` and SQLAlchemy would give them: a year's report reads ~90,000 rows, and
    SQLAlchemy's row objects and per-value calls cost a third of that read."""
    result = session.connection().execute(statement)
    cursor = result.cursor
    try:
        if session.get_bind().dialect.name == "sqlite":
            parse = dt.datetime.fromisoformat  # the stored text is UTC without its offset
            for row in cursor:
                values = list(row)
                for i in instants:
                    if values[i] is not None:
                        values[i] = parse(values[i] + "+00:00")
                for i in flags:
                    values[i] = values[i] == 1
                yield values
        elif cursor.connection.info.timezone is dt.UTC:  # storage.db: sessions in UTC
            yield from cursor
        else:
            convert = UTCDateTime().result_processor(session.get_bind().dialect, None)
            for row in cursor:
                values = list(row)
                for i in instants:
                    values[i] = convert(values[i])
                yield values
    finally:
        result.close()


def report_pauses(
    session: Session, start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime | None]]]:
    """``(started_at, ended_at)`` of every pause of those incidents, in order."""
    result: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    rows = session.connection().execute(
        select(IncidentPause.incident_id, IncidentPause.started_at, IncidentPause.ended_at)
        .join(Incident, Incident.id == IncidentPause.incident_id)
        .where(_reported(start, end))
        .order_by(IncidentPause.started_at, IncidentPause.id)
    )
    for incident_id, started, ended in rows:
        result[incident_id].append((started, ended))
    return result


def customer_incidents(
    session: Session, start: dt.datetime, end: dt.datetime, customer_id: str
) -> Sequence[Incident]:
    """The incidents affecting one customer (named, or affecting everyone) that a report of
    ``[start, end)`` reads, by declaration: a customer's statement lists them one by one."""
    named = select(IncidentCustomer.incident_id).where(IncidentCustomer.customer_id == customer_id)
    return session.scalars(
        select(Incident)
        .where(_reported(start, end), or_(Incident.affects_all, Incident.id.in_(named)))
        .order_by(Incident.declared_at, Incident.id)
    ).all()


def customer_maintenance(
    session: Session, start: dt.datetime, end: dt.datetime, customer_id: str
) -> Sequence[MaintenanceWindow]:
    """The maintenance windows overlapping ``[start, end)`` that affect one customer."""
    named = select(MaintenanceCustomer.maintenance_id).where(
        MaintenanceCustomer.customer_id == customer_id
    )
    return session.scalars(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.starts_at < end,
            MaintenanceWindow.ends_at > start,
            _in_force(),
            or_(MaintenanceWindow.affects_all, MaintenanceWindow.id.in_(named)),
        )
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    ).all()
