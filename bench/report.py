"""Benchmark: uptime and credit reports, App Home standings and the weekly digest over a year
of history for 1,000 customers and 100,000 incidents.

    .venv/bin/python bench/report.py                                  # SQLite files, 3 shares
    .venv/bin/python bench/report.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/report.py --before /tmp/scale-before       # also today's code, same run
    .venv/bin/python bench/report.py --everyone 0.1 --customers 100 --incidents 10000   # developing

For each ``--everyone`` share (default 0.001, 0.1 and 0.5: the share of incidents that affect
every customer) it generates 2026 for 1,000 customers (the three seed policies, zones on four
continents, a tenth with order-form overrides) and 100,000 incidents, written in bulk with
SQLAlchemy core inserts (not through the services), plus pauses and maintenance windows, into
a SQLite file of its own or a PostgreSQL schema of its own (dropped afterwards). Then, each in
a fresh process so that its time and memory are its own, it measures:

- ``yearly``, ``monthly``: ``customer_report`` of every customer for 2026 and for ``--month``,
  the first call of the process (as ``slabot report`` runs it), now being 2027-01-15 12:00Z;
- ``standings``: ``uptime_to_date`` (App Home's standings: the running period and the one
  before) at the same now, after what ``slabot serve`` reads at start-up (``started``: the
  holiday tables; ``--cold`` leaves it out);
- ``digest``: ``make_digest`` of 2026-W44 on Monday 2 November 2026 09:00 CET, as the worker
  builds it (October closes in that week), after the worker's start-up alike;
- ``cli``: the whole ``slabot report --period 2026 --format json`` process (Python's start,
  imports, the report, the JSON), its output written to a file, with the clock set to the same
  now: wall and CPU time (user + system, from ``wait4``), peak resident memory, output size.

Each tree's packages are byte-compiled first, as installing them would (``compiled``).
CPU time is that of the measured process (PostgreSQL's server time comes on top of it; wall
time includes it). ``--repeat N`` runs each measurement N times, alternating the trees with
``--before DIR``: a checkout of older code with its own ``.venv``, run on the same databases
(e.g. ``git archive dee119d | tar -x -C /tmp/scale-before``). Targets: yearly < 2 s and
< 300 MB for the whole process, monthly < 1 s, standings < 1 s, digest build < 2 s.

The history (fixed seed 2026), a busy platform's year: a share ``--everyone`` of incidents
affects every customer, 1 % names two to five customers, the rest one; 30 % are outages — 70 %
of them 2–30 minutes, 25 % up to 2 hours, 5 % up to 6 hours; 2 % marked excluded — and 0.1 % are
still open; severities 1–4 as each customer's contract has them (10/30/40/20 %); responses
come 1 minute to 6 hours after declaration; 5 % were paused once; 104 maintenance windows (two
a week, half for everyone, half for 1–50 customers) announced 0–72 h ahead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote


def _code_root() -> Path:
    """The tree whose code is measured: this one, or ``--code DIR`` (an older checkout)."""
    if "--code" in sys.argv:
        return Path(sys.argv[sys.argv.index("--code") + 1]).resolve()
    return Path(__file__).resolve().parent.parent


ROOT = _code_root()
HERE = Path(__file__).resolve().parent
"""This script's folder (``_cli_process.py`` is beside it)."""
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

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
DIGEST_NOW = dt.datetime(2026, 11, 2, 8, 0, 1, tzinfo=UTC)
"""Monday 2 November 2026, 09:00:01 in Copenhagen: week 44's digest is due."""
DIGEST_WEEK = "2026-W44"
CUSTOMERS = 1_000
INCIDENTS = 100_000
WINDOWS = 104
SHARES = (0.001, 0.1, 0.5)
KINDS = ("yearly", "monthly", "standings", "digest", "cli")
TARGETS = {"yearly": 2.0, "monthly": 1.0, "standings": 1.0, "digest": 2.0, "cli": 2.0}
"""Seconds; the whole process (``cli``) also < 300 MB."""
MEMORY_TARGET_MB = 300
TIMEOUT = 900
"""Seconds one measurement may take before it is given up (old code at large shares)."""
MEMORY_LIMIT = 8 * 2**30
"""Address space one measurement may use before it is given up (the machine is shared)."""
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


