"""The modules that register task handlers; importing this module registers every kind.

Each feature that schedules tasks adds its module here, so every process that runs tasks
(the web process after a request, every worker) knows every kind.
"""

from __future__ import annotations

# One line per kind's module: alert_question (an alert's "declare?" question),
# page_pagerduty and page_opsgenie (pages out), archive_channel (a resolved incident's
# channel), declaration (a new incident's channel and card), postmortem_draft (the draft
# uploaded to the channel).
import bot.alerts.announce
import bot.paging.handlers
import bot.slack.archive
import bot.slack.declaration
import bot.slack.postmortem  # noqa: F401
