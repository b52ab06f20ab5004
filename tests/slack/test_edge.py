"""The HTTP edge of the Slack app (``wsgi_app``): bodies capped, signatures checked before Bolt
reads or logs anything, malformed payloads refused in words, every message within Slack's
limits."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from urllib.parse import urlencode

import pytest

from bot import web
from bot.incidents import service
from bot.slack.app import wsgi_app
from bot.slack.blocks import BLOCK_LIMIT, TEXT_LIMIT, Message, context
from tests.slack.conftest import SIGNING_SECRET, make_settings

FORGED = "x\n2026-12-01 09:00:00,000 ERROR bot.worker: reminder INC-7 could not be posted"


class Body(io.BytesIO):
    """A request body that counts what was read of it."""

    taken = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    workspace,
    body: bytes,
    *,
    signed: bool = True,
    timestamp: str | None = None,
    length: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    path: str = "/slack/events",
    method: str = "POST",
    arrived: float | None = None,
):
    """``body`` through the WSGI app as waitress hands it over: status, answer, and its stream
    (``arrived``: when the server stamped its arrival, ``time.monotonic()``)."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    stream = Body(body)
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "wsgi.input": stream,
        "CONTENT_LENGTH": str(len(body)) if length is None else length, "CONTENT_TYPE": content_type,
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": signature(body, timestamp) if signed else "v0=" + "0" * 64,
    }  # fmt: skip
    if arrived is not None:
        environ[web.ARRIVED] = arrived
    said = {}
    application = wsgi_app(workspace.app, workspace.ctx, make_settings(workspace.slack))
    data = b"".join(application(environ, lambda status, headers: said.update(status=status)))
    return int(said["status"].split()[0]), json.loads(data) if data else {}, stream


@pytest.fixture
def logged(caplog, monkeypatch):
    """Every record of every logger, at DEBUG; the refusal log's budget full (it is the
    process's, and earlier tests spent it)."""
    monkeypatch.setattr(web, "refusals", web.RefusalLog())
    caplog.set_level(logging.DEBUG)
    return caplog


def test_an_unsigned_body_over_the_cap_is_refused_unread_in_one_log_line(workspace, logged):
    status, answer, stream = post(workspace, b"a" * 10, signed=False, length="10485760")
    assert (status, answer) == (413, {"error": "the body is over 1,048,576 bytes"})
    assert stream.taken == 0
    (line,) = [r.getMessage() for r in logged.records if r.levelno >= logging.INFO]
    assert line == (
        "refused 413 POST /slack/events from 203.0.113.9 (10,485,760 bytes): "
        "the body is over 1,048,576 bytes"
    )


def test_a_forged_request_logs_one_line_and_nothing_of_its_body(workspace, logged):
    body = urlencode({"command": "/incident", "text": FORGED * 1000, "user_id": "U1"}).encode()
    status, answer, _ = post(workspace, body, signed=False)
    assert (status, answer) == (401, {"error": "the Slack signature does not match"})
    lines = [r.getMessage() for r in logged.records]
    assert len(lines) == 1 and len(lines[0]) < 200, lines  # nothing from Bolt, at any level
    assert "bot.worker" not in lines[0] and "INC-7" not in lines[0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),  # payload=[1]
        (b'payload={"type": "block_actions"', "application/x-www-form-urlencoded"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        (b"command=/incident&text=\xff\xfe", "application/x-www-form-urlencoded"),
    ],
    ids=["bad-json", "payload-list", "payload-cut", "json-list", "json-string", "not-utf8"],
)
def test_malformed_bodies_are_401_unsigned_and_400_signed_never_a_traceback(
    workspace, logged, body, content_type
):
    status, answer, _ = post(workspace, body, signed=False, content_type=content_type)
    assert (status, answer) == (401, {"error": "the Slack signature does not match"})
    status, answer, _ = post(workspace, body, content_type=content_type)
    reason = "the body is not UTF-8" if b"\xff" in body else "the body is not a Slack payload"
    assert (status, answer) == (400, {"error": reason})
    assert not [r for r in logged.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("abc", "the Slack timestamp is not a number"),
        ("", "no Slack signature"),
        ("1e9", "the Slack timestamp is not a number"),
        ("²", "the Slack timestamp is not a number"),
        ("99999999999999999999", "the Slack timestamp is not a number"),
        (str(int(time.time()) - 600), "the Slack timestamp is more than 5 minutes off (a replay?)"),
    ],
)
def test_a_bad_timestamp_is_401_saying_why(workspace, logged, timestamp, reason):
    body = urlencode({"command": "/incident", "text": "list", "user_id": "U1"}).encode()
    status, answer, _ = post(workspace, body, timestamp=timestamp)
    assert (status, answer) == (401, {"error": reason})
    assert not [r for r in logged.records if r.exc_info]


