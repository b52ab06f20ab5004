"""A post-incident review draft: the incident's record, and what it did to each customer's
contract period — the downtime it counted, and which credit tier that moved the period
toward. ``bot.incidents.render.postmortem_markdown`` writes it; ``slabot incidents
postmortem`` and the card's *Postmortem draft* button use it.

The figures are the customer statement's (``bot.reports.statement``), which are the
report's: the minutes an outage counted are those it added to the period's downtime (time
shared with an earlier outage counts there, excluded time nowhere). Percentages only: the
draft is posted in the incident channel, and amounts are for managers (docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.errors import Refusal
from bot.incidents.record import IncidentRecord, incident_record
from bot.reports.statement import customer_statement
from bot.sla.credits import applicable_tier
from config.policy import CreditTier
from storage import queries

MAX_CUSTOMERS = 25
"""Customers whose periods a draft works out (an incident affecting every customer of a
large deployment lists the first ones by id and says how many more)."""


@dataclass(frozen=True)
class CustomerImpact:
    customer: str
    name: str
    period: str
    """The contract period the incident's impact began in, as the statement names it."""
    counted: Fraction | None = None
    """Downtime minutes this incident counted in the period (``None``: no uptime measured,
    or not an outage)."""
    downtime: Fraction | None = None
    """The period's downtime minutes, all outages."""
    uptime_pct: Fraction | None = None
    commitment: str | None = None
    tier_without: CreditTier | None = None
    """The credit tier the period would be in without this incident's minutes."""
    tier_now: CreditTier | None = None
    next_tier: CreditTier | None = None
    budget: Fraction | None = None
    """Downtime minutes the period can still take before ``next_tier``."""
    excluded: str | None = None
    note: str | None = None
    """Why no figures (the statement could not be made)."""


@dataclass(frozen=True)
class Postmortem:
    record: IncidentRecord
    impacts: tuple[CustomerImpact, ...]
    more_customers: int = 0
    """Customers affected beyond those worked out (``MAX_CUSTOMERS``)."""


def postmortem(ctx: Context, ref: str) -> Postmortem:
    """The draft's content for incident ``ref``, read at the clock's now."""
    record = incident_record(ctx, ref)
    view = record.incident
    ids = list(view.customers) or sorted(ctx.contracts.customers)
    impacts = tuple(_impact(ctx, record, customer_id) for customer_id in ids[:MAX_CUSTOMERS])
    return Postmortem(record, impacts, max(0, len(ids) - MAX_CUSTOMERS))


def _impact(ctx: Context, record: IncidentRecord, customer_id: str) -> CustomerImpact:
    view = record.incident
    customer = ctx.contracts.customers.get(customer_id)
    if customer is None:
        return CustomerImpact(customer_id, customer_id, "", note="no longer in the customers file")
    month = view.impact_start.astimezone(ZoneInfo(customer.zone)).strftime("%Y-%m")
    try:
        made = customer_statement(ctx, month, customer_id)
    except Refusal as refusal:
        return CustomerImpact(customer_id, customer.name, month, note=str(refusal))
    figures = made.figures
    line = next((o for o in made.outages if o.ref == view.ref), None)
    up = figures.uptime
    uptime = customer.policy.uptime
    tiers = uptime.credits if uptime is not None else ()
    counted = line.counted if line is not None and up is not None else None
    tier_now = tier_without = None
    if up is not None:
        tier_now = applicable_tier(up, tiers)
        taken = dt.timedelta(microseconds=int((counted or 0) * 60_000_000))
        tier_without = applicable_tier(replace(up, downtime=up.downtime - taken), tiers)
    return CustomerImpact(
        customer=customer_id, name=customer.name, period=figures.period_text(), counted=counted,
        downtime=None if up is None else up.downtime_minutes,
        uptime_pct=None if up is None else up.uptime_pct,
        commitment=None if figures.commitment_pct is None else f"{figures.commitment_pct}",
        tier_without=tier_without, tier_now=tier_now, next_tier=figures.next_tier,
        budget=figures.budget_minutes, excluded=view.excluded_reason,
    )  # fmt: skip


DRAFT_TASK = "postmortem_draft"
"""The task that posts a draft in the incident channel (``bot.slack.postmortem``)."""


@dataclass(frozen=True)
class DraftRequested:
    ref: str
    channel: str
    task_id: int | None
    """``None``: this request had scheduled it already."""


def request_draft(ctx: Context, ref: str, actor: str, request: str) -> DraftRequested:
    """Schedule the draft of resolved incident ``ref`` to be posted in its channel, once per
    ``request`` (the click that asked): a task, done right after the request or by a worker.
    Refused for an open incident (its story is not over) or one without a channel."""
    from bot.tasks.service import schedule  # the task kinds import this module's readers

    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        incident = queries.incident_by_ref(session, ref)
        if incident is None:
            raise Refusal(f"there is no incident {ref!r}; `/incident list` shows the open ones")
        if incident.resolved_at is None:
            raise Refusal(
                f"{incident.ref} is not resolved yet; its postmortem draft is made once it is "
                f"(`slabot incidents postmortem {incident.ref}` makes one at any time)"
            )
        if incident.channel_id is None:
            raise Refusal(
                f"{incident.ref} has no channel to post the draft in; "
                f"`slabot incidents postmortem {incident.ref}` writes it"
            )
        payload = {"ref": incident.ref, "channel": incident.channel_id, "by": actor}
        task = schedule(
            session, DRAFT_TASK, f"postmortem:{incident.id}:{request}"[:200], payload,
            due_at=now, incident_id=incident.id, now=now,
        )  # fmt: skip
        return DraftRequested(incident.ref, incident.channel_id, task)
