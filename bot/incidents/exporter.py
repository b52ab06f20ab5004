"""``slabot incidents export``: the record as ``slabot import`` reads it (the format is
``bot.incidents.importer``'s), corrections applied — the facts as they stand, with each
incident's pauses, recorded breaches and whole timeline (the corrections' events
included), and the maintenance windows. Importing the file into an empty database gives
the same reports, timers and record: this is the backup and migration path
(docs/operations.md).

A read-only unit of work, a few queries per thousand incidents.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, TextIO

from bot.context import Context
from bot.incidents.importer import INCIDENT_FIELDS, LISTS, MAINTENANCE_FIELDS
from storage import queries
from storage.models import Breach, EventKind, Incident, IncidentPause, TimelineEvent

BATCH = 1_000
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def iso(instant: dt.datetime | None) -> str | None:
    """An instant as the file writes it: ISO-8601 in UTC, ``Z``, to the microsecond."""
    if instant is None:
        return None
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


Kind = Literal["incident", "maintenance"]


def records(
    ctx: Context, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[tuple[Kind, dict[str, Any]]]:
    """The incidents declared in ``[since, until)`` (excluded ones too: an exclusion is a
    fact of the record), then the maintenance windows overlapping it, as import records —
    read in one snapshot, a thousand incidents at a time, so that memory stays that of a
    batch however long the history."""
    start, end = since or EARLIEST, until or LATEST
    with ctx.db.read() as session:
        ids = queries.ids_declared(session, start, end)
        for first in range(0, len(ids), BATCH):
            chunk = queries.incidents_by_ids(session, ids[first : first + BATCH])
            batch = [i.id for i in chunk]
            customers = queries.customers_of(session, batch)
            pauses = queries.pauses_of(session, batch)
            breaches = queries.breaches_of(session, batch)
            events = queries.events_of(session, batch, list(EventKind))
            found = [
                incident_record(
                    i,
                    customers.get(i.id, []),
                    pauses.get(i.id, []),
                    breaches.get(i.id, []),
                    events.get(i.id, []),
                )
                for i in chunk
            ]
            session.expunge_all()
            for record in found:
                yield "incident", record
        windows = queries.maintenance_between(session, start, end)
        named = queries.maintenance_customers(session, [w.id for w in windows])
        for w in windows:
            yield "maintenance", {
                "ref": w.ref, "title": w.title, "start": iso(w.starts_at), "end": iso(w.ends_at),
                "announced_at": iso(w.announced_at),
                "customers": [] if w.affects_all else sorted(named.get(w.id, [])),
            }  # fmt: skip


def export_history(
    ctx: Context, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``records`` as the import file's object: ``{"incidents": […], "maintenance": […]}``."""
    history: dict[str, list[dict[str, Any]]] = {"incidents": [], "maintenance": []}
    for kind, record in records(ctx, since, until):
        history["incidents" if kind == "incident" else "maintenance"].append(record)
    return history


def incident_record(
    incident: Incident,
    customers: Sequence[str],
    pauses: Sequence[IncidentPause],
    breaches: Sequence[Breach],
    events: Sequence[TimelineEvent],
) -> dict[str, Any]:
    """One incident as an import record (``importer.INCIDENT_FIELDS``, in that order)."""
    record = {
        "ref": incident.ref, "title": incident.title, "severity": incident.severity,
        "declared_at": iso(incident.declared_at), "impact_start": iso(incident.impact_start),
        "acknowledged_at": iso(incident.acknowledged_at),
        "restored_at": iso(incident.restored_at), "resolved_at": iso(incident.resolved_at),
        "outage": incident.outage,
        "customers": [] if incident.affects_all else sorted(customers),
        "excluded": incident.excluded_reason, "impact_pct": incident.impact_pct,
        "reported_at": iso(incident.reported_at), "declared_by": incident.declared_by,
        "summary": incident.summary, "source": incident.source,
        "pauses": [
            {"started_at": iso(p.started_at), "ended_at": iso(p.ended_at), "reason": p.reason,
             "paused_by": p.paused_by}
            for p in pauses
        ],
        "breaches": [
            {"timer": b.timer, "contract": b.contract, "target": b.target,
             "severity": b.severity, "due_at": iso(b.due_at), "noticed_at": iso(b.noticed_at),
             "noticed_by": str(b.noticed_by)}
            for b in breaches
        ],
        "timeline": [
            {"at": iso(e.at), "actor": e.actor, "kind": str(e.kind), "text": e.text,
             "before": e.before, "after": e.after, "recorded_at": iso(e.recorded_at)}
            for e in events
        ],
    }  # fmt: skip
    return record


def as_json(history: dict[str, list[dict[str, Any]]]) -> str:
    out = io.StringIO()
    write_json(
        [("incident", r) for r in history["incidents"]]
        + [("maintenance", r) for r in history["maintenance"]],
        out,
    )
    return out.getvalue()


def write_json(items: Iterable[tuple[Kind, dict[str, Any]]], out: TextIO) -> dict[Kind, int]:
    """The import file's JSON, one record a line, written as the records come; how many of
    each kind."""
    counts: dict[Kind, int] = {"incident": 0, "maintenance": 0}
    out.write('{"incidents": [')
    current: Kind = "incident"
    for kind, record in items:
        if kind != current:
            out.write('\n],\n"maintenance": [')
            current = kind
        out.write(("," if counts[kind] else "") + "\n " + json.dumps(record, ensure_ascii=False))
        counts[kind] += 1
    if current == "incident":
        out.write('\n],\n"maintenance": [')
    out.write("\n]}\n")
    return counts


def write_csv(
    items: Iterable[tuple[Kind, dict[str, Any]]], incidents: TextIO, maintenance: TextIO | None
) -> dict[Kind, int]:
    """Incidents as CSV with the import's column names to ``incidents``, maintenance windows
    to ``maintenance`` (left out when ``None``): customers joined by commas, the lists
    (pauses, breaches, timeline) as their JSON text, empty for none."""
    counts: dict[Kind, int] = {"incident": 0, "maintenance": 0}
    writers = {
        "incident": csv.DictWriter(incidents, fieldnames=list(INCIDENT_FIELDS), lineterminator="\n"),
        "maintenance": None if maintenance is None else csv.DictWriter(
            maintenance, fieldnames=list(MAINTENANCE_FIELDS), lineterminator="\n"
        ),
    }  # fmt: skip
    for writer in writers.values():
        if writer is not None:
            writer.writeheader()
    for kind, record in items:
        writer = writers[kind]
        if writer is not None:
            writer.writerow({k: _cell(k, v) for k, v in record.items()})
        counts[kind] += 1
    return counts


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in LISTS:
        return json.dumps(value, ensure_ascii=False)
    if key == "customers":
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
