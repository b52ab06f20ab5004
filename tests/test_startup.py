"""What the command line loads before it answers (the import rule at the top of bot/cli.py).

Each case runs in a new interpreter, with no settings, in an empty folder, and lists which of
the heavy packages it imported. Nothing here is timed: bench/startup.py measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

DATABASE_SLACK_CHART = {
    "sqlalchemy",
    "alembic",
    "sqlmodel",
    "slack_bolt",
    "slack_sdk",
    "matplotlib",
}
CONFIG = {"pydantic", "pydantic_settings", "yaml", "holidays", "arrow", "config", "storage"}

PROBE = """
import importlib, json, sys
module, args = json.loads(sys.argv[1])
importlib.import_module(module)
if args is not None:
    from bot.cli import main
    try:
        main(args, prog_name="slabot")
    except SystemExit as exc:
        assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def loaded(tmp_path, args: list[str] | None, module: str = "bot.cli") -> set[str]:
    """The modules loaded after importing ``module`` and, unless ``args`` is None, running
    ``slabot ARGS``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_URL", "SLACK_", "SLABOT_", "PORT"))
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([module, args])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_importing_the_cli_loads_only_click_and_the_standard_library(tmp_path):
    assert packages(loaded(tmp_path, None)) & (DATABASE_SLACK_CHART | CONFIG) == set()


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["worker", "--help"],
        ["sla", "deadlines", "--severity", "1", "--start", "2026-11-20T10:00"],
        ["policy", "check"],
    ],
    ids=["help", "worker help", "deadlines", "policy check"],
)
def test_commands_that_need_no_database_load_neither_it_nor_slack_nor_charts(tmp_path, args):
    modules = loaded(tmp_path, args)
    assert packages(modules) & DATABASE_SLACK_CHART == set()
    assert "holidays.countries" not in modules  # the default policy names no country


def test_a_policy_with_holidays_loads_them_when_it_needs_them(tmp_path):
    args = ["sla", "deadlines", "--severity", "1", "--start", "2026-11-20T10:00"]
    modules = loaded(tmp_path, [*args, "--policy", "diplomasafe"])
    assert "holidays.countries" in modules  # Danish holidays count on a business clock
    assert packages(modules) & DATABASE_SLACK_CHART == set()


def test_the_worker_loads_neither_the_bolt_app_nor_the_chart_library(tmp_path):
    assert packages(loaded(tmp_path, None, "bot.worker")) & {"slack_bolt", "matplotlib"} == set()


def slabot(tmp_path, args: list[str], **settings: str) -> subprocess.CompletedProcess:
    """``slabot ARGS`` in a new interpreter, in ``tmp_path``, with only ``settings`` set."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_URL", "SLACK_", "SLABOT_", "PORT"))
    }
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main(prog_name='slabot')", *args],
        cwd=tmp_path, env={**env, **settings}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "settings", "missing"),
    [
        (["serve"], {}, "SLACK_BOT_TOKEN"),
        (["serve", "--socket"], {}, "SLACK_BOT_TOKEN"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-test"}, "SLACK_SIGNING_SECRET"),
        (["serve", "--socket"], {"SLACK_BOT_TOKEN": "xoxb-test"}, "SLACK_APP_TOKEN"),
    ],
)
def test_serve_without_its_settings_refuses_before_touching_anything(
    tmp_path, args, settings, missing
):
    """One line saying which setting, exit status 2, and no ./slabot.db created (nor
    migrated) in the folder it was started in."""
    done = slabot(tmp_path, args, **settings)
    assert done.returncode == 2, done.stderr
    assert f"{missing} is not set" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no slabot.db, nothing else


def test_python_dash_m_bot_cli_runs_the_command_line(tmp_path):
    """``python -m bot.cli`` is ``slabot`` (where no console script is on the PATH)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: slabot [OPTIONS] COMMAND [ARGS]...")
