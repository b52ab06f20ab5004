"""/incident timeline through the real Bolt app: only the asker sees it, newest last, a page
at a time with a button to the page before, times in the asker's own Slack zone."""

from __future__ import annotations

from bot.slack.loopback import RESPONSE_URL
from tests.slack.conftest import answer
from tests.slack.test_incident_commands import declared


def lines(body: dict) -> list[str]:
    """The timeline's lines, as the asker reads them (the sections after the heading)."""
    text = "\n".join(b["text"]["text"] for b in body["blocks"][1:] if b["type"] == "section")
    return text.splitlines()


def busy_incident(workspace) -> str:
    """INC-1 declared at 09:00Z by ana, then 16 updates by bo a minute apart: 17 events."""
    channel = declared(workspace)
    for n in range(1, 17):
        workspace.ctx.clock.advance(minutes=1)
        workspace.incident(f"update step {n}", channel=channel, user="U2")
    return channel


def test_the_newest_page_in_the_askers_zone_only_they_see(workspace, slack):
    channel = busy_incident(workspace)
    body = answer(workspace.incident("timeline", channel=channel, user="U2"))  # New York
    assert body["response_type"] == "ephemeral"
    assert body["blocks"][0]["text"]["text"] == (
        "*INC-1 timeline* · Checkout API down — events 16–17 of 17, page 2 of 2 · "
        "times in America/New_York"
    )
    assert lines(body) == [
        "• Fri 2026-11-20 04:15 EST · <@U2> posted an update: step 15",
        "• Fri 2026-11-20 04:16 EST · <@U2> posted an update: step 16",
    ]
    (button,) = body["blocks"][-1]["elements"]
    assert (button["action_id"], button["value"]) == ("incident_timeline", "INC-1 1")
    assert button["text"]["text"] == "Earlier events (page 1 of 2)"
    # ana reads the same in Copenhagen.
    first = answer(workspace.incident("timeline INC-1 page 1", user="U1"))
    assert lines(first)[0] == "• Fri 2026-11-20 10:00 CET · <@U1> declared: Checkout API down"
    assert len(lines(first)) == 15 and lines(first)[-1].endswith("step 14")
    assert first["blocks"][-1]["type"] == "section"  # the first page has no page before


def test_earlier_events_replace_the_page_shown(workspace, slack):
    busy_incident(workspace)
    workspace.click("incident_timeline", "INC-1 1", user="U3")
    (call,) = slack.wait_for(RESPONSE_URL)
    assert call.params["replace_original"] is True
    assert call.params["response_type"] == "ephemeral"
    assert (
        "events 1–15 of 17, page 1 of 2 · times in UTC" in call.params["blocks"][0]["text"]["text"]
    )
    assert lines(call.params)[0] == "• Fri 2026-11-20 09:00 UTC · <@U1> declared: Checkout API down"


def test_what_people_typed_is_shown_as_words_and_corrections_say_old_and_new(workspace, slack):
    channel = declared(workspace)
    workspace.incident("update <!channel> rollback done", channel=channel)
    workspace.ctx.clock.advance(minutes=20)
    workspace.incident("ack at 09:05", channel=channel, user="U3")
    body = answer(workspace.incident("timeline", channel=channel, user="U3"))
    assert lines(body)[1:] == [
        "• Fri 2026-11-20 09:00 UTC · <@U1> posted an update: &lt;!channel&gt; rollback done",
        "• Fri 2026-11-20 09:05 UTC · <@U3> acknowledged (recorded Fri 2026-11-20 09:20 UTC)",
    ]


def test_a_page_that_is_not_there_and_a_page_that_is_no_number_are_refused(workspace, slack):
    channel = declared(workspace)
    refused = answer(workspace.incident("timeline page 3", channel=channel))
    assert refused["text"] == (
        "⚠️ INC-1's timeline has 1 page; ask for one of them, e.g. `/incident timeline INC-1 page 1`"
    )
    wrong = answer(workspace.incident("timeline soon", channel=channel))
    assert wrong["text"].startswith("⚠️ `/incident timeline` takes a page number (got `soon`)")
    assert answer(workspace.incident("history", channel=channel))["blocks"][0]["text"][
        "text"
    ].startswith("*INC-1 timeline*")


def test_outside_an_incident_channel_the_incident_is_named(workspace, slack):
    declared(workspace)
    body = answer(workspace.incident("timeline inc-1"))
    assert lines(body) == ["• Fri 2026-11-20 10:00 CET · <@U1> declared: Checkout API down"]
    unknown = answer(workspace.incident("timeline INC-9"))
    assert "there is no incident 'INC-9'" in unknown["text"]
