"""/sla report and the App Home standings through the real Bolt app, on the fixture history.

The figures are those hand-computed in tests/reports/test_report.py (October 2026, and
November to T0 = Fri 2026-11-20 09:00Z).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from concurrent.futures import Executor, Future

import pytest
from sqlalchemy import event

from bot.context import Context
from bot.incidents.importer import import_history
from bot.slack.app import build_app
from bot.slack.grammar import Report, UsageError, parse_sla
from bot.slack.handlers import home_view
from bot.slack.loopback import RESPONSE_URL, UPLOAD_URL
from bot.slack.loopback import Reply as Scripted
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files
from tests.conftest import import_fixture_history
from tests.slack.conftest import Workspace, answer, make_settings, make_workspace
from tests.slack.test_safety import mrkdwn_texts

MANAGER = "U2"  # bo, New York, via the user group S1
MONEY = ("USD", "DKK", "EUR", "200.00", "1,500.00", "5,000.00")


@pytest.fixture
def history(ctx):
    import_fixture_history(ctx)


@pytest.fixture
def workspace(slack, ctx, history):
    return make_workspace(slack, ctx, SLABOT_MANAGERS="S1")


def reported(workspace, text: str, **kwargs) -> dict:
    """``/sla <text>``'s report: acknowledged at once, then posted to the response URL in
    place of the acknowledgement."""
    slack = workspace.slack
    before = len(slack.calls_to(RESPONSE_URL))
    acknowledged = answer(workspace.sla(text, **kwargs))
    assert acknowledged["text"].startswith("⏳ Working out uptime and credits for ")
    body = slack.wait_for(RESPONSE_URL, count=before + 1, timeout=30)[-1].params
    assert body["replace_original"] is True
    return body


def everything(body: dict) -> str:
    return body.get("text", "") + json.dumps(body.get("blocks", []), ensure_ascii=False)


def uploads(slack) -> list[str]:
    return [
        c.method for c in slack.calls if c.method.startswith("files.") or c.method == UPLOAD_URL
    ]


# --- the grammar ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("report", Report(None, None, False)),
        ("report 2026-10", Report("2026-10", None, False)),
        ("report 2026 acme csv", Report("2026", "acme", True)),
        ("report csv acme 2026-10", Report("2026-10", "acme", True)),
        ("report 2026-10 Nordlys ApS", Report("2026-10", "Nordlys ApS", False)),
        ('report "Acme Retail Inc." 2026-10', Report("2026-10", "Acme Retail Inc.", False)),
    ],
)
def test_report_words_in_any_order_and_names_with_spaces(text, parsed):
    assert parse_sla(text) == parsed


@pytest.mark.parametrize("word", ["2026/10", "10-2026", "2026-1", "2026-10-01", "2026.10"])
def test_a_date_that_is_not_a_period_is_refused_with_what_is_accepted(word):
    with pytest.raises(
        UsageError, match=r"is not a period: write YYYY-MM for a month \(e\.g\. 2026-10\)"
    ):
        parse_sla(f"report {word}")


def test_two_periods_are_refused():
    with pytest.raises(UsageError, match="give one period, not `2026-10` and `2026`"):
        parse_sla("report 2026-10 2026")


# --- the summary ---------------------------------------------------------------------------------


def test_a_manager_gets_every_customer_worst_first_with_the_money(workspace, slack):
    body = reported(workspace, "report 2026-10", user=MANAGER)
    assert body["response_type"] == "ephemeral"
    blocks = body["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Uptime and credits · 2026-10", "emoji": True},
    }
    facts = blocks[2]["text"]["text"]
    assert facts == (
        "*5 customers* · 3 below their commitment · credits owed to 3 · owed in total: "
        "*1,500.00 DKK + 5,000.00 EUR + 200.00 USD*"
    )
    lines = blocks[3]["text"]["text"].split("\n")
    # Owed credits first (lowest uptime first), then the rest.
    assert [line.split("*")[1] for line in lines] == [
        "acme",
        "nordlys",
        "umbrella",
        "globex",
        "initech",
    ]
    assert lines[0] == (
        "🔴 *acme* · October 2026 · *99.2159 %* (commitment 99.9 %) · down 5h 50m · "
        "1h 36m to the 10 % tier · owes 200.00 USD · claim by 2026-11-30"
    )
    assert lines[2].startswith(
        "🔴 *umbrella* · 2026 through 2026-10-31 · *99.9296 %* (commitment 99.99 %)"
    )
    assert lines[2].endswith("owes 5,000.00 EUR")  # a refund has no claim window
    assert lines[4] == (
        "✅ *initech* · 2026 through 2026-10-31 · *99.9619 %* (commitment 99.9 %) · down 3h 20m · "
        "5h 25m to the 2.5 % tier"
    )
    assert "Amounts are shown to managers" not in everything(body)
    assert uploads(slack) == []  # no CSV unless asked


def test_without_the_money_a_responder_sees_percentages_of_the_fee(workspace, slack):
    body = reported(workspace, "report 2026-10", user="U1")
    text = everything(body)
    for figure in MONEY:
        assert figure not in text, figure
    assert "owes 5 % of the monthly fee · claim by 2026-11-30" in text
    assert "owes 100 % of the monthly fee" in text  # umbrella's refund
    assert "Amounts are shown to managers and admins (SLABOT_MANAGERS, SLABOT_ADMINS)." in text


def test_one_customer_shows_its_detail_and_the_incidents_that_counted(workspace, slack):
    body = reported(workspace, "report 2026-10 Nordlys ApS", user=MANAGER)
    assert body["blocks"][0]["text"]["text"] == "Nordlys ApS · October 2026"
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert fields == [
        "*Customer*\nNordlys ApS (nordlys) · dixa",
        "*Uptime*\n🔴 *99.5525 %* (commitment 99.9 %)",
        "*Downtime*\n3h 20m of 31d 1h · 2h excluded",  # October in Copenhagen has 44,700 min
        "*Budget left*\n4h 7m to the 10 % tier",
        "*Credits owed*\n1,500.00 DKK",
        "*Claim by*\n2026-11-30",
    ]
    assert (
        "• uptime 99.5525 % in October 2026 is below 99.9 %: 5 % of the monthly fee; claim by 2026-11-30 = 1,500.00 DKK"
        in everything(body)
    )
    assert "Incidents that counted: INC-B, INC-K" in everything(body)


def test_a_claim_deadline_passed_says_expired_per_credit(workspace, slack, clock):
    # On 4 December October's credit had to be claimed by 30 November; November's by 30
    # December. The year lists each with its own deadline.
    clock.set(dt.datetime(2026, 12, 4, 15, tzinfo=dt.UTC))
    october = reported(workspace, "report 2026-10", user=MANAGER)
    assert "owes 200.00 USD · claim by 2026-11-30 (expired)" in everything(october)
    year = everything(reported(workspace, "report 2026 Acme Retail Inc.", user=MANAGER))
    assert "*Claim by*\\n2026-12-30" in year
    assert (
        "October 2026 is below 99.9 %: 5 % of the monthly fee; claim by 2026-11-30 (expired)"
        in year
    )
    assert "November 2026 is below 99.9 %: 5 % of the monthly fee; claim by 2026-12-30 =" in year


def test_one_customer_in_a_running_period_shows_what_counts_towards_a_credit(workspace, slack):
    # globex as of 20 November: two severity I failures within 28 days (INC-K, INC-E); a
    # fourth would refund the month.
    body = reported(workspace, "report 2026-11 globex", user="U1")
    assert (
        "*Counting towards a credit*\n• 2 of the 4 severity 1 failures within 28d that owe a "
        "refund of 100 % of the monthly fee (INC-K, INC-E)\n• 1 of the 6 severity 2 failures "
        "affecting ≥ 25 % of traffic within 28d that owe a refund of 100 % of the monthly fee "
        "(INC-H)" in mrkdwn_texts(body["blocks"])
    )
    closed = reported(workspace, "report 2026-10 globex", user="U1")
    assert "Counting towards a credit" not in everything(closed)


def test_no_period_means_this_month_in_the_readers_zone(workspace, slack):
    # T0 is 20 November: the report is November's so far.
    body = reported(workspace, "report acme", user=MANAGER)
    assert (
        body["blocks"][0]["text"]["text"] == "Acme Retail Inc. · November 2026 to 2026-11-20 04:00"
    )
    assert "*99.7226 %*" in everything(body)


def test_user_text_in_a_report_is_escaped(slack, ctx, tmp_path):
    customers = tmp_path / "customers.yaml"
    customers.write_text(
        "customers:\n  - {id: evil, name: '<!channel> & co', policy: dixa, fee: {amount: 10, currency: EUR, per: month}}\n"
    )
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), customers, None)
    workspace = make_workspace(slack, Context(db=ctx.db, contracts=contracts, clock=ctx.clock))
    body = reported(workspace, "report 2026-11 evil")
    for text in mrkdwn_texts(body["blocks"]):
        assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; co (evil)" in everything(body)


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "report 2026/10",
            "`2026/10` is not a period: write YYYY-MM for a month (e.g. 2026-10) or YYYY",
        ),
        ("report 2026-13", "'2026-13' has no month 13; write YYYY-MM for a month"),
        ("report 2027", "2027 has not begun yet"),
        ("report 2026-10 acmee", "'acmee' is not a customer (did you mean 'acme'?)"),
        ("report October", "'October' is not a customer"),
    ],
)
def test_bad_input_gets_an_ephemeral_refusal_that_says_what_is_accepted(
    workspace, slack, text, says
):
    body = answer(workspace.sla(f"{text} csv", user=MANAGER))
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("⚠️ ")
    assert says in body["text"]
    assert "`/sla report [&lt;YYYY-MM&gt;|&lt;YYYY&gt;] [&lt;customer&gt;] [csv]`" in body["text"]
    assert uploads(slack) == []


# --- the CSV ---------------------------------------------------------------------------------------


def csv_rows(slack) -> tuple[dict, list[dict]]:
    (file,) = slack.files.values()
    raw = file["bytes"]
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so a spreadsheet reads UTF-8
    return file, list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_on_request_goes_to_the_requesters_direct_messages(workspace, slack):
    body = reported(workspace, "report 2026-10 csv", user=MANAGER)
    assert uploads(slack) == [
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]
    dm = slack.calls_to("conversations.open")[-1]
    assert dm.params["users"] == MANAGER
    file, rows = csv_rows(slack)
    assert file["channel_id"] == dm.response["channel"]["id"]  # not #general, where it was asked
    assert file["filename"] == "slabot-report-2026-10.csv"
    assert [r["customer"] for r in rows] == ["acme", "globex", "initech", "nordlys", "umbrella"]
    assert (rows[0]["uptime_pct"], rows[0]["credit_amount"], rows[0]["currency"]) == (
        "99.2159",
        "200.00",
        "USD",
    )
    assert body["blocks"][-1]["elements"][0]["text"] == (
        "📎 The CSV is in your direct messages with slabot: `slabot-report-2026-10.csv`"
    )
    assert all(c.params.get("channel") != "C0GENERAL" for c in slack.calls_to("chat.postMessage"))


def test_a_responders_csv_has_no_money(workspace, slack):
    reported(workspace, "report 2026-10 acme csv", user="U1")
    file, (acme,) = csv_rows(slack)
    assert file["filename"] == "slabot-report-2026-10-acme.csv"
    assert (acme["credit_amount"], acme["currency"]) == ("", "")
    assert acme["credits"].endswith("5 % of the monthly fee; claim by 2026-11-30")
    assert not any(figure in file["bytes"].decode("utf-8-sig") for figure in MONEY)


def test_when_slack_refuses_the_file_the_summary_still_comes_and_says_what_to_do(workspace, slack):
    slack.script("files.completeUploadExternal", Scripted(error="not_allowed_token_type"))
    body = reported(workspace, "report 2026-10 csv", user=MANAGER)
    assert body["blocks"][0]["text"]["text"] == "Uptime and credits · 2026-10"
    note = body["blocks"][-1]["elements"][0]["text"]
    assert note == (
        "⚠️ Slack refused the CSV (not_allowed_token_type); the summary above is complete. "
        "`slabot report --period 2026-10 --format csv` writes the same file."
    )


# --- App Home --------------------------------------------------------------------------------------


def home_of(workspace, slack, user: str, event_id: str) -> dict:
    event_body = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"}
    assert workspace.event(event_body, event_id=event_id).status == 200
    published = [c for c in slack.wait_for("views.publish") if c.params["user_id"] == user]
    return published[-1].params["view"]


def test_app_home_shows_each_customers_period_so_far_against_its_commitment(workspace, slack):
    view = home_of(workspace, slack, MANAGER, "EvHome1")
    blocks = view["blocks"]
    at = next(
        i
        for i, b in enumerate(blocks)
        if b["type"] == "header" and b["text"]["text"] == "Uptime this period"
    )
    lines = blocks[at + 1]["text"]["text"].split("\n")
    # acme: November so far (New York) 120 of 43,260 min down; October's 200 USD still claimable.
    assert lines[0] == (
        "🔴 *Acme Retail Inc.* · November 2026 so far *99.7226 %* (commitment 99.9 %) · "
        "5h 12m to the 10 % tier · owes 200.00 USD · claim October 2026's 200.00 USD by 2026-11-30"
    )
    # A yearly contract: the year so far (judged on the year) and this month's own uptime.
    # umbrella's November: INC-F 50 min of 43,200 (UTC) → 99.8842… %.
    umbrella = next(line for line in lines if "Umbrella Telecom" in line)
    assert umbrella.startswith(
        "🔴 *Umbrella Telecom* · 2026 so far *99.9200 %* (commitment 99.99 %) · November so far 99.8842 %"
    )
    assert umbrella.endswith("owes 10,000.00 EUR")
    globex = next(line for line in lines if "Globex" in line)
    # Met on uptime, but two of the four severity I failures that refund a month are in the
    # 28 days ending now.
    assert globex == (
        "✅ *Globex Messaging BV* · 2026 so far *99.9524 %* (commitment 99.8 %) · November so far "
        "100.0000 % · 2 of the 4 severity 1 failures within 28d that owe a refund of 100 % of "
        "the monthly fee · 1 of the 6 severity 2 failures affecting ≥ 25 % of traffic within "
        "28d that owe a refund of 100 % of the monthly fee"
    )


def test_app_home_shows_money_to_managers_only(workspace, slack):
    view = home_of(workspace, slack, "U1", "EvHome2")
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Acme Retail Inc." in text and "owes 5 % of the monthly fee" in text
    assert "claim October 2026's credit by 2026-11-30" in text
    for figure in MONEY:
        assert figure not in text, figure


def test_app_home_reads_the_standings_in_one_call_whatever_the_number_of_customers(
    slack, ctx, tmp_path
):
    def statements(count: int) -> int:
        path = tmp_path / f"customers-{count}.yaml"
        path.write_text("customers:\n" + "".join(
            f"  - {{id: c{n}, name: C{n}, policy: {('dixa', 'diplomasafe', 'messaging-platform')[n % 3]}}}\n"
            for n in range(count)
        ))  # fmt: skip
        contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), path, None)
        workspace = make_workspace(slack, Context(db=ctx.db, contracts=contracts, clock=ctx.clock))
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(ctx.db.engine, "before_cursor_execute", record)
        try:
            view = home_view(workspace.edge, "U1")
        finally:
            event.remove(ctx.db.engine, "before_cursor_execute", record)
        assert len([b for b in view.blocks if b.type == "section"]) >= 1
        return len(seen)

    import_fixture_history(ctx)
    assert statements(3) == statements(30)


# --- maintenance announced in Slack feeds the exclusions ---------------------------------------


def test_maintenance_announced_with_sla_maintenance_is_excluded_by_each_contracts_notice(
    slack, ctx, clock
):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U3", SLABOT_MANAGERS="U3")
    # At T0 (Fri 20 Nov 09:00Z) the admin (zone UTC) announces Sunday's upgrade, 40 h ahead.
    upgrade = "maintenance 2026-11-22T01:00 2026-11-22T03:00 Network upgrade for nordlys, initech"
    assert answer(workspace.sla(upgrade, user="U3"))["text"].startswith("🛠️ MW-1 announced")
    # Sunday 00:00Z: an emergency patch from 00:15, a quarter of an hour ahead.
    clock.set(dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC))
    patch = "maintenance 2026-11-22T00:15 2026-11-22T01:00 Emergency patch for nordlys, initech"
    assert answer(workspace.sla(patch, user="U3"))["text"].startswith("🛠️ MW-2 announced")
    # 02:00Z: the network has been down since 00:30Z; restored at 02:30Z (120 minutes).
    clock.set(dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC))
    declared = answer(
        workspace.incident(
            "declare 1 Core network down for nordlys, initech outage started 90 minutes ago"
        )
    )
    assert "INC-1 declared" in declared["text"]
    clock.set(dt.datetime(2026, 11, 22, 2, 30, tzinfo=dt.UTC))
    assert answer(workspace.incident("restore INC-1"))["text"].startswith("✅ Service restored")

    def downtime(customer: str) -> str:
        body = reported(workspace, f"report 2026-11 {customer}", user="U3")
        return next(
            f["text"] for f in body["blocks"][2]["fields"] if f["text"].startswith("*Downtime*")
        )

    # nordlys (Dixa, 24 h notice): the patch came too late, so 00:30–01:00 counts; the upgrade
    # excludes 01:00–02:30. Down 30 of November's 43,200 minutes, 90 excluded.
    assert downtime("nordlys") == "*Downtime*\n30m of 30d · 1h 30m excluded"
    # initech (Diplomasafe: scheduled is enough): both windows are excluded. Its year: 365 days.
    assert downtime("initech") == "*Downtime*\n0m of 365d · 2h excluded"


def test_one_customer_shows_the_budget_before_every_tier_still_ahead(workspace, slack):
    # initech (Diplomasafe), 2026 through October: 200 of 525,600 minutes down. Before 2.5 %:
    # 525.6 − 200 = 325.6 min; before 25 % (below 90 %): 52,560 − 200 = 52,360 min; before
    # 100 % (below 80 %): 105,120 − 200 = 104,920 min.
    body = reported(workspace, "report 2026-10 initech", user="U1")
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert (
        "*Budget left*\n5h 25m to the 2.5 % tier, 36d 8h 40m to the 25 % tier, 72d 20h 40m to the 100 % tier"
        in fields
    )


# --- a thousand customers: the acknowledgement first, the work after it ------------------------


class HeldWork(Executor):
    """Keeps what listeners hand on after their acknowledgement until ``run``: that the
    answer to Slack's request went out while this still waited shows the ack did not wait
    for it (Slack allows 3 seconds)."""

    def __init__(self) -> None:
        self.jobs: list = []

    def submit(self, fn, /, *args, **kwargs):
        self.jobs.append((fn, args, kwargs))
        return Future()

    def run(self) -> int:
        jobs, self.jobs = self.jobs, []
        for fn, args, kwargs in jobs:
            fn(*args, **kwargs)
        return len(jobs)


def test_with_a_thousand_customers_the_report_and_app_home_follow_the_acknowledgement(
    slack, ctx, tmp_path
):
    path = tmp_path / "customers.yaml"
    policies = ("dixa", "messaging-platform", "diplomasafe")
    path.write_text("customers:\n" + "".join(
        f"  - {{id: c{n:04d}, name: Customer {n}, policy: {policies[n % 3]},"
        f" fee: {{amount: {100 + n}, currency: EUR, per: month}}}}\n"
        for n in range(1000)
    ))  # fmt: skip
    contracts = load_contracts(policy_files(SHIPPED_POLICIES_DIR), path, None)
    many = Context(db=ctx.db, contracts=contracts, clock=ctx.clock)
    import_history(many, [
        {"ref": f"P-{n}", "title": "platform down", "severity": 1, "outage": True,
         "declared_at": f"2026-11-{n + 1:02d}T10:00:00Z",
         "restored_at": f"2026-11-{n + 1:02d}T10:{20 + n:02d}:00Z",
         "customers": [] if n % 2 else [f"c{n:04d}"]}
        for n in range(12)
    ])  # fmt: skip
    held = HeldWork()
    app, edge = build_app(many, make_settings(slack, SLABOT_MANAGERS="S1"), executor=held)
    workspace = Workspace(app, edge, slack, many)

    acknowledged = answer(workspace.sla("report 2026-11", user=MANAGER))
    assert acknowledged["text"] == "⏳ Working out uptime and credits for 2026-11…"
    assert slack.calls_to(RESPONSE_URL) == [] and len(held.jobs) == 1  # not yet worked out
    assert held.run() == 1
    (posted,) = slack.calls_to(RESPONSE_URL)
    # Six platform outages in November, 21 + 23 + … + 31 = 156 minutes: below Dixa's 99.9 %
    # of the month (43.2 minutes allowed; the 5 % tier) and the messaging platform's 99.99 %
    # of the year (52.56), which also refunds November (six severity I within 28 days), not
    # below Diplomasafe's 99.9 % of the year (525.6).
    assert posted.params["blocks"][2]["text"]["text"].startswith(
        "*1000 customers* · 667 below their commitment · credits owed to 667 · "
    )

    event_body = {"type": "app_home_opened", "user": MANAGER, "tab": "home", "channel": "D1"}
    assert workspace.event(event_body, event_id="EvMany").status == 200
    assert slack.calls_to("views.publish") == [] and len(held.jobs) == 1
    held.run()
    (home,) = slack.calls_to("views.publish")
    text = json.dumps(home.params["view"]["blocks"], ensure_ascii=False)
    assert "… and 975 more: `/sla report`" in text


def test_a_replayed_csv_request_uploads_once(workspace, slack):
    """A request delivered twice (a retry, a replay) is processed once, like every command
    that changes or sends something: the second is answered "(already handled)"."""
    for _ in range(2):
        answer(workspace.sla("report 2026-10 csv", user=MANAGER, trigger="trig-replayed"))
    slack.wait_for(RESPONSE_URL, count=2, timeout=30)
    assert workspace.edge.wait_idle(60)
    assert len(slack.files) == 1 and uploads(slack).count("files.completeUploadExternal") == 1
    answers = sorted(c.params.get("text", "") for c in slack.calls_to(RESPONSE_URL))
    assert answers[0] == "(already handled)", answers
    reported(workspace, "report 2026-10 csv", user=MANAGER)  # a new request: a new file
    assert len(slack.files) == 2
