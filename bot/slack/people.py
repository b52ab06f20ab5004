"""Who people are in Slack: their time zone and the user groups they belong to (cached)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from slack_sdk import WebClient

from bot.slack.channels import SLACK_FAILURES

log = logging.getLogger(__name__)
T = TypeVar("T")


class Directory:
    """Looks people up through the Web API and remembers the answers for ``ttl`` seconds."""

    def __init__(self, client: WebClient, ttl: float = 300.0):
        self.client, self.ttl = client, ttl
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, str], load: Callable[[], T], fallback: T) -> T:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]  # type: ignore[return-value]
        try:
            value = load()
        except SLACK_FAILURES as exc:
            log.warning("Slack lookup %s failed: %s", key, exc)
            return fallback
        with self._lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def zone(self, user_id: str) -> str:
        """The person's IANA zone from their Slack profile (UTC when Slack does not say)."""

        def load() -> str:
            return self.client.users_info(user=user_id)["user"].get("tz") or "UTC"

        return self._cached(("zone", user_id), load, "UTC")

    def group_members(self, group_id: str) -> frozenset[str]:
        def load() -> frozenset[str]:
            return frozenset(self.client.usergroups_users_list(usergroup=group_id)["users"])

        return self._cached(("group", group_id), load, frozenset())

    def is_in(self, user_id: str, entries: list[str]) -> bool:
        """``user_id`` is listed itself or belongs to a listed user group (``S…``)."""
        if user_id in entries:
            return True
        return any(e.startswith("S") and user_id in self.group_members(e) for e in entries)
