"""The ``archive_channel`` task: archive a resolved incident's own channel when it is due
(``bot.incidents.archive`` schedules it). Repeatable: ``already_archived`` is done."""

from __future__ import annotations

from bot.incidents.archive import KIND, own_channel
from bot.slack.channels import SLACK_FAILURES
from bot.slack.delivery import error_text
from bot.tasks.registry import Done, Failed, Retry, TaskRun, handles
from storage.models import Incident


@handles(KIND)
def archive_channel(run: TaskRun) -> Done | Retry | Failed:
    with run.ctx.db.read() as session:
        incident = session.get(Incident, run.task.incident_id) if run.task.incident_id else None
    if incident is None:
        return Done({"skipped": "the incident is gone"})
    if incident.resolved_at is None:  # reopened, and the withdrawal missed it
        return Done({"skipped": "the incident is open again"})
    channel = own_channel(incident)
    if channel is None:
        return Done({"skipped": "the incident has no channel of its own"})
    try:
        run.client.conversations_archive(channel=channel)
    except SLACK_FAILURES as exc:
        if error_text(exc) == "already_archived":
            return Done({"channel": channel, "already": True})
        return run.delivery.failure(exc)
    return Done({"channel": channel})
