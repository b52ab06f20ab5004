"""What every HTTP route shares (bot/web.py): the body cap, the one-line refusal log, tokens."""

from __future__ import annotations

import io
import logging

import pytest

from bot import web


class Unread(io.BytesIO):
    """A request body that counts what was read of it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def environ(body: bytes, length: str | None, **more) -> dict:
    stream = Unread(body)
    values = {"wsgi.input": stream, "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", **more}
    if length is not None:
        values["CONTENT_LENGTH"] = length
    return values


def test_a_body_within_the_cap_is_read_whole():
    assert web.read_body(environ(b"x" * 1000, "1000"), limit=1000) == b"x" * 1000
    assert web.read_body(environ(b"", "")) == b""


def test_a_declared_length_over_the_cap_is_refused_before_a_byte_is_read():
    request = environ(b"x" * 5000, "5000")
    with pytest.raises(web.Refused) as refused:
        web.read_body(request, limit=1000)
    assert (refused.value.status, refused.value.reason) == (413, "the body is over 1,000 bytes")
    assert request["wsgi.input"].taken == 0


def test_a_body_of_unknown_length_is_read_only_to_the_first_byte_past_the_cap():
    request = environ(b"x" * 5000, None, **{"wsgi.input_terminated": True})
    with pytest.raises(web.Refused) as refused:
        web.read_body(request, limit=1000)
    assert refused.value.status == 413 and request["wsgi.input"].taken == 1001
    short = environ(b"y" * 999, None, **{"wsgi.input_terminated": True})
    assert web.read_body(short, limit=1000) == b"y" * 999
    unterminated = environ(b"z" * 10, None)  # PEP 3333: no length, no end marked, no body
    assert web.read_body(unterminated) == b"" and unterminated["wsgi.input"].taken == 0


@pytest.mark.parametrize("length", ["abc", "-1", "1e9", "²", "١٢"])
def test_a_length_that_is_not_a_number_is_a_bad_request(length):
    with pytest.raises(web.Refused) as refused:
        web.read_body(environ(b"x", length))
    assert refused.value.status == 400


def test_a_request_is_described_in_a_few_clipped_escaped_words():
    request = environ(
        b"", "1048577", PATH_INFO="/x\n2026 ERROR forged" + "/a" * 500, REMOTE_ADDR="10.0.0.7"
    )
    text = web.describe(request)
    assert "\n" not in text and text.startswith("POST /x\\n2026 ERROR forged/a/a")
    assert text.endswith("… from 10.0.0.7 (1,048,577 bytes)") and len(text) < 220


def test_bearer_tokens():
    assert web.bearer_token({"HTTP_AUTHORIZATION": "Bearer abc"}) == "abc"
    assert web.bearer_token({"HTTP_AUTHORIZATION": "bearer  abc "}) == "abc"
    assert web.bearer_token({"HTTP_AUTHORIZATION": "Basic abc"}) is None
    assert web.bearer_token({"HTTP_AUTHORIZATION": "Bearer "}) is None
    assert web.bearer_token({}) is None
    assert web.same_secret("abc", "abc") and not web.same_secret("abd", "abc")
    assert not web.same_secret(None, "abc")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_refusals_are_logged_a_burst_at_a_time_then_one_a_second_the_rest_counted(caplog):
    clock = Clock()
    refusals = web.RefusalLog(logging.getLogger("test.refusals"), burst=3, clock=clock)
    with caplog.at_level(logging.WARNING, "test.refusals"):
        for _ in range(100):
            refusals.refused("POST /slack/events from 10.0.0.7 (12 bytes)", 401, "bad signature")
        clock.now += 1.0
        refusals.refused("POST /slack/events from 10.0.0.7 (12 bytes)", 401, "bad signature")
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[:3] == ["refused 401 POST /slack/events from 10.0.0.7 (12 bytes): bad signature"] * 3
    )
    assert lines[3:] == [
        "refused 401 POST /slack/events from 10.0.0.7 (12 bytes): bad signature "
        "[97 more refused, not logged]"
    ]


def test_a_refusals_reason_is_clipped_and_escaped(caplog):
    refusals = web.RefusalLog(logging.getLogger("test.refusals"))
    with caplog.at_level(logging.WARNING, "test.refusals"):
        refusals.refused("GET /", 400, "bad\n" * 1000)
        refusals.refused("a connection from 10.0.0.7", None, "it holds 100 connections already")
    first, second = [r.getMessage() for r in caplog.records]
    assert "\n" not in first and len(first) < 300
    assert second == "refused a connection from 10.0.0.7: it holds 100 connections already"


def test_answers_are_json_with_their_status():
    said = {}
    body = web.answer(lambda s, h: said.update(status=s, headers=h), 413, {"error": "too big"},
                      close=True)  # fmt: skip
    assert said["status"].startswith("413 ") and body == [b'{"error": "too big"}']
    assert ("Connection", "close") in said["headers"]
    assert web.answer(lambda s, h: None, 200, {"status": "ok"}, head=True) == []
