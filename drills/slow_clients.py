"""Drill: clients that open connections and trickle their requests, against ``slabot serve``.

    .venv/bin/python drills/slow_clients.py                            # this tree
    .venv/bin/python drills/slow_clients.py --before /tmp/slabot-before  # an older tree, then this
    .venv/bin/python drills/slow_clients.py --clients 500 --seconds 120

``--clients`` connections from one address (127.0.0.2) each send the start of a request
and then one more byte every ``--every`` seconds, for ``--seconds``; a connection the
server closes is opened again at once, as a determined attacker would. Meanwhile, from
127.0.0.1, ``/healthz`` and a signed ``/incident help`` are asked once a second each, with a
5-second timeout. The drill reports how many of those were answered, how fast, and how
often the server closed an attacker's connection.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drills.attack import ATTACKER, ROOT, healthz, serve, signed_command
from drills.harness import machine

START = b"POST /slack/events HTTP/1.1\r\nHost: slabot\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: 1"  # fmt: skip


def slow_connection(port: int, source: str = ATTACKER) -> socket.socket:
    """A connection that has sent the start of a request and no end to its headers."""
    connection = socket.create_connection(("127.0.0.1", port), 10, (source, 0))
    connection.sendall(START)
    return connection


@dataclass
class Attack:
    """``clients`` slow connections kept open, trickling, reopened when the server closes one."""

    port: int
    clients: int
    every: float
    connections: list = field(default_factory=list)
    reopened: int = 0
    failed_opens: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def open_all(self) -> None:
        for _ in range(self.clients):
            self.connections.append(self._open())

    def _open(self) -> socket.socket | None:
        try:
            return slow_connection(self.port)
        except OSError:
            self.failed_opens += 1
            return None

    def trickle(self) -> None:
        while not self.stop.wait(self.every):
            for index, connection in enumerate(self.connections):
                try:
                    if connection is None:
                        raise OSError
                    connection.sendall(b"1")
                except OSError:
                    if connection is not None:
                        connection.close()
                    self.reopened += 1
                    self.connections[index] = self._open()

    def close(self) -> None:
        self.stop.set()
        for connection in self.connections:
            if connection is not None:
                connection.close()


@dataclass
class Probe:
    name: str
    answered: list = field(default_factory=list)
    """Seconds each answered request took."""
    unanswered: int = 0

    def row(self) -> str:
        total = len(self.answered) + self.unanswered
        slowest = f"{max(self.answered):.2f} s" if self.answered else "—"
        return f"| {self.name} | {total} | {len(self.answered)} | {self.unanswered} | {slowest} |"


def probe(probe_: Probe, ask, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            ask()
            probe_.answered.append(time.monotonic() - started)
        except OSError:
            probe_.unanswered += 1
        stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def run(code: Path, clients: int, seconds: float, every: float) -> tuple[Attack, list[Probe]]:
    served = serve(code)
    attack = Attack(served.port, clients, every)
    try:
        attack.open_all()
        trickling = threading.Thread(target=attack.trickle, daemon=True)
        trickling.start()
        time.sleep(1.0)  # the attack settles in before the probes start
        stop = threading.Event()
        probes = [Probe("GET /healthz"), Probe("signed /incident help")]
        asks = [lambda: healthz(served.base, 5),
                lambda: signed_command(served.base, served.slack, "help", 5)]  # fmt: skip
        threads = [threading.Thread(target=probe, args=(p, a, stop)) for p, a in zip(probes, asks, strict=True)]  # fmt: skip
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        attack.close()
        served.stop()
    return attack, probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree to serve")
    parser.add_argument(
        "--before", type=Path, help="first run the same drill on this tree (git archive of main)"
    )
    parser.add_argument("--clients", type=int, default=110)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between bytes")
    options = parser.parse_args()
    print(machine())
    for code in [options.before, options.code] if options.before else [options.code]:
        attack, probes = run(code, options.clients, options.seconds, options.every)
        print(f"\n# {code}: {options.clients} slow clients from {ATTACKER}, "
              f"a byte every {options.every:g} s, for {options.seconds:g} s")  # fmt: skip
        print("| asked from 127.0.0.1 | asked | answered | not answered in 5 s | slowest |")
        print("|---|---|---|---|---|")
        for probe_ in probes:
            print(probe_.row())
        print(f"attacker connections closed by the server and reopened: {attack.reopened}; "
              f"reopenings that failed: {attack.failed_opens}")  # fmt: skip


if __name__ == "__main__":
    main()
