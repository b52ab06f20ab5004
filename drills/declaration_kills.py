"""Drill: ``slabot serve`` killed with SIGKILL in the middle of a burst of declarations.

    .venv/bin/python drills/declaration_kills.py                       # PostgreSQL
    .venv/bin/python drills/declaration_kills.py --database sqlite --declarations 40
    .venv/bin/python drills/declaration_kills.py --before /tmp/slabot-before  # an older tree first

``--declarations`` signed ``/incident declare`` commands arrive at once over HTTP, while
the fake Slack takes ``--slack-latency`` seconds over each channel, post and pin; when
``--kill-after`` cards have been pinned, the web process is killed with SIGKILL —
incidents committed, some channels made, some cards posted, some people told "working on
it". A ``slabot worker`` then finishes the declarations' tasks (after the dead process's
leases, 60 s, run out; ``--expire-claims`` ends them at once instead). Counted: channels
made that no incident records (orphans), incidents without a channel of their own or a
card, cards posted twice, and people told "working on it" who never got the outcome. Each
must be 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.reminders import WorkerProcess  # noqa: E402
from bench.slack_latency import serve  # noqa: E402
from bot.slack.loopback import LoopbackSlack, Storm  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Commands, Drill, machine, show, trees  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Incident, OutboxStatus, Task  # noqa: E402

SLOW = {"conversations.create", "chat.postMessage", "pins.add", "conversations.invite"}
KIND, CARD_EVENT = "declaration", "slabot_card"
"""The declaration's task kind and its card's metadata (``bot.slack.declaration``): named
here too, so that the drill runs against a tree from before them (``--before``)."""


def burst_and_kill(
    url: str,
    slack: LoopbackSlack,
    folder: Path,
    customers_file: Path,
    *,
    declarations: int,
    kill_after: int,
    latency: tuple[float, float],
    expire_claims: bool,
    seed: int = 5,
    patience: float = 180.0,
) -> dict:
    """The drill, against a migrated database at ``url``: its counts (see the module)."""
    base, web = serve(url, customers_file, slack, folder)
    slack.storm(Storm(slow=1.0, slow_delay=latency, methods=SLOW, seed=seed))
    commands = Commands(base, slack, threads=declarations, timeout=30)
    try:
        for n in range(declarations):
            commands.send(f"declare 1 Burst incident {n}")
        deadline = time.monotonic() + patience
        while len(slack.calls_to("pins.add")) < kill_after:
            if time.monotonic() > deadline or web.poll() is not None:
                raise AssertionError(f"no {kill_after} cards pinned; see {folder}")
            time.sleep(0.01)
        web.kill()  # SIGKILL: no clean-up of any kind
        web.wait(30)
        commands.finish()
        slack.wait_idle()
    finally:
        if web.poll() is None:
            web.kill()
    database = Database(url)
    try:
        if expire_claims:  # instead of waiting for the dead process's 60 s leases
            with database.transaction() as session:
                session.execute(
                    update(Task)
                    .where(Task.status == OutboxStatus.CLAIMED)
                    .values(lease_until=dt.datetime.now(dt.UTC))
                )
        worker = WorkerProcess(url, slack, folder, ["--poll", "0.2"])
        try:
            deadline = time.monotonic() + patience
            while not _all_done(database):
                if time.monotonic() > deadline or worker.popen.poll() is not None:
                    raise AssertionError(f"declarations not finished; see {folder}")
                time.sleep(0.2)
            slack.wait_idle()
        finally:
            worker.stop()
        return count(database, slack, commands)
    finally:
        database.dispose()


def _all_done(database: Database) -> bool:
    with database.read() as session:
        left = session.exec(
            select(Task).where(Task.kind == KIND, Task.status != OutboxStatus.SENT)
        ).all()
    return not left


def count(database: Database, slack: LoopbackSlack, commands: Commands) -> dict:
    """What the drill counts, from the database and every call the fake Slack answered."""
    with database.read() as session:
        incidents = session.exec(select(Incident)).all()
    recorded = {i.channel_id for i in incidents}
    made = [
        c.response["channel"]["id"]
        for c in slack.calls_to("conversations.create")
        if c.response.get("ok")
    ]
    cards = Counter(
        (c.params.get("metadata") or {}).get("event_payload", {}).get("key")
        for c in slack.calls_to("chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_type") == CARD_EVENT
    )
    score = commands.score()
    return {
        "declarations sent": len(commands.sent),
        "incidents": len(incidents),
        "acknowledged before the kill": sum(1 for s in commands.sent if s.seconds is not None),
        "working on it": score["working on it"],
        "channels made": len(made),
        "orphaned channels": sum(1 for channel in made if channel not in recorded),
        "incidents without their own channel": sum(
            1 for i in incidents if not i.channel_id or i.channel_id == i.origin_channel_id
        ),
        "incidents without a card": sum(1 for i in incidents if not i.card_ts),
        "cards posted twice": sum(1 for n in cards.values() if n > 1),
        "told working on it, never answered": score["working on it"]
        - score["working on it, answered later"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--declarations", type=int, default=30)
    parser.add_argument("--kill-after", type=int, default=8, help="cards pinned")
    parser.add_argument("--slack-latency", type=float, nargs=2, default=(0.2, 0.8),
                        metavar=("MIN", "MAX"))  # fmt: skip
    parser.add_argument("--expire-claims", action="store_true")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree the processes run")
    parser.add_argument("--before", type=Path, help="first run the drill on this tree")
    args = parser.parse_args()
    print(machine(), flush=True)
    bad: list[str] = []
    for code in trees(args.before, args.code):  # slabot serve and worker run this tree
        drill = Drill.open(args.database, args.postgres_url)
        customers = drill.folder / "customers.yaml"
        customers.write_text("customers: []\n")
        try:
            figures = burst_and_kill(
                drill.url, drill.slack, drill.folder, customers,
                declarations=args.declarations, kill_after=args.kill_after,
                latency=tuple(args.slack_latency), expire_claims=args.expire_claims,
                seed=args.seed,
            )  # fmt: skip
        finally:
            drill.close(args.postgres_url)
        show(f"{code}, {args.database}: kill -9 during {args.declarations} declarations", figures)
        bad = [k for k in ("orphaned channels", "incidents without their own channel",
                           "incidents without a card", "cards posted twice",
                           "told working on it, never answered") if figures[k]]  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
