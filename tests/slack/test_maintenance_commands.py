"""``/sla maintenance`` as Slack sends it: announce with the times people type, list, move
and cancel; each answer says per contract whether the notice is enough."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.maintenance import service
from bot.slack.mrkdwn import decode, plain
from tests.conftest import T0
from tests.slack.conftest import make_workspace
from tests.slack.test_refusals import snapshot

H = dt.timedelta(hours=1)


def said(response) -> tuple[str, str]:
    """The answer's visibility and text as the reader sees it (date tokens as their fallback)."""
    assert response.status == 200, response.body
    body = json.loads(response.body)
    return body["response_type"], plain(decode(body["text"]))


@pytest.fixture
def workspace(slack, ctx):
    return make_workspace(slack, ctx, SLABOT_ADMINS="U1,U3")


def test_an_announcement_echoes_the_times_and_says_per_contract_whether_the_notice_is_enough(
    workspace,
):
    # T0 is Friday 10:00 in Copenhagen (U1's zone): Saturday 22:00 is 36 hours ahead.
    visibility, text = said(
        workspace.sla("maintenance Sat 22:00 23:30 Database upgrade for acme, nordlys, initech")
    )
    assert visibility == "in_channel"
    assert text.startswith("🛠️ MW-1 announced: Database upgrade for acme, initech, nordlys, ")
    assert " · Sat 2026-11-21 22:00 – 23:30 Europe/Copenhagen (UTC+01:00) · 1d 12h notice." in text
    assert (
        "• acme, nordlys (dixa, 24 h notice): enough notice (1d 12h given) — excluded from downtime"
        in text
    )
    assert "• initech (diplomasafe, no minimum notice): enough notice" in text
    raw = json.loads(workspace.sla("maintenance list").body)["text"]
    starts = int(dt.datetime(2026, 11, 21, 21, tzinfo=dt.UTC).timestamp())
    assert f"<!date^{starts}^" in raw  # every reader sees it in their own zone


def test_too_little_notice_is_said_before_the_window_counts_as_downtime(workspace):
    _, text = said(workspace.sla("maintenance in 1h 52m in 3h Emergency patch for acme"))
    assert " · 1h 52m notice." in text
    assert (
        "• acme (dixa, 24 h notice): not enough notice (1h 52m given) — "
        "this window will count as downtime" in text
    )


def test_tomorrow_and_iso_times_in_the_persons_zone(workspace):
    # U3's zone is UTC; U1's Copenhagen.
    _, text = said(workspace.sla("maintenance tomorrow 02:00 tomorrow 04:00 Upgrade", user="U3"))
    assert " · Sat 2026-11-21 02:00 – 04:00 UTC (UTC+00:00)" in text
    _, text = said(workspace.sla("maintenance 2026-11-28T22:00 2026-11-29T01:00 Upgrade"))
    assert " · Sat 2026-11-28 22:00 – Sun 2026-11-29 01:00 Europe/Copenhagen (UTC+01:00)" in text
    assert [(w.starts_at, w.ends_at) for w in service.listed(workspace.ctx)] == [
        (dt.datetime(2026, 11, 21, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, 4, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 28, 21, tzinfo=dt.UTC), dt.datetime(2026, 11, 29, 0, tzinfo=dt.UTC)),
    ]


