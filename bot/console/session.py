"""A console session: the real Bolt app, services and worker on a local Slack workspace.

Nothing here handles an incident. A line such as ``/incident ack`` becomes the signed
slash-command request Slack would send, and goes through ``App.dispatch`` into the same
listeners as in production; ``click acknowledge`` becomes the ``block_actions`` payload of
that button. The reminder worker runs in a thread against the same ``LoopbackSlack``. What
the bot posts, updates and answers is printed as the incident channel would show it
(``bot.console.render``).

Time: one ``ScaledClock`` (``--speed``) is the clock of the services, the worker and the
workspace's message timestamps, so deadlines, reminders and the printed times agree.
``wait 16m`` lets 16 minutes of that clock pass, then waits until the worker has posted
everything that fell due meanwhile, so scripted drills print the same thing every time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.engine import make_url

from bot.clock import ScaledClock, SystemClock
from bot.console import render
from bot.context import Context
from bot.errors import Refusal
from bot.incidents import service
from bot.parse import parse_severity, parse_span
from bot.reminders import service as reminders
from bot.sla.contract import Contract
from bot.sla.timers import TimerKind
from bot.slack import blocks
from bot.slack.app import build_app, make_client
from bot.slack.channels import channel_name
from bot.slack.loopback import RESPONSE_URL, Call, LoopbackSlack
from bot.slack.mrkdwn import escape
from bot.text import format_local, format_span
from bot.worker import Worker
from config.contracts import load_contracts, load_policies, policy_files
from config.policy import Contracts, suggest
from config.settings import Settings, get_settings
from storage.db import Database

log = logging.getLogger(__name__)

CONSOLE_DATABASE = "slabot-console.db"
"""The default database: a SQLite file in the working directory, new for every session."""
MAX_WAIT = dt.timedelta(days=30)
WORKER_SEEN: dt.timedelta = reminders.ALIVE_WITHIN
"""How recently App Home wants to have seen a worker, in drill time."""
GENERAL = "C0GENERAL"

HELP = """\
Slash commands, exactly as in Slack (the reply is what Slack would show):
  /incident help · /sla help
