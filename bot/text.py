"""Plain-text rendering shared by the CLI and the console: spans, local times, tables, policies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import arrow

from bot.sla.credits import decimal_pct
from bot.sla.timers import TimerKind
from config.policy import Policy, SeveritySpec

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_VERBS = {"is": "are", "was": "were", "has": "have"}


def plural(count: int, noun: str, many: str | None = None, *, verb: str | None = None) -> str:
    """``1 reminder``, ``2 reminders``, ``0 policies`` — a count and its noun, agreeing:
    every message that counts says it through here. ``many``: the plural when it is not
    the noun with an ``s`` (``policy`` → ``policies`` is known). ``verb`` (``is``, ``was``,
    ``has``) follows the count: ``1 reminder is``, ``2 reminders are``."""
    if count == 1:
        word = noun
    elif many is not None:
        word = many
    elif noun.endswith("y") and noun[-2:-1] not in "aeiou":
        word = noun[:-1] + "ies"
    elif noun.endswith(("s", "x", "ch", "sh")):
        word = noun + "es"
    else:
        word = noun + "s"
    said = f"{count} {word}"
    if verb is not None:
        said += " " + (verb if count == 1 else _VERBS.get(verb, verb))
    return said


def format_span(span: dt.timedelta) -> str:
    """``1d 2h 5m``; seconds only under a minute; ``0m`` for nothing, ``<1s`` for a moment
    (a timer breached by a fraction of a second is late, not "late by 0m")."""
    seconds = int(abs(span.total_seconds()))
    sign = "-" if span < dt.timedelta(0) else ""
    if seconds < 60:
        if seconds:
            return f"{sign}{seconds}s"
        return f"{sign}<1s" if span else "0m"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    return sign + " ".join(parts)


def format_span_words(span: dt.timedelta) -> str:
    """``15 minutes``, ``1 hour 5 minutes``, ``less than a minute``: to the nearest minute,
    for messages people read in a hurry ("update due in 10 minutes")."""
    minutes = round(abs(span.total_seconds()) / 60)
    if minutes == 0:
        return "less than a minute"
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    units = ((days, "day"), (hours, "hour"), (minutes, "minute"))
    return " ".join(plural(v, unit) for v, unit in units if v)


def format_local(instant: dt.datetime, zone: str) -> str:
    """``Mon 2026-11-23 08:30 CET``."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{_DAY_NAMES[local.weekday()]} {local:%Y-%m-%d %H:%M} {local.tzname()}"


