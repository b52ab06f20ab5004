"""Real processes: a worker killed with SIGKILL, ``slabot run`` stopped with SIGTERM, and
``slabot serve`` with two ``slabot worker``s end to end — all against the local Slack in
this test process (``SLACK_API_URL``). Few and quick: each waits on events, not on sleeps."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.clock import ManualClock, SystemClock
from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import make_client
from bot.slack.loopback import Hold, LoopbackSlack, Reply
from bot.worker import Worker
from config.settings import HOW_TO_SET
from storage import queries
from storage.db import Database
from tests.conftest import FIXTURES, PATIENCE, wait_until
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, command_over_http, make_settings

SLABOT = Path(sys.executable).with_name("slabot")


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_user("U1", "ana", tz="Europe/Copenhagen")
        server.add_channel("general", id="C0GENERAL", bot_member=True, members=("U1",))
        server.add_channel("inc-1", id="C0INC", bot_member=True)
        yield server


class Process:
    """``slabot ARGS`` in a folder of its own, its stderr collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        command = (
            [str(SLABOT)]
            if SLABOT.exists()
            else [sys.executable, "-c", "from bot.cli import main; main()"]
        )
        self.popen = subprocess.Popen(
            [*command, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stderr:
            with self._arrived:
                self.lines.append(line.rstrip())
                self._arrived.notify_all()

    def wait_for(self, pattern: str, timeout: float = PATIENCE) -> re.Match:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or self.popen.poll() is not None:
                    raise AssertionError(f"no {pattern!r} in:\n" + "\n".join(self.lines))
                self._arrived.wait(min(left, 0.2))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = PATIENCE) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout)


def slabot_env(database_url: str, slack: LoopbackSlack, **more: str) -> dict[str, str]:
    """The environment of a ``slabot`` process in a test: this database and the local Slack,
    and none of the slabot settings of the shell that runs the tests."""
    env = {k: v for k, v in os.environ.items() if k not in HOW_TO_SET}
    env.update(
        DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
        SLABOT_DEFAULT_POLICY="messaging-platform",
        SLABOT_CUSTOMERS_FILE=str(FIXTURES / "customers.yaml"), PYTHONUNBUFFERED="1", **more,
    )  # fmt: skip
    return env


@pytest.fixture
def start(tmp_path, slack):
    """Start ``slabot`` processes against this database; all are stopped at the end."""
    started: list[Process] = []

    def run(database_url: str, *args: str) -> Process:
        process = Process(list(args), slabot_env(database_url, slack), tmp_path)
        started.append(process)
        return process

    yield run
    for process in started:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(10)


def statuses(db, rows) -> set[str]:
    ids = {r.id for r in rows}
    with db.read() as session:
        return {r.status for i in (1, 2) for r in queries.reminders_of(session, i) if r.id in ids}


def keys_posted(slack, channel: str) -> list[str]:
    return [
        (m.get("metadata") or {}).get("event_payload", {}).get("key")
        for m in slack.messages(channel)
        if m.get("metadata")
    ]


def test_a_worker_killed_with_sigkill_after_claiming_loses_nothing_and_doubles_nothing(
    db, contracts, slack, start
):
    ctx = Context(db, contracts, SystemClock())
    for title in ("Checkout down", "Login down"):  # both already past their response target
        started = ctx.clock.now() - dt.timedelta(minutes=31)
        view = service.declare(ctx, title=title, severity=1, actor="U1", started_at=started)
        service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    # The first post is held by Slack until the worker is dead: it dies before it hears
    # back, with the second reminder claimed and not yet posted (one post at a time).
    posting = Hold()
    slack.script("chat.postMessage", Reply(hold=posting))
    worker = start(db.url, "worker", "--poll", "0.1", "--concurrency", "1")

    def claimed():
        with db.read() as session:
            rows = [
                r for i in (1, 2) for r in queries.reminders_of(session, i) if r.status == "claimed"
            ]
        return rows if len(rows) == 2 else None

    rows = wait_until(claimed, explain=lambda: "\n".join(worker.lines))
    assert posting.reached.wait(PATIENCE), "\n".join(worker.lines)  # inside the first post
    assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
    posting.release()
    slack.wait_for("chat.postMessage", 1)  # the dead worker's post did land
    assert statuses(db, rows) == {"claimed"}  # nothing was marked sent
    # Another worker takes over once the dead one's lease has run out.
    later = ManualClock(ctx.clock.now() + reminders.LEASE + dt.timedelta(seconds=2))
    settings = make_settings(slack)
    taker = Worker(
        Context(db, contracts, later),
        make_client(settings, retry_connection_errors=False),
        settings,
    )
    assert taker.run_once() == 2
    keys = keys_posted(slack, "C0INC")
    assert sorted(keys) == sorted(r.dedupe_key for r in rows) and len(set(keys)) == 2
    assert statuses(db, rows) == {"sent"}


