"""The correction verbs of ``/incident``, without Slack: what each parses into."""

from __future__ import annotations

import pytest

from bot.slack.grammar import Change, Correct, IncidentVerb, UsageError, parse_incident

V = IncidentVerb


@pytest.mark.parametrize(("text", "expected"), [
    ("ack at 09:50", Change(V.ACK, at="09:50")),
    ("ack 5 minutes ago", Change(V.ACK, at="5 minutes ago")),
    ("restore INC-7 at yesterday 23:40", Change(V.RESTORE, "INC-7", at="yesterday 23:40")),
    ("resolve at 20:00 Replaced the node", Change(V.RESOLVE, text="Replaced the node", at="20:00")),
    ("resolve 10 minutes ago", Change(V.RESOLVE, at="10 minutes ago")),
    ("resolve Replaced the node at 20:00", Change(V.RESOLVE, text="Replaced the node at 20:00")),
    ("started 2026-11-20T09:30", Correct(V.STARTED, when="2026-11-20T09:30")),
    ("start at 09:30", Correct(V.STARTED, when="09:30")),
    ("outage YES", Correct(V.OUTAGE, outage=True)),
    ("outage off", Correct(V.OUTAGE, outage=False)),
    ("impact 25%", Correct(V.IMPACT, impact_pct=25.0)),
    ("impact unknown", Correct(V.IMPACT, impact_pct=None)),
    ("customers add acme globex", Correct(V.CUSTOMERS, add=("acme", "globex"))),
    ("customers add Acme Retail Inc., globex", Correct(V.CUSTOMERS, add=("Acme Retail Inc.", "globex"))),
    ("customers remove acme", Correct(V.CUSTOMERS, remove=("acme",))),
    ("customers all", Correct(V.CUSTOMERS, every_customer=True)),
    ("exclude customer's own network", Correct(V.EXCLUDE, text="customer's own network")),
    ("include", Correct(V.INCLUDE)),
    ("reopen INC-7 it came back", Correct(V.REOPEN, "INC-7", text="it came back")),
    ("reopen", Correct(V.REOPEN)),
])  # fmt: skip
def test_a_correction_verb_parses(text, expected):
    assert parse_incident(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("ack soonish", "`/incident ack` takes no text (got `soonish`), only a time"),
    ("restore at 20:00 done", "`/incident restore` takes no text (got `at 20:00 done`)"),
    ("resolve at", "`at` needs a time"),
    ("started", "say when it started"),
    ("started in a bit", "say when it started"),
    ("outage maybe", "say whether the service was down"),
    ("impact lots", "`lots` is not a percentage"),
    ("impact 0", "0 % is not a share of traffic"),
    ("customers", "say which customers"),
    ("customers add ,", "say which customers to add"),
    ("customers swap acme", "say which customers to add or remove"),
    ("exclude", "an exclusion needs a reason"),
    ("include please", "`/incident include` takes no text"),
    ("correct", "the card's ⋯ menu has a form"),
])  # fmt: skip
def test_a_correction_verb_that_cannot_be_read_says_what_is_accepted(text, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_incident(text)
