"""What working out an outage's stakes costs a change to the incident.

Every change to an incident (``bot.incidents.service.sync``) now reads what the incident
puts at stake for each customer it affects (``bot.incidents.stakes.at_stake``: the
outages of their running periods, the maintenance windows, the count rules' failures) and
re-plans the budget's reminders, its own and those of the customer's other running
outages. This times, on a year of history: a change to an outage affecting every customer
and to one affecting one customer, with and without the budget (``sync(budget=False)``,
what a change cost before), ``at_stake`` alone, and an update (which re-plans only its
own incident: it cannot move downtime).

    python3 dev.py bench stakes [--customers 1000] [--incidents 20000] [--database sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_latency import POLICIES, drop_schema, fill, schema_url  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.incidents import service  # noqa: E402
from bot.incidents.stakes import at_stake  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, machine  # noqa: E402
from storage import queries  # noqa: E402
from storage.db import Database  # noqa: E402


def write_customers(path: Path, count: int) -> list[tuple[str, str]]:
    lines, customers = ["customers:"], []
    for n in range(count):
        cid, policy = f"c{n:04d}", POLICIES[n % 3]
        zone = ", timezone: Europe/Copenhagen" if policy == "dixa" else ""
        fee = ", fee: {amount: 1000, currency: EUR, per: month}"
        lines.append(f"  - {{id: {cid}, name: Customer {n}, policy: {policy}{zone}{fee}}}")
        customers.append((cid, policy))
    path.write_text("\n".join(lines) + "\n")
    return customers


def timed(action, repeat: int) -> list[float]:
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        found.append(time.perf_counter() - started)
    return found


def line(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return f"{name:<52} median {statistics.median(ms):8.1f} ms   max {ms[-1]:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=20_000, help="resolved, in history")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    print(machine(), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="slabot-bench-stakes-"))
    schema = None
    if args.database == "postgresql":
        url, schema = schema_url(args.postgres_url)
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    try:
        database = Database(url)
        database.upgrade()
        customers = write_customers(folder / "customers.yaml", args.customers)
        now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
        fill(database, args.incidents, customers, now)
        contracts = load_contracts(
            policy_files(SHIPPED_POLICIES_DIR), folder / "customers.yaml", "messaging-platform"
        )
        clock = ManualClock(now)
        ctx = Context(db=database, contracts=contracts, clock=clock)
        print(
            f"{args.database}: {args.customers:,} customers, {args.incidents:,} incidents of "
            "history (30 % outages)",
            flush=True,
        )
        everyone = service.declare(
            ctx, title="Platform down", severity=1, actor="U1", outage=True
        ).ref
        one = service.declare(
            ctx, title="Checkout down", severity=1, actor="U1", outage=True,
            customers=[customers[0][0]],
        ).ref  # fmt: skip

        def update(ref: str, budget: bool):
            def act():
                with ctx.db.transaction() as session:
                    incident = queries.incident_by_ref(session, ref, lock=True)
                    service.sync(session, incident, contracts, clock.now(), budget=budget)

            return act

        def stakes(ref: str):
            def act():
                with ctx.db.read() as session:
                    incident = queries.incident_by_ref(session, ref)
                    ids = queries.customers_of(session, [incident.id]).get(incident.id, [])
                    at_stake(session, incident, ids, contracts, clock.now())

            return act

        def note(ref: str):
            return lambda: service.post_update(ctx, ref, "Still digging", "U1")

        for name, ref in (("every customer", everyone), ("one customer", one)):
            print(
                line(f"a change, outage of {name}, budget", timed(update(ref, True), args.repeat))
            )
            print(line(f"a change, outage of {name}, no budget", timed(update(ref, False), args.repeat)))  # fmt: skip
            print(line(f"at_stake alone, outage of {name}", timed(stakes(ref), args.repeat)))
            print(line(f"/incident update, outage of {name}", timed(note(ref), args.repeat)))
        database.dispose()
    finally:
        if schema is not None:
            drop_schema(args.postgres_url, schema)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
