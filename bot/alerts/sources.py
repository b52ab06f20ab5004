"""What each alerting tool sends, read into one shape: an ``Alert``.

One parser per source, each from the tool's documented webhook payload:

- Alertmanager's webhook receiver, payload version 4: ``groupKey`` and ``alerts[]`` with
  ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``fingerprint``.
- Grafana's webhook contact point: the same alert fields (Grafana's unified alerting keeps
  Alertmanager's shape), ``groupKey`` and ``alerts[]``.
- PagerDuty V3 webhooks: ``event.event_type`` ``incident.triggered`` / ``incident.resolved``,
  ``event.data`` the incident (``incident_key``, ``title``, ``urgency``, ``priority``…).
- Opsgenie's outgoing webhook: ``action`` ``Create`` / ``Close`` and ``alert`` (``alias``,
  ``message``, ``priority``, ``tags``, ``details``, ``createdAt`` in epoch milliseconds).

A payload that is not what the tool sends raises ``Malformed`` naming what was wrong; an
event slabot does not act on (PagerDuty's ``incident.acknowledged``, Opsgenie's ``AddNote``)
reads as no alerts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.parse import parse_instant

SOURCES = ("alertmanager", "grafana", "pagerduty", "opsgenie")

_UNSET = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
"""Alertmanager's ``endsAt`` of an alert that has not ended (Go's zero time)."""


class Malformed(ValueError):
    """A payload that is not what the tool sends; the message says what was wrong."""


@dataclass(frozen=True)
class Alert:
    """One alert as slabot reads it, whatever tool sent it.

    ``key``: the tool's own identity of the alert (fingerprint, incident key, alias);
    ``group``: the group it came in (Alertmanager's and Grafana's ``groupKey``), whose
    alerts make one incident; ``labels``: labels, annotations and the tool's fields, as
    text, for the rules to match and titles to quote; ``started_at``: when it began
    firing (the impact start); ``ended_at``: when it stopped (``None`` while firing)."""

    source: str
    key: str
    firing: bool
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    group: str | None = None
    title: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


def parse(source: str, body: bytes, now: dt.datetime) -> list[Alert]:
    """The alerts of ``source``'s payload ``body``; ``now`` stands in for a missing end."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"the body is not JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    return PARSERS[source](data, now)


# --- Alertmanager and Grafana ---------------------------------------------------------------


def alertmanager(data: dict, now: dt.datetime) -> list[Alert]:
    version = data.get("version")
    if version != "4":
        raise Malformed(f"version is {version!r}; slabot reads Alertmanager's webhook version 4")
    return _grouped("alertmanager", data, now)


def grafana(data: dict, now: dt.datetime) -> list[Alert]:
    return _grouped("grafana", data, now)


def _grouped(source: str, data: dict, now: dt.datetime) -> list[Alert]:
    group = _text(data, "groupKey", required=True)
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise Malformed("alerts is missing or not a list")
    common = _strings(data.get("commonLabels"), "commonLabels")
    read = []
    for i, item in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(item, dict):
            raise Malformed(f"{where} is not an object")
        status = item.get("status")
        if status not in ("firing", "resolved"):
            raise Malformed(f"{where}.status is {status!r}; expected firing or resolved")
        labels = {**common, **_strings(item.get("labels"), f"{where}.labels")}
        annotations = _strings(item.get("annotations"), f"{where}.annotations")
        started = _instant(item, "startsAt", where, required=True)
        if started is None:
            raise Malformed(f"{where}.startsAt is not set")
        ended = _instant(item, "endsAt", where)
        fingerprint = item.get("fingerprint")
        if fingerprint is not None and not (isinstance(fingerprint, str) and fingerprint):
            raise Malformed(f"{where}.fingerprint is not text")
        key = fingerprint or _fingerprint(labels)
        firing = status == "firing"
        title = annotations.get("summary") or labels.get("alertname") or key
        read.append(
            Alert(
                source=source, key=key, firing=firing, started_at=started,
                ended_at=None if firing else (ended or now), group=group, title=title,
                labels={**annotations, **labels},
            )
        )  # fmt: skip
    return read


