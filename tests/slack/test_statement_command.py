"""/sla statement through the real Bolt app, on the fixture history: managers and admins get
the file in their direct messages, made after the command was answered."""

from __future__ import annotations

import threading

import pytest

from bot.reports import statement as statements
from bot.slack import handlers
from bot.slack.grammar import Statement, UsageError, parse_sla
from bot.slack.loopback import UPLOAD_URL
from bot.slack.loopback import Reply as Scripted
from tests.conftest import import_fixture_history
from tests.slack.conftest import answer, make_workspace

MANAGER = "U2"  # bo, New York, via the user group S1
WAIT = 60.0
"""Seconds to wait for work done after the ack: it bounds a hang, it is not a speed test."""


@pytest.fixture
def history(ctx):
    import_fixture_history(ctx)


@pytest.fixture
def workspace(slack, ctx, history):
    return make_workspace(slack, ctx, SLABOT_MANAGERS="S1")


def uploaded(slack) -> dict:
    slack.wait_for("files.completeUploadExternal", timeout=WAIT)
    (file,) = slack.files.values()
    return file


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("statement acme", Statement("acme", None, "pdf")),
        ("statement acme 2026-10", Statement("acme", "2026-10", "pdf")),
        ("statement 2026 Nordlys ApS html", Statement("Nordlys ApS", "2026", "html")),
        (
            'statement "Acme Retail Inc." markdown 2026-10',
            Statement("Acme Retail Inc.", "2026-10", "md"),
        ),
    ],
)
def test_statement_words_in_any_order(text, parsed):
    assert parse_sla(text) == parsed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("statement", "say whose statement: `/sla statement <customer>"),
        ("statement acme 2026/10", "`2026/10` is not a period"),
        ("statement acme 2026 2025", "give one period, not `2026` and `2025`"),
        ("statement acme pdf md", "give one format, not `pdf` and `md`"),
    ],
)
def test_a_statement_command_that_does_not_parse_says_what_is_accepted(text, says):
    with pytest.raises(UsageError) as refused:
        parse_sla(text)
    assert says in str(refused.value)


def test_a_manager_gets_the_statement_in_their_direct_messages(workspace, slack):
    body = answer(workspace.sla("statement nordlys 2026-10 html", user=MANAGER))
    assert body["response_type"] == "ephemeral"
    assert body["text"] == (
        "📄 Making the SLA statement of *Nordlys ApS* for 2026-10 (HTML); it will be in your "
        "direct messages with slabot."
    )
    file = uploaded(slack)
    dm = slack.calls_to("conversations.open")[-1]
    assert dm.params["users"] == MANAGER
    assert file["channel_id"] == dm.response["channel"]["id"]  # not #general, where it was asked
    assert file["filename"] == "slabot-statement-nordlys-2026-10.html"
    assert file["initial_comment"] == "SLA statement of Nordlys ApS for October 2026"
    page = file["bytes"].decode("utf-8")
    for figure in ("99.5525 %", "1,500.00 DKK", "30 November 2026", "§6 SLAs and credits"):
        assert figure in page
    assert all(c.params.get("channel") != "C0GENERAL" for c in slack.calls_to("chat.postMessage"))


def test_the_command_is_answered_before_the_statement_is_made(workspace, slack, monkeypatch):
    """The answer does not wait for the statement: making it waits here until the answer
    has arrived, and the file follows."""
    answered = threading.Event()
    real = statements.customer_statement

    def after_the_answer(*args, **kwargs):
        assert answered.wait(WAIT), "the statement was made before the command was answered"
        return real(*args, **kwargs)

    monkeypatch.setattr(statements, "customer_statement", after_the_answer)
    body = answer(workspace.sla("statement umbrella 2026-10 md", user=MANAGER))
    assert body["text"].startswith("📄 Making the SLA statement of *Umbrella Telecom*")
    assert slack.calls_to("files.completeUploadExternal") == []
    answered.set()
    file = uploaded(slack)
    assert file["filename"] == "slabot-statement-umbrella-2026-10.md"
    assert "5,000.00 EUR" in file["bytes"].decode("utf-8")


def test_no_period_means_last_month_in_the_readers_zone(workspace, slack):
    """T0 is 20 November: last month is October, in New York as in Copenhagen."""
    body = answer(workspace.sla("statement acme md", user=MANAGER))
    assert "for 2026-10 (MD)" in body["text"]
    assert uploaded(slack)["filename"] == "slabot-statement-acme-2026-10.md"


def test_without_chromium_a_pdf_comes_as_html_and_says_why(workspace, slack, monkeypatch):
    monkeypatch.setattr(handlers, "find_chromium", lambda: None)
    answer(workspace.sla("statement nordlys 2026-10", user=MANAGER))
    file = uploaded(slack)
    assert file["filename"] == "slabot-statement-nordlys-2026-10.html"
    assert "a PDF needs Chromium on slabot's server" in file["initial_comment"]


def test_statements_are_for_those_who_may_see_money(workspace, slack):
    body = answer(workspace.sla("statement nordlys 2026-10", user="U1"))
    assert body["text"].startswith("⚠️ ")
    assert "for managers and admins (SLABOT_MANAGERS, SLABOT_ADMINS)" in body["text"]
    assert slack.calls_to("files.getUploadURLExternal") == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("statement nordlis 2026-10", "'nordlis' is not a customer (did you mean 'nordlys'?)"),
        ("statement nordlys 2026-13", "'2026-13' has no month 13"),
        ("statement nordlys 2027", "2027 has not begun yet in Europe/Copenhagen"),
    ],
)
def test_a_statement_that_makes_no_sense_is_refused_at_once(workspace, slack, text, says):
    body = answer(workspace.sla(text, user=MANAGER))
    assert body["text"].startswith("⚠️ ") and says in body["text"]
    assert "`/sla statement &lt;customer&gt; [&lt;YYYY-MM&gt;|&lt;YYYY&gt;]" in body["text"]
    assert workspace.edge.wait_idle(WAIT)
    assert slack.calls_to("files.getUploadURLExternal") == []


def test_when_slack_refuses_the_file_the_manager_is_told_how_to_make_it(workspace, slack):
    slack.script("files.completeUploadExternal", Scripted(error="not_allowed_token_type"))
    answer(workspace.sla("statement nordlys 2026-10 md", user=MANAGER))
    (told,) = slack.wait_for(
        "chat.postMessage", timeout=WAIT, where=lambda c: "refused" in c.params.get("text", "")
    )
    assert told.params["text"] == (
        "⚠️ Slack refused the statement (not_allowed_token_type); `slabot statement --customer "
        "nordlys --period 2026-10 --format md` makes the same file."
    )
    assert [c.method for c in slack.calls if c.method == UPLOAD_URL]  # it had tried
