"""Alembic environment: migrates the engine that ``storage.db.Database`` hands over.

The whole upgrade is one transaction that first takes a lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock), so a web and a worker process that start at the same time
cannot both create the same table.
"""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - the tables

MIGRATION_LOCK = 7_291_003  # an arbitrary advisory-lock key that is slabot's


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - slabot migrates online only
    raise SystemExit("slabot migrations run online: use `slabot db upgrade`")
run_migrations_online()
