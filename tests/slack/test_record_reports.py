"""What a correction and a re-grade do to the report and the weekly digest, through the real
Bolt app and the real worker, with the figures computed by hand.

The tests' now is Fri 2026-11-20 09:00Z (week 2026-W47, Mon 16 – Sun 22 Nov). U3 reads
times in UTC. acme is on Dixa, in New York, 4,000 USD a month: November there runs from
1 Nov 00:00 EDT (04:00Z) to 1 Dec 00:00 EST (05:00Z), 30 days and an hour: 43,260 minutes;
below 99.9 % it is owed 5 % of the fee, below 99.0 % 10 %.
"""

from __future__ import annotations

import datetime as dt
import json

from bot.digest import service as digests
from bot.digest.service import make_digest
from bot.digest.text import as_text, summary
from bot.digest.weeks import parse_week
from bot.incidents import service
from bot.reports.service import customer_report
from bot.slack.digest import digest_message
from bot.slack.mrkdwn import decode, plain
from tests.conftest import T0
from tests.slack.conftest import make_workspace
from tests.slack.test_corrections import overflow, submit_form
from tests.slack.test_incident_commands import declared
from tests.slack.test_report_command import reported
from tests.worker.test_worker import make_worker

M = dt.timedelta(minutes=1)
W47 = parse_week("2026-W47")


def delivered_digest(ctx, clock, week="2026-W46", at=dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)):
    """A weekly digest delivered, through its outbox as the worker does: November's figures
    have been shown to managers since."""
    clock.set(at)
    digests.schedule_week(ctx, parse_week(week), ["C0DIGEST"], at)
    (row,) = digests.claim(ctx, "w1")
    assert digests.sent(ctx, row, "w1", "C0DIGEST", "1.0")
    clock.set(T0)


def acme_november(ctx) -> dict:
    (acme,) = customer_report(ctx, "2026-11", "acme").as_json()["customers"]
    return {k: acme[k] for k in ("downtime_minutes", "uptime_pct", "credit_amount", "currency")}


def test_a_corrected_start_changes_the_report_and_the_next_digest_says_so(slack, ctx, clock):
    delivered_digest(ctx, clock)
    workspace = make_workspace(slack, ctx, SLABOT_MANAGERS="U3")
    channel = declared(
        workspace, "declare 1 Checkout down for acme outage started 2 hours ago", user="U3"
    )  # 07:00Z
    workspace.incident("restore 1 hour ago", channel=channel, user="U3")  # 08:00Z
    # Down 07:00–08:00Z: 60 of 43,260 minutes. (43,260 − 60) / 43,260 = 99.86130 % < 99.9 %:
    # 5 % of 4,000 USD = 200.00 USD.
    assert acme_november(ctx) == {
        "downtime_minutes": 60.0, "uptime_pct": 99.8613, "credit_amount": 200.0, "currency": "USD",
    }  # fmt: skip

    overflow(workspace, "INC-1", channel=channel, user="U3")
    form = slack.wait_for("views.open")[0].params["view"]
    submit_form(
        workspace, form,
        {"reported_at": "2026-11-20 00:30", "reason": "the monitor saw it at 00:30"}, user="U3",
    )  # fmt: skip
    told = slack.wait_for("chat.postEphemeral")[-1].params["text"]
    assert (
        "The next weekly digest says what this changed for Acme Retail Inc. November 2026" in told
    )
    # Down 00:30–08:00Z: 450 minutes. (43,260 − 450) / 43,260 = 98.95978 % < 99.0 %: 10 % of
    # 4,000 USD = 400.00 USD.
    assert acme_november(ctx) == {
        "downtime_minutes": 450.0, "uptime_pct": 98.9597, "credit_amount": 400.0, "currency": "USD",
    }  # fmt: skip
    report = reported(workspace, "report 2026-11 acme", user="U3")
    shown = plain(decode(json.dumps(report["blocks"], ensure_ascii=False)))
    assert "7h 30m of 30d 1h" in shown and "400.00 USD" in shown

    digest = make_digest(ctx, W47, "UTC")
    flagged = (
        "Acme Retail Inc., November 2026: downtime 1h → 7h 30m, credit 200.00 → 400.00 USD, "
        "corrected by {} (INC-1: the monitor saw it at 00:30)"
    )
    assert flagged.format("U3") in as_text(digest)
    assert "1 reported period corrected" in summary(digest)
    message = json.dumps(digest_message(digest).as_kwargs()["blocks"], ensure_ascii=False)
    assert flagged.format("<@U3>") in message


