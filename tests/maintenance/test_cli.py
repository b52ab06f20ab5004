"""``slabot maintenance``: the same service as ``/sla maintenance``, from a terminal."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.clock import ManualClock
from bot.context import build_context
from bot.maintenance import service
from tests.conftest import T0


@pytest.fixture
def cli(cli_db, monkeypatch):
    monkeypatch.setattr("bot.context.SystemClock", lambda: ManualClock(T0))
    return cli_db


def run(*args: str):
    return CliRunner().invoke(main, ["maintenance", *args])


def test_announce_list_move_and_cancel(cli):
    # T0 is Friday 2026-11-20 09:00Z.
    made = run(
        "announce", "--start", "Sat 22:00", "--end", "01:00", "--title", "DB upgrade",
        "--customer", "acme", "--customer", "initech", "--tz", "Europe/Copenhagen", "--by", "ana",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout.splitlines() == [
        "announced MW-1:",
        "  DB upgrade — for acme, initech",
        "  Sat 2026-11-21 22:00 – Sun 2026-11-22 01:00 Europe/Copenhagen (UTC+01:00)",
        "  acme (dixa, 24 h notice): enough notice (1d 12h given) — excluded from downtime",
        "  initech (diplomasafe, no minimum notice): enough notice (1d 12h given) — excluded from downtime",
    ]
    moved = run("move", "mw-1", "--start", "in 2h", "--end", "in 3h", "--reason", "clash")
    assert moved.exit_code == 0, moved.output
    assert (
        "  acme (dixa, 24 h notice): not enough notice (2h given) — this window will count as downtime"
        in moved.stdout
    )
    assert moved.stdout.endswith(
        "  the new time is a new announcement: its notice counts from now\n"
    )

    listed = json.loads(run("list", "--customer", "acme", "--format", "json").stdout)
    assert [(w["ref"], w["starts_at"], w["contracts"][0]["outcome"]) for w in listed] == [
        ("MW-1", "2026-11-20T11:00:00+00:00", "too_late")
    ]
    cancelled = run("cancel", "MW-1", "--reason", "vendor slipped", "--by", "ana")
    assert cancelled.stdout == "cancelled MW-1: it had not started, so it excludes nothing\n"
    history = service.history(build_context(), "MW-1")
    assert [(e.kind, e.reason) for e in history] == [
        ("announced", None), ("moved", "clash"), ("cancelled", "vendor slipped"),
    ]  # fmt: skip
    assert (history[0].actor, history[2].actor) == ("ana", "ana")
    text = run("list").stdout.splitlines()
    assert text[0] == (
        "MW-1 DB upgrade — for acme, initech · cancelled by ana before it started: excludes nothing"
    )
    assert text[2].startswith("  moved by ") and text[2].endswith(
        " Fri 2026-11-20 09:00 UTC (clash), was Sat 2026-11-21 21:00 – Sun 2026-11-22 00:00 UTC (UTC+00:00)"
    )
    assert text[3] == (
        "  cancelled by ana Fri 2026-11-20 09:00 UTC (vendor slipped), "
        "was Fri 2026-11-20 11:00 – 12:00 UTC (UTC+00:00)"
    )


def test_a_refusal_exits_1_and_a_bad_time_2(cli):
    refused = run("cancel", "MW-9")
    assert refused.exit_code == 1 and "'MW-9' is not a maintenance window" in refused.stderr
    bad = run("announce", "--start", "Caturday 22:00", "--end", "23:00", "--title", "x")
    assert bad.exit_code == 2 and "'Caturday 22:00' is not a time" in bad.stderr
    assert service.listed(build_context()) == []
