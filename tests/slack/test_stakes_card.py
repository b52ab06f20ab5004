"""The card says what an outage puts at stake, through the real Bolt app (docs/semantics.md
§6, "At stake in an incident"): minutes and percentages, never amounts."""

from __future__ import annotations

from tests.slack.conftest import text_of
from tests.slack.test_incident_commands import declared


def test_the_card_shows_each_customers_next_tier_and_count_rule_and_no_amount(workspace, slack):
    channel = declared(workspace, "declare sev1 Checkout API down for acme, globex outage")
    card = text_of(slack.calls_to("chat.postMessage")[0])
    # acme: Dixa in New York; November 2026 there has 43,260 minutes, 43 min 15.6 s before
    # the 5 % tier. globex: the messaging platform, no tiers; its first severity 1 failure.
    assert "*At stake*" in card
    assert "*acme*: 43 min to the 5 % tier (dixa, November 2026) · <!date^" in card
    assert "*globex*: 1st severity 1 failure within 28d: 3 more refund the month" in card
    assert card.index("*acme*") < card.index("*globex*")  # the nearest crossing first
    assert not any(currency in card for currency in ("USD", "EUR", "DKK"))
    # Restored: no more budget is spent, and the card, updated in place, drops the tier; the
    # failure still counts towards globex's refund.
    workspace.incident("restore", channel=channel)
    updated = text_of(slack.calls_to("chat.update")[-1])
    assert "*acme*" not in updated and "*globex*: 1st severity 1 failure" in updated
