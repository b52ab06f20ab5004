"""Prometheus metrics: ``GET /metrics`` on the web server, and on ``slabot worker
--metrics-port``.

Two kinds of figures:

- **The process's own**, counted as things happen: reminder lag (observed when the worker
  posts), Slack Web API errors (``bot.slack.client`` counts every failed call), alert hook
  requests (``record_hook_outcome``), pages sent. Each process counts its own; Prometheus
  adds them up across processes.
- **The database's**, read at each scrape by ``DatabaseFigures`` (``storage.gauges``: a
  handful of aggregate queries over live rows): open incidents, timers, breaches, outbox
  depth, the oldest due reminder, the worker heartbeat. Every process that serves /metrics reports the
  same figures; the dashboard (docs/grafana-dashboard.json) takes their ``max``.

With ``SLABOT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from bot import web

log = logging.getLogger(__name__)

disable_created_metrics()  # no ``*_created`` series beside each counter: Prometheus ignores them

REMINDER_LAG = Histogram(
    "slabot_reminder_lag_seconds",
    "Seconds from a reminder's due time to its post, observed by the worker that posted it.",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
SLACK_API_ERRORS = Counter(
    "slabot_slack_api_errors",
    "Slack Web API calls that failed, by method and Slack's error (or the HTTP status, or "
    "the connection error's type).",
    ["method", "error"],
)
HOOK_REQUESTS = Counter(
    "slabot_hook_requests",
    "Requests to the alert hooks (/hooks/<source>), by source and outcome.",
    ["source", "outcome"],
)
PAGES = Counter(
    "slabot_pages",
    "Events sent to a paging service (PagerDuty, Opsgenie), by service, action and outcome "
    "(sent, retry, failed).",
    ["service", "action", "outcome"],
)

HOOK_SOURCES = ("alertmanager", "grafana", "pagerduty", "opsgenie")
HOOK_OUTCOMES = (
    "declared", "joined", "restored", "proposed", "ignored", "unchanged",
    "unauthorized", "malformed", "too_large", "refused", "unavailable", "error",
)  # fmt: skip
"""What a hook request came to; any other word is counted as ``other`` (bounded labels)."""


def record_hook_outcome(source: str, outcome: str) -> None:
    """Count one request to ``/hooks/<source>`` that came to ``outcome`` (``HOOK_OUTCOMES``)."""
    source = source if source in HOOK_SOURCES else "other"
    outcome = outcome if outcome in HOOK_OUTCOMES else "other"
    HOOK_REQUESTS.labels(source, outcome).inc()


def record_slack_error(method: str, error: str) -> None:
    """Count a failed Slack Web API call (``bot.slack.client.MeteredWebClient``)."""
    SLACK_API_ERRORS.labels(method[:64], error[:64]).inc()


def observe_reminder_lag(kind: str, seconds: float) -> None:
    REMINDER_LAG.labels(kind).observe(max(0.0, seconds))


def record_page(service: str, action: str, outcome: str) -> None:
    PAGES.labels(service, action, outcome).inc()


for _source in HOOK_SOURCES:  # every series exists from the start, at 0
    for _outcome in HOOK_OUTCOMES:
        HOOK_REQUESTS.labels(_source, _outcome)
for _service in ("pagerduty", "opsgenie"):
    for _action in ("trigger", "resolve"):
        for _outcome in ("sent", "retry", "failed"):
            PAGES.labels(_service, _action, _outcome)


class DatabaseFigures:
    """The database's figures (``storage.gauges``), read at each scrape. When the database
    does not answer, only ``slabot_database_up 0`` is reported (and a warning logged)."""

    def __init__(self, ctx):
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        from bot.reminders.service import ALIVE_WITHIN
        from storage import gauges

        now = self.ctx.clock.now()
        up = GaugeMetricFamily("slabot_database_up", "1 when the database answered the scrape.")
        try:
            with self.ctx.db.read() as session:
                g = gauges.read(session, now, alive_within=ALIVE_WITHIN)
        except Exception as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        yield _labelled(
            GaugeMetricFamily, "slabot_open_incidents",
            "Incidents not yet resolved, by severity and state (declared, acknowledged, restored).",
            ["severity", "state"], g.open_incidents,
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "slabot_timers",
            "Timers of incidents not yet resolved, by timer and state (running, paused, "
            "overdue, met, breached).",
            ["timer", "state"], g.timers,
        )  # fmt: skip
        yield _labelled(
            CounterMetricFamily, "slabot_breaches",
            "Deadlines missed (the breach record), by timer.", ["timer"], g.breaches,
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "slabot_outbox_depth",
            "Outbox rows not yet done, by outbox (reminders, digests, tasks) and state (due, "
            "scheduled, claimed, failed).",
            ["outbox", "state"], g.outbox,
        )  # fmt: skip

        oldest = g.oldest_due_reminder
        yield GaugeMetricFamily(
            "slabot_oldest_due_reminder_age_seconds",
            "Seconds the oldest reminder still pending has been due (0: none is).",
            value=(now - oldest).total_seconds() if oldest is not None else 0.0,
        )
        beat = g.last_heartbeat
        yield GaugeMetricFamily(
            "slabot_worker_heartbeat_age_seconds",
            "Seconds since a running worker last said it is alive (+Inf: no worker running).",
            value=(now - beat).total_seconds() if beat is not None else float("inf"),
        )
        yield GaugeMetricFamily(
            "slabot_workers_alive",
            "Workers that said they are alive within the last 30 seconds.",
            value=g.workers_alive,
        )


def _labelled(family: type, name: str, text: str, labels: list[str], counts: dict) -> Metric:
    """A metric family with one sample per key of ``counts`` (a label value, or a tuple of
    them in ``labels``' order), in key order."""
    metric = family(name, text, labels=labels)
    for key, n in sorted(counts.items()):
        metric.add_metric([str(v) for v in (key if isinstance(key, tuple) else (key,))], n)
    return metric


class Scrape:
    """What one scrape reports: the process's metrics, then the database's."""

    def __init__(self, ctx, registry=REGISTRY):
        self.sources = [registry, DatabaseFigures(ctx)]

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def route(ctx, settings) -> Callable[[dict, Callable], Iterable[bytes]]:
    """The WSGI handler of ``GET /metrics`` (``bot.slack.app.wsgi_app`` and the worker's
    ``metrics_app``); refuses a scrape without the bearer token when one is set."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    scrape = Scrape(ctx)
    lock = threading.Lock()  # one scrape at a time: a storm of scrapes reads the database once each

    def metrics(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if token and not web.same_secret(web.bearer_token(environ), token):
            raise web.Refused(401, "metrics need Authorization: Bearer <SLABOT_METRICS_TOKEN>")
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT") or "")
        with lock:
            body = encoder(scrape)
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return metrics


def metrics_app(ctx, settings) -> Callable:
    """A WSGI app serving ``GET /metrics`` alone: the worker's (``--metrics-port``)."""
    metrics = route(ctx, settings)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            if (environ.get("PATH_INFO") or "") != "/metrics":
                raise web.Refused(404, "no such path: the worker serves /metrics only")
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                raise web.Refused(405, "use GET or HEAD")
            return metrics(environ, start_response)
        except web.Refused as refusal:
            web.refusals.refused(web.describe(environ), refusal.status, refusal.reason)
            return web.answer(start_response, refusal.status, {"error": refusal.reason})

    return application


def serve_in_background(ctx, settings, *, host: str, port: int):
    """Serve ``metrics_app`` on ``host``:``port`` (0: any free port) on a daemon thread;
    the server (``.effective_port``, ``.close()``)."""
    from bot.webserver import guarded_server

    server = guarded_server(metrics_app(ctx, settings), host=host, port=port, threads=2)
    threading.Thread(target=server.run, name="slabot-metrics", daemon=True).start()
    return server
