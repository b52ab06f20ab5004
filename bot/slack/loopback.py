"""A Slack Web API on localhost: the tests' fake Slack and the workspace of ``slabot console``.

The real ``slack_sdk`` ``WebClient`` (and Bolt's ``App``, ``respond()`` and
``files_upload_v2``) talk to it through ``base_url=slack.api_url``. It keeps a small,
consistent workspace (users, channels, user groups, messages, pins, views, files), answers
the way Slack does (``{"ok": false, "error": ...}`` with HTTP 200 for API errors), records
every call, and can be scripted to fail: 429 with Retry-After, 5xx, API errors, slowness
and dropped connections.

    with LoopbackSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        slack.add_channel("general", bot_member=True)
        client.chat_postMessage(channel="general", text="hello")
        assert slack.messages("general")[0]["text"] == "hello"

Standard library only, so the console can use it without test dependencies.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "users", "metadata", "unfurls", "user_auth_blocks"}
)
"""Form fields that slack_sdk sends as JSON strings; they are recorded decoded."""

RESPONSE_URL = "response_url"
"""The ``Call.method`` of a post to a URL made by :meth:`LoopbackSlack.response_url`."""
UPLOAD_URL = "upload_url"
"""The ``Call.method`` of the upload step of ``files_upload_v2`` (the bytes themselves)."""

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_MESSAGE_FIELDS = ("text", "blocks", "attachments", "metadata")


@dataclass(frozen=True)
class Reply:
    """A scripted answer. ``delay`` is slept first; then the connection is dropped
    (``drop``), or answered with ``status``/``error``/``body``, or — when none of those is
    set — handled normally (slowness). A 429 gets ``Retry-After: 1`` unless ``headers``
    says otherwise; slack_sdk parses it with ``int()``, so give whole seconds."""

    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    body: dict[str, Any] | str | None = None
    """The answer as it is: JSON, or text (a proxy's HTML error page)."""

    @property
    def answers(self) -> bool:
        """This reply replaces the normal answer (rather than only slowing it down)."""
        return self.status != 200 or self.error is not None or self.body is not None

    def payload(self) -> dict[str, Any] | str:
        if self.body is not None:
            return self.body
        if self.error is not None:
            return {"ok": False, "error": self.error}
        if self.status == 429:
            return {"ok": False, "error": "ratelimited"}
        return {"ok": False, "error": "internal_error" if self.status >= 500 else "request_failed"}

    def response_headers(self) -> dict[str, str]:
        if self.status == 429 and not any(k.lower() == "retry-after" for k in self.headers):
            return {"Retry-After": "1", **self.headers}
        return dict(self.headers)


FAULTS = ("rate_limited", "server_error", "slow", "timeout", "dropped")


class Storm:
    """Random faults for a reliability drill: each Web API call (or only ``methods``, and
    never those in ``spare``) is, with these probabilities, answered

    - ``rate_limited``: 429 with ``Retry-After: retry_after`` (nothing done);
    - ``server_error``: 500, 503, or 502 with an HTML page as a proxy sends it (nothing done);
    - ``slow``: normally, after a delay drawn from ``slow_delay`` seconds;
    - ``timeout``: normally — the work is done — but only after ``timeout_delay`` seconds,
      when a client with a shorter timeout has given up: a post its sender never heard of;
    - ``dropped``: not at all, the connection closed before anything was done.

    ``counts`` says how many of each were injected. Seeded, so a drill can be replayed.
    """

    def __init__(
        self,
        *,
        rate_limited: float = 0.0,
        server_error: float = 0.0,
        slow: float = 0.0,
        timeout: float = 0.0,
        dropped: float = 0.0,
        retry_after: int = 1,
        slow_delay: tuple[float, float] = (0.2, 1.0),
        timeout_delay: float = 6.0,
        methods: Iterable[str] | None = None,
        spare: Iterable[str] = (),
        seed: int | None = None,
    ):
        self.rates = {
            "rate_limited": rate_limited, "server_error": server_error, "slow": slow,
            "timeout": timeout, "dropped": dropped,
        }  # fmt: skip
        if sum(self.rates.values()) > 1:
            raise ValueError("the fault rates add up to more than 1")
        self.retry_after = retry_after
        self.slow_delay, self.timeout_delay = slow_delay, timeout_delay
        self.methods = frozenset(methods) if methods is not None else None
        self.spare = frozenset(spare)
        self.counts: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, method: str) -> Reply | None:
        if method in (RESPONSE_URL, UPLOAD_URL) and self.methods is None:
            return None  # response URLs and uploads are other hosts than the Web API
        if method in self.spare or (self.methods is not None and method not in self.methods):
            return None
        with self._lock:
            roll, chosen = self._random.random(), None
            for kind, rate in self.rates.items():
                if roll < rate:
                    chosen = kind
                    break
                roll -= rate
            if chosen is None:
                return None
            self.counts[chosen] += 1
            which = self._random.random()
            delay = self._random.uniform(*self.slow_delay)
        if chosen == "rate_limited":
            return Reply(status=429, headers={"Retry-After": str(self.retry_after)})
        if chosen == "server_error":
            if which < 1 / 3:
                html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
                return Reply(status=502, body=html)
            return Reply(status=500 if which < 2 / 3 else 503)
        if chosen == "slow":
            return Reply(delay=delay)
        if chosen == "timeout":
            return Reply(delay=self.timeout_delay)
        return Reply(drop=True)


