"""The digest as plain text: the one-line summary a phone notification shows, and the whole
digest for ``slabot digest --print``. The Block Kit message (``bot.slack.digest``) uses the
same phrases, so the two never disagree.

Uptime is cut to four decimals (99.89995 % never shows as 99.9 %), a share of targets met
to one (5 of 6 is 83.3 %), budgets are cut to the minute (never more than there is), money
is half-up to cents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from bot.digest.views import Breach, CustomerLine, Digest, Limit, OpenIncident, Risk, Tally
from bot.incidents.views import TIMER_WORDS
from bot.reports.views import approaching, count_text, minutes_text
from bot.sla.credits import CreditLine, decimal_pct, money, pct_text, period_name
from bot.sla.timers import TimerState
from bot.text import format_local, format_span, plural
from storage.models import IncidentState

STATE_WORDS = {
    IncidentState.DECLARED: "not acknowledged",
    IncidentState.ACKNOWLEDGED: "acknowledged",
    IncidentState.RESTORED: "restored",
    IncidentState.RESOLVED: "resolved",
}
RISK_MARK = {Risk.MISSED: "🔴", Risk.AT_RISK: "🟠", Risk.ON_TRACK: "🟢"}


def share(value: Fraction) -> str:
    """``83.3 %``: cut to one decimal, so one breach in a thousand is not ``100 %``."""
    cut = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_DOWN
    )
    return f"{cut} %"


def amount(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return "an amount unknown (no fee on file)"
    return f"{money(value)} {currency or ''}".strip()


def credit_text(line: CreditLine, currency: str | None, zone: str) -> str:
    what = (
        f"{money(line.amount)} {currency or ''}".strip()
        if line.amount is not None
        else f"{decimal_pct(line.percent)} of the {line.fee} fee"
    )
    return f"{what} ({period_name(line.period, zone)})"


def tally_text(tally: Tally) -> str:
    name = TIMER_WORDS[tally.kind]
    if not tally.judged and not tally.running:
        return f"{name}: none"
    text = f"{name} {tally.met} of {tally.judged} met"
    if tally.met_pct is not None:
        text += f" ({share(tally.met_pct)})"
    if tally.running:
        text += f", {tally.running} still running"
    return text


def severities_text(digest: Digest) -> str:
    return ", ".join(f"Sev {level}: {count}" for level, count in digest.by_severity())


def breach_text(breach: Breach, when: Callable[[dt.datetime], str] | None = None) -> str:
    """``INC-4 restore missed by 2h (4h 24x7 under dixa for acme)``, or for a breach a
    re-grade or a correction withdrew, what happened (``when`` writes its instants, by
    default in UTC)."""
    if breach.earlier is not None:
        return f"{breach.ref} {breach.earlier.story(when or (lambda t: format_local(t, 'UTC')))}"
    still = ", still open" if breach.still_open else ""
    return (
        f"{breach.ref} {TIMER_WORDS[breach.kind]} missed by {format_span(breach.over_by)} "
        f"({breach.target} under {breach.contract}{still})"
    )


def breaches_text(digest: Digest) -> str:
    """``2 targets breached`` (``, 1 more withdrawn by a re-grade or a correction``)."""
    standing, earlier = len(digest.standing_breaches), len(digest.earlier_breaches)
    text = f"{plural(standing, 'target')} breached"
    if earlier:
        text += f" ({earlier} more withdrawn by a re-grade or a correction)"
    return text


def next_deadline_text(
    incident: OpenIncident,
    zone: str,
    now: dt.datetime,
    *,
    due: Callable[[dt.datetime], str] | None = None,
    marks: bool = False,
) -> str:
    """The incident's next deadline: breached by how much, paused with what is left, or when
    it is due (``due`` writes the instant: by default local time and how long until then).
    ``marks`` puts the Slack message's emoji before it."""
    timer = incident.next
    if timer is None:
        return "no target running"
    name = TIMER_WORDS[timer.kind]
    if timer.state is TimerState.BREACHED:
        text = f"{name} breached by {format_span(timer.over_by or dt.timedelta(0))}"
        return f"🔥 {text}" if marks else text
    if timer.state is TimerState.PAUSED:
        text = f"{name} paused, {format_span(timer.left or dt.timedelta(0))} left"
        return f"⏸️ {text}" if marks else text
    if due is None:
        when = f"{format_local(timer.deadline, zone)} (in {format_span(timer.deadline - now)})"
    else:
        when = due(timer.deadline)
    return f"⏳ {name} due {when}" if marks else f"{name} due {when}"


