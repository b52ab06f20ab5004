"""Counting reminders: what the database says was due, against what the fake Slack shows;
and pages: the escalations posted, against what the PagerDuty stand-in received.

Every reminder the worker posts carries its row's key as message metadata, so the messages
in ``LoopbackSlack``'s channels say exactly which reminders reached the channel and how
many times — including posts whose answer never reached the worker (a timeout).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import select

from bot.paging.loopback import PagerDutyEvents
from bot.slack.loopback import LoopbackSlack
from bot.worker.sources import METADATA_EVENT
from storage.db import Database
from storage.models import OutboxStatus, Reminder, Task

SETTLED = frozenset({OutboxStatus.SUPERSEDED, OutboxStatus.CANCELLED})
"""Statuses that need no post: a newer reminder of the same timer replaced it, or its
deadline stopped holding (acknowledged, paused, re-graded)."""


@dataclass
class Ledger:
    due: int
    """Reminders due by the instant asked about."""
    statuses: Counter[OutboxStatus]
    """Their statuses in the database."""
    posted: int
    """Reminders (of those due) in Slack exactly once."""
    lost: list[str] = field(default_factory=list)
    """Due, not settled, and in no channel."""
    doubled: dict[str, int] = field(default_factory=dict)
    """Keys in Slack more than once (any reminder, due or not), with their count."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """Marked failed: (key, error). Visible in /healthz and ``slabot doctor``; lost too
    unless in Slack."""

    @property
    def unfinished(self) -> int:
        """Due and still pending or claimed (a lease not yet run out, a retry waiting)."""
        return self.statuses[OutboxStatus.PENDING] + self.statuses[OutboxStatus.CLAIMED]

    @property
    def ok(self) -> bool:
        return not self.lost and not self.doubled

    def figures(self) -> dict:
        """What a drill prints of it: counts, and the statuses in the database."""
        return {
            "due": self.due, "posted once": self.posted, "lost": len(self.lost),
            "doubled": len(self.doubled), "failed": len(self.failed),
            "unfinished": self.unfinished, "statuses": dict(self.statuses),
        }  # fmt: skip

    def summary(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"reminders due {self.due} ({states}); posted once {self.posted}, "
            f"lost {len(self.lost)}, doubled {len(self.doubled)}, failed {len(self.failed)}"
        )


def count(database: Database, slack: LoopbackSlack, due_by: dt.datetime) -> Ledger:
    """The ledger of every reminder due by ``due_by``."""
    with database.read() as session:
        rows = session.exec(select(Reminder).where(Reminder.due_at <= due_by)).all()
    in_slack = Counter(p.get("key") for _, p in slack.metadata_payloads(METADATA_EVENT))
    return Ledger(
        due=len(rows),
        statuses=Counter(r.status for r in rows),
        posted=sum(1 for r in rows if in_slack[r.dedupe_key] == 1),
        lost=[r.dedupe_key for r in rows if not in_slack[r.dedupe_key] and r.status not in SETTLED],
        doubled={k: n for k, n in in_slack.items() if n > 1},
        failed=[
            (r.dedupe_key, r.last_error or "") for r in rows if r.status == OutboxStatus.FAILED
        ],
    )


def settle(
    database: Database,
    slack: LoopbackSlack,
    due_by: dt.datetime,
    *,
    within: float,
    poll: float = 1.0,
) -> Ledger:
    """The ledger once every reminder due by ``due_by`` is finished (or ``within`` seconds have
    passed) and no request to the fake Slack is still being answered: a post that lands late
    (answered after its sender gave up) or a duplicate has landed by then. Finished reminders
    are claimed by no worker again, so nothing more of them can follow."""
    give_up = time.monotonic() + within
    while unfinished(database, due_by) and time.monotonic() < give_up:
        time.sleep(poll)
    slack.wait_idle(max(1.0, give_up - time.monotonic()))
    return count(database, slack, due_by)


def unfinished(database: Database, due_by: dt.datetime) -> int:
    """How many reminders due by ``due_by`` are still pending or claimed."""
    with database.read() as session:
        rows = session.exec(
            select(Reminder.id).where(
                Reminder.due_at <= due_by,
                Reminder.status.in_((OutboxStatus.PENDING, OutboxStatus.CLAIMED)),
            )
        ).all()
    return len(rows)


# --- pages ----------------------------------------------------------------------------------


Escalation = tuple[str, str, str]
"""An escalation as a page names it: the incident's ref, the timer and its deadline."""


@dataclass
class Pages:
    """What PagerDuty (``bot.paging.loopback.PagerDutyEvents``) received, against the
    escalations posted."""

    expected: set[Escalation]
    """The escalations posted: each must be paged."""
    triggers: Counter[Escalation]
    """Trigger events received, per escalation they name."""
    taken_over: set[Escalation]
    """Escalations whose trigger task was attempted more than once (its first sender died):
    the only ones that may have reached PagerDuty twice."""
    resolves: Counter[str]
    """Resolve events received, per incident ref."""

    @property
    def doubled(self) -> set[Escalation]:
        """Escalations PagerDuty received more than one trigger of."""
        return {k for k, n in self.triggers.items() if n > 1}


def count_pages(
    pagerduty: PagerDutyEvents, sent: list[Reminder], ref_of: dict[int, str], tasks: list[Task]
) -> Pages:
    """Count what ``pagerduty`` received against the escalation reminders ``sent`` (their
    incidents' refs in ``ref_of``) and the ``page_pagerduty`` ``tasks``."""
    triggers = Counter(
        (e["dedup_key"], e["payload"]["custom_details"]["timer"],
         e["payload"]["custom_details"]["deadline"])
        for e in pagerduty.events("trigger")
    )  # fmt: skip
    return Pages(
        expected={(ref_of[r.incident_id], r.timer, r.deadline_at.isoformat()) for r in sent},
        triggers=triggers,
        taken_over={
            (t.payload["ref"], t.payload["timer"], t.payload["deadline"])
            for t in tasks
            if t.attempts > 1 and t.payload.get("action") == "trigger"
        },
        resolves=Counter(e["dedup_key"] for e in pagerduty.events("resolve")),
    )
