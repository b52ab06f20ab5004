"""A Slack Web API on localhost: the tests' fake Slack and the workspace of ``slabot console``.

The real ``slack_sdk`` ``WebClient`` (and Bolt's ``App``, ``respond()`` and
``files_upload_v2``) talk to it through ``base_url=slack.api_url``. It keeps a small,
consistent workspace (users, channels, user groups, messages, pins, views, files), answers
the way Slack does (``{"ok": false, "error": ...}`` with HTTP 200 for API errors), records
every call, and can be scripted to fail: 429 with Retry-After, 5xx, API errors, slowness,
requests held until released, and dropped connections. ``SlackRequests`` is the other
direction: the signed requests Slack sends to an app.

    with LoopbackSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        slack.add_channel("general", bot_member=True)
        client.chat_postMessage(channel="general", text="hello")
        assert slack.messages("general")[0]["text"] == "hello"

One idea per module:

- ``transport``: the HTTP server (requests in, answers out; which are still in flight);
- ``faults``: scripted answers (``Reply``, ``Hold``) and random ones (``Storm``);
- ``calls``: every call recorded (``Call``), and waiting for one;
- ``workspace``: the workspace model, seeded and read by tests and the console;
- ``methods``: the Web API methods acting on it;
- ``server``: ``LoopbackSlack``, the above put together;
- ``requests``: signed slash commands, button clicks, form submissions and events.

The server is standard library only, so the console can use it without test dependencies.
"""

from bot.slack.loopback.calls import RESPONSE_URL, UPLOAD_URL, Call
from bot.slack.loopback.faults import FAULTS, Hold, Reply, Storm
from bot.slack.loopback.requests import SignedRequest, SlackRequests
from bot.slack.loopback.server import LoopbackSlack
from bot.slack.loopback.workspace import SlackError

__all__ = [
    "FAULTS",
    "RESPONSE_URL",
    "UPLOAD_URL",
    "Call",
    "Hold",
    "LoopbackSlack",
    "Reply",
    "SignedRequest",
    "SlackError",
    "SlackRequests",
    "Storm",
]
