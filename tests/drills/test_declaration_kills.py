"""``slabot serve`` killed with SIGKILL in the middle of a burst of declarations: a worker
finishes every declaration's channel and card, none is orphaned or doubled, and everyone
told "working on it" gets the outcome. The long run: ``drills/declaration_kills.py``.

Counted once nothing more can happen (the worker has done every declaration task, the fake
Slack is idle); the kill is set off by an event (cards pinned), not a time."""

from __future__ import annotations

from bench.slack_latency import BOT_TOKEN, USERS
from bot.slack.loopback import LoopbackSlack
from drills.declaration_kills import burst_and_kill
from tests.conftest import FIXTURES

ZERO = (
    "orphaned channels", "incidents without their own channel", "incidents without a card",
    "cards posted twice", "told working on it, never answered",
)  # fmt: skip


def test_a_web_process_killed_mid_burst_leaves_no_orphaned_channel(db, tmp_path):
    with LoopbackSlack(expected_token=BOT_TOKEN) as slack:
        for user in USERS:
            slack.add_user(user, user.lower())
        slack.add_channel("general", id="C0GENERAL", bot_member=True, members=USERS)
        figures = burst_and_kill(
            db.url, slack, tmp_path, FIXTURES / "customers.yaml", declarations=16,
            kill_after=3, latency=(0.2, 0.6), expire_claims=True,
        )  # fmt: skip
    assert {k: figures[k] for k in ZERO} == dict.fromkeys(ZERO, 0), figures
    # The kill landed inside the burst: incidents were committed without their channel.
    assert figures["incidents"] > 0 and figures["channels made"] == figures["incidents"]
