"""Alert webhooks through the real WSGI app (``wsgi_app``), the local Slack behind it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pytest

from bot import web
from bot.slack.app import wsgi_app
from tests.slack import conftest as on_slack
from tests.slack.conftest import make_settings

slack, ctx, workspace = on_slack.slack, on_slack.ctx, on_slack.workspace
"""The Slack scenario fixtures: a local Slack, the Bolt app on it."""

TOKEN = "hook-token-0123456789abcdef"
PAGERDUTY_SECRET = "pd-webhook-secret-0123456789"
ANNOUNCE = "C0GENERAL"


class Hooks:
    """POSTs to ``/hooks/<source>`` as the tool sends them; answers (status, JSON)."""

    def __init__(self, space, **overrides: str):
        self.workspace = space
        values = {
            "SLABOT_HOOK_TOKEN": TOKEN,
            "SLABOT_PAGERDUTY_WEBHOOK_SECRET": PAGERDUTY_SECRET,
            "SLABOT_ANNOUNCE_CHANNEL": ANNOUNCE,
            **overrides,
        }
        self.settings = make_settings(space.slack, **values)
        self.app = wsgi_app(space.app, space.ctx, self.settings)

    def post(
        self,
        source: str,
        payload: dict | bytes,
        *,
        token: str | None = TOKEN,
        headers: dict | None = None,
        length: str | None = None,
    ) -> tuple[int, dict]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": f"/hooks/{source}", "QUERY_STRING": "",
            "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)) if length is None else length,
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
        }  # fmt: skip
        if token is not None:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        environ.update(headers or {})
        said = {}
        data = b"".join(self.app(environ, lambda status, headers: said.update(status=status)))
        return int(said["status"].split()[0]), json.loads(data) if data else {}


def pagerduty_signature(body: bytes, secret: str = PAGERDUTY_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def hooks(workspace) -> Hooks:
    return Hooks(workspace)


@pytest.fixture
def logged(caplog, monkeypatch):
    monkeypatch.setattr(web, "refusals", web.RefusalLog())
    caplog.set_level("DEBUG")
    return caplog
