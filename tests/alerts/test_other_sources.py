"""Grafana, PagerDuty V3 and Opsgenie webhooks through the real server: each one's refusals,
malformed payloads, firing → declared at the alert's start, repeats, resolved → restored."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.incidents import service
from storage.models import EventKind, IncidentState
from tests.alerts import payloads
from tests.alerts.conftest import pagerduty_signature
from tests.conftest import T0

STARTED = T0 - dt.timedelta(minutes=12)
ENDED = T0 + dt.timedelta(minutes=30)


def incidents(ctx):
    return service.list_incidents(ctx, open_only=False)


# --- Grafana ---------------------------------------------------------------------------------


def test_grafana_firing_declares_joins_and_resolved_restores(hooks, ctx, slack):
    a = payloads.am_alert("g1", STARTED, severity="high", customer="globex")
    status, answer = hooks.post("grafana", payloads.grafana([a]))
    assert (status, answer["declared"]) == (200, ["INC-1"])
    view = service.get(ctx, "INC-1")
    assert (view.severity, view.impact_start, view.customers) == (2, STARTED, ("globex",))
    assert service.timeline(ctx, "INC-1")[0].actor == "grafana"
    assert hooks.post("grafana", payloads.grafana([a]))[1]["unchanged"] == 1

    b = payloads.am_alert("g2", T0, severity="high", summary="Checkout latency over 2 s")
    assert hooks.post("grafana", payloads.grafana([a, b]))[1]["joined"] == ["INC-1"]
    ctx.clock.advance(dt.timedelta(hours=1))
    over = [payloads.am_alert(f, STARTED, severity="high", ends=ENDED) for f in ("g1", "g2")]
    assert hooks.post("grafana", payloads.grafana(over))[1]["restored"] == ["INC-1"]
    assert service.get(ctx, "INC-1").restored_at == ENDED


def test_grafana_refuses_the_unauthenticated_and_the_malformed(hooks, ctx):
    body = payloads.grafana([payloads.am_alert("g1", STARTED)])
    assert hooks.post("grafana", body, token=None)[0] == 401
    del body["groupKey"]
    assert hooks.post("grafana", body) == (
        400,
        {"error": "not a grafana webhook payload: groupKey is missing"},
    )
    assert incidents(ctx) == []


# --- PagerDuty -------------------------------------------------------------------------------


def signed(body: dict) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"HTTP_X_PAGERDUTY_SIGNATURE": pagerduty_signature(raw)}


def test_pagerduty_triggered_declares_and_resolved_restores_by_signature(hooks, ctx, slack):
    raw, headers = signed(payloads.pagerduty("incident.triggered", "dedup-42", STARTED))
    status, answer = hooks.post("pagerduty", raw, token=None, headers=headers)
    assert (status, answer["declared"]) == (200, ["INC-1"])
    view = service.get(ctx, "INC-1")
    assert (view.severity, view.title, view.impact_start) == (2, "Checkout API is down", STARTED)
    again = hooks.post("pagerduty", raw, token=None, headers=headers)
    assert again[1]["declared"] == [] and len(incidents(ctx)) == 1

    acked, ack_headers = signed(payloads.pagerduty("incident.acknowledged", "dedup-42", STARTED))
    assert hooks.post("pagerduty", acked, token=None, headers=ack_headers)[0] == 200

    ctx.clock.advance(dt.timedelta(hours=1))
    resolved = payloads.pagerduty("incident.resolved", "dedup-42", STARTED, occurred=ENDED)
    raw, headers = signed(resolved)
    assert hooks.post("pagerduty", raw, token=None, headers=headers)[1]["restored"] == ["INC-1"]
    view = service.get(ctx, "INC-1")
    assert view.state is IncidentState.RESTORED and view.restored_at == ENDED
    assert [e.actor for e in service.timeline(ctx, "INC-1") if e.kind is EventKind.RESTORED] == [
        "pagerduty"
    ]


def test_pagerduty_accepts_a_signature_among_several_while_a_secret_rotates(hooks, ctx):
    raw = json.dumps(payloads.pagerduty("incident.triggered", "k", STARTED)).encode()
    header = f"v1={'0' * 64},{pagerduty_signature(raw)}"
    status, _ = hooks.post(
        "pagerduty", raw, token=None, headers={"HTTP_X_PAGERDUTY_SIGNATURE": header}
    )
    assert status == 200 and len(incidents(ctx)) == 1


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "no PagerDuty signature (X-PagerDuty-Signature) and no bearer token"),
        (
            {"HTTP_X_PAGERDUTY_SIGNATURE": "v1=" + "0" * 64},
            "the PagerDuty signature does not match",
        ),
    ],
)
def test_pagerduty_without_a_valid_signature_is_401(hooks, ctx, headers, reason):
    raw = json.dumps(payloads.pagerduty("incident.triggered", "k", STARTED)).encode()
    assert hooks.post("pagerduty", raw, token=None, headers=headers) == (401, {"error": reason})
    assert incidents(ctx) == []


def test_a_pagerduty_signature_over_another_body_is_refused(hooks, ctx):
    raw = json.dumps(payloads.pagerduty("incident.triggered", "k", STARTED)).encode()
    forged = raw.replace(b"Checkout API is down", b"Everything is down!!")
    headers = {"HTTP_X_PAGERDUTY_SIGNATURE": pagerduty_signature(raw)}
    assert hooks.post("pagerduty", forged, token=None, headers=headers)[0] == 401
    assert incidents(ctx) == []


def test_pagerduty_malformed_is_400(hooks, ctx):
    raw, headers = signed({"messages": []})  # a V2 webhook's shape
    status, answer = hooks.post("pagerduty", raw, token=None, headers=headers)
    assert status == 400 and "event is missing or not an object" in answer["error"]


# --- Opsgenie --------------------------------------------------------------------------------


def test_opsgenie_create_declares_and_close_restores(hooks, ctx, slack):
    body = payloads.opsgenie("Create", "checkout-down", STARTED, details={"customer": "acme"})
    status, answer = hooks.post("opsgenie", body)
    assert (status, answer["declared"]) == (200, ["INC-1"])
    view = service.get(ctx, "INC-1")
    assert (view.severity, view.outage, view.customers) == (1, True, ("acme",))
    # Opsgenie's createdAt is whole milliseconds
    assert view.impact_start == STARTED.replace(microsecond=STARTED.microsecond // 1000 * 1000)
    assert hooks.post("opsgenie", body)[1]["declared"] == []

    ctx.clock.advance(dt.timedelta(hours=1))
    closed = payloads.opsgenie("Close", "checkout-down", STARTED, updated=ENDED)
    assert hooks.post("opsgenie", closed)[1]["restored"] == ["INC-1"]
    assert service.get(ctx, "INC-1").restored_at == ENDED


def test_opsgenie_tags_are_labels_and_other_actions_do_nothing(hooks, ctx):
    body = payloads.opsgenie("Create", "a", STARTED, priority="P5", tags=["severity:warning"])
    assert hooks.post("opsgenie", body)[1]["declared"] == ["INC-1"]
    assert service.get(ctx, "INC-1").severity == 3
    noted = payloads.opsgenie("AddNote", "b", STARTED)
    assert hooks.post("opsgenie", noted)[1] == {
        "ok": True, "declared": [], "joined": [], "restored": [], "proposed": 0,
        "ignored": 0, "unchanged": 0,
    }  # fmt: skip


def test_opsgenie_refuses_the_unauthenticated_and_the_malformed(hooks, ctx):
    body = payloads.opsgenie("Create", "a", STARTED)
    assert hooks.post("opsgenie", body, token=None)[0] == 401
    body["alert"]["createdAt"] = "yesterday"
    status, answer = hooks.post("opsgenie", body)
    assert (
        status == 400
        and "alert.createdAt is 'yesterday'; expected epoch milliseconds" in answer["error"]
    )
    assert incidents(ctx) == []


def test_no_refusal_logs_or_answers_the_token_or_the_signing_secret(hooks, ctx, logged):
    from tests.alerts.conftest import PAGERDUTY_SECRET, TOKEN

    raw = json.dumps(payloads.pagerduty("incident.triggered", "k", STARTED)).encode()
    answers = [
        hooks.post("pagerduty", raw, token=TOKEN[:-1]),
        hooks.post(
            "pagerduty",
            raw,
            token=None,
            headers={"HTTP_X_PAGERDUTY_SIGNATURE": "v1=" + PAGERDUTY_SECRET},
        ),
        hooks.post("opsgenie", b"{" + TOKEN.encode(), token=TOKEN),
        hooks.post("grafana", {"groupKey": PAGERDUTY_SECRET}, token=TOKEN),
    ]
    assert [status for status, _ in answers] == [401, 401, 400, 400]
    shown = json.dumps(answers) + "\n".join(r.getMessage() for r in logged.records)
    assert TOKEN not in shown and TOKEN[:-1] not in shown and PAGERDUTY_SECRET not in shown


def test_each_hook_request_is_counted_in_metrics_by_its_outcome(hooks, ctx):
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        labels = {"source": "grafana", "outcome": outcome}
        return REGISTRY.get_sample_value("slabot_hook_requests_total", labels) or 0.0

    before = count("unauthorized"), count("malformed")
    body = payloads.grafana([payloads.am_alert("g1", STARTED)])
    hooks.post("grafana", body, token=None)
    del body["groupKey"]
    hooks.post("grafana", body)
    assert (count("unauthorized"), count("malformed")) == (before[0] + 1, before[1] + 1)