The console's own commands:
  wait <span>           let drill time pass (16m, 90s, 1h 30m); reminders print as they fall due
  click <button> [text] press a button of the newest message here that has it:
                        click ack · click post update Failover done · click severity 2
  card                  show the pinned incident card of this channel
  channel [name|INC-n]  list channels, or go to one (an incident's channel acts on it)
  who [name [zone]]     list people, or be someone else (a new name joins the workspace)
  home                  open slabot's App Home tab
  time                  the drill clock
  help · quit (or exit, or Ctrl-D)
Lines starting with # are comments, so a drill can be a script: slabot console < drill.txt"""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,20}")


def local_zone() -> str:
    """This machine's IANA zone: ``TZ``, else ``/etc/localtime``'s target, else UTC."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError):
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name and is_zone(name):
            return name
    return "UTC"


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class DrillClock(ScaledClock):
    """The scaled clock, whose sleeps a command can cut short: the worker then looks again
    at once instead of at its next poll (a reminder a command made due is posted now)."""

    def __init__(self, speed: float, origin: dt.datetime | None = None):
        super().__init__(speed, origin)
        self._nudged = threading.Event()

    def nudge(self) -> None:
        self._nudged.set()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        if wake is not None and wake.is_set():
            return
        self._nudged.wait(max(0.0, seconds) / self.speed)
        self._nudged.clear()


class DrillWorker(Worker):
    """The worker, telling the console how far it has caught up (for ``wait``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._progress = threading.Condition()
        self._caught_up: dt.datetime | None = None

    def step(self) -> float:
        started = self.ctx.clock.now()
        nap = super().step()
        if nap > 0:  # nothing was left to claim: everything due at ``started`` is handled
            with self._progress:
                self._caught_up = started
                self._progress.notify_all()
        return nap

    def wait_caught_up(self, instant: dt.datetime, timeout: float) -> bool:
        """Block until every reminder due by ``instant`` is handled (``False`` on timeout)."""
        clock = self.ctx.clock
        if isinstance(clock, DrillClock):
            clock.nudge()
        deadline = time.monotonic() + timeout
        with self._progress:
            while self._caught_up is None or self._caught_up < instant:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stop.is_set():
                    return False
                self._progress.wait(remaining)
        return True


class _Pool(ThreadPoolExecutor):
    """A thread pool that can be waited on until nothing it was given is still running."""

    def __init__(self, workers: int, name: str):
        super().__init__(workers, thread_name_prefix=name)
        self._running: set[Future] = set()
        self._guard = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future = super().submit(fn, *args, **kwargs)
        with self._guard:
            self._running.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        with self._guard:
            self._running.discard(future)

    def busy(self) -> list[Future]:
        with self._guard:
            return list(self._running)


@dataclass
class Person:
    id: str
    name: str
    zone: str


class _Printer:
    """Writes whole messages at once, from any thread; at an interactive prompt it redraws
    the prompt and what was typed so far under a message that arrived meanwhile."""

    def __init__(self, out: TextIO, interactive: bool):
        self.out, self.interactive = out, interactive
        self.lock = threading.RLock()
        self.prompt: str | None = None

    def write(self, lines: Iterable[str]) -> None:
        text = "\n".join(lines) + "\n"
        with self.lock:
            redraw = self.interactive and self.prompt is not None
            if redraw:
                self.out.write("\r\x1b[K")
            self.out.write(text)
            if redraw:
                self.out.write(self.prompt + _typed_so_far())
            self.out.flush()


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


class Console:
    """One session. ``start()``, then ``execute(line)`` per line (``False``: quit), ``close()``."""

    def __init__(
        self,
        *,
        settings: Settings,
        contracts: Contracts,
        database_url: str,
        new_database: bool,
        speed: float,
        zone: str,
        out: TextIO,
        interactive: bool = False,
        style: bool = False,
        ask: Callable[[str], str] | None = None,
    ):
        self.base_settings, self.contracts = settings, contracts
        self.database_url, self.new_database = database_url, new_database
        self.speed, self.zone, self.style, self.ask = speed, zone, style, ask
        self.printer = _Printer(out, interactive)
        self._lock = threading.RLock()
        self._people: dict[str, Person] = {}
        self._channels: dict[str, str] = {}
        self._created: list[str] = []
        self._forms: dict[str, dict] = {}
        self._home: dict | None = None
        self._responses: dict[str, tuple[str, str]] = {}
        self._quiet = False
        self._bolt_pool = _Pool(8, "console-bolt")
        self._work_pool = _Pool(8, "console-work")
        self.slack: LoopbackSlack | None = None
        self.worker: DrillWorker | None = None
        self._worker_thread: threading.Thread | None = None

    # --- start and stop -----------------------------------------------------------------

    def start(self) -> None:
        if self.new_database:
            _remove_sqlite(self.database_url)
        db = Database(self.database_url)
        db.ensure_schema()
        self.started_at = _resume_from(Context(db, self.contracts, SystemClock()))
        self.clock = DrillClock(self.speed, origin=self.started_at)
        self.ctx = Context(db=db, contracts=self.contracts, clock=self.clock)

        token, secret = f"xoxb-console-{secrets.token_hex(12)}", secrets.token_hex(16)
        self.secret = secret
        self.slack = LoopbackSlack(
            expected_token=token, clock=lambda: self.clock.now().timestamp()
        ).start()
        self.me = self._person("you", self.zone)
        self.slack.add_channel("general", id=GENERAL, bot_member=True, members=(self.me.id,))
        self._channels[GENERAL] = "general"
        self.channel = GENERAL
        self.user = self.me
        self.settings = self.base_settings.model_copy(
            update={
                "slack_bot_token": SecretStr(token),
                "slack_signing_secret": SecretStr(secret),
                "slack_app_token": None,
                "slack_api_url": self.slack.api_url,
                "database_url": self.database_url,
                "responders": [],
                "admins": [self.me.id],
                "managers": [self.me.id],
                "escalation": [],
                "announce_channel": GENERAL,
            }
        )
        self.client = make_client(self.settings)
        self.app, self.edge = build_app(
            self.ctx,
            self.settings,
            client=self.client,
            listener_executor=self._bolt_pool,
            executor=self._work_pool,
        )
        adopted = self._adopt_open_incidents()
        self.slack.on_call = self._on_call
        self.worker = DrillWorker(
            self.ctx,
            make_client(self.settings, retry_rate_limits=False),
            self.settings,
            poll=0.25 * self.speed,
        )
        self._worker_thread = threading.Thread(
            target=self.worker.run, name="console-worker", daemon=True
        )
        self._worker_thread.start()
        self.printer.write(self._banner(adopted))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop.set()
            self.clock.nudge()
            if self._worker_thread is not None:
                self._worker_thread.join(timeout=10)
        self._settle()
        self._bolt_pool.shutdown(wait=True)
        self._work_pool.shutdown(wait=True)
        if self.slack is not None:
            self.slack.on_call = None
            self.slack.stop()
        self.ctx.db.dispose()

    def _banner(self, adopted: list[str]) -> list[str]:
        policy = self.contracts.default_policy
        customers = ", ".join(self.contracts.customers) or "none (--customers FILE)"
        url = make_url(self.database_url).render_as_string(hide_password=True)
        lines = [
            "slabot console — a Slack workspace of its own in this terminal; nothing reaches Slack.",
            f"Contract for incidents that name no customer: {policy.id} ({policy.name}).",
            f"Customers: {customers}.",
            f"Database: {url}" + (" (new for this session)." if self.new_database else "."),
            f"Drill clock: {format_local(self.started_at, self.zone)}, {self._pace()}.",
        ]
        lines += [f"{line}" for line in adopted]
        lines += [
            f"You are @{self.me.name} in #general. Try `/incident declare 1 Checkout API down`, "
            "then `wait 16m`; `help` lists the console's own commands.",
            "",
        ]
        return lines

    def _speed(self) -> str:
        return "at real time" if self.speed == 1 else f"{self.speed:g}× real time"

    def _pace(self) -> str:
        pace = self._speed()
        contract = Contract.of_deployment(self.contracts.default_policy)
        levels = self.contracts.default_policy.levels or (1,)
        rule = contract.rule(TimerKind.RESPONSE, levels[0])
        due = contract.deadlines(levels[0], self.started_at)[TimerKind.RESPONSE]
        if rule is None or due is None:
            return pace
        real = (due - self.started_at) / self.speed
        return (
            f"{pace}: a severity {levels[0]} incident declared now has {rule.describe()} "
            f"to its response deadline, {_real(real)} of real time"
        )

    def _adopt_open_incidents(self) -> list[str]:
        """Open incidents of a database given with ``--database`` get their channels and
        cards again in this workspace, so they can be acted on and reminded of."""
        lines = []
        self._quiet = True
        try:
            for view in service.list_incidents(self.ctx, open_only=True):
                if not view.channel_id:
                    continue
                if view.channel_id not in self._channels:
                    name = self._free_name(
                        channel_name(self.settings.channel_prefix, view.declared_at, view.title)
                    )
                    self.slack.add_channel(
                        name, id=view.channel_id, bot_member=True, members=(self.me.id,)
                    )
                    self._channels[view.channel_id] = name
                card = blocks.incident_card(view, self.contracts)
                ts = self.client.chat_postMessage(channel=view.channel_id, **card.as_kwargs())["ts"]
                self.client.pins_add(channel=view.channel_id, timestamp=ts)
                service.set_slack_card(self.ctx, view.ref, channel_id=view.channel_id, card_ts=ts)
                lines.append(
                    f"Open from the database: {view.ref} ({view.title}) in "
                    f"#{self._channels[view.channel_id]}."
                )
        finally:
            self._quiet = False
        return lines

    def _free_name(self, name: str) -> str:
        taken = set(self._channels.values())
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name[:76]}-{n}", n + 1
        return candidate

    # --- people and channels -------------------------------------------------------------

    def _person(self, name: str, zone: str) -> Person:
        with self._lock:
            person = Person(f"U{len(self._people) + 1:04d}", name, zone)
            self._people[person.id] = person
        self.slack.add_user(person.id, name, tz=zone)
        return person

    def _by_name(self, name: str) -> Person | None:
        return next((p for p in self._people.values() if p.name == name), None)

    def _channel_name(self, channel_id: str) -> str:
        with self._lock:
            if channel_id in self._channels:
                return self._channels[channel_id]
        try:
            return self.slack.channel(channel_id).get("name") or "direct message"
        except KeyError:
            return channel_id

    def reader(self) -> render.Reader:
        with self._lock:
            users = {p.id: p.name for p in self._people.values()}
            users[self.slack.bot_user_id] = self.slack.bot_name
            return render.Reader(
                now=self.clock.now(),
                zone=self.user.zone,
                users=users,
                channels=dict(self._channels),
                style=self.style,
            )

    # --- what the workspace shows ---------------------------------------------------------

    def _on_call(self, call: Call) -> None:
        """Every Web API call the bot makes; what a person would see is printed."""
        if not call.ok:
            return
        method, response = call.method, call.response if isinstance(call.response, dict) else {}
        if method == "conversations.create":
            channel = response["channel"]
            with self._lock:
                self._channels[channel["id"]] = channel["name"]
                self._created.append(channel["id"])
            return
        if method in ("views.open", "views.push", "views.update"):
            trigger = call.params.get("trigger_id") or ""
            with self._lock:
                self._forms[trigger] = response["view"]
            return
        if method == "views.publish":
            with self._lock:
                self._home = response["view"]
            return
        if self._quiet:
            return
        if method == "chat.postMessage":
            self.show(response["channel"], response["message"])
        elif method == "chat.update":
            pinned = response["ts"] in self.slack.pins(response["channel"])
            self.show(
                response["channel"],
                response["message"],
                note="card updated" if pinned else "message updated",
                at=self.clock.now(),
            )
        elif method == "chat.postEphemeral":
            channel = self._channel_id(str(call.params.get("channel", "")))
            user = str(call.params.get("user", ""))
            self.show(channel, call.params, note=self._only(user))
        elif method == RESPONSE_URL:
            channel, user = self._responses.get(call.target or "", (self.channel, self.user.id))
            in_channel = call.params.get("response_type") == "in_channel"
            self.show(channel, call.params, note=None if in_channel else self._only(user))

    def _channel_id(self, ref: str) -> str:
        try:
            return self.slack.channel(ref)["id"]
        except KeyError:
            return ref

    def _only(self, user_id: str) -> str:
        person = self._people.get(user_id)
        return f"only @{person.name if person else user_id} sees this"

    def show(
        self, channel: str, message: dict, *, note: str | None = None, at: dt.datetime | None = None
    ) -> None:
        """Print a message under ``[HH:MM] #channel``: when it was posted, else ``at``, else now."""
        reader = self.reader()
        stamp = message.get("ts")
        instant = at or (
            dt.datetime.fromtimestamp(float(stamp), dt.UTC) if stamp else self.clock.now()
        )
        local = instant.astimezone(ZoneInfo(reader.zone))
        head = f"[{local:%H:%M}] #{self._channel_name(channel)}" + (f" · {note}" if note else "")
        body = render.message(message, reader) or ["(empty)"]
        self.printer.write([render.bold(head, reader), *("  " + line for line in body)])

    def say(self, *lines: str) -> None:
        """The console speaking for itself (not something Slack would show)."""
        self.printer.write(lines)

    def refuse(self, text: str) -> None:
        self.say(f"⚠️ {text}")

    # --- requests into the Bolt app --------------------------------------------------------

    def _signed(self, body: str) -> dict[str, list[str]]:
        stamp = str(int(time.time()))  # Bolt checks requests against real time
        signature = SignatureVerifier(self.secret).generate_signature(timestamp=stamp, body=body)
        kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
        return {
            "content-type": [kind],
            "x-slack-request-timestamp": [stamp],
            "x-slack-signature": [signature],
        }

    def _dispatch(self, body: str) -> dict:
        """Send a request as Slack would; the answer's body (the ack's JSON), if any."""
        response = self.app.dispatch(BoltRequest(body=body, headers=self._signed(body)))
        if response.status != 200:
            self.refuse(f"slabot answered {response.status}: {response.body or 'no body'}")
            return {}
        try:
            return json.loads(response.body) if response.body else {}
        except ValueError:
            return {"text": response.body}

    def _settle(self, timeout: float = 15.0) -> None:
        """Wait until every listener and every piece of work a request started has finished."""
        deadline = time.monotonic() + timeout
        while True:
            busy = self._bolt_pool.busy() + self._work_pool.busy()
            remaining = deadline - time.monotonic()
            if not busy or remaining <= 0:
                return
            wait(busy, timeout=remaining)

    def _trigger(self) -> str:
        return f"console-{uuid.uuid4().hex}"

    def _response_url(self, channel: str, user: str) -> str:
        url = self.slack.response_url("console")
        self._responses[url.rsplit("/", 1)[1]] = (channel, user)
        return url

    def slash(self, command: str, text: str) -> None:
        if command not in ("/incident", "/sla"):
            self.refuse(
                f"`{command}` is not a slabot command: slabot answers `/incident …` and `/sla …` "
                "(try `/incident help`)."
            )
            return
        with self._lock:
            self._created.clear()
        trigger = self._trigger()
        body = urlencode({
            "token": "console", "team_id": self.slack.team_id, "team_domain": self.slack.team_domain,
            "channel_id": self.channel, "channel_name": self._channel_name(self.channel),
            "user_id": self.user.id, "user_name": self.user.name, "command": command,
            "text": escape(text), "api_app_id": "A0LOOP", "is_enterprise_install": "false",
            "response_url": self._response_url(self.channel, self.user.id), "trigger_id": trigger,
        })  # fmt: skip
        answer = self._dispatch(body)
        self._show_answer(answer)
        self._settle()
        self.clock.nudge()  # reminders the command wrote are looked at now
        form = self._forms.pop(trigger, None)
        if form is not None:
            self._show_form(form)
            self.say(
                "(The console does not fill in this form: declare with "
                "`/incident declare <sev> <title…> [for <customer>,…] [outage] [started <when>]`.)"
            )
        self._follow_new_channel()

    def _show_answer(self, answer: dict) -> None:
        if answer.get("response_action") == "errors":
            for problem in (answer.get("errors") or {}).values():
                self.refuse(str(problem))
            return
        if answer.get("text") or answer.get("blocks"):
            in_channel = answer.get("response_type") == "in_channel"
            self.show(self.channel, answer, note=None if in_channel else self._only(self.user.id))

    def _show_form(self, form: dict) -> None:
        reader = self.reader()
        self.printer.write(
            [
                f"[form] only @{self.user.name} sees this",
                *("  " + line for line in render.view(form, reader)),
            ]
        )

    def _follow_new_channel(self) -> None:
        with self._lock:
            created = list(self._created)
        for channel in reversed(created):
            view = service.in_channel(self.ctx, channel)
            if view is None:
                continue
            self.channel = channel
            self.say(
                f"→ You are now in #{self._channel_name(channel)}, {view.ref}'s channel: commands "
                "here act on it (`channel general` goes back)."
            )
            return

    # --- buttons and forms ----------------------------------------------------------------

    def click(self, args: str) -> None:
        messages = list(reversed(self.slack.messages(self.channel)))
        shown = [b for m in messages for b in render.buttons(m)]
        if not args.strip():
            labels = " ".join(dict.fromkeys(f"[{b.label}]" for b in shown)) or "none"
            self.refuse(
                f"click which button? Buttons in #{self._channel_name(self.channel)}: {labels}"
            )
            return
        for message in messages:
            found = _match_button(render.buttons(message), args)
            if found is None:
                continue
            if isinstance(found, list):
                labels = ", ".join(f"[{b.label}]" for b in found)
                self.refuse(f"`{args.split()[0]}` could be {labels}: type more of the label.")
                return
            button, text = found
            self._press(message, button, text)
            return
        labels = " ".join(dict.fromkeys(f"[{b.label}]" for b in shown)) or "none"
        self.refuse(
            f"no button `{args.split()[0]}` in #{self._channel_name(self.channel)}; buttons here: {labels}"
        )

    def _press(self, message: dict, button: render.Button, text: str) -> None:
        trigger = self._trigger()
        payload = {
            "type": "block_actions", "api_app_id": "A0LOOP", "token": "console",
            "user": {"id": self.user.id, "username": self.user.name, "team_id": self.slack.team_id},
            "team": {"id": self.slack.team_id, "domain": self.slack.team_domain},
            "channel": {"id": self.channel, "name": self._channel_name(self.channel)},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": self.channel},
            "message": message, "trigger_id": trigger,
            "response_url": self._response_url(self.channel, self.user.id),
            "actions": [{
                "type": "button", "action_id": button.action_id, "block_id": button.block_id,
                "value": button.value, "text": {"type": "plain_text", "text": button.label},
                "action_ts": str(time.time()),
            }],
        }  # fmt: skip
        self._show_answer(self._dispatch(urlencode({"payload": json.dumps(payload)})))
        self._settle()
        self.clock.nudge()
        form = self._forms.pop(trigger, None)
        if form is not None:
            self._fill(form, button, text)

    def _fill(self, form: dict, button: render.Button, text: str) -> None:
        """Answer the form a button opened with ``text`` and submit it, as a person would."""
        inputs = [b for b in form.get("blocks") or [] if b.get("type") == "input"]
        if len(inputs) != 1:
            self._show_form(form)
            self.say("(The console fills in one-field forms only; use the slash command instead.)")
            return
        block = inputs[0]
        element = block.get("element") or {}
        label = render.text_object(block.get("label"), self.reader())
        if not text and self.ask is not None:
            text = self._ask(f"{label}{' (optional)' if block.get('optional') else ''}: ")
        if not text and not block.get("optional"):
            self._show_form(form)
            self.refuse(
                f"[{button.label}] asks: {label}. Give the answer after the button, "
                f"e.g. `click {button.label.lower()} …`."
            )
            return
        if element.get("type") == "static_select":
            option = _option(element.get("options") or [], text)
            if option is None:
                choices = ", ".join(
                    render.text_object(o["text"], self.reader())
                    for o in element.get("options") or []
                )
                self.refuse(f"`{text}` is not one of the choices for {label}: {choices}.")
                return
            state = {"type": "static_select", "selected_option": option}
        else:
            state = {"type": element.get("type", "plain_text_input"), "value": text or None}
        payload = {
            "type": "view_submission", "api_app_id": "A0LOOP", "token": "console",
            "user": {"id": self.user.id, "username": self.user.name, "team_id": self.slack.team_id},
            "team": {"id": self.slack.team_id, "domain": self.slack.team_domain},
            "trigger_id": self._trigger(),
            "view": {
                "id": form.get("id"), "type": "modal", "callback_id": form.get("callback_id"),
                "private_metadata": form.get("private_metadata", ""), "hash": form.get("hash"),
                "state": {"values": {block.get("block_id"): {element.get("action_id"): state}}},
            },
        }  # fmt: skip
        self._show_answer(self._dispatch(urlencode({"payload": json.dumps(payload)})))
        self._settle()
        self.clock.nudge()

    def _ask(self, question: str) -> str:
        """A question at the prompt (a form's one field); messages arriving meanwhile redraw it."""
        assert self.ask is not None
        with self.printer.lock:
            self.printer.prompt = question
        try:
            return self.ask(question).strip()
        except (EOFError, KeyboardInterrupt):
            return ""
        finally:
            with self.printer.lock:
                self.printer.prompt = None

    # --- the console's own commands ----------------------------------------------------------

    def execute(self, line: str) -> bool:
        """Run one line; ``False`` when the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word.startswith("/"):
            self.slash(word.lower(), rest)
            return True
        command = word.lower()
        if command in ("quit", "exit", "q", "bye"):
            return False
        handler = {
            "help": lambda _: self.say(HELP), "?": lambda _: self.say(HELP),
            "wait": self.wait, "sleep": self.wait,
            "time": self.time, "now": self.time, "clock": self.time,
            "click": self.click, "press": self.click,
            "card": self.card, "pins": self.card,
            "channel": self.go, "channels": self.go, "cd": self.go, "join": self.go,
            "who": self.who, "user": self.who, "users": self.who, "as": self.who,
            "home": self.home,
        }.get(command)  # fmt: skip
        if handler is None:
            hint = " (slash commands start with /)" if command in ("incident", "sla") else ""
            self.refuse(
                f"`{word}` is not a console command{hint}. Type `/incident …` or `/sla …` as in "
                "Slack, or one of: wait, click, card, channel, who, home, time, help, quit."
            )
            return True
        handler(rest)
        return True

    def wait(self, args: str) -> None:
        span = None
        with contextlib.suppress(OverflowError):
            span = parse_span(args) if args else None
        if span is None or span <= dt.timedelta(0):
            self.refuse(
                f"wait{' ' + args if args else ''}: say how much drill time should pass, such as "
                f"90s, 16m or 1h 30m (at this speed 16m takes {_real(dt.timedelta(minutes=16) / self.speed)})."
            )
            return
        if span > MAX_WAIT:
            self.refuse(f"wait {args}: at most {format_span(MAX_WAIT)} at a time.")
            return
        until = self.clock.now() + span
        self.say(f"… waiting {format_span(span)} of drill time ({_real(span / self.speed)} real)")
        try:
            while (left := (until - self.clock.now()).total_seconds()) > 0:
                time.sleep(min(left / self.speed, 0.2))
            if self.worker is not None and not self.worker.wait_caught_up(until, timeout=10.0):
                self.say("(the worker is behind: reminders due by now may still follow)")
        except KeyboardInterrupt:
            self.say("(wait interrupted)")
        self.time("")

    def time(self, _: str = "") -> None:
        now = self.clock.now()
        self.say(
            f"⏱ {format_local(now, self.user.zone)} — {format_span(now - self.started_at)} "
            f"since the console started ({self._speed()})."
        )

    def card(self, _: str = "") -> None:
        pins = self.slack.pins(self.channel)
        messages = {m["ts"]: m for m in self.slack.messages(self.channel)}
        cards = [messages[ts] for ts in pins if ts in messages]
        if not cards:
            self.refuse(
                f"nothing is pinned in #{self._channel_name(self.channel)}; "
                "`channel INC-1` goes to an incident's channel."
            )
            return
        for message in cards:
            self.show(self.channel, message, note="pinned")

    def go(self, args: str) -> None:
        if not args:
            lines = ["Channels:"]
            for channel_id, name in sorted(self._channels.items(), key=lambda item: item[1]):
                view = service.in_channel(self.ctx, channel_id)
                about = f" — {view.ref}: {view.title} ({view.state})" if view else ""
                here = "  ← you are here" if channel_id == self.channel else ""
                lines.append(f"  #{name}{about}{here}")
            self.say(*lines)
            return
        target = self._find_channel(args.strip())
        if target is None:
            return
        self.channel = target
        view = service.in_channel(self.ctx, target)
        about = f", {view.ref}'s channel: commands here act on it" if view else ""
        self.say(f"→ You are now in #{self._channel_name(target)}{about}.")

    def _find_channel(self, wanted: str) -> str | None:
        name = wanted.removeprefix("#").lower()
        with contextlib.suppress(Refusal):
            view = service.get(self.ctx, wanted)
            if view.channel_id in self._channels:
                return view.channel_id
            self.refuse(f"{view.ref} has no channel in this workspace.")
            return None
        exact = [c for c, n in self._channels.items() if n == name]
        close = exact or [c for c, n in self._channels.items() if name in n]
        if len(close) == 1:
            return close[0]
        names = ", ".join(f"#{n}" for n in sorted(self._channels.values()))
        if close:
            self.refuse(f"`{wanted}` could be several channels; type more of one: {names}.")
        else:
            self.refuse(
                f"there is no channel `{wanted}`; channels: {names} (or an incident, INC-1)."
            )
        return None

    def who(self, args: str) -> None:
        if not args:
            lines = ["People:"]
            for person in self._people.values():
                roles = " (admin, manager)" if person is self.me else ""
                here = "  ← you" if person is self.user else ""
                lines.append(f"  @{person.name} · {person.zone}{roles}{here}")
            self.say(*lines)
            return
        name, _, zone = args.partition(" ")
        name, zone = name.removeprefix("@").lower(), zone.strip()
        if not _NAME.fullmatch(name):
            self.refuse(
                f"`{name}` is not a name: lower-case letters, digits, . _ or - (at most 21)."
            )
            return
        if zone and not is_zone(zone):
            self.refuse(
                f"`{zone}` is not a time zone: give an IANA name such as Europe/Copenhagen."
            )
            return
        person = self._by_name(name)
        if person is None:
            person = self._person(name, zone or self.zone)
            joined = " (new: a responder, not an admin or a manager)"
        else:
            if zone and zone != person.zone:
                person.zone = zone
                self.slack.add_user(person.id, person.name, tz=zone)
            joined = ""
        self.user = person
        self.say(f"→ You are now @{person.name}{joined}; dates show in {person.zone}.")

    def home(self, _: str = "") -> None:
        with self._lock:
            self._home = None
        body = json.dumps({
            "type": "event_callback", "team_id": self.slack.team_id, "api_app_id": "A0LOOP",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": self.user.id, "tab": "home",
                      "channel": f"D{self.user.id}"},
        })  # fmt: skip
        self._dispatch(body)
        self._settle()
        with self._lock:
            home = self._home
        if home is None:
            self.refuse("the Home tab did not open.")
            return
        reader = self.reader()
        self.printer.write(["[home] slabot", *("  " + line for line in render.view(home, reader))])
        if self.worker is not None and self.worker.poll >= WORKER_SEEN.total_seconds():
            self.say(
                f"(At {self.speed:g}× App Home's 30 seconds are {_real(WORKER_SEEN / self.speed)} "
                "of real time, less than the worker's pause between looks, so it may say that no "
                "worker has checked in: the console's worker is running.)"
            )


def _match_button(
    found: list[render.Button], args: str
) -> tuple[render.Button, str] | list[render.Button] | None:
    """The button ``args`` names (its whole label, or a word of it begun) and the text after it."""
    lowered = args.lower()
    for button in found:
        label = button.label.lower()
        if lowered == label or lowered.startswith(label + " "):
            return button, args[len(label) :].strip()
    first, _, rest = args.partition(" ")
    first = first.lower()
    matches = [b for b in found if any(word.startswith(first) for word in b.label.lower().split())]
    labels = {b.label for b in matches}
    if len(labels) > 1:
        return matches
    return (matches[0], rest.strip()) if matches else None


def _option(options: list[dict], text: str) -> dict | None:
    wanted = text.strip().lower()
    for option in options:
        if option.get("value", "").lower() == wanted:
            return option
    with contextlib.suppress(ValueError):
        level = str(parse_severity(text))
        for option in options:
            if option.get("value") == level:
                return option
    for option in options:
        if option.get("text", {}).get("text", "").lower().startswith(wanted):
            return option
    return None


def _real(span: dt.timedelta) -> str:
    """A real-time span; tenths of a second when it is short (at high speeds it often is)."""
    seconds = span.total_seconds()
    return f"{seconds:.1f}s" if seconds < 10 else format_span(span)


def _remove_sqlite(url: str) -> None:
    """Start the console's own SQLite file afresh (its channels lived in the last session)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(database + suffix).unlink()


def _resume_from(ctx: Context) -> dt.datetime:
    """Real time, or the newest declaration when a faster drill left it in the future."""
    now = ctx.clock.now()
    newest = service.list_incidents(ctx, open_only=False, limit=1)
    return max(now, newest[0].declared_at) if newest else now


def run(console: Console, lines: Iterable[str], *, echo: bool) -> None:
    """Feed ``lines`` to a started console until one says quit or they run out."""
    for line in lines:
        if echo and line.strip():
            console.say(f"> {line.rstrip()}")
        if not console.execute(line):
            return


def interactive_lines(console: Console) -> Iterable[str]:
    """Lines typed at a prompt, with readline's editing and history when it is available."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (input() uses it once imported)
    while True:
        prompt = _prompt(console)
        with console.printer.lock:
            console.printer.prompt = prompt
        try:
            line = input(prompt)
        except EOFError:
            console.say("")
            return
        except KeyboardInterrupt:
            console.say("", "(type quit or press Ctrl-D to leave)")
            continue
        finally:
            with console.printer.lock:
                console.printer.prompt = None
        yield line


def _prompt(console: Console) -> str:
    who = "" if console.user is console.me else f"@{console.user.name} "
    return f"{who}#{console._channel_name(console.channel)}> "


def prepare(policy_id: str | None, customers_file: Path | None) -> tuple[Settings, Contracts]:
    """The deployment's settings (policies folder, channel naming…) and the contracts to
    rehearse: ``--policy`` replaces SLABOT_DEFAULT_POLICY, ``--customers`` the customers file."""
    settings = get_settings()
    paths = policy_files(settings.policies_dir)
    if policy_id is not None:
        known = load_policies(paths)
        if policy_id not in known:
            raise LookupError(
                f"{policy_id!r} is not a policy{suggest(policy_id, known)}; "
                f"policies: {', '.join(sorted(known))}"
            )
    customers = customers_file if customers_file is not None else settings.customers_path
    contracts = load_contracts(paths, customers, policy_id or settings.default_policy)
    return settings, contracts


def main(
    *,
    speed: float,
    policy_id: str | None,
    customers_file: Path | None,
    database_url: str | None,
    zone: str | None,
    stdin: TextIO,
    stdout: TextIO,
) -> None:
    """``slabot console``: a session on ``stdin`` (a prompt when it is a terminal, else a script)."""
    settings, contracts = prepare(policy_id, customers_file)
    interactive = stdin.isatty()
    style = interactive and stdout.isatty() and not os.environ.get("NO_COLOR")
    console = Console(
        settings=settings,
        contracts=contracts,
        database_url=database_url or f"sqlite:///{CONSOLE_DATABASE}",
        new_database=database_url is None,
        speed=speed,
        zone=zone or local_zone(),
        out=stdout,
        interactive=interactive,
        style=style,
        ask=input if interactive else None,
    )
    console.start()
    try:
        if interactive:
            run(console, interactive_lines(console), echo=False)
        else:
            run(console, stdin, echo=True)
    finally:
        console.close()
