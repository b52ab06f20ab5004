"""``GET /metrics``: the figures a scrape reports, checked against the state that made them,
and the Grafana dashboard in docs/ asks only for metrics slabot reports."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.clock import ManualClock
from bot.context import Context
from bot.incidents import service
from bot.reminders import service as reminders
from bot.slack.app import make_client, wsgi_app
from bot.slack.loopback import LoopbackSlack
from bot.worker import Worker
from storage import queries
from storage.db import Database
from tests.conftest import T0
from tests.slack.conftest import BOT_TOKEN, make_settings

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
METRICS_TOKEN = "metrics-token-0123456789"

Samples = dict[tuple[str, frozenset], float]


@pytest.fixture
def slack():
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_channel("inc-1", id="C0INC1", bot_member=True)
        server.add_channel("inc-2", id="C0INC2", bot_member=True)
        yield server


def request(application, path="/metrics", method="GET", **headers) -> tuple[str, dict, bytes]:
    answered = {}

    def start_response(status, headers):
        answered["status"], answered["headers"] = status, dict(headers)

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO(b""),
               "CONTENT_LENGTH": "0", "QUERY_STRING": "", **headers}  # fmt: skip
    body = b"".join(application(environ, start_response))
    return answered["status"], answered["headers"], body


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and every family's type by name."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def scrape(application, **headers) -> Samples:
    status, answer_headers, body = request(application, **headers)
    assert status == "200 OK", body
    assert answer_headers["Content-Type"].startswith("text/plain")
    return parse(body.decode())[0]


def value(samples: Samples, name: str, default: float | None = None, **labels: str) -> float:
    found = samples.get((name, frozenset(labels.items())))
    if found is None:
        assert default is not None, f"no {name}{labels} in the scrape"
        return default
    return found


def of(samples: Samples, name: str) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def test_a_scrape_reports_incidents_timers_breaches_outbox_and_heartbeat_as_they_are(
    db, ctx, clock, slack
):
    settings = make_settings(slack)
    application = wsgi_app(None, ctx, settings)
    before = scrape(application)

    one = service.declare(ctx, title="Checkout down", severity=1, actor="U1")
    service.set_slack_card(ctx, one.ref, channel_id="C0INC1", card_ts=None)
    two = service.declare(ctx, title="Search slow", severity=2, actor="U1")
    service.set_slack_card(ctx, two.ref, channel_id="C0INC2", card_ts=None)
    three = service.declare(ctx, title="Exports late", severity=3, actor="U1")
    service.acknowledge(ctx, three.ref, "U1")
    service.pause(ctx, three.ref, "waiting on the customer", "U1")
    gone = service.declare(ctx, title="Old news", severity=1, actor="U1")
    service.resolve(ctx, gone.ref, "U1")

    # 31 minutes on, INC-1's response deadline (30 m) has passed: the worker posts its breach
    # notice a minute late (the warnings before it are superseded), and records the breach.
    clock.set(T0 + dt.timedelta(minutes=31))
    Worker(ctx, make_client(settings), settings, worker_id="w1").run_once()
    reminders.heartbeat(ctx, "w1", posted=1)
    service.acknowledge(ctx, one.ref, "U1")  # after its deadline: the response timer breached
    # 47 minutes on: INC-2's 15-minute warning (due at 45 m) waits, no worker running.
    clock.set(T0 + dt.timedelta(minutes=47))
    samples = scrape(application)

    assert value(samples, "slabot_database_up") == 1
    assert of(samples, "slabot_open_incidents") == {
        frozenset({("severity", "1"), ("state", "acknowledged")}): 1,
        frozenset({("severity", "2"), ("state", "declared")}): 1,
        frozenset({("severity", "3"), ("state", "acknowledged")}): 1,
    }
    timers = {
        dict(k)["timer"] + " " + dict(k)["state"]: v
        for k, v in of(samples, "slabot_timers").items()
    }
    assert timers["response breached"] == 1  # INC-1
    assert timers["response running"] == 1  # INC-2
    assert timers["response met"] == 1  # INC-3
    assert timers["restore paused"] == 1  # INC-3
    with db.read() as session:
        open_timers = sum(len(queries.timers_of(session, [i])[i]) for i in (1, 2, 3))
    assert sum(timers.values()) == open_timers
    assert value(samples, "slabot_breaches_total", timer="response") == 1

    with db.read() as session:
        rows = [r for i in (1, 2, 3, 4) for r in queries.reminders_of(session, i)]
    now = clock.now()
    pending = [r for r in rows if r.status == "pending"]
    assert value(samples, "slabot_outbox_depth", outbox="reminders", state="due") == len(
        [r for r in pending if r.due_at <= now]
    ) == 1  # fmt: skip
    assert value(samples, "slabot_outbox_depth", outbox="reminders", state="scheduled") == len(
        [r for r in pending if r.due_at > now]
    )  # fmt: skip
    assert value(samples, "slabot_oldest_due_reminder_age_seconds") == 120
    assert value(samples, "slabot_worker_heartbeat_age_seconds") == 16 * 60
    assert value(samples, "slabot_workers_alive") == 0  # not within the last 30 s

    # The worker in this process observed one post, a minute after it was due.
    lag = "slabot_reminder_lag_seconds"
    for suffix, grew in (("_count", 1), ("_sum", 60)):
        old = value(before, lag + suffix, 0, kind="breach")
        assert value(samples, lag + suffix, kind="breach") - old == grew
    old = value(before, lag + "_bucket", 0, kind="breach", le="30.0")
    assert value(samples, lag + "_bucket", kind="breach", le="30.0") == old
    old = value(before, lag + "_bucket", 0, kind="breach", le="60.0")
    assert value(samples, lag + "_bucket", kind="breach", le="60.0") == old + 1


def test_nothing_open_and_no_worker_is_reported_as_such(ctx, slack):
    samples = scrape(wsgi_app(None, ctx, make_settings(slack)))
    assert of(samples, "slabot_open_incidents") == {}
    assert of(samples, "slabot_outbox_depth") == {}
    assert value(samples, "slabot_oldest_due_reminder_age_seconds") == 0
    assert value(samples, "slabot_worker_heartbeat_age_seconds") == float("inf")


def test_slack_api_errors_are_counted_by_method_and_error(slack):
    client = make_client(make_settings(slack), retry_rate_limits=False)
    key = ("slabot_slack_api_errors_total", frozenset({("method", "chat.postMessage"),
                                                       ("error", "channel_not_found")}))  # fmt: skip
    before = metrics.SLACK_API_ERRORS.labels("chat.postMessage", "channel_not_found")._value.get()
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C0NOPE", text="hello")
    client.chat_postMessage(channel="C0INC1", text="hello")  # a success counts nothing
    after = parse(metrics_text())[0]
    assert after[key] == before + 2


def test_hook_requests_are_counted_by_source_and_outcome_and_unknown_words_bounded():
    def count(source, outcome) -> float:
        return parse(metrics_text())[0].get(
            ("slabot_hook_requests_total", frozenset({("source", source), ("outcome", outcome)})),
            0.0,
        )

    before = count("alertmanager", "declared"), count("other", "other")
    assert count("grafana", "unauthorized") >= 0  # every source × outcome is there from the start
    metrics.record_hook_outcome("alertmanager", "declared")
    metrics.record_hook_outcome("alertmanager", "declared")
    metrics.record_hook_outcome("nagios", "exploded")
    assert (count("alertmanager", "declared"), count("other", "other")) == (
        before[0] + 2,
        before[1] + 1,
    )


def metrics_text() -> str:
    from prometheus_client import REGISTRY, generate_latest

    return generate_latest(REGISTRY).decode()


def test_with_a_token_a_scrape_without_it_is_refused(ctx, slack):
    application = wsgi_app(None, ctx, make_settings(slack, SLABOT_METRICS_TOKEN=METRICS_TOKEN))
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong-token-0123456789"}):
        status, _, body = request(application, **headers)
        assert status == "401 Unauthorized"
        assert json.loads(body) == {
            "error": "metrics need Authorization: Bearer <SLABOT_METRICS_TOKEN>"
        }
        assert METRICS_TOKEN.encode() not in body
    samples = scrape(application, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert value(samples, "slabot_database_up") == 1
    assert request(application, method="POST")[0] == "405 Method Not Allowed"


def test_a_database_that_does_not_answer_is_reported_not_raised(contracts, slack, tmp_path):
    broken = Context(
        db=Database(f"sqlite:///{tmp_path}/missing/dir/x.db"), contracts=contracts,
        clock=ManualClock(T0),
    )  # fmt: skip
    samples = scrape(wsgi_app(None, broken, make_settings(slack)))
    assert value(samples, "slabot_database_up") == 0
    assert of(samples, "slabot_open_incidents") == {}


def test_the_worker_serves_metrics_only(ctx, slack):
    application = metrics.metrics_app(ctx, make_settings(slack))
    assert request(application, "/healthz")[0] == "404 Not Found"
    samples = scrape(application)
    assert value(samples, "slabot_database_up") == 1


def test_every_metric_the_dashboard_asks_for_is_one_slabot_reports(ctx, slack):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    asked = {name for expr in exprs for name in re.findall(r"\bslabot_[a-z_]+", expr)}
    _, _, body = request(wsgi_app(None, ctx, make_settings(slack)))
    _, types = parse(body.decode())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    reported = {
        name + suffix for name, kind in types.items() for suffix in suffixes.get(kind, ("",))
    }
    assert len(exprs) >= 10
    assert asked and asked <= reported, sorted(asked - reported)
    families = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in asked}
    assert {n for n in types if n.startswith("slabot_")} <= families  # every metric is shown
