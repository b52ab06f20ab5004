"""The HTML and Markdown documents: self-contained, holding the hand-computed figures of
tests/statements/test_service.py, and nothing about any other customer."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.incidents import service
from bot.reports.statement import customer_statement
from bot.statements import filename, render
from bot.statements.html import render_html
from bot.statements.markdown import render_markdown
from tests.conftest import T0
from tests.statements.conftest import SEEDS

CUSTOMERS = {
    "acme": "Acme Retail Inc.", "nordlys": "Nordlys ApS", "globex": "Globex Messaging BV",
    "umbrella": "Umbrella Telecom", "initech": "Initech University",
}  # fmt: skip

# What a reader must find in each seed contract's statement (hand-computed in test_service.py).
FIGURES = {
    ("nordlys", "2026-10"): [
        "Nordlys ApS", "October 2026", "Dixa Service-level Agreement, last updated 2018-04-03",
        "99.5525 %", "commitment 99.9 %", "not met", "3h 20m", "200 of 44,700 minutes",
        "(44,700 − 200) ÷ 44,700 × 100", "INC-B", "INC-K", "customer's own network",
        "1,500.00 DKK", "§6 SLAs and credits", "30 November 2026", "Downtime per day, October 2026",
        "2026-10-25 02:30 CEST", "2026-10-25 03:30 CET",
    ],
    ("umbrella", "2026-10"): [
        "Umbrella Telecom", "2026 through 2026-10-31", "99.9296 %", "commitment 99.99 %",
        "370 of 525,600 minutes", "INC-C", "INC-D", "INC-E", "5,000.00 EUR", "§5.2 (a)",
        "The contract names no claim window for this refund.", "Downtime per month, 2026",
        "Downtime per day, October 2026",
    ],
    ("initech", "2026"): [
        "Initech University", "2026", "99.8706 %", "680 of 525,600 minutes", "3h 30m",
        "Response times", "4 of 11", "missed", "450.00 EUR", "270.00 EUR", "720.00 EUR",
        "Uptime Commitment and Uptime Service Credit",
        "Response Time Commitment and Response Time Service Credit", "30 January 2027",
        "30 min overlapped DS-5, counted once", "MW-3", "4 business hours",
    ],
}  # fmt: skip


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_the_html_is_one_self_contained_page_for_a4(seed_statements, key):
    page = render_html(seed_statements[key])
    assert page.startswith("<!DOCTYPE html>")
    assert "@page { size: A4;" in page
    for fetches in ("<script", "<link", "<img", "<iframe", "url(", "@import", "src=", "href="):
        assert fetches not in page
    # The one address is the SVG namespace, which names and fetches nothing.
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<svg") == len(seed_statements[key].charts) >= 1


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_each_document_holds_the_figures(seed_statements, key):
    statement = seed_statements[key]
    page, markdown = render_html(statement), render_markdown(statement)
    text = re.sub(r"<[^>]+>", " ", page).replace("&#x27;", "'")
    for figure in FIGURES[key]:
        assert figure in text, figure
        assert figure in markdown.replace("**", ""), figure


@pytest.mark.parametrize("key", SEEDS, ids="-".join)
def test_nothing_about_any_other_customer(seed_statements, key):
    customer = key[0]
    for output in ("html", "md"):
        document = render(seed_statements[key], output).decode()
        for other, name in CUSTOMERS.items():
            if other != customer:
                assert other not in document.lower() and name not in document


def test_the_file_is_named_after_the_customer_and_period(seed_statements):
    assert filename(seed_statements[("nordlys", "2026-10")], "pdf") == (
        "slabot-statement-nordlys-2026-10.pdf"
    )


def test_text_people_typed_is_shown_as_typed_and_never_as_markup(ctx):
    service.declare(
        ctx, title='<script>alert("x")</script> | pipes & <b>bold</b>', severity=1, actor="U1",
        customers=["nordlys"], outage=True, started_at=T0 - dt.timedelta(hours=1),
    )  # fmt: skip
    statement = customer_statement(ctx, "2026-11", "nordlys")
    page, markdown = render_html(statement), render_markdown(statement)
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; | pipes &amp; &lt;b&gt;" in page
    row = next(line for line in markdown.splitlines() if "alert" in line)
    assert '<script>alert("x")</script> \\| pipes & <b>bold</b>' in row
    assert row.count(" | ") == 5  # the title's pipe does not add a column


def test_a_quiet_period_says_so(ctx):
    statement = customer_statement(ctx, "2026-11", "globex")
    page = render_html(statement)
    assert "No outage affected Globex Messaging BV in this period." in page
    assert "No downtime" in page  # on the chart
    assert "This period owes no credit." in page
    assert "Nothing to claim for this period." in page
