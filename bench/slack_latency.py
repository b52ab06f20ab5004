"""Benchmark: latency of signed slash commands over HTTP, with 100,000 incidents stored.

    .venv/bin/python bench/slack_latency.py                     # SQLite file in a temp folder
    .venv/bin/python bench/slack_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/slack_latency.py --incidents 10000 --requests 300   # a quick look
    .venv/bin/python bench/slack_latency.py --profile           # in process, where the time goes
    python3 dev.py bench slack_latency

What runs: ``slabot serve --port N`` as its own process (waitress, the production server),
its ``SLACK_API_URL`` pointing at a LoopbackSlack in this process. This process sends
signed ``/incident`` commands one at a time, the way Slack does, and times each from
sending the request to reading the answer (the server's work plus a loopback HTTP round
trip; the fake Slack answers the Web API calls made meanwhile in well under a
millisecond, real Slack in 50–300 ms each — see docs/benchmarks-slack.md). Target: p99 <
50 ms (Slack allows 3,000).

The database (fixed seed): ``--incidents`` resolved incidents spread over the past year
for 200 customers on the three seed contracts — each with its customers (95 % one, 4 %
two or three, 1 % everyone), timers (response, restore, progress), a timeline (declared,
acknowledged, 0–4 updates, restored, resolved), its sent reminders, its own channel, 5 %
with a pause — written in bulk through ``storage.queries.insert_rows``, not through the
services. Then ``--open`` incidents are declared through Slack itself (each opens a
channel and pins a card), and the measured mix runs against them: ``status``, ``update``,
``severity``, ``pause``/``resume`` and ``ack`` in incident channels, ``status`` of an old
incident by its reference, ``list``, ``help``, a command outside any incident channel (the
refusal that lists the open ones) and new declarations. PostgreSQL runs in a schema of its
own, dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bot.slack.loopback import LoopbackSlack, SlackRequests  # noqa: E402
from storage import queries  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    EventKind,
    Incident,
    IncidentCustomer,
    IncidentPause,
    OutboxStatus,
    ProcessedRequest,
    Reminder,
    TimelineEvent,
    Timer,
)

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
CUSTOMERS = 200
POLICIES = ("dixa", "messaging-platform", "diplomasafe")
LEVELS = {"dixa": 4, "messaging-platform": 3, "diplomasafe": 4}
USERS = [f"U{n:04d}" for n in range(1, 21)]
SERVICES = ("Checkout", "Search", "Login", "Webhooks", "Payments", "SMS delivery", "Exports", "API")
SYMPTOMS = ("down", "slow", "errors", "timeouts", "degraded", "failing for some users")
MIX = {
    "status (incident channel)": 20,
    "update (incident channel)": 25,
    "severity (incident channel)": 8,
    "pause/resume (incident channel)": 10,
    "ack (incident channel)": 4,
    "status INC-n (old incident)": 10,
    "list": 8,
    "help": 5,
    "ack outside (lists open ones)": 5,
    "declare": 5,
}


# --- the database ------------------------------------------------------------------------------


def schema_url(base: str) -> tuple[str, str]:
    """A fresh PostgreSQL schema for the run, as a URL whose connections work in it."""
    schema = f"slabot_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}", schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def write_customers(path: Path) -> list[tuple[str, str]]:
    lines, customers = ["customers:"], []
    for n in range(CUSTOMERS):
        cid, policy = f"c{n:03d}", POLICIES[n % 3]
        zone = ", timezone: Europe/Copenhagen" if policy == "dixa" else ""
        lines.append(f"  - {{id: {cid}, name: Customer {n}, policy: {policy}{zone}}}")
        customers.append((cid, policy))
    path.write_text("\n".join(lines) + "\n")
    return customers


def history(count: int, customers: list[tuple[str, str]], now: dt.datetime, rng: random.Random):
    """Rows of ``count`` resolved incidents over the year before ``now``, and all they imply."""
    rows: dict[type, list[dict]] = defaultdict(list)
    m = dt.timedelta(minutes=1)
    for n in range(1, count + 1):
        declared = now - dt.timedelta(seconds=rng.randrange(86400, 365 * 86400))
        roll = rng.random()
        named = (
            [] if roll < 0.01 else rng.sample(customers, 1 if roll < 0.96 else rng.randint(2, 3))
        )
        severity = rng.randint(1, min((LEVELS[p] for _, p in named), default=3))
        acknowledged = declared + rng.randrange(1, 90) * m
        restored = acknowledged + rng.randrange(5, 600) * m
        resolved = restored + rng.randrange(10, 240) * m
        rows[Incident].append({
            "id": n, "ref": f"INC-{n}", "title": f"Incident {n}: checkout errors for some users",
            "severity": severity, "declared_at": declared, "reported_at": declared,
            "impact_start": declared - rng.randrange(0, 20) * m, "acknowledged_at": acknowledged,
            "restored_at": restored, "resolved_at": resolved, "declared_by": rng.choice(USERS),
            "outage": rng.random() < 0.3, "impact_pct": None, "excluded_reason": None,
            "affects_all": not named, "summary": "Rolled back the release", "channel_id": f"CH{n:08d}",
            "card_ts": f"{declared.timestamp():.6f}", "origin_channel_id": "C0GENERAL",
            "source": "slack", "updated_at": resolved,
        })  # fmt: skip
        rows[IncidentCustomer].extend({"incident_id": n, "customer_id": c} for c, _ in named)
        for kind, started, stopped, target in (
            ("response", declared, acknowledged, 30 * m),
            ("restore", declared, restored, 240 * m),
            ("progress", acknowledged, resolved, 60 * m),
        ):
            rows[Timer].append({
                "incident_id": n, "kind": kind, "target": "30m 24x7", "contract": "messaging-platform",
                "started_at": started, "deadline_at": started + target, "stopped_at": stopped,
                "outcome": "met" if stopped <= started + target else "breached",
            })  # fmt: skip
        events = [(EventKind.DECLARED, declared), (EventKind.ACKNOWLEDGED, acknowledged)]
        events += [
            (EventKind.UPDATE, acknowledged + (i + 1) * 20 * m) for i in range(rng.randint(0, 4))
        ]
        events += [(EventKind.RESTORED, restored), (EventKind.RESOLVED, resolved)]
        rows[TimelineEvent].extend(
            {"incident_id": n, "at": at, "actor": rng.choice(USERS), "kind": kind,
             "text": "Investigating" if kind == EventKind.UPDATE else None,
             "before": None, "after": None}
            for kind, at in events
        )  # fmt: skip
        for step, due in (("15m", declared + 15 * m), ("breach", declared + 30 * m)):
            rows[Reminder].append({
                "incident_id": n, "timer": "response", "kind": "warning", "step": step,
                "due_at": due, "deadline_at": declared + 30 * m,
                "status": OutboxStatus.SENT if due < acknowledged else OutboxStatus.CANCELLED, "next_attempt_at": None,
                "claimed_by": None, "lease_until": None, "attempts": 1, "late": False,
                "dedupe_key": f"{n}/response/{due:%Y%m%dT%H%M%SZ}/{step}", "created_at": declared,
                "sent_at": due if due < acknowledged else None, "last_error": None,
                "channel_id": f"CH{n:08d}", "message_ts": None,
            })  # fmt: skip
        if rng.random() < 0.05:
            rows[IncidentPause].append({
                "incident_id": n, "started_at": acknowledged, "ended_at": acknowledged + 30 * m,
                "reason": "waiting for the customer", "paused_by": rng.choice(USERS),
            })  # fmt: skip
    rows[ProcessedRequest] = [
        {"key": f"command:old-{i}", "received_at": now - dt.timedelta(seconds=i * 80)}
        for i in range(1000)
    ]
    return rows


def fill(database: Database, count: int, customers, now: dt.datetime) -> dict[str, int]:
    rows = history(count, customers, now, random.Random(2026))
    with database.transaction() as session:
        written = {m.__tablename__: queries.insert_rows(session, m, r) for m, r in rows.items()}
    if not database.is_sqlite:  # the sequences continue after the bulk-written ids
        with database.engine.begin() as connection:
            connection.execute(
                text("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))")
            )
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return written


# --- Slack, signed ---------------------------------------------------------------------------


class Sender:
    def __init__(self, base: str, slack: LoopbackSlack):
        self.base, self.slack = base, slack
        self.requests = SlackRequests(SIGNING_SECRET)

    def command(
        self,
        text_: str,
        channel: str,
        user: str,
        *,
        command: str = "/incident",
        response_url: str | None = None,
        timeout: float = 10,
    ) -> tuple[float, dict]:
        request = self.requests.command(
            command, text_, user=user, channel=channel,
            response_url=response_url or self.slack.response_url("r"),
        ).http(f"{self.base}/slack/events")  # fmt: skip
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            payload = answer.read()
        return time.perf_counter() - started, json.loads(payload or b"{}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(url: str, customers_file: Path, slack: LoopbackSlack, folder: Path):
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        "SLABOT_CUSTOMERS_FILE": str(customers_file), "SLABOT_DEFAULT_POLICY": "messaging-platform",
    }  # fmt: skip
    script = Path(sys.executable).with_name("slabot")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from bot.cli import main; main()"]
    )
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=folder,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return base, process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"slabot serve did not start; see {folder / 'serve.log'}"
                ) from None
            time.sleep(0.1)


def in_process(url: str, customers_file: Path, slack: LoopbackSlack, profiler: cProfile.Profile):
    """The same app on waitress in this process, its units of work profiled."""
    import threading

    from bot.clock import SystemClock
    from bot.context import Context
    from bot.slack import handlers
    from bot.slack.app import build_app, http_server
    from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files
    from config.settings import Settings

    settings = Settings(_env_file=None, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                        SLACK_API_URL=slack.api_url)  # fmt: skip
    contracts = load_contracts(
        policy_files(SHIPPED_POLICIES_DIR), customers_file, "messaging-platform"
    )
    ctx = Context(db=Database(url), contracts=contracts, clock=SystemClock())
    app, _ = build_app(ctx, settings)
    safely = handlers.safely

    def profiled(work):
        profiler.enable()
        try:
            return safely(work)
        finally:
            profiler.disable()

    handlers.safely = profiled
    server = http_server(app, ctx, settings, host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


# --- the run ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux), to show the work apart from waiting:
    on a busy machine the wall-clock figures include time spent queued for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def figures(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p90_ms": round(percentile(ms, 0.9), 1),
        "p99_ms": round(percentile(ms, 0.99), 1), "max_ms": round(max(ms), 1),
    }  # fmt: skip


def run_mix(
    sender: Sender, slack: LoopbackSlack, opened: int, requests: int, old: int, rng: random.Random
):
    timings: dict[str, list[float]] = defaultdict(list)
    incidents: list[dict] = []  # channel, severity, paused, acknowledged

    def declare(record: str | None) -> None:
        title = f"{rng.choice(SERVICES)} {rng.choice(SYMPTOMS)}"
        elapsed, answer = sender.command(
            f"declare 2 {title} for c{rng.randrange(CUSTOMERS):03d}", "C0GENERAL", rng.choice(USERS)
        )
        assert answer.get("text", "").startswith("🚨"), answer
        channel = slack.calls_to("conversations.create")[-1].response["channel"]["id"]
        incidents.append(
            {"channel": channel, "severity": 2, "paused": False, "acknowledged": False}
        )
        if record:
            timings[record].append(elapsed)

    for _ in range(opened):
        declare("declare")
    kinds, weights = zip(*MIX.items(), strict=True)
    for index in range(requests + 20):  # the first 20 warm up and are not counted
        kind = rng.choices(kinds, weights)[0]
        record = kind if index >= 20 else None
        if kind == "declare":
            declare(record)
            continue
        incident = rng.choice(incidents)
        channel, user = incident["channel"], rng.choice(USERS)
        if kind.startswith("status ("):
            text_ = "status"
        elif kind.startswith("update"):
            text_ = f"update Still investigating, next update in 30 minutes ({index})"
        elif kind.startswith("severity"):
            incident["severity"] = 3 if incident["severity"] == 2 else 2
            text_ = f"severity {incident['severity']}"
        elif kind.startswith("pause"):
            text_ = "resume" if incident["paused"] else "pause waiting for the customer's logs"
            incident["paused"] = not incident["paused"]
        elif kind.startswith("ack ("):
            text_ = "ack"  # the first one acknowledges; later ones are refused (already)
        elif kind.startswith("status INC"):
            text_, channel = f"status INC-{rng.randint(1, old)}", "C0GENERAL"
        elif kind == "list":
            text_, channel = "list", "C0GENERAL"
        elif kind == "help":
            text_, channel = "help", "C0GENERAL"
        else:
            text_, channel = "ack", "C0GENERAL"
        elapsed, answer = sender.command(text_, channel, user)
        if answer.get("text", "").startswith(("⏳", "⚠️ something")):
            raise SystemExit(f"{kind}: {answer['text']}")
        if record:
            timings[record].append(elapsed)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL base URL (a schema is made in it); default: a SQLite file",
    )
    parser.add_argument(
        "--incidents", type=int, default=100_000, help="resolved incidents in history"
    )
    parser.add_argument(
        "--open", type=int, default=50, help="open incidents declared through Slack first"
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured commands")
    parser.add_argument(
        "--profile", action="store_true", help="serve in this process and profile the units of work"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the SQLite file, customers file and server log "
        "(kept; a later run with the same folder reuses its incidents)",
    )
    args = parser.parse_args()  # fmt: skip

    folder = args.keep or Path(tempfile.mkdtemp(prefix="slabot-bench-slack-"))
    folder.mkdir(parents=True, exist_ok=True)
    schema = None
    if args.database_url and not args.database_url.startswith("sqlite"):
        url, schema = schema_url(args.database_url)
    else:
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    try:
        database = Database(url)
        database.upgrade()
        customers_file = folder / "customers.yaml"
        customers = write_customers(customers_file)
        started = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        with database.read() as session:
            stored = session.scalar(select(func.count()).select_from(Incident))
        if stored:  # a kept SQLite file from an earlier run
            print(f"{database.dialect}: reusing {stored:,} incidents in {url}", flush=True)
            args.incidents = stored
        else:
            written = fill(database, args.incidents, customers, now)
            print(f"{database.dialect}: wrote {sum(written.values()):,} rows in "
                  f"{time.perf_counter() - started:.1f} s: {json.dumps(written)}", flush=True)  # fmt: skip
        database.dispose()
        print(f"python {platform.python_version()}, {platform.machine()}, "
              f"{len(os.sched_getaffinity(0))} cores", flush=True)  # fmt: skip

        profiler = cProfile.Profile()
        with LoopbackSlack(expected_token=BOT_TOKEN) as slack:
            for user in USERS:
                slack.add_user(user, user.lower(), tz="Europe/Copenhagen")
            slack.add_channel("general", id="C0GENERAL", bot_member=True, members=USERS)
            if args.profile:
                base, server = in_process(url, customers_file, slack, profiler)
            else:
                base, server = serve(url, customers_file, slack, folder)
            pid = os.getpid() if args.profile else server.pid
            try:
                cpu, load = cpu_seconds(pid), os.getloadavg()[0]
                timings = run_mix(Sender(base, slack), slack, args.open, args.requests,
                                  args.incidents, random.Random(7))  # fmt: skip
                cpu = cpu_seconds(pid) - cpu
                print(f"load average (1 min) {load:.1f} before the run, "
                      f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores", flush=True)  # fmt: skip
            finally:
                if args.profile:
                    server.close()
                else:
                    server.terminate()
                    server.wait(timeout=10)
    finally:
        if schema:
            drop_schema(args.database_url, schema)

    measured = [t for kind, values in timings.items() for t in values if kind in MIX]
    for kind in MIX:
        if timings.get(kind):
            print(json.dumps({"command": kind, **figures(timings[kind])}, ensure_ascii=False))
    overall = figures(measured)
    served = args.open + 20 + args.requests  # the warm-up included
    what = "process_cpu_ms_per_command" if args.profile else "server_cpu_ms_per_command"
    overall[what] = round(cpu * 1000 / served, 1)
    print(json.dumps({"command": "all", **overall}))
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    ok = overall["p99_ms"] < 50
    print(f"target p99 < 50 ms: {'met' if ok else 'NOT met'} ({overall['p99_ms']} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
