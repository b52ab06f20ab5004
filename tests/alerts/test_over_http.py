"""The alert hooks on slabot's real HTTP server (waitress, guarded): what the tools reach."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest

from bot.incidents import service
from bot.slack.app import http_server
from tests.alerts import payloads
from tests.alerts.conftest import TOKEN, pagerduty_signature
from tests.conftest import T0
from tests.slack.conftest import make_settings

HANG = 60.0


@pytest.fixture
def base(workspace):
    settings = make_settings(
        workspace.slack,
        SLABOT_HOOK_TOKEN=TOKEN,
        SLABOT_PAGERDUTY_WEBHOOK_SECRET="pd-webhook-secret-0123456789",
        SLABOT_ANNOUNCE_CHANNEL="C0GENERAL",
    )
    server = http_server(workspace.app, workspace.ctx, settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.stop()
    thread.join(HANG)


def send(url: str, body: bytes, **headers: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=HANG) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:  # waitress's own refusals are plain text
        text = refused.read()
        return refused.code, json.loads(text) if text.startswith(b"{") else {"text": text.decode()}


def test_alertmanager_and_pagerduty_over_http(base, ctx):
    body = json.dumps(payloads.alertmanager([payloads.am_alert("a1", T0)])).encode()
    assert send(f"{base}/hooks/alertmanager", body)[0] == 401
    status, answer = send(f"{base}/hooks/alertmanager", body, Authorization=f"Bearer {TOKEN}")
    assert (status, answer["declared"]) == (200, ["INC-1"])

    pd = json.dumps(payloads.pagerduty("incident.triggered", "k-1", T0)).encode()
    signature = pagerduty_signature(pd, "pd-webhook-secret-0123456789")
    status, answer = send(f"{base}/hooks/pagerduty", pd, **{"X-PagerDuty-Signature": signature})
    assert (status, answer["declared"]) == (200, ["INC-2"])
    assert len(service.list_incidents(ctx)) == 2


def test_a_body_over_the_cap_is_refused_by_the_server_before_it_is_sent(base, ctx):
    """Only the headers go: the answer comes without the 2 MB the length announces."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HANG) as connection:
        connection.sendall(
            b"POST /hooks/grafana HTTP/1.1\r\nHost: slabot\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 2000000\r\n\r\n".encode()
        )
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413") and service.list_incidents(ctx) == []


def test_a_hook_answers_only_post(base):
    request = urllib.request.Request(f"{base}/hooks/opsgenie", method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=HANG)
    assert refused.value.code == 405 and json.loads(refused.value.read()) == {"error": "use POST"}
