"""The engine, units of work, and migrations.

SQLite (the embedded default): WAL so readers never wait for the writer, foreign keys on,
a busy timeout, and write transactions that take the write lock when they begin (``BEGIN
IMMEDIATE``), so two processes that both read-then-write queue up instead of failing with
"database is locked" half-way. PostgreSQL: a pooled engine with pre-ping, so a restarted
server is reconnected to without restarting slabot; writers lock the rows they change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

import storage.models  # noqa: F401 - registers the tables on SQLModel.metadata

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database's schema is behind the code; the message says what to run."""


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database did not answer — refused, lost (a server
    restarting), timed out, locked for too long — rather than a mistake in a query. The
    next unit of work reconnects (pre-ping), so trying again later is the remedy."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError))


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {},
    )
    if parsed.get_backend_name() == "postgresql":
        _sessions_in_utc(engine)
    return engine


def _sessions_in_utc(engine: Engine) -> None:
    """Each PostgreSQL session in UTC, whatever the server's default zone: psycopg then gives
    instants in ``dt.UTC`` itself, which ``UTCDateTime`` keeps as they are (in a zone such as
    ``Etc/UTC`` each one was converted: half of the time a year's report takes to read its
    ~90,000 rows). The zone changes no stored value (``timestamptz`` holds instants)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # the setting outlives any transaction
        try:
            dbapi_connection.execute("SET TIME ZONE 'UTC'")
        finally:
            dbapi_connection.autocommit = autocommit


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One database: units of work for services, and its schema's migrations."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._writer = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.dialect == "sqlite"
            else self.engine
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work that writes: all of it commits, or none of it."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only look at the data."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    # --- migrations ------------------------------------------------------------------
    # Alembic is imported only to migrate: checking the schema, which every command does at
    # start-up, reads one table and the migration files' text (importing Alembic would cost
    # each command a fifth of a second).

    def _alembic_config(self):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self._writer
        return config

    def head_revision(self) -> str | None:
        head = _head_revision()
        if head is None:  # branches or an unusual file: Alembic knows best
            from alembic.script import ScriptDirectory

            return ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        return head

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if len(versions) > 1:  # several heads: Alembic's own refusal says so
            from alembic.runtime.migration import MigrationContext

            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        return versions[0][0] if versions else None

    def upgrade(self) -> None:
        """Apply every migration not yet applied (safe to run from several processes at once)."""
        from alembic import command

        command.upgrade(self._alembic_config(), "head")

    def ensure_schema(self) -> None:
        """Upgrade SQLite on first use; ask for ``slabot db upgrade`` on PostgreSQL."""
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        if self.is_sqlite:
            self.upgrade()
            return
        raise SchemaOutOfDate(
            f"the database's schema is at {current or 'nothing'}, this slabot needs {head}; "
            "run `slabot db upgrade` with DATABASE_URL naming it (the Procfile's release "
            "phase does it)"
        )


_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(
    r"^down_revision(?::[^=]*)?=\s*(?:None|['\"]([^'\"]+)['\"])\s*$", re.MULTILINE
)


@lru_cache(maxsize=1)
def _head_revision() -> str | None:
    """The one migration no other revises, from the files' ``revision`` and ``down_revision``
    lines; ``None`` when they do not say it plainly (Alembic then reads them)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.findall(source), _DOWN_REVISION.search(source)
        if len(found) != 1 or down is None:
            return None
        revisions.add(found[0])
        if down.group(1):
            revised.add(down.group(1))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 and revised <= revisions else None
