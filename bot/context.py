"""What every service call needs: the database, the contracts and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, SystemClock
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
