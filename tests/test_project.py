"""The project's front door stays true: the README's Quickstart, CI, and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

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
