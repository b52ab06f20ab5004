"""``SLABOT_ARCHIVE_AFTER``: after ``resolve`` the incident's own channel is archived when
the time is up, by the worker (a task in the outbox); reopening first keeps the channel."""

from __future__ import annotations

import datetime as dt

from bot.incidents import archive
from bot.slack.app import make_client
from bot.slack.mrkdwn import decode, plain
from bot.worker import Worker
from bot.worker.sources import Tasks
from storage import tasks as stored
from storage.models import OutboxStatus
from tests.conftest import T0
from tests.slack.conftest import make_workspace, text_of
from tests.slack.test_incident_commands import declared

WEEK = dt.timedelta(days=7)
M = dt.timedelta(minutes=1)


def worker(workspace) -> Worker:
    settings = workspace.edge.settings
    client = make_client(settings, retry_rate_limits=False, retry_connection_errors=False)
    return Worker(workspace.ctx, client, settings, worker_id="w", sources=[Tasks()])


def said(workspace, text: str, channel: str, user: str = "U1") -> str:
    return plain(decode(workspace.ack_text(workspace.incident(text, user=user, channel=channel))))


def archive_tasks(ctx) -> list[tuple[str, dt.datetime, dict | None]]:
    with ctx.db.read() as session:
        return [
            (t.status, t.due_at, t.result)
            for t in stored.of_incident(session, 1)
            if t.kind == archive.KIND
        ]


def archived(slack, channel: str) -> bool:
    return slack.channel(channel)["is_archived"]


def test_a_resolved_incidents_channel_is_archived_when_the_time_is_up(slack, ctx, clock):
    workspace = make_workspace(slack, ctx, SLABOT_ARCHIVE_AFTER="7d", SLABOT_ADMINS="U1")
    channel = declared(workspace)
    answer = said(workspace, "resolve Rolled back", channel)
    assert answer.startswith("✅ Resolved. This channel will be archived Fri 2026-11-27 10:00 CET")
    assert "(SLABOT_ARCHIVE_AFTER=7d); reopening the incident keeps it (INC-1)." in answer
    post = text_of(slack.calls_to("chat.postMessage")[-1])
    assert "This channel will be archived <!date^" in post
    assert archive_tasks(ctx) == [(OutboxStatus.PENDING, T0 + WEEK, None)]

    clock.set(T0 + WEEK - M)
    assert worker(workspace).run_once() == 0 and not archived(slack, channel)
    clock.set(T0 + WEEK)
    assert worker(workspace).run_once() == 1
    assert archived(slack, channel)
    assert [c.params for c in slack.calls_to("conversations.archive")] == [{"channel": channel}]
    assert archive_tasks(ctx) == [(OutboxStatus.SENT, T0 + WEEK, {"channel": channel})]
    assert worker(workspace).run_once() == 0  # done once


def test_reopening_before_it_is_due_keeps_the_channel_and_resolving_again_plans_anew(
    slack, ctx, clock
):
    workspace = make_workspace(slack, ctx, SLABOT_ARCHIVE_AFTER="1d 12h", SLABOT_ADMINS="U1")
    channel = declared(workspace)
    said(workspace, "resolve", channel)
    clock.set(T0 + dt.timedelta(hours=1))
    reopened = said(workspace, "reopen the fix did not hold", channel)
    assert "→ not resolved" in reopened
    assert reopened.endswith("This channel is kept: it is no longer to be archived.")
    assert [s for s, _, _ in archive_tasks(ctx)] == [OutboxStatus.CANCELLED]
    clock.set(T0 + dt.timedelta(days=3))
    assert worker(workspace).run_once() == 0 and not archived(slack, channel)

    said(workspace, "resolve", channel)  # three days later: archived 36 hours after that
    due = T0 + dt.timedelta(days=3, hours=36)
    assert archive_tasks(ctx)[-1] == (OutboxStatus.PENDING, due, None)
    clock.set(due)
    assert worker(workspace).run_once() == 1 and archived(slack, channel)


def test_a_channel_archived_by_hand_meanwhile_is_done(slack, ctx, clock):
    workspace = make_workspace(slack, ctx, SLABOT_ARCHIVE_AFTER="7d")
    channel = declared(workspace)
    said(workspace, "resolve", channel)
    client = make_client(workspace.edge.settings)
    client.conversations_archive(channel=channel)  # someone archived it already
    clock.set(T0 + WEEK)
    assert worker(workspace).run_once() == 1
    assert archive_tasks(ctx) == [
        (OutboxStatus.SENT, T0 + WEEK, {"channel": channel, "already": True})
    ]


def test_off_by_default_and_never_the_channel_an_incident_was_declared_in(slack, ctx):
    workspace = make_workspace(slack, ctx)
    channel = declared(workspace)
    answer = said(workspace, "resolve", channel)
    assert answer == "✅ Resolved (INC-1)." and archive_tasks(ctx) == []

    current = make_workspace(
        slack, ctx, SLABOT_ARCHIVE_AFTER="7d", SLABOT_INCIDENT_CHANNELS="current"
    )
    assert "Declared INC-2" in current.ack_text(current.incident("declare 1 Queue stuck"))
    answer = said(current, "resolve INC-2", "C0GENERAL")
    assert answer == "✅ Resolved (INC-2)."
    with ctx.db.read() as session:
        assert [t for t in stored.of_incident(session, 2) if t.kind == archive.KIND] == []
