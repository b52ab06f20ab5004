"""Benchmark: what one ``GET /metrics`` scrape costs as the history grows.

    .venv/bin/python bench/metrics.py                                  # both databases
    .venv/bin/python bench/metrics.py --history 2000 20000 --database sqlite

For each database and each ``--history`` size: that many Severity I incidents are written in
bulk (``bench/reminders.generate``: each with its timers and planned reminders), then all
but ``--open`` of them are made history — resolved, their timers stopped, their reminders
sent — as a deployment's past looks. A scrape (``bot.metrics.Scrape`` encoded in the text
format, what ``/metrics`` answers, the database's figures read by ``storage/gauges.py``) is
then timed ``--scrapes`` times: median and max wall time.

Target: the same cost whatever the history (the figures read live rows only); well under
the 10 s of Prometheus's default scrape timeout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import generate_latest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.reminders import drop_schema, fresh_schema, generate  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.metrics import Scrape  # noqa: E402
from bot.slack.loopback import LoopbackSlack  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, machine  # noqa: E402
from storage.db import Database  # noqa: E402


def measure(url: str, history: int, open_: int, scrapes: int) -> dict:
    database = Database(url)
    database.upgrade()
    with LoopbackSlack() as slack:
        generate(database, slack, history, dt.datetime.now(dt.UTC), 60)
    with database.engine.begin() as connection:
        past = "id > :open"
        connection.execute(
            text(f"UPDATE incident SET resolved_at = declared_at, restored_at = declared_at, "
                 f"acknowledged_at = declared_at WHERE {past}"), {"open": open_},
        )  # fmt: skip
        connection.execute(
            text("UPDATE timer SET stopped_at = started_at, outcome = 'met' "
                 "WHERE incident_id > :open"), {"open": open_},
        )  # fmt: skip
        connection.execute(
            text("UPDATE reminder SET status = 'sent', sent_at = due_at "
                 "WHERE incident_id > :open"), {"open": open_},
        )  # fmt: skip
    if not database.is_sqlite:  # as autovacuum would have, after so many rows changed
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), None, "messaging-platform")
    scrape = Scrape(Context(database, contracts, SystemClock()))
    generate_latest(scrape)  # warm: connections, statement caches
    times = []
    for _ in range(scrapes):
        began = time.perf_counter()
        body = generate_latest(scrape)
        times.append(time.perf_counter() - began)
    database.dispose()
    return {
        "incidents": history, "open": open_, "scrapes": scrapes,
        "median ms": round(statistics.median(times) * 1000, 1),
        "max ms": round(max(times) * 1000, 1), "bytes": len(body),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--history", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--open", type=int, default=200, help="incidents left open")
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    print(machine(), flush=True)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        for history in args.history:
            if kind == "sqlite":
                import tempfile

                folder = Path(tempfile.mkdtemp(prefix="slabot-bench-metrics-"))
                figures = measure(f"sqlite:///{folder / 'slabot.db'}", history, args.open,
                                  args.scrapes)  # fmt: skip
            else:
                url = fresh_schema(args.postgres_url)
                try:
                    figures = measure(url, history, args.open, args.scrapes)
                finally:
                    drop_schema(args.postgres_url, url)
            print(kind, figures, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
