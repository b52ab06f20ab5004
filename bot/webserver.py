"""The HTTP server of ``slabot serve`` and ``slabot run --http``: waitress, guarded against
clients that hold connections without finishing a request.

Waitress alone keeps 100 connections, closes one only after 120 s *without a byte*, and
serves nothing else while they are taken: 110 clients trickling a byte every 2 s took
``slabot serve`` down for as long as they stayed. Here:

- a request must arrive whole within ``REQUEST_DEADLINE`` seconds of its first byte (of the
  connection, for its first request), or its connection is closed — trickling buys nothing;
- one client address holds at most ``PER_CLIENT`` connections; more are closed on accept;
- ``CONNECTIONS`` connections in all (poll, not select, so past 1,024 descriptors);
- a body is refused (413) as soon as its ``Content-Length`` is over ``web.BODY_LIMIT``, or a
  chunked body grows past it, before the rest is read;
- the server's own refusals (413, 400, 431) are written to ``web.refusals`` like the app's.

What a reverse proxy in front must still do: docs/operations.md, "Behind a proxy".
Why waitress and these guards rather than another server: docs/decisions.md, "The edge".
"""

from __future__ import annotations

import time

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask

from bot import web

REQUEST_DEADLINE = 10.0
"""Seconds from a request's first byte to its last (Slack gives up on an answer after 3)."""
PER_CLIENT = 100
"""Connections one client address may hold at once."""
CONNECTIONS = 1000
"""Connections the server holds at once."""
IDLE_TIMEOUT = 120
"""Seconds an idle keep-alive connection stays open (waitress's default: longer than the
60 s a proxy keeps its idle connections, so the proxy is the one to close them)."""


class GuardedErrorTask(ErrorTask):
    """Waitress's answer to a request it refuses itself, written to the refusal log too."""

    def execute(self) -> None:
        request, error = self.request, self.request.error
        client = self.channel.addr[0] if self.channel.addr else "?"
        what = web.describe(
            {"REQUEST_METHOD": request.command or "?", "PATH_INFO": request.path or "/",
             "REMOTE_ADDR": client},
            request.content_length or None,
        )  # fmt: skip
        if error.code == 413:
            reason = f"the body is over {self.channel.adj.max_request_body_size - 1:,} bytes"
        else:
            reason = f"{error.reason.lower()}: {error.body}"
        web.refusals.refused(what, error.code, reason)
        super().execute()


class StampedTask(WSGITask):
    """A request's task whose environ says when the request arrived (``web.ARRIVED``)."""

    def get_environment(self) -> dict:
        environ = super().get_environment()
        environ[web.ARRIVED] = getattr(self.request, "arrived", None) or time.monotonic()
        return environ


class GuardedChannel(HTTPChannel):
    """A connection that knows since when it has been receiving an unfinished request, and
    stamps each request with when it arrived whole (before it waits for a thread)."""

    error_task_class = GuardedErrorTask
    task_class = StampedTask

    def __init__(self, server, sock, addr, adj, map=None):
        self.receiving_since: float | None = time.monotonic()
        super().__init__(server, sock, addr, adj, map)

    def received(self, data: bytes) -> bool:
        if self.receiving_since is None and data:
            self.receiving_since = time.monotonic()
        done = super().received(data)
        now = time.monotonic()
        for request in self.requests:
            if getattr(request, "arrived", None) is None:
                request.arrived = now
        if self.request is None:  # every request in ``data`` arrived whole
            self.receiving_since = None
        return done


class GuardedServer(TcpWSGIServer):
    channel_class = GuardedChannel
    request_deadline = REQUEST_DEADLINE
    per_client = PER_CLIENT

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
            if accepted is None:
                return
            conn, addr = accepted
            self.set_socket_options(conn)
        except OSError:
            return  # as waitress: a socket gone before it was accepted
        addr = self.fix_addr(addr)
        client = addr[0] if addr else None
        held = sum(1 for c in self.active_channels.values() if c.addr and c.addr[0] == client)
        if client is not None and held >= self.per_client:
            conn.close()
            web.refusals.refused(
                f"a connection from {client}", None, f"it holds {held} connections already"
            )
            return
        self.channel_class(self, conn, addr, self.adj, map=self._map)

    def stop(self) -> None:
        """Close the listening socket and every connection, and end the threads once their
        requests are done; from any thread (``run``'s loop ends with nothing left to watch)."""
        for dispatcher in list(self._map.values()):
            dispatcher.close()
        self.task_dispatcher.shutdown()

    def maintenance(self, now: float) -> None:
        """Waitress's (idle connections closed), and connections whose request is still
        arriving ``request_deadline`` seconds after its first byte."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.request_deadline
        for channel in list(self.active_channels.values()):
            since = getattr(channel, "receiving_since", None)
            if since is not None and since < cutoff and not channel.will_close:
                channel.will_close = True
                web.refusals.refused(
                    f"a connection from {channel.addr[0] if channel.addr else '?'}",
                    None,
                    f"its request did not arrive whole within {self.request_deadline:g} s",
                )


def guarded_server(
    application,
    *,
    host: str,
    port: int,
    threads: int = 16,
    request_deadline: float = REQUEST_DEADLINE,
    per_client: int = PER_CLIENT,
    connections: int = CONNECTIONS,
    body_limit: int = web.BODY_LIMIT,
):
    """A waitress server for ``application`` on ``host``:``port`` (0: any free port) with the
    guards above; ``.run()`` serves, ``.close()`` stops, ``.effective_port`` is the port."""
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident="slabot",
        connection_limit=connections,
        channel_timeout=IDLE_TIMEOUT,
        max_request_body_size=body_limit + 1,  # waitress refuses a body of this size or more
        max_request_header_size=65536,
        asyncore_use_poll=True,
    )
    # Deadlines are checked at each cleanup; waitress's setting is whole seconds.
    adj.cleanup_interval = min(1.0, request_deadline / 4)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    socket_map: dict = {}
    servers = []
    for sockinfo in adj.listen:
        server = GuardedServer(
            application, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo
        )
        server.request_deadline, server.per_client = request_deadline, per_client
        servers.append(server)
    if len(servers) == 1:
        return servers[0]
    both = MultiSocketServer(
        socket_map, adj, [(s.effective_host, s.effective_port) for s in servers], dispatcher
    )
    both.effective_port = servers[0].effective_port
    return both
