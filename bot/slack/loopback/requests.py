"""What Slack sends an app, signed as Slack signs it: slash commands, button clicks
(``block_actions``), form submissions (``view_submission``) and events. The console sends
these into the Bolt app, the tests too (in process, or over HTTP to ``slabot serve``).

    requests = SlackRequests(signing_secret)
    signed = requests.command("/incident", "ack", user="U1", channel="C1", response_url=url)
    app.dispatch(BoltRequest(body=signed.body, headers=signed.headers))
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]
    """Content type, ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``."""

    def http(self, url: str) -> urllib.request.Request:
        """The request as an HTTP POST to ``url`` (``…/slack/events``)."""
        return urllib.request.Request(url, data=self.body.encode(), headers=self.headers)


class SlackRequests:
    """Signed requests from one workspace (``team_id``, ``team_domain``) to one app.

    ``clock`` gives the signature's timestamp: Bolt refuses requests more than five minutes
    from its own real time, so it is real time unless a test wants a stale request.
    Bodies carry the fields Slack sends; ``text`` goes as given — Slack escapes ``&``,
    ``<`` and ``>`` in what people type, so pass it escaped when it should be.
    """

    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = "T0LOOP",
        team_domain: str = "loopback",
        app_id: str = "A0LOOP",
        token: str = "legacy",
        clock: Callable[[], float] = time.time,
    ):
        self.signing_secret = signing_secret
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.token, self.clock = token, clock

    def sign(
        self, body: str, *, secret: str | None = None, timestamp: int | None = None
    ) -> SignedRequest:
        """``body`` signed (with another ``secret`` or ``timestamp`` for a forged or stale
        request)."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(self.signing_secret if secret is None else secret)
        kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
        return SignedRequest(
            body,
            {
                "Content-Type": kind,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
            },
        )

    @staticmethod
    def button(action_id: str, value: str, *, block_id: str, label: str | None = None) -> dict:
        """One pressed button, for ``block_actions``' ``actions``."""
        action: dict[str, Any] = {
            "type": "button", "action_id": action_id, "block_id": block_id, "value": value,
        }  # fmt: skip
        if label is not None:
            action["text"] = {"type": "plain_text", "text": label}
        return action

    @staticmethod
    def trigger() -> str:
        """A new ``trigger_id`` (each request Slack sends has its own)."""
        return f"trig-{uuid.uuid4().hex}"

    def command(
        self,
        command: str,
        text: str,
        *,
        user: str,
        channel: str,
        response_url: str,
        user_name: str | None = None,
        channel_name: str | None = None,
        trigger_id: str | None = None,
    ) -> SignedRequest:
        """A slash command typed by ``user`` in ``channel``."""
        return self.sign(urlencode({
            "token": self.token, "team_id": self.team_id, "team_domain": self.team_domain,
            "channel_id": channel, "channel_name": channel_name or channel,
            "user_id": user, "user_name": user_name or user.lower(), "command": command,
            "text": text, "api_app_id": self.app_id, "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": trigger_id or self.trigger(),
        }))  # fmt: skip

    def block_actions(
        self,
        actions: list[dict],
        *,
        user: str,
        user_name: str | None = None,
        channel: str | None = None,
        channel_name: str | None = None,
        message: dict | None = None,
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> SignedRequest:
        """Buttons (``button(...)``) pressed by ``user`` on ``message`` in ``channel`` (no
        channel: in App Home)."""
        stamp = f"{self.clock():.6f}"
        actions = [{"action_ts": stamp, **action} for action in actions]
        container: dict[str, Any] = {"type": "message"}
        if message is not None:
            container.update(message_ts=message["ts"], channel_id=channel)
        payload: dict[str, Any] = {
            "type": "block_actions", "api_app_id": self.app_id, "token": self.token,
            "user": self._user(user, user_name), "team": self._team(),
            "channel": self._channel(channel, channel_name), "container": container,
            "trigger_id": trigger_id or self.trigger(), "actions": actions,
        }  # fmt: skip
        if message is not None:
            payload["message"] = message
        if response_url is not None:
            payload["response_url"] = response_url
        return self._payload(payload)

    def view_action(
        self,
        action: dict,
        *,
        view: dict,
        values: dict,
        user: str,
        trigger_id: str | None = None,
    ) -> SignedRequest:
        """An element of an open modal ``view`` (as ``views.open`` returned it) that
        dispatches its action (``dispatch_action``) changed by ``user``; ``values`` is the
        form's ``state.values`` at that moment."""
        action = {"action_ts": f"{self.clock():.6f}", **action}
        payload: dict[str, Any] = {
            "type": "block_actions", "api_app_id": self.app_id, "token": self.token,
            "user": self._user(user, None), "team": self._team(),
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": trigger_id or self.trigger(), "actions": [action],
            "view": {**view, "state": {"values": values}},
        }  # fmt: skip
        return self._payload(payload)

    def view_submission(
        self,
        *,
        callback_id: str,
        values: dict,
        user: str,
        user_name: str | None = None,
        view_id: str | None = None,
        private_metadata: str = "",
        view_hash: str | None = None,
        trigger_id: str | None = None,
    ) -> SignedRequest:
        """A modal form submitted by ``user``: ``values`` is its ``state.values``
        (block id → action id → element state). Each opened form has its own view id."""
        view = {
            "id": view_id or f"V{uuid.uuid4().hex[:12].upper()}", "type": "modal",
            "callback_id": callback_id, "private_metadata": private_metadata,
            "state": {"values": values},
        }  # fmt: skip
        if view_hash is not None:
            view["hash"] = view_hash
        return self._payload({
            "type": "view_submission", "api_app_id": self.app_id, "token": self.token,
            "user": self._user(user, user_name), "team": self._team(),
            "trigger_id": trigger_id or self.trigger(), "view": view,
        })  # fmt: skip

    def event(self, event: dict, *, event_id: str | None = None) -> SignedRequest:
        """An Events API callback; Slack's retry of one carries the same ``event_id``."""
        return self.sign(json.dumps({
            "type": "event_callback", "team_id": self.team_id, "api_app_id": self.app_id,
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(self.clock()), "event": event,
        }))  # fmt: skip

    def _payload(self, payload: dict) -> SignedRequest:
        return self.sign(urlencode({"payload": json.dumps(payload)}))

    def _user(self, user: str, name: str | None) -> dict:
        return {"id": user, "username": name or user.lower(), "team_id": self.team_id}

    def _team(self) -> dict:
        return {"id": self.team_id, "domain": self.team_domain}

    @staticmethod
    def _channel(channel: str | None, name: str | None) -> dict | None:
        if channel is None:
            return None
        return {"id": channel, "name": name or channel}
