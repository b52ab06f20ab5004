"""Benchmark: reminder delivery by real ``slabot worker`` processes against the fake Slack.

    .venv/bin/python bench/reminders.py                          # 10,000 incidents, both DBs
    .venv/bin/python bench/reminders.py --incidents 2000 --window 30 --database sqlite
    python3 dev.py bench reminders --incidents 2000

For each database — SQLite (a file, ``--sqlite-workers`` workers, default 1) and PostgreSQL
(a fresh schema in ``--postgres-url``, ``--postgres-workers`` workers, default 3):

1. ``--incidents`` open Severity I incidents under the messaging-platform contract are
   written in bulk (SQLAlchemy core inserts of what a declaration writes: the incident, its
   timeline event, its timers and the reminders the engine plans for it — not through the
   services, which would take minutes), spread over 100 incident channels, each with a card.
   Their starts are chosen so that one reminder of each falls due inside a window of
   ``--window`` seconds that begins when the setup is done: half the incidents' response
   breach notices, half their 15-minute warnings, evenly spread. Every other reminder
   (restore, progress, later warnings, escalations) falls due after the window.
2. The workers start (``slabot worker``, their own processes, posting to the
   ``LoopbackSlack`` that runs in this process through ``SLACK_API_URL``), and sit idle for
   ``--idle`` seconds with every incident open: their CPU is measured from /proc.
3. The window runs. Lag = when the fake Slack received a reminder − its due time; each
   reminder's key (message metadata) tells duplicates and misses apart. The workers' CPU
   over the window and their peak memory (VmHWM) are read; then SIGTERM stops them.

Targets: lag p99 < 1 s, zero duplicates, zero misses, idle CPU near zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot.incidents.service import reminder_key  # noqa: E402
from bot.sla.contract import contracts_touched  # noqa: E402
from bot.sla.incident import IncidentFacts, plan_incident_reminders, read_timers  # noqa: E402
from bot.slack.loopback import LoopbackSlack  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from config.settings import HOW_TO_SET  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import EventKind, Incident, Reminder, TimelineEvent, Timer  # noqa: E402

TOKEN = "xoxb-bench-token"
CHANNELS = 100
SLABOT = Path(sys.executable).with_name("slabot")
TICK = os.sysconf("SC_CLK_TCK")


# --- the data ----------------------------------------------------------------------------


def generate(database: Database, slack: LoopbackSlack, incidents: int, base: dt.datetime,
             window: float) -> tuple[dict[str, dt.datetime], int]:  # fmt: skip
    """Bulk-write the incidents; return the reminders due in the window (key → due) and
    how many reminders are pending in all."""
    contracts = contracts_touched(
        load_contracts(policy_files(SHIPPED_POLICIES_DIR), None, "messaging-platform"), []
    )
    channels = [f"C0B{n:05d}" for n in range(CHANNELS)]
    for channel in channels:
        slack.add_channel(channel.lower(), id=channel, bot_member=True)
    declared = base - dt.timedelta(milliseconds=1)
    rows: dict[type, list[dict]] = defaultdict(list)
    in_window: dict[str, dt.datetime] = {}
    pending = 0
    for n in range(1, incidents + 1):
        offset = dt.timedelta(seconds=window * (n - 1) / incidents)
        lead = 30 if n % 2 else 15  # this one's breach, or its 15-minute warning, in the window
        started = base + offset - dt.timedelta(minutes=lead)
        channel = channels[n % CHANNELS]
        card = slack.add_message(channel, f"card of INC-{n}", user=slack.bot_user_id)
        rows[Incident].append({
            "id": n, "ref": f"INC-{n}", "title": f"Bench incident {n}", "severity": 1,
            "declared_at": declared, "reported_at": started, "impact_start": started,
            "declared_by": "U0BENCH", "outage": True, "affects_all": True, "channel_id": channel,
            "card_ts": card, "origin_channel_id": channel, "source": "slack", "updated_at": declared,
        })  # fmt: skip
        rows[TimelineEvent].append({
            "incident_id": n, "at": declared, "actor": "U0BENCH", "kind": EventKind.DECLARED,
            "text": f"Bench incident {n}",
        })  # fmt: skip
        facts = IncidentFacts(1, declared, started, started, last_report_at=declared)
        readings = read_timers(facts, contracts, declared)
        for kind, reading in readings.items():
            rows[Timer].append({
                "incident_id": n, "kind": kind.value, "target": reading.rule.describe(),
                "contract": reading.rule.contract, "started_at": facts.span(kind)[0],
                "deadline_at": reading.deadline,
            })  # fmt: skip
        for planned in plan_incident_reminders(facts, contracts, readings, declared):
            key = reminder_key(n, planned)
            rows[Reminder].append({
                "incident_id": n, "timer": planned.timer.value, "kind": planned.kind.value,
                "step": planned.step, "due_at": planned.due_at, "deadline_at": planned.deadline,
                "dedupe_key": key, "created_at": declared,
            })  # fmt: skip
            pending += 1
            if planned.due_at <= base + dt.timedelta(seconds=window):
                in_window[key] = planned.due_at
    with database.engine.begin() as connection:
        for model in (Incident, TimelineEvent, Timer, Reminder):
            batch = rows[model]
            for i in range(0, len(batch), 5_000):
                connection.execute(insert(model.__table__), batch[i : i + 5_000])
        if not database.is_sqlite:
            connection.execute(text("SELECT setval('incident_id_seq', :n)"), {"n": incidents})
    return in_window, pending


# --- the workers -----------------------------------------------------------------------------


class WorkerProcess:
    def __init__(
        self,
        database_url: str,
        slack: LoopbackSlack,
        folder: Path,
        options: list[str],
        settings: dict[str, str] | None = None,
    ):
        """``settings``: more slabot settings for the worker (the paging drill's keys)."""
        env = {k: v for k, v in os.environ.items() if k not in HOW_TO_SET}
        env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN=TOKEN,
                   SLACK_API_URL=slack.api_url, SLABOT_DEFAULT_POLICY="messaging-platform",
                   **(settings or {}))  # fmt: skip
        command = [str(SLABOT)] if SLABOT.exists() else [sys.executable, "-c",
                                                          "from bot.cli import main; main()"]  # fmt: skip
        self.log = (folder / f"worker-{time.monotonic_ns()}.log").open("w+")
        self.popen = subprocess.Popen(
            [*command, "worker", *options], env=env, cwd=folder,
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip

    def ready(self) -> bool:
        self.log.seek(0)
        return "posting reminders" in self.log.read()

    def cpu(self) -> float:
        """CPU seconds used so far (user + system)."""
        return cpu_seconds(self.popen.pid)

    def memory_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> int:
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(30)
        self.log.close()
        return code


def cpu_seconds(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu() -> float:
    """CPU seconds of the local PostgreSQL server's processes (0 when it is elsewhere)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(entry.name)
            except OSError:
                continue
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# --- one run -----------------------------------------------------------------------------------


def run(kind: str, url: str, args: argparse.Namespace, workers: int) -> dict:
    database = Database(url)
    database.upgrade()
    folder = Path(tempfile.mkdtemp(prefix="slabot-bench-"))
    with LoopbackSlack(expected_token=TOKEN) as slack:
        started = time.monotonic()
        # The window opens once the data is written and the workers have idled for --idle s.
        base = dt.datetime.now(dt.UTC) + dt.timedelta(
            seconds=args.incidents * args.setup_per_incident + 15 + args.idle
        )
        expected, pending = generate(database, slack, args.incidents, base, args.window)
        setup = time.monotonic() - started
        options = ["--poll", str(args.poll), "--concurrency", str(args.concurrency)]
        processes = [WorkerProcess(url, slack, folder, options) for _ in range(workers)]
        deadline = time.monotonic() + 60
        while not all(p.ready() for p in processes):
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start; see " + str(folder))
            time.sleep(0.1)
        time.sleep(1.0)  # past start-up
        quiet = (base - dt.datetime.now(dt.UTC)).total_seconds()
        if quiet < args.idle:
            raise SystemExit(
                f"setup took {setup:.1f}s and left {quiet:.1f}s before the window, less than "
                f"--idle {args.idle}s: raise --setup-per-incident"
            )
        before = [p.cpu() for p in processes]
        time.sleep(args.idle)
        idle_cpu = [(p.cpu() - b) / args.idle * 100 for p, b in zip(processes, before, strict=True)]
        idle_rss = [p.memory_mb("VmRSS") for p in processes]
        time.sleep(max(0.0, (base - dt.datetime.now(dt.UTC)).total_seconds()))
        before = [p.cpu() for p in processes]
        others_before = (cpu_seconds("self"), postgres_cpu(), os.getloadavg()[0])
        window_started = time.monotonic()
        end = base + dt.timedelta(seconds=args.window)
        give_up = time.monotonic() + args.window + 60
        while time.monotonic() < give_up:
            if dt.datetime.now(dt.UTC) > end:
                got = {
                    (c.params.get("metadata") or {}).get("event_payload", {}).get("key")
                    for c in slack.calls_to("chat.postMessage")
                }
                if expected.keys() <= got:
                    break
            time.sleep(0.25)
        time.sleep(1.0)  # room for a late duplicate
        busy = time.monotonic() - window_started
        busy_cpu = [(p.cpu() - b) / busy * 100 for p, b in zip(processes, before, strict=True)]
        fake_slack_cpu = (cpu_seconds("self") - others_before[0]) / busy * 100
        server_cpu = (postgres_cpu() - others_before[1]) / busy * 100
        load = (others_before[2], os.getloadavg()[0])
        peak = [p.memory_mb("VmHWM") for p in processes]
        codes = [p.stop() for p in processes]
        arrivals: dict[str, list[float]] = defaultdict(list)
        for call in slack.calls_to("chat.postMessage"):
            if call.ok:
                key = (call.params.get("metadata") or {}).get("event_payload", {}).get("key")
                arrivals[key].append(call.at)
    database.dispose()
    if kind == "postgresql":
        drop_schema(args.postgres_url, url)
    lags = [min(arrivals[k]) - due.timestamp() for k, due in expected.items() if arrivals.get(k)]
    return {
        "database": kind,
        "workers": workers,
        "incidents": args.incidents,
        "pending_reminders": pending,
        "due_in_window": len(expected),
        "window_s": args.window,
        "rate_per_s": round(len(expected) / args.window, 1),
        "setup_s": round(setup, 1),
        "lag_p50_s": round(statistics.median(lags), 3) if lags else None,
        "lag_p99_s": round(percentile(lags, 0.99), 3) if lags else None,
        "lag_max_s": round(max(lags), 3) if lags else None,
        "duplicates": sum(len(v) - 1 for k, v in arrivals.items() if k in expected),
        "misses": sum(1 for k in expected if not arrivals.get(k)),
        "idle_cpu_pct": [round(c, 2) for c in idle_cpu],
        "idle_rss_mb": [round(m, 1) for m in idle_rss],
        "busy_cpu_pct": [round(c, 1) for c in busy_cpu],
        "fake_slack_cpu_pct": round(fake_slack_cpu, 1),
        "postgres_cpu_pct": round(server_cpu, 1) if kind == "postgresql" else None,
        "load_average": [round(v, 1) for v in load],
        "peak_rss_mb": [round(m, 1) for m in peak],
        "exit_codes": codes,
    }


def fresh_schema(base: str) -> str:
    schema = f"slabot_bench_{os.getpid()}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def drop_schema(base: str, url: str) -> None:
    schema = url.rsplit("search_path%3D", 1)[-1]
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def show(result: dict) -> None:
    r = result
    print(
        f"\n{r['database']}: {r['workers']} worker(s), {r['incidents']:,} open incidents, "
        f"{r['pending_reminders']:,} pending reminders; {r['due_in_window']:,} due over "
        f"{r['window_s']:g} s ({r['rate_per_s']:g}/s); setup {r['setup_s']} s (bulk rows)\n"
        f"  delivery lag   p50 {r['lag_p50_s']} s   p99 {r['lag_p99_s']} s   max {r['lag_max_s']} s\n"
        f"  duplicates     {r['duplicates']}   misses {r['misses']}\n"
        f"  idle           CPU {r['idle_cpu_pct']} % per worker, RSS {r['idle_rss_mb']} MB\n"
        f"  window         CPU {r['busy_cpu_pct']} % per worker, peak RSS {r['peak_rss_mb']} MB\n"
        f"                 CPU of the fake Slack (this process) {r['fake_slack_cpu_pct']} %"
        + (
            f", of PostgreSQL {r['postgres_cpu_pct']} %"
            if r["postgres_cpu_pct"] is not None
            else ""
        )
        + f"; load average {r['load_average'][0]} → {r['load_average'][1]}\n"
        f"  SIGTERM        exit codes {r['exit_codes']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds measured")
    parser.add_argument("--poll", type=float, default=0.5, help="the workers' --poll")
    parser.add_argument("--concurrency", type=int, default=4, help="the workers' --concurrency")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--postgres-workers", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )  # fmt: skip
    parser.add_argument("--setup-per-incident", type=float, default=0.004,
                        help="seconds of setup allowed per incident before the window opens")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    print(
        f"reminders bench on {platform.node()} ({os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}), load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = []
    if args.database in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="slabot-bench-db-"))
        results.append(
            run("sqlite", f"sqlite:///{folder / 'slabot.db'}", args, args.sqlite_workers)
        )
        show(results[-1])
    if args.database in ("postgresql", "both"):
        url = fresh_schema(args.postgres_url)
        results.append(run("postgresql", url, args, args.postgres_workers))
        show(results[-1])
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
