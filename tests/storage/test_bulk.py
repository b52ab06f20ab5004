"""Writing in bulk (``insert_rows``, ``reserve_ids``) stores what an ORM insert stores."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import queries
from storage.db import Database
from storage.models import Incident, Reminder, TimelineEvent

AT = dt.datetime(2026, 10, 25, 2, 30, 15, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def stored(db: Database, table: str, columns: str, order: str) -> list[tuple]:
    """Rows as the database holds them (JSON as its text: a JSON ``null`` is not NULL)."""
    with db.engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY {order}").all()


def incident(ref: str) -> dict:
    """An incident's columns, leaving out those with a default (outage, affects_all, source)."""
    return {
        "ref": ref, "title": "Checkout down", "severity": 1, "declared_at": AT,
        "reported_at": AT, "impact_start": AT - dt.timedelta(minutes=5), "acknowledged_at": None,
        "updated_at": AT,
    }  # fmt: skip


def test_rows_written_in_bulk_are_the_rows_the_orm_writes(db: Database):
    with db.transaction() as session:
        first = Incident(**incident("INC-ORM"))
        session.add(first)
        session.flush()
        [second] = queries.reserve_ids(session, Incident, 1)
        queries.insert_rows(session, Incident, [{"id": second} | incident("INC-BULK")])
        event = {"at": AT, "actor": "U1", "kind": "declared", "text": None}
        changed = {"at": AT, "actor": "U1", "kind": "excluded", "text": "force majeure"}
        changes = {"before": {"excluded": None}, "after": {"excluded": "force majeure"}}
        for incident_id in (first.id, second):
            session.add(TimelineEvent(incident_id=incident_id, **event))
            session.add(TimelineEvent(incident_id=incident_id, **changed, **changes))
            session.flush()
            events = [
                {"incident_id": incident_id, **event, "before": None, "after": None},
                {"incident_id": incident_id, **changed, **changes},
            ]
            queries.insert_rows(session, TimelineEvent, events)
        reminder = {
            "timer": "response", "kind": "breach", "step": "breach", "due_at": AT,
            "deadline_at": AT, "created_at": AT,
        }  # fmt: skip
        session.add(Reminder(incident_id=first.id, dedupe_key="orm", **reminder))
        session.flush()
        queries.insert_rows(
            session, Reminder, [{"incident_id": second, "dedupe_key": "bulk", **reminder}]
        )
    columns = (
        "ref, title, severity, declared_at, impact_start, acknowledged_at, outage, affects_all, "
        "source, updated_at"
    )
    orm, bulk = stored(db, "incident", columns, "id")
    assert orm[1:] == bulk[1:] and bulk[0] == "INC-BULK"
    columns = "incident_id, at, actor, kind, text, CAST(before AS TEXT), CAST(after AS TEXT)"
    events = [e[1:] for e in stored(db, "timeline_event", columns, "incident_id, id")]
    assert len(events) == 8 and events[0:2] == events[2:4] == events[4:6] == events[6:8]
    assert events[0][4] == "null"  # an unset JSON value is JSON null, in bulk as by the ORM
    columns = "timer, kind, step, due_at, deadline_at, status, attempts, late, created_at"
    assert len(set(stored(db, "reminder", columns, "id"))) == 1  # defaults filled in alike


def test_a_naive_instant_or_an_unknown_column_is_refused(db: Database):
    with pytest.raises(ValueError, match="naive datetime"), db.transaction() as session:
        queries.insert_rows(
            session, Incident, [incident("X") | {"declared_at": AT.replace(tzinfo=None)}]
        )
    unknown = r"incident has no column \['severty'\]"
    with pytest.raises(ValueError, match=unknown), db.transaction() as session:
        queries.insert_rows(session, Incident, [incident("X") | {"severty": 2}])


def test_reserved_ids_are_never_given_again(db: Database):
    with db.transaction() as session:
        session.add(Incident(**incident("INC-1")))
        session.flush()
        ids = queries.reserve_ids(session, Incident, 3)
        queries.insert_rows(session, Incident, [{"id": i} | incident(f"R-{i}") for i in ids])
    with db.transaction() as session:
        later = Incident(**incident("INC-LATER"))
        session.add(later)
        session.flush()
        assert queries.reserve_ids(session, Incident, 0) == []
    assert ids == sorted(ids) and len(set(ids)) == 3 and later.id > max(ids)
