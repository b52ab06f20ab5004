"""Benchmark: signed slash commands over HTTP at a steady rate against ``slabot serve``.

    .venv/bin/python bench/load.py                               # 50/s for 60 s, PostgreSQL
    .venv/bin/python bench/load.py --rate 20 --duration 20       # a quick look
    .venv/bin/python bench/load.py --database sqlite --rate 50
    python3 dev.py bench load --rate 100 --duration 30

What runs: ``slabot serve`` as its own process (waitress), on a fresh PostgreSQL schema
(or a SQLite file) holding ``--incidents`` resolved incidents of history (bulk-written by
``bench/slack_latency.py``'s generator) and ``--open`` open incidents declared through Slack
first, each with its channel and pinned card. Then commands arrive at ``--rate`` a second
for ``--duration`` seconds on a fixed schedule, each from a thread of its own (open loop:
a slow answer does not hold back the next command, as real users do not wait for each
other), signed as Slack signs them: status and updates in incident channels, severity
changes, lists, status of old incidents by reference, help, ``/sla customers`` and new
declarations. Each is timed from sending to reading the answer; an answer "working on it"
counts as answered only once its follow-up reached the response URL.

Targets: every command answered, none after Slack's 3 s; p99 well under a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_latency import (  # noqa: E402
    USERS,
    cpu_seconds,
    drop_schema,
    fill,
    percentile,
    schema_url,
    serve,
    write_customers,
)
from bot.slack.loopback import LoopbackSlack  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Commands, machine  # noqa: E402
from storage.db import Database  # noqa: E402

TOKEN = "xoxb-bench-token"
MIX = {  # kind: weight
    "status": 25, "update": 25, "severity": 8, "list": 8, "status INC-n": 10, "help": 4,
    "sla customers": 5, "declare": 5, "ack outside": 5, "ack": 5,
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="commands a second")
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--incidents", type=int, default=10_000, help="resolved, in history")
    parser.add_argument("--open", type=int, default=50, help="open incidents declared first")
    parser.add_argument("--threads", type=int, default=64, help="client threads")
    parser.add_argument("--seed", type=int, default=50)
    args = parser.parse_args()
    print(machine(), flush=True)
    rng = random.Random(args.seed)

    folder = Path(tempfile.mkdtemp(prefix="slabot-bench-load-"))
    schema = None
    if args.database == "postgresql":
        url, schema = schema_url(args.postgres_url)
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    server = None
    try:
        database = Database(url)
        database.upgrade()
        customers = write_customers(folder / "customers.yaml")
        started = time.perf_counter()
        fill(database, args.incidents, customers, dt.datetime.now(dt.UTC))
        database.dispose()
        print(f"{args.database}: {args.incidents:,} incidents of history written in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        with LoopbackSlack(expected_token=TOKEN) as slack:
            for user in USERS:
                slack.add_user(user, user.lower(), tz="Europe/Copenhagen")
            slack.add_channel("general", id="C0GENERAL", bot_member=True, members=USERS)
            base, server = serve(url, folder / "customers.yaml", slack, folder)
            warm = Commands(base, slack, threads=1)
            for n in range(args.open):
                warm.send(f"declare 2 Load incident {n} for c{n % 200:03d}")
            warm.finish()
            channels = [
                c.response["channel"]["id"]
                for c in slack.calls_to("conversations.create")
                if c.response.get("ok")
            ]
            if len(channels) < args.open:
                raise SystemExit(f"only {len(channels)} of {args.open} declarations made a channel")
            kinds, weights = zip(*MIX.items(), strict=True)

            def pick(n: int) -> tuple[str, str] | tuple[str, str, str]:
                kind = rng.choices(kinds, weights)[0]
                channel = rng.choice(channels)
                if kind == "status":
                    return "status", channel
                if kind == "update":
                    return f"update Still investigating, next update in 30 minutes ({n})", channel
                if kind == "severity":
                    return f"severity {rng.choice((2, 3))}", channel
                if kind == "status INC-n":
                    return f"status INC-{rng.randint(1, args.incidents)}", "C0GENERAL"
                if kind == "sla customers":
                    return "customers", "C0GENERAL", "/sla"
                if kind == "declare":
                    return f"declare 3 Load declared {n}", "C0GENERAL"
                if kind == "ack outside":
                    return "ack", "C0GENERAL"
                return {"list": "list", "help": "help", "ack": "ack"}[kind], (
                    channel if kind == "ack" else "C0GENERAL"
                )

            commands = Commands(base, slack, threads=args.threads, timeout=10)
            cpu, load = cpu_seconds(server.pid), os.getloadavg()[0]
            began = time.monotonic()
            lag = commands.at_rate(args.rate, args.duration, pick)
            commands.finish()
            elapsed = time.monotonic() - began
            cpu = cpu_seconds(server.pid) - cpu
            time.sleep(1.0)  # the follow-ups of "working on it"
            score = commands.score()
            by_kind: dict[str, list[float]] = defaultdict(list)
            for sent in commands.sent:
                if sent.seconds is not None:
                    by_kind[_kind(sent.text)].append(sent.seconds * 1000)
            print(f"load average (1 min) {load:.1f} before, {os.getloadavg()[0]:.1f} after",
                  flush=True)  # fmt: skip
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(20)
        if schema:
            drop_schema(args.postgres_url, schema)

    for kind, values in sorted(by_kind.items()):
        print(json.dumps({"command": kind, "n": len(values),
                          "p50_ms": round(statistics.median(values), 1),
                          "p99_ms": round(percentile(values, 0.99), 1),
                          "max_ms": round(max(values), 1)}, ensure_ascii=False))  # fmt: skip
    achieved = score["sent"] / elapsed
    summary = {
        "rate_asked": args.rate, "rate_sent": round(achieved, 1), "duration_s": round(elapsed, 1),
        **score, "schedule_lag_max_s": round(lag, 3),
        "server_cpu_pct": round(cpu / elapsed * 100, 1),
        "server_cpu_ms_per_command": round(cpu * 1000 / max(1, score["sent"]), 1),
    }  # fmt: skip
    print(json.dumps({"command": "all", **summary}, ensure_ascii=False))
    ok = score["unanswered"] == 0 and score.get("over_3s", 0) == 0
    print(f"every command answered, none after 3 s: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def _kind(text: str) -> str:
    """The measured command's kind, from its text."""
    if text.startswith("status INC-"):
        return "status INC-n (old incident)"
    first = text.split(" ", 1)[0]
    return {"customers": "sla customers"}.get(first, first)


if __name__ == "__main__":
    sys.exit(main())
