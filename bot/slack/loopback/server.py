"""``LoopbackSlack``: the workspace and its Web API served over HTTP on 127.0.0.1, every
call recorded, and the answers scriptable (see the package docstring)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Self

from bot.slack.loopback.calls import RESPONSE_URL, UPLOAD_URL, Call, CallLog
from bot.slack.loopback.faults import Faults, Reply, Scripts
from bot.slack.loopback.methods import WebApi
from bot.slack.loopback.transport import Answer, HttpServer, Request
from bot.slack.loopback.workspace import SlackError

log = logging.getLogger(__name__)


class LoopbackSlack(WebApi):
    """A Slack workspace and Web API server on 127.0.0.1.

    ``expected_token``, when given, is the only token the Web API accepts (others get
    ``invalid_auth``); the workspace's options are ``WebApi``'s and ``Workspace``'s.
    """

    def __init__(
        self,
        *,
        expected_token: str | None = None,
        chat_write_public: bool = False,
        team_id: str = "T0LOOP",
        team_domain: str = "loopback",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "slabot",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__(
            chat_write_public=chat_write_public, team_id=team_id, team_domain=team_domain,
            bot_user_id=bot_user_id, bot_id=bot_id, bot_name=bot_name, clock=clock,
        )  # fmt: skip
        self.expected_token = expected_token
        self.on_call: Callable[[Call], None] | None = None
        """Called with each Call after it is recorded, before the client gets its answer."""
        self._http = HttpServer(self._serve, host, port)
        self._stopping = threading.Event()
        self._log = CallLog()
        self._scripts = Scripts()
        self._response_urls: set[str] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if not self._http.started:
            self._stopping.clear()
            self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving; a request waiting on a delay or a hold is dropped at once."""
        self._stopping.set()
        self._http.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._http.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``WebClient`` / ``SLACK_API_URL`` (trailing slash matters:
        slack_sdk joins method names with ``urljoin``)."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str | None = None) -> str:
        """A URL on this server to put in a command or action payload as its
        ``response_url``; posts there are recorded as ``RESPONSE_URL`` calls whose
        ``target`` is the id (``name`` when free)."""
        with self._lock:
            ident = name if name and name not in self._response_urls else None
            while ident is None or ident in self._response_urls:
                ident = f"{name or 'response'}-{self._count('response')}"
            self._response_urls.add(ident)
        return f"{self.base_url}/response/{ident}"

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being handled — none held, delayed or half answered — so
        what the workspace shows is final for the calls made so far. ``False`` on timeout."""
        return self._http.wait_idle(timeout)

    # --- recorded calls (calls.CallLog) ------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, in the order they were answered."""
        return self._log.all()

    def calls_to(self, method: str) -> list[Call]:
        return self._log.to(method)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 30.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls to ``method`` (matching ``where``) are recorded; all
        such calls. ``AssertionError`` naming what did arrive after ``timeout`` seconds."""
        return self._log.wait_for(method, count, timeout, where)

    def reset(self) -> None:
        """Forget the recorded calls (the workspace and the scripts stay)."""
        self._log.clear()

    # --- fault scripts (faults.Scripts) ------------------------------------------------------

    def script(self, method: str, *replies: Reply) -> None:
        """Answer the next calls to ``method`` with ``replies``, in order, once each.
        ``method`` may be ``"*"`` for any call, ``RESPONSE_URL`` or ``UPLOAD_URL``."""
        self._scripts.script(method, *replies)

    def fail_always(self, method: str, reply: Reply) -> None:
        """Answer every call to ``method`` with ``reply`` once its script is used up."""
        self._scripts.fail_always(method, reply)

    def clear_script(self) -> None:
        self._scripts.clear()

    def storm(self, faults: Faults | None) -> None:
        """Ask ``faults`` (a ``Storm``, say) how to answer each call that neither a script
        nor ``fail_always`` answers; ``None`` ends the storm."""
        self._scripts.storm(faults)

    # --- serving one request ----------------------------------------------------------------

    def _serve(self, request: Request) -> Answer | None:
        reply = self._scripts.reply_to(request.method)
        if reply is not None and reply.delay > 0:
            self._stopping.wait(reply.delay)
        if reply is not None and reply.hold is not None and not self._stopping.is_set():
            reply.hold.wait(self._stopping)
        if reply is not None and (reply.drop or (reply.waits and self._stopping.is_set())):
            self._record(request, 0, None)
            return None
        if reply is not None and reply.answers:
            answer = Answer(reply.status, reply.payload(), reply.response_headers())
        else:
            answer = self._answer(request)
        self._record(request, answer.status, answer.payload)
        return answer

    def _answer(self, request: Request) -> Answer:
        method, target = request.method, request.target
        with self._lock:
            if method == RESPONSE_URL:
                if target in self._response_urls:
                    return Answer(200, "ok")
                return Answer(404, "expired_url")
            if method == UPLOAD_URL:
                file = self._files.get(target or "")
                if file is None:
                    return Answer(404, "file_not_found")
                file["bytes"] = request.raw
                return Answer(200, f"OK - {len(request.raw)}")
            implementation = self.method(method)
            if implementation is None:
                if method:
                    return Answer(200, {"ok": False, "error": "unknown_method"})
                return Answer(404, "")
            if self.expected_token is not None and request.token != self.expected_token:
                error = "not_authed" if not request.token else "invalid_auth"
                return Answer(200, {"ok": False, "error": error})
            try:
                return Answer(200, {"ok": True, **implementation(request.params)})
            except SlackError as exc:
                return Answer(200, {"ok": False, "error": exc.error, **exc.extra})
            except Exception:  # a bug here must not look like Slack's answer
                log.exception("loopback Slack failed on %s", method)
                return Answer(500, {"ok": False, "error": "loopback_internal_error"})

    def _record(self, request: Request, status: int, response: object) -> None:
        call = Call(
            request.method, request.params, request.token, request.arrived, status, response,
            request.target,
        )  # fmt: skip
        self._log.record(call)
        callback = self.on_call
        if callback is not None:
            try:
                callback(call)
            except Exception:
                log.exception("loopback Slack on_call failed")
