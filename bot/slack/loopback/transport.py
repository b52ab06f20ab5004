"""The fake Slack's HTTP side: a threaded server on 127.0.0.1 that turns each request into a
``Request`` (Web API method or response URL or upload, token, parameters decoded as
slack_sdk sends them) and writes back the ``Answer`` it is given. Standard library only."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.slack.loopback.calls import RESPONSE_URL, UPLOAD_URL

log = logging.getLogger(__name__)

JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "users", "metadata", "unfurls", "user_auth_blocks"}
)
"""Form fields that slack_sdk sends as JSON strings; they are recorded decoded."""


@dataclass
class Request:
    """One request, read: ``method`` is the Web API method (``/api/<method>``),
    ``RESPONSE_URL`` (``/response/<target>``), ``UPLOAD_URL`` (``/upload/<target>``), or
    else the path."""

    method: str
    target: str | None
    params: dict[str, Any]
    raw: bytes
    token: str | None
    arrived: float
    headers: dict[str, str] = field(default_factory=dict)
    """The request's headers (the paging stand-ins read ``Authorization`` and ``Content-Type``)."""


@dataclass(frozen=True)
class Answer:
    status: int
    payload: Any
    """JSON, or text."""
    headers: dict[str, str] = field(default_factory=dict)


Serve = Callable[[Request], Answer | None]
"""Answers one request; ``None`` drops the connection without an answer."""


class HttpServer:
    """``serve`` on 127.0.0.1 (port 0: any free port), one thread per connection."""

    def __init__(self, serve: Serve, host: str = "127.0.0.1", port: int = 0):
        self.serve = serve
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self._address, self.serve)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-slack:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_open_sockets()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LoopbackSlack is not started")
        return self._server.server_address[1]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled: every connection accepted has had its
        request answered (or dropped). ``False`` if one is still busy after ``timeout``."""
        if self._server is None:
            return True
        return self._server.wait_idle(timeout)


class _Server(ThreadingHTTPServer):
    """Threaded, quiet, and able to cut keep-alive connections on stop. A connection is busy
    from its acceptance until its request is answered; ``wait_idle`` waits for none to be."""

    daemon_threads = True
    request_queue_size = socket.SOMAXCONN  # as many as the system allows
    """The listen backlog. socketserver's default of 5 overflows when a few clients connect
    while the accepting thread waits for the CPU (a busy machine, a worker posting with
    several threads): Linux then drops their handshakes or answers with SYN cookies, and a
    cookie that fails later resets the connection ("Connection reset by peer")."""

    def __init__(self, address: tuple[str, int], serve: Serve):
        self.serve = serve
        self.open_sockets: set[socket.socket] = set()
        self.busy: set[socket.socket] = set()
        self.sockets_lock = threading.Condition()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
            self.busy.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
            self.busy.discard(request)
            self.sockets_lock.notify_all()
        super().shutdown_request(request)

    def mark(self, connection: socket.socket, busy: bool) -> None:
        with self.sockets_lock:
            if busy:
                self.busy.add(connection)
            else:
                self.busy.discard(connection)
                self.sockets_lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.sockets_lock:
            return self.sockets_lock.wait_for(lambda: not self.busy, timeout)

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
        self.server.mark(self.connection, busy=True)  # again, for a keep-alive connection
        try:
            answer = self.server.serve(self.read())
            if answer is None:
                self.close_connection = True
                return
            try:
                self.answer(answer)
            except OSError:  # the client gave up (its timeout): nothing to tell it
                self.close_connection = True
        finally:
            self.server.mark(self.connection, busy=False)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read(self) -> Request:
        arrived = time.time()
        parts = urlsplit(self.path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self.read_body()
        path = parts.path
        if path.startswith("/api/"):
            method, target = path.removeprefix("/api/"), None
            params.update(decode(raw, self.headers.get("Content-Type", "")))
        elif path.startswith("/response/"):
            method, target = RESPONSE_URL, path.removeprefix("/response/")
            params.update(decode(raw, "application/json"))
        elif path.startswith("/upload/"):
            method, target = UPLOAD_URL, path.removeprefix("/upload/")
            params["length"] = len(raw)
        else:
            method, target = path, None

        token: str | None = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
            params.pop("token", None)
        elif "token" in params:
            token = str(params.pop("token"))
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Request(method, target, params, raw, token, arrived, headers)

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

    def answer(self, answer: Answer) -> None:
        if isinstance(answer.payload, str):
            body, kind = answer.payload.encode(), "text/plain; charset=utf-8"
        else:
            body, kind = json.dumps(answer.payload).encode(), "application/json; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def decode(raw: bytes, content_type: str) -> dict[str, Any]:
    """A request body as parameters: JSON, or a form whose ``JSON_FIELDS`` are decoded."""
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
