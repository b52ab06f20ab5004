"""Pages out: an escalated breach pages PagerDuty and/or Opsgenie; a restore resolves it.

The pages are tasks of the task outbox (``bot.tasks``), written in the transaction that
records the fact — the escalation posted (``bot.reminders.service.sent``), the restore
(``bot.incidents.service``) — so a page is scheduled exactly once with its fact, and sent by
whichever process claims it, with the reminders' retry and failure rules
(``bot.paging.send``). PagerDuty and Opsgenie both collapse events by key (``dedup_key``,
``alias`` = the incident's ref): the rare second send of a page whose sender died between
sending and marking it adds to the same alert, it pages no one twice.

The handlers that send them are ``bot.paging.handlers``.

- ``page_pagerduty``: Events API v2 ``trigger`` / ``resolve`` (SLABOT_PAGERDUTY_ROUTING_KEY).
- ``page_opsgenie``: create / close an alert (SLABOT_OPSGENIE_API_KEY).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storage import tasks

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.incidents.views import IncidentView
    from config.settings import Settings
    from storage.models import Incident, Reminder, Task

KINDS = {"pagerduty": "page_pagerduty", "opsgenie": "page_opsgenie"}
"""Each paging service's task kind."""
SERVICE_OF = {kind: service for service, kind in KINDS.items()}
"""The paging service of each page's task kind."""
NAMES = {"pagerduty": "PagerDuty", "opsgenie": "Opsgenie"}


def failure(task: Task) -> str | None:
    """A failed page in a sentence (App Home), or ``None`` for a task that is not a page."""
    service = SERVICE_OF.get(task.kind)
    if service is None:
        return None
    p = task.payload or {}
    action = "page" if p.get("action") == "trigger" else "resolve"
    return (
        f"The {NAMES[service]} {action} of {p.get('ref', '?')} could not be sent: "
        f"{task.last_error or 'no reason recorded'} (`slabot doctor --retry-failed` sends it "
        "again once the cause is fixed)"
    )


def paged(session: Session, task: Task, at: dt.datetime) -> None:
    """The timeline event of a page sent (or an alert resolved), written in the transaction
    that marks its task done: once, like the page."""
    from storage.models import EventKind, TimelineEvent

    service = SERVICE_OF[task.kind]
    p = task.payload or {}
    if p.get("action") == "trigger":
        text = f"{NAMES[service]}: the {p.get('timer')} target's {p.get('escalation')}"
    else:
        text = f"{NAMES[service]}: alert resolved, service restored"
    event = TimelineEvent(
        incident_id=task.incident_id, at=at, actor="slabot", kind=EventKind.PAGED, text=text,
        recorded_at=at,
    )  # fmt: skip
    session.add(event)


def services(settings: Settings) -> list[str]:
    """The paging services this deployment has keys for."""
    found = []
    if settings.pagerduty_routing_key is not None:
        found.append("pagerduty")
    if settings.opsgenie_api_key is not None:
        found.append("opsgenie")
    return found


# --- scheduling, in the fact's transaction ----------------------------------------------------


def page_escalation(
    session: Session,
    services: Sequence[str],
    view: IncidentView,
    reminder: Reminder,
    now: dt.datetime,
) -> None:
    """The escalation ``reminder`` of ``view`` was posted: a trigger for each service."""
    from bot.tasks.service import schedule

    timer = view.timers.get(reminder.timer)  # type: ignore[call-overload]
    target = timer.target if timer is not None else ""
    customers = ", ".join(view.customers) or "all customers"
    summary = (
        f"{view.ref} {view.title}: the {reminder.timer} deadline ({target}) was breached at "
        f"{reminder.deadline_at:%Y-%m-%d %H:%M} UTC and has escalated"
    )
    payload = {
        "action": "trigger", "ref": view.ref, "title": view.title, "severity": view.severity,
        "timer": reminder.timer, "target": target, "deadline": reminder.deadline_at.isoformat(),
        "escalation": reminder.step, "customers": customers, "summary": summary,
        "contract": timer.contract if timer is not None else "",
    }  # fmt: skip
    for service in services:
        schedule(
            session, KINDS[service], f"page:{service}:reminder:{reminder.id}", payload,
            due_at=now, incident_id=view.id,
        )  # fmt: skip


def resolve_on_restore(session: Session, incident: Incident, now: dt.datetime) -> None:
    """``incident`` was restored: resolve each service's alert a trigger was scheduled for.

    The one rule for every way an incident becomes restored: ``_restore`` (restore, resolve,
    the alert hooks) and a ``correct``ion that sets the restore where there was none."""
    from bot.tasks.service import schedule

    triggered = {
        t.kind
        for t in tasks.of_incident(session, incident.id)
        if t.kind in SERVICE_OF and (t.payload or {}).get("action") == "trigger"
    }
    restored = incident.restored_at or now
    for service, kind in KINDS.items():
        if kind in triggered:
            schedule(
                session, kind, f"page:{service}:resolve:{incident.ref}:{restored.isoformat()}",
                {"action": "resolve", "ref": incident.ref, "restored_at": restored.isoformat()},
                due_at=now, incident_id=incident.id,
            )  # fmt: skip
