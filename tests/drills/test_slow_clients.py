"""The slow-client drill, short (drills/slow_clients.py; docs/drills.md, "Slow clients"): the
HTTP server of ``slabot serve`` (in this process) holds many connections that never finish
their request, from one address, and still answers ``/healthz`` and a signed command from
another; a request that does not arrive within its deadline loses its connection; one
address holds no more than its share.

Nothing here is timed: each wait is for an event (an answer, a closed connection), bounded
only to catch a hang."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

from bot.slack.app import build_app, http_server, wsgi_app
from bot.webserver import PER_CLIENT, guarded_server
from drills.attack import ATTACKER, command_body, signature
from drills.slow_clients import slow_connection
from tests.conftest import wait_until
from tests.slack.conftest import SIGNING_SECRET, make_settings

HANG = 30
"""Seconds after which a wait is a hang, not slowness."""


@pytest.fixture
def running():
    """Start a server on a thread; stop it when the test ends."""
    started = []

    def start(server):
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.append((server, thread))
        return f"http://127.0.0.1:{server.effective_port}"

    yield start
    for server, thread in started:
        server.stop()
        thread.join(HANG)


@pytest.fixture
def slow():
    """Slow connections, closed when the test ends."""
    opened: list[socket.socket] = []

    def open_(port: int, count: int) -> list[socket.socket]:
        connections = [slow_connection(port) for _ in range(count)]
        opened.extend(connections)
        return connections

    yield open_
    for connection in opened:
        connection.close()


def closed_by_server(connection: socket.socket) -> bool:
    """Wait for the server to close ``connection`` (``False`` after ``HANG`` seconds)."""
    connection.settimeout(HANG)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def from_attacker(server) -> int:
    return sum(1 for c in list(server.active_channels.values()) if c.addr[0] == ATTACKER)


def signed(base: str, slack, text: str) -> urllib.request.Request:
    body = command_body(slack, text)
    stamp = str(int(time.time()))
    return urllib.request.Request(
        f"{base}/slack/events", body,
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(body, stamp, SIGNING_SECRET),
         "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip


def test_110_slow_connections_from_one_address_do_not_keep_others_out(
    sqlite_ctx, slack, running, slow
):
    settings = make_settings(slack)
    app, _ = build_app(sqlite_ctx, settings)
    server = http_server(app, sqlite_ctx, settings, host="127.0.0.1", port=0)
    base = running(server)
    attackers = slow(server.effective_port, 110)
    # In place once the server holds most of them (waitress alone stops at 98: its 100
    # connections count its own listening socket and trigger).
    wait_until(
        lambda: from_attacker(server) >= 90,
        timeout=HANG,
        every=0.01,
        explain=lambda: "the attack is not in place",
    )
    with urllib.request.urlopen(f"{base}/healthz", timeout=HANG) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(signed(base, slack, "help"), timeout=HANG) as answer:
        assert answer.status == 200 and b"/incident declare" in answer.read()
    # Past its share, the address's connections were closed at once; the rest are still held.
    assert all(closed_by_server(c) for c in attackers[PER_CLIENT:])
    assert from_attacker(server) <= PER_CLIENT


def test_a_request_that_does_not_arrive_in_time_loses_its_connection(
    sqlite_ctx, slack, running, slow
):
    application = wsgi_app(None, sqlite_ctx, make_settings(slack))
    server = guarded_server(application, host="127.0.0.1", port=0, request_deadline=0.2)
    base = running(server)
    (trickler,) = slow(server.effective_port, 1)
    assert closed_by_server(trickler)
    with urllib.request.urlopen(f"{base}/healthz", timeout=HANG) as answer:
        assert answer.status == 200  # a request sent whole is answered as ever


def test_one_address_holds_its_share_of_connections_and_no_more(sqlite_ctx, slack, running, slow):
    application = wsgi_app(None, sqlite_ctx, make_settings(slack))
    server = guarded_server(application, host="127.0.0.1", port=0, per_client=3)
    base = running(server)
    connections = slow(server.effective_port, 5)
    assert closed_by_server(connections[3]) and closed_by_server(connections[4])
    assert from_attacker(server) == 3
    with urllib.request.urlopen(f"{base}/healthz", timeout=HANG) as answer:
        assert answer.status == 200