def test_a_digest_after_a_regrade_tells_the_breach_the_notice_announced(slack, ctx, clock):
    workspace = make_workspace(slack, ctx)
    channel = declared(workspace, "declare 1 Checkout API down", user="U3")
    worker = make_worker(ctx, slack)
    clock.set(T0 + 31 * M)
    worker.run_once()  # the response was due 09:30Z: the breach notice goes out
    assert any(
        "missed the response target" in c.params["text"] for c in slack.calls_to("chat.postMessage")
    )
    clock.set(T0 + 35 * M)
    workspace.incident("severity 3", channel=channel, user="U3")
    clock.set(T0 + 40 * M)
    workspace.incident("ack", channel=channel, user="U3")

    digest = make_digest(ctx, W47, "UTC")
    text = as_text(digest)
    # Severity III responds within 4h: met at 09:40Z. The Severity I breach stays told.
    assert "Targets: response 1 of 1 met (100.0 %)" in text
    assert "Breaches: none" not in text
    assert (
        "  INC-1 response breached Fri 2026-11-20 09:30 UTC under Sev 1; re-graded to Sev 3 at "
        "Fri 2026-11-20 09:35 UTC (response met under Sev 3)"
    ) in text
    assert "0 targets breached (1 more withdrawn by a re-grade or a correction)" in summary(digest)
    message = json.dumps(digest_message(digest).as_kwargs()["blocks"], ensure_ascii=False)
    assert "↩️ INC-1 response breached" in message and "none 🎉" not in message
    # The report tells it too, in each customer's own zone (acme: New York, UTC−5), and
    # counts no missed response (Severity III's 4h was met).
    (acme,) = customer_report(ctx, "2026-11", "acme").customers
    assert acme.notes == (
        "INC-1: response breached Fri 2026-11-20 04:30 EST under Sev 1; re-graded to Sev 3 at "
        "Fri 2026-11-20 04:35 EST (response met under Sev 3); credits follow the record as it "
        "is now",
    )


def test_a_late_update_counts_in_the_digests_attainment(slack, ctx, clock):
    workspace = make_workspace(slack, ctx)
    channel = declared(workspace, "declare 1 Checkout API down", user="U3")
    clock.set(T0 + 80 * M)  # the first report was due 10:00Z
    workspace.incident("update Rolled back", channel=channel, user="U3")
    workspace.incident("ack", channel=channel, user="U3")
    text = as_text(make_digest(ctx, W47, "UTC"))
    # 10:00 missed, answered at 10:20 (20m late); the next is due 11:20 (60m after it).
    assert "update 0 of 1 met (0.0 %), 1 still running" in text
    assert "  INC-1 update missed by 20m (60m 24x7 under messaging-platform)" in text


def test_a_late_declaration_says_so_instead_of_blaming_the_worker(slack, ctx, clock):
    workspace = make_workspace(slack, ctx)
    channel = declared(workspace, "declare 1 Payments down started 2 days ago", user="U3")
    worker = make_worker(ctx, slack)
    worker.run_once()
    notices = [
        c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel
        and "missed the" in c.params["text"]
    ]  # fmt: skip
    said = {json.dumps(n["blocks"], ensure_ascii=False) for n in notices}
    assert len(notices) == 2  # response and restore: one notice each
    assert any(
        "Declared 2 days after it started: the response target was already past." in s for s in said
    )
    assert any(
        "Declared 2 days after it started: the restore target was already past." in s for s in said
    )
    assert not any("worker was not running" in s for s in said)
    assert service.get(ctx, "INC-1").declared_at == T0
