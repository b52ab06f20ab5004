"""Fuzzing ``/incident`` and ``/sla`` end to end: arbitrary text — any unicode, control
characters, very long, Slack's mention syntax raw and entity-encoded, quotes — sent signed
into the real Bolt app. Every command is answered (HTTP 200 and a reply, or the declaration
form), in time — by the app with Slack's ack budget, so at once or with "working on it" and
the answer after — with nothing unexplained; a refused one changes nothing; no answer and
no post pings anyone. (tests/slack/test_grammar.py holds the parser-level property; how long
answers take is measured by bench/slack_latency.py, not here.)"""

from __future__ import annotations

import json
import logging
import os
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.slack.loopback import RESPONSE_URL
from storage.models import Incident, ProcessedRequest
from tests.conftest import PATIENCE
from tests.slack.conftest import WORKING_ON_IT, make_workspace
from tests.slack.test_incident_commands import declared
from tests.slack.test_safety import mrkdwn_texts

EXAMPLES = int(os.environ.get("SLABOT_FUZZ_EXAMPLES", "60"))
"""Inputs tried per database; the drill runs thousands (docs/drills.md)."""
PINGS = re.compile(r"<!(channel|here|everyone|subteam)|<@(?!U1\b)")
"""A broadcast, a user group, or a mention of anyone but the one typing (U1)."""

SPECIAL = [
    "<!channel>", "&lt;!channel&gt;", "<!here|here>", "&lt;!everyone&gt;", "<@U3>", "&lt;@U3&gt;",
    "<!subteam^S1>", "<#C0GENERAL>", "&amp;", "&", '"', "'", "“", "`", "```", "*", "_", "~", ">",
    "\x00", "\n", "\t", "\r\n", "\x1b[31m", "\u202e", "\u200b", "\ufeff", "🔥", "ß", "İ", "١٢",
    "1", "sev1", "I", "critical", "for acme", "for", ",", "outage", "started", "started 5 minutes ago",
    "started 14:05", "INC-1", "inc-999", "2026-11", "2026-W47", "csv", "acme", "globex",
    "2026-11-25T22:00", "2026-11-25T23:30", "10 minutes ago", "tomorrow", "-1", "0", "9" * 30,
    "yesterday 23:40", "today 09:15", "20:00", "yes", "no", "25 %", "nan", "inf", "all",
]  # fmt: skip
VERBS = [
    "", "declare ", "declare 1 ", "declare 2 ", "new sev2 ", "ack ", "ack INC-1 ", "update ",
    "severity ", "severity INC-1 ", "pause ", "resume ", "restore ", "resolve ", "status ",
    "list ", "help ", "declair ", "ack at ", "restore ", "resolve at ", "started ", "outage ",
    "impact ", "customers add ", "customers remove ", "customers ", "exclude ", "include ",
    "reopen ",
]  # fmt: skip
SLA_VERBS = ["", "help ", "customers ", "policies ", "report ", "maintenance ", "maint ", "csv "]

words = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(SPECIAL)), max_size=12).map(
    " ".join
)
texts = st.one_of(
    words,
    st.text(max_size=200),  # any unicode, control characters included
    st.text(alphabet=st.characters(codec="utf-8"), min_size=3000, max_size=4000),  # very long
)
commands = st.one_of(
    st.tuples(st.just("/incident"), st.sampled_from(VERBS), texts),
    st.tuples(st.just("/sla"), st.sampled_from(SLA_VERBS), texts),
)


class Unexplained(logging.Handler):
    """Records the errors nobody expected (the catch-all's "command failed")."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def snapshot(database) -> dict:
    """Row counts of every table but the request ids (a refused request's id is kept, so a
    retry of the same delivery is not processed again), and the incidents' last change."""
    with database.read() as session:
        counts = {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in SQLModel.metadata.sorted_tables
            if table.name != ProcessedRequest.__tablename__
        }
        counts["changed"] = session.scalar(select(func.max(Incident.updated_at)))
    return counts


@pytest.fixture
def fuzzed(slack, ctx):
    channel = declared(
        make_workspace(slack, ctx, SLABOT_ADMINS="U1"), "declare 2 Checkout API down for acme"
    )
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U1", ack_budget=None)
    handler = Unexplained()
    logging.getLogger().addHandler(handler)
    yield workspace, channel, handler
    logging.getLogger().removeHandler(handler)


@settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(command=commands, in_incident_channel=st.booleans())
def test_any_command_text_is_answered_in_time_changes_nothing_when_refused_and_pings_nobody(
    fuzzed, slack, command, in_incident_channel
):
    workspace, incident_channel, unexplained = fuzzed
    name, verb, text = command
    channel = incident_channel if in_incident_channel else "C0GENERAL"
    assert workspace.edge.wait_idle(PATIENCE)
    before, calls = snapshot(workspace.ctx.db), len(slack.calls)
    unexplained.records.clear()
    response = workspace.command(name, verb + text, channel=channel)
    assert workspace.edge.wait_idle(PATIENCE)

    assert response.status == 200, response.body
    body = json.loads(response.body) if response.body else {}
    answer = body.get("text", "")
    if answer.startswith(WORKING_ON_IT):  # it took longer than the ack budget: it followed
        answer = [c for c in slack.calls[calls:] if c.method == RESPONSE_URL][-1].params["text"]
    if not answer:  # a bare /incident opens the declaration form instead
        assert name == "/incident" and not (verb + text).strip(), response.body
        assert slack.calls_to("views.open")
    refused = answer.startswith("⚠️") or answer == "(already handled)"
    event(f"{name} {'refused' if refused else 'answered' if answer else 'form'}")
    if refused:
        assert snapshot(workspace.ctx.db) == before, answer
    assert unexplained.records == [], [logging.Formatter().format(r) for r in unexplained.records]
    for surface in [body, *(c.params for c in slack.calls[calls:] if c.method != "views.open")]:
        shown = [surface.get("text", ""), *mrkdwn_texts(surface.get("blocks", []))]
        assert not [t for t in shown if PINGS.search(t)], shown


def test_control_characters_in_typed_or_imported_text_are_dropped_not_a_crash(slack, ctx):
    """Found by the fuzzer: PostgreSQL refuses a NUL, so ``declare 1 \\x00`` was an
    unexplained error there (and a title nobody could see on SQLite)."""
    from bot.incidents import service
    from bot.incidents.importer import import_history

    workspace = make_workspace(slack, ctx)

    assert workspace.ack_text(workspace.incident("declare 1 \x00")).startswith(
        "⚠️ a title is required"
    )
    channel = declared(workspace, "declare 1 \x1b[31mCheckout\x00 down\x7f")
    workspace.incident("update Line one\r\nline\x00 two\tend", channel=channel)
    ctx = workspace.ctx
    view = service.get(ctx, "INC-1")
    assert view.title == "[31mCheckout down"
    assert service.timeline(ctx, "INC-1")[-1].text == "Line one\nline two\tend"
    import_history(ctx, [{
        "ref": "INC-OLD", "title": "Old\x00 outage", "severity": 2,
        "declared_at": "2026-10-05T10:00:00Z", "resolved_at": "2026-10-05T11:00:00Z",
    }])  # fmt: skip
    assert service.get(ctx, "INC-OLD").title == "Old outage"
