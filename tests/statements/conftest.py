"""Statements of the three seed contracts, on the fixture history (tests/fixtures) and a year
of Diplomasafe requests for Initech made here; and the programs a person's view needs.

``chromium`` and ``poppler`` follow the PostgreSQL rule of tests/conftest.py: without the
program a test is skipped on a developer's machine and fails under CI (``.ci/run`` installs
them: ``apt-get install chromium poppler-utils``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest

from bot.clock import ManualClock
from bot.context import Context
from bot.incidents.importer import import_history
from bot.reports.statement import Statement, customer_statement
from bot.statements.pdf import find_chromium
from storage.db import Database
from tests.conftest import T0, import_fixture_history

YEAR_END = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)
"""When Initech's 2026 statement is made: the year is over, its claims still open."""

# Initech (Diplomasafe: 4 business hours to respond, 09:00–17:00 Copenhagen, Danish holidays;
# the year's uptime). With the fixture history's INC-B, INC-K, INC-G and INC-M.
INITECH_2026 = {
    "incidents": [
        # Mon 2 Mar 09:00 CET → answered 14:30: 5h 30m of business time, due 13:00: missed.
        {"ref": "DS-1", "title": "Cannot issue diplomas", "severity": 2,
         "declared_at": "2026-03-02T08:00:00Z", "acknowledged_at": "2026-03-02T13:30:00Z",
         "resolved_at": "2026-03-03T10:00:00Z", "customers": ["initech"]},
        # Sat night (Sun 01:00 CEST) outage inside MW-3: the timer waits for Mon 09:00, so the
        # 23:05Z answer is in time; all 150 minutes are maintenance announced the day before.
        {"ref": "DS-2", "title": "Portal down during the upgrade", "severity": 1,
         "declared_at": "2026-04-18T23:00:00Z", "acknowledged_at": "2026-04-18T23:05:00Z",
         "restored_at": "2026-04-19T01:30:00Z", "resolved_at": "2026-04-19T02:00:00Z",
         "outage": True, "customers": ["initech"]},
        # Fri 12 Jun 15:00 CEST → Mon 15 Jun 12:00: 2h on Friday + 3h on Monday = 5h: missed.
        {"ref": "DS-3", "title": "Verification page slow", "severity": 3,
         "declared_at": "2026-06-12T13:00:00Z", "acknowledged_at": "2026-06-15T10:00:00Z",
         "resolved_at": "2026-06-16T10:00:00Z", "customers": ["initech"]},
        # Thu 20 Aug 06:00–09:00Z (180 min); MW-4 excludes 05:00–07:00Z of it: 120 counted.
        {"ref": "DS-4", "title": "API errors after the failover", "severity": 1,
         "declared_at": "2026-08-20T06:00:00Z", "acknowledged_at": "2026-08-20T06:10:00Z",
         "restored_at": "2026-08-20T09:00:00Z", "resolved_at": "2026-08-20T10:00:00Z",
         "outage": True, "customers": ["initech"]},
        # Thu 10 Sep: 10:00–11:00Z and 10:30–12:00Z overlap: 120 minutes down, not 150.
        {"ref": "DS-5", "title": "Login failures", "severity": 1,
         "declared_at": "2026-09-10T10:00:00Z", "acknowledged_at": "2026-09-10T10:05:00Z",
         "restored_at": "2026-09-10T11:00:00Z", "resolved_at": "2026-09-10T11:30:00Z",
         "outage": True, "customers": ["initech"]},
        {"ref": "DS-6", "title": "Certificates not rendering", "severity": 1,
         "declared_at": "2026-09-10T10:30:00Z", "acknowledged_at": "2026-09-10T10:40:00Z",
         "restored_at": "2026-09-10T12:00:00Z", "resolved_at": "2026-09-10T12:30:00Z",
         "outage": True, "customers": ["initech"]},
        # Tue 1 Dec 08:00–12:00Z: 240 minutes.
        {"ref": "DS-7", "title": "Database storage full", "severity": 1,
         "declared_at": "2026-12-01T08:00:00Z", "acknowledged_at": "2026-12-01T08:10:00Z",
         "restored_at": "2026-12-01T12:00:00Z", "resolved_at": "2026-12-01T13:00:00Z",
         "outage": True, "customers": ["initech"]},
    ],
    "maintenance": [
        {"ref": "MW-3", "title": "Platform upgrade", "start": "2026-04-18T22:00:00Z",
         "end": "2026-04-19T02:00:00Z", "announced_at": "2026-04-17T12:00:00Z",
         "customers": ["initech"]},
        {"ref": "MW-4", "title": "Database failover test", "start": "2026-08-20T05:00:00Z",
         "end": "2026-08-20T07:00:00Z", "announced_at": "2026-08-19T15:00:00Z",
         "customers": ["initech"]},
    ],
}  # fmt: skip


def import_initech_2026(ctx: Context, clock: ManualClock) -> None:
    """Initech's year (on top of the fixture history), with the clock at ``YEAR_END``."""
    clock.set(YEAR_END)
    import_history(ctx, INITECH_2026["incidents"], INITECH_2026["maintenance"])


def require(program: str, found: str | None, install: str) -> str:
    """``found``, or skip (fail under CI) with what to install."""
    if found:
        return found
    message = f"{program} is not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI needs it to look at statements as a person does", pytrace=False)
    pytest.skip(f"{message}; set CI=1 to make this a failure")


@pytest.fixture(scope="session")
def chromium() -> str:
    return require("Chromium", find_chromium(), "apt-get install chromium")


@pytest.fixture(scope="session")
def poppler() -> str:
    return require(
        "pdftotext", shutil.which("pdftotext") and shutil.which("pdftoppm"),
        "apt-get install poppler-utils",
    )  # fmt: skip


@pytest.fixture(scope="module")
def sqlite_ctx(tmp_path_factory, contracts):
    """A context on a SQLite file of the module's own, at the tests' now (rendering tests
    look at documents, whose figures the service tests check on both databases)."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('statements') / 'slabot.db'}")
    database.upgrade()
    clock = ManualClock(T0)
    yield Context(db=database, contracts=contracts, clock=clock), clock
    database.dispose()


SEEDS = (("nordlys", "2026-10"), ("umbrella", "2026-10"), ("initech", "2026"))
"""A statement of each seed contract: monthly Dixa, the messaging platform's month with a
refund, Diplomasafe's year with missed responses (hand-computed in test_service.py)."""


@pytest.fixture(scope="module")
def seed_statements(sqlite_ctx) -> dict[tuple[str, str], Statement]:
    ctx, clock = sqlite_ctx
    import_fixture_history(ctx)
    made = {key: customer_statement(ctx, key[1], key[0]) for key in SEEDS[:2]}
    import_initech_2026(ctx, clock)
    made[SEEDS[2]] = customer_statement(ctx, SEEDS[2][1], SEEDS[2][0])
    return made