def test_a_signed_command_is_served(workspace):
    body = urlencode({
        "command": "/incident", "text": "help", "user_id": "U1", "channel_id": "C0GENERAL",
        "team_id": "T0LOOP", "trigger_id": "t1", "response_url": workspace.slack.response_url(),
    }).encode()  # fmt: skip
    status, answer, _ = post(workspace, body)
    assert status == 200 and "/incident declare" in answer["text"]


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/slack/events", "GET", 405), ("/", "GET", 404), ("/admin/../etc", "POST", 404)],
)
def test_other_paths_and_methods_are_refused(workspace, logged, path, method, status):
    assert post(workspace, b"", path=path, method=method)[0] == status
    (line,) = [r.getMessage() for r in logged.records]
    assert line.startswith(f"refused {status} {method} {path} from 203.0.113.9")


# --- signed payloads that lack what slabot needs ----------------------------------------------


def command(**fields) -> str:
    return urlencode({"command": "/incident", "text": "ack", "team_id": "T0LOOP",
                      "channel_id": "C0GENERAL", "trigger_id": "t1", **fields})  # fmt: skip


def click(action_id: str, *, user: dict | None = None, value: str | None = "INC-1") -> str:
    action = {"action_id": action_id, "block_id": "incident:INC-1", "type": "button"}
    if value is not None:
        action["value"] = value
    payload = {"type": "block_actions", "team": {"id": "T0LOOP"}, "trigger_id": "t2",
               "channel": {"id": "C0GENERAL"}, "actions": [action]}  # fmt: skip
    if user is not None:
        payload["user"] = user
    return urlencode({"payload": json.dumps(payload)})


def submit(callback_id: str, values: dict, *, metadata: str = "", user: bool = True) -> str:
    payload = {"type": "view_submission", "team": {"id": "T0LOOP"},
               "view": {"id": f"V{time.monotonic_ns()}", "type": "modal", "callback_id": callback_id,
                        "private_metadata": metadata, "state": {"values": values}}}  # fmt: skip
    if user:
        payload["user"] = {"id": "U1"}
    return urlencode({"payload": json.dumps(payload)})


def test_a_signed_command_without_a_user_is_refused_in_words(workspace, logged):
    answer = workspace.dispatch(workspace.requests.sign(command()))
    assert answer.status == 200
    assert json.loads(answer.body)["text"] == (
        "⚠️ Slack's request has no user_id, so slabot did nothing; try again."
    )
    assert not [r for r in logged.records if r.exc_info]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (click("incident_ack", user={"id": "U1"}, value=None), "value"),
        (click("incident_ack"), "user.id"),
        (click("incident_restore", user={"name": "ana"}), "user.id"),
        (click("incident_update", user={"id": "U1"}, value=None), "actions.0.value"),
        (click("incident_severity"), "user.id"),
        (
            submit("update", {"text": {"value": {"type": "plain_text_input", "value": "x"}}}),
            "private_metadata",
        ),
        (submit("severity", {}, metadata="INC-1", user=False), "user.id"),
    ],
    ids=[
        "ack-no-value",
        "ack-no-user",
        "restore-no-user-id",
        "update-no-value",
        "severity-no-user",
        "form-no-incident",
        "form-no-user",
    ],
)
def test_a_signed_payload_without_a_field_is_refused_400_and_changes_nothing(
    workspace, logged, body, missing
):
    workspace.incident("declare 1 Checkout down")
    workspace.edge.wait_idle(10)
    calls = len(workspace.slack.calls)
    answer = workspace.dispatch(workspace.requests.sign(body))
    assert (answer.status, json.loads(answer.body)) == (
        400, {"error": f"Slack's request has no {missing}"}
    )  # fmt: skip
    assert workspace.edge.wait_idle(10) and len(workspace.slack.calls) == calls
    assert not [r for r in logged.records if r.exc_info]
    assert service.get(workspace.ctx, "INC-1").acknowledged_at is None


