"""Who may do what (SLABOT_RESPONDERS, SLABOT_ADMINS, SLABOT_MANAGERS).

- Responders declare and act on incidents; an empty list means everyone may.
- Admins announce, move and cancel maintenance (it changes what counts as downtime) and may do all a
  responder may. Nobody is an admin until SLABOT_ADMINS names someone.
- Money (credits, refunds, fees) reaches managers and admins only; nobody sees it in Slack
  until one of those lists names someone. The CLI, run by whoever runs the service, shows all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.people import Directory
from config.settings import Settings


@dataclass(frozen=True)
class Permissions:
    settings: Settings
    directory: Directory

    def is_admin(self, user_id: str) -> bool:
        return self.directory.is_in(user_id, self.settings.admins)

    def may_respond(self, user_id: str) -> bool:
        responders = self.settings.responders
        return not responders or self.directory.is_in(user_id, responders) or self.is_admin(user_id)

    def sees_money(self, user_id: str) -> bool:
        return self.is_admin(user_id) or self.directory.is_in(user_id, self.settings.managers)


NOT_A_RESPONDER = (
    "you are not on the responder list (SLABOT_RESPONDERS), so you cannot declare or change "
    "incidents; ask an admin to add you or one of your user groups"
)
NOT_AN_ADMIN = (
    "announcing maintenance is for admins (SLABOT_ADMINS), because it changes what counts as "
    "downtime; ask an admin"
)
NOT_AN_ADMIN_TO_CHANGE = (
    "moving or cancelling maintenance is for admins (SLABOT_ADMINS), because it changes what "
    "counts as downtime; ask an admin"
)
NOT_A_MANAGER = (
    "a customer's statement holds credits and amounts, so it is for managers and admins "
    "(SLABOT_MANAGERS, SLABOT_ADMINS); ask one of them, or use `/sla report` for percentages"
)
