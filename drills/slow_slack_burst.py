"""Drill: a burst of simultaneous commands while Slack takes 5 seconds over every call.

    .venv/bin/python drills/slow_slack_burst.py                                 # PostgreSQL
    .venv/bin/python drills/slow_slack_burst.py --database sqlite
    .venv/bin/python drills/slow_slack_burst.py --before /tmp/slabot-before     # an older tree first

A real ``slabot serve`` (the ``--code`` tree, by ``PYTHONPATH``) against a fake Slack that
answers each Web API call after ``--slack-latency`` seconds. ``--commands`` signed commands
are sent at once — ``--reads`` of them ``/incident list``, the rest ``/incident declare``
(each creates a channel, posts and pins a card: four slow calls) — and each is timed from
sending to reading its acknowledgement. Slack gives up at 3 s; every acknowledgement must
come before (p100 < 3 s), and every "working on it" must be followed by the answer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.slack.loopback import Storm  # noqa: E402
from drills.harness import DEFAULT_POSTGRES, Commands, Drill, machine, show, trees  # noqa: E402

SLOW = {
    "conversations.create", "conversations.join", "conversations.invite", "chat.postMessage",
    "chat.update", "chat.postEphemeral", "pins.add", "users.info", "usergroups.users.list",
}  # fmt: skip
"""Every Web API call a declaration or a list makes (the answers at response URLs are not
Slack's Web API: they are not slowed)."""


def burst(drill: Drill, commands: int, reads: int, latency: float, patience: float) -> dict:
    """The drill against a served ``drill``: the answers' figures (``Commands.score``)."""
    base = drill.serve()
    drill.slack.storm(Storm(slow=1.0, slow_delay=(latency, latency), methods=SLOW, seed=1))
    sender = Commands(base, drill.slack, threads=commands, timeout=60)
    every = commands // reads if reads else commands + 1
    for n in range(commands):
        if reads and n % every == every - 1:
            sender.send("list")
        else:
            sender.send(f"declare 2 Burst incident {n}")
    sender.finish()
    promised = {s.response for s in sender.sent if s.kind == "working on it"}
    deadline = time.monotonic() + patience
    while not promised <= sender.later_answers() and time.monotonic() < deadline:
        time.sleep(0.5)
    return sender.score()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--reads", type=int, default=10, help="of them /incident list")
    parser.add_argument("--slack-latency", type=float, default=5.0, help="seconds a call")
    parser.add_argument("--patience", type=float, default=240.0, help="for the later answers")
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree slabot serve runs")
    parser.add_argument("--before", type=Path, help="first run the drill on this tree")
    args = parser.parse_args()
    print(machine(), flush=True)
    worst = 0.0
    for code in trees(args.before, args.code):
        drill = Drill.open(args.database, args.postgres_url)
        try:
            figures = burst(drill, args.commands, args.reads, args.slack_latency, args.patience)
        finally:
            if drill.web is not None:
                drill.web.kill()  # not a graceful stop: it would wait for slow Slack calls
                drill.web.wait(30)
            drill.close(args.postgres_url)
        show(
            f"{code}, {args.database}: {args.commands} commands at once, Slack "
            f"{args.slack_latency:g} s a call",
            figures,
        )
        worst = figures.get("max_ms", float("inf"))
    return 0 if worst < 3000 else 1


if __name__ == "__main__":
    sys.exit(main())
