"""Without PostgreSQL its half of the tests is skipped; with ``CI`` set, the run fails instead."""

from __future__ import annotations

import re

import pytest

from tests.conftest import connect_or_give_up

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
UNREACHABLE = f"PostgreSQL at {NOWHERE} is unreachable (OperationalError)"


def test_an_unreachable_postgres_is_skipped_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    message = f"{UNREACHABLE}; set CI=1 to make this a failure"
    with pytest.raises(pytest.skip.Exception, match=re.escape(message)):
        connect_or_give_up(NOWHERE)


def test_an_unreachable_postgres_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    message = f"{UNREACHABLE}; CI needs it (set TEST_DATABASE_URL)"
    with pytest.raises(pytest.fail.Exception, match=re.escape(message)):
        connect_or_give_up(NOWHERE)
