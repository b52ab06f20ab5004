"""Corrections of an incident's record, as values: what is corrected, what follows from it,
whether the result is possible, and what changed. Pure: the unit of work is
``bot.incidents.service.correct``.

docs/semantics.md §3: a correction recomputes everything the facts feed, exactly as if they
had been recorded right the first time, and is itself an event (who, when, old → new, why).
Implications are those of recording the facts in the first place (docs/decisions.md):
resolving restores, restoring acknowledges; reopening clears the resolution and its
summary, and keeps the restore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from bot.errors import Refusal


class Keep(Enum):
    """The value of a fact a correction leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP

INSTANTS = (
    "reported_at", "impact_start", "declared_at", "acknowledged_at", "restored_at", "resolved_at",
)  # fmt: skip
FACTS = (*INSTANTS, "outage", "impact_pct", "customers", "excluded", "summary")
"""The facts of an incident a correction may change, by their stored names (``customers``:
the ids named, empty for every customer; ``excluded``: the exclusion's reason or ``None``)."""

LABELS = {
    "started": "started", "reported_at": "reported", "impact_start": "impact started",
    "declared_at": "declared", "acknowledged_at": "acknowledged", "restored_at": "restored",
    "resolved_at": "resolved", "outage": "outage", "impact_pct": "impact",
    "customers": "customers", "excluded": "excluded from uptime", "summary": "summary",
    "pause_ended_at": "pause ended",
}  # fmt: skip


@dataclass(frozen=True)
class Correction:
    """The facts to set; ``KEEP`` leaves one as it is. ``None`` clears an instant (the
    acknowledgement, the restore, the resolution) or counts an excluded outage again.

    ``started_at`` is when the incident started: the response timer's start (the reported
    time) and the impact start, as ``started <when>`` sets both at declaration."""

    started_at: dt.datetime | Keep = KEEP
    declared_at: dt.datetime | Keep = KEEP
    acknowledged_at: dt.datetime | Keep | None = KEEP
    restored_at: dt.datetime | Keep | None = KEEP
    resolved_at: dt.datetime | Keep | None = KEEP
    outage: bool | Keep = KEEP
    impact_pct: float | Keep | None = KEEP
    customers: tuple[str, ...] | Keep = KEEP
    """Customer ids or names, as given; empty: every customer."""
    add_customers: tuple[str, ...] | Keep = KEEP
    """Customers to name besides those named (an incident that affected every customer
    then affects these)."""
    remove_customers: tuple[str, ...] | Keep = KEEP
    excluded: str | Keep | None = KEEP
    """Excluded from uptime for this reason; ``None``: counted again."""

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not KEEP
        }

    @property
    def empty(self) -> bool:
        return not self.given()


Facts = dict[str, Any]
Changes = dict[str, tuple[Any, Any]]
"""Each fact changed: its old and its new value (and ``pause_ended_at`` when restoring by a
correction ended a pause that lasted)."""


def apply(
    correction: Correction,
    before: Mapping[str, Any],
    ids: Callable[[Sequence[str]], list[str]] = list,
    ref: str = "the incident",
) -> Facts:
    """The facts after ``correction``, with what follows from them: resolving restores and
    restoring acknowledges, at the same instant; reopening drops the summary. ``ids``
    turns customers as given into ids (refusing unknown ones)."""
    after = dict(before)
    given = correction.given()
    if "started_at" in given:
        after["reported_at"] = after["impact_start"] = given.pop("started_at")
    if "customers" in given:
        after["customers"] = tuple(sorted(ids(given.pop("customers"))))
    if "add_customers" in given:
        added = ids(given.pop("add_customers"))
        after["customers"] = tuple(sorted({*after["customers"], *added}))
    if "remove_customers" in given:
        removed = ids(given.pop("remove_customers"))
        named = after["customers"]
        if not named:
            raise Refusal(
                f"{ref} affects every customer (it names none); to narrow it, name the ones "
                "it affects with `customers add`",
                field="customers",
            )
        strangers = [c for c in removed if c not in named]
        if strangers:
            raise Refusal(
                f"{', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} not among "
                f"{ref}'s customers ({', '.join(named)})",
                field="customers",
            )
        left = tuple(c for c in named if c not in removed)
        if not left:
            raise Refusal(
                f"{ref} would name no customer, which means every customer is affected; if "
                "that is so, say `customers all`",
                field="customers",
            )
        after["customers"] = left
    after.update(given)
    if (
        after["resolved_at"] is not None
        and after["restored_at"] is None
        and "restored_at" not in given
    ):
        after["restored_at"] = after["resolved_at"]
    if (
        after["restored_at"] is not None
        and after["acknowledged_at"] is None
        and "acknowledged_at" not in given
    ):
        after["acknowledged_at"] = after["restored_at"]
    if after["resolved_at"] is None:
        after["summary"] = None
    return after


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    return {k: (before[k], after[k]) for k in FACTS if before[k] != after[k]}


