"""Storage: instants, migrations, request de-duplication — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from storage import queries
from storage.db import Database, SchemaOutOfDate
from storage.models import DigestDelivery, Incident, OutboxStatus

CPH = ZoneInfo("Europe/Copenhagen")


def _incident(ref: str, at: dt.datetime) -> Incident:
    return Incident(
        ref=ref,
        title="t",
        severity=1,
        declared_at=at,
        reported_at=at,
        impact_start=at,
        updated_at=at,
    )


@pytest.mark.parametrize(
    "written",
    [
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=CPH),  # an hour before summer time starts
        dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=CPH),  # the repeated hour, second time
        dt.datetime(2026, 11, 20, 16, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ],
)
def test_instants_come_back_as_the_same_utc_aware_instant(db: Database, written):
    with db.transaction() as session:
        session.add(_incident("INC-T", written))
    with db.read() as session:
        read = queries.incident_by_ref(session, "INC-T").declared_at
    assert read.tzinfo is not None and read.utcoffset() == dt.timedelta(0)
    # Compare as UTC: PEP 495 makes == across zones False for a time in the repeated hour.
    assert read == written.astimezone(dt.UTC)  # the same instant, to the microsecond


def test_sqlite_stores_utc_text_that_sorts_like_time(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    with db.transaction() as session:
        session.add(
            _incident(
                "A", dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
            )
        )
        session.add(_incident("B", dt.datetime(2026, 11, 21, 1, 0, tzinfo=CPH)))
    with db.engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT ref, declared_at FROM incident")).all())
    # SQLite has no time type: the text is UTC with no offset, so text order is time order.
    assert stored == {"A": "2026-11-21 04:30:00.000000", "B": "2026-11-21 00:00:00.000000"}


def test_a_naive_datetime_is_refused(db: Database):
    with pytest.raises(StatementError, match="naive datetime"), db.transaction() as session:
        session.add(_incident("INC-N", dt.datetime(2026, 11, 20, 10, 0)))
        session.flush()


def test_a_status_is_stored_as_its_word_read_back_as_its_member_and_a_stranger_refused(
    db: Database,
):
    at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with db.transaction() as session:
        session.add(DigestDelivery(week="2026-W47", recipient="U1", due_at=at, created_at=at))
    with db.engine.connect() as connection:
        stored = connection.execute(text("SELECT status FROM digest_delivery")).scalar_one()
    with db.read() as session:
        (row,) = session.scalars(select(DigestDelivery)).all()
    assert stored == "pending" and type(stored) is str  # the column holds the plain word
    assert row.status is OutboxStatus.PENDING
    typo = DigestDelivery(week="2026-W47", recipient="U2", due_at=at, created_at=at)
    typo.status = "pendng"
    with pytest.raises(StatementError, match="not a valid OutboxStatus"), db.transaction() as s:
        s.add(typo)
        s.flush()
    with db.read() as session:
        assert len(session.scalars(select(DigestDelivery)).all()) == 1


def test_sqlite_is_migrated_on_first_use(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert db.current_revision() is None
    db.ensure_schema()
    assert db.current_revision() == db.head_revision()
    db.ensure_schema()  # and again is a no-op
    assert db.current_revision() == db.head_revision()


def test_the_schema_check_reads_what_alembic_would_without_importing_it(migrated: Database):
    # Every command checks the schema at start-up; Alembic is imported only to migrate.
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.db import _head_revision

    scripts = ScriptDirectory.from_config(migrated._alembic_config())
    assert _head_revision() == scripts.get_current_head() == migrated.head_revision()
    with migrated.engine.connect() as connection:
        assert (
            migrated.current_revision()
            == MigrationContext.configure(connection).get_current_revision()
        )


def test_postgres_asks_for_an_upgrade_instead_of_migrating_silently(postgres_url):
    from sqlalchemy import create_engine

    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA IF NOT EXISTS slabot_unmigrated_probe"))
    engine.dispose()
    url = postgres_url.replace("search_path%3D", "search_path%3Dslabot_unmigrated_probe%2C")
    unmigrated = Database(url.split("search_path%3D")[0] + "search_path%3Dslabot_unmigrated_probe")
    try:
        with pytest.raises(
            SchemaOutOfDate,
            match=r"^the database.s schema is at nothing, this slabot needs \w+; run `slabot db upgrade`",
        ):
            unmigrated.ensure_schema()
    finally:
        unmigrated.dispose()
        engine = create_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA slabot_unmigrated_probe CASCADE"))
        engine.dispose()


@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index",
    "ignore:Skipped unsupported reflection of expression-based index",
)  # SQLite cannot reflect the upper(ref) indexes; PostgreSQL compares them
def test_migrations_are_at_head_and_match_the_models(migrated: Database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    assert migrated.current_revision() == migrated.head_revision()
    with migrated.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_a_slack_request_is_processed_once(db: Database):
    at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with db.transaction() as session:
        assert queries.claim_request(session, "event:Ev1", at) is True
    with db.transaction() as session:
        assert queries.claim_request(session, "event:Ev1", at) is False
        assert queries.claim_request(session, "event:Ev2", at) is True


def test_a_reference_is_looked_up_through_its_index(db: Database):
    """The statement ``incident_by_ref`` sends uses the ``upper(ref)`` index: a command that
    names an incident must not read every incident (70 ms at 100,000 on SQLite)."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read() as session:
            queries.incident_by_ref(session, "inc-7")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    statement, parameters = next((s, p) for s, p in sent if "FROM incident" in s)
    with db.engine.begin() as connection:
        if db.is_sqlite:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # tiny tables scan anyway
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    assert "ix_incident_ref_upper" in " ".join(str(row) for row in plan), plan


