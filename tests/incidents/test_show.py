"""``slabot incidents show``: the facts, each timer with its history (re-grades, pauses,
corrections, breaches), each contract's outcome and the timeline; as text, Markdown and
JSON whose keys docs/record.md documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.incidents.test_export import rich_history, run

DOC = (Path(__file__).resolve().parents[2] / "docs" / "record.md").read_text()


def test_a_regrade_after_a_breach_shows_the_breach_and_what_became_of_it(cli_history, ctx, clock):
    rich_history(ctx, clock)  # INC-15: Sev 1 for acme (5m response), breached, re-graded to 2
    text = run("incidents", "show", "INC-15")
    assert text.splitlines()[0] == "INC-15: Payments down"
    assert "  Started: 2026-11-20 03:00 UTC\n" in text
    assert "  Declared: 2026-11-20 04:00 UTC by U1\n" in text
    assert "  Summary: the processor's certificate\n  had expired\n" in text
    response = text[text.index("  response met") : text.index("  restore met")]
    assert response.splitlines() == [
        "  response met · 1bh business (dixa for acme) · due 2026-11-20 14:00 UTC"
        " · stopped 2026-11-20 04:40 UTC",
        "    response breached 2026-11-20 03:05 UTC under Sev 1; re-graded to Sev 2 at"
        " 2026-11-20 04:40 UTC (response met under Sev 2)",
        "    2026-11-20 04:40 UTC · U2 re-graded Sev 1 → Sev 2: due 2026-11-20 03:05 UTC →"
        " 2026-11-20 14:00 UTC",
    ]
    assert (
        "    2026-11-20 04:40 UTC · U2 paused it until 2026-11-20 05:10 UTC:"
        " waiting for the processor\n" in text
    )
    assert "  acme — dixa for acme: response met, restore met\n" in text
    timeline = text[text.index("TIMELINE") :].splitlines()[1:]
    assert timeline[:3] == [
        "  2026-11-20 04:00 UTC · U1 declared: Payments down",
        "  2026-11-20 04:40 UTC · U2 posted an update: looking at the card processor",
        "  2026-11-20 04:40 UTC · U2 re-graded: severity 1 → 2",
    ]


def test_a_correction_is_in_the_timeline_and_in_the_history_of_the_timers_it_moves(
    cli_history, ctx, clock
):
    rich_history(ctx, clock)
    markdown = run("incidents", "show", "INC-A", "--format", "markdown")
    assert markdown.startswith("# INC-A: Checkout down\n\n## Facts\n\n- Severity: 1")
    restore = markdown[markdown.index("- restore met") :].splitlines()
    assert restore[1] == (
        "  - 2026-11-20 09:00 UTC · ana corrected restored 2026-10-05 10:30 UTC →"
        " 2026-10-05 12:30 UTC (reason: checked against the logs)"
    )
    response = markdown[markdown.index("- response met") :].splitlines()
    assert response[1].startswith("- restore met")  # the restore does not move the response
    assert markdown.rstrip().endswith(
        "- 2026-11-20 09:00 UTC · ana corrected restored 2026-10-05 10:30 UTC → 2026-10-05"
        " 12:30 UTC; resolved 2026-10-05 11:00 UTC → 2026-10-05 12:30 UTC (reason: checked"
        " against the logs)"
    )


def test_every_contract_gives_its_own_verdict(cli_history):
    shown = json.loads(run("incidents", "show", "INC-A", "--format", "json"))
    assert [(o["customer"], o["contract"]) for o in shown["outcomes"]] == [
        ("acme", "dixa for acme")
    ]
    both = json.loads(run("incidents", "show", "INC-E", "--format", "json"))
    assert [o["customer"] for o in both["outcomes"]] == ["globex", "umbrella"]
    everyone = json.loads(run("incidents", "show", "INC-B", "--format", "json"))
    assert [(o["customer"], o["contract"]) for o in everyone["outcomes"]] == [
        (None, "messaging-platform")
    ]


def test_the_json_keys_are_the_documented_ones(cli_history, ctx, clock):
    rich_history(ctx, clock)
    shown = json.loads(run("incidents", "show", "INC-15", "--format", "json"))
    documented = set(re.findall(r"`([a-z_]+)`", DOC))
    keys = set(shown) | set(shown["facts"]) | set(shown["timeline"][0])
    for timer in shown["timers"].values():
        keys |= set(timer)
        for entry in timer["history"]:
            keys |= set(entry) | {entry["what"]}
    for outcome in shown["outcomes"]:
        keys |= set(outcome)
    keys |= set(shown["corrections"][0]) if shown["corrections"] else set()
    assert keys - documented == set()
    assert shown["timers"]["response"]["history"][0]["what"] == "breached"
    assert shown["timers"]["response"]["history"][0]["stands"] is False


def test_an_unknown_incident_exits_1(cli_db):
    result = CliRunner().invoke(main, ["incidents", "show", "INC-404"])
    assert result.exit_code == 1 and "there is no incident 'INC-404'" in result.stderr
