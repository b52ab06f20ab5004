"""User text in and out of Slack: stored decoded, escaped every time it enters mrkdwn."""

from __future__ import annotations

import datetime as dt
import re

from bot.text import format_local

_DECODE = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def decode(text: str) -> str:
    """What the person typed: Slack sends ``&``, ``<`` and ``>`` as entities in command text."""
    for entity, char in _DECODE:
        text = text.replace(entity, char)
    return text


def escape(text: str) -> str:
    """Text safe inside mrkdwn: ``<!channel>`` stays words and never pings anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters (Slack refuses longer fields), marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def date(instant: dt.datetime, zone: str, tokens: str = "{date_short_pretty} {time}") -> str:
    """An instant every reader sees in their own zone; the fallback is in ``zone``."""
    return f"<!date^{int(instant.timestamp())}^{tokens}|{format_local(instant, zone)}>"


def due(instant: dt.datetime, zone: str) -> str:
    """``Today 14:35 (in 25 minutes)`` in the reader's zone."""
    return date(instant, zone, "{date_short_pretty} {time} ({ago})")


_DATE_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")


def plain(text: str) -> str:
    """mrkdwn as a notification shows it best: dates as their fallback, no bold markers."""
    return _DATE_TOKEN.sub(r"\1", text).replace("*", "")


def is_user_id(entry: str) -> bool:
    """A Slack user id (``U…``, or ``W…`` on Enterprise Grid), not a channel or a group."""
    return entry[:1] in ("U", "W")


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id and is_user_id(user_id) else escape(user_id or "someone")


def channel(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "no channel"