def check(
    after: Mapping[str, Any], now: dt.datetime, ref: str, when: Callable[[dt.datetime], str]
) -> None:
    """Refuse facts that cannot have happened, saying what is wrong (``when`` writes an
    instant); the refusal names the fact at fault (``Refusal.field``)."""
    for name in INSTANTS:
        instant = after[name]
        if instant is not None and instant > now:
            raise Refusal(
                f"{LABELS[name]} {when(instant)} is in the future; give a time at or before now",
                field=name,
            )
    reported, declared = after["reported_at"], after["declared_at"]
    if reported > declared:
        raise Refusal(
            f"{ref} cannot have started {when(reported)}, after it was declared "
            f"({when(declared)}); correct the declaration time too if that was wrong",
            field="reported_at",
        )
    acknowledged, restored, resolved = (
        after["acknowledged_at"], after["restored_at"], after["resolved_at"],
    )  # fmt: skip
    if restored is not None and restored < after["impact_start"]:
        raise Refusal(
            f"restored {when(restored)} is before {ref} started ({when(after['impact_start'])})",
            field="restored_at",
        )
    if acknowledged is not None and acknowledged < reported:
        raise Refusal(
            f"acknowledged {when(acknowledged)} is before {ref} started "
            f"({when(reported)}); nobody can respond to it before then",
            field="acknowledged_at",
        )
    if restored is not None and acknowledged is None:
        raise Refusal(
            f"{ref} was restored {when(restored)}, and restoring service is a response: the "
            "acknowledgement cannot be cleared while the restore stands",
            field="acknowledged_at",
        )
    if resolved is not None and restored is None:
        raise Refusal(
            f"{ref} is resolved ({when(resolved)}), and resolving means service is back: "
            "reopen it before clearing the restore",
            field="restored_at",
        )
    if resolved is not None and restored is not None and resolved < restored:
        raise Refusal(
            f"resolved {when(resolved)} is before service was restored ({when(restored)})",
            field="resolved_at",
        )
    impact = after["impact_pct"]
    if impact is not None and not 0 < impact <= 100:
        raise Refusal(
            f"impact {impact:g} % is not a share of traffic; give 0 < impact ≤ 100",
            field="impact_pct",
        )


def as_json(value: Any) -> Any:
    """A fact's value as the timeline keeps it: instants ISO-8601, customers a list
    (``"all"`` for every customer)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value) or "all"
    return value


def describe(
    found: Changes,
    when: Callable[[dt.datetime], str],
    customer_name: Callable[[str], str] = str,
    words: Callable[[str], str] = str,
) -> list[str]:
    """Each change as ``restored 20:10 → 20:00``; the reported time and the impact start
    moved together are one ``started``. ``words`` writes a person's text (an exclusion's
    reason, a summary: escaped for Slack)."""
    found = dict(found)
    if "reported_at" in found and found.get("impact_start") == found["reported_at"]:
        found["started"] = found.pop("reported_at")
        del found["impact_start"]

    order = ["started", *FACTS, "pause_ended_at"]
    return [
        f"{LABELS[name]} {shown(name, old, when, customer_name, words)} → "
        f"{shown(name, new, when, customer_name, words)}"
        for name, (old, new) in sorted(found.items(), key=lambda item: order.index(item[0]))
    ]


def state(
    facts: Mapping[str, Any], given: Mapping[str, Any], when: Callable[[dt.datetime], str]
) -> list[str]:
    """The facts a correction named, as they stand: ``restored 2026-11-20 20:00 UTC``."""
    aliases = {"started_at": "reported_at", "add_customers": "customers",
               "remove_customers": "customers"}  # fmt: skip
    names = [aliases.get(n, n) for n in given]
    return [f"{LABELS[n]} {shown(n, facts[n], when)}" for n in FACTS if n in names]


def shown(
    name: str,
    value: Any,
    when: Callable[[dt.datetime], str],
    customer_name: Callable[[str], str] = str,
    words: Callable[[str], str] = str,
) -> str:
    """One fact's value in words."""
    if isinstance(value, dt.datetime):
        return when(value)
    if value is None:
        return {
            "excluded": "counted", "impact_pct": "unknown", "summary": "none",
            "acknowledged_at": "not acknowledged", "restored_at": "not restored",
            "resolved_at": "not resolved", "pause_ended_at": "paused",
        }.get(name, "not recorded")  # fmt: skip
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "customers":
        return ", ".join(customer_name(c) for c in value) or "every customer"
    if name == "impact_pct":
        return f"{value:g} %"
    if name == "excluded":
        return f"excluded ({words(value)})"
    return words(str(value))