def limit_text(limit: Limit) -> str:
    if limit.credit_pct is None:
        return f"the {decimal_pct(limit.below)} commitment"
    return f"the {decimal_pct(limit.credit_pct)} credit tier (below {decimal_pct(limit.below)})"


def standing_text(line: CustomerLine) -> str:
    """``99.7226 % (commitment 99.9 %) · down 2h · 5h 12m left before the 10 % credit tier``,
    then how near each count rule is to its credit (``bot.reports.views.count_text``)."""
    counting = [count_text(n) for n in approaching(line.counts)]
    if line.uptime_pct is None:
        return " · ".join(["uptime not measured by this contract", *counting])
    parts = [pct_text(line.uptime_pct)]
    if line.commitment_pct is not None:
        parts[0] += f" (commitment {decimal_pct(line.commitment_pct)})"
    parts.append(f"down {format_span(line.downtime or dt.timedelta(0))}")
    if line.next_tier is not None and line.budget_minutes is not None:
        parts.append(
            f"{minutes_text(line.budget_minutes)} left before {limit_text(line.next_tier)}"
        )
    elif line.limits and all(m.credit_pct is None for m in line.limits):
        commitment = line.limits[0]
        parts.append(
            f"{minutes_text(commitment.left)} left before {limit_text(commitment)}"
            if commitment.left >= 0
            else f"{limit_text(commitment)} missed by {minutes_text(-commitment.left)} "
            "(no credit tiers)"
        )
    elif line.limits:
        parts.append("every credit tier reached")
    return " · ".join([*parts, *counting])


def owed_text(line: CustomerLine) -> str | None:
    bits = []
    if line.credits:
        bits.append(f"owed {amount(line.owed, line.currency)} this period")
    for credit in line.claimable:
        if line.closed is not None and credit in line.closed.credits:
            continue  # the closed period's line says it
        claim = f" by {credit.claim_deadline:%a %d %b}" if credit.claim_deadline else ""
        bits.append(f"{credit_text(credit, line.currency, line.zone)} still to claim{claim}")
    for credit in line.lapsed:
        bits.append(
            f"{credit_text(credit, line.currency, line.zone)}: claim deadline "
            f"{credit.claim_deadline:%a %d %b} passed (expired)"
        )
    return "; ".join(bits) or None


def closed_text(line: CustomerLine) -> str | None:
    closed = line.closed
    if closed is None:
        return None
    if closed.uptime_pct is None:
        head = f"{closed.name} closed"
    else:
        verdict = "" if closed.met is None else (" — met" if closed.met else " — missed")
        commitment = (
            f" (commitment {decimal_pct(closed.commitment_pct)}{verdict})"
            if closed.commitment_pct is not None
            else ""
        )
        head = f"{closed.name} closed at {pct_text(closed.uptime_pct)}{commitment}"
    if closed.credits:
        claim = f", claim by {closed.claim_deadline:%a %d %b %Y}" if closed.claim_deadline else ""
        return f"{head}: {amount(closed.amount, closed.currency)} owed{claim}"
    return f"{head}: no credit owed"


def totals_text(digest: Digest) -> str:
    if not digest.totals and not digest.unpriced:
        return "nothing owed"
    text = ", ".join(f"{money(total)} {currency}" for currency, total in digest.totals)
    if digest.unpriced:
        text += (", and " if text else "") + (
            f"credits without a fee on file for {', '.join(digest.unpriced)}"
        )
    return text


def week_text(digest: Digest) -> str:
    so_far = "" if digest.complete else ", so far"
    return f"{digest.week.label} ({digest.week.days_text()}{so_far})"


