"""Benchmark: uptime and credit reports over a year of history for 1,000 customers.

    .venv/bin/python bench/report.py                      # SQLite file in a temp folder
    .venv/bin/python bench/report.py --database-url postgresql+psycopg://…/empty_db
    python3 dev.py bench report

Generates 2026 for 1,000 customers (the three seed policies, zones on four continents, some
order-form overrides) and 100,000 incidents, written in bulk with SQLAlchemy core inserts
(not through the services), plus pauses and maintenance windows. Then, each in a fresh
process so its memory is its own, it times ``customer_report`` for the year and for one
month, for all customers: the first call (cold: as ``slabot report`` runs it) and the best
of three more, with the peak of Python allocations (tracemalloc, measured in a separate
call) and the process's peak resident memory. Targets: < 2 s and < 300 MB.

The history (fixed seed 2026), a busy platform's year: 98.9 % of incidents name one
customer, 1 % name two to five, 0.1 % (100, two a week) affect every customer; 30 % are
outages — 70 % of them 2–30 minutes, 25 % up to 2 hours, 5 % up to 6 hours; 2 % marked
excluded — and 0.1 % are still open; severities 1–4 as each customer's contract has them
(10/30/40/20 %); responses come 1 minute to 6 hours after declaration; 5 % were paused
once; 104 maintenance windows (two a week, half for everyone, half for 1–50 customers)
announced 0–72 h ahead. ``--everyone`` raises the share affecting every customer;
``--customers``, ``--incidents`` and ``--windows`` change the sizes (modest ones while
developing); ``--standings`` also times ``uptime_to_date``, what App Home and the weekly
digest read (the running period and the one before, so about two reports' work).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.context import Context  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Incident,
    IncidentCustomer,
    IncidentPause,
    MaintenanceCustomer,
    MaintenanceWindow,
)

UTC = dt.UTC
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600
NOW = dt.datetime(2027, 1, 15, 12, tzinfo=UTC)
"""The benchmark's now: 2026 has ended, its claim windows are open."""
CUSTOMERS = 1_000
INCIDENTS = 100_000
WINDOWS = 104
STANDINGS = "standings"
"""Not a period: ``uptime_to_date`` at NOW (the running period and the one before it)."""
ZONES = [
    "Europe/Copenhagen", "America/New_York", "Europe/London", "Asia/Tokyo",
    "America/Los_Angeles", "Australia/Sydney", "America/Sao_Paulo",
]  # fmt: skip


# --- generating ------------------------------------------------------------------------------


