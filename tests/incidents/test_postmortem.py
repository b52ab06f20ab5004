"""``slabot incidents postmortem``: a Markdown draft with the summary, the impact on each
customer's period (downtime it counted, the credit tier it moved them toward — hand-computed
below), the SLA outcomes, the timeline and empty sections for causes and actions."""

from __future__ import annotations

from dataclasses import replace

from click.testing import CliRunner

from bot.cli import main
from bot.incidents import postmortem, service
from bot.incidents.render import impact_line
from tests.incidents.test_export import rich_history, run


def sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_a_corrected_outage_moved_acme_to_the_next_credit_tier(cli_history, ctx, clock):
    rich_history(ctx, clock)  # INC-A restored 12:30Z instead of 10:30Z: 150 minutes
    draft = run("incidents", "postmortem", "INC-A")
    assert draft.startswith("# Post-incident review: INC-A — Checkout down\n")
    assert sections(draft) == [
        "## Summary", "## Impact per customer", "## SLA outcomes", "## Timeline", "## Causes",
        "## What went well, what did not", "## Actions",
    ]  # fmt: skip
    # acme's October (New York): 470 of 44,640 minutes down → 98.9471 %, below 99.0 %: 10 %.
    # Without INC-A's 150 minutes, 320 → 99.2831 %: below 99.9 % only, 5 %.
    assert (
        "- Acme Retail Inc. (acme), October 2026: counted 2h 30m (150 min) of downtime; the "
        "period stands at 98.9471 % uptime (commitment 99.9 %), 7h 50m (470 min) down in all; "
        "it moved the period from below 99.9 % → 5 % of the fee to below 99 % → 10 % of the fee\n"
    ) in draft
    assert "- Outage lasted 2h 30m\n" in draft
    assert "- Under dixa for acme (acme): response met, restore met\n" in draft
    assert draft.rstrip().endswith("| action | owner | due |\n|---|---|---|\n| | | |")
    assert "EUR" not in draft and "USD" not in draft  # percentages only: it goes to a channel


def test_an_incident_of_every_customer_says_what_it_did_to_each(cli_history):
    draft = run("incidents", "postmortem", "INC-B")  # 13:50–15:10Z, every customer: 80 min
    impact = draft[draft.index("## Impact") : draft.index("## SLA")].splitlines()[2:-1]
    assert [line.split(",")[0] for line in impact] == [
        "- Acme Retail Inc. (acme)", "- Globex Messaging BV (globex)",
        "- Initech University (initech)", "- Nordlys ApS (nordlys)", "- Umbrella Telecom (umbrella)",
    ]  # fmt: skip
    assert all("counted 1h 20m (80 min) of downtime" in line for line in impact)
    # nordlys (Copenhagen): 200 of 44,700 October minutes → 99.5525 %, 5 % with or without
    # INC-B; 447 − 200 = 247 minutes more before below 99 %.
    nordlys = next(line for line in impact if "(nordlys)" in line)
    assert nordlys.endswith(
        "credit tier unchanged: below 99.9 % → 5 % of the fee; 4h 7m (247 min) more before "
        "below 99 % → 10 % of the fee"
    )


def test_the_customers_beyond_those_worked_out_are_counted(cli_history, monkeypatch):
    monkeypatch.setattr(postmortem, "MAX_CUSTOMERS", 4)  # INC-B affects all five
    draft = run("incidents", "postmortem", "INC-B")
    assert "- … and 1 more customer (`slabot report` lists them)\n" in draft
    monkeypatch.setattr(postmortem, "MAX_CUSTOMERS", 3)
    assert "- … and 2 more customers (" in run("incidents", "postmortem", "INC-B")


def test_an_excluded_outage_counted_nothing_and_the_draft_goes_to_a_file(
    cli_history, ctx, clock, tmp_path
):
    rich_history(ctx, clock)  # INC-C excluded: the customer's own network
    out = tmp_path / "review.md"
    said = run("incidents", "postmortem", "INC-C", "--out", str(out))
    assert said == f"wrote the post-incident review draft of INC-C to {out}\n"
    assert (
        "excluded from uptime (customer's own network): it counted no downtime" in out.read_text()
    )


def test_an_unknown_incident_exits_1(cli_db):
    result = CliRunner().invoke(main, ["incidents", "postmortem", "INC-404"])
    assert result.exit_code == 1 and "there is no incident 'INC-404'" in result.stderr


def test_a_customer_gone_from_the_customers_file_is_named_without_figures(ctx, clock):
    ref = service.declare(
        ctx, title="Checkout down", severity=2, actor="U1", customers=["acme", "nordlys"],
        outage=True,
    ).ref  # fmt: skip
    clock.advance(minutes=30)
    service.resolve(ctx, ref, "U1")
    kept = {k: c for k, c in ctx.contracts.customers.items() if k != "acme"}
    later = replace(ctx, contracts=replace(ctx.contracts, customers=kept))
    impacts = {i.customer: impact_line(i) for i in postmortem.postmortem(later, ref).impacts}
    assert impacts["acme"] == "acme (acme): no figures — no longer in the customers file"
    assert "counted 30m (30 min) of downtime" in impacts["nordlys"]