def summary(digest: Digest, *, late: bool = False) -> str:
    """The notification line: what happened, what it costs. Under ~250 characters."""
    head = f"SLA digest {digest.week.label}" + (" (late)" if late else "")
    if digest.quiet:
        parts = ["no incidents this week"]
        if digest.breaches:
            parts.append(breaches_text(digest))
    else:
        count = len(digest.incidents)
        parts = [f"{plural(count, 'incident')} ({severities_text(digest)})"]
        parts.append(breaches_text(digest))
    corrected = len(digest.corrected)
    if corrected:
        parts.append(f"{plural(corrected, 'reported period')} corrected")
    parts.append(f"{len(digest.open)} open" if digest.open else "none open")
    if digest.customers:
        missed, at_risk = len(digest.missed), len(digest.at_risk)
        parts.append(
            f"customers: {missed} missed, {at_risk} at risk"
            if missed or at_risk
            else "customers on track"
        )
    parts.append(f"owed {totals_text(digest)}" if digest.totals else totals_text(digest))
    return f"{head}: " + "; ".join(parts) + "."


def as_text(digest: Digest, *, late_since: dt.datetime | None = None) -> str:
    """The whole digest as plain text (``slabot digest --print``)."""
    zone = digest.zone
    lines = [
        f"Weekly SLA digest — {week_text(digest)}, {zone}",
        f"As of {format_local(digest.as_of, zone)}.",
    ]
    if late_since is not None:
        lines.append(f"Sent late: it was due {format_local(late_since, zone)}.")
    lines.append("")
    if digest.quiet:
        lines.append(f"No incidents were declared in {digest.week.label}.")
    else:
        lines.append(f"Incidents declared: {len(digest.incidents)} — {severities_text(digest)}")
        for i in digest.incidents:
            who = ", ".join(i.customers) or "all customers"
            state = STATE_WORDS[i.state] + (", paused" if i.paused else "")
            excluded = f", excluded from uptime ({i.excluded})" if i.excluded else ""
            lines.append(f"  Sev {i.severity}  {i.ref}  {i.title} · {state} · {who}{excluded}")
        lines.append("Targets: " + "; ".join(tally_text(t) for t in digest.tallies))
        lines.append(f"MTTA {mean_text(digest.mtta, digest.acknowledged, 'acknowledged')} · "
                     f"MTTR {mean_text(digest.mttr, digest.restored, 'restored')}")  # fmt: skip
    if digest.breaches:
        lines.append("Breaches:")
        lines += [f"  {breach_text(b, lambda t: format_local(t, zone))}" for b in digest.breaches]
    elif not digest.quiet:
        lines.append("Breaches: none")
    if digest.corrected:
        lines.append("Corrected since the last digest:")
        lines += [f"  {c.text()}" for c in digest.corrected]
    lines.append("")
    if digest.open:
        lines.append(f"Open incidents: {len(digest.open)}")
        for o in digest.open:
            lines.append(
                f"  Sev {o.severity}  {o.ref}  {o.title} · "
                f"{next_deadline_text(o, zone, digest.as_of)}"
            )
    else:
        lines.append("Open incidents: none")
    lines.append("")
    if digest.customers:
        lines.append("Customers (at risk first):")
        for c in digest.customers:
            lines.append(
                f"  {c.risk.label.upper():8}  {c.name} ({c.customer}, {c.policy}) — {c.period}"
            )
            lines.append(f"            {standing_text(c)}")
            for extra in (owed_text(c), closed_text(c)):
                if extra:
                    lines.append(f"            {extra}")
        soon = [(c, credit) for c in digest.customers for credit in c.claims_soon]
        if soon:
            lines.append("Claim deadlines in the next two weeks:")
            for c, credit in sorted(soon, key=lambda pair: pair[1].claim_deadline):
                lines.append(
                    f"  {credit.claim_deadline:%a %Y-%m-%d}  {c.name}: "
                    f"{credit_text(credit, c.currency, c.zone)}"
                )
        lines.append(f"Credits owed (this period and still to claim): {totals_text(digest)}")
    else:
        lines.append("Customers: none configured (SLABOT_CUSTOMERS_FILE)")
    return "\n".join(lines)


def mean_text(mean: dt.timedelta | None, count: int, what: str) -> str:
    if mean is None:
        return f"— (none {what})"
    return f"{format_span(mean)} ({count} {what})"
