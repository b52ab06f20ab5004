"""With ``CI`` set, an unreachable PostgreSQL fails the run instead of skipping its tests.

(Without ``CI`` it is skipped, with a message saying how to make it a failure: every local
run without a PostgreSQL server shows that.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = "tests/storage/test_storage.py::test_a_slack_request_is_processed_once"
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def test_an_unreachable_postgres_fails_the_run_under_ci():
    env = {**os.environ, "CI": "1", "TEST_DATABASE_URL": NOWHERE}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rfEs", "-p", "no:cacheprovider", ONE_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout  # SQLite's half passes; PostgreSQL's fails
    assert (
        f"PostgreSQL at {NOWHERE} is unreachable (OperationalError); "
        "CI needs it (set TEST_DATABASE_URL)"
    ) in result.stdout
