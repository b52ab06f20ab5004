"""Drill: PostgreSQL restarted under ``slabot serve`` and ``slabot worker`` processes.

    .venv/bin/python drills/db_restart.py                      # restarts the local server once
    .venv/bin/python drills/db_restart.py --simulate           # cuts the drill's connections only
    .venv/bin/python drills/db_restart.py --restarts 2 --window 120

The real restart is ``pg_ctlcluster --skip-systemctl-redirect <version> main restart`` of
the local cluster: every other client of that server loses its connections too (run it
once or twice, not in a loop, on a machine where others use the server). ``--simulate``
terminates only the drill's own connections (``pg_terminate_backend`` by their
``application_name``), which is what a restart does to them, without stopping the server.

``--incidents`` open Severity I incidents (a fresh schema, 100 channels) have one reminder
each due over ``--window`` seconds; ``slabot serve`` and ``--workers`` ``slabot worker``
processes run against it and the fake Slack in this process; signed slash commands arrive
at ``--rate`` a second and ``/healthz`` is polled twice a second. The server restarts
``--restart-at`` seconds into the window. Neither slabot process is restarted. The drill
reports how commands were answered before, during and after the restart (answered, refused
saying the database did not answer, or no answer within 10 s: hung), how long ``/healthz``
said 503, and every reminder's posts counted by its metadata key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from drills import ledger  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Commands, Drill, machine, show  # noqa: E402

MIX = [("status", "incident"), ("update Failing over to the replica", "incident"),
       ("list", "general"), ("help", "general")]  # fmt: skip


def restart_command() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]


def cut(postgres_url: str, name: str) -> int:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE application_name = :name"), {"name": name},
        ).all()  # fmt: skip
    engine.dispose()
    return len(rows)


class Health(threading.Thread):
    """Polls ``/healthz`` every half second: (monotonic time, HTTP status or 0 for none)."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.seen, self.stop = base, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.seen.append((time.monotonic(), status))

    def unhealthy(self) -> tuple[float, float] | None:
        bad = [t for t, s in self.seen if s != 200]
        return (bad[0], bad[-1]) if bad else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--incidents", type=int, default=600)
    parser.add_argument("--window", type=float, default=90, help="seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5, help="slash commands a second")
    parser.add_argument("--restart-at", type=float, default=30, help="seconds into the window")
    parser.add_argument("--restarts", type=int, default=1, help="restarts, 20 s apart")
    parser.add_argument("--simulate", action="store_true",
                        help="terminate the drill's connections instead of restarting")  # fmt: skip
    args = parser.parse_args()
    print(machine(), flush=True)

    name = f"slabot-drill-{os.getpid()}"
    drill = Drill.open("postgresql", args.postgres_url, application_name=name)
    restarts: list[dict] = []
    codes: list[int] = []
    try:
        due, ends = drill.incidents(args.incidents, args.window, 15 + args.incidents * 0.004)
        base = drill.serve()
        workers = [drill.worker("--poll", "0.5") for _ in range(args.workers)]
        drill.wait_ready(workers)
        starts = ends - dt.timedelta(seconds=args.window)
        time.sleep(max(0.0, (starts - dt.datetime.now(dt.UTC)).total_seconds()))
        how = "connections cut" if args.simulate else " ".join(restart_command())
        print(f"{len(due)} reminders due over {args.window:g} s; commands at {args.rate:g}/s; "
              f"at {args.restart_at:g} s: {how}", flush=True)  # fmt: skip
        health = Health(base)
        health.start()
        commands = Commands(base, drill.slack, timeout=10)
        channels = [f"C0B{n:05d}" for n in range(100)]

        def pick(n: int) -> tuple[str, str]:
            text_, where = MIX[n % len(MIX)]
            return text_, channels[n % 100] if where == "incident" else "C0GENERAL"

        def restart() -> None:
            began = time.monotonic()
            if args.simulate:
                done = subprocess.CompletedProcess(
                    [], 0, stdout=f"{cut(args.postgres_url, name)} cut"
                )
            else:
                done = subprocess.run(restart_command(), capture_output=True, text=True)
            restarts.append({"began": began, "ended": time.monotonic(), "code": done.returncode,
                             "output": (done.stdout or "") + (done.stderr or "")})  # fmt: skip

        planned = [args.restart_at + 20 * i for i in range(args.restarts)]

        def every(elapsed: float) -> None:
            if planned and elapsed >= planned[0]:
                planned.pop(0)
                threading.Thread(target=restart).start()

        commands.at_rate(args.rate, args.window, pick, every)
        commands.finish()
        health.stop.set()
        database = drill.database()
        counted = ledger.settle(database, drill.slack, ends, within=180)
        database.dispose()
        codes = drill.close(args.postgres_url)
    finally:
        if not codes:
            drill.close(args.postgres_url)

    for r in restarts:
        show("restart", {"seconds": round(r["ended"] - r["began"], 2), "exit code": r["code"],
                         "output": r["output"].strip()[:200]})  # fmt: skip
    first, last = restarts[0]["began"], restarts[-1]["ended"]
    phases = {
        "before": [s for s in commands.sent if s.at < first],
        "during (restart began to 5 s after it ended)": [
            s for s in commands.sent if first <= s.at <= last + 5
        ],
        "after": [s for s in commands.sent if s.at > last + 5],
    }
    for phase, sent in phases.items():
        show(f"commands {phase}", commands.score(sent))
    recovered = [s.at - last for s in commands.sent if s.at > last and s.kind == "answered"]
    if recovered:
        print(f"first command answered normally {min(recovered):.2f} s after the restart ended")
    unhealthy = health.unhealthy()
    show("/healthz", {
        "polls": len(health.seen),
        "not 200 for s": round(unhealthy[1] - unhealthy[0] + 0.5, 1) if unhealthy else 0,
        "statuses": json.dumps(sorted({s for _, s in health.seen})),
    })  # fmt: skip
    show("reminders", counted.figures())
    show("exit codes (SIGTERM)", {"processes": codes})
    after = commands.score(phases["after"])
    ok = counted.ok and not counted.failed and counted.unfinished == 0
    ok = ok and all(r["code"] == 0 for r in restarts)
    ok = ok and commands.score()["unanswered"] == 0 and after["database down"] == 0
    print("drill", "passed" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
