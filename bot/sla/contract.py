"""A contract as it applies to one party: a policy, in a zone, for a customer or the deployment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from bot.sla.calendar import BusinessCalendar, calendar_for
from bot.sla.clocks import SlaClock, clock_for
from bot.sla.timers import TimerKind, TimerRule, due_at
from config.policy import Contracts, Customer, Policy, SeveritySpec


@dataclass(frozen=True)
class Contract:
    """``policy`` applied in ``zone``; ``customer`` is ``None`` for the deployment's own SLA."""

    policy: Policy
    zone: str
    customer: Customer | None = None

    @classmethod
    def of_customer(cls, customer: Customer) -> Contract:
        return cls(policy=customer.policy, zone=customer.zone, customer=customer)

    @classmethod
    def of_deployment(cls, policy: Policy) -> Contract:
        zone = policy.calendar.zone_for(None)
        assert zone is not None
        return cls(policy=policy, zone=zone)

    @property
    def label(self) -> str:
        if self.customer is None:
            return self.policy.id
        return f"{self.policy.id} for {self.customer.id}"

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return calendar_for(self.policy.calendar, self.zone)

    def clock(self, kind) -> SlaClock:
        return clock_for(kind, self.calendar)

    def severity(self, level: int) -> SeveritySpec | None:
        return self.policy.severity(level)

    def rule(self, kind: TimerKind, level: int) -> TimerRule | None:
        """This contract's target for ``kind`` at severity ``level``, if it sets one."""
        spec = self.severity(level)
        if spec is None:
            return None
        if kind is TimerKind.PROGRESS:
            progress = spec.progress
            if progress is None or progress.every is None:
                return None
            return TimerRule(kind, progress.every, self.clock(progress.clock), self.label)
        target = getattr(spec, kind.value)
        if target is None:
            return None
        return TimerRule(kind, target.target, self.clock(target.clock), self.label)

    def deadlines(self, level: int, start: dt.datetime) -> dict[TimerKind, dt.datetime | None]:
        """Each timer's deadline for an incident of ``level`` started at ``start`` (no pauses)."""
        result: dict[TimerKind, dt.datetime | None] = {}
        for kind in TimerKind:
            rule = self.rule(kind, level)
            result[kind] = None if rule is None else due_at(rule, start)
        return result

    def reports_at_resolution(self, level: int) -> bool:
        """Severity III of the messaging platform: one report when resolved, no cadence."""
        spec = self.severity(level)
        return bool(spec and spec.progress and spec.progress.at_resolution)


def rules_for(contracts: Sequence[Contract], kind: TimerKind, level: int) -> list[TimerRule]:
    """Every contract's rule for one timer; the incident runs on the strictest of them."""
    return [rule for c in contracts if (rule := c.rule(kind, level)) is not None]


def missing_level(contracts: Sequence[Contract], level: int) -> Contract | None:
    """The first contract that has no severity ``level``, if any."""
    return next((c for c in contracts if c.severity(level) is None), None)


def levels_accepted(contracts: Sequence[Contract]) -> frozenset[int] | None:
    """The severity levels an incident touching ``contracts`` can have: those every one of
    them has (``missing_level`` refuses the others). ``None``: any level (every contract
    has one level for any severity)."""
    numbered = [frozenset(c.policy.levels) for c in contracts if c.policy.levels]
    if not numbered:
        return None
    return frozenset.intersection(*numbered)


def contracts_touched(registry: Contracts, customer_ids: Sequence[str]) -> list[Contract]:
    """The contracts an incident's timers answer to (docs/semantics.md §3).

    Each named customer's own contract; the deployment's own policy when none is named. A
    customer since removed from the customers file no longer has a contract to answer to.
    """
    known = [registry.customers[cid] for cid in customer_ids if cid in registry.customers]
    if not known:
        return [Contract.of_deployment(registry.default_policy)]
    return [Contract.of_customer(customer) for customer in known]


def calendars_in_use(contracts: Contracts) -> list[BusinessCalendar]:
    """The business calendars of every customer's contract and of the deployment's own."""
    parties = [Contract.of_customer(c) for c in contracts.customers.values()]
    parties.append(Contract.of_deployment(contracts.default_policy))
    return list({id(p.calendar): p.calendar for p in parties}.values())
