"""Benchmark: an alert storm through ``POST /hooks/alertmanager`` on slabot's HTTP server.

    .venv/bin/python bench/alerts.py                     # SQLite file in a temp folder
    .venv/bin/python bench/alerts.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python3 dev.py bench alerts --alerts 1000 --batch 50 --senders 8

What runs: the production server (``http_server``: waitress, guarded) in this process, its
Slack the LoopbackSlack. ``--alerts`` firing alerts of one Alertmanager group are sent as
deliveries of ``--batch`` alerts by ``--senders`` concurrent senders (Alertmanager itself
sends one group's notifications one at a time; several Alertmanager replicas, or a
webhook relay, send them at once), then every delivery again (the repeat Alertmanager
makes each ``group_interval``), then all of them resolved. Printed: the wall time of each
phase, per-delivery latency (p50, p99, max), and what it made: incidents, Slack channels,
messages. Expected: one incident, one channel, two messages (card and announcement) and
one restore note, whatever the sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.clock import SystemClock  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.incidents import service  # noqa: E402
from bot.slack.app import build_app, http_server  # noqa: E402
from bot.slack.loopback import LoopbackSlack  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files  # noqa: E402
from config.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402

TOKEN = "bench-hook-token-0123456789"


def alert(i: int, starts: dt.datetime, ends: dt.datetime | None) -> dict:
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    return {
        "status": "resolved" if ends else "firing",
        "labels": {"alertname": "CheckoutDown", "severity": "critical", "instance": f"pod-{i}"},
        "annotations": {"summary": "Checkout API is down"},
        "startsAt": stamp(starts), "endsAt": stamp(ends) if ends else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"{i:016x}",
    }  # fmt: skip


def delivery(alerts: list[dict]) -> bytes:
    return json.dumps({
        "version": "4", "groupKey": '{}:{alertname="CheckoutDown"}', "truncatedAlerts": 0,
        "status": alerts[0]["status"], "receiver": "slabot",
        "groupLabels": {"alertname": "CheckoutDown"}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
    }).encode()  # fmt: skip


def batches(alerts: list[dict], size: int) -> list[bytes]:
    return [delivery(alerts[i : i + size]) for i in range(0, len(alerts), size)]


def send(url: str, body: bytes) -> float:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as answer:
        answer.read()
        assert answer.status == 200, answer.status
    return time.perf_counter() - began


def phase(name: str, url: str, bodies: list[bytes], senders: int) -> None:
    began = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        took = sorted(pool.map(lambda body: send(url, body), bodies))
    wall = time.perf_counter() - began
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    print(
        f"{name:10} {len(bodies):4} deliveries in {wall:6.2f} s; per delivery p50 "
        f"{statistics.median(took) * 1000:6.0f} ms, p99 {p99 * 1000:6.0f} ms, "
        f"max {took[-1] * 1000:6.0f} ms"
    )


def fresh_schema(base: str) -> tuple[str, str]:
    schema = f"bench_alerts_{secrets.token_hex(3)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}", schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL to use (default: a SQLite file)")
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    schema = None
    if args.database_url:
        url, schema = fresh_schema(args.database_url)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db = Database(url)
    db.upgrade()
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), None, "messaging-platform")
    ctx = Context(db=db, contracts=contracts, clock=SystemClock())
    with LoopbackSlack(expected_token="xoxb-bench") as slack:
        slack.add_channel("general", id="C0GENERAL", bot_member=True)
        settings = Settings(
            _env_file=None, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench-secret",
            SLACK_API_URL=slack.api_url, SLABOT_HOOK_TOKEN=TOKEN,
            SLABOT_ANNOUNCE_CHANNEL="C0GENERAL",
        )  # fmt: skip
        app, _ = build_app(ctx, settings)
        server = http_server(app, ctx, settings, host="127.0.0.1", port=0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        hook = f"http://127.0.0.1:{server.effective_port}/hooks/alertmanager"
        now = dt.datetime.now(dt.UTC)
        starts = now - dt.timedelta(minutes=5)
        firing = [alert(i, starts, None) for i in range(args.alerts)]
        resolved = [alert(i, starts, now) for i in range(args.alerts)]
        print(
            f"{'PostgreSQL' if schema else 'SQLite'}; {args.alerts} alerts of one group, "
            f"{args.batch} a delivery, {args.senders} senders; Python "
            f"{platform.python_version()}, {platform.machine()}"
        )
        phase("firing", hook, batches(firing, args.batch), args.senders)
        phase("repeated", hook, batches(firing, args.batch), args.senders)
        phase("resolved", hook, batches(resolved, args.batch), args.senders)
        server.stop()
        thread.join(30)
        slack.wait_idle()
        made = service.list_incidents(ctx, open_only=False)
        posts = len(slack.calls_to("chat.postMessage"))
        channels = len(slack.calls_to("conversations.create"))
        states = ", ".join(f"{v.ref} {v.state}" for v in made)
        print(f"made: {len(made)} incident(s) ({states}), {channels} channel(s), {posts} messages")
    db.dispose()
    if schema:
        admin = create_engine(args.database_url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0 if len(made) == 1 and channels == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
