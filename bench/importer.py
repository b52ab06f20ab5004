"""Benchmark: ``slabot import`` of a year of history into an empty database.

    .venv/bin/python bench/importer.py                         # SQLite and PostgreSQL
    .venv/bin/python bench/importer.py --before OTHER/.venv/bin/slabot --before-incidents 10000
    .venv/bin/python bench/importer.py --write-history history.json   # only write the file
    python3 dev.py bench importer

Writes a customers file (1,000 customers, ``bench/report.py``'s) and a history file in the
import format: 100,000 incidents over the year before 2026-12-01 with ``bench/report.py``'s
distribution (``--everyone``, default 0.1, the share affecting every customer; 1 % name two
to five customers, the rest one; 30 % outages, 2 % of them excluded; 0.1 % still open;
severities as each customer's contract has them; no pauses: the import format has none)
and 104 maintenance windows. Then it times ``slabot import FILE``, each in its own process
as an operator runs it, into an empty database: a new SQLite file, and a new schema of the
PostgreSQL database ``--postgresql`` names (``slabot db upgrade`` makes it, untimed). It
reports incidents per second, the process's CPU time and peak resident memory (``wait4``)
and the rows written; then imports the same file again (every record unchanged, nothing
written) and times that too. ``--before SLABOT`` times another build's ``slabot`` (today's,
to compare) in the same run, with ``--before-incidents`` of the same history if it is slow
(this build then imports that part too, for a like-for-like comparison).
Target: ≥ 2,000 incidents/s (100,000 in < 60 s) on both databases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

END = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
"""The history is the year before this instant (in the past when the bench runs)."""
START = END - dt.timedelta(days=365)
INCIDENTS = 100_000
TARGET = 2_000
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SLABOT = ROOT / ".venv" / "bin" / "slabot"
TABLES = ("incident", "incident_customer", "timeline_event", "timer", "reminder")


def _iso(instant: dt.datetime | None) -> str | None:
    return None if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def history(
    customers: list[tuple[str, str]], rng: random.Random, everyone: float, count: int
) -> dict[str, list[dict]]:
    """Incident and maintenance records as a history file holds them."""
    seconds = int((END - START).total_seconds()) - 3 * 24 * 3600
    incidents = []
    for n in range(1, count + 1):
        declared = START + dt.timedelta(seconds=rng.randrange(seconds))
        roll = rng.random()
        if roll < everyone:
            named = []
        elif roll < everyone + 0.01:
            named = rng.sample(customers, min(len(customers), rng.randint(2, 5)))
        else:
            named = [rng.choice(customers)]
        top = min((report._levels(p) for _, p in named), default=3)
        severity = min(rng.choices((1, 2, 3, 4), weights=(10, 30, 40, 20))[0], top)
        outage = rng.random() < 0.3
        impact_start = declared - dt.timedelta(minutes=rng.randrange(0, 30))
        acknowledged = declared + dt.timedelta(minutes=rng.randrange(1, 360))
        still_open = rng.random() < 0.001
        lasted = report._outage_minutes(rng) if outage else rng.randrange(30, 2880)
        restored = None if still_open else impact_start + dt.timedelta(minutes=lasted)
        resolved = None if restored is None else restored + dt.timedelta(minutes=30)
        if restored is not None:  # acknowledged by then, and not before the declaration
            acknowledged = max(declared, min(acknowledged, restored))
        incidents.append(
            {
                "ref": f"INC-{n}", "title": f"Incident {n}", "severity": severity,
                "declared_at": _iso(declared), "impact_start": _iso(impact_start),
                "acknowledged_at": _iso(acknowledged), "restored_at": _iso(restored),
                "resolved_at": _iso(resolved), "outage": outage,
                "customers": [cid for cid, _ in named],
                "excluded": "customer's own network" if outage and rng.random() < 0.02 else None,
                "impact_pct": float(rng.randrange(5, 101)) if severity == 2 else None,
            }
        )  # fmt: skip
    maintenance = []
    for n in range(1, report.WINDOWS + 1):
        starts = START + dt.timedelta(seconds=rng.randrange(seconds))
        named = [] if n % 2 == 0 else rng.sample(customers, rng.randint(1, 50))
        maintenance.append(
            {
                "ref": f"MW-{n}", "title": f"Maintenance {n}", "start": _iso(starts),
                "end": _iso(starts + dt.timedelta(minutes=rng.randrange(15, 240))),
                "announced_at": _iso(starts - dt.timedelta(hours=rng.randrange(0, 72))),
                "customers": [cid for cid, _ in named],
            }
        )  # fmt: skip
    return {"incidents": incidents, "maintenance": maintenance}


# --- measuring --------------------------------------------------------------------------------


def fresh_database(kind: str, folder: Path, postgresql: str) -> tuple[str, object]:
    """The URL of an empty database and a function that drops it."""
    if kind == "sqlite":
        path = folder / f"import-{secrets.token_hex(3)}.db"
        return f"sqlite:///{path}", lambda: [p.unlink() for p in folder.glob(path.name + "*")]
    schema = f"slabot_bench_import_{secrets.token_hex(3)}"
    admin = create_engine(postgresql)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgresql else "?"

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{postgresql}{separator}options={quote(f'-csearch_path={schema}')}", drop


def rows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {
            t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in TABLES
        }
    engine.dispose()
    return counts


def measure(label, slabot, history_path, customers_path, count, kind, folder, postgresql) -> dict:
    url, drop = fresh_database(kind, folder, postgresql)
    try:
        outcome = _timed(slabot, url, history_path, customers_path)
        counted = rows(url)
        again = _timed(slabot, url, history_path, customers_path)  # every record unchanged
        if rows(url) != counted:
            raise SystemExit(f"{label} on {kind}: importing the same file again changed rows")
    finally:
        drop()
    if counted["incident"] != count:
        raise SystemExit(f"{label} on {kind}: {counted['incident']} incidents, expected {count}")
    return {
        "build": label, "database": kind, "incidents": count, "seconds": outcome["seconds"],
        "incidents_per_s": round(count / outcome["seconds"]), "cpu_s": outcome["cpu_s"],
        "peak_mb": outcome["peak_mb"], "again_s": again["seconds"],
        "again_per_s": round(count / again["seconds"]), "rows": counted,
    }  # fmt: skip


def _timed(slabot: Path, url: str, history_path: Path, customers_path: Path) -> dict:
    """``slabot import`` in its own process: wall time, CPU time and peak memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLABOT_", "DATABASE_"))}
    env |= {
        "DATABASE_URL": url,
        "SLABOT_CUSTOMERS_FILE": str(customers_path),
        "SLABOT_DEFAULT_POLICY": "messaging-platform",
    }
    cwd = history_path.parent  # no .env there
    # Migrated first, untimed (SQLite would be migrated by the import itself).
    subprocess.run(
        [str(slabot), "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True
    )
    with tempfile.TemporaryFile("w+") as err:
        measured = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(slabot), "import", str(history_path)],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True, check=False,
        )  # fmt: skip
        if measured.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{slabot} import failed:\n{err.read()[-2000:]}")
    return json.loads(measured.stdout)