@pytest.mark.parametrize("callback_id", ["declare", "severity"])
def test_a_form_submitted_without_a_severity_asks_for_one(workspace, callback_id):
    title = {"title": {"value": {"type": "plain_text_input", "value": "Checkout down"}}}
    answer = workspace.dispatch(
        workspace.requests.sign(submit(callback_id, title, metadata="INC-1"))
    )
    assert answer.status == 200
    assert json.loads(answer.body) == {
        "response_action": "errors", "errors": {"severity": "Choose a severity."}
    }  # fmt: skip


# --- every message within Slack's limits -------------------------------------------------------


def test_a_refusal_echoing_a_huge_button_value_sends_clipped_text(workspace, slack):
    answer = workspace.click("incident_ack", "INC-" + "9" * 900_000, channel="C0GENERAL")
    assert answer.status == 200
    assert workspace.edge.wait_idle(10)
    (sent,) = slack.calls_to("chat.postEphemeral")
    assert "there is no incident 'INC-999" in sent.params["text"]
    assert len(sent.params["text"]) <= TEXT_LIMIT
    assert len(json.dumps(sent.params)) < 10_000


def test_a_message_of_too_many_blocks_keeps_to_slacks_limit_and_says_it_was_cut():
    message = Message(text="y" * 50_000, blocks=[context(f"line {n}") for n in range(120)])
    sent = message.as_kwargs()
    assert len(sent["text"]) == TEXT_LIMIT and sent["text"].endswith("…")
    assert len(sent["blocks"]) == BLOCK_LIMIT
    assert sent["blocks"][-1]["elements"][0]["text"] == "… (too long for one message: cut)"


def test_the_body_cap_is_the_one_every_route_shares():
    assert web.BODY_LIMIT == 1_048_576


def test_the_ack_budget_counts_from_the_requests_arrival(slack, ctx):
    """A request that waited for a thread has spent that much of Slack's 3 seconds: one that
    arrived longer ago than the budget is acknowledged at once ("working on it") however long
    its work takes (here a declaration, Slack holding its channel), and the answer follows."""
    from threading import Thread

    from bot.slack.loopback import RESPONSE_URL, Hold, Reply
    from tests.conftest import PATIENCE
    from tests.slack.conftest import make_workspace

    budget = 1000.0  # an ack that waited for the budget would never come in the test's time
    workspace = make_workspace(slack, ctx, ack_budget=budget)
    held = Hold()
    slack.script("conversations.create", Reply(hold=held))
    url = slack.response_url()
    body = urlencode({
        "command": "/incident", "text": "declare 1 Checkout down", "user_id": "U1",
        "channel_id": "C0GENERAL", "team_id": "T0LOOP", "trigger_id": "t1", "response_url": url,
    }).encode()  # fmt: skip
    answered: list = []
    sender = Thread(
        target=lambda: answered.append(post(workspace, body, arrived=time.monotonic() - budget - 1))
    )
    sender.start()
    sender.join(PATIENCE)  # bounds a hang: the answer does not wait for Slack
    try:
        assert not sender.is_alive()
        status, answer, _ = answered[0]
        assert status == 200 and answer["text"].startswith("⏳ Working on it"), answer
    finally:
        held.release()
        sender.join(PATIENCE)
    later = slack.wait_for(RESPONSE_URL, where=lambda c: c.target == url.rsplit("/", 1)[1])
    assert "INC-1 declared (Sev 1): Checkout down" in later[-1].params["text"]


def test_a_read_is_answered_while_changes_wait_for_slack(slack, ctx):
    """Every thread for changes is taken by a declaration Slack is holding: ``list`` and
    ``status`` still get their answer, from threads of their own."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Thread

    from bot.slack.loopback import Hold, Reply
    from tests.slack.conftest import make_workspace

    workspace = make_workspace(slack, ctx)
    workspace.edge.answers = ThreadPoolExecutor(1, thread_name_prefix="test-answer")
    held = Hold()
    slack.script("conversations.create", Reply(hold=held))
    declaring = Thread(target=lambda: workspace.incident("declare 1 Checkout down"))
    declaring.start()
    try:
        assert held.reached.wait(60)  # the one thread for changes waits on Slack
        listed = workspace.ack_text(workspace.incident("list"))
        assert listed.startswith("*1 open incident*"), listed
        assert "INC-1" in workspace.ack_text(workspace.incident("status INC-1"))
    finally:
        held.release()
        declaring.join(60)
