"""The workspace the fake Slack keeps: users, channels and direct messages, user groups,
messages (with threads, pins and reactions), views and files — small, and consistent the
way Slack is: the bot sees what a bot would see. Tests and the console seed it and read it
back; the Web API methods (``methods``) act on it."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


class SlackError(Exception):
    """An API error answered as ``{"ok": false, "error": ...}`` with HTTP 200."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class Conversation:
    id: str
    name: str | None
    created: int
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    members: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    topic: str = ""
    purpose: str = ""

    def find(self, ts: str | None) -> dict[str, Any]:
        for message in self.messages:
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")


class Workspace:
    """One Slack workspace, its bot user included.

    Private channels the bot is not in are invisible to it (``channel_not_found``), as in
    Slack. ``clock`` drives message timestamps only. Everything is guarded by one lock, which
    the Web API methods run under.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0LOOP",
        team_domain: str = "loopback",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "slabot",
        clock: Callable[[], float] = time.time,
    ):
        self.team_id, self.team_domain = team_id, team_domain
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
        self.clock = clock
        self._lock = threading.RLock()
        self._users: dict[str, dict[str, Any]] = {}
        self._conversations: dict[str, Conversation] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._counters: dict[str, int] = {}
        self._last_ts = 0
        self.add_user(bot_user_id, bot_name, is_bot=True)

    # --- seeding and reading it --------------------------------------------------------------

    def add_user(
        self,
        id: str,
        name: str,
        tz: str = "Europe/Copenhagen",
        is_bot: bool = False,
        real_name: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        real = real_name or name
        user = {
            "id": id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real,
            "tz": tz,
            "is_bot": is_bot,
            "deleted": False,
            "profile": {
                "real_name": real,
                "display_name": name,
                **({"email": email} if email else {}),
                **({"bot_id": self.bot_id} if id == self.bot_user_id else {}),
            },
        }
        with self._lock:
            self._users[id] = user
        return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        *,
        id: str | None = None,
        members: Iterable[str] = (),
        is_private: bool = False,
        is_archived: bool = False,
        bot_member: bool = False,
    ) -> str:
        """A channel that exists before the bot looks (the bot is not in it unless
        ``bot_member``). Returns its id."""
        with self._lock:
            if self._by_name(name) is not None:
                raise ValueError(f"a channel named {name!r} exists")
            conversation = Conversation(
                id=id or self._new_id("G" if is_private else "C"),
                name=name,
                created=int(self.clock()),
                creator=next(iter(members), self.bot_user_id),
                is_private=is_private,
                is_archived=is_archived,
                members=set(members) | ({self.bot_user_id} if bot_member else set()),
            )
            self._conversations[conversation.id] = conversation
            return conversation.id

    def add_usergroup(self, id: str, handle: str, users: Iterable[str]) -> None:
        with self._lock:
            self._usergroups[id] = {
                "id": id,
                "team_id": self.team_id,
                "handle": handle,
                "name": handle,
                "users": list(users),
            }

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """A message somebody else wrote (seeding a conversation). Returns its ts."""
        with self._lock:
            conversation = self._find(channel)
            if conversation is None:
                raise KeyError(f"no channel {channel!r}")
            message = self._append(conversation, {"text": text, "blocks": blocks}, user)
            if thread_ts:
                self._thread_reply(conversation, message, thread_ts)
            return message["ts"]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages in a channel as they are now (updates applied, deletions gone),
        thread replies included, oldest first. ``channel`` is an id, a name, or a user id
        (their DM with the bot)."""
        with self._lock:
            conversation = self._find(channel)
            return copy.deepcopy(conversation.messages) if conversation else []

    def metadata_payloads(self, event_type: str) -> list[tuple[str, dict[str, Any]]]:
        """``(channel id, event_payload)`` of every message now in the workspace whose
        metadata is of ``event_type``, oldest first in each channel: how a drill counts what
        was posted (a post answered too late for its sender is here too)."""
        with self._lock:
            return [
                (c.id, copy.deepcopy((m.get("metadata") or {}).get("event_payload") or {}))
                for c in self._conversations.values()
                for m in c.messages
                if (m.get("metadata") or {}).get("event_type") == event_type
            ]

    def channel(self, channel: str) -> dict[str, Any]:
        """The channel as ``conversations.info`` shows it to the bot, plus ``members``."""
        with self._lock:
            conversation = self._find(channel)
            if conversation is None:
                raise KeyError(f"no channel {channel!r}")
            return {**self._shape(conversation), "members": sorted(conversation.members)}

    def pins(self, channel: str) -> list[str]:
        """The ts of the pinned messages in a channel."""
        with self._lock:
            conversation = self._find(channel)
            return list(conversation.pins) if conversation else []

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, pushed, updated or published: view id → view as returned."""
        with self._lock:
            return copy.deepcopy(self._views)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """file id → {filename, title, bytes, channel_id, initial_comment, thread_ts};
        ``bytes`` is None until the upload step arrived."""
        with self._lock:
            return copy.deepcopy(self._files)

    # --- what the Web API methods share ------------------------------------------------------

    def _count(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def _new_id(self, prefix: str) -> str:
        taken = {*self._conversations, *self._views, *self._files, *self._users}
        while True:
            candidate = f"{prefix}{self._count(prefix):04d}"
            if candidate not in taken:
                return candidate

    def _next_ts(self) -> str:
        """Unique and increasing, from ``clock``: ``"1700000000.000100"``."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _by_name(self, name: str) -> Conversation | None:
        for conversation in self._conversations.values():
            if conversation.name == name:
                return conversation
        return None

    def _find(self, ref: str) -> Conversation | None:
        if ref in self._conversations:
            return self._conversations[ref]
        if ref in self._users:
            return self._im_with(ref, open_it=False)
        return self._by_name(ref.removeprefix("#"))

    def _im_with(self, user: str, *, open_it: bool) -> Conversation | None:
        for conversation in self._conversations.values():
            if conversation.is_im and conversation.members == {user, self.bot_user_id}:
                return conversation
        if not open_it:
            return None
        im = Conversation(
            id=self._new_id("D"),
            name=None,
            created=int(self.clock()),
            creator=self.bot_user_id,
            is_private=True,
            is_im=True,
            members={user, self.bot_user_id},
        )
        self._conversations[im.id] = im
        return im

    def _visible(self, ref: Any, *, open_im: bool = False) -> Conversation:
        """The conversation the bot can see, or ``channel_not_found`` as Slack says."""
        if not ref:
            raise SlackError("channel_not_found")
        ref = str(ref)
        if ref in self._users and ref not in self._conversations:
            conversation = self._im_with(ref, open_it=open_im)
        else:
            conversation = self._find(ref)
        if conversation is None:
            raise SlackError("channel_not_found")
        if conversation.is_private and self.bot_user_id not in conversation.members:
            raise SlackError("channel_not_found")
        return conversation

    def _shape(self, c: Conversation) -> dict[str, Any]:
        if c.is_im:
            (user,) = c.members - {self.bot_user_id} or {self.bot_user_id}
            return {"id": c.id, "created": c.created, "is_im": True, "is_org_shared": False,
                    "user": user, "is_user_deleted": False, "priority": 0}  # fmt: skip
        return {
            "id": c.id,
            "name": c.name,
            "name_normalized": c.name,
            "is_channel": not c.is_private and not c.is_mpim,
            "is_group": c.is_private and not c.is_mpim,
            "is_im": False,
            "is_mpim": c.is_mpim,
            "is_private": c.is_private,
            "is_archived": c.is_archived,
            "is_general": c.name == "general",
            "is_shared": False,
            "is_org_shared": False,
            "is_member": self.bot_user_id in c.members,
            "created": c.created,
            "creator": c.creator,
            "num_members": len(c.members),
            "topic": {"value": c.topic, "creator": "", "last_set": 0},
            "purpose": {"value": c.purpose, "creator": "", "last_set": 0},
        }

    def _append(
        self, conversation: Conversation, fields: dict[str, Any], user: str
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": self._next_ts(), "user": user}
        if user == self.bot_user_id:
            message.update(bot_id=self.bot_id, app_id="A0LOOP")
        message["text"] = fields.get("text") or ""
        for name in ("blocks", "attachments", "metadata", "files"):
            if fields.get(name):
                message[name] = fields[name]
        message["team"] = self.team_id
        conversation.messages.append(message)
        return message

    def _thread_reply(
        self, conversation: Conversation, message: dict[str, Any], thread_ts: str
    ) -> None:
        message["thread_ts"] = thread_ts
        for parent in conversation.messages:
            if parent["ts"] == thread_ts:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]

    def _user(self, user_id: Any) -> dict[str, Any]:
        user = self._users.get(str(user_id or ""))
        if user is None:
            raise SlackError("user_not_found")
        return user