def started(ctx: Context) -> None:
    """What a running ``slabot serve`` or ``slabot worker`` read at start-up, before App Home
    or the digest asks: ``bot.context.warm``. An older tree without it reads the same
    holiday tables here, so that both trees are measured alike."""
    import bot.context

    if hasattr(bot.context, "warm"):
        bot.context.warm(ctx)
        return
    from bot.sla.calendar import holiday_dates
    from bot.sla.contract import Contract

    year = ctx.clock.now().year
    for customer in ctx.contracts.customers.values():
        calendar = Contract.of_customer(customer).calendar
        if calendar.holiday_country is not None:
            for each in (year - 1, year, year + 1):
                holiday_dates(calendar.holiday_country, calendar.holiday_subdivision, each)


def measure(kind: str, url: str, customers_path: Path, month: str, cold: bool = False) -> dict:
    """Runs in its own process: one cold call of ``kind`` (not ``cli``)."""
    from bot.digest.service import make_digest
    from bot.digest.weeks import parse_week
    from bot.reports.service import customer_report, uptime_to_date

    database = Database(url)
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers_path, None)
    ctx = Context(db=database, contracts=contracts, clock=ManualClock(NOW))
    calls = {
        "yearly": lambda: customer_report(ctx, "2026").customers,
        "monthly": lambda: customer_report(ctx, month).customers,
        "standings": lambda: uptime_to_date(ctx),
        "digest": lambda: make_digest(ctx, parse_week(DIGEST_WEEK), "Europe/Copenhagen"),
    }
    if kind == "digest":
        ctx = Context(db=database, contracts=contracts, clock=ManualClock(DIGEST_NOW))
    if kind in ("standings", "digest") and not cold:
        started(ctx)
    before = _peak_mb()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    result = calls[kind]()
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    figures = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
    figures |= {"rss_before_mb": round(before, 1), "rss_mb": round(_peak_mb(), 1)}
    if kind == "digest":
        return figures | {"customers": len(result.customers), "in_week": len(result.incidents)}
    return figures | {"customers": len(result)}


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def child(command: list[str], stdout) -> tuple[int, float, float, float]:
    """Run ``command`` in a fresh process: its status, wall and CPU seconds and peak
    resident memory (MB), from ``wait4``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=stdout, stderr=subprocess.PIPE, preexec_fn=_limited,
    )  # fmt: skip
    deadline = started + TIMEOUT
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            status = -9
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    if status and process.stderr is not None:
        sys.stderr.write(process.stderr.read().decode()[-2000:])
    return status, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compiled(python: str, code: Path) -> None:
    """Byte-compile ``code``'s packages, as installing them does: an editable checkout run
    with ``PYTHONDONTWRITEBYTECODE`` (as CI sets it) would otherwise compile every module
    of slabot from source in each measured process (about 0.05 s of CPU)."""
    folders = [str(code / name) for name in ("bot", "config", "storage", "bench")]
    subprocess.run([python, "-m", "compileall", "-q", *folders], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def measure_in_child(
    kind: str, python: str, code: Path, url: str, customers: Path, month: str, folder: Path,
    cold: bool = False,
) -> dict:  # fmt: skip
    if kind == "cli":
        output = folder / "report.json"
        with output.open("wb") as out:
            process = [python, str(HERE / "_cli_process.py"), str(code), url, str(customers),
                       NOW.isoformat(), *(["--older"] if code != ROOT else [])]  # fmt: skip
            status, wall, cpu, rss = child(process, out)
        size = output.stat().st_size
        output.unlink()
        if status:
            return {"failed": "timeout" if status == -9 else f"status {status}", "wall_s": wall}
        return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "rss_mb": round(rss, 1),
                "output_mb": round(size / 2**20, 2)}  # fmt: skip
    with tempfile.TemporaryFile() as out:
        command = [python, __file__, "--measure", kind, url, str(customers), month,
                   *(["--cold"] if cold else [])]  # fmt: skip
        status, wall, _, _ = child([*command, "--code", str(code)], out)
        out.seek(0)
        lines = out.read().decode().strip().splitlines()
    if status or not lines:
        return {"failed": "timeout" if status == -9 else f"status {status}", "wall_s": wall}
    return json.loads(lines[-1])


# --- the databases ------------------------------------------------------------------------------


def fresh_database(base: str | None, folder: Path, share: float) -> tuple[str, Callable[[], None]]:
    """An empty, migrated database for one share, and how to drop it afterwards."""
    if base is None or base.startswith("sqlite"):
        path = folder / f"bench-{share}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    schema = f"bench_report_{str(share).replace('.', '_')}_{secrets.token_hex(3)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def fill(url: str, customers_path: Path, args) -> None:
    database = Database(url)
    database.upgrade()
    rng = random.Random(2026)
    customers = write_customers(customers_path, rng, args.customers)
    started = time.perf_counter()
    generate(database, customers, rng, args.share, args.incidents, args.windows)
    if database.dialect == "postgresql":
        # A live database has autovacuum's statistics; a bulk load has none until it runs, and
        # the planner then spills a hash join to disk (4 times slower on the server).
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print(f"  written in {time.perf_counter() - started:.1f} s to {database.dialect}", flush=True)
    database.dispose()


def _figure(results: list[dict]) -> str:
    ok = [r for r in results if "failed" not in r]
    if not ok:
        return results[0]["failed"] if results else "—"
    cpu = statistics.median(r["cpu_s"] for r in ok)
    wall = statistics.median(r["wall_s"] for r in ok)
    rss = max(r["rss_mb"] for r in ok)
    extra = f", {ok[0]['output_mb']} MB out" if "output_mb" in ok[0] else ""
    return f"{cpu:.2f} s CPU ({wall:.2f} s wall), {rss:.0f} MB{extra}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL: a database to make schemas in "
                        "(default: SQLite files)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="folder for the SQLite files and customers")
    parser.add_argument("--month", default="2026-06", help="the monthly report's period")
    parser.add_argument("--customers", type=int, default=CUSTOMERS,
                        help=f"customers to generate (default {CUSTOMERS:,})")  # fmt: skip
    parser.add_argument("--incidents", type=int, default=INCIDENTS,
                        help=f"incidents to generate (default {INCIDENTS:,})")  # fmt: skip
    parser.add_argument("--windows", type=int, default=WINDOWS,
                        help=f"maintenance windows to generate (default {WINDOWS})")  # fmt: skip
    parser.add_argument("--everyone", default=",".join(str(s) for s in SHARES),
                        help="shares of incidents affecting every customer, comma-separated "
                        "(default 0.001,0.1,0.5)")  # fmt: skip
    parser.add_argument("--only", default=",".join(KINDS),
                        help=f"what to measure, comma-separated (default {','.join(KINDS)})")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement")
    parser.add_argument("--before-repeat", type=int, default=1,
                        help="runs of each measurement of --before's code (slow: default 1)")  # fmt: skip
    parser.add_argument("--before", type=Path,
                        help="a checkout of older code with its own .venv, measured alike")  # fmt: skip
    parser.add_argument("--cold", action="store_true",
                        help="standings and digest without the start-up reads of slabot serve "
                        "and slabot worker (the holiday tables)")  # fmt: skip
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=4, metavar=("KIND", "URL", "CUSTOMERS", "MONTH"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.measure:
        kind, url, customers_path, month = args.measure
        print(json.dumps(measure(kind, url, Path(customers_path), month, cold=args.cold)))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="slabot-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.only.split(",") if k]
    trees = [("after", sys.executable, ROOT)]
    if args.before:
        before = args.before.resolve()
        trees.insert(0, ("before", str(before / ".venv" / "bin" / "python"), before))
    for _, python, code in trees:
        compiled(python, code)
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)  # fmt: skip
    rows, met = [], True
    for share in (float(s) for s in args.everyone.split(",")):
        args.share = share
        url, drop = fresh_database(args.database_url, folder, share)
        customers_path = folder / "customers.yaml"
        dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"--everyone {share} on {dialect}", flush=True)
        try:
            fill(url, customers_path, args)
            results: dict[tuple[str, str], list[dict]] = {}
            for run in range(args.repeat):
                for kind in kinds:
                    for name, python, code in trees:
                        if name == "before" and run >= args.before_repeat:
                            continue
                        found = measure_in_child(
                            kind, python, code, url, customers_path, args.month, folder,
                            args.cold,
                        )  # fmt: skip
                        found |= {"tree": name, "kind": kind, "everyone": share, "db": dialect}
                        print("  " + json.dumps(found), flush=True)
                        results.setdefault((kind, name), []).append(found)
        finally:
            drop()
        for kind in kinds:
            after = results[(kind, "after")]
            ok = [r for r in after if "failed" not in r]
            meets = bool(ok) and statistics.median(r["cpu_s"] for r in ok) < TARGETS[kind]
            if kind == "cli":
                meets = meets and max(r["rss_mb"] for r in ok) < MEMORY_TARGET_MB
            met = met and meets
            today = _figure(results[(kind, "before")]) if args.before else "—"
            rows.append(f"| {dialect} | {share} | {kind} | {today} | {_figure(after)} | "
                        f"{'yes' if meets else 'NO'} |")  # fmt: skip
    print("\n| database | everyone | measure | before | after | target met |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("targets:", "met" if met else "NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
