"""Severities as typed, through signed requests: each contract's own names for the contracts
the incident touches, and nothing that only looks like a level."""

from __future__ import annotations

import pytest

from bot.incidents import service


def severities(workspace) -> dict[str, int]:
    return {v.ref: v.severity for v in service.list_incidents(workspace.ctx, open_only=False)}


@pytest.mark.parametrize("typed", ["-1", "_1", "s-2", "p_1", "sev--1", "0", "sev0"])
def test_a_sign_or_stray_separator_is_no_severity(workspace, typed):
    answer = workspace.ack_text(workspace.incident(f"declare {typed} Checkout down"))
    assert f"'{typed}' is not a severity" in answer
    assert "1, sev1, SEV-1, s1, p1 or I" in answer
    assert severities(workspace) == {}


@pytest.mark.parametrize("typed", ["sev-2", "SEV_2", "s2", "P2", "II", "severity-2"])
def test_the_level_spellings_still_read(workspace, typed):
    workspace.ack_text(workspace.incident(f"declare {typed} Checkout down"))
    assert severities(workspace) == {"INC-1": 2}


def test_a_customers_contract_names_its_levels(workspace):
    """acme is on dixa, whose levels are Critical, High, Medium and Low Impact; the
    deployment's own contract (messaging-platform) names them Severity I, II, III."""
    answer = workspace.ack_text(workspace.incident("declare critical Checkout down for acme"))
    assert "declared" in answer, answer
    workspace.ack_text(workspace.incident("declare High Impact Search slow for acme"))
    assert severities(workspace) == {"INC-1": 1, "INC-2": 2}


def test_a_name_of_another_contract_is_refused_listing_what_this_one_accepts(workspace):
    """``critical`` is dixa's word: an incident under messaging-platform (no customer named)
    or globex's contract has no level by that name."""
    for text in ("declare critical Checkout down", "declare critical Checkout down for globex"):
        answer = workspace.ack_text(workspace.incident(text))
        assert "'critical' is not a severity" in answer, answer
        assert "messaging-platform" in answer and "critical (1)" not in answer
    assert severities(workspace) == {}


def test_a_word_no_contract_uses_is_refused_before_anything_is_read(workspace, slack):
    answer = workspace.ack_text(workspace.incident("declare urgent Checkout down for acme"))
    assert "'urgent' is not a severity" in answer
    assert "critical (1), high (2), medium (3), low (4)" in answer  # dixa's, for acme
    assert severities(workspace) == {} and slack.calls_to("conversations.create") == []


def test_regrading_reads_names_by_the_incidents_own_contracts(workspace):
    workspace.ack_text(workspace.incident("declare 3 Checkout down for acme"))
    workspace.ack_text(workspace.incident("declare 3 Search slow"))
    answer = workspace.ack_text(workspace.incident("severity INC-1 high"))
    assert "2" in answer and severities(workspace)["INC-1"] == 2
    refused = workspace.ack_text(workspace.incident("severity INC-2 high"))
    assert "'high' is not a severity" in refused and "messaging-platform" in refused
    assert severities(workspace)["INC-2"] == 3


@pytest.mark.parametrize("typed", ["-3", "_3", "s-3", "2 3"])
def test_regrading_to_a_signed_or_stray_level_is_refused(workspace, typed):
    workspace.ack_text(workspace.incident("declare 2 Checkout down"))
    answer = workspace.ack_text(workspace.incident(f"severity INC-1 {typed}"))
    assert "severity" in answer and "1, sev1, SEV-1, s1, p1 or I" in answer, answer
    assert severities(workspace) == {"INC-1": 2}