def format_utc(instant: dt.datetime) -> str:
    """``2026-11-20 04:40 UTC``: an instant on the command line and in the record's refusals."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_window(start: dt.datetime, end: dt.datetime, zone: str) -> str:
    """A span of time with nothing left to guess: ``Sat 2026-11-21 22:00 – 23:30
    Europe/Copenhagen (UTC+01:00)``; the end's date when it differs, each offset when
    they differ (the clocks change inside it)."""
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)

    def offset(local: dt.datetime) -> str:
        return f"UTC{local:%z}"[:-2] + ":" + f"{local:%z}"[-2:]

    first = f"{_DAY_NAMES[a.weekday()]} {a:%Y-%m-%d %H:%M}"
    last = f"{b:%H:%M}" if a.date() == b.date() else f"{_DAY_NAMES[b.weekday()]} {b:%Y-%m-%d %H:%M}"
    if a.utcoffset() == b.utcoffset():
        return f"{first} – {last} {zone} ({offset(a)})"
    return f"{first} ({offset(a)}) – {last} ({offset(b)}) {zone}"


def format_relative(instant: dt.datetime, now: dt.datetime) -> str:
    """``in 25 minutes`` / ``3 hours ago``."""
    return arrow.get(instant).humanize(arrow.get(now))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [
        [str(h) for h in headers],
        *[[("—" if c is None else str(c)) for c in r] for r in rows],
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _target(spec: SeveritySpec, kind: TimerKind) -> str | None:
    if kind is TimerKind.PROGRESS:
        progress = spec.progress
        if progress is None:
            return None
        return (
            "at resolution"
            if progress.at_resolution
            else f"every {progress.every} {progress.clock}"
        )
    target = getattr(spec, kind.value)
    return None if target is None else f"{target.target} {target.clock}"


def _cited(clause: str | None) -> str:
    return f" ({clause})" if clause else ""


def describe_policy(policy: Policy) -> str:
    """A policy as a support lead reads it: severities × targets, then uptime and money rules."""
    lines = [f"{policy.id} — {policy.name}"]
    if policy.source:
        lines.append(f"contract: {policy.source}")
    cal = policy.calendar
    zone = (
        f"the customer's zone (default {cal.default_timezone})"
        if cal.timezone == "customer"
        else cal.timezone
    )
    if cal.hours and cal.days:
        days = ", ".join(d.capitalize() for d in cal.days)
        hols = cal.holidays
        holiday_text = "no holidays"
        if hols:
            named = (
                [
                    f"{hols.country}{'-' + hols.subdivision if hols.subdivision else ''} public holidays"
                ]
                if hols.country
                else []
            )
            named += [f"{len(hols.extra)} extra dates"] if hols.extra else []
            holiday_text = "closed on " + " and ".join(named) if named else holiday_text
        lines.append(
            f"business hours: {days} {cal.hours[0]}–{cal.hours[1]} in {zone}; {holiday_text}"
        )
    else:
        lines.append(f"no business hours (every target runs 24x7); calendar zone {zone}")
    rows = [
        (
            "any" if s.level == "any" else s.level,
            s.name,
            _target(s, TimerKind.RESPONSE),
            _target(s, TimerKind.RESTORE),
            _target(s, TimerKind.PROGRESS),
        )
        for s in policy.severities
    ]
    lines.append(table(("level", "severity", "response", "restore", "progress"), rows))
    up = policy.uptime
    if up is not None:
        period = "monthly" if up.period == "month" else "yearly"
        fee = "month's" if up.period == "month" else "annual"
        credits = ", ".join(
            f"below {decimal_pct(t.below)} → {decimal_pct(t.percent)}" for t in up.credits
        )
        lines.append(
            f"uptime: {period}, commitment {decimal_pct(up.commitment)}; "
            + (f"credits of the {fee} fee: {credits}" if credits else "no uptime credits")
            + (f"; claim within {up.claim_window} after the period" if up.claim_window else "")
            + _cited(up.clause)
        )
        maint = up.maintenance
        lines.append(
            "maintenance: "
            + (
                f"excluded from downtime when announced {maint.notice} or more ahead"
                if maint.excluded
                else "counts as downtime"
            )
        )
    for refund in policy.refunds:
        impact = (
            f" affecting ≥ {decimal_pct(refund.min_impact_pct)} of traffic"
            if refund.min_impact_pct
            else ""
        )
        lines.append(
            f"refund: more than {refund.more_than} severity {refund.severity} failures{impact} "
            f"within {refund.within} → {decimal_pct(refund.percent_of_monthly_fee)} of the monthly fee"
            + _cited(refund.clause)
        )
    miss = policy.response_misses
    if miss is not None:
        lines.append(
            f"response misses: more than {miss.more_than} in a {miss.period} → "
            f"{decimal_pct(miss.percent)} of the annual fee"
            + (f"; claim within {miss.claim_window}" if miss.claim_window else "")
            + _cited(miss.clause)
        )
    rem = policy.reminders
    parts = []
    if rem.before:
        parts.append(", ".join(map(str, rem.before)) + " before a deadline")
    if rem.at_percent:
        parts.append(
            " and ".join(f"{p} %" for p in rem.at_percent)
            + f" of business targets of {rem.long_target} or more"
        )
    if rem.progress_before:
        parts.append(", ".join(map(str, rem.progress_before)) + " before an update is due")
    if rem.escalate_every:
        parts.append(f"every {rem.escalate_every} after a breach")
    lines.append("reminders: " + ("; ".join(parts) if parts else "breach notices only"))
    return "\n".join(lines)
