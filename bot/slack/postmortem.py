"""The postmortem draft's task: the Markdown file uploaded to the incident channel
(``bot.incidents.postmortem.request_draft`` schedules it).

Slack gives no way to ask whether an earlier attempt's upload went through, so a process
that dies between the upload and marking the task done leaves the draft posted twice when
the worker takes the task over: a rare second copy of a draft, never a lost one.
"""

from __future__ import annotations

from bot.errors import Refusal
from bot.incidents import render
from bot.incidents.postmortem import DRAFT_TASK, postmortem
from bot.slack import mrkdwn
from bot.slack.channels import SLACK_FAILURES
from bot.tasks.registry import Done, Failed, TaskRun, handles


def filename(ref: str) -> str:
    return f"{ref}-postmortem-draft.md"


@handles(DRAFT_TASK)
def post_draft(run: TaskRun) -> Done | Failed:
    ref, channel, by = run.payload["ref"], run.payload["channel"], run.payload.get("by")
    try:
        content = render.postmortem_markdown(postmortem(run.ctx, ref))
    except Refusal as refusal:
        return Failed(str(refusal))
    try:
        run.client.files_upload_v2(
            channel=channel, filename=filename(ref), title=f"Post-incident review draft — {ref}",
            content=content.encode(),
            initial_comment=f"📝 {mrkdwn.user(by)} asked for the post-incident review draft of {ref}",
        )  # fmt: skip
    except SLACK_FAILURES as exc:
        return run.delivery.failure(exc)
    return Done({"filename": filename(ref), "channel": channel})
