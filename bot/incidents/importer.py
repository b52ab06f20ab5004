"""Importing incident history (``slabot import FILE``): JSON, or CSV with the same column names.

All or nothing: every record is read and checked first, and the errors name the record
and the field; only a file without errors is written, in one transaction. A record whose
``ref`` is already stored updates that incident (re-importing never duplicates), and a
record identical to what is stored changes nothing, not even the timeline.

Records are written in batches: the stored incidents of a batch are read in one query,
and the new ones are written with one bulk insert per table, their timers and
reminders derived by the same ``service.derive`` whose rows ``service.sync`` stores one
incident at a time. What a record writes is decided in one place, ``new_incident``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.service import (
    MAX_TITLE,
    Derived,
    check_severity,
    derive,
    plain,
    resolve_customers,
    sync,
)
from bot.incidents.views import evaluate_loaded
from bot.parse import parse_severity
from bot.sla.contract import contracts_touched
from bot.sla.timers import TimerKind
from config.contracts import Contracts
from storage import queries
from storage.models import (
    Breach,
    EventKind,
    Incident,
    IncidentCustomer,
    IncidentPause,
    MaintenanceWindow,
    NoticedBy,
    Reminder,
    TimelineEvent,
    Timer,
)

INCIDENT_FIELDS = {
    "ref": True, "title": True, "severity": True, "declared_at": True, "impact_start": False,
    "acknowledged_at": False, "restored_at": False, "resolved_at": False, "outage": False,
    "customers": False, "excluded": False, "impact_pct": False,
    # The whole record (``slabot incidents export`` writes them; each may be left out):
    "reported_at": False, "declared_by": False, "summary": False, "source": False,
    "pauses": False, "breaches": False, "timeline": False,
}  # fmt: skip
"""The fields of an incident record (``True``: required). A file written before the record
fields existed imports as it did: the response timer starts at the declaration, no pauses,
no recorded breaches, and a timeline made of the instants the record gives."""
PAUSE_FIELDS = {"started_at": True, "ended_at": False, "reason": True, "paused_by": True}
BREACH_FIELDS = {
    "timer": True, "contract": True, "target": True, "severity": True, "due_at": True,
    "noticed_at": True, "noticed_by": True,
}  # fmt: skip
EVENT_FIELDS = {
    "at": True, "actor": True, "kind": True, "text": False, "before": False, "after": False,
    "recorded_at": False,
}  # fmt: skip
LISTS = ("pauses", "breaches", "timeline")
"""The fields that hold lists of objects (in CSV: their JSON text)."""
MAINTENANCE_FIELDS = {
    "ref": True, "title": True, "start": True, "end": True, "announced_at": True, "customers": False,
}  # fmt: skip
BATCH = 1_000
"""Records written per batch: one read of the stored ones, one insert per table, one step
of the progress bar."""


class ImportRefused(Refusal):
    """A file that cannot be imported; ``problems`` lists every record and field at fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:20]
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__("nothing was imported:\n" + "\n".join(shown) + more)


@dataclass(frozen=True)
class IncidentRecord:
    ref: str
    title: str
    severity: int
    declared_at: dt.datetime
    reported_at: dt.datetime
    """When the response timer starts: ``reported_at``, else the declaration."""
    impact_start: dt.datetime
    acknowledged_at: dt.datetime | None
    restored_at: dt.datetime | None
    resolved_at: dt.datetime | None
    outage: bool
    customers: tuple[str, ...]
    excluded: str | None
    impact_pct: float | None
    declared_by: str | None = None
    summary: str | None = None
    source: str = "import"
    pauses: tuple[IncidentPause, ...] | None = None
    """``None``: the file does not say (an update keeps the stored ones); else every pause."""
    breaches: tuple[dict[str, Any], ...] = ()
    """Recorded breaches (``Breach`` columns); importing adds them, never removes one."""
    timeline: tuple[dict[str, Any], ...] | None = None
    """The events (``TimelineEvent`` columns); ``None``: made from the instants."""

    @property
    def customer_ids(self) -> list[str]:
        """The customers as they are stored (each once, in order), and as ``sync`` reads them."""
        return sorted(set(self.customers))