def test_list_cancel_and_move(workspace, ctx, clock):
    said(workspace.sla("maintenance Sat 22:00 23:30 Database upgrade for acme"))
    said(workspace.sla("maintenance Sun 22:00 23:00 Gateway work for globex"))
    # Anyone may list; U2 is no admin. Per customer: only the windows affecting it.
    visibility, text = said(workspace.sla("maintenance list globex", user="U2"))
    assert visibility == "ephemeral"
    assert "MW-2 Gateway work — for globex · upcoming" in text and "MW-1" not in text
    assert "• globex (messaging-platform, 24 h notice): enough notice" in text

    # Cancelling and moving are for admins.
    _, text = said(workspace.sla("maintenance cancel MW-1", user="U2"))
    assert "moving or cancelling maintenance is for admins (SLABOT_ADMINS)" in text
    assert service.window(ctx, "MW-1").cancelled_at is None

    visibility, text = said(workspace.sla("maintenance cancel mw-1 vendor postponed"))
    assert visibility == "in_channel"
    assert text.startswith("🛠️ MW-1 cancelled by <@U1> (vendor postponed): Database upgrade.")
    assert "It had not started: it excludes nothing" in text
    (_, event) = service.history(ctx, "MW-1")
    assert (event.kind, event.actor, event.reason) == ("cancelled", "U1", "vendor postponed")

    # Moved to 2 hours from now: a new announcement, with too little notice for globex.
    visibility, text = said(workspace.sla("maintenance move MW-2 in 2h in 3h clash with release"))
    assert visibility == "in_channel"
    assert text.startswith("🛠️ MW-2 moved by <@U1> (clash with release): Gateway work, was ")
    assert "was Sun 2026-11-22 22:00 – 23:00 Europe/Copenhagen (UTC+01:00), now " in text
    assert "The new time is a new announcement: its notice counts from now." in text
    assert "• globex (messaging-platform, 24 h notice): not enough notice (2h given)" in text
    (_, moved) = service.history(ctx, "MW-2")
    assert (moved.kind, moved.actor, moved.before["starts_at"], moved.after["starts_at"]) == (
        "moved", "U1", "2026-11-22T21:00:00+00:00", (T0 + 2 * H).isoformat(),
    )  # fmt: skip

    _, text = said(workspace.sla("maintenance list"))
    assert "MW-1 Database upgrade — for acme · cancelled by <@U1> before it started" in text
    assert "MW-2 Gateway work — for globex · upcoming" in text
    # The history of each: who, when, why, and the window before.
    assert (
        "↳ cancelled by <@U1> Fri 2026-11-20 10:00 CET (vendor postponed), was Sat 2026-11-21"
        in text
    )
    assert (
        "↳ moved by <@U1> Fri 2026-11-20 10:00 CET (clash with release), "
        "was Sun 2026-11-22 22:00 – 23:00 Europe/Copenhagen (UTC+01:00)" in text
    )

    clock.set(T0 + 2 * H + 30 * dt.timedelta(minutes=1))
    _, text = said(workspace.sla("maintenance list"))
    assert "MW-2 Gateway work — for globex · under way" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maintenance cancel MW-9", "'MW-9' is not a maintenance window"),
        ("maintenance cancel", "say which window: `/sla maintenance cancel MW-1`"),
        ("maintenance move MW-1 Sat 22:00", "give MW-1 a new start and end"),
        ("maintenance move MW-1 Caturday 22:00 23:00", "'Caturday' is not a time"),
        ("maintenance Sat 22:00 banana Upgrade", "after the start (Sat 22:00) comes the end; 'banana' is not a time"),
        ("maintenance tomorrow 02:30 tomorrow 01:00 Upgrade", "maintenance must end after it starts"),
        ("maintenance list acne", "'acne' is not a customer (did you mean 'acme'?)"),
    ],
)  # fmt: skip
def test_what_is_not_understood_changes_nothing(workspace, ctx, text, expected):
    said(workspace.sla("maintenance Sat 22:00 23:30 Database upgrade for acme"))
    before = snapshot(ctx), service.history(ctx, "MW-1")
    visibility, answer = said(workspace.sla(text))
    assert visibility == "ephemeral" and answer.startswith("⚠️ ")
    assert expected in answer
    assert (snapshot(ctx), service.history(ctx, "MW-1")) == before


def test_a_wall_time_the_clocks_skip_is_refused(slack, ctx, clock):
    workspace = make_workspace(slack, ctx, SLABOT_ADMINS="U1")
    clock.set(dt.datetime(2026, 3, 28, 9, tzinfo=dt.UTC))  # Copenhagen springs forward tomorrow
    _, answer = said(workspace.sla("maintenance tomorrow 02:30 tomorrow 04:00 Upgrade"))
    assert "'tomorrow 02:30' does not happen in Europe/Copenhagen: the clocks go forward" in answer
    assert service.listed(ctx) == []
