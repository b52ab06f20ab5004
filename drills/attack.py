"""What the attack drills share: ``slabot serve`` started from a given source tree (this one,
or a copy of an older commit, to measure before and after in the same run), on a throw-away
SQLite file and a fake Slack in the drill's process, and raw HTTP over sockets (so a drill
can send what no well-behaved client would: a body larger than it says, one byte at a time,
a header that never ends).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.slack.loopback import LoopbackSlack  # noqa: E402

BOT_TOKEN = "xoxb-drill-token"
SIGNING_SECRET = "drill-signing-secret"
ATTACKER = "127.0.0.2"
"""The attackers' address: Linux answers every 127.x.y.z on loopback, so the attack comes
from one address and the real requests from another (127.0.0.1), as they would in life."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fake_slack() -> LoopbackSlack:
    slack = LoopbackSlack(expected_token=BOT_TOKEN).start()
    slack.add_user("U1", "ana", tz="Europe/Copenhagen")
    slack.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1",))
    return slack


@dataclass
class Served:
    """A ``slabot serve`` process, its log file, and how to reach it."""

    process: subprocess.Popen
    port: int
    log: Path
    slack: LoopbackSlack

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_size(self) -> int:
        return self.log.stat().st_size

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(20)
        finally:
            self.slack.stop()


def serve(code: Path = ROOT, *, env: dict | None = None, folder: Path | None = None) -> Served:
    """``slabot serve`` running the source in ``code``, logging to ``<folder>/serve.log``."""
    folder = folder or Path(tempfile.mkdtemp(prefix="slabot-attack-"))
    slack = fake_slack()
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLABOT_"))},
        "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1",
        "DATABASE_URL": f"sqlite:///{folder / 'slabot.db'}", "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        **(env or {}),
    }  # fmt: skip
    log = folder / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--host", "0.0.0.0",
         "--port", str(port)],
        cwd=folder, env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    served = Served(process, port, log, slack)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{served.base}/healthz", timeout=2):
                return served
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                served.stop()
                raise SystemExit(f"slabot serve did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def command_body(slack: LoopbackSlack, text: str, user: str = "U1") -> bytes:
    return urlencode({
        "command": "/incident", "text": text, "user_id": user, "channel_id": "C0GENERAL",
        "team_id": "T0LOOP", "trigger_id": f"drill-{time.monotonic_ns()}",
        "response_url": slack.response_url("drill"),
    }).encode()  # fmt: skip


def signed_command(base: str, slack: LoopbackSlack, text: str, timeout: float) -> int:
    """A signed ``/incident <text>`` from 127.0.0.1; the HTTP status (an error if none came)."""
    body = command_body(slack, text)
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        f"{base}/slack/events", body,
        {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
         "X-Slack-Signature": signature(body, stamp)},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read()
        return answer.status


def healthz(base: str, timeout: float) -> int:
    with urllib.request.urlopen(f"{base}/healthz", timeout=timeout) as answer:
        answer.read()
        return answer.status


def raw(
    port: int,
    head: bytes,
    body: bytes | None = None,
    *,
    source: str = "127.0.0.1",
    chunked: bool = False,
    timeout: float = 60,
) -> tuple[int | None, int]:
    """Send ``head`` (the request line and headers, without the blank line) and ``body``;
    the status answered (``None`` if the connection closed without one) and how many body
    bytes went out before the server answered or closed."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout, (source, 0)) as connection:
        connection.sendall(head + b"\r\n")
        try:
            step = 65536
            for start in range(0, len(body or b""), step):
                piece = body[start : start + step]
                if chunked:
                    piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                connection.sendall(piece)
                sent += len(piece)
            if chunked:
                connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the body was all sent
        try:
            answer = connection.recv(4096)
        except OSError:
            return None, sent
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else None
    return (int(status) if status else None), sent