_MEASURE = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(json.dumps({
    "seconds": round(time.perf_counter() - started, 2),
    "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    "peak_mb": round(usage.ru_maxrss / 1024, 1),
}))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and reports its wall time, CPU time and peak resident memory. Linux keeps
a process's peak across ``fork`` and ``exec``, so the command is started from this small
process, not from the benchmark, which holds the whole history in memory."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--incidents",
        type=int,
        default=INCIDENTS,
        help=f"incidents in the history (default {INCIDENTS:,})",
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=report.CUSTOMERS,
        help=f"customers (default {report.CUSTOMERS:,})",
    )
    parser.add_argument(
        "--everyone",
        type=float,
        default=0.1,
        help="share of incidents affecting every customer (default 0.1)",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="which to time, of sqlite,postgresql (default both)",
    )
    parser.add_argument(
        "--postgresql",
        default=POSTGRES,
        help=f"a PostgreSQL database to make schemas in (default {POSTGRES})",
    )
    parser.add_argument(
        "--slabot",
        type=Path,
        default=SLABOT,
        help="the slabot to time (default this checkout's .venv)",
    )
    parser.add_argument("--before", type=Path, help="another slabot to time first (today's)")
    parser.add_argument(
        "--before-incidents",
        type=int,
        help="the first N incidents of the history for --before (default all)",
    )
    parser.add_argument("--keep", type=Path, help="folder for the customers and history files")
    parser.add_argument(
        "--write-history",
        type=Path,
        metavar="FILE",
        help="write the history (and customers.yaml beside it), time nothing",
    )
    args = parser.parse_args()
    rng = random.Random(2026)
    if args.keep or args.write_history:
        folder = args.keep or args.write_history.parent
    else:
        folder = Path(tempfile.mkdtemp(prefix="slabot-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    customers_path = folder / "customers.yaml"
    customers = report.write_customers(customers_path, rng, args.customers)
    records = history(customers, rng, args.everyone, args.incidents)
    history_path = args.write_history or folder / "history.json"
    history_path.write_text(json.dumps(records))
    everyone = sum(not r["customers"] for r in records["incidents"])
    print(
        f"wrote {history_path} ({history_path.stat().st_size / 2**20:.0f} MB): "
        f"{args.incidents:,} incidents ({everyone:,} affecting everyone), "
        f"{len(records['maintenance'])} maintenance windows; {customers_path}",
        flush=True,
    )
    if args.write_history:
        return 0
    print(
        f"python {platform.python_version()}, {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    runs = []
    if args.before:
        count = min(args.before_incidents or args.incidents, args.incidents)
        before_path = history_path
        if count < args.incidents:
            before_path = folder / f"history-{count}.json"
            part = {
                "incidents": records["incidents"][:count],
                "maintenance": records["maintenance"],
            }
            before_path.write_text(json.dumps(part))
        runs.append(("before", args.before, before_path, count))
        if count < args.incidents:  # the same file, for a like-for-like comparison
            runs.append(("after", args.slabot, before_path, count))
    runs.append(("after", args.slabot, history_path, args.incidents))
    results = []
    for label, slabot, path, count in runs:
        for kind in args.databases.split(","):
            result = measure(
                label, slabot, path, customers_path, count, kind, folder, args.postgresql
            )
            results.append(result)
            print(json.dumps(result), flush=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load {os.getloadavg()[0]:.1f}")
    for result in results:  # both builds wrote as many rows from the same file
        same = [
            r
            for r in results
            if (r["incidents"], r["database"]) == (result["incidents"], result["database"])
        ]
        if any(r["rows"] != result["rows"] for r in same):
            print(f"rows differ between builds for {result['incidents']:,} on {result['database']}")
    after = [r for r in results if r["build"] == "after" and r["incidents"] == args.incidents]
    ok = all(r["incidents_per_s"] >= TARGET for r in after)
    print(f"target (≥ {TARGET:,} incidents/s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