@dataclass
class Call:
    """One request as the server saw it.

    ``params`` merges the query string, form fields and JSON body (form values stay the
    strings slack_sdk sent: booleans arrive as ``"1"``/``"0"``, numbers as text; the
    JSON-string fields in ``JSON_FIELDS`` are decoded). ``status`` is the HTTP status
    answered, 0 for a dropped connection. ``target`` is the response URL's id or the
    uploaded file's id for those two kinds of call.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int
    response: Any = None
    target: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and (
            not isinstance(self.response, dict) or bool(self.response.get("ok", True))
        )

    def summary(self) -> str:
        """``chat.postMessage(channel='C0001', text='hi') -> 200 ok`` (for failure messages)."""
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        outcome = "ok" if self.ok else _error_of(self.response) or "failed"
        return f"{self.method}({shown}) -> {self.status} {outcome}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_of(response: Any) -> str | None:
    return response.get("error") if isinstance(response, dict) else None


class SlackError(Exception):
    """An API error answered as ``{"ok": false, "error": ...}`` with HTTP 200."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class _Conversation:
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


class _Server(ThreadingHTTPServer):
    """Threaded, quiet, and able to cut keep-alive connections on stop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], slack: LoopbackSlack):
        self.slack = slack
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("loopback connection from %s ended badly", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive for aiohttp and friends; urllib closes anyway
    timeout = 10  # an idle keep-alive connection is closed after this

    def do_POST(self) -> None:
        self.server.slack._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, str):
            body, kind = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, kind = json.dumps(payload).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class LoopbackSlack:
    """A Slack workspace and Web API server on 127.0.0.1 (see the module docstring).

    ``chat_write_public`` lets the bot post into public channels it is not a member of,
    as Slack's ``chat:write.public`` scope does; without it such posts get
    ``not_in_channel``. Private channels the bot is not in are invisible to it
    (``channel_not_found``), as in Slack. ``clock`` drives message timestamps only.
    """

    def __init__(
        self,
        *,
        expected_token: str | None = None,
        chat_write_public: bool = False,
        team_id: str = "T0LOOP",
        team_domain: str = "loopback",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "slabot",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.expected_token = expected_token
        self.chat_write_public = chat_write_public
        self.team_id, self.team_domain = team_id, team_domain
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
        self.clock = clock
        self.on_call: Callable[[Call], None] | None = None
        """Called with each Call after it is recorded, before the client gets its answer."""
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._always: dict[str, Reply] = {}
        self._storm: Callable[[str], Reply | None] | None = None
        self._users: dict[str, dict[str, Any]] = {}
        self._conversations: dict[str, _Conversation] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._response_urls: set[str] = set()
        self._counters: dict[str, int] = {}
        self._last_ts = 0
        self._methods: dict[str, Handler] = {
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
        self.add_user(bot_user_id, bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-slack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes scripted delays
        server.shutdown()
        server.close_open_sockets()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LoopbackSlack is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``WebClient`` / ``SLACK_API_URL`` (trailing slash matters:
        slack_sdk joins method names with ``urljoin``)."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, in the order they were answered."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` (matching ``where``) have been
        recorded since the last reset; return all such calls. Raise AssertionError naming
        what did arrive when ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            arrived = list(self._calls)
        condition = " matching `where`" if where else ""
        lines = [c.summary() for c in arrived[-20:]] or ["(no calls at all)"]
        if len(arrived) > 20:
            lines.insert(0, f"… {len(arrived) - 20} earlier calls")
        raise AssertionError(
            f"waited {timeout:g}s for {count} {method} call(s){condition}, got {len(found)}; "
            "calls received:\n  " + "\n  ".join(lines)
        )

    def reset(self) -> None:
        """Forget the recorded calls (the workspace and the scripts stay)."""
        with self._lock:
            self._calls.clear()

    # ------------------------------------------------------------------ fault scripts

    def script(self, method: str, *replies: Reply) -> None:
        """Answer the next calls to ``method`` with ``replies``, in order, once each.
        ``method`` may be ``"*"`` for any call, ``RESPONSE_URL`` or ``UPLOAD_URL``."""
        with self._lock:
            self._scripts.setdefault(method, deque()).extend(replies)

    def fail_always(self, method: str, reply: Reply) -> None:
        """Answer every call to ``method`` with ``reply`` once its script is used up."""
        with self._lock:
            self._always[method] = reply

    def clear_script(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._always.clear()

    def storm(self, faults: Callable[[str], Reply | None] | None) -> None:
        """Ask ``faults`` (a ``Storm``, say) how to answer each call that neither a script
        nor ``fail_always`` answers; ``None`` ends the storm."""
        with self._lock:
            self._storm = faults

    def _next_reply(self, method: str) -> Reply | None:
        with self._lock:
            for key in (method, "*"):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
            scripted = self._always.get(method) or self._always.get("*")
            storm = self._storm
        if scripted is None and storm is not None:
            return storm(method)
        return scripted

    # ------------------------------------------------------------------ workspace

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
            conversation = _Conversation(
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

    def response_url(self, name: str | None = None) -> str:
        """A URL on this server to put in a command or action payload as its
        ``response_url``; posts there are recorded as ``RESPONSE_URL`` calls whose
        ``target`` is the id (``name`` when free)."""
        with self._lock:
            ident = name if name and name not in self._response_urls else None
            while ident is None or ident in self._response_urls:
                ident = f"{name or 'response'}-{self._count('response')}"
            self._response_urls.add(ident)
        return f"{self.base_url}/response/{ident}"

    # ------------------------------------------------------------------ internals

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

    def _by_name(self, name: str) -> _Conversation | None:
        for conversation in self._conversations.values():
            if conversation.name == name:
                return conversation
        return None

    def _find(self, ref: str) -> _Conversation | None:
        if ref in self._conversations:
            return self._conversations[ref]
        if ref in self._users:
            return self._im_with(ref, open_it=False)
        return self._by_name(ref.removeprefix("#"))

    def _im_with(self, user: str, *, open_it: bool) -> _Conversation | None:
        for conversation in self._conversations.values():
            if conversation.is_im and conversation.members == {user, self.bot_user_id}:
                return conversation
        if not open_it:
            return None
        im = _Conversation(
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

    def _visible(self, ref: Any, *, open_im: bool = False) -> _Conversation:
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

    def _may_post(self, conversation: _Conversation) -> None:
        if conversation.is_archived:
            raise SlackError("is_archived")
        if self.bot_user_id in conversation.members:
            return
        if self.chat_write_public and not conversation.is_private:
            return
        raise SlackError("not_in_channel")

    def _shape(self, c: _Conversation) -> dict[str, Any]:
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
        self, conversation: _Conversation, fields: dict[str, Any], user: str
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
        self, conversation: _Conversation, message: dict[str, Any], thread_ts: str
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

    # ------------------------------------------------------------------ HTTP

    def _serve(self, handler: _Handler) -> None:
        arrived = time.time()
        parts = urlsplit(handler.path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = handler.read_body()
        path = parts.path
        if path.startswith("/api/"):
            method, target = path.removeprefix("/api/"), None
            params.update(self._decode(raw, handler.headers.get("Content-Type", "")))
        elif path.startswith("/response/"):
            method, target = RESPONSE_URL, path.removeprefix("/response/")
            params.update(self._decode(raw, "application/json"))
        elif path.startswith("/upload/"):
            method, target = UPLOAD_URL, path.removeprefix("/upload/")
            params["length"] = len(raw)
        else:
            method, target = path, None

        token: str | None = None
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
            params.pop("token", None)
        elif "token" in params:
            token = str(params.pop("token"))

        reply = self._next_reply(method)
        if reply and reply.delay > 0:
            self._stopping.wait(reply.delay)
        if reply and (reply.drop or (reply.delay > 0 and self._stopping.is_set())):
            self._record(Call(method, params, token, arrived, 0, None, target))
            handler.close_connection = True
            return

        headers: dict[str, str] = {}
        if reply and reply.answers:
            status, payload, headers = reply.status, reply.payload(), reply.response_headers()
        else:
            status, payload = self._answer(method, target, params, raw, token)
        self._record(Call(method, params, token, arrived, status, payload, target))
        try:
            handler.answer(status, payload, headers)
        except OSError:  # the client gave up (its timeout): nothing to tell it
            handler.close_connection = True

    @staticmethod
    def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
        if not raw:
            return {}
        text = raw.decode("utf-8", "replace")
        if "json" in content_type:
            try:
                body = json.loads(text)
            except ValueError:
                return {"_raw": text}
            return body if isinstance(body, dict) else {"_body": body}
        if "x-www-form-urlencoded" not in content_type:
            return {}  # multipart (legacy files.upload, users.setPhoto): not interpreted
        params: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
        for name in JSON_FIELDS & params.keys():
            value = params[name]
            if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[name] = json.loads(value)
        return params

    def _answer(
        self, method: str, target: str | None, params: dict[str, Any], raw: bytes, token: str | None
    ) -> tuple[int, Any]:
        with self._lock:
            if method == RESPONSE_URL:
                return (200, "ok") if target in self._response_urls else (404, "expired_url")
            if method == UPLOAD_URL:
                file = self._files.get(target or "")
                if file is None:
                    return 404, "file_not_found"
                file["bytes"] = raw
                return 200, f"OK - {len(raw)}"
            implementation = self._methods.get(method)
            if implementation is None:
                return (200, {"ok": False, "error": "unknown_method"}) if method else (404, "")
            if self.expected_token is not None and token != self.expected_token:
                return 200, {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
            try:
                return 200, {"ok": True, **implementation(params)}
            except SlackError as exc:
                return 200, {"ok": False, "error": exc.error, **exc.extra}
            except Exception:  # a bug here must not look like Slack's answer
                log.exception("loopback Slack failed on %s", method)
                return 500, {"ok": False, "error": "loopback_internal_error"}

    def _record(self, call: Call) -> None:
        with self._arrived:
            self._calls.append(call)
            self._arrived.notify_all()
        callback = self.on_call
        if callback is not None:
            try:
                callback(call)
            except Exception:
                log.exception("loopback Slack on_call failed")

    # ------------------------------------------------------------------ Web API methods
    # Each runs under the lock, returns the fields beside "ok": true, or raises SlackError.

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
        conversation = _Conversation(
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
        mpim = _Conversation(
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
