"""Fixtures shared by every test package.

``db`` runs a test on SQLite and on PostgreSQL (``TEST_DATABASE_URL``, default the local
server's ``test`` database). Each test session works in a schema of its own, created and
migrated once, emptied after every test. Without ``CI`` an unreachable PostgreSQL skips
its half of the tests; with ``CI`` set it fails them.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from bot.clock import ManualClock
from bot.context import Context
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files
from config.policy import Contracts
from storage.db import Database

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
"""The tests' "now" unless they move the clock: Friday 2026-11-20 10:00 in Copenhagen."""
PATIENCE = 60.0
"""How long a test waits for something to happen before it gives up, in seconds: a bound on
a hang, never a measure of speed (a busy machine takes longer, and the test still passes)."""


def wait_until(condition, timeout: float = PATIENCE, every: float = 0.05, explain=lambda: ""):
    """Poll ``condition`` until it is truthy; its value. ``AssertionError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s; {explain()}")


def postgres_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)


def connect_or_give_up(base: str):
    """An engine on ``base``; if the server is unreachable, skip the test, or fail it under CI."""
    admin = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL at {base} is unreachable ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI needs it (set TEST_DATABASE_URL)", pytrace=False)
        pytest.skip(f"{message}; set CI=1 to make this a failure")
    return admin


@pytest.fixture(scope="session")
def postgres_url():
    """A URL whose connections work in a fresh schema of this test session."""
    base = postgres_base_url()
    admin = connect_or_give_up(base)
    schema = f"slabot_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'slabot.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def migrated(database_url):
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def db(migrated: Database):
    """A migrated, empty database: SQLite or PostgreSQL."""
    yield migrated
    empty(migrated)


def empty(database: Database) -> None:
    from sqlmodel import SQLModel

    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))
        else:
            names = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    """The shipped policies, the test customers, and messaging-platform as the deployment's own."""
    return load_contracts(
        policy_files(SHIPPED_POLICIES_DIR), FIXTURES / "customers.yaml", "messaging-platform"
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def ctx(db: Database, contracts: Contracts, clock: ManualClock) -> Context:
    return Context(db=db, contracts=contracts, clock=clock)


@pytest.fixture
def env(monkeypatch):
    """Set environment variables, then forget cached settings (and again when the test ends)."""
    from config import settings

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.reset()

    yield set_env
    settings.reset()


@pytest.fixture
def cli_db(env, migrated, db):
    """The CLI pointed at the test database and customers (``env`` sets more)."""
    env(
        DATABASE_URL=migrated.url,
        SLABOT_CUSTOMERS_FILE=str(FIXTURES / "customers.yaml"),
        SLABOT_DEFAULT_POLICY="messaging-platform",
    )
    return env


def import_fixture_history(ctx: Context) -> None:
    """The hand-computed history of tests/fixtures/history.json, imported into ``ctx``."""
    from bot.incidents.importer import import_history, read_records

    import_history(ctx, *read_records(FIXTURES / "history.json"))


@pytest.fixture
def cli_history(cli_db, monkeypatch, ctx):
    """``cli_db`` at the tests' now, with the fixture history imported."""
    monkeypatch.setattr("bot.context.SystemClock", lambda: ManualClock(T0))
    import_fixture_history(ctx)
    return cli_db