def write_customers(path: Path, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """The customers file; returns (id, policy) of each."""
    lines = ["customers:"]
    customers = []
    for n in range(count):
        cid = f"c{n:04d}"
        policy = ("dixa", "messaging-platform", "diplomasafe")[n % 3]
        per = rng.choice(("month", "year"))
        amount = rng.randrange(500, 20_000) * (12 if per == "year" else 1)
        currency = rng.choice(("EUR", "USD", "DKK"))
        entry = f"  - {{id: {cid}, name: Customer {n}, policy: {policy}, "
        if policy == "dixa":
            entry += f"timezone: {rng.choice(ZONES)}, "
        entry += f"fee: {{amount: {amount}, currency: {currency}, per: {per}}}"
        if n % 10 == 0:
            override = {
                "dixa": "{calendar: {holidays: {country: DK}}}",
                "messaging-platform": "{uptime: {commitment: 99.8}}",
                "diplomasafe": "{uptime: {claim_window: 60d}}",
            }[policy]
            entry += f", overrides: {override}"
        lines.append(entry + "}")
        customers.append((cid, policy))
    path.write_text("\n".join(lines) + "\n")
    return customers


def _levels(policy: str) -> int:
    return {"dixa": 4, "messaging-platform": 3, "diplomasafe": 4}[policy]


def _outage_minutes(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.70:
        return rng.randrange(2, 30)
    if roll < 0.95:
        return rng.randrange(30, 120)
    return rng.randrange(120, 360)


def generate(
    database: Database,
    customers: list[tuple[str, str]],
    rng: random.Random,
    everyone: float,
    count: int = INCIDENTS,
    windows_count: int = WINDOWS,
) -> None:
    incidents, links, pauses = [], [], []
    for n in range(1, count + 1):
        declared = YEAR_START + dt.timedelta(seconds=rng.randrange(YEAR_SECONDS))
        roll = rng.random()
        if roll < everyone:
            named = []
        elif roll < everyone + 0.01:
            named = rng.sample(customers, min(len(customers), rng.randint(2, 5)))
        else:
            named = [rng.choice(customers)]
        top = min((_levels(p) for _, p in named), default=3)
        severity = min(rng.choices((1, 2, 3, 4), weights=(10, 30, 40, 20))[0], top)
        outage = rng.random() < 0.3
        impact_start = declared - dt.timedelta(minutes=rng.randrange(0, 30))
        acknowledged = declared + dt.timedelta(minutes=rng.randrange(1, 360))
        still_open = rng.random() < 0.001
        lasted = _outage_minutes(rng) if outage else rng.randrange(30, 2880)
        restored = None if still_open else impact_start + dt.timedelta(minutes=lasted)
        resolved = None if restored is None else restored + dt.timedelta(minutes=30)
        if restored is not None and acknowledged > restored:
            acknowledged = restored
        incidents.append(
            {
                "id": n, "ref": f"INC-{n}", "title": f"Incident {n}", "severity": severity,
                "declared_at": declared, "reported_at": declared, "impact_start": impact_start,
                "acknowledged_at": acknowledged, "restored_at": restored, "resolved_at": resolved,
                "declared_by": "bench", "outage": outage,
                "impact_pct": float(rng.randrange(5, 101)) if severity == 2 else None,
                "excluded_reason": "customer's own network" if outage and rng.random() < 0.02 else None,
                "affects_all": not named, "source": "import", "updated_at": NOW,
            }
        )  # fmt: skip
        links.extend({"incident_id": n, "customer_id": cid} for cid, _ in named)
        if rng.random() < 0.05:
            start = declared + dt.timedelta(minutes=rng.randrange(1, 60))
            pauses.append(
                {
                    "incident_id": n, "started_at": start,
                    "ended_at": start + dt.timedelta(minutes=rng.randrange(10, 240)),
                    "reason": "waiting for the customer", "paused_by": "bench",
                }
            )  # fmt: skip
    windows, window_links = [], []
    for n in range(1, windows_count + 1):
        starts = YEAR_START + dt.timedelta(seconds=rng.randrange(YEAR_SECONDS))
        windows.append(
            {
                "id": n, "ref": f"MW-{n}", "title": f"Maintenance {n}", "starts_at": starts,
                "ends_at": starts + dt.timedelta(minutes=rng.randrange(15, 240)),
                "announced_at": starts - dt.timedelta(hours=rng.randrange(0, 72)),
                "affects_all": n % 2 == 0, "created_by": "bench",
            }
        )  # fmt: skip
        if n % 2:
            window_links.extend(
                {"maintenance_id": n, "customer_id": cid}
                for cid, _ in rng.sample(customers, min(len(customers), rng.randint(1, 50)))
            )
    with database.engine.begin() as connection:
        for table, rows in (
            (Incident, incidents), (IncidentCustomer, links), (IncidentPause, pauses),
            (MaintenanceWindow, windows), (MaintenanceCustomer, window_links),
        ):  # fmt: skip
            for i in range(0, len(rows), 10_000):
                connection.execute(insert(table.__table__), rows[i : i + 10_000])
    print(
        f"generated {len(incidents):,} incidents ({sum(i['affects_all'] for i in incidents)}"
        f" affecting everyone), {len(links):,} customer links, {len(pauses):,} pauses, "
        f"{len(windows)} maintenance windows",
        flush=True,
    )


# --- measuring --------------------------------------------------------------------------------


def _peak_mb() -> float:
    """This process's peak resident memory. Linux's ``ru_maxrss`` keeps the peak of the
    process that started it (across ``exec``), so the kernel's own high-water mark is read."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, customers_path: Path, period: str, mode: str) -> dict:
    """Runs in its own process. ``cold``: one report, as ``slabot report`` runs it, and the
    process's peak resident memory; ``warm``: three more after it, then the peak of Python
    allocations during one (tracemalloc slows what it watches, so it is timed apart)."""
    from bot.reports.service import customer_report, uptime_to_date

    def run() -> list:
        if period == STANDINGS:
            return [s.current for s in uptime_to_date(ctx)]
        return list(customer_report(ctx, period).customers)

    database = Database(url)
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers_path, None)
    ctx = Context(db=database, contracts=contracts, clock=ManualClock(NOW))
    before = _peak_mb()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    customers = run()
    result = {
        "period": period,
        "customers": len(customers),
        "customers_owed_credits": sum(1 for c in customers if c.credits),
        "incidents_counted": sum(len(c.incidents) for c in customers),
    }
    if mode == "cold":
        return result | {
            "cold_s": round(time.perf_counter() - started_wall, 3),
            "cold_cpu_s": round(time.process_time() - started_cpu, 3),
            "maxrss_before_report_mb": round(before, 1),
            "maxrss_mb": round(_peak_mb(), 1),
        }
    warm = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        warm.append(time.perf_counter() - started)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result | {
        "warm_best_s": round(min(warm), 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an EMPTY database to fill (default: a SQLite file)")
    parser.add_argument("--keep", type=Path, help="folder for the SQLite file and customers file")
    parser.add_argument("--month", default="2026-06", help="the monthly report's period")
    parser.add_argument("--customers", type=int, default=CUSTOMERS,
                        help=f"customers to generate (default {CUSTOMERS:,})")  # fmt: skip
    parser.add_argument("--incidents", type=int, default=INCIDENTS,
                        help=f"incidents to generate (default {INCIDENTS:,})")  # fmt: skip
    parser.add_argument("--windows", type=int, default=WINDOWS,
                        help=f"maintenance windows to generate (default {WINDOWS})")  # fmt: skip
    parser.add_argument("--everyone", type=float, default=0.001,
                        help="share of incidents affecting every customer (default 0.001)")  # fmt: skip
    parser.add_argument("--standings", action="store_true",
                        help="also time uptime_to_date (App Home, the weekly digest)")  # fmt: skip
    parser.add_argument("--measure", nargs=4, metavar=("URL", "CUSTOMERS", "PERIOD", "MODE"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.measure:
        url, customers_path, period, mode = args.measure
        print(json.dumps(measure(url, Path(customers_path), period, mode)))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="slabot-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    database = Database(url)
    database.upgrade()
    with database.read() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            print(f"{url} already holds incidents; point --database-url at an empty database")
            return 2
    rng = random.Random(2026)
    customers_path = folder / "customers.yaml"
    customers = write_customers(customers_path, rng, args.customers)
    started = time.perf_counter()
    generate(database, customers, rng, args.everyone, args.incidents, args.windows)
    if database.dialect == "postgresql":
        # A live database has autovacuum's statistics; a bulk load has none until it runs, and
        # the planner then spills a hash join to disk (4 times slower on the server).
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print(f"written in {time.perf_counter() - started:.1f} s to {database.dialect} ({folder})")
    database.dispose()
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores", flush=True)  # fmt: skip
    results = []
    for period in ("2026", args.month, *((STANDINGS,) if args.standings else ())):
        result: dict = {}
        for mode in ("cold", "warm"):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", url, str(customers_path), period, mode],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result |= json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(json.dumps(result), flush=True)
    ok = all(r["cold_s"] < 2 and r["maxrss_mb"] < 300 for r in results)
    print("targets (< 2 s, < 300 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
