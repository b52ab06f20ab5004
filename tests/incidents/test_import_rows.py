"""The batched import stores exactly the rows the per-record path stored before it.

The oracle below is the importer's writing as it was before batches: each record through
the ORM, then ``service.sync`` for its timers and reminders, one incident at a time. Random
histories (a seeded generator: open and closed incidents, named customers by id and by
name, everyone, exclusions, impacts) are imported both ways into two empty databases of
the same kind, then every row of every table is compared.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from urllib.parse import quote

import pytest
from sqlalchemy import JSON, create_engine, select, text
from sqlmodel import SQLModel

from bot.context import Context
from bot.incidents.importer import check_incident, import_history
from bot.incidents.service import sync
from storage import queries
from storage.db import Database
from storage.models import Incident, Reminder, TimelineEvent
from tests.conftest import empty, postgres_base_url

M = dt.timedelta(minutes=1)
NAMES = ["acme", "ACME", "Acme Retail Inc.", "nordlys", "globex", "umbrella", "initech"]
SURROGATE = {"timeline_event": "id", "timer": "id", "reminder": "id"}
"""The ids of rows nothing refers to. A batch writes its updated incidents' rows before its
new ones', so when a file mixes the two the rows are numbered in another order than one
record after the other; a re-import compares them without these. Incident ids (which
reminders' keys hold) are always compared, and a first import compares every id."""


# --- the oracle: the per-record path as it was --------------------------------------------


def import_one_by_one(ctx: Context, incidents: list[dict]) -> None:
    now = ctx.clock.now()
    records = []
    for index, raw in enumerate(incidents):
        record, problems = check_incident(raw, f"incidents[{index}]", ctx, now)
        assert not problems, problems
        records.append(record)
    with ctx.db.transaction() as session:
        for record in records:
            _write_one(session, record, ctx, now)


def _write_one(session, record, ctx: Context, now: dt.datetime) -> None:
    incident = queries.incident_by_ref(session, record.ref, lock=True)
    values = {
        "title": record.title, "severity": record.severity, "declared_at": record.declared_at,
        "reported_at": record.declared_at, "impact_start": record.impact_start,
        "acknowledged_at": record.acknowledged_at, "restored_at": record.restored_at,
        "resolved_at": record.resolved_at, "outage": record.outage, "impact_pct": record.impact_pct,
        "excluded_reason": record.excluded, "affects_all": not record.customers,
    }  # fmt: skip
    if incident is None:
        incident = Incident(ref=record.ref, source="import", updated_at=now, **values)
        session.add(incident)
        session.flush()
        queries.set_customers(session, incident.id, record.customers)
        for kind, at in (
            ("declared", record.declared_at), ("acknowledged", record.acknowledged_at),
            ("restored", record.restored_at), ("resolved", record.resolved_at),
        ):  # fmt: skip
            if at is not None:
                text_ = record.title if kind == "declared" else None
                session.add(
                    TimelineEvent(
                        incident_id=incident.id, at=at, actor="import", kind=kind, text=text_
                    )
                )
        sync(session, incident, ctx.contracts, now, budget=False)
        return
    compared = (
        "title", "severity", "declared_at", "impact_start", "acknowledged_at", "restored_at",
        "resolved_at", "outage", "impact_pct",
    )  # fmt: skip

    def plain(value):
        return value.isoformat() if isinstance(value, dt.datetime) else value

    before = {k: plain(getattr(incident, k)) for k in compared}
    before["excluded"] = incident.excluded_reason
    before["customers"] = list(queries.customers_of(session, [incident.id]).get(incident.id, []))
    after = {k: plain(values[k]) for k in compared}
    after["excluded"] = record.excluded
    after["customers"] = sorted(record.customers)
    if before == after:
        return
    for key, value in values.items():
        setattr(incident, key, value)
    incident.updated_at = now
    queries.set_customers(session, incident.id, record.customers)
    changed = [k for k in after if before[k] != after[k]]
    session.add(
        TimelineEvent(
            incident_id=incident.id, at=now, actor="import", kind="reimported",
            text="changed: " + ", ".join(changed),
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        )
    )  # fmt: skip
    sync(session, incident, ctx.contracts, now, budget=False)


# --- random histories ------------------------------------------------------------------------


def _iso(rng: random.Random, instant: dt.datetime) -> str:
    if rng.random() < 0.2:
        return instant.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def random_record(rng: random.Random, ref: str, now: dt.datetime) -> dict:
    """A record as a file holds it: recent (open timers, reminders still to come) or weeks
    old; declared, acknowledged, restored or resolved, with implied steps left out."""
    if rng.random() < 0.4:
        declared = now - rng.randrange(1, 600) * M
    else:
        declared = now - rng.randrange(600, 60 * 24 * 40) * M
    customers = rng.choice(
        [[], [], [rng.choice(NAMES)], [rng.choice(NAMES)], rng.sample(NAMES, rng.randint(2, 3))]
    )
    record = {
        "ref": ref, "title": f"Incident {ref}", "severity": rng.randint(1, 4),
        "declared_at": _iso(rng, declared), "customers": customers,
        "outage": rng.random() < 0.4,
    }  # fmt: skip
    if rng.random() < 0.4:
        record["impact_start"] = _iso(rng, declared - rng.randrange(0, 120) * M)
    steps, at = [], declared
    for _ in range(3):
        at = min(now, at + rng.randrange(0, 240) * M)
        steps.append(at)
    state = rng.choice(["declared", "acknowledged", "restored", "resolved", "resolved"])
    if state != "declared" and (state == "acknowledged" or rng.random() < 0.6):
        record["acknowledged_at"] = _iso(rng, steps[0])
    if state == "restored" or (state == "resolved" and rng.random() < 0.6):
        record["restored_at"] = _iso(rng, steps[1])
    if state == "resolved":
        record["resolved_at"] = _iso(rng, steps[2])
    if rng.random() < 0.1:
        record["excluded"] = "customer's own network"
    if rng.random() < 0.2:
        record["impact_pct"] = rng.choice([5, 40.5, 100])
    return record


def random_history(ctx: Context, rng: random.Random, count: int, prefix: str) -> list[dict]:
    """``count`` valid records (a severity a named contract lacks is drawn again)."""
    now, records = ctx.clock.now(), []
    while len(records) < count:
        record = random_record(rng, f"{prefix}-{len(records)}", now)
        if not check_incident(record, "", ctx, now)[1]:
            records.append(record)
    return records


def revised(ctx: Context, rng: random.Random, history: list[dict]) -> list[dict]:
    """The same history sent again later: most records as they were, some changed (one
    resolved, re-graded, re-assigned, excluded), in another order, new ones among them."""
    now, records = ctx.clock.now(), []
    for original in history:
        record = dict(original)
        change = rng.random()
        if change < 0.15 and "resolved_at" not in record:
            record["resolved_at"] = _iso(rng, now - rng.randrange(0, 30) * M)
        elif change < 0.25:
            record["severity"] = rng.randint(1, 4)
        elif change < 0.35:
            record["customers"] = rng.sample(NAMES, rng.randint(0, 2))
        elif change < 0.4:
            record["excluded"] = None if record.get("excluded") else "force majeure"
        elif change < 0.45:
            record["ref"] = record["ref"].lower()  # references are case-insensitive
        if check_incident(record, "", ctx, now)[1]:
            record = original
        records.append(record)
    records += random_history(ctx, rng, len(history) // 4, "NEW")
    rng.shuffle(records)
    return records


# --- comparing databases ---------------------------------------------------------------------


def stored_rows(database: Database, *, ids: bool = True) -> dict[str, list[tuple]]:
    """Every row of every table as the database holds it (JSON as its text, so a JSON
    ``null`` and an SQL NULL differ), in a stable order; ``ids=False`` leaves out the
    ``SURROGATE`` ids."""
    rows = {}
    with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if ids or SURROGATE.get(table.name) != c.name]
            listed = ", ".join(
                f'CAST("{c.name}" AS TEXT)' if isinstance(c.type, JSON) else f'"{c.name}"'
                for c in columns
            )
            found = connection.exec_driver_sql(f'SELECT {listed} FROM "{table.name}"').all()
            rows[table.name] = sorted((tuple(row) for row in found), key=repr)
    return rows


@pytest.fixture(scope="module")
def twin_database(database_url, tmp_path_factory):
    """A second migrated database of the same kind as ``db``: a SQLite file, or a schema."""
    if database_url.startswith("sqlite"):
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('twin') / 'twin.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    base, schema = postgres_base_url(), f"slabot_twin_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    database = Database(f"{base}{separator}options={quote(f'-csearch_path={schema}')}")
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def oracle(twin_database, contracts, clock) -> Context:
    """The oracle's context: the twin database, the same contracts and clock as ``ctx``."""
    yield Context(db=twin_database, contracts=contracts, clock=clock)
    empty(twin_database)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_batched_import_stores_the_rows_the_per_record_path_stored(ctx, oracle, clock, seed):
    rng = random.Random(seed)
    history = random_history(ctx, rng, 60, "INC")
    import_history(ctx, history, batch=7)  # batches of 7: boundaries fall everywhere
    import_one_by_one(oracle, history)
    first = stored_rows(ctx.db)
    assert first == stored_rows(oracle.db)
    assert len(first["incident"]) == 60 and first["reminder"], "a history with reminders"

    clock.advance(hours=3)
    again = revised(ctx, rng, history)
    summary = import_history(ctx, again, batch=7)
    import_one_by_one(oracle, again)
    assert summary.created == 15 and summary.updated > 5 and summary.unchanged > 20
    assert stored_rows(ctx.db, ids=False) == stored_rows(oracle.db, ids=False)


def test_a_closed_incident_gets_no_reminder_and_an_open_one_gets_its_reminders(ctx, clock):
    """The timers of a resolved incident have all stopped (resolving restores, restoring
    acknowledges), so nothing is left to remind of; an open one's reminders are written."""
    rng = random.Random(3)
    history = random_history(ctx, rng, 80, "INC")
    import_history(ctx, history)
    with ctx.db.read() as session:
        reminded = {
            i for (i,) in session.execute(text("SELECT DISTINCT incident_id FROM reminder"))
        }
        incidents = session.scalars(select(Incident)).all()
        pending = session.scalars(select(Reminder)).all()
    closed = {i.id for i in incidents if i.resolved_at is not None}
    assert closed and not closed & reminded
    assert reminded and {r.status for r in pending} == {"pending"}
