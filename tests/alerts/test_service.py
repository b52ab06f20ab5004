"""The alerts service on its own: the race a unique claim settles, and the timeline."""

from __future__ import annotations

import datetime as dt

from bot.alerts import service
from bot.alerts.rules import load_rules
from bot.alerts.sources import Alert
from bot.incidents import service as incidents
from config.settings import DEFAULT_ALERTS_FILE
from storage.models import EventKind
from tests.conftest import T0

STARTED = T0 - dt.timedelta(minutes=5)


class Told:
    """An announcer that writes down what it was asked to say."""

    def __init__(self):
        self.said: list[tuple[str, str]] = []

    def declare(self, ctx, also, **fields):
        view = incidents.declare(ctx, **fields, also=also)
        self.said.append(("declared", view.ref))
        return view

    def restored(self, view, source):
        self.said.append(("restored", view.ref))

    def proposed(self, anchor_id, proposal):
        self.said.append(("proposed", str(anchor_id)))
        return None

    def settled(self, proposal, text):
        self.said.append(("settled", text))


def alert(key: str, *, firing: bool = True, group: str | None = "g", **labels) -> Alert:
    return Alert(
        source="alertmanager", key=key, firing=firing, started_at=STARTED,
        ended_at=None if firing else T0, group=group, title=f"alert {key}",
        labels={"severity": "critical", **labels},
    )  # fmt: skip


def test_a_delivery_that_loses_the_race_rolls_back_and_joins_the_winners_incident(ctx, monkeypatch):
    rules, told = load_rules(DEFAULT_ALERTS_FILE), Told()
    assert service.receive(ctx, rules, [alert("a")], told).declared == ["INC-1"]
    looked = []
    real = service._join

    def blind_once(*args):  # the winner's claim was not yet committed when this one looked
        looked.append(1)
        return False if len(looked) == 1 else real(*args)

    monkeypatch.setattr(service, "_join", blind_once)
    outcome = service.receive(ctx, rules, [alert("a"), alert("b")], told)
    assert (outcome.declared, outcome.joined, len(looked)) == ([], ["INC-1"], 2)
    assert [v.ref for v in incidents.list_incidents(ctx, open_only=False)] == ["INC-1"]
    assert told.said == [("declared", "INC-1")]
    kinds = [(e.kind, e.actor) for e in incidents.timeline(ctx, "INC-1")]
    assert kinds == [(EventKind.DECLARED, "alertmanager"), (EventKind.ALERT, "alertmanager")]


def test_an_alert_firing_again_on_a_restored_incident_joins_it_and_the_restore_stands(ctx):
    rules, told = load_rules(DEFAULT_ALERTS_FILE), Told()
    service.receive(ctx, rules, [alert("a")], told)
    ctx.clock.advance(dt.timedelta(minutes=10))
    assert service.receive(ctx, rules, [alert("a", firing=False)], told).restored == ["INC-1"]
    ctx.clock.advance(dt.timedelta(minutes=10))
    outcome = service.receive(ctx, rules, [alert("a")], told)
    assert (outcome.declared, outcome.joined) == ([], ["INC-1"])
    assert incidents.timeline(ctx, "INC-1")[-1].text == "1 firing again: alert a"
    assert incidents.get(ctx, "INC-1").restored_at == T0


def test_an_unknown_customer_label_declares_for_no_customer_and_says_so(ctx):
    rules, told = load_rules(DEFAULT_ALERTS_FILE), Told()
    service.receive(ctx, rules, [alert("a", customer="wayne-enterprises")], told)
    view = incidents.get(ctx, "INC-1")
    assert view.customers == ()
    assert "wayne-enterprises, not a customer" in incidents.timeline(ctx, "INC-1")[-1].text


def test_an_alert_resent_after_a_person_resolved_its_incident_declares_nothing(ctx):
    rules, told = load_rules(DEFAULT_ALERTS_FILE), Told()
    service.receive(ctx, rules, [alert("a"), alert("b")], told)
    incidents.resolve(ctx, "INC-1", "U1", "mitigated; the alert is being retuned")
    ctx.clock.advance(dt.timedelta(hours=4))  # Alertmanager's repeat_interval
    outcome = service.receive(ctx, rules, [alert("a"), alert("b")], told)
    assert (outcome.declared, outcome.unchanged) == ([], 1)
    assert told.said == [("declared", "INC-1")]
    later = Alert(
        source="alertmanager", key="a", firing=True, started_at=T0 + dt.timedelta(hours=3),
        group="g", title="alert a", labels={"severity": "critical"},
    )  # fmt: skip
    assert service.receive(ctx, rules, [alert("b"), later], told).declared == ["INC-2"]
    assert incidents.get(ctx, "INC-2").impact_start == T0 + dt.timedelta(hours=3)


def test_a_joining_alert_that_began_earlier_is_noted_and_the_start_kept(ctx):
    rules, told = load_rules(DEFAULT_ALERTS_FILE), Told()
    service.receive(ctx, rules, [alert("a")], told)
    earlier = Alert(
        source="alertmanager", key="b", firing=True, started_at=STARTED - dt.timedelta(minutes=3),
        group="g", title="alert b", labels={"severity": "critical"},
    )  # fmt: skip
    assert service.receive(ctx, rules, [earlier], told).joined == ["INC-1"]
    assert incidents.get(ctx, "INC-1").impact_start == STARTED
    note = incidents.timeline(ctx, "INC-1")[-1].text
    assert "before the incident's start: `/incident correct` moves it" in note
