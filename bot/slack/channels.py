"""Incident channels and cards in Slack. Used by the listeners and by the worker."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.incidents.views import IncidentView
from bot.slack.blocks import Message, incident_card
from config.policy import Contracts
from config.settings import Settings

log = logging.getLogger(__name__)


def channel_name(prefix: str, declared_at: dt.datetime, title: str) -> str:
    """``inc-20261120-checkout-api-down``: Slack's rules (lower case, ≤ 80, a-z 0-9 - _)."""
    slug = channel_name_part(title) or "incident"
    base = f"{prefix}-{declared_at:%Y%m%d}-"
    return (base + slug)[:80].rstrip("-")


def channel_name_part(text: str) -> str:
    """``Checkout API down`` → ``checkout-api-down``, ``INC-17`` → ``inc-17``: lower-case
    ASCII letters and digits joined by ``-``, as Slack allows in a channel name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


SLACK_FAILURES = (SlackApiError, OSError)
"""What a Web API call raises when Slack refuses it, or does not answer (a timeout, a
dropped connection, after the client's own retries)."""


def why(exc: Exception) -> str:
    """Slack's error code (``is_archived``), or what kept the answer from coming."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"no answer from Slack ({type(exc).__name__})"


@dataclass
class IncidentChannels:
    client: WebClient
    settings: Settings
    contracts: Contracts

    def settle(self, view: IncidentView, channel: str, card_ts: str, declarer: str) -> None:
        """What can follow the answer: invite the declarer, pin the card. Each is a
        convenience, logged when Slack refuses it; the channel and card are there either way."""
        person = declarer[:1] in ("U", "W")  # not a tool that declared it (alertmanager…)
        if channel != view.origin_channel_id and person:  # a channel of its own
            try:
                self.client.conversations_invite(channel=channel, users=declarer)
            except SLACK_FAILURES as exc:
                if why(exc) != "already_in_channel":
                    log.warning("could not invite %s to %s: %s", declarer, channel, why(exc))
        try:
            self.client.pins_add(channel=channel, timestamp=card_ts)
        except SLACK_FAILURES as exc:
            log.warning("could not pin the card of %s: %s", view.ref, why(exc))

    def candidate_names(self, view: IncidentView) -> list[str]:
        """``#inc-20261120-checkout-down``; when taken ``…-2`` to ``…-4``, then ``…-inc-17``
        (the incident's own reference: free unless someone made that channel by hand)."""
        name = channel_name(self.settings.channel_prefix, view.declared_at, view.title)
        suffixes = ["", "-2", "-3", "-4", "-" + channel_name_part(view.ref)]
        return [name[: 80 - len(suffix)].rstrip("-") + suffix for suffix in suffixes]

    def create(self, view: IncidentView) -> str:
        """A new channel for the incident, by the first of its free ``candidate_names``."""
        for candidate in self.candidate_names(view):
            try:
                return self.client.conversations_create(name=candidate)["channel"]["id"]
            except SlackApiError as exc:
                if exc.response.get("error") != "name_taken":
                    raise
        raise SlackApiError("no free channel name", {"ok": False, "error": "name_taken"})

    def join(self, channel: str) -> None:
        """Join a channel to post in it (a private one or a DM the bot may already be in)."""
        try:
            self.client.conversations_join(channel=channel)
        except SLACK_FAILURES as exc:  # a private channel or a DM: the bot may already be there
            log.info("could not join %s: %s", channel, why(exc))

    def refresh_card(self, view: IncidentView) -> None:
        """Show the incident as it now is, in place. A card that cannot be updated is logged."""
        if not view.channel_id or not view.card_ts:
            return
        try:
            self.client.chat_update(
                channel=view.channel_id,
                ts=view.card_ts,
                **incident_card(view, self.contracts).as_kwargs(),
            )
        except SLACK_FAILURES as exc:
            log.warning("could not update the card of %s: %s", view.ref, why(exc))

    def post(self, channel: str, message: Message, *, metadata: dict | None = None) -> str | None:
        """Post into a channel, joining it first if the bot is not in it yet."""
        extra = {"metadata": metadata} if metadata else {}
        try:
            return self.client.chat_postMessage(channel=channel, **extra, **message.as_kwargs())[
                "ts"
            ]
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
        self.join(channel)
        return self.client.chat_postMessage(channel=channel, **extra, **message.as_kwargs())["ts"]