def test_slabot_run_serves_and_posts_in_one_process_and_stops_cleanly_on_sigterm(
    tmp_path, contracts, slack, start
):
    url = f"sqlite:///{tmp_path / 'slabot.db'}"
    run = start(url, "run", "--http", "--port", "0", "--host", "127.0.0.1",
                "--metrics-port", "0", "--metrics-host", "127.0.0.1")  # fmt: skip
    port = int(run.wait_for(r"listening on http://127\.0\.0\.1:(\d+)/").group(1))
    metrics_port = int(run.wait_for(r"metrics at http://127\.0\.0\.1:(\d+)/metrics").group(1))
    _, answer = command_over_http(
        f"http://127.0.0.1:{port}", slack, "declare 1 Checkout down started 31 minutes ago",
        channel="C0GENERAL",
    )  # fmt: skip
    assert "INC-1 declared" in answer["text"]
    [breach] = slack.wait_for(
        "chat.postMessage", where=lambda c: "missed the response target" in c.params.get("text", "")
    )
    assert (
        breach.params["channel"]
        == slack.calls_to("conversations.create")[0].response["channel"]["id"]
    )
    # The process's metrics, on its HTTP port and on --metrics-port alike.
    for at in (port, metrics_port):
        assert scraped(at, "slabot_open_incidents", severity="1", state="declared") == 1
    wait_until(lambda: scraped(metrics_port, "slabot_reminder_lag_seconds_count", kind="breach"))
    assert run.stop(signal.SIGTERM) == 0
    run.wait_for(r"slabot: stopped")
    database = Database(url)
    try:
        state = reminders.health(Context(database, contracts, SystemClock()))
    finally:
        database.dispose()
    assert state.workers == [] and state.last_seen[2]  # it said it stopped


def test_end_to_end_serve_and_two_workers_post_one_breach_notice_at_its_deadline(
    tmp_path, contracts, slack, start
):
    """Both workers are running when the deadline arrives a few seconds after the declaration
    (the exact sleep until a deadline is tested with an injected clock in test_worker.py)."""
    url = f"sqlite:///{tmp_path / 'slabot.db'}"
    Database(url).upgrade()
    workers = [start(url, "worker") for _ in range(2)]
    web = start(url, "serve", "--port", "0", "--host", "127.0.0.1")
    port = int(web.wait_for(r"listening on http://127\.0\.0\.1:(\d+)/").group(1))
    for worker in workers:
        worker.wait_for("posting reminders")
    _, answer = command_over_http(
        f"http://127.0.0.1:{port}", slack, "declare 1 Checkout down started 29 minutes 57 seconds ago",
        channel="C0GENERAL",
    )  # fmt: skip
    assert "INC-1 declared" in answer["text"]
    database = Database(url)
    ctx = Context(database, contracts, SystemClock())
    response = service.get(ctx, "INC-1").timers["response"]
    deadline = response.deadline
    assert deadline == response.started_at + dt.timedelta(minutes=30)  # Severity I: 30 minutes

    def is_breach(call):
        return "missed the response target" in call.params.get("text", "")

    [breach] = slack.wait_for("chat.postMessage", where=is_breach, timeout=PATIENCE)
    assert breach.at >= deadline.timestamp() - 0.5, "posted before the deadline"
    assert "Posted late" not in breach.params["text"]  # within LATE_AFTER of it
    assert len(reminders.health(ctx).workers) == 2  # both were running all along
    assert [worker.stop() for worker in workers] == [0, 0]  # SIGTERM: a clean stop
    assert slack.wait_idle()  # every post either worker made has landed: none can follow
    channel = service.get(ctx, "INC-1").channel_id
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage") if is_breach(c)] == [
        channel
    ]
    keys = keys_posted(slack, channel)
    assert len(keys) == len(set(keys))
    database.dispose()
    web.stop()


def scraped(port: int, name: str, **labels: str) -> float | None:
    """The value of one sample of ``http://127.0.0.1:PORT/metrics`` (``None``: not there)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_slabot_worker_serves_its_own_metrics_with_the_lag_of_what_it_posted(
    db, contracts, slack, start
):
    ctx = Context(db, contracts, SystemClock())
    started = ctx.clock.now() - dt.timedelta(minutes=31)  # past its response target
    view = service.declare(ctx, title="Checkout down", severity=1, actor="U1", started_at=started)
    service.set_slack_card(ctx, view.ref, channel_id="C0INC", card_ts=None)
    worker = start(db.url, "worker", "--poll", "0.1", "--metrics-port", "0",
                   "--metrics-host", "127.0.0.1")  # fmt: skip
    port = int(worker.wait_for(r"metrics at http://127\.0\.0\.1:(\d+)/metrics").group(1))

    wait_until(lambda: scraped(port, "slabot_reminder_lag_seconds_count", kind="breach") == 1)
    assert worker.stop() == 0


def test_slabot_serve_in_socket_mode_serves_metrics_on_metrics_port(db, contracts, slack, tmp_path):
    """Socket Mode listens on nothing; ``--metrics-port`` is its /metrics (open while it
    connects, closed when it gives up)."""
    ctx = Context(db, contracts, SystemClock())
    service.declare(ctx, title="Checkout down", severity=2, actor="U1")
    connecting = Hold()
    slack.script("apps.connections.open", Reply(hold=connecting))
    env = slabot_env(db.url, slack, SLACK_APP_TOKEN="xapp-1")
    web = Process(["serve", "--socket", "--metrics-port", "0", "--metrics-host", "127.0.0.1"],
                  env, tmp_path)  # fmt: skip
    try:
        port = int(web.wait_for(r"metrics at http://127\.0\.0\.1:(\d+)/metrics").group(1))
        assert connecting.reached.wait(PATIENCE), "\n".join(web.lines)
        assert scraped(port, "slabot_open_incidents", severity="2", state="declared") == 1
        connecting.release()  # then Slack refuses the app token
        assert web.popen.wait(PATIENCE) == 1
        said = "slabot: Socket Mode could not connect: invalid_auth"
        wait_until(lambda: said in web.lines, explain=lambda: "\n".join(web.lines))
    finally:
        connecting.release()
        if web.popen.poll() is None:
            web.popen.kill()
            web.popen.wait(10)
