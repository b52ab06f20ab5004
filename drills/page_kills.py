"""Drill: pages out through ``slabot worker`` processes killed with SIGKILL at random moments.

    .venv/bin/python drills/page_kills.py                          # PostgreSQL, 3 workers
    .venv/bin/python drills/page_kills.py --database sqlite --workers 2
    .venv/bin/python -m pytest tests/drills/test_page_kills.py     # the quick one

``--incidents`` Severity I incidents escalate their response breach (and so page PagerDuty,
the local stand-in of ``bot.paging.loopback``) over ``--window`` seconds. ``--workers`` real
``slabot worker`` processes post the escalations and send the pages; every few seconds
(``--every``) one of them is killed with SIGKILL and a new one started. Each page takes
``--latency`` seconds to be answered, after PagerDuty has it, as a real service's would, so
kills land while pages are in flight. After the window the dead workers' leases run out
(60 s) and their claims are taken over; then every incident is restored, and the drill
counts what PagerDuty received: triggers per escalation, alerts, resolves.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bot.clock import ManualClock, SystemClock  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.incidents import service  # noqa: E402
from bot.paging.loopback import PagerDutyEvents  # noqa: E402
from bot.reminders.service import LEASE  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from drills import ledger  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Drill, machine, show  # noqa: E402
from storage import queries  # noqa: E402
from storage.models import OutboxStatus, Reminder, Task  # noqa: E402

ROUTING_KEY = "R0UTINGKEY0123456789abcdef012345"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--window", type=float, default=60, help="seconds")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=8, help="at most this many SIGKILLs")
    parser.add_argument("--every", type=float, nargs=2, default=(2, 8), metavar=("MIN", "MAX"))
    parser.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.4),
                        metavar=("MIN", "MAX"), help="seconds each page takes to be answered")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(machine(), flush=True)
    rng = random.Random(args.seed)

    drill = Drill.open(args.database, args.postgres_url)
    pagerduty = PagerDutyEvents(ROUTING_KEY, latency=tuple(args.latency), seed=args.seed).start()
    settings = {
        "SLABOT_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "SLABOT_PAGERDUTY_EVENTS_URL": pagerduty.events_url,
    }
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), None, "messaging-platform")
    database = drill.database()
    ctx = Context(database, contracts, SystemClock())
    killed: list[float] = []
    codes: list[int] = []
    try:
        lead = 10 + args.incidents * 0.03
        now = ctx.clock.now()
        declaring = Context(database, contracts, ManualClock(now))
        channel = drill.slack.add_channel("drill-pages", id="C0DRILLPG", bot_member=True)
        for n in range(args.incidents):
            escalates = now + dt.timedelta(seconds=lead + args.window * n / args.incidents)
            view = service.declare(
                declaring, title=f"Page drill {n}", severity=1, actor="U0BENCH",
                started_at=escalates - dt.timedelta(minutes=60),
            )  # fmt: skip
            service.set_slack_card(declaring, view.ref, channel_id=channel, card_ts=None)
        ends = now + dt.timedelta(seconds=lead + args.window)
        workers = [drill.worker("--poll", "0.5", settings=settings) for _ in range(args.workers)]
        drill.wait_ready(workers)
        time.sleep(
            max(0.0, (ends - dt.timedelta(seconds=args.window) - ctx.clock.now()).total_seconds())
        )
        print(f"{args.database}: {args.incidents} escalations over {args.window:g} s, "
              f"{args.workers} workers; killing", flush=True)  # fmt: skip
        began = time.monotonic()
        while len(killed) < args.kills and ctx.clock.now() < ends:
            time.sleep(rng.uniform(*args.every))
            victim = workers.pop(rng.randrange(len(workers)))
            victim.popen.send_signal(signal.SIGKILL)
            victim.popen.wait(10)
            killed.append(round(time.monotonic() - began, 1))
            workers.append(drill.worker("--poll", "0.5", settings=settings))
        print(f"{len(killed)} kills at {killed} s; waiting for the leases "
              f"({LEASE.total_seconds():g} s) of the dead", flush=True)  # fmt: skip

        def unfinished() -> int:
            with database.read() as session:
                open_rows = [
                    *session.exec(select(Reminder.id).where(
                        Reminder.due_at <= ends,
                        Reminder.status.in_((OutboxStatus.PENDING, OutboxStatus.CLAIMED)))),
                    *session.exec(select(Task.id).where(
                        Task.status.in_((OutboxStatus.PENDING, OutboxStatus.CLAIMED)))),
                ]  # fmt: skip
            return len(open_rows)

        give_up = time.monotonic() + LEASE.total_seconds() + 180
        while (ctx.clock.now() < ends or unfinished()) and time.monotonic() < give_up:
            time.sleep(1)
        with database.read() as session:
            sent = list(session.exec(select(Reminder).where(
                Reminder.kind == "escalation", Reminder.due_at <= ends,
                Reminder.status == OutboxStatus.SENT)))  # fmt: skip
            ref_of = queries.refs_of(session, {r.incident_id for r in sent})
        for ref in sorted(set(ref_of.values())):
            service.restore(ctx, ref, "U0BENCH")
        while unfinished() and time.monotonic() < give_up:
            time.sleep(1)
        pagerduty.wait_idle()
        with database.read() as session:
            tasks = list(session.exec(select(Task).where(Task.kind == "page_pagerduty")))
        codes = drill.close(args.postgres_url)
    finally:
        if not codes:
            drill.close(args.postgres_url)
        pagerduty.stop()
        database.dispose()

    pages = ledger.count_pages(pagerduty, sent, ref_of, tasks)
    refs = set(ref_of.values())
    show("pages", {
        "escalations posted": len(sent),
        "escalations paged": len(pages.expected & set(pages.triggers)),
        "not paged": len(pages.expected - set(pages.triggers)),
        "triggers received": sum(pages.triggers.values()),
        "escalations with 2+ triggers (a worker died after PagerDuty had it)": len(pages.doubled),
        "of those, not a taken-over task": len(pages.doubled - pages.taken_over),
        "PagerDuty alerts": len(pagerduty.alerts),
        "alerts resolved": sum(1 for s in pagerduty.alerts.values() if s == "resolved"),
        "resolves sent more than once": sum(1 for n in pages.resolves.values() if n > 1),
        "page tasks": dict(Counter(str(t.status) for t in tasks)),
    })  # fmt: skip
    show("workers", {"killed (SIGKILL)": len(killed), "exit codes of the last (SIGTERM)": codes})
    ok = (
        len(sent) == args.incidents
        and set(pages.triggers) == pages.expected
        and pages.doubled <= pages.taken_over
        and pagerduty.alerts == dict.fromkeys(refs, "resolved")
        and all(str(t.status) == "sent" for t in tasks)
    )
    print("drill", "passed" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
