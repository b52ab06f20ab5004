"""Whatever order and batches a group's alerts arrive in, the incident starts when the first
delivery's first alert began firing (a later one that began earlier is noted, not moved:
docs/decisions.md) and is restored, once, when the last one ended."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts import service
from bot.alerts.rules import load_rules
from bot.alerts.sources import Alert
from bot.incidents import service as incidents
from config.settings import DEFAULT_ALERTS_FILE
from tests.alerts.test_service import Told
from tests.conftest import T0, empty

M = dt.timedelta(minutes=1)
RULES = load_rules(DEFAULT_ALERTS_FILE)


def batches(items: list, cuts: list[int]) -> list[list]:
    """``items`` cut into consecutive deliveries at ``cuts``."""
    edges = sorted({c % (len(items) + 1) for c in cuts} | {0, len(items)})
    return [items[a:b] for a, b in itertools.pairwise(edges) if items[a:b]]


alerts = st.lists(
    st.tuples(st.integers(0, 600), st.integers(1, 300)), min_size=1, max_size=5
)  # (minutes before T0 it began, minutes after T0 it ended)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spans=alerts,
    fire_order=st.randoms(use_true_random=False),
    resolve_order=st.randoms(use_true_random=False),
    fire_cuts=st.lists(st.integers(0, 6), max_size=4),
    resolve_cuts=st.lists(st.integers(0, 6), max_size=4),
)
def test_a_group_starts_at_its_first_alert_and_is_restored_at_its_last(
    ctx, clock, spans, fire_order, resolve_order, fire_cuts, resolve_cuts
):
    empty(ctx.db)
    clock.set(T0)
    told = Told()

    def alert(i: int, firing: bool) -> Alert:
        began, ended = spans[i]
        return Alert(
            source="alertmanager", key=f"k{i}", firing=firing, started_at=T0 - began * M,
            ended_at=None if firing else T0 + ended * M, group="g", title=f"alert {i}",
            labels={"severity": "high"},
        )  # fmt: skip

    firing = [alert(i, True) for i in range(len(spans))]
    fire_order.shuffle(firing)
    deliveries = batches(firing, fire_cuts)
    for delivery in deliveries:
        service.receive(ctx, RULES, delivery, told)
    clock.set(T0 + 301 * M)
    resolved = [alert(i, False) for i in range(len(spans))]
    resolve_order.shuffle(resolved)
    for delivery in batches(resolved, resolve_cuts):
        service.receive(ctx, RULES, delivery, told)

    (view,) = incidents.list_incidents(ctx, open_only=False)
    assert view.impact_start == min(a.started_at for a in deliveries[0])
    assert view.restored_at == T0 + max(e for _, e in spans) * M
    assert [kind for kind, _ in told.said] == ["declared", "restored"]
