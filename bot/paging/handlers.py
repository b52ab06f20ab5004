"""The paging tasks' handlers: each sends one event and says how it went.

Registered in ``bot.tasks.kinds``; scheduled by ``bot.paging.service``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot import metrics
from bot.paging.send import Accepted, post_json
from bot.paging.service import KINDS, NAMES, paged
from bot.slack.delivery import Failed, Retry, retry_at
from bot.tasks.registry import Done, TaskRun, handles
from storage import queries, tasks
from storage.models import OutboxStatus

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

PD_SEVERITY = {1: "critical", 2: "error", 3: "warning"}
"""An incident's severity as PagerDuty's event severity (4 and lower: ``info``)."""
DETAILS = ("ref", "title", "severity", "timer", "target", "deadline", "escalation", "customers")
"""What a trigger's details list (PagerDuty's ``custom_details``, Opsgenie's ``details``)."""
WAIT_FOR_TRIGGER = 5.0
"""Seconds a resolve waits while the trigger of the same incident has not gone out yet."""


@handles(KINDS["pagerduty"])
def page_pagerduty(run: TaskRun) -> Done | Retry | Failed:
    return _page(run, "pagerduty")


@handles(KINDS["opsgenie"])
def page_opsgenie(run: TaskRun) -> Done | Retry | Failed:
    return _page(run, "opsgenie")


def _page(run: TaskRun, service: str) -> Done | Retry | Failed:
    p, name, clock = run.payload, NAMES[service], run.ctx.clock
    action = p.get("action")
    if action == "trigger" and _restored(run):
        return Done({"skipped": f"{p.get('ref')} was restored before the page went out"})
    if action == "resolve" and not _restored(run):
        return Done({"skipped": f"{p.get('ref')} was no longer restored when the resolve was due"})
    if action == "resolve" and _trigger_waiting(run):
        return Retry(f"the {name} trigger has not gone out yet", after=WAIT_FOR_TRIGGER,
                     counts=False)  # fmt: skip
    send = _pagerduty if service == "pagerduty" else _opsgenie
    outcome = send(run.settings, p)
    if isinstance(outcome, Accepted):
        metrics.record_page(service, str(action), "sent")
        log.info("%s: %s of %s sent", name, action, p.get("ref"))
        task, at = run.task, clock.now()
        then = (lambda session: paged(session, task, at)) if task.incident_id else None
        return Done({"status": outcome.status, "answer": outcome.body}, then=then)
    again = (
        isinstance(outcome, Retry) and retry_at(outcome, run.task.attempts, clock.now()) is not None
    )
    metrics.record_page(service, str(action), "retry" if again else "failed")
    if isinstance(outcome, Failed):
        log.error("%s page of %s (%s) failed: %s", name, p.get("ref"), action, outcome.reason)
    return outcome  # a Retry given up on is logged as failed by the task runner


def _pagerduty(settings: Settings, p: dict) -> Accepted | Retry | Failed:
    key = settings.pagerduty_routing_key
    if key is None:
        return Failed("SLABOT_PAGERDUTY_ROUTING_KEY is not set")
    event: dict = {
        "routing_key": key.get_secret_value(),
        "event_action": p["action"],
        "dedup_key": p["ref"],
    }
    if p["action"] == "trigger":
        event["payload"] = {
            "summary": p["summary"][:1024],
            "source": "slabot",
            "severity": PD_SEVERITY.get(p["severity"], "info"),
            "timestamp": p["deadline"],
            "component": p["customers"],
            "group": p["contract"],
            "class": f"{p['timer']} breach",
            "custom_details": {name: p[name] for name in DETAILS},
        }
        event["client"] = "slabot"
    return post_json("PagerDuty", settings.pagerduty_events_url, event)


def _opsgenie(settings: Settings, p: dict) -> Accepted | Retry | Failed:
    key = settings.opsgenie_api_key
    if key is None:
        return Failed("SLABOT_OPSGENIE_API_KEY is not set")
    headers = {"Authorization": f"GenieKey {key.get_secret_value()}"}
    base = f"{settings.opsgenie_api_url}/v2/alerts"
    if p["action"] == "trigger":
        message = p["summary"] if len(p["summary"]) <= 130 else p["summary"][:129] + "…"
        alert = {
            "message": message, "alias": p["ref"], "description": p["summary"],
            "priority": f"P{min(max(int(p['severity']), 1), 5)}", "source": "slabot",
            "entity": p["customers"], "tags": ["slabot", f"sev{p['severity']}", p["timer"]],
            "details": {name: str(p[name]) for name in DETAILS},  # Opsgenie: strings only
        }  # fmt: skip
        return post_json("Opsgenie", base, alert, headers=headers)
    close = {"source": "slabot", "note": f"{p['ref']} restored at {p['restored_at']}"}
    url = f"{base}/{quote(p['ref'], safe='')}/close?identifierType=alias"
    return post_json("Opsgenie", url, close, headers=headers)


def _restored(run: TaskRun) -> bool:
    if run.task.incident_id is None:
        return False
    with run.ctx.db.read() as session:
        incident = queries.incident_by_id(session, run.task.incident_id)
    return incident is None or incident.restored_at is not None


def _trigger_waiting(run: TaskRun) -> bool:
    """A trigger of this kind for this incident has not been sent (or given up on) yet."""
    if run.task.incident_id is None:
        return False
    with run.ctx.db.read() as session:
        return any(
            t.kind == run.task.kind
            and t.id != run.task.id
            and (t.payload or {}).get("action") == "trigger"
            and t.status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)
            for t in tasks.of_incident(session, run.task.incident_id)
        )