def _fingerprint(labels: Mapping[str, str]) -> str:
    """An alert's identity from its labels, as Alertmanager's fingerprint is (for senders
    that leave ``fingerprint`` out)."""
    text = json.dumps(sorted(labels.items()), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- PagerDuty -------------------------------------------------------------------------------

PAGERDUTY_EVENTS = {"incident.triggered": True, "incident.resolved": False}


def pagerduty(data: dict, now: dt.datetime) -> list[Alert]:
    event = data.get("event")
    if not isinstance(event, dict):
        raise Malformed("event is missing or not an object (a PagerDuty V3 webhook has one)")
    kind = _text(event, "event_type", "event.", required=True)
    if kind not in PAGERDUTY_EVENTS:
        return []  # acknowledged, annotated, …: the people in PagerDuty, not the outage
    incident = event.get("data")
    if not isinstance(incident, dict):
        raise Malformed("event.data is missing or not an object")
    key = _text(incident, "incident_key", "event.data.") or _text(
        incident, "id", "event.data.", required=True
    )
    firing = PAGERDUTY_EVENTS[kind]
    occurred = _instant(event, "occurred_at", "event") or now
    started = _instant(incident, "created_at", "event.data") or occurred
    labels = {
        "title": _text(incident, "title", "event.data."),
        "urgency": _text(incident, "urgency", "event.data."),
        "status": _text(incident, "status", "event.data."),
        "number": str(incident.get("number") or ""),
        "html_url": _text(incident, "html_url", "event.data."),
        "priority": _summary(incident.get("priority")),
        "service": _summary(incident.get("service")),
    }
    labels = {k: v for k, v in labels.items() if v}
    return [
        Alert(
            source="pagerduty", key=key, firing=firing, started_at=started,
            ended_at=None if firing else occurred, title=labels.get("title") or key,
            labels=labels,
        )
    ]  # fmt: skip


def _summary(reference: Any) -> str:
    """A PagerDuty reference's ``summary`` (``P1``, ``Checkout API``), or nothing."""
    if isinstance(reference, dict) and isinstance(reference.get("summary"), str):
        return reference["summary"]
    return ""


# --- Opsgenie --------------------------------------------------------------------------------

OPSGENIE_ACTIONS = {"Create": True, "Close": False}


def opsgenie(data: dict, now: dt.datetime) -> list[Alert]:
    action = _text(data, "action", required=True)
    if action not in OPSGENIE_ACTIONS:
        return []  # Acknowledge, AddNote, …
    alert = data.get("alert")
    if not isinstance(alert, dict):
        raise Malformed("alert is missing or not an object")
    key = _text(alert, "alias", "alert.") or _text(alert, "alertId", "alert.", required=True)
    firing = OPSGENIE_ACTIONS[action]
    started = _epoch_ms(alert, "createdAt", required=True)
    ended = None if firing else (_epoch_ms(alert, "updatedAt") or now)
    details = alert.get("details") or {}
    if not isinstance(details, dict):
        raise Malformed("alert.details is not an object")
    tags = alert.get("tags") or []
    if not isinstance(tags, list):
        raise Malformed("alert.tags is not a list")
    labels = {str(k): str(v) for k, v in details.items() if v is not None}
    for tag in tags:  # "severity:critical" as a tag is a label too
        name, sep, value = str(tag).partition(":")
        if sep and name.strip() and name.strip() not in labels:
            labels[name.strip()] = value.strip()
    for name in ("message", "priority", "entity", "source", "team", "description", "tinyId"):
        value = alert.get(name)
        if isinstance(value, str) and value:
            labels.setdefault(name, value)
    return [
        Alert(
            source="opsgenie", key=key, firing=firing, started_at=started, ended_at=ended,
            title=labels.get("message") or key, labels=labels,
        )
    ]  # fmt: skip


def _epoch_ms(data: dict, name: str, *, required: bool = False) -> dt.datetime | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Malformed(f"alert.{name} is {value!r}; expected epoch milliseconds")
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"alert.{name} is {value!r}; expected epoch milliseconds") from None


# --- shared ----------------------------------------------------------------------------------


def _text(data: dict, name: str, prefix: str = "", *, required: bool = False) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"{prefix}{name} is missing")
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{prefix}{name} is not text")
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _instant(data: dict, name: str, where: str, *, required: bool = False) -> dt.datetime | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise Malformed(f"{where}.{name} is missing")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.{name} is not an RFC 3339 time")
    try:
        instant = parse_instant(value)
    except ValueError:
        raise Malformed(f"{where}.{name} is {value[:40]!r}, not an RFC 3339 time") from None
    return None if instant <= _UNSET + dt.timedelta(days=1) else instant


PARSERS: dict[str, Callable[[dict, dt.datetime], list[Alert]]] = {
    "alertmanager": alertmanager,
    "grafana": grafana,
    "pagerduty": pagerduty,
    "opsgenie": opsgenie,
}
