"""The ``archive_channel`` task: archive a resolved incident's own channel when it is due
(``bot.incidents.archive`` schedules it). Repeatable: ``already_archived`` is done."""

from __future__ import annotations

from bot.incidents.archive import KIND, archivable
from bot.slack.channels import SLACK_FAILURES
from bot.slack.delivery import error_text
from bot.tasks.registry import Done, Failed, Retry, TaskRun, handles


@handles(KIND)
def archive_channel(run: TaskRun) -> Done | Retry | Failed:
    channel, skipped = archivable(run.ctx, run.task.incident_id)
    if channel is None:
        return Done({"skipped": skipped})
    try:
        run.client.conversations_archive(channel=channel)
    except SLACK_FAILURES as exc:
        if error_text(exc) == "already_archived":
            return Done({"channel": channel, "already": True})
        return run.delivery.failure(exc)
    return Done({"channel": channel})
