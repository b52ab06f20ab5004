"""The Web API methods the fake Slack answers — about thirty, each acting on the workspace
as Slack would and answering what Slack answers, errors included."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.slack.loopback.workspace import Conversation, SlackError, Workspace

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_MESSAGE_FIELDS = ("text", "blocks", "attachments", "metadata")

Method = Callable[[dict[str, Any]], dict[str, Any]]


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ids(value: Any) -> list[str]:
    """``"U1,U2"`` or ``["U1", "U2"]`` as a list (form bodies join lists with commas)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _offset(tz: str) -> tuple[int, str]:
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, tz
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


class WebApi(Workspace):
    """A workspace that answers Web API calls: ``method(name)`` is the implementation of
    one, which takes the call's parameters and returns the fields beside ``"ok": true``, or
    raises ``SlackError``. Each runs under the workspace's lock.

    ``chat_write_public`` lets the bot post into public channels it is not a member of,
    as Slack's ``chat:write.public`` scope does; without it such posts get
    ``not_in_channel``. ``base_url`` is where the workspace is served (upload URLs point
    there).
    """

    base_url: str

    def __init__(self, *, chat_write_public: bool = False, **workspace: Any):
        super().__init__(**workspace)
        self.chat_write_public = chat_write_public
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.create": self._conversations_create,
            "conversations.join": self._conversations_join,
            "conversations.invite": self._conversations_invite,
            "conversations.info": self._conversations_info,
            "conversations.archive": self._conversations_archive,
            "conversations.list": self._conversations_list,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.members": self._conversations_members,
            "pins.add": self._pins_add,
            "reactions.add": self._reactions_add,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.upload": self._files_upload,
        }

    def method(self, name: str) -> Method | None:
        return self._methods.get(name)

    def _may_post(self, conversation: Conversation) -> None:
        if conversation.is_archived:
            raise SlackError("is_archived")
        if self.bot_user_id in conversation.members:
            return
        if self.chat_write_public and not conversation.is_private:
            return
        raise SlackError("not_in_channel")

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("not_allowed_token_type")  # Socket Mode is not served here

    def _files_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("method_deprecated")  # retired by Slack; files_upload_v2 works

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"), open_im=True)
        if not any(p.get(name) for name in ("text", "blocks", "attachments", "markdown_text")):
            raise SlackError("no_text")
        self._may_post(conversation)
        fields = {**p, "text": p.get("text") or p.get("markdown_text")}
        message = self._append(conversation, fields, self.bot_user_id)
        if p.get("thread_ts"):
            self._thread_reply(conversation, message, str(p["thread_ts"]))
        return {"channel": conversation.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        self._user(p.get("user"))
        if not any(p.get(name) for name in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        if conversation.is_archived:
            raise SlackError("is_archived")
        return {"message_ts": self._next_ts()}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        message = conversation.find(p.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_update_message")
        if conversation.is_archived:
            raise SlackError("is_archived")
        for name in _MESSAGE_FIELDS:  # Slack keeps what an update leaves out
            if name in p:
                message[name] = p[name]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": conversation.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        message = conversation.find(p.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_delete_message")
        conversation.messages.remove(message)
        if message["ts"] in conversation.pins:
            conversation.pins.remove(message["ts"])
        return {"channel": conversation.id, "ts": message["ts"]}

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        message = conversation.find(p.get("message_ts"))
        link = (
            f"https://{self.team_domain}.slack.com/archives/{conversation.id}/"
            f"p{message['ts'].replace('.', '')}"
        )
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={conversation.id}"
        return {"channel": conversation.id, "permalink": link}

    def _conversations_create(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name") or "")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME.fullmatch(name):
            raise SlackError("invalid_name_specials")  # upper case included, as in Slack
        if not re.search(r"[a-z0-9]", name):
            raise SlackError("invalid_name_punctuation")
        if self._by_name(name) is not None:
            raise SlackError("name_taken")
        private = _flag(p.get("is_private"))
        conversation = Conversation(
            id=self._new_id("G" if private else "C"),
            name=name,
            created=int(self.clock()),
            creator=self.bot_user_id,
            is_private=private,
            members={self.bot_user_id},
        )
        self._conversations[conversation.id] = conversation
        return {"channel": self._shape(conversation)}

    def _conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        if conversation.is_im or conversation.is_mpim or conversation.is_private:
            raise SlackError("method_not_supported_for_channel_type")
        if conversation.is_archived:
            raise SlackError("is_archived")
        already = self.bot_user_id in conversation.members
        conversation.members.add(self.bot_user_id)
        answer: dict[str, Any] = {"channel": self._shape(conversation)}
        if already:
            answer.update(warning="already_in_channel", response_metadata={
                "warnings": ["already_in_channel"]})  # fmt: skip
        return answer

    def _conversations_invite(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        if conversation.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if conversation.is_archived:
            raise SlackError("is_archived")
        if self.bot_user_id not in conversation.members:
            raise SlackError("not_in_channel")
        users = _ids(p.get("users"))
        if not users:
            raise SlackError("no_user")
        for user in users:
            self._user(user)
            if user == self.bot_user_id:
                raise SlackError("cant_invite_self")
            if user in conversation.members:
                raise SlackError("already_in_channel")
        conversation.members.update(users)
        return {"channel": self._shape(conversation)}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        return {"channel": self._shape(conversation)}

    def _conversations_archive(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        if conversation.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if conversation.is_archived:
            raise SlackError("already_archived")
        if self.bot_user_id not in conversation.members:
            raise SlackError("not_in_channel")
        conversation.is_archived = True
        return {}

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        types = set(_ids(p.get("types"))) or {"public_channel"}
        exclude_archived = _flag(p.get("exclude_archived"))
        channels = []
        for c in self._conversations.values():
            kind = (
                "im" if c.is_im else "mpim" if c.is_mpim
                else "private_channel" if c.is_private else "public_channel"
            )  # fmt: skip
            if kind not in types or (exclude_archived and c.is_archived):
                continue
            if c.is_private and self.bot_user_id not in c.members:
                continue
            channels.append(self._shape(c))
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            conversation = self._visible(p["channel"])
            return {"channel": self._shape(conversation)}
        users = [u for u in _ids(p.get("users")) if u != self.bot_user_id]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user in users:
            self._user(user)
        if len(users) == 1:
            existing = self._im_with(users[0], open_it=False)
            conversation = existing or self._im_with(users[0], open_it=True)
            assert conversation is not None
            shaped = self._shape(conversation) if _flag(p.get("return_im")) else {
                "id": conversation.id}  # fmt: skip
            return {"no_op": existing is not None, "already_open": existing is not None,
                    "channel": shaped}  # fmt: skip
        members = {*users, self.bot_user_id}
        for c in self._conversations.values():
            if c.is_mpim and c.members == members:
                return {"channel": self._shape(c), "already_open": True}
        mpim = Conversation(
            id=self._new_id("G"),
            name="mpdm-" + "--".join(sorted(self._users[u]["name"] for u in members)) + "-1",
            created=int(self.clock()),
            creator=self.bot_user_id,
            is_private=True,
            is_mpim=True,
            members=members,
        )
        self._conversations[mpim.id] = mpim
        return {"channel": self._shape(mpim)}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Newest first, at most ``limit`` (Slack's default 100, at most 999) between
        ``oldest`` and ``latest`` (exclusive unless ``inclusive``); metadata only with
        ``include_all_metadata``, as Slack does."""
        conversation = self._visible(p.get("channel"))
        if self.bot_user_id not in conversation.members:
            raise SlackError("not_in_channel")
        oldest, latest = float(p.get("oldest") or 0), float(p.get("latest") or "inf")
        inclusive = _flag(p.get("inclusive"))

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [
            m
            for m in reversed(conversation.messages)
            if m.get("thread_ts", m["ts"]) == m["ts"] and within(float(m["ts"]))
        ]
        limit = max(1, min(int(p.get("limit") or 100), 999))
        shown = copy.deepcopy(found[:limit])
        if not _flag(p.get("include_all_metadata")):
            for message in shown:
                message.pop("metadata", None)
        return {"messages": shown, "has_more": len(found) > limit}

    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        return {
            "members": sorted(conversation.members),
            "response_metadata": {"next_cursor": ""},
        }

    def _pins_add(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        if self.bot_user_id not in conversation.members:
            raise SlackError("not_in_channel")
        message = conversation.find(p.get("timestamp"))
        if message["ts"] in conversation.pins:
            raise SlackError("already_pinned")
        conversation.pins.append(message["ts"])
        message["pinned_to"] = [conversation.id]
        return {}

    def _reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible(p.get("channel"))
        name = str(p.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        message = conversation.find(p.get("timestamp"))
        reactions = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = copy.deepcopy(self._user(p.get("user")))
        user["tz_offset"], user["tz_label"] = _offset(user["tz"])
        return {"user": user}

    def _usergroups_list(self, p: dict[str, Any]) -> dict[str, Any]:
        groups = copy.deepcopy(list(self._usergroups.values()))
        if not _flag(p.get("include_users")):
            for group in groups:
                group.pop("users")
        return {"usergroups": groups}

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroups.get(str(p.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    def _new_view(
        self, p: dict[str, Any], *, view_id: str | None = None, root: str | None = None
    ) -> dict[str, Any]:
        requested = p.get("view")
        if not isinstance(requested, dict) or not requested.get("type"):
            raise SlackError("invalid_arguments")
        external_id = requested.get("external_id") or ""
        if external_id and any(
            v["external_id"] == external_id and v["id"] != view_id for v in self._views.values()
        ):
            raise SlackError("duplicate_external_id")
        ident = view_id or self._new_id("V")
        view = {
            **copy.deepcopy(requested),
            "id": ident,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{self._count('hash'):08d}",
            "private_metadata": requested.get("private_metadata", ""),
            "callback_id": requested.get("callback_id", ""),
            "external_id": external_id,
            "root_view_id": root or ident,
            "previous_view_id": None,
            "app_id": "A0LOOP",
            "bot_id": self.bot_id,
        }
        self._views[ident] = view
        return view

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not (p.get("trigger_id") or p.get("interactivity_pointer")):
            raise SlackError("invalid_arguments")
        return {"view": copy.deepcopy(self._new_view(p))}

    def _views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(p)

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        current = self._views.get(str(p.get("view_id") or ""))
        if current is None and p.get("external_id"):
            matches = [v for v in self._views.values() if v["external_id"] == p["external_id"]]
            current = matches[0] if matches else None
        if current is None:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._new_view(p, view_id=current["id"], root=current["root_view_id"])
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user_id") or "")
        if not user:
            raise SlackError("invalid_arguments")
        current = self._views.get(self._home_views.get(user, ""))
        if current and p.get("hash") and p["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._new_view(p, view_id=current["id"] if current else None)
        self._home_views[user] = view["id"]
        return {"view": copy.deepcopy(view)}

    def _files_get_upload_url_external(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length") or "").isdigit():
            raise SlackError("invalid_arguments")
        file_id = self._new_id("F")
        self._files[file_id] = {
            "filename": p["filename"],
            "title": None,
            "bytes": None,
            "channel_id": None,
            "initial_comment": None,
            "thread_ts": None,
        }
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        for entry in entries:
            file = self._files.get(str(entry.get("id") or ""))
            if file is None or file["bytes"] is None:
                raise SlackError("file_not_found")
        targets = _ids(p.get("channel_id")) + _ids(p.get("channels"))
        conversations = [self._visible(target, open_im=True) for target in targets]
        for conversation in conversations:
            self._may_post(conversation)
        shared = []
        for entry in entries:
            file = self._files[entry["id"]]
            file.update(
                title=entry.get("title") or file["filename"],
                channel_id=conversations[0].id if conversations else None,
                initial_comment=p.get("initial_comment"),
                thread_ts=p.get("thread_ts"),
            )
            shared.append({
                "id": entry["id"],
                "name": file["filename"],
                "title": file["title"],
                "size": len(file["bytes"]),
                "user": self.bot_user_id,
                "channels": [c.id for c in conversations if not c.is_private],
                "groups": [c.id for c in conversations if c.is_private and not c.is_im],
                "ims": [c.id for c in conversations if c.is_im],
            })  # fmt: skip
        for conversation in conversations:
            fields = {"text": p.get("initial_comment"), "files": copy.deepcopy(shared)}
            message = self._append(conversation, fields, self.bot_user_id)
            message["upload"] = True
            if p.get("thread_ts"):
                self._thread_reply(conversation, message, str(p["thread_ts"]))
        return {"files": shared}
