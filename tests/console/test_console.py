"""``slabot console``: the real app, services and worker on a local workspace, in a terminal.

Drills run at several hundred times real time, so a 30-minute response target runs out in
a few seconds; ``wait`` returns only once the worker has posted what fell due. The sessions
here run on a ``HeldClock``, whose drill time passes only in ``wait`` — so what they print
does not depend on how busy the machine is — and the command-line ones on the real,
scaled clock.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.console import session
from bot.console.render import Button
from bot.console.session import Console, DrillClock
from bot.slack.grammar import UsageError, parse_incident
from config import settings as config_settings
from config.settings import Settings
from tests.conftest import PATIENCE


class HeldClock(DrillClock):
    """Drill time that stands still except in ``wait``, where it moves from one instant the
    worker is asleep until to the next, each time once the worker has done what was due:
    the worker sees every instant it asked to, as on an idle machine at ``speed``."""

    def __init__(self, speed: float, origin: dt.datetime):
        super().__init__(speed, origin)
        self._now = origin
        self._moved = threading.Condition()
        self._nudges = 0
        self._naps = 0
        self._asleep: tuple[int, dt.datetime] | None = None
        """While the worker sleeps: which nap, and until when."""

    def now(self) -> dt.datetime:
        with self._moved:
            return self._now

    def nudge(self) -> None:
        with self._moved:
            self._nudges += 1
            self._moved.notify_all()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        with self._moved:
            self._naps += 1
            until, nudges = self._now + dt.timedelta(seconds=max(0.0, seconds)), self._nudges
            self._asleep = (self._naps, until)
            self._moved.notify_all()
            try:
                self._moved.wait_for(
                    lambda: (
                        self._now >= until
                        or self._nudges != nudges
                        or (wake is not None and wake.is_set())
                    ),
                    PATIENCE,
                )
            finally:
                self._asleep = None
                self._moved.notify_all()

    def pass_until(self, until: dt.datetime) -> None:
        woken: int | None = None
        with self._moved:
            while self._now < until:
                if not self._moved.wait_for(
                    lambda woken=woken: self._asleep is not None and self._asleep[0] != woken,
                    PATIENCE,
                ):
                    raise AssertionError("the console's worker never went to sleep")
                assert self._asleep is not None
                nap, wakes_at = self._asleep
                self._now = min(until, wakes_at)
                woken = nap if self._now >= wakes_at else None
                self._moved.notify_all()


def start(db, contracts, speed: float = 600) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(
        settings=Settings(_env_file=None),
        contracts=contracts,
        database_url=db.url,
        new_database=False,
        speed=speed,
        zone="Europe/Copenhagen",
        out=out,
        drill_clock=HeldClock,
    )
    console.start()
    return console, out


@pytest.fixture
def drill(db, contracts):
    """Run lines in a console at ``speed``; its whole output."""
    consoles = []

    def run(*lines: str, speed: float = 600) -> str:
        console, out = start(db, contracts, speed)
        consoles.append(console)
        session.run(console, lines, echo=True)
        return out.getvalue()

    yield run
    for console in consoles:
        console.close()


def after(output: str, line: str) -> str:
    """What was printed after the echo of the line that starts with ``line``."""
    echo = output.index(f"> {line}")
    return output[output.index("\n", echo) + 1 :]


def test_a_declared_incident_shows_its_card_then_its_first_reminder_falls_due(drill):
    output = drill("/incident declare 1 Checkout API down", "wait 16m")
    declared = after(output, "/incident declare 1 Checkout API down").split("> wait 16m")[0]
    assert "#inc-" in declared and "🔴 INC-1 · Sev 1 · Checkout API down" in declared
    assert "[Acknowledge] [Post update] [Change severity] [Pause] [Restore] [Resolve]" in declared
    assert "🚨 INC-1 declared (Sev 1): Checkout API down → #inc-" in declared
    assert "→ You are now in #inc-" in declared
    waited = after(output, "wait 16m")
    assert (
        "⏳ INC-1 (Checkout API down): the response target of messaging-platform (30m 24x7)"
        in waited
    )
    # The deadline first, as Slack renders the token for the reader; the time left to the
    # minute (near midnight it is tomorrow).
    assert re.search(r"is due (today|tomorrow) \d\d:\d\d, in 15 minutes\.", waited), waited
    assert "Acknowledge with `/incident ack`" in waited
    assert "missed the response target" not in waited


def test_acknowledging_with_the_button_stops_the_response_clock_and_its_reminders(drill):
    output = drill("/incident declare 1 Checkout API down", "click ack", "wait 31m", speed=900)
    clicked = after(output, "click ack")
    assert "@you acknowledged the incident" in clicked
    assert "· card updated" in clicked and "✅ met today" in clicked
    assert "only @you sees this\n  ✅ Acknowledged — response met (INC-1)." in clicked
    assert "missed the response target" not in clicked  # by 31m it would have been breached


def test_forms_behind_buttons_are_filled_from_the_line(drill):
    output = drill(
        "/incident declare 1 Checkout API down",
        "click post update Failover to the replica is done",
        "click post",
        "click severity 2",
        "click severity 9",
        "click re",
    )
    assert "📝 Update on INC-1 from @you:\n  Failover to the replica is done" in output
    assert "asks: What is happening, what is next?" in after(output, "click post")
    assert "@you changed the severity 1 → 2" in output
    assert "`9` is not one of the choices for New severity" in output
    assert "`re` could be [Restore], [Resolve]: type more of the label." in output


def test_bad_input_gets_the_same_refusal_as_in_slack(drill, contracts):
    output = drill("/incident frobnicate now", "frobnicate", "/deploy", "wait soon", "click")
    with pytest.raises(UsageError) as refusal:
        parse_incident("frobnicate now")
    slack_says = str(refusal.value).splitlines()
    answer = after(output, "/incident frobnicate now")
    assert f"only @you sees this\n  ⚠️ {slack_says[0]}" in answer
    assert all(line in answer for line in slack_says)
    assert "`frobnicate` is not a console command" in after(output, "frobnicate")
    assert "`/deploy` is not a slabot command" in output
    assert "wait soon: say how much drill time should pass, such as 90s, 16m" in output
    assert "click which button? Buttons in #general: none" in output


def test_channels_and_people(drill):
    output = drill(
        "/incident declare 2 Search <!channel> slow & flaky",
        "channel general",
        "/incident ack",
        "channel INC-1",
        "who ana",
        "/sla maintenance 2026-12-24T22:00 2026-12-24T23:00 Upgrade",
        "who you",
        "card",
        "channel nowhere",
    )
    assert "🟠 INC-1 · Sev 2 · Search <!channel> slow & flaky" in output  # as typed, no ping
    assert "this channel has no incident. Open incidents: INC-1" in after(output, "/incident ack")
    assert "INC-1's channel: commands here act on it" in after(output, "channel INC-1")
    assert "→ You are now @ana (new: a responder" in output
    assert "announcing maintenance is for admins" in after(output, "/sla maintenance")
    pinned = after(output, "card")
    assert "· pinned\n  🟠 INC-1 · Sev 2 · Search <!channel> slow & flaky" in pinned
    assert "there is no channel `nowhere`" in output


def test_app_home_shows_the_open_incident_and_a_live_worker(drill):
    output = drill("/incident declare 1 Checkout API down", "home", speed=10)
    home = after(output, "home")
    assert "Open incidents" in home and "🔴 INC-1 · Sev 1 · Checkout API down" in home
    assert "No worker has checked in" not in home
    fast = drill("home", speed=600)
    assert "so it may say that no worker has checked in" in after(fast, "home")


def test_open_incidents_of_a_kept_database_come_back_with_their_channels(db, contracts):
    first, _ = start(db, contracts)
    first.execute("/incident declare 1 Checkout API down")
    first.close()
    second, out = start(db, contracts)
    try:
        assert "Open from the database: INC-1 (Checkout API down) in #inc-" in out.getvalue()
        second.execute("channel INC-1")
        second.execute("click ack")
        assert "✅ Acknowledged — response met (INC-1)." in out.getvalue()
    finally:
        second.close()


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, tmp_path: Path):
    """``slabot console ARGS`` with INPUT in an empty folder, no slabot setting set."""
    for name in config_settings.HOW_TO_SET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config_settings.reset()

    def run(*args: str, input: str = ""):
        return CliRunner().invoke(main, ["console", *args], input=input)

    yield run
    config_settings.reset()


def test_slabot_console_from_a_script_on_a_fresh_database_each_time(cli, tmp_path):
    result = cli("--speed", "600", input="/incident declare 1 Checkout API down\nwait 16m\n")
    assert result.exit_code == 0, result.output
    assert "Database: sqlite:///slabot-console.db (new for this session)." in result.output
    assert "🔴 INC-1 · Sev 1 · Checkout API down" in result.output
    assert "the response target of messaging-platform (30m 24x7) is due" in after(
        result.output, "wait 16m"
    )
    assert (tmp_path / "slabot-console.db").exists()
    again = cli("--policy", "dixa", input="/incident declare 1 Checkout API down\n")
    assert again.exit_code == 0, again.output
    assert "no customer: dixa" in again.output
    assert "INC-1 · Sev 1" in again.output  # a new database: INC-1 again


def test_slabot_console_refuses_an_unknown_policy_or_zone(cli):
    result = cli("--policy", "dixx")
    assert result.exit_code == 2
    assert "'dixx' is not a policy (did you mean 'dixa'?)" in result.output
    zone = cli("--tz", "Mars/Olympus")
    assert zone.exit_code == 2 and "is not a time zone" in zone.output
    speed = cli("--speed", "0")
    assert speed.exit_code == 2 and "--speed" in speed.output


# --- parts -----------------------------------------------------------------------------------


def test_a_nudge_cuts_the_drill_clocks_sleep_short():
    clock = DrillClock(speed=1)
    sleeper = threading.Thread(target=clock.sleep, args=(3600,))
    sleeper.start()
    clock.nudge()
    sleeper.join(timeout=PATIENCE)  # not the hour it was asked to sleep
    assert not sleeper.is_alive()


BUTTONS = [
    Button("Acknowledge", "incident_ack", "b", "INC-1"),
    Button("Post update", "incident_update", "b", "INC-1"),
    Button("Change severity", "incident_severity", "b", "INC-1"),
    Button("Restore", "incident_restore", "b", "INC-1"),
    Button("Resolve", "incident_resolve", "b", "INC-1"),
]


@pytest.mark.parametrize(
    ("typed", "label", "rest"),
    [
        ("ack", "Acknowledge", ""),
        ("Acknowledge", "Acknowledge", ""),
        ("post update DB back", "Post update", "DB back"),
        ("update DB back", "Post update", "DB back"),
        ("severity 2", "Change severity", "2"),
        ("resol Bad index", "Resolve", "Bad index"),
    ],
)
def test_a_button_is_named_by_its_label_or_the_start_of_a_word_of_it(typed, label, rest):
    button, text = session._match_button(BUTTONS, typed)
    assert (button.label, text) == (label, rest)


def test_a_button_name_that_fits_several_or_none():
    assert [b.label for b in session._match_button(BUTTONS, "re")] == ["Restore", "Resolve"]
    assert session._match_button(BUTTONS, "escalate") is None


def test_the_machines_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert session.local_zone() == "America/New_York"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert session.is_zone(session.local_zone())
