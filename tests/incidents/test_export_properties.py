"""A random sequence of corrections (and re-grades, updates, pauses) followed by export →
import into an empty database gives the same reports, timers and recorded breaches (SQLite
and PostgreSQL): the export carries the record as the corrections left it."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import Refusal
from bot.incidents import exporter, service
from bot.incidents.importer import import_history
from bot.incidents.record import incident_record
from bot.reports.service import customer_report
from tests.conftest import T0, empty
from tests.incidents.test_correction_properties import CUSTOMERS, M, corrections, timers

actions = st.one_of(
    corrections,
    st.just("update"),
    st.just("pause"),
    st.just("resume"),
)
steps = st.lists(st.tuples(st.integers(0, 40), actions), max_size=8)


def read_back(ctx):
    """Every report figure of the incident's month and year, each incident's timers and breaches."""
    reports = [customer_report(ctx, month).as_json() for month in ("2026-11", "2026")]
    views = service.list_incidents(ctx, open_only=False)
    return (
        reports,
        {v.ref: timers(v) for v in views},
        {v.ref: incident_record(ctx, v.ref).breaches for v in views},
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    started=st.sampled_from([0, 5, 20, 45, 180]),
    severity=st.sampled_from([1, 2, 3]),
    customers=st.sampled_from(CUSTOMERS),
    history=steps,
)
def test_corrections_survive_export_and_import(ctx, clock, started, severity, customers, history):
    empty(ctx.db)
    clock.set(T0)
    ref = service.declare(
        ctx, title="Corrected", severity=severity, actor="U1", customers=customers,
        outage=True, started_at=T0 - started * M,
    ).ref  # fmt: skip
    for minutes, step in history:
        clock.advance(minutes=minutes)
        try:
            if step == "update":
                service.post_update(ctx, ref, "still digging", "U2")
            elif step == "pause":
                service.pause(ctx, ref, "waiting for the customer", "U2")
            elif step == "resume":
                service.resume(ctx, ref, "U2")
            elif isinstance(step, int):
                service.change_severity(ctx, ref, step, "U1")
            else:
                service.correct(ctx, ref, step, "U1", reason="x", admin=True)
        except Refusal:
            pass  # refused steps change nothing (tests/incidents/test_corrections.py)
    before = read_back(ctx)
    exported = json.loads(exporter.as_json(exporter.export_history(ctx)))

    empty(ctx.db)
    import_history(ctx, exported["incidents"], exported["maintenance"])
    assert read_back(ctx) == before
