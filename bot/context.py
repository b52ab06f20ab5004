"""What every service call needs: the database, the contracts and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.sla.calendar import load_holidays
from bot.sla.contract import calendars_in_use
from config.policy import Contracts
from config.settings import Settings, get_contracts, get_settings
from storage.db import Database


@dataclass(frozen=True)
class Context:
    db: Database
    contracts: Contracts
    clock: Clock


def build_context(settings: Settings | None = None, clock: Clock | None = None) -> Context:
    """The context for this process, from the settings; SQLite is migrated on first use."""
    settings = settings or get_settings()
    db = Database(settings.database_url)
    db.ensure_schema()
    return Context(db=db, contracts=get_contracts(), clock=clock or SystemClock())


def warm(ctx: Context) -> None:
    """What a long-running process (``slabot serve``, ``worker``, ``run``) reads at start-up
    so that its first request need not: the public holidays of last year, this year and the
    next for every calendar its contracts use (App Home looks back at last year's credits;
    docs/decisions.md, "Start-up")."""
    year = ctx.clock.now().year
    load_holidays(calendars_in_use(ctx.contracts), (year - 1, year, year + 1))
