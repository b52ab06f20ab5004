"""Drill: unauthenticated requests against ``slabot serve``, and what they write to its log.

    .venv/bin/python drills/log_flood.py                          # this tree
    .venv/bin/python drills/log_flood.py --before /tmp/slabot-before  # an older tree, then this
    .venv/bin/python drills/log_flood.py --big 20 --size 10 --log-format json

Four attacks, none signed with the app's secret, each against a fresh ``slabot serve`` (SQLite,
a fake Slack, the log at INFO as shipped): ``--big`` requests of ``--size`` MB sent at once
with their ``Content-Length``; as many sent chunked (no length); ``--forged`` small forged
requests (1 kB) one after another; and one body holding a newline and a fake
``ERROR bot.worker: …`` line. For each: the answers, the bytes sent, the bytes added to the
log, and the bytes logged per unauthenticated megabyte; for the last, whether the fake line
starts a line of the log.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drills.attack import ROOT, Served, raw, serve
from drills.harness import machine

FAKE = b"2026-12-01 09:00:00,000 ERROR bot.worker: reminder INC-7 could not be posted"
MB = 1_048_576


@dataclass
class Flood:
    attack: str
    requests: int
    sent: int
    """Body bytes the attacker meant to send."""
    went_out: int
    """Body bytes that left the attacker before the server answered and closed."""
    logged: int
    """Bytes the log grew by."""
    lines: int
    """Lines the log grew by."""
    answers: Counter
    forged_lines: int = 0
    """Log lines that start with the fake record."""

    @property
    def per_mb(self) -> float:
        return self.logged / max(self.sent, 1) * MB

    def row(self) -> str:
        answers = ", ".join(
            f"{n} × {s or 'closed'}" for s, n in sorted(self.answers.items(), key=str)
        )
        line = self.attack == "forged line"
        forged, per_mb = (f"{self.forged_lines}", "—") if line else ("—", f"{self.per_mb:,.0f} B")
        return (f"| {self.attack} | {self.requests} | {self.sent / MB:,.2f} MB | "
                f"{self.went_out / MB:,.2f} MB | {answers} | {self.logged:,} B, {self.lines} lines | "
                f"{per_mb} | {forged} |")  # fmt: skip


def head(
    port: int,
    size: int | None,
    *,
    chunked: bool = False,
    content_type: str = "application/x-www-form-urlencoded",
    path: bytes = b"/slack/events",
) -> bytes:
    """Headers of a request that looks like Slack's but is signed with the wrong secret."""
    lines = [b"POST " + path + b" HTTP/1.1", f"Host: 127.0.0.1:{port}".encode(),
             f"Content-Type: {content_type}".encode(),
             f"X-Slack-Request-Timestamp: {int(time.time())}".encode(),
             b"X-Slack-Signature: v0=" + b"0" * 64, b"Connection: close"]  # fmt: skip
    lines.append(b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}".encode())
    return b"\r\n".join(lines) + b"\r\n"


def settle(served: Served, before: int) -> tuple[int, int]:
    """The log's growth in bytes and lines since ``before``. Read once the answers are in:
    slabot (and Bolt, before) writes a request's log line before it answers."""
    size = served.log_size()
    with served.log.open("rb") as log:
        log.seek(before)
        return size - before, log.read(size - before).count(b"\n")


def big(served: Served, count: int, size: int, *, chunked: bool = False) -> Flood:
    body = b"command=%2Fincident&text=" + b"A" * (size - 25)
    before = served.log_size()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(
            lambda _: raw(served.port, head(served.port, len(body), chunked=chunked), body, chunked=chunked),
            range(count),
        ))  # fmt: skip
    return Flood(
        f"{size // MB} MB {'chunked' if chunked else 'with Content-Length'}",
        count,
        count * len(body),
        sum(sent for _, sent in results),
        *settle(served, before),
        Counter(status for status, _ in results),
    )


def forged(served: Served, count: int) -> Flood:
    body = b"command=%2Fincident&user_id=U1&text=" + b"B" * 990
    before = served.log_size()
    results = [raw(served.port, head(served.port, len(body)), body) for _ in range(count)]
    return Flood(
        "1 kB forged",
        count,
        count * len(body),
        sum(sent for _, sent in results),
        *settle(served, before),
        Counter(status for status, _ in results),
    )


def forged_line(served: Served) -> Flood:
    """A fake record after a newline: in a body, then in a path (``%0A``)."""
    body = b"command=%2Fincident&text=x\n" + FAKE + b"\n"
    path = b"/slack/events%0A" + quote(FAKE).encode()
    before = served.log_size()
    answers = [
        raw(served.port, head(served.port, len(body), content_type="text/plain"), body),
        raw(served.port, head(served.port, 0, path=path), b""),
    ]
    logged, lines = settle(served, before)
    starts = sum(1 for line in served.log.read_bytes().splitlines() if line.startswith(FAKE))
    sent = sum(s for _, s in answers)
    return Flood("forged line", 2, len(body), sent, logged, lines,
                 Counter(status for status, _ in answers), starts)  # fmt: skip


def run(code: Path, count: int, size_mb: int, small: int, log_format: str) -> list[Flood]:
    served = serve(code, env={"SLABOT_LOG_FORMAT": log_format})
    try:
        floods = [forged_line(served), big(served, count, size_mb * MB),
                  big(served, count, size_mb * MB, chunked=True), forged(served, small)]  # fmt: skip
    finally:
        served.stop()
    return floods


TABLE = ("| attack | requests | meant to send | went out | answers | log grew | logged per MB "
         "| fake lines |\n|---|---|---|---|---|---|---|---|")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree to serve")
    parser.add_argument(
        "--before", type=Path, help="first run the same drill on this tree (git archive of main)"
    )
    parser.add_argument("--big", type=int, default=5, help="large requests sent at once")
    parser.add_argument("--size", type=int, default=10, help="MB in each large request")
    parser.add_argument("--forged", type=int, default=500, help="small forged requests")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    options = parser.parse_args()
    print(machine())
    for code in [options.before, options.code] if options.before else [options.code]:
        floods = run(code, options.big, options.size, options.forged, options.log_format)
        print(f"\n# {code} (SLABOT_LOG_FORMAT={options.log_format})")
        print(TABLE)
        for flood in floods:
            print(flood.row())


if __name__ == "__main__":
    main()
