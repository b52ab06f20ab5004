"""manifest.yml and the Procfile stay in step with the code.

The manifest is what an installer pastes into Slack: a command the code handles but the
manifest lacks is never delivered; a Web API method the code calls without its scope fails
in production with ``missing_scope``. These tests read what the code registers and calls.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml
from slack_bolt import App

from bot.cli import main as cli
from bot.slack.grammar import SlaVerb
from bot.slack.listeners import register
from tests.slack.conftest import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

SCOPES = {
    "commands": (),  # /incident and /sla
    "chat:write": ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete"),
    "chat:write.public": (),  # posting in public channels it has not joined (announcements)
    "channels:manage": ("conversations.create", "conversations.invite", "conversations.archive"),
    "channels:join": ("conversations.join",),
    "channels:read": ("conversations.info", "conversations.list", "conversations.members"),
    "channels:history": ("conversations.history",),
    "pins:write": ("pins.add",),
    "users:read": ("users.info",),
    "usergroups:read": ("usergroups.users.list", "usergroups.list"),
    "files:write": (
        "files.upload.v2",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ),
    "im:write": ("conversations.open",),
    "im:history": (),  # conversations.history in a direct message (the digest's takeover check)
}
"""Each bot scope the manifest asks for, and the Web API methods that need it."""
NO_SCOPE = {"auth.test", "views.open", "views.update", "views.push", "views.publish"}

_CALL = re.compile(r"\bclient\.([a-z]+(?:_[A-Za-z0-9]+)+)\(")


def methods_called_in_code() -> dict[str, list[str]]:
    """``chat.postMessage`` → the files that call ``client.chat_postMessage(…)``."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "loopback.py":  # the fake Slack, not a client of it
            continue
        for name in _CALL.findall(path.read_text()):
            found[name.replace("_", ".")].append(str(path.relative_to(ROOT)))
    return found


class Recording:
    """Stands in for the Bolt app while the listeners register, noting what they ask for."""

    def __init__(self, app: App):
        self.app = app
        self.registered: dict[str, list] = defaultdict(list)

    def __getattr__(self, kind: str):
        decorator = getattr(self.app, kind)

        def record(*args, **kwargs):
            self.registered[kind].append(args[0] if args else kwargs)
            return decorator(*args, **kwargs)

        return record


def registered(workspace) -> dict[str, list]:
    recording = Recording(
        App(token="xoxb-x", signing_secret=SIGNING_SECRET, token_verification_enabled=False)
    )
    register(recording, workspace.edge)  # type: ignore[arg-type]
    return recording.registered


def test_the_manifest_declares_exactly_the_commands_the_code_registers(workspace):
    commands = sorted(c["command"] for c in MANIFEST["features"]["slash_commands"])
    assert commands == sorted(registered(workspace)["command"])
    for command in commands:  # and the real app answers each of them
        assert workspace.command(command, "help").status == 200
    assert workspace.command("/not-ours", "help").status == 404
    for entry in MANIFEST["features"]["slash_commands"]:
        assert (
            entry["usage_hint"] and len(entry["description"]) <= 100 and not entry["should_escape"]
        )


def test_the_sla_usage_hint_names_every_sla_command():
    """Slack shows the hint while someone types ``/sla``: a command missing there is one
    nobody finds."""
    (sla,) = [c for c in MANIFEST["features"]["slash_commands"] if c["command"] == "/sla"]
    named = {part.split()[0] for part in sla["usage_hint"].split("|")}
    assert named == {verb.value for verb in SlaVerb}
    assert len(sla["usage_hint"]) <= 1000  # Slack's limit


def test_the_bots_direct_messages_can_be_read(workspace):
    """The digest, report CSVs and statements arrive by direct message: the Messages tab
    must exist."""
    home = MANIFEST["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is True


def test_events_interactivity_and_app_home_match_the_listeners(workspace):
    listeners = registered(workspace)
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == sorted(listeners["event"])
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is ("app_home_opened" in events)
    assert listeners["action"] and listeners["view"]  # buttons and forms need interactivity
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [
        MANIFEST["settings"]["interactivity"]["request_url"],
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)  # where wsgi_app serves Bolt


def test_every_web_api_method_the_code_calls_has_its_scope_in_the_manifest():
    scopes = MANIFEST["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(SCOPES), "a scope was added or dropped: update SCOPES here"
    known = {method for methods in SCOPES.values() for method in methods} | NO_SCOPE
    called = methods_called_in_code()
    assert "chat.postMessage" in called and "conversations.create" in called  # the scan works
    unknown = {method: files for method, files in called.items() if method not in known}
    assert not unknown, f"add the scope these need to manifest.yml and SCOPES: {unknown}"


def test_the_procfile_migrates_on_release_and_serves_on_the_platforms_port():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    processes = {name: command.split() for name, command in lines.items()}
    assert processes["release"] == ["slabot", "db", "upgrade"]
    assert processes["web"] == ["slabot", "serve", "--port", "$PORT"]
    assert processes["worker"][:2] == ["slabot", "worker"]
    for name in ("release", "web", "worker"):
        group = cli
        for word in processes[name][1:]:
            if word.startswith("-"):
                break
            group = group.get_command(None, word)  # type: ignore[union-attr]
            assert group is not None, f"Procfile {name}: slabot has no command {word!r}"
