from __future__ import annotations

import pytest

from bot.slack.loopback import LoopbackSlack
from tests.slack.conftest import BOT_TOKEN


@pytest.fixture
def slack():
    """The local Slack with an incident channel (``C0INC``) and an announce channel
    (``C0ANNOUNCE``), the bot a member of both."""
    with LoopbackSlack(expected_token=BOT_TOKEN) as server:
        server.add_channel("inc-1", id="C0INC", bot_member=True)
        server.add_channel("announce", id="C0ANNOUNCE", bot_member=True)
        yield server
