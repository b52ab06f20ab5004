"""Drill: ``slabot worker`` processes killed with SIGKILL at random moments, over many reminders.

    .venv/bin/python drills/worker_kills.py                          # PostgreSQL, 3 workers
    .venv/bin/python drills/worker_kills.py --database sqlite --workers 2 --incidents 2000
    .venv/bin/python drills/worker_kills.py --kills 5 --window 60     # a quicker look

``--incidents`` open Severity I incidents (bulk-written, 100 channels) have one reminder
each due over ``--window`` seconds (half of them response breach notices, which re-plan
their incident and refresh its card). ``--workers`` real ``slabot worker`` processes post
them to the fake Slack in this process; every few seconds (at random, ``--every``) one of
them, chosen at random, is killed with SIGKILL — while claiming, posting, marking or
sleeping, wherever it happens to be — and a new one started in its place. After the
window the drill waits for the dead workers' leases to run out (60 s: their claims are
taken over then, each checked against the channel before it is posted again), then counts
every reminder's posts by its metadata key: lost and doubled must be zero. Each post takes
``--slack-latency`` seconds, as in real Slack, so kills land while posts are in flight.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bench.reminders import percentile  # noqa: E402
from bot.reminders.service import LEASE  # noqa: E402
from bot.slack.loopback import Storm  # noqa: E402
from drills import ledger  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Drill, machine, show  # noqa: E402
from storage.models import Reminder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--incidents", type=int, default=3000, help="reminders due in the window")
    parser.add_argument("--window", type=float, default=120, help="seconds")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10, help="at most this many SIGKILLs")
    parser.add_argument("--every", type=float, nargs=2, default=(4, 14), metavar=("MIN", "MAX"),
                        help="seconds between kills, drawn at random")  # fmt: skip
    parser.add_argument("--slack-latency", type=float, nargs=2, default=(0.05, 0.3),
                        metavar=("MIN", "MAX"), help="seconds each post takes, as in real Slack "
                        "(the fake answers in well under a millisecond)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(machine(), flush=True)
    rng = random.Random(args.seed)

    drill = Drill.open(args.database, args.postgres_url)
    codes: list[int] = []
    killed: list[tuple[float, int]] = []
    try:
        due, ends = drill.incidents(args.incidents, args.window, 15 + args.incidents * 0.004)
        workers = [drill.worker("--poll", "0.5") for _ in range(args.workers)]
        drill.wait_ready(workers)
        # Posts take as long as Slack's do, so a kill lands inside a claim as often as it
        # would in production (and more: the rate is high).
        latency = Storm(slow=1.0, slow_delay=tuple(args.slack_latency), seed=args.seed,
                        methods={"chat.postMessage", "chat.update", "conversations.history"})  # fmt: skip
        drill.slack.storm(latency)
        starts = ends - dt.timedelta(seconds=args.window)
        time.sleep(max(0.0, (starts - dt.datetime.now(dt.UTC)).total_seconds()))
        print(f"{args.database}: {len(due)} reminders due over {args.window:g} s, "
              f"{args.workers} workers; killing", flush=True)  # fmt: skip
        began = time.monotonic()
        while len(killed) < args.kills:
            time.sleep(rng.uniform(*args.every))
            if dt.datetime.now(dt.UTC) >= ends:
                break
            victim = workers.pop(rng.randrange(len(workers)))
            victim.popen.send_signal(signal.SIGKILL)
            victim.popen.wait(10)
            killed.append((round(time.monotonic() - began, 1), victim.popen.pid))
            workers.append(drill.worker("--poll", "0.5"))
        print(f"{len(killed)} kills at {[t for t, _ in killed]} s; waiting for the leases "
              f"({LEASE.total_seconds():g} s) of the dead", flush=True)  # fmt: skip
        database = drill.database()
        within = LEASE.total_seconds() + 120
        counted = ledger.settle(database, drill.slack, ends, within=within)
        with database.read() as session:
            retried = set(
                session.exec(select(Reminder.dedupe_key).where(Reminder.attempts > 1)).all()
            )
        database.dispose()
        drill.wait_ready(workers)
        arrivals: dict[str, float] = {}
        for call in drill.slack.calls_to("chat.postMessage"):
            key = ((call.params.get("metadata") or {}).get("event_payload") or {}).get("key")
            if call.ok and key in due and key not in arrivals:
                arrivals[key] = call.at - due[key].timestamp()
        codes = drill.close(args.postgres_url)
    finally:
        if not codes:
            drill.close(args.postgres_url)

    lags = sorted(arrivals.values())
    show("reminders", counted.figures())
    if lags:
        show("lag (s) from due to posted", {
            "p50": round(statistics.median(lags), 2), "p99": round(percentile(lags, 0.99), 2),
            "max": round(lags[-1], 2),
            "over 5 s (a dead worker's claim, taken over after its lease)":
                sum(1 for v in lags if v > 5),
        })  # fmt: skip
    taken = [k for k in retried if k in arrivals]
    show("claims taken over from dead workers", {
        "posted by the taker": sum(1 for k in taken if arrivals[k] > 5),
        "found already posted by the dead worker, not posted again":
            sum(1 for k in taken if arrivals[k] <= 5),
    })  # fmt: skip
    show("workers", {"killed (SIGKILL)": len(killed), "exit codes of the last (SIGTERM)": codes})
    if counted.doubled:
        print("doubled:", ", ".join(sorted(counted.doubled)[:10]))
    ok = counted.ok and not counted.failed and counted.unfinished == 0
    print("drill", "passed" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
