"""The "Postmortem draft" button on a resolved incident's card: a responder's click is
answered privately at once, and the Markdown draft follows in the incident channel."""

from __future__ import annotations

from bot.incidents.postmortem import request_draft
from bot.slack.app import make_client
from bot.slack.loopback import Reply as Scripted
from bot.worker import Worker
from bot.worker.sources import Tasks
from storage import queries, tasks
from storage.models import OutboxStatus
from tests.slack.conftest import make_settings, make_workspace
from tests.slack.test_incident_commands import declared

WAIT = 30.0


def resolved(workspace) -> str:
    channel = declared(workspace, "declare 1 Checkout API down for acme outage")
    workspace.ctx.clock.advance(minutes=20)
    workspace.incident("resolve Certificate renewed", channel=channel, user="U2")
    return channel


def ephemerals(slack, count: int = 1) -> list[str]:
    return [
        c.params["text"] for c in slack.wait_for("chat.postEphemeral", count=count, timeout=WAIT)
    ]


def test_the_resolved_card_offers_the_draft_and_the_file_lands_in_the_channel(workspace, slack):
    channel = resolved(workspace)
    card = slack.wait_for("chat.update", timeout=WAIT)[-1].params
    actions = [b for b in card["blocks"] if b["type"] == "actions"][-1]["elements"]
    assert [e["action_id"] for e in actions] == ["incident_postmortem", "incident_correct"]

    workspace.click("incident_postmortem", "INC-1", user="U2", channel=channel)
    assert ephemerals(slack) == [
        f"📝 Drafting the post-incident review of INC-1; it will be posted in <#{channel}> as "
        "a Markdown file."
    ]
    slack.wait_for("files.completeUploadExternal", timeout=WAIT)
    (file,) = slack.files.values()
    assert (file["filename"], file["channel_id"]) == ("INC-1-postmortem-draft.md", channel)
    assert file["initial_comment"] == ("📝 <@U2> asked for the post-incident review draft of INC-1")
    draft = file["bytes"].decode()
    assert draft.startswith("# Post-incident review: INC-1 — Checkout API down\n")
    # 09:00–09:20Z, acme (New York), November: 20 minutes of downtime.
    assert "- Acme Retail Inc. (acme), November 2026" in draft
    assert "counted 20m (20 min) of downtime" in draft
    assert "- 2026-11-20 09:20 UTC · U2 resolved: Certificate renewed" in draft


def test_an_open_incident_has_no_draft_and_a_double_click_posts_once(workspace, slack):
    channel = declared(workspace)
    workspace.click("incident_postmortem", "INC-1", channel=channel)
    assert ephemerals(slack) == [
        "⚠️ INC-1 is not resolved yet; its postmortem draft is made once it is "
        "(`slabot incidents postmortem INC-1` makes one at any time)"
    ]
    workspace.ctx.clock.advance(minutes=5)
    workspace.incident("resolve", channel=channel)
    workspace.click("incident_postmortem", "INC-1", channel=channel, trigger="T-same")
    workspace.click("incident_postmortem", "INC-1", channel=channel, trigger="T-same")
    slack.wait_for("files.completeUploadExternal", timeout=WAIT)
    assert ephemerals(slack, 2)[1].startswith("📝 Drafting")
    workspace.edge.wait_idle(WAIT)
    assert len(slack.files) == 1


def test_only_responders_may_ask_for_it(slack, ctx):
    workspace = make_workspace(slack, ctx, SLABOT_RESPONDERS="U1")
    channel = declared(workspace)
    workspace.incident("resolve", channel=channel)
    workspace.click("incident_postmortem", "INC-1", user="U3", channel=channel)
    (text,) = ephemerals(slack)
    assert text.startswith("⚠️ you are not on the responder list")
    workspace.edge.wait_idle(WAIT)
    assert slack.files == {}


def drafts(ctx) -> list:
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, "INC-1")
        found = tasks.of_incident(session, incident.id)
        for task in found:
            session.expunge(task)
        return list(found)


def test_the_draft_is_a_task_done_once_with_what_it_posted(workspace, slack):
    channel = resolved(workspace)
    workspace.click("incident_postmortem", "INC-1", channel=channel)
    slack.wait_for("files.completeUploadExternal", timeout=WAIT)
    workspace.edge.wait_idle(WAIT)
    (task,) = drafts(workspace.ctx)
    assert (task.kind, task.status, task.result) == (
        "postmortem_draft", OutboxStatus.SENT,
        {"filename": "INC-1-postmortem-draft.md", "channel": channel},
    )  # fmt: skip


def test_when_slack_refuses_the_file_the_person_is_told_and_the_task_is_failed(workspace, slack):
    channel = resolved(workspace)
    slack.script("files.completeUploadExternal", Scripted(error="not_in_channel"))
    workspace.click("incident_postmortem", "INC-1", channel=channel, user="U2")
    dm = slack.wait_for(
        "chat.postMessage", timeout=WAIT, where=lambda c: "not posted" in c.params.get("text", "")
    )
    assert dm[-1].params["text"] == (
        "⚠️ The draft of INC-1 was not posted (Slack refused it: not_in_channel); "
        "`slabot incidents postmortem INC-1` writes the same file."
    )
    workspace.edge.wait_idle(WAIT)
    (task,) = drafts(workspace.ctx)
    assert task.status == OutboxStatus.FAILED


def test_a_draft_this_process_did_not_post_is_posted_by_the_worker(workspace, slack):
    """The process that took the click died before posting: the worker finds the task."""
    channel = resolved(workspace)
    asked = request_draft(workspace.ctx, "inc-1", "U2", "action:T-lost")
    assert (asked.ref, asked.channel) == ("INC-1", channel) and asked.task_id is not None
    assert request_draft(workspace.ctx, "INC-1", "U2", "action:T-lost").task_id is None
    settings = make_settings(slack)
    client = make_client(settings, retry_rate_limits=False, retry_connection_errors=False)
    worker = Worker(workspace.ctx, client, settings, worker_id="w", sources=[Tasks()])
    assert worker.run_once() == 1
    (file,) = slack.files.values()
    assert (file["filename"], file["channel_id"]) == ("INC-1-postmortem-draft.md", channel)
    assert worker.run_once() == 0
