"""Acceptance: ``slabot serve --port N`` as a real process, Slack faked by LoopbackSlack.

One quick test: the process starts, answers ``/healthz``, and a responder's incident goes
declare → ack → update → restore over signed HTTP requests, each showing its effect in the
fake Slack; a declaration with a severity no contract has is refused and announces nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.slack.loopback import RESPONSE_URL, LoopbackSlack
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, command_over_http

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("users.info", RESPONSE_URL)
"""Calls that show nothing in a channel: reading who someone is, answering only them."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slabot_command() -> list[str]:
    """The installed console script beside this interpreter (the venv's), as a user runs it."""
    script = Path(sys.executable).with_name("slabot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


@pytest.fixture
def served(tmp_path):
    with LoopbackSlack(expected_token=BOT_TOKEN) as slack:
        slack.add_user("U1", "ana", tz="Europe/Copenhagen")
        slack.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1",))
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLABOT_"))},
            "DATABASE_URL": f"sqlite:///{tmp_path / 'slabot.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "PORT": "1",  # --port wins over PORT
        }
        log = (tmp_path / "serve.log").open("w+")
        process = subprocess.Popen(
            [*slabot_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                        health = json.loads(answer.read())
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"slabot serve did not start:\n{log.read()}")
                    time.sleep(0.1)
            yield base, slack, health
        finally:
            process.terminate()  # SIGTERM, as a platform stops a web process
            try:
                stopped = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                stopped = "killed"
            log.close()
        assert stopped == 0, "slabot serve did not stop cleanly on SIGTERM"


def post_command(base: str, slack: LoopbackSlack, text: str, channel: str) -> tuple[int, dict]:
    return command_over_http(base, slack, text, channel=channel)


def test_serve_declare_ack_update_restore_and_a_refused_severity(served):
    base, slack, health = served
    assert health == {"status": "ok"}  # all an unauthenticated probe sees

    status, answer = post_command(base, slack, "declare 1 Checkout API down", "C0GENERAL")
    assert status == 200
    assert answer["text"].startswith("🚨 INC-1 declared (Sev 1): Checkout API down")
    card = slack.wait_for("chat.postMessage")[0]
    assert "Checkout API down" in card.params["text"]
    channel = card.params["channel"]

    _, answer = post_command(base, slack, "ack", channel)
    assert answer["text"].startswith("✅ Acknowledged")
    assert "Acknowledged" in slack.wait_for("chat.update")[-1].params["text"]

    _, answer = post_command(base, slack, "update Rolled back the deploy", channel)
    assert answer["text"].startswith("✅ Update posted")
    update = slack.wait_for("chat.postMessage", where=lambda c: "Rolled back" in c.params["text"])
    assert update[0].params["channel"] == channel

    _, answer = post_command(base, slack, "restore", channel)
    assert answer["text"].startswith("✅ Service restored")
    assert "Service restored" in slack.wait_for("chat.update", count=3)[-1].params["text"]

    before = len(slack.calls)
    _, answer = post_command(base, slack, "declare 9 Everything is down", "C0GENERAL")
    assert answer["response_type"] == "ephemeral"
    assert "severity 9 is not in the messaging-platform contract; its levels: 1 (" in answer["text"]
    assert [c.method for c in slack.calls[before:] if c.method not in QUIET] == []

    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(
            urllib.request.Request(f"{base}/slack/events", data=b"command=%2Fincident&text=ack"),
            timeout=60,
        )
    assert forged.value.code == 401
