"""Task kinds and their handlers.

A handler does one task's work and says how it went: ``Done`` (with what it made, kept as
the task's result), ``Retry`` (429s, 5xx, timeouts: again later, as reminders are) or
``Failed`` (given up on, shown by ``slabot doctor``). It may run more than once for one
task — a process can die after the work and before the mark — so each does its work in
steps that can be repeated: look for what an earlier attempt made before making it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.slack.delivery import Failed, Retry

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlmodel import Session

    from bot.context import Context
    from bot.slack.channels import IncidentChannels
    from bot.slack.delivery import Delivery
    from config.settings import Settings
    from storage.models import Task

__all__ = ["Done", "Failed", "Retry", "TaskRun", "handler", "handles"]


@dataclass(frozen=True)
class Done:
    result: dict | None = None
    """Kept as the task's result (what the work made: a channel id, a message ts…)."""
    then: Callable[[Session], None] | None = None
    """Database writes the work calls for (record the channel made, say), done in the
    transaction that marks the task done — only while this process still holds its claim."""


Outcome = Done | Retry | Failed


@dataclass(frozen=True)
class TaskRun:
    """One claimed task and what its handler may use."""

    task: Task
    ctx: Context
    settings: Settings
    client: WebClient
    delivery: Delivery
    channels: IncidentChannels
    worker_id: str

    @property
    def payload(self) -> dict:
        return self.task.payload or {}


Handler = Callable[[TaskRun], Outcome]
_handlers: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``kind`` (one per kind)."""
    if len(kind) > 32:
        raise ValueError(f"task kind {kind!r} is longer than 32 characters")

    def register(function: Handler) -> Handler:
        if _handlers.get(kind, function) is not function:
            raise ValueError(f"task kind {kind!r} already has a handler")
        _handlers[kind] = function
        return function

    return register


def handler(kind: str) -> Handler | None:
    return _handlers.get(kind)
