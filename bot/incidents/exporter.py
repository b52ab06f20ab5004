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
from collections.abc import Sequence
from typing import Any

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


def export_history(
    ctx: Context, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The incidents declared in ``[since, until)`` (excluded ones too: an exclusion is a
    fact of the record) and the maintenance windows overlapping it, as import records."""
    start, end = since or EARLIEST, until or LATEST
    records: list[dict[str, Any]] = []
    with ctx.db.read() as session:
        incidents = queries.incidents_declared(session, start, end)
        for first in range(0, len(incidents), BATCH):
            chunk = incidents[first : first + BATCH]
            ids = [i.id for i in chunk]
            customers = queries.customers_of(session, ids)
            pauses = queries.pauses_of(session, ids)
            breaches = queries.breaches_of(session, ids)
            events = queries.events_of(session, ids, list(EventKind))
            records.extend(
                incident_record(
                    i,
                    customers.get(i.id, []),
                    pauses.get(i.id, []),
                    breaches.get(i.id, []),
                    events.get(i.id, []),
                )
                for i in chunk
            )
        windows = queries.maintenance_between(session, start, end)
        named = queries.maintenance_customers(session, [w.id for w in windows])
        maintenance = [
            {
                "ref": w.ref,
                "title": w.title,
                "start": iso(w.starts_at),
                "end": iso(w.ends_at),
                "announced_at": iso(w.announced_at),
                "customers": [] if w.affects_all else sorted(named.get(w.id, [])),
            }
            for w in windows
        ]
    return {"incidents": records, "maintenance": maintenance}


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
    return json.dumps(history, indent=1, ensure_ascii=False) + "\n"


def as_csv(records: list[dict[str, Any]], maintenance: bool = False) -> str:
    """Incident (or maintenance) records as CSV with the import's column names: customers
    joined by commas, the lists (pauses, breaches, timeline) as their JSON text, empty for
    none."""
    fields = MAINTENANCE_FIELDS if maintenance else INCIDENT_FIELDS
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(k, v) for k, v in record.items()})
    return out.getvalue()


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