def test_a_reports_rows_read_from_the_driver_equal_sqlalchemys_own(db: Database, monkeypatch):
    """``report_incidents`` reads the driver's cursor: its values (aware instants in
    ``dt.UTC``, booleans) are those SQLAlchemy's typed rows give, on both databases."""
    at = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=CPH)
    with db.transaction() as session:
        outage = _incident("INC-O", at)
        outage.outage, outage.restored_at = True, at + dt.timedelta(minutes=90)
        outage.acknowledged_at, outage.excluded_reason = at + dt.timedelta(minutes=5), "theirs"
        session.add(outage)
        session.add(_incident("INC-N", at + dt.timedelta(hours=1)))
    start, end = at - dt.timedelta(days=1), at + dt.timedelta(days=1)
    with db.read() as session:
        rows = [tuple(r) for r in queries.report_incidents(session, start, end)]
        # The same statement through SQLAlchemy's result: compare value and type.
        with monkeypatch.context() as patched:
            patched.setattr(queries, "_driver_rows", lambda s, statement, **_: s.execute(statement))
            typed = [tuple(r) for r in queries.report_incidents(session, start, end)]
    assert len(rows) == 2 and sorted(rows) == sorted(typed)
    for row, expected in zip(sorted(rows), sorted(typed), strict=True):
        assert [type(v) for v in row] == [type(v) for v in expected]
        assert all(v.tzinfo is dt.UTC for v in row if isinstance(v, dt.datetime))
    assert {r[1]: (r[4], r[6], r[7]) for r in rows} == {
        "INC-O": (True, True, True), "INC-N": (False, False, True)
    }  # fmt: skip


def test_postgres_sessions_give_instants_in_utc(migrated: Database):
    """Each PostgreSQL session is set to UTC, so the driver gives ``dt.UTC`` instants that
    need no conversion, whatever the server's default zone."""
    if migrated.is_sqlite:
        return  # SQLite has no session zone: its stored text is parsed as UTC
    with migrated.read() as session:
        zone = session.connection().exec_driver_sql("SHOW TIME ZONE").scalar()
        now = session.connection().connection.driver_connection.execute("SELECT now()").fetchone()
    assert zone == "UTC"
    assert now[0].tzinfo is dt.UTC
