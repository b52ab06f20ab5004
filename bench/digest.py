"""Benchmark: building, rendering and charting the weekly digest over a year of history.

    .venv/bin/python bench/digest.py                          # 1,000 customers, 100,000 incidents
    .venv/bin/python bench/digest.py --customers 200 --incidents 20000
    .venv/bin/python bench/digest.py --database-url postgresql+psycopg://…/empty_db

The history is ``bench/report.py``'s (same generator, same seed; sizes as given). The
digest of ``--week`` (default 2026-W44, a week in which October closes) is built as the
worker builds it on a Monday (the week's incidents with their timers, the open incidents,
every customer's standing to date and the months that closed), then rendered as Block Kit
and as text, and its chart drawn — in a fresh process, cold (as the worker does it once a
week), with the process's peak resident memory. No target is set by the issue; the digest
is built once a week, so seconds matter only in that a single worker does not post
reminders meanwhile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report as history  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.context import Context  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from storage.db import Database  # noqa: E402

NOW = dt.datetime(2026, 11, 2, 8, 0, 1, tzinfo=dt.UTC)
"""Monday 2 November 2026, 09:00:01 in Copenhagen: week 44's digest is due."""


def measure(url: str, customers_path: Path, week: str) -> dict:
    from bot.digest.chart import budget_chart
    from bot.digest.service import make_digest
    from bot.digest.text import as_text
    from bot.digest.weeks import parse_week
    from bot.slack.digest import digest_message

    database = Database(url)
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers_path, None)
    ctx = Context(db=database, contracts=contracts, clock=ManualClock(NOW))
    started = time.perf_counter()
    digest = make_digest(ctx, parse_week(week), "Europe/Copenhagen")
    built = time.perf_counter()
    message = digest_message(digest)
    payload = json.dumps(message.as_kwargs())
    text = as_text(digest)
    rendered = time.perf_counter()
    chart = budget_chart(digest)
    drawn = time.perf_counter()
    return {
        "week": week,
        "incidents_in_week": len(digest.incidents),
        "open": len(digest.open),
        "customers": len(digest.customers),
        "closed_periods": sum(1 for c in digest.customers if c.closed),
        "build_s": round(built - started, 3),
        "render_s": round(rendered - built, 3),
        "chart_s": round(drawn - rendered, 3),
        "total_s": round(drawn - started, 3),
        "message_bytes": len(payload),
        "blocks": len(message.blocks),
        "text_lines": text.count("\n") + 1,
        "chart_bytes": len(chart or b""),
        "maxrss_mb": round(history._peak_mb(), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an EMPTY database to fill (default: a SQLite file)")
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--week", default="2026-W44")
    parser.add_argument(
        "--measure", nargs=3, metavar=("URL", "CUSTOMERS", "WEEK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.measure:
        url, customers_path, week = args.measure
        print(json.dumps(measure(url, Path(customers_path), week)))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="slabot-bench-digest-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    database = Database(url)
    database.upgrade()
    rng = history.random.Random(2026)
    customers_path = folder / "customers.yaml"
    customers = history.write_customers(customers_path, rng, args.customers)
    history.generate(database, customers, rng, 0.001, count=args.incidents)
    database.dispose()
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, str(customers_path), args.week],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(out.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
