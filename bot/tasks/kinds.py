"""The modules that register task handlers; importing this module registers every kind.

Each feature that schedules tasks adds its module here, so every process that runs tasks
(the web process after a request, every worker) knows every kind.
"""

from __future__ import annotations

import bot.alerts.announce  # alert_question: an alert's "declare?" question
import bot.slack.declaration  # noqa: F401  (declaration: a new incident's channel and card)
