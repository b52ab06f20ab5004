"""Reading the fields slabot needs from Slack's payloads: a signed payload without one is
refused in words (``MissingField``; bot/slack/app.py answers it), never a 500."""

from __future__ import annotations

from typing import Any


class MissingField(Exception):
    """A signed Slack payload lacks a field slabot needs; nothing was done."""

    def __init__(self, path: str):
        super().__init__(f"Slack's request has no {path}")
        self.path = path


def field(payload: Any, *path: str | int) -> Any:
    """``payload[path[0]][path[1]]…`` (a number indexes a list), a present, non-empty value,
    or ``MissingField`` naming the path."""
    value = payload
    for key in path:
        if isinstance(key, int):
            value = (
                value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
            )
        else:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or value == "":
            raise MissingField(".".join(map(str, path)))
    return value