@dataclass(frozen=True)
class MaintenanceRecord:
    ref: str
    title: str
    start: dt.datetime
    end: dt.datetime
    announced_at: dt.datetime
    customers: tuple[str, ...]


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    maintenance: int = 0
    """Maintenance windows in the file: created, updated or unchanged as below."""
    maintenance_created: int = 0
    maintenance_updated: int = 0
    maintenance_unchanged: int = 0
    refs: list[str] = field(default_factory=list)


class CsvRow(dict):
    """A CSV record, which knows the line of the file it starts on (errors name it)."""

    line: int = 0


def _where(raw: Any, index: int, kind: str) -> str:
    """``line 3 (C-1)`` for a CSV row, ``incidents[0] (C-1)`` for a JSON record."""
    ref = str(raw.get("ref", "")).strip() if isinstance(raw, Mapping) else ""
    at = f"line {raw.line}" if isinstance(raw, CsvRow) else f"{kind}[{index}]"
    return at + (f" ({ref})" if ref else "")


# --- reading a file -------------------------------------------------------------------------


def read_records(path: Path) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The raw incident and maintenance records of a JSON or CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportRefused([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(text)
        columns = set(rows[0]) if rows else set()
        if "announced_at" in columns and "severity" not in columns:
            return [], rows
        return rows, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused([f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
    if not isinstance(data, dict) or not set(data) <= {"incidents", "maintenance"}:
        raise ImportRefused(
            [f"{path}: expected an object with the keys incidents and/or maintenance"]
        )
    incidents, maintenance = data.get("incidents") or [], data.get("maintenance") or []
    if not isinstance(incidents, list) or not isinstance(maintenance, list):
        raise ImportRefused([f"{path}: incidents and maintenance must be lists of records"])
    return incidents, maintenance


def _csv_rows(text: str) -> list[CsvRow]:
    """The rows of a CSV file, each knowing the line it starts on (the header is line 1; a
    quoted value may span lines, and blank lines are skipped)."""
    reader = csv.DictReader(text.splitlines(keepends=True))  # a cell keeps its line breaks
    rows = []
    for values in reader:
        row = CsvRow(values)
        spans = sum(v.count("\n") for v in values.values() if isinstance(v, str))
        row.line = reader.line_num - spans
        rows.append(row)
    return rows


# --- checking records -------------------------------------------------------------------------


class _Record:
    """Reads one raw record, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Any, where: str, fields: dict[str, bool], now: dt.datetime):
        self.where, self.now, self.problems = where, now, []
        if not isinstance(raw, Mapping):
            self.raw: Mapping[str, Any] = {}
            self.problems.append(f"{where}: expected an object of fields, got {raw!r}")
            return
        self.raw = {k: (None if v == "" else v) for k, v in raw.items()}  # CSV: empty = null
        for key in raw:
            if key not in fields:
                self.problems.append(f"{where}: {key}: unknown field; fields: {', '.join(fields)}")
        for key, required in fields.items():
            if required and self.raw.get(key) is None:
                self.problems.append(f"{where}: {key}: is required")

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}: {key}: {message}")

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        return "" if value is None else plain(str(value))

    def instant(self, key: str, *, may_be_future: bool = False) -> dt.datetime | None:
        value = self.raw.get(key)
        if value is None:
            return None
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(key, f"{value!r} is not an ISO-8601 time such as 2026-10-05T10:00:00Z")
            return None
        if parsed.tzinfo is None:
            self.fail(key, f"{value!r} has no offset; add Z or one such as +01:00")
            return None
        if parsed > self.now and not may_be_future:
            self.fail(key, f"{value!r} is in the future")
        return parsed.astimezone(dt.UTC)

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        word = str(value).strip().lower()
        if word in ("true", "yes", "1"):
            return True
        if word in ("false", "no", "0"):
            return False
        self.fail(key, f"{value!r} is not true or false")
        return False

    def objects(self, key: str, fields: dict[str, bool]) -> list[_Record] | None:
        """A list of objects (in CSV, its JSON text), each read as a record of ``fields``
        whose problems are this record's; ``None`` when the field is left out."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                self.fail(key, f"is not a JSON list of objects ({exc.msg})")
                return None
        if not isinstance(value, list):
            self.fail(key, f"is not a list of objects: {', '.join(fields)}")
            return None
        return [
            _Record(item, f"{self.where}: {key}[{i}]", fields, self.now)
            for i, item in enumerate(value)
        ]

    def word(self, key: str, words: Iterable[str]) -> str:
        value = self.text(key)
        if value and value not in words:
            self.fail(key, f"{value!r} is none of {', '.join(words)}")
        return value

    def customers(self, ctx: Context) -> tuple[str, ...]:
        value = self.raw.get("customers")
        if value is None:
            return ()
        names = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
        try:
            return tuple(resolve_customers(ctx.contracts, [str(n) for n in names]))
        except Refusal as refusal:
            self.fail("customers", str(refusal))
            return ()


def check_incident(
    raw: Any, where: str, ctx: Context, now: dt.datetime
) -> tuple[IncidentRecord | None, list[str]]:
    record = _Record(raw, where, INCIDENT_FIELDS, now)
    if not record.raw:
        return None, record.problems
    severity = 0
    try:
        severity = parse_severity(record.text("severity")) if record.text("severity") else 0
    except ValueError as exc:
        record.fail("severity", str(exc))
    declared = record.instant("declared_at")
    impact = record.instant("impact_start")
    acknowledged = record.instant("acknowledged_at")
    restored = record.instant("restored_at")
    resolved = record.instant("resolved_at")
    customers = record.customers(ctx)
    impact_pct = None
    if record.raw.get("impact_pct") is not None:
        try:
            impact_pct = float(record.raw["impact_pct"])
            if not 0 < impact_pct <= 100:
                record.fail(
                    "impact_pct", f"{impact_pct} is not a share of traffic; give 0 < impact ≤ 100"
                )
        except (TypeError, ValueError):
            record.fail("impact_pct", f"{record.raw['impact_pct']!r} is not a number")
    outage = record.flag("outage")
    reported = record.instant("reported_at")
    pauses, breaches, timeline = _pauses(record), _breaches(record), _timeline(record)
    source = record.word("source", SOURCES) or "import"
    if severity:
        try:
            check_severity(contracts_touched(ctx.contracts, customers), severity)
        except Refusal as refusal:
            record.fail("severity", str(refusal))
    title = " ".join(record.text("title").split())
    if len(title) > MAX_TITLE:
        record.fail("title", f"is at most {MAX_TITLE} characters; this one has {len(title)}")
    if declared is not None:
        impact = impact or declared
        if reported is not None and reported > declared:
            record.fail("reported_at", "is after declared_at")
        reported = reported or declared
        if acknowledged is not None and acknowledged < reported:
            first = "declared_at" if reported == declared else "reported_at"
            record.fail("acknowledged_at", f"is before {first}")
        restored = restored or resolved  # resolving restores (docs/decisions.md)
        if restored is not None and restored < impact:
            record.fail("restored_at", "is before the impact started")
        if resolved is not None and restored is not None and resolved < restored:
            record.fail("resolved_at", "is before restored_at")
        if restored is not None and acknowledged is None:
            acknowledged = max(restored, reported)  # restoring acknowledges
    if record.problems:
        return None, record.problems
    return IncidentRecord(
        ref=record.text("ref"), title=title, severity=severity, declared_at=declared,
        reported_at=reported, impact_start=impact, acknowledged_at=acknowledged,
        restored_at=restored, resolved_at=resolved, outage=outage, customers=customers,
        excluded=record.text("excluded") or None, impact_pct=impact_pct,
        declared_by=record.text("declared_by")[:64] or None,
        summary=record.text("summary") or None, source=source, pauses=pauses,
        breaches=breaches, timeline=timeline,
    ), []  # fmt: skip


SOURCES = ("slack", "import")


def _pauses(record: _Record) -> tuple[IncidentPause, ...] | None:
    items = record.objects("pauses", PAUSE_FIELDS)
    if items is None:
        return None
    found = []
    for item in items:
        started, ended = item.instant("started_at"), item.instant("ended_at")
        if started is not None and ended is not None and ended < started:
            item.fail("ended_at", "is before started_at")
        record.problems.extend(item.problems)
        if not item.problems:
            found.append(
                IncidentPause(
                    started_at=started, ended_at=ended, reason=item.text("reason"),
                    paused_by=item.text("paused_by")[:64],
                )
            )  # fmt: skip
    open_ = [p for p in found if p.ended_at is None]
    if len(open_) > 1:
        record.fail("pauses", "more than one pause has no ended_at; only the last may last")
    return tuple(sorted(found, key=lambda p: p.started_at))


def _breaches(record: _Record) -> tuple[dict[str, Any], ...]:
    found = []
    for item in record.objects("breaches", BREACH_FIELDS) or ():
        row = {
            "timer": item.word("timer", [k.value for k in TimerKind]),
            "contract": item.text("contract")[:128], "target": item.text("target")[:32],
            "severity": _integer(item, "severity"), "due_at": item.instant("due_at"),
            "noticed_at": item.instant("noticed_at"),
            "noticed_by": item.word("noticed_by", [k.value for k in NoticedBy]),
        }  # fmt: skip
        record.problems.extend(item.problems)
        if not item.problems:
            found.append(row)
    return tuple(found)


def _timeline(record: _Record) -> tuple[dict[str, Any], ...] | None:
    items = record.objects("timeline", EVENT_FIELDS)
    if items is None:
        return None
    found = []
    for item in items:
        row = {
            "at": item.instant("at"), "actor": item.text("actor")[:64],
            "kind": item.word("kind", [k.value for k in EventKind]),
            "text": item.text("text") or None,
            "before": _mapping(item, "before"), "after": _mapping(item, "after"),
            "recorded_at": item.instant("recorded_at"),
        }  # fmt: skip
        record.problems.extend(item.problems)
        if not item.problems:
            found.append(row)
    return tuple(found)


def _integer(record: _Record, key: str) -> int:
    value = record.raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        record.fail(key, f"{value!r} is not a whole number")
        return 0


def _mapping(record: _Record, key: str) -> dict[str, Any] | None:
    value = record.raw.get(key)
    if value is None or isinstance(value, dict):
        return value
    record.fail(key, "is not an object")
    return None


def check_maintenance(
    raw: Any, where: str, ctx: Context, now: dt.datetime
) -> tuple[MaintenanceRecord | None, list[str]]:
    record = _Record(raw, where, MAINTENANCE_FIELDS, now)
    if not record.raw:
        return None, record.problems
    # Maintenance is planned ahead: it may start and end in the future, not be announced there.
    start = record.instant("start", may_be_future=True)
    end = record.instant("end", may_be_future=True)
    announced = record.instant("announced_at")
    customers = record.customers(ctx)
    if start and end and end <= start:
        record.fail("end", "is not after start")
    if record.problems:
        return None, record.problems
    return MaintenanceRecord(
        record.text("ref"), " ".join(record.text("title").split()), start, end, announced, customers
    ), []


# --- writing -------------------------------------------------------------------------------


def import_history(
    ctx: Context,
    incidents: Iterable[Any],
    maintenance: Iterable[Any] = (),
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> ImportSummary:
    """Check every record, then write them all in one unit of work (or nothing).

    ``progress`` is told how many records each step wrote: a batch of incidents, then the
    maintenance windows."""
    now = ctx.clock.now()
    problems: list[str] = []
    records: list[IncidentRecord] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(incidents):
        where = _where(raw, index, "incidents")
        record, found = check_incident(raw, where, ctx, now)
        problems.extend(found)
        if record is not None:
            if record.ref.upper() in seen:
                problems.append(f"{where}: ref: {record.ref!r} is also {seen[record.ref.upper()]}")
            seen[record.ref.upper()] = where
            records.append(record)
    windows: list[MaintenanceRecord] = []
    for index, raw in enumerate(maintenance):
        record, found = check_maintenance(raw, _where(raw, index, "maintenance"), ctx, now)
        problems.extend(found)
        if record is not None:
            windows.append(record)
    if problems:
        raise ImportRefused(problems)
    summary = ImportSummary()
    with ctx.db.transaction() as session:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            _write_batch(session, chunk, ctx.contracts, now, summary)
            if progress is not None:
                progress(len(chunk))
        for window in windows:
            outcome = _write_maintenance(session, window)
            summary.maintenance += 1
            setattr(
                summary, f"maintenance_{outcome}", getattr(summary, f"maintenance_{outcome}") + 1
            )
        if windows and progress is not None:
            progress(len(windows))
    return summary


@dataclass(frozen=True)
class NewIncident:
    """Everything a record writes for an incident not stored yet: the incident, the
    customers it names, its timeline, and the timers and reminders the engine derives from
    them (``service.derive``, as ``service.sync`` stores them)."""

    incident: dict[str, Any]
    customers: list[str]
    events: list[dict[str, Any]]
    timing: Derived
    pauses: tuple[IncidentPause, ...] = ()
    breaches: tuple[dict[str, Any], ...] = ()

    def rows(self, incident_id: int, now: dt.datetime) -> dict[type, list[dict[str, Any]]]:
        """The rows of each table, once the incident has its id; referenced tables first."""
        return {
            Incident: [{"id": incident_id} | self.incident],
            IncidentCustomer: [
                {"incident_id": incident_id, "customer_id": c} for c in self.customers
            ],
            TimelineEvent: [{"incident_id": incident_id} | event for event in self.events],
            IncidentPause: [
                {
                    "incident_id": incident_id,
                    "started_at": p.started_at,
                    "ended_at": p.ended_at,
                    "reason": p.reason,
                    "paused_by": p.paused_by,
                }
                for p in self.pauses
            ],
            Breach: [{"incident_id": incident_id} | breach for breach in self.breaches],
            Timer: [
                {"incident_id": incident_id, "kind": kind} | columns
                for kind, columns in self.timing.timers.items()
            ],
            Reminder: list(self.timing.reminders(incident_id, now).values()),
        }


def incident_values(record: IncidentRecord) -> dict[str, Any]:
    """The incident's columns a record sets, on a new incident and on a stored one alike."""
    return {
        "title": record.title, "severity": record.severity, "declared_at": record.declared_at,
        "reported_at": record.reported_at, "impact_start": record.impact_start,
        "acknowledged_at": record.acknowledged_at, "restored_at": record.restored_at,
        "resolved_at": record.resolved_at, "outage": record.outage, "impact_pct": record.impact_pct,
        "excluded_reason": record.excluded, "affects_all": not record.customers,
    }  # fmt: skip


def new_incident(record: IncidentRecord, registry: Contracts, now: dt.datetime) -> NewIncident:
    """What importing ``record`` writes when its ``ref`` is new. The one place that maps a
    record to rows: a field added to the format is written from here. A resolved incident's
    timers have all stopped (resolving restores, restoring acknowledges), so it plans no
    reminder; an open one's are planned from ``now``."""
    incident = {
        "ref": record.ref, "source": record.source, "updated_at": now,
        "declared_by": record.declared_by, "summary": record.summary,
    } | incident_values(record)  # fmt: skip
    # ``before`` and ``after`` as the ORM writes an unset JSON value: JSON ``null``.
    events = list(record.timeline) if record.timeline is not None else [
        {"at": at, "actor": "import", "kind": kind,
         "text": record.title if kind == EventKind.DECLARED else None, "before": None,
         "after": None, "recorded_at": None}
        for kind, at in (
            (EventKind.DECLARED, record.declared_at),
            (EventKind.ACKNOWLEDGED, record.acknowledged_at),
            (EventKind.RESTORED, record.restored_at), (EventKind.RESOLVED, record.resolved_at),
        )
        if at is not None
    ]  # fmt: skip
    customers = record.customer_ids
    pauses = record.pauses or ()
    updates = [e["at"] for e in events if e["kind"] == EventKind.UPDATE]
    evaluation = evaluate_loaded(
        record, customers, pauses, max(updates, default=None), registry, now
    )
    return NewIncident(
        incident, customers, events, derive(evaluation, now), pauses, record.breaches
    )


def _write_batch(
    session,
    records: list[IncidentRecord],
    registry: Contracts,
    now: dt.datetime,
    summary: ImportSummary,
) -> None:
    """Update the stored incidents of a batch one by one (their customers and pauses read
    for the whole batch); insert the new ones together, with one bulk insert per table."""
    stored = queries.incidents_by_refs(session, [r.ref for r in records], lock=True)
    customers = queries.customers_of(session, [i.id for i in stored.values()])
    pauses = queries.pauses_of(session, [i.id for i in stored.values()])
    new: list[NewIncident] = []
    for record in records:
        incident = stored.get(record.ref.upper())
        if incident is None:
            new.append(new_incident(record, registry, now))
            outcome = "created"
        else:
            outcome = _update(
                session, incident, customers.get(incident.id, []), pauses.get(incident.id, []),
                record, registry, now,
            )  # fmt: skip
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        summary.refs.append(record.ref)
    tables: dict[type, list[dict[str, Any]]] = {}
    for incident_id, incident in zip(
        queries.reserve_ids(session, Incident, len(new)), new, strict=True
    ):
        for model, rows in incident.rows(incident_id, now).items():
            tables.setdefault(model, []).extend(rows)
    for model, rows in tables.items():
        queries.insert_rows(session, model, rows)


_COMPARED = (
    "title", "severity", "declared_at", "reported_at", "impact_start", "acknowledged_at",
    "restored_at", "resolved_at", "outage", "impact_pct",
)  # fmt: skip


def _update(
    session,
    incident: Incident,
    stored_customers: list[str],
    stored_pauses: list[IncidentPause],
    record: IncidentRecord,
    registry: Contracts,
    now: dt.datetime,
) -> str:
    """Apply a record to its stored incident: ``unchanged`` when it says what is stored,
    else ``updated``, with a ``reimported`` event naming each change. The record's pauses
    and summary replace the stored ones when it gives them; its breaches are added to those
    recorded (a breach stands); its timeline is not merged: the stored one is the record
    here, and the ``reimported`` event says what the file changed."""
    for breach in record.breaches:
        queries.note_breach(session, {"incident_id": incident.id} | breach)
    values = incident_values(record)
    if record.summary is not None:
        values["summary"] = record.summary
    before = {k: _plain(getattr(incident, k)) for k in (*_COMPARED, "summary") if k in values}
    before["excluded"] = incident.excluded_reason
    before["customers"] = list(stored_customers)
    if record.pauses is not None:
        before["pauses"] = [_pause(p) for p in stored_pauses]
    after = {k: _plain(values[k]) for k in before if k in values}
    after["excluded"] = record.excluded
    after["customers"] = record.customer_ids
    if record.pauses is not None:
        after["pauses"] = [_pause(p) for p in record.pauses]
    if before == after:
        return "unchanged"
    for key, value in values.items():
        setattr(incident, key, value)
    incident.updated_at = now
    queries.set_customers(session, incident.id, record.customers)
    if record.pauses is not None and before["pauses"] != after["pauses"]:
        for pause in stored_pauses:
            session.delete(pause)
        for pause in record.pauses:
            session.add(
                IncidentPause(
                    incident_id=incident.id, started_at=pause.started_at,
                    ended_at=pause.ended_at, reason=pause.reason, paused_by=pause.paused_by,
                )
            )  # fmt: skip
    changed = [k for k in after if before[k] != after[k]]
    session.add(
        TimelineEvent(
            incident_id=incident.id, at=now, actor="import", kind=EventKind.REIMPORTED,
            text="changed: " + ", ".join(changed),
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        )
    )  # fmt: skip
    sync(session, incident, registry, now, budget=False)
    return "updated"


def _write_maintenance(session, record: MaintenanceRecord) -> str:
    """Write one window: ``created``, ``updated``, or ``unchanged`` (identical to what is
    stored: nothing is written)."""
    window = queries.maintenance_by_ref(session, record.ref)
    if window is None:
        window = MaintenanceWindow(ref=record.ref, title=record.title, starts_at=record.start,
                                   ends_at=record.end, announced_at=record.announced_at,
                                   affects_all=not record.customers, created_by="import")  # fmt: skip
        session.add(window)
        session.flush()
        queries.set_maintenance_customers(session, window.id, record.customers)
        return "created"
    stored = (window.title, window.starts_at, window.ends_at, window.announced_at,
              window.affects_all, sorted(queries.maintenance_customers(session, [window.id])[window.id]))  # fmt: skip
    wanted = (record.title, record.start, record.end, record.announced_at,
              not record.customers, sorted(set(record.customers)))  # fmt: skip
    if stored == wanted:
        return "unchanged"
    window.title, window.starts_at, window.ends_at = record.title, record.start, record.end
    window.announced_at, window.affects_all = record.announced_at, not record.customers
    queries.set_maintenance_customers(session, window.id, record.customers)
    return "updated"


def _pause(pause: IncidentPause) -> list[Any]:
    return [_plain(pause.started_at), _plain(pause.ended_at), pause.reason, pause.paused_by]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value
