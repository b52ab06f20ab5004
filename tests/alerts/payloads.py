"""Webhook payloads shaped as each tool's documentation describes them (written here from
the documented schemas, field for field; values made up).

- Alertmanager: "webhook_config" receiver, payload ``version`` "4" (prometheus.io docs,
  Configuration → <webhook_config>).
- Grafana: the webhook contact point of Grafana Alerting (grafana.com docs, "Configure
  webhook notifications": the Alertmanager-like body plus ``orgId``, ``state``, ``title``,
  ``message`` and per alert ``values``, ``silenceURL``, ``dashboardURL``, ``panelURL``).
- PagerDuty: V3 webhooks (developer.pagerduty.com, "Webhooks v3 overview": an ``event``
  with ``id``, ``event_type``, ``resource_type``, ``occurred_at``, ``agent``, ``client``,
  ``data``: the incident).
- Opsgenie: the Webhook integration's outgoing payload (docs.opsgenie.com, "Webhook
  integration": ``action``, ``alert``, ``source``, ``integrationName``, ``integrationId``,
  ``integrationType``).
"""

from __future__ import annotations

import datetime as dt
import uuid

ZERO = "0001-01-01T00:00:00Z"


def rfc3339(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Go's ns


def am_alert(
    fingerprint: str,
    starts: dt.datetime,
    *,
    ends: dt.datetime | None = None,
    severity: str = "critical",
    alertname: str = "CheckoutDown",
    summary: str = "Checkout API is down",
    **labels: str,
) -> dict:
    return {
        "status": "resolved" if ends else "firing",
        "labels": {
            "alertname": alertname,
            "severity": severity,
            "instance": f"{fingerprint}:9100",
            **labels,
        },
        "annotations": {"summary": summary, "description": "5xx over 50 % for 2 minutes"},
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends) if ends else ZERO,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
        "fingerprint": fingerprint,
    }


def alertmanager(alerts: list[dict], *, group: str = "checkout", receiver: str = "slabot") -> dict:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    common = dict(alerts[0]["labels"]) if alerts else {}
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity=~"critical|high"}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": group},
        "commonLabels": {k: v for k, v in common.items() if k == "alertname"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


def grafana(alerts: list[dict], *, group: str = "checkout") -> dict:
    body = alertmanager(alerts, group=group)
    body["version"] = "1"
    body["groupKey"] = f'{{}}:{{alertname="{group}"}}'
    for alert in body["alerts"]:
        alert.update(
            silenceURL="http://grafana:3000/alerting/silence/new",
            dashboardURL="http://grafana:3000/d/checkout",
            panelURL="http://grafana:3000/d/checkout?viewPanel=2",
            values={"B": 0.52, "C": 1},
            valueString="[ var='B' labels={} value=0.52 ]",
        )
    body.update(
        orgId=1,
        state="alerting" if body["status"] == "firing" else "ok",
        title=f"[{body['status'].upper()}:{len(alerts)}] {group}",
        message="**Firing**\n\nValue: B=0.52",
    )
    return body


def pagerduty(
    event_type: str,
    incident_key: str,
    created: dt.datetime,
    *,
    occurred: dt.datetime | None = None,
    urgency: str = "high",
    title: str = "Checkout API is down",
) -> dict:
    status = {"incident.triggered": "triggered", "incident.resolved": "resolved"}.get(
        event_type, "acknowledged"
    )
    return {
        "event": {
            "id": "01" + uuid.uuid4().hex[:24].upper(),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": rfc3339(occurred or created),
            "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                      "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                      "type": "user_reference"},
            "client": None,
            "data": {
                "id": "PGR0VU2", "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2, "status": status, "incident_key": incident_key,
                "created_at": rfc3339(created), "title": title,
                "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                            "self": "https://api.pagerduty.com/services/PF9KMXH",
                            "summary": "Checkout API", "type": "service_reference"},
                "assignees": [], "escalation_policy": {"id": "PL1JMK5", "type": "escalation_policy_reference",
                                                      "summary": "Checkout EP"},
                "teams": [], "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
                "urgency": urgency, "conference_bridge": None, "resolve_reason": None,
            },
        }
    }  # fmt: skip


def opsgenie(
    action: str,
    alias: str,
    created: dt.datetime,
    *,
    updated: dt.datetime | None = None,
    priority: str = "P1",
    message: str = "Checkout API is down",
    details: dict | None = None,
    tags: list[str] | None = None,
) -> dict:
    ms = lambda instant: int(instant.timestamp() * 1000)  # noqa: E731
    return {
        "action": action,
        "alert": {
            "alertId": str(uuid.uuid4()), "message": message, "tags": tags or ["checkout"],
            "tinyId": "42", "entity": "checkout-api", "alias": alias,
            "createdAt": ms(created), "updatedAt": ms(updated or created),
            "username": "System", "userId": "", "description": "5xx over 50 %",
            "team": "payments", "responders": [{"id": "4513b7ea", "type": "team", "name": "payments"}],
            "teams": ["4513b7ea"], "actions": [], "details": details or {}, "priority": priority,
            "source": "prometheus",
        },
        "source": {"name": "", "type": "API"},
        "integrationName": "Webhook",
        "integrationId": "3b2f1d4e-0c1a-4b8e-9d2e-5a6f7b8c9d0e",
        "integrationType": "Webhook",
    }  # fmt: skip
