"""What the drill scripts share: a database to drill on, slabot processes, signed commands.

The processes and the request signing are the benchmarks' (``bench/slack_latency.py``
starts ``slabot serve`` and signs commands, ``bench/reminders.py`` starts ``slabot worker``
and bulk-writes incidents whose reminders fall due in a window); this module only puts
them together and keeps the score.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import tempfile
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.reminders import TOKEN, WorkerProcess, drop_schema, fresh_schema, generate
from bench.slack_latency import USERS, Sender, percentile, serve, write_customers
from bot.slack.handlers import DATABASE_DOWN
from bot.slack.loopback import RESPONSE_URL, LoopbackSlack
from storage.db import Database

DEFAULT_POSTGRES = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
assert TOKEN == "xoxb-bench-token"  # the token bench/slack_latency.py's serve() also uses


def trees(before: Path | None, code: Path) -> Iterator[Path]:
    """The source trees to drill, ``before`` first when given (before and after in one
    run); while each is drilled, the slabot processes started run it (``PYTHONPATH``)."""
    for tree in [before, code] if before else [code]:
        os.environ["PYTHONPATH"] = str(tree)
        yield tree


def machine() -> str:
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (a shared machine: other runs use it too)"
    )


@dataclass
class Drill:
    """A database (SQLite file or a fresh PostgreSQL schema), a fake Slack with the bench's
    users, a folder for logs, and the slabot processes started against them."""

    kind: str
    url: str
    slack: LoopbackSlack
    folder: Path
    base_url: str = ""
    processes: list = field(default_factory=list)
    web: object = None
    schema_url: str = ""

    @classmethod
    def open(
        cls, kind: str, postgres_url: str = DEFAULT_POSTGRES, application_name: str | None = None
    ) -> Drill:
        """``application_name`` names the processes' PostgreSQL connections."""
        folder = Path(tempfile.mkdtemp(prefix=f"slabot-drill-{kind}-"))
        url = (
            f"sqlite:///{folder / 'slabot.db'}" if kind == "sqlite" else fresh_schema(postgres_url)
        )
        Database(url).upgrade()
        slack = LoopbackSlack(expected_token=TOKEN).start()
        for user in USERS:
            slack.add_user(user, user.lower(), tz="Europe/Copenhagen")
        slack.add_channel("general", id="C0GENERAL", bot_member=True, members=USERS)
        drill = cls(kind, url, slack, folder, schema_url=url)
        if application_name and kind != "sqlite":
            drill.url += f"&application_name={application_name}"
        return drill

    def database(self) -> Database:
        return Database(self.url)

    def incidents(self, count: int, window: float, lead: float) -> tuple[dict, dt.datetime]:
        """``count`` open Severity I incidents in 100 channels, one reminder of each due over
        ``window`` seconds starting ``lead`` seconds from now; the keys due, and the end."""
        start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
        database = self.database()
        due, _pending = generate(database, self.slack, count, start, window)
        database.dispose()
        return due, start + dt.timedelta(seconds=window)

    def serve(self) -> str:
        customers = self.folder / "customers.yaml"
        write_customers(customers)
        self.base_url, self.web = serve(self.url, customers, self.slack, self.folder)
        return self.base_url

    def worker(self, *options: str, settings: dict[str, str] | None = None) -> WorkerProcess:
        process = WorkerProcess(self.url, self.slack, self.folder, list(options), settings)
        self.processes.append(process)
        return process

    def wait_ready(self, workers: list[WorkerProcess], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(w.ready() for w in workers):
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start; see {self.folder}")
            time.sleep(0.1)

    def close(self, postgres_url: str = DEFAULT_POSTGRES) -> list[int]:
        """Stop every process still running (SIGTERM); their exit codes."""
        codes = []
        for process in self.processes:
            if process.popen.poll() is None:
                codes.append(process.stop())
        if self.web is not None and self.web.poll() is None:
            self.web.terminate()
            codes.append(self.web.wait(20))
        self.slack.stop()
        if self.kind != "sqlite":
            drop_schema(postgres_url, self.schema_url)
        return codes


# --- commands ------------------------------------------------------------------------------


KINDS = ("answered", "refused", "database down", "working on it", "error")


@dataclass
class Sent:
    text: str
    at: float
    """When it was sent (monotonic)."""
    seconds: float | None = None
    """From sending to reading the answer; None when no answer came."""
    kind: str = "error"
    detail: str = ""
    response: str = ""
    """The id of its response URL (where a "working on it" answer follows)."""


class Commands:
    """Signed slash commands over HTTP, each on a thread of a pool (as Slack's many users
    send them), answers classified and timed."""

    def __init__(self, base: str, slack: LoopbackSlack, *, threads: int = 32, timeout: float = 10):
        self.sender = Sender(base, slack)
        self.slack, self.timeout = slack, timeout
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="drill-command")
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._serial = 0

    def send(self, text: str, channel: str = "C0GENERAL", command: str = "/incident") -> None:
        with self._lock:
            self._serial += 1
            name = f"drill-{self._serial}"
        self.pool.submit(self._one, text, channel, command, name)

    def _one(self, text: str, channel: str, command: str, name: str) -> None:
        url = self.slack.response_url(name)
        record = Sent(text, time.monotonic(), response=url.rsplit("/", 1)[-1])
        try:
            seconds, payload = self.sender.command(
                text, channel, random.choice(USERS), command=command, response_url=url,
                timeout=self.timeout,
            )  # fmt: skip
            record.seconds, answer = seconds, payload.get("text", "")
            record.detail = answer[:120]
            if answer.startswith("⏳"):
                record.kind = "working on it"
            elif answer == f"⚠️ {DATABASE_DOWN}":
                record.kind = "database down"
            elif answer.startswith("⚠️"):
                record.kind = "refused"
            elif answer:
                record.kind = "answered"
            else:
                record.detail = "an empty answer"
        except urllib.error.HTTPError as exc:
            record.detail = f"HTTP {exc.code}"
        except Exception as exc:  # a timeout: no answer within the client's wait
            record.detail = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.sent.append(record)

    def at_rate(
        self,
        rate: float,
        seconds: float,
        pick: Callable[[int], tuple[str, str]],
        every: Callable[[float], None] | None = None,
    ) -> float:
        """Send ``rate`` commands a second for ``seconds`` on a fixed schedule (open loop:
        a slow answer does not delay the next command); ``pick(n)`` gives the n-th command's
        text and channel; ``every(elapsed)`` is called between sends. The largest lag of the
        schedule, in seconds (how late this process sent, being busy itself)."""
        start, lag = time.monotonic(), 0.0
        for n in range(int(rate * seconds)):
            due = start + n / rate
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            lag = max(lag, time.monotonic() - due)
            self.send(*pick(n))
            if every is not None:
                every(time.monotonic() - start)
        return lag

    def finish(self) -> None:
        self.pool.shutdown(wait=True)

    def later_answers(self) -> set[str]:
        """Response URL ids that got an answer (the ones "working on it" promised)."""
        return {c.target for c in self.slack.calls_to(RESPONSE_URL) if c.params.get("text")}

    def score(self, sent: list[Sent] | None = None) -> dict:
        sent = self.sent if sent is None else sent
        kinds = Counter(s.kind for s in sent)
        later = self.later_answers()
        promised = [s for s in sent if s.kind == "working on it"]
        timed = [s.seconds * 1000 for s in sent if s.seconds is not None]
        result: dict = {"sent": len(sent), **{k: kinds.get(k, 0) for k in KINDS}}
        result["working on it, answered later"] = sum(1 for s in promised if s.response in later)
        result["unanswered"] = (
            kinds.get("error", 0) + len(promised) - result["working on it, answered later"]
        )
        if timed:
            result.update(
                p50_ms=round(statistics.median(timed), 1),
                p99_ms=round(percentile(timed, 0.99), 1),
                max_ms=round(max(timed), 1),
                over_3s=sum(1 for t in timed if t >= 3000),
            )
        for kind in ("refused", "error"):
            details = Counter(s.detail[:70] for s in sent if s.kind == kind)
            if details:
                result[f"{kind}: most common"] = dict(details.most_common(3))
        return result


def show(title: str, figures: dict) -> None:
    print(f"{title}: {json.dumps(figures, ensure_ascii=False)}", flush=True)
