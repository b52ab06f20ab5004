"""The modules that register task handlers; importing this module registers every kind.

Each feature that schedules tasks adds its module here, so every process that runs tasks
(the web process after a request, every worker) knows every kind.
"""

from __future__ import annotations

import bot.slack.archive
import bot.slack.postmortem  # noqa: F401  (postmortem_draft)
