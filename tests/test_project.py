"""The project's front door stays true: the README's Quickstart, CI, every setting, every
command and every Slack verb documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
from pydantic import AliasChoices

from config.settings import HOW_TO_SET

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_the_readme_opens_with_a_quickstart_of_two_commands():
    assert re.match(r"# slabot\n+## Quickstart\n", README)
    blocks = re.findall(r"```sh\n(.*?)```", section("Quickstart"), re.S)
    assert blocks[0].splitlines() == ["python3 dev.py run", "python3 dev.py test"]


def test_ci_runs_the_readmes_test_command():
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line[:1] != "#"]
    assert "exec python3 dev.py test" in commands


def test_every_setting_is_in_the_readmes_table_and_in_the_example_dotenv():
    table = section("Install and configure")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.M))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    in_example = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert documented == set(HOW_TO_SET)
    assert in_example == set(HOW_TO_SET)


def test_every_settings_field_has_its_line_in_how_to_set():
    """A new setting gets its start-up message, and so (above) its README row and .env line."""
    from config.settings import Settings

    aliases = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        aliases |= set(alias.choices) if isinstance(alias, AliasChoices) else {alias}
    assert aliases == set(HOW_TO_SET)


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_no_row_of_the_settings_or_command_tables_is_there_twice():
    for title in ("Install and configure", "Command line"):
        firsts = [row.split("|")[1].strip() for row in table_rows(section(title))]
        assert len(firsts) == len(set(firsts)), title


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_every_slabot_command_is_in_the_readmes_command_table():
    from bot.cli import main

    rows = table_rows(section("Command line"))
    missing = []
    for path in command_paths(main):
        whole = f"`slabot {' '.join(path)}"
        # A group's subcommands may share its row: `slabot maintenance list …` · `announce …`
        group = f"| `slabot {' '.join(path[:-1])} "
        shared = [row for row in rows if len(path) > 1 and row.startswith(group)]
        if not any(whole in row for row in rows) and not any(
            f"`{path[-1]} " in row for row in shared
        ):
            missing.append(" ".join(path))
    assert missing == []


def test_every_incident_and_sla_verb_is_in_the_slack_guide():
    from bot.slack.grammar import IncidentVerb, SlaVerb

    guide = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    missing = [
        f"{command} {verb}"
        for command, verbs in (("/incident", IncidentVerb), ("/sla", SlaVerb))
        for verb in verbs
        if not re.search(rf"{re.escape(command)} {verb.value}\b", guide)
    ]
    assert missing == []


STATEMENT_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "case", "and_", "or_"}


def test_only_storage_builds_sql_statements():
    """The house rule: services and the Slack layer ask ``storage`` (its queries) for what
    they need; no module under ``bot/`` builds a statement itself."""
    import ast

    builders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {
                "sqlalchemy",
                "sqlmodel",
            }:
                found = {a.name for a in node.names} & STATEMENT_BUILDERS
                builders += [f"{path.relative_to(ROOT)}: {name}" for name in sorted(found)]
            elif isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "sqlalchemy" for a in node.names
            ):
                builders.append(f"{path.relative_to(ROOT)}: import sqlalchemy")
    assert builders == []
