"""Block Kit and mrkdwn as the console prints them: tokens, escaping, dates, buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, HeaderBlock, SectionBlock

from bot.console import render
from bot.console.render import Reader
from bot.incidents import service
from bot.slack import blocks, mrkdwn
from tests.conftest import T0

READER = Reader(
    now=T0,  # Friday 2026-11-20 09:00 UTC, 10:00 in Copenhagen
    zone="Europe/Copenhagen",
    users={"U1": "ana", "U2": "bo"},
    channels={"C1": "inc-20261120-checkout-down"},
    groups={"S1": "oncall"},
)


def text(value: str, reader: Reader = READER) -> str:
    return render.mrkdwn(value, reader)


# --- escaping ------------------------------------------------------------------------------


def test_escaped_user_text_shows_as_typed_and_pings_nobody():
    typed = "<!channel> down & <@U1> <https://evil|click>"
    assert text(mrkdwn.escape(typed)) == typed


def test_entities_are_decoded_after_tokens_are_read():
    assert text("&lt;@U1&gt; said &amp;lt;") == "<@U1> said &lt;"
    assert text("<@U1> &amp; <!here>") == "@ana & @here"


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="*_~`\x00\n"),
        max_size=80,
    )
)
def test_any_escaped_text_comes_back_exactly_as_typed(typed):
    assert text(mrkdwn.escape(typed)) == typed


def test_plain_text_is_shown_exactly_and_not_read_as_mrkdwn():
    header = HeaderBlock(text="🔴 INC-1 · <!channel> & *all* down").to_dict()
    assert render.blocks([header], READER) == ["🔴 INC-1 · <!channel> & *all* down"]


# --- mentions, channels, links ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("<@U1>", "@ana"),
        ("<@U9>", "@U9"),
        ("<@U9|cy>", "@cy"),
        ("<#C1>", "#inc-20261120-checkout-down"),
        ("<#C9|general>", "#general"),
        ("<!subteam^S1>", "@oncall"),
        ("<!subteam^S9|@sre>", "@sre"),
        ("<!here>", "@here"),
        ("<!channel>", "@channel"),
        ("<!everyone>", "@everyone"),
        ("<https://status.example.com|status page>", "status page (https://status.example.com)"),
        ("<https://status.example.com>", "https://status.example.com"),
        ("<mailto:ops@example.com|ops@example.com>", "ops@example.com"),
        ("<sev>", "<sev>"),  # not a token Slack knows: shown as written
    ],
)
def test_tokens(token, shown):
    assert text(token) == shown


# --- dates -----------------------------------------------------------------------------------


def date_token(instant: dt.datetime, tokens: str, fallback: str = "fallback") -> str:
    return f"<!date^{int(instant.timestamp())}^{tokens}|{fallback}>"


def test_a_deadline_in_the_readers_zone_with_time_left():
    due = T0 + dt.timedelta(minutes=30)
    assert text(f"due {mrkdwn.due(due, 'UTC')}") == "due today 10:30 (in 30 minutes)"
    assert text(f"due {mrkdwn.due(due, 'UTC')}", Reader(now=T0, zone="UTC")) == (
        "due today 09:30 (in 30 minutes)"
    )


@pytest.mark.parametrize(
    ("delta", "tokens", "shown"),
    [
        (dt.timedelta(hours=-3), "{date_short_pretty} {time} ({ago})", "today 07:00 (3 hours ago)"),
        (dt.timedelta(hours=15), "{date_short_pretty} {time}", "tomorrow 01:00"),
        (dt.timedelta(days=-1), "{date_pretty}", "yesterday"),
        (dt.timedelta(days=5), "{date_short_pretty} {time}", "Nov 25 10:00"),
        (dt.timedelta(days=5), "{date_long}", "Wednesday, November 25th"),
        (dt.timedelta(days=43), "{date}", "January 2nd, 2027"),
        (dt.timedelta(days=43), "{date_short}", "Jan 2, 2027"),
        (dt.timedelta(seconds=5), "{date_num} {time_secs}", "2026-11-20 10:00:05"),
        (dt.timedelta(0), "{time} {unknown}", "10:00 {unknown}"),
    ],
)
def test_date_formats(delta, tokens, shown):
    assert text(date_token(T0 + delta, tokens)) == shown


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (dt.timedelta(minutes=14, seconds=55), "in 15 minutes"),
        (dt.timedelta(minutes=-4, seconds=-50), "5 minutes ago"),
        (dt.timedelta(seconds=40), "in 40 seconds"),
    ],
)
def test_time_left_is_read_to_the_nearest_minute(delta, shown):
    """A reminder printed a few drill seconds after it was posted still says "in 15 minutes"."""
    assert text(date_token(T0 + delta, "{ago}")) == shown


def test_a_date_that_cannot_be_read_shows_its_fallback():
    assert text("<!date^99999999999999999^{date}|Fri 2026-11-20 09:00 UTC>") == (
        "Fri 2026-11-20 09:00 UTC"
    )


def test_daylight_saving_is_the_readers():
    summer = Reader(now=dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC), zone="Europe/Copenhagen")
    assert text(date_token(summer.now, "{time}"), summer) == "11:00"


# --- emphasis and code -------------------------------------------------------------------------


def test_emphasis_markers_are_dropped_or_styled():
    assert text("*Response* · _late_ · ~old~") == "Response · late · old"
    styled = Reader(now=T0, style=True)
    assert text("*Response*", styled) == "\x1b[1mResponse\x1b[22m"
    assert text("*<@U1>*", Reader(now=T0, users={"U1": "ana"})) == "@ana"


def test_words_with_underscores_and_stars_are_left_alone():
    assert text("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"


def test_code_keeps_its_backticks_and_no_emphasis():
    assert text("Run `/incident update *now*`") == "Run `/incident update *now*`"
    assert text("```level *any*\nnext```") == "level *any*\nnext"


# --- blocks ------------------------------------------------------------------------------------


def test_buttons_are_bracketed_and_can_be_found_again():
    actions = ActionsBlock(
        block_id="incident:INC-1",
        elements=[
            ButtonElement(text="Acknowledge", action_id="incident_ack", value="INC-1"),
            ButtonElement(text="Resolve", action_id="incident_resolve", value="INC-1"),
        ],
    ).to_dict()
    section = SectionBlock(
        text="Due soon", accessory=ButtonElement(text="Post update", action_id="incident_update")
    ).to_dict()
    message = {"text": "fallback", "blocks": [section, actions]}
    assert render.message(message, READER) == [
        "Due soon",
        "[Post update]",
        "[Acknowledge] [Resolve]",
    ]
    assert [(b.label, b.action_id, b.block_id, b.value) for b in render.buttons(message)] == [
        ("Post update", "incident_update", section.get("block_id"), None),
        ("Acknowledge", "incident_ack", "incident:INC-1", "INC-1"),
        ("Resolve", "incident_resolve", "incident:INC-1", "INC-1"),
    ]


def test_a_message_without_blocks_shows_its_text_and_unknown_blocks_say_so():
    assert render.message({"text": "*hi* <@U2>"}, READER) == ["hi @bo"]
    assert render.blocks([{"type": "video"}, {"type": "divider"}], READER)[0] == "[video block]"


def test_a_modal_lists_its_fields_choices_and_buttons():
    form = blocks.severity_form("INC-1", [(1, "Critical"), (2, "High")], current=1).to_dict()
    lines = render.view(form, READER)
    assert lines[0] == "Change severity"
    assert "New severity: [choose: 2 — High]" in lines
    assert lines[-1] == "[Change] [Cancel]"


def test_the_incident_card_reads_like_the_channel_shows_it(ctx):
    view = service.declare(ctx, title="Checkout <!channel> down", severity=1, actor="U1")
    lines = render.message(blocks.incident_card(view, ctx.contracts).as_kwargs(), READER)
    assert lines[0] == "🔴 INC-1 · Sev 1 · Checkout <!channel> down"
    assert "Declared by @ana today 10:00" in lines[1]
    assert "Response · 30m 24x7 (messaging-platform)" in lines
    assert "  ⏳ due today 10:30 (in 30 minutes)" in lines
    assert lines[-1] == (
        "[Acknowledge] [Post update] [Change severity] [Pause] [Restore] [Resolve] "
        "[⋯ Correct the record…]"
    )
