"""The incident record (``bot.incidents.record.IncidentRecord``) in words: one renderer per
format, shared by ``slabot incidents show``, ``/incident timeline`` and the postmortem
draft. How an instant, a person and their text are written is the caller's (``Style``):
UTC and plain names on the command line, the reader's own zone, mentions and escaped
mrkdwn in Slack.

The JSON keys are documented in docs/record.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bot.incidents import corrections
from bot.incidents.postmortem import CustomerImpact, Postmortem
from bot.incidents.record import ContractOutcome, IncidentRecord
from bot.incidents.views import TIMER_WORDS, BreachView, TimerView
from bot.sla.credits import decimal_pct, shown_pct
from bot.sla.timers import TimerKind
from bot.text import format_span, format_utc, plural
from config.policy import CreditTier
from storage.models import EventKind, TimelineEvent


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Style:
    """How a rendering writes an instant, a person and a person's text."""

    when: Callable[[dt.datetime], str]
    who: Callable[[str | None], str] = lambda actor: actor or "someone"
    words: Callable[[str], str] = _same
    """A person's text as it may be shown (escaped for Slack)."""


PLAIN = Style(when=format_utc)
"""The command line's: instants in UTC, people as recorded."""


def iso(instant: dt.datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(dt.UTC).isoformat()


def _minutes(span: dt.timedelta | None) -> float | None:
    return None if span is None else round(span.total_seconds() / 60, 3)


# --- the timeline ---------------------------------------------------------------------------


RELEVANT = {
    TimerKind.RESPONSE: {"reported_at", "acknowledged_at", "customers"},
    TimerKind.RESTORE: {"impact_start", "restored_at", "customers", "pause_ended_at"},
    TimerKind.PROGRESS: {"declared_at", "resolved_at", "customers"},
    TimerKind.RESOLVE: {"declared_at", "resolved_at", "customers"},
}
"""The facts whose correction moves each timer (``IncidentFacts.span``; the customers name
the contracts)."""


def _changes(event: TimelineEvent) -> corrections.Changes:
    """A ``corrected`` event's changes as values (the event keeps them as JSON)."""
    return _as_changes(event.before, event.after)


def _as_changes(before: dict | None, after: dict | None) -> corrections.Changes:

    def value(name: str, raw: Any) -> Any:
        if name in (*corrections.INSTANTS, "pause_ended_at") and isinstance(raw, str):
            return dt.datetime.fromisoformat(raw)
        if name == "customers":
            return () if raw == "all" else tuple(raw or ())
        return raw

    before, after = before or {}, after or {}
    return {k: (value(k, before.get(k)), value(k, after.get(k))) for k in after}


def event_text(event: TimelineEvent, style: Style) -> str:
    """What an event did, after who did it: ``paused: waiting for the logs``."""
    text = style.words(event.text) if event.text else ""
    kind = EventKind(event.kind)
    if kind is EventKind.CORRECTED:
        found = "; ".join(corrections.describe(_changes(event), style.when, words=style.words))
        return f"corrected {found}" + (f" (reason: {text})" if text else "")
    if kind is EventKind.SEVERITY_CHANGED:
        return f"re-graded: {text}" if text else "re-graded"
    label = {
        EventKind.DECLARED: "declared", EventKind.ACKNOWLEDGED: "acknowledged",
        EventKind.UPDATE: "posted an update", EventKind.PAUSED: "paused the timers",
        EventKind.RESUMED: "resumed the timers", EventKind.RESTORED: "restored service",
        EventKind.RESOLVED: "resolved", EventKind.EXCLUDED: "excluded it from uptime",
        EventKind.INCLUDED: "counted it in uptime again", EventKind.REIMPORTED: "re-imported",
        EventKind.PAGED: "paged",
    }[kind]  # fmt: skip
    return f"{label}: {text}" if text else label


def event_line(event: TimelineEvent, style: Style) -> str:
    """``2026-11-20 04:40 UTC · U2 paused the timers: waiting``, and when it was recorded
    if that was later (``ack at 10:05`` typed at 10:20)."""
    line = f"{style.when(event.at)} · {style.who(event.actor)} {event_text(event, style)}"
    recorded = event.recorded_at
    if recorded is not None and recorded - event.at >= dt.timedelta(minutes=1):
        line += f" (recorded {style.when(recorded)})"
    return line


def timeline_lines(record: IncidentRecord, style: Style) -> list[str]:
    """Every event, oldest first."""
    return [event_line(e, style) for e in record.timeline]


# --- each timer's history -------------------------------------------------------------------


def timer_kinds(record: IncidentRecord) -> list[TimerKind]:
    """The timers it has now, and those it had a breach of (a re-grade may drop one)."""
    found = {*record.incident.timers, *(b.timer for b in record.breaches)}
    return [k for k in TimerKind if k in found]


def timer_history(record: IncidentRecord, kind: TimerKind) -> list[dict[str, Any]]:
    """What happened to one timer, in order: re-grades that moved its deadline, corrections
    of the facts it runs on, pauses while it ran, breaches of it. JSON-ready."""
    timer = record.incident.timers.get(kind)
    items: list[dict[str, Any]] = []
    for event in record.timeline:
        if event.kind == EventKind.SEVERITY_CHANGED:
            before = ((event.before or {}).get("timers") or {}).get(kind.value)
            after = ((event.after or {}).get("timers") or {}).get(kind.value)
            if before is None and after is None:
                continue
            items.append({
                "at": iso(event.at), "what": "regraded", "by": event.actor,
                "severity_before": (event.before or {}).get("severity"),
                "severity_after": (event.after or {}).get("severity"),
                "deadline_before": (before or {}).get("deadline"),
                "deadline_after": (after or {}).get("deadline"),
                "state_before": (before or {}).get("state"),
                "state_after": (after or {}).get("state"),
            })  # fmt: skip
        elif event.kind == EventKind.CORRECTED and RELEVANT[kind] & set(event.after or {}):
            moved = RELEVANT[kind] & set(event.after or {})
            items.append({
                "at": iso(event.at), "what": "corrected", "by": event.actor,
                "reason": event.text,
                "before": {k: v for k, v in (event.before or {}).items() if k in moved},
                "after": {k: v for k, v in (event.after or {}).items() if k in moved},
            })  # fmt: skip
    if timer is not None:
        stop = timer.stopped_at
        for pause in record.pauses:
            if stop is not None and pause.started_at >= stop:
                continue
            if pause.ended_at is not None and pause.ended_at <= timer.started_at:
                continue
            items.append({
                "at": iso(pause.started_at), "what": "paused", "by": pause.paused_by,
                "until": iso(pause.ended_at), "reason": pause.reason,
            })  # fmt: skip
    for breach in record.breaches:
        if breach.timer is kind:
            items.append({"at": iso(breach.due_at), "what": "breached"} | breach_json(breach))
    return sorted(items, key=lambda item: item["at"])


def breach_json(breach: BreachView) -> dict[str, Any]:
    return {
        "timer": breach.timer.value, "contract": breach.contract, "target": breach.target,
        "severity": breach.severity, "due_at": iso(breach.due_at),
        "noticed_at": iso(breach.noticed_at), "noticed_by": str(breach.noticed_by),
        "stands": breach.stands, "now": None if breach.now is None else breach.now.value,
        "answered_at": iso(breach.answered_at), "late_by_minutes": _minutes(breach.late_by),
        "story": breach.story(format_utc),
    }  # fmt: skip


def _history_line(item: Mapping[str, Any], style: Style) -> str:
    def at(raw: str | None) -> str:
        return "—" if raw is None else style.when(dt.datetime.fromisoformat(raw))

    what = item["what"]
    if what == "regraded":
        return (
            f"{at(item['at'])} · {style.who(item['by'])} re-graded Sev {item['severity_before']} "
            f"→ Sev {item['severity_after']}: due {at(item['deadline_before'])} → "
            f"{at(item['deadline_after'])}"
        )
    if what == "corrected":
        reason = f" (reason: {style.words(item['reason'])})" if item["reason"] else ""
        found = corrections.describe(
            _as_changes(item["before"], item["after"]), style.when, words=style.words
        )
        return f"{at(item['at'])} · {style.who(item['by'])} corrected {'; '.join(found)}{reason}"
    if what == "paused":
        until = f" until {at(item['until'])}" if item["until"] else ", still paused"
        return (
            f"{at(item['at'])} · {style.who(item['by'])} paused it{until}: "
            f"{style.words(item['reason'])}"
        )
    raise ValueError(f"not a history entry: {what}")


def timer_line(timer: TimerView, style: Style) -> str:
    """``response met · 30m 24x7 (messaging-platform) · due … · stopped …``."""
    parts = [f"{TIMER_WORDS[timer.kind]} {timer.state.value}", f"{timer.target} ({timer.contract})"]
    if timer.deadline is not None:
        parts.append(f"due {style.when(timer.deadline)}")
    if timer.stopped_at is not None:
        parts.append(f"stopped {style.when(timer.stopped_at)}")
    if timer.over_by:
        parts.append(f"over by {format_span(timer.over_by)}")
    elif timer.left is not None and timer.is_open:
        parts.append(f"{format_span(timer.left)} left")
    return " · ".join(parts)


# --- the whole record -----------------------------------------------------------------------


def record_json(record: IncidentRecord) -> dict[str, Any]:
    """The record as JSON (docs/record.md lists every key)."""
    view = record.incident
    return {
        "ref": view.ref, "title": view.title, "severity": view.severity,
        "severity_name": view.severity_name, "state": view.state.value, "as_of": iso(view.as_of),
        "facts": {
            "declared_at": iso(view.declared_at), "reported_at": iso(view.reported_at),
            "impact_start": iso(view.impact_start), "acknowledged_at": iso(view.acknowledged_at),
            "restored_at": iso(view.restored_at), "resolved_at": iso(view.resolved_at),
            "declared_by": view.declared_by, "outage": view.outage,
            "impact_pct": view.impact_pct, "excluded": view.excluded_reason,
            "customers": list(view.customers), "summary": view.summary,
            "paused_since": iso(view.paused_since), "source": view.source,
        },
        "timers": {
            kind.value: _timer_json(view.timers.get(kind)) | {
                "history": timer_history(record, kind)
            }
            for kind in timer_kinds(record)
        },
        "progress": [
            {"started_at": iso(d.started_at), "due": iso(d.due), "state": d.state.value,
             "answered_at": iso(d.answered_at), "late_by_minutes": _minutes(d.reading.over_by)}
            for d in record.progress
        ],
        "outcomes": [
            {"contract": o.contract, "customer": o.customer, "zone": o.zone,
             "timers": {k.value: _timer_json(t) for k, t in o.timers.items()}}
            for o in record.outcomes
        ],
        "corrections": [
            {"at": iso(c.at), "by": c.actor, "reason": c.reason, "before": c.before,
             "after": c.after}
            for c in record.corrections
        ],
        "timeline": [
            {"at": iso(e.at), "recorded_at": iso(e.recorded_at), "by": e.actor,
             "kind": str(e.kind), "text": e.text, "before": e.before, "after": e.after,
             "line": event_line(e, PLAIN)}
            for e in record.timeline
        ],
    }  # fmt: skip


def _timer_json(timer: TimerView | None) -> dict[str, Any]:
    if timer is None:
        return {"state": None, "target": None, "contract": None, "started_at": None,
                "deadline": None, "stopped_at": None, "over_by_minutes": None}  # fmt: skip
    return {
        "state": timer.state.value, "target": timer.target, "contract": timer.contract,
        "started_at": iso(timer.started_at), "deadline": iso(timer.deadline),
        "stopped_at": iso(timer.stopped_at), "over_by_minutes": _minutes(timer.over_by),
    }  # fmt: skip


def facts_lines(record: IncidentRecord, style: Style) -> list[str]:
    view = record.incident

    def at(instant: dt.datetime | None, none: str) -> str:
        return none if instant is None else style.when(instant)

    lines = [
        f"Severity: {view.severity} ({view.severity_name})",
        f"State: {view.state.value}" + (
            f", paused since {style.when(view.paused_since)} "
            f"({style.words(view.pause_reason or '')})" if view.paused_since else ""
        ),
        f"Started: {style.when(view.impact_start)}",
    ]  # fmt: skip
    if view.reported_at != view.impact_start:
        lines.append(f"Response clock from: {style.when(view.reported_at)}")
    lines += [
        f"Declared: {style.when(view.declared_at)}"
        + (f" by {style.who(view.declared_by)}" if view.declared_by else ""),
        f"Acknowledged: {at(view.acknowledged_at, 'not yet')}",
        f"Restored: {at(view.restored_at, 'not yet')}",
        f"Resolved: {at(view.resolved_at, 'not yet')}",
        f"Outage: {'yes' if view.outage else 'no'}"
        + ("" if view.impact_pct is None else f" · impact {view.impact_pct:g} %"),
        "Customers: " + (", ".join(view.customers) or "every customer"),
    ]
    if view.excluded_reason:
        lines.append(f"Excluded from uptime: {style.words(view.excluded_reason)}")
    if view.summary:
        lines.append(f"Summary: {style.words(view.summary)}")
    return lines


def record_text(record: IncidentRecord, style: Style = PLAIN, *, markdown: bool = False) -> str:
    """The record for a person: facts, each timer with its history, each contract's
    outcome, the progress deadlines and the timeline. Plain text, or Markdown."""
    view = record.incident
    out: list[str] = []

    def heading(text: str, level: int = 2) -> None:
        if markdown:
            out.extend(["", "#" * level + " " + text, ""])
        else:
            out.extend(["", text.upper() if level == 2 else text])

    def item(text: str, depth: int = 0) -> None:
        lead = "  " * depth + "- " if markdown else "  " * (depth + 1)
        out.append(lead + text.replace("\n", "\n" + " " * len(lead)))

    title = f"{view.ref}: {style.words(view.title)}"
    out.append(f"# {title}" if markdown else title)
    heading("Facts")
    for line in facts_lines(record, style):
        item(line)
    heading("Timers")
    kinds = timer_kinds(record)
    if not kinds:
        item("no timer: its contracts set no target for this severity")
    for kind in kinds:
        item(_timer_now(record, kind, style))
        for entry in timer_history(record, kind):
            item(_entry_line(entry, record, style), 1)
    if record.progress:
        heading("Progress updates")
        for deadline in record.progress:
            item(progress_line(deadline, style))
    heading("SLA outcome by contract")
    for outcome in record.outcomes:
        whose, verdicts = _outcome_words(outcome)
        item(f"{whose} — {outcome.contract}: {verdicts}")
    heading("Timeline")
    for line in timeline_lines(record, style):
        item(line)
    return "\n".join(out).strip() + "\n"


def _timer_now(record: IncidentRecord, kind: TimerKind, style: Style) -> str:
    """The timer as it stands, or that it has none now (a re-grade dropped its target)."""
    timer = record.incident.timers.get(kind)
    return timer_line(timer, style) if timer else f"{TIMER_WORDS[kind]}: no target now"


def _outcome_words(outcome: ContractOutcome) -> tuple[str, str]:
    """Whose contract an outcome is, and its timers' verdicts."""
    whose = outcome.customer or "every customer (the deployment's own SLA)"
    verdicts = (
        ", ".join(f"{TIMER_WORDS[k]} {t.state.value}" for k, t in outcome.timers.items())
        or "no targets at this severity"
    )
    return whose, verdicts


def _entry_line(entry: Mapping[str, Any], record: IncidentRecord, style: Style) -> str:
    if entry["what"] != "breached":
        return _history_line(entry, style)
    breach = next(
        b
        for b in record.breaches
        if iso(b.due_at) == entry["due_at"] and b.timer.value == entry["timer"]
    )
    return breach.story(style.when)


def progress_line(deadline, style: Style) -> str:
    due = "—" if deadline.due is None else style.when(deadline.due)
    line = f"update due {due}: {deadline.state.value}"
    if deadline.answered_at is not None:
        line += f", posted {style.when(deadline.answered_at)}"
        if deadline.missed and deadline.reading.over_by:
            line += f" ({format_span(deadline.reading.over_by)} late)"
    elif deadline.missed:
        line += ", never posted" if deadline.reading.stopped else ", still overdue"
    return line


# --- the postmortem draft -------------------------------------------------------------------


def _mins(value: Fraction | None) -> str:
    if value is None:
        return "—"
    return f"{format_span(dt.timedelta(minutes=float(value)))} ({float(value):g} min)"


def _tier(tier: CreditTier | None) -> str:
    if tier is None:
        return "no credit"
    return f"below {decimal_pct(tier.below)} → {decimal_pct(tier.percent)} of the fee"


def impact_line(impact: CustomerImpact) -> str:
    """What the incident did to one customer's period, in a sentence."""
    head = f"{impact.name} ({impact.customer})"
    if impact.note:
        return f"{head}: no figures — {impact.note}"
    if impact.uptime_pct is None:
        return f"{head}, {impact.period}: the contract measures no uptime"
    if impact.excluded:
        counted = f"excluded from uptime ({impact.excluded}): it counted no downtime"
    elif impact.counted is None:
        counted = "not an outage: it counted no downtime"
    else:
        counted = f"counted {_mins(impact.counted)} of downtime"
    standing = (
        f"the period stands at {shown_pct(impact.uptime_pct)} % uptime"
        + (f" (commitment {impact.commitment} %)" if impact.commitment else "")
        + f", {_mins(impact.downtime)} down in all"
    )
    if impact.tier_now != impact.tier_without:
        tier = f"it moved the period from {_tier(impact.tier_without)} to {_tier(impact.tier_now)}"
    else:
        tier = f"credit tier unchanged: {_tier(impact.tier_now)}"
    if impact.next_tier is not None and impact.budget is not None:
        tier += f"; {_mins(impact.budget)} more before {_tier(impact.next_tier)}"
    return f"{head}, {impact.period}: {counted}; {standing}; {tier}"


def postmortem_markdown(draft: Postmortem, style: Style = PLAIN) -> str:
    """The post-incident review draft: summary, impact per customer, SLA outcomes, the
    timeline, and empty sections for causes and actions."""
    record = draft.record
    view = record.incident
    out = [
        f"# Post-incident review: {view.ref} — {view.title}",
        "",
        f"_Draft made by slabot from the incident record on {style.when(view.as_of or view.declared_at)}; "
        "the figures are the reports' as of then. Edit freely._",
        "",
        "## Summary",
        "",
    ]
    out += [f"- {line}" for line in facts_lines(record, style)]
    if view.outage and view.restored_at is not None:
        out.append(f"- Outage lasted {format_span(view.restored_at - view.impact_start)}")
    out += ["", "## Impact per customer", ""]
    out += [f"- {impact_line(i)}" for i in draft.impacts]
    if draft.more_customers:
        more = plural(draft.more_customers, "more customer")
        out.append(f"- … and {more} (`slabot report` lists them)")
    out += ["", "## SLA outcomes", ""]
    out += [f"- {_timer_now(record, kind, style)}" for kind in timer_kinds(record)]
    for breach in record.breaches:
        out.append(f"- {breach.story(style.when)}")
    for outcome in record.outcomes:
        whose, verdicts = _outcome_words(outcome)
        out.append(f"- Under {outcome.contract} ({whose}): {verdicts}")
    out += ["", "## Timeline", ""]
    out += [f"- {line}" for line in timeline_lines(record, style)]
    out += [
        "", "## Causes", "",
        "_What happened, and why: the trigger, the root causes, what made it worse._", "",
        "## What went well, what did not", "", "_…_", "",
        "## Actions", "",
        "| action | owner | due |", "|---|---|---|", "| | | |",
    ]  # fmt: skip
    return "\n".join(line.replace("\n", "\n  ") for line in out) + "\n"
