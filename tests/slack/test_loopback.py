"""The loopback Slack, driven through the real slack_sdk WebClient and Bolt's respond()."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack.loopback import (
    RESPONSE_URL,
    UPLOAD_URL,
    Call,
    Hold,
    LoopbackSlack,
    Reply,
    Storm,
)
from bot.slack.loopback.transport import Answer, _Server
from tests.conftest import PATIENCE, wait_until

TOKEN = "xoxb-test"


@pytest.fixture
def slack() -> Iterator[LoopbackSlack]:
    with LoopbackSlack() as server:
        server.add_user("U1", "alice", tz="America/New_York")
        server.add_user("U2", "bob")
        yield server


@pytest.fixture
def client(slack: LoopbackSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def test_auth_test_names_the_bot(slack: LoopbackSlack, client: WebClient):
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("U0BOT", "B0BOT", "T0LOOP")
    assert answer["url"].startswith("https://")
    (call,) = slack.calls_to("auth.test")
    assert call.token == TOKEN and call.status == 200


def test_post_into_a_created_channel_and_update_it(slack: LoopbackSlack, client: WebClient):
    channel = client.conversations_create(name="inc-20261120-checkout")["channel"]
    assert channel["id"].startswith("C") and channel["is_member"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*down*"}}]
    posted = client.chat_postMessage(channel=channel["id"], text="down", blocks=blocks)
    client.pins_add(channel=channel["id"], timestamp=posted["ts"])

    (message,) = slack.messages(channel["id"])
    assert (message["ts"], message["text"], message["blocks"]) == (posted["ts"], "down", blocks)
    assert message["user"] == "U0BOT" and "thread_ts" not in message
    assert slack.pins("inc-20261120-checkout") == [posted["ts"]]
    assert error_of(lambda: client.pins_add(channel=channel["id"], timestamp=posted["ts"])) == (
        "already_pinned"
    )

    client.chat_update(channel=channel["id"], ts=posted["ts"], text="resolved")
    (message,) = slack.messages(channel["id"])
    assert message["text"] == "resolved" and message["blocks"] == blocks  # kept, as Slack does
    assert error_of(lambda: client.chat_update(channel=channel["id"], ts="1.000001", text="x")) == (
        "message_not_found"
    )
    reply = client.chat_postMessage(channel=channel["id"], text="note", thread_ts=posted["ts"])
    assert slack.messages(channel["id"])[1]["thread_ts"] == posted["ts"]
    assert float(reply["ts"]) > float(posted["ts"])


def test_channel_names_follow_slacks_rules(client: WebClient):
    client.conversations_create(name="taken")
    assert error_of(lambda: client.conversations_create(name="taken")) == "name_taken"
    assert error_of(lambda: client.conversations_create(name="Upper")) == "invalid_name_specials"
    assert error_of(lambda: client.conversations_create(name="a b")) == "invalid_name_specials"
    assert error_of(lambda: client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert error_of(lambda: client.conversations_create(name="--")) == "invalid_name_punctuation"


def test_membership_archive_and_invites(slack: LoopbackSlack, client: WebClient):
    general = slack.add_channel("general", members=["U1"])
    assert error_of(lambda: client.chat_postMessage(channel=general, text="hi")) == "not_in_channel"
    assert client.conversations_join(channel=general)["channel"]["is_member"]
    client.chat_postMessage(channel="#general", text="hi")
    assert [m["text"] for m in slack.messages(general)] == ["hi"]

    assert error_of(lambda: client.conversations_invite(channel=general, users="U1")) == (
        "already_in_channel"
    )
    client.conversations_invite(channel=general, users=["U2"])
    assert slack.channel(general)["members"] == ["U0BOT", "U1", "U2"]
    assert error_of(lambda: client.conversations_invite(channel=general, users="U9")) == (
        "user_not_found"
    )

    secret = slack.add_channel("secret", is_private=True)
    assert error_of(lambda: client.conversations_info(channel=secret)) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel="C9999", text="x")) == (
        "channel_not_found"
    )

    client.conversations_archive(channel=general)
    assert client.conversations_info(channel=general)["channel"]["is_archived"]
    assert error_of(lambda: client.chat_postMessage(channel=general, text="x")) == "is_archived"
    assert [c["name"] for c in client.conversations_list()["channels"]] == ["general"]


def test_chat_write_public_posts_without_joining():
    with LoopbackSlack(chat_write_public=True) as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        open_channel = slack.add_channel("open")
        client.chat_postMessage(channel=open_channel, text="hi")
        assert slack.messages("open")[0]["text"] == "hi"


def test_a_dm_to_a_user_id_opens_an_im(slack: LoopbackSlack, client: WebClient):
    posted = client.chat_postMessage(channel="U1", text="your turn")
    assert posted["channel"].startswith("D")
    assert client.conversations_open(users="U1")["channel"]["id"] == posted["channel"]
    assert [m["text"] for m in slack.messages("U1")] == ["your turn"]
    assert [m["text"] for m in slack.messages(posted["channel"])] == ["your turn"]


def test_users_info_and_usergroups(slack: LoopbackSlack, client: WebClient):
    user = client.users_info(user="U1")["user"]
    assert user["tz"] == "America/New_York" and user["tz_offset"] in (-18000, -14400)
    assert user["real_name"] == "alice" and user["is_bot"] is False
    assert client.users_info(user="U0BOT")["user"]["is_bot"] is True
    assert error_of(lambda: client.users_info(user="U404")) == "user_not_found"

    slack.add_usergroup("S1", "oncall", ["U1", "U2"])
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert error_of(lambda: client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"


def test_views_are_recorded_decoded(slack: LoopbackSlack, client: WebClient):
    modal = {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id="123.456", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "declare"
    (call,) = slack.calls_to("views.open")
    assert call.params["view"] == modal and call.params["trigger_id"] == "123.456"

    updated = client.views_update(
        view_id=opened["id"], view={**modal, "blocks": [{"type": "divider"}]}
    )
    assert updated["view"]["id"] == opened["id"]
    assert slack.views[opened["id"]]["blocks"] == [{"type": "divider"}]

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    published = client.views_publish(user_id="U1", view=home)["view"]
    assert slack.calls_to("views.publish")[0].params == {"user_id": "U1", "view": home}
    assert client.views_publish(user_id="U1", view=home)["view"]["id"] == published["id"]


def test_files_upload_v2_end_to_end(slack: LoopbackSlack, client: WebClient, tmp_path):
    channel = client.conversations_create(name="reports")["channel"]["id"]
    answer = client.files_upload_v2(
        channel=channel,
        content=b"month,uptime\n2026-11,99.95\n",
        filename="uptime.csv",
        title="Uptime",
        initial_comment="November",
    )
    file_id = answer["file"]["id"]
    assert slack.files[file_id] == {
        "filename": "uptime.csv",
        "title": "Uptime",
        "bytes": b"month,uptime\n2026-11,99.95\n",
        "channel_id": channel,
        "initial_comment": "November",
        "thread_ts": None,
    }
    assert [c.method for c in slack.calls] == [
        "conversations.create",
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]
    (message,) = slack.messages(channel)
    assert message["text"] == "November" and message["files"][0]["id"] == file_id

    path = tmp_path / "credit.pdf"
    path.write_bytes(b"%PDF-1.7")
    second = client.files_upload_v2(channel=channel, file=str(path), title="Credit")
    assert slack.files[second["file"]["id"]]["bytes"] == b"%PDF-1.7"
    assert slack.files[second["file"]["id"]]["filename"] == "credit.pdf"


def test_a_429_is_retried_after_retry_after(slack: LoopbackSlack):
    client = WebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.script("auth.test", Reply(status=429, headers={"Retry-After": "1"}))
    assert client.auth_test()["ok"]
    first, second = slack.calls_to("auth.test")
    assert (first.status, first.response) == (429, {"ok": False, "error": "ratelimited"})
    assert second.status == 200 and second.at - first.at >= 1.0


def test_a_429_without_retries_carries_retry_after(slack: LoopbackSlack, client: WebClient):
    slack.script("chat.postMessage", Reply(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="U1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_scripted_500_and_api_errors_are_consumed_in_order(slack: LoopbackSlack, client: WebClient):
    slack.script("auth.test", Reply(status=500), Reply(error="account_inactive"))
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 500
    assert error_of(client.auth_test) == "account_inactive"
    assert client.auth_test()["ok"]

    slack.fail_always("users.info", Reply(error="fatal_error"))
    assert error_of(lambda: client.users_info(user="U1")) == "fatal_error"
    assert error_of(lambda: client.users_info(user="U1")) == "fatal_error"
    slack.clear_script()
    assert client.users_info(user="U1")["ok"]


def test_slowness_makes_a_short_timeout_fire(slack: LoopbackSlack):
    client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=1, retry_handlers=[])
    held = Hold()  # answered only once the client has given up
    slack.script("auth.test", Reply(hold=held))
    with pytest.raises(TimeoutError):  # raised bare by urllib's getresponse, not as URLError
        client.auth_test()
    assert held.reached.is_set()
    held.release()
    assert client.auth_test()["ok"]  # the script is used up


def test_a_dropped_connection_is_a_connection_error(slack: LoopbackSlack, client: WebClient):
    slack.script("auth.test", Reply(drop=True))
    with pytest.raises(RemoteDisconnected):  # a ConnectionResetError
        client.auth_test()
    assert slack.calls_to("auth.test")[0].status == 0

    # slack_sdk's default handlers retry one connection error, so one drop goes unnoticed
    default = WebClient(token=TOKEN, base_url=slack.api_url)
    slack.script("auth.test", Reply(drop=True))
    assert default.auth_test()["ok"]


def test_wait_for_wakes_on_a_call_from_another_thread(slack: LoopbackSlack, client: WebClient):
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="U2", text="later"))
    timer.start()
    try:
        (call,) = slack.wait_for("chat.postMessage", where=lambda c: c.ok)
    finally:
        timer.join()
    assert call.params == {"channel": "U2", "text": "later"}


def test_a_held_request_waits_for_its_release_and_wait_idle_for_its_answer(
    slack: LoopbackSlack, client: WebClient
):
    held = Hold()
    slack.script("auth.test", Reply(hold=held))
    caller = threading.Thread(target=client.auth_test)
    caller.start()
    assert held.reached.wait(PATIENCE)
    assert slack.wait_idle(0.1) is False and slack.calls_to("auth.test") == []  # still held
    held.release()
    caller.join(PATIENCE)
    assert slack.wait_idle() and slack.calls_to("auth.test")[0].ok


def test_wait_for_says_what_did_arrive(slack: LoopbackSlack, client: WebClient):
    client.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)chat\.update.*got 0.*auth\.test\(\) -> 200 ok"):
        slack.wait_for("chat.update", timeout=0.1)


def test_concurrent_posts_all_land_with_unique_ts(slack: LoopbackSlack, client: WebClient):
    channel = client.conversations_create(name="busy")["channel"]["id"]
    seen: list[Call] = []
    slack.on_call = seen.append
    threads = [
        threading.Thread(
            target=client.chat_postMessage, kwargs={"channel": channel, "text": str(i)}
        )
        for i in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = slack.messages(channel)
    assert sorted(m["text"] for m in messages) == [str(i) for i in range(10)]
    assert len({m["ts"] for m in messages}) == 10
    assert len(slack.wait_for("chat.postMessage", count=10, timeout=1)) == 10
    assert len(seen) == 10


def test_respond_posts_to_a_response_url(slack: LoopbackSlack):
    url = slack.response_url(name="incident-cmd")
    assert url.endswith("/response/incident-cmd")
    answer = Respond(response_url=url)(text="Declared", response_type="ephemeral")
    assert answer.status_code == 200 and answer.body == "ok"
    (call,) = slack.calls_to(RESPONSE_URL)
    assert call.target == "incident-cmd"
    assert call.params == {"text": "Declared", "response_type": "ephemeral"}
    assert slack.response_url(name="incident-cmd").endswith("/response/incident-cmd-1")


def test_expected_token_rejects_others():
    with LoopbackSlack(expected_token=TOKEN) as slack:
        assert WebClient(token=TOKEN, base_url=slack.api_url).auth_test()["ok"]
        wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
        assert error_of(wrong.auth_test) == "invalid_auth"
        assert slack.calls[-1].token == "xoxb-wrong"


def test_unknown_methods_are_answered_and_recorded(slack: LoopbackSlack, client: WebClient):
    assert error_of(lambda: client.api_call("incidents.declare", params={"channel": "C1"})) == (
        "unknown_method"
    )
    assert (
        error_of(lambda: client.apps_connections_open(app_token="xapp-1"))
        == "not_allowed_token_type"
    )
    assert slack.calls_to("incidents.declare")[0].params == {"channel": "C1"}
    slack.reset()
    assert slack.calls == []


@pytest.mark.parametrize("pending", [Reply(delay=600), Reply(hold=Hold())], ids=["delay", "hold"])
def test_stop_is_prompt_even_with_a_pending_delay(slack: LoopbackSlack, pending: Reply):
    client = WebClient(token=TOKEN, base_url=slack.api_url, timeout=300, retry_handlers=[])
    slack.script("auth.test", pending)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.auth_test()
        except Exception as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_until(lambda: slack.wait_idle(0) is False)  # the call is being answered
    slack.stop()
    caller.join(timeout=PATIENCE)  # not the ten minutes of the delay, nor the client's five
    assert not caller.is_alive()
    assert outcome and isinstance(outcome[0], (ConnectionError, URLError))


def test_history_is_newest_first_within_its_bounds_and_limit_and_shows_metadata_on_request(
    slack: LoopbackSlack, client: WebClient
):
    slack.add_channel("ops", id="C0OPS", bot_member=True)
    stamps = [
        client.chat_postMessage(
            channel="C0OPS", text=f"m{n}", metadata={"event_type": "t", "event_payload": {"n": n}}
        )["ts"]
        for n in range(5)
    ]
    page = client.conversations_history(channel="C0OPS", limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"] and page["has_more"]
    assert "metadata" not in page["messages"][0]  # as Slack: only with include_all_metadata
    since = client.conversations_history(
        channel="C0OPS", oldest=stamps[2], include_all_metadata=True
    )
    assert [m["metadata"]["event_payload"]["n"] for m in since["messages"]] == [4, 3]
    assert not since["has_more"]
    between = client.conversations_history(
        channel="C0OPS", oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in between["messages"]] == ["m3", "m2", "m1"]
    assert [p["n"] for _, p in slack.metadata_payloads("t")] == [0, 1, 2, 3, 4]


def test_a_storm_answers_with_its_faults_at_their_rates_and_leaves_other_hosts_alone(
    slack: LoopbackSlack, client: WebClient
):
    storm = Storm(rate_limited=0.2, server_error=0.2, dropped=0.2, slow=0.1, slow_delay=(0, 0.01),
                  seed=3)  # fmt: skip
    slack.storm(storm)
    outcomes = []
    for _ in range(200):
        try:
            client.auth_test()
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(exc.response.status_code)
        except OSError:
            outcomes.append("dropped")
    assert sum(storm.counts.values()) == 200 - outcomes.count("ok") + storm.counts["slow"]
    assert outcomes.count("dropped") == storm.counts["dropped"] > 20
    assert outcomes.count(429) == storm.counts["rate_limited"] > 20
    assert sum(outcomes.count(code) for code in (500, 502, 503)) == storm.counts["server_error"]
    assert {c.status for c in slack.calls_to("auth.test")} == {0, 200, 429, 500, 502, 503}
    Respond(response_url=slack.response_url())(text="answered")  # response URLs: no storm
    assert slack.calls_to(RESPONSE_URL)[-1].status == 200
    slack.storm(Storm(server_error=1.0, spare={"auth.test"}))
    assert all(client.auth_test()["ok"] for _ in range(20))
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")
    assert raised.value.response.status_code in (500, 502, 503)
    slack.storm(None)
    assert all(client.users_info(user="U1")["ok"] for _ in range(5))


def test_a_timed_out_post_is_done_though_its_sender_never_heard(slack: LoopbackSlack):
    # A storm's timeout is a delay longer than the client waits, after which the work is done.
    storm = Storm(timeout=1.0, timeout_delay=1.3, methods={"chat.postMessage"})
    assert storm("chat.postMessage") == Reply(delay=1.3) and storm.counts["timeout"] == 1
    impatient = WebClient(token=TOKEN, base_url=slack.api_url, timeout=1, retry_handlers=[])
    landing = Hold()  # the post is done only once the client has given up
    slack.script("chat.postMessage", Reply(hold=landing))
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="U2", text="did it land?")
    landing.release()
    slack.wait_for("chat.postMessage")
    assert [m["text"] for m in slack.messages("U2")] == ["did it land?"]


def test_a_burst_of_connections_waits_in_the_backlog_for_the_accepting_thread():
    """Connections that arrive while the accepting thread waits for the CPU queue in the
    listen backlog. With socketserver's default of 5 the kernel dropped the rest, or answered
    with SYN cookies that later reset the connection: a worker's post became a Retry."""
    server = _Server(("127.0.0.1", 0), lambda r: Answer(200, {"ok": True, "n": r.params["n"]}))
    sockets: list[socket.socket] = []
    serving: threading.Thread | None = None
    try:
        for n in range(64):  # nothing accepts yet: each waits in the backlog
            sock = socket.create_connection(server.server_address, timeout=PATIENCE)
            sockets.append(sock)
            sock.sendall(f"GET /api/x?n={n} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        for n, sock in enumerate(sockets):
            with sock.makefile("rb") as reply:
                answer = reply.read()
            assert answer.startswith(b"HTTP/1.1 200 ") and f'"n": "{n}"'.encode() in answer
    finally:
        for sock in sockets:
            sock.close()
        if serving is not None:
            server.shutdown()
        server.server_close()
