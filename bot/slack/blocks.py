"""Block Kit for every surface, built with slack_sdk's block models.

User text goes into ``plain_text`` wherever Slack allows it, and is escaped wherever it
enters mrkdwn; every field is clipped to Slack's limits. Instants are ``<!date>`` tokens, so
each reader sees them in their own zone, with "in 25 minutes" beside them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.incidents import render
from bot.incidents.record import IncidentRecord
from bot.incidents.views import IncidentView, TimerView
from bot.reports.views import (
    CustomerReport,
    CustomerStanding,
    Report,
    amount_text,
    approaching,
    budget_text,
    budgets_text,
    count_text,
    decimal_pct,
    line_text,
    owed_text,
    pct_text,
    totals_text,
)
from bot.sla.credits import period_name
from bot.sla.reminders import ReminderKind
from bot.sla.timers import TimerKind, TimerState
from bot.slack import mrkdwn
from bot.slack.grammar import IncidentVerb
from bot.slack.mrkdwn import clip, escape
from bot.text import format_local, format_span, format_span_words, plural
from config.policy import Contracts
from storage.models import IncidentState

SEVERITY_MARK = {1: "🔴", 2: "🟠", 3: "🟡"}
STATE_MARK = {
    TimerState.RUNNING: "⏳",
    TimerState.PAUSED: "⏸️",
    TimerState.MET: "✅",
    TimerState.BREACHED: "🔥",
}
TIMER_NAMES = {
    TimerKind.RESPONSE: "Response",
    TimerKind.RESTORE: "Restore",
    TimerKind.PROGRESS: "Next update",
    TimerKind.RESOLVE: "Resolve",
}
STATE_NAMES = {
    IncidentState.DECLARED: "Declared",
    IncidentState.ACKNOWLEDGED: "Acknowledged",
    IncidentState.RESTORED: "Service restored",
    IncidentState.RESOLVED: "Resolved",
}


class ActionId(StrEnum):
    """The incident buttons' ``action_id``s: drawn here, answered by ``listeners.actions``."""

    ACK = "incident_ack"
    UPDATE = "incident_update"
    SEVERITY = "incident_severity"
    PAUSE = "incident_pause"
    RESUME = "incident_resume"
    RESTORE = "incident_restore"
    RESOLVE = "incident_resolve"
    CORRECT = "incident_correct"
    """The card's ⋯ menu: "Correct the record" opens the correction form."""
    POSTMORTEM = "incident_postmortem"
    """A resolved incident's "Postmortem draft": the Markdown file, posted in its channel."""
    TIMELINE = "incident_timeline"
    """A timeline page's "Earlier events" button (``value``: the reference and the page)."""

    @property
    def verb(self) -> IncidentVerb:
        """The ``/incident`` verb the button does, or opens the form of."""
        return IncidentVerb[self.name]


TEXT_LIMIT = 4000
"""Characters of a message's ``text``, the notification's fallback (Slack asks for at most
4,000; the blocks carry the whole)."""
BLOCK_LIMIT = 50
"""Blocks in one message (Slack refuses more)."""


@dataclass(frozen=True)
class Message:
    """What a surface shows: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict:
        """The message as every ``chat.*`` call, ack and response URL sends it, within Slack's
        limits: the one place all of them pass, so text echoing a person's input (a 2 MB
        button value) is clipped whoever built the message. Block fields are clipped where
        blocks are made (``section``, ``context``…), and checked by slack_sdk's models."""
        blocks = self.blocks
        if len(blocks) > BLOCK_LIMIT:
            blocks = [*blocks[: BLOCK_LIMIT - 1], context("… (too long for one message: cut)")]
        return {"text": clip(self.text, TEXT_LIMIT), "blocks": [b.to_dict() for b in blocks]}


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def _sections(text: str, limit: int = 3000) -> list[SectionBlock]:
    """Long mrkdwn as consecutive sections (each within Slack's limit), so nothing is cut:
    split at a line break or a space where there is one, never inside an ``&amp;`` entity."""
    sections = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut < limit // 2:
            cut = limit
        entity = text.rfind("&", cut - 5, cut)
        if entity != -1 and ";" not in text[entity:cut]:
            cut = entity
        sections.append(SectionBlock(text=MarkdownTextObject(text=text[:cut])))
        text = text[cut:].lstrip("\n ")
    return [*sections, SectionBlock(text=MarkdownTextObject(text=text))]


def context(*parts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(p, 2000)) for p in parts if p][:10])


def reply(text: str) -> Message:
    """A short answer; ``text`` is mrkdwn the caller has already escaped."""
    return Message(text=text, blocks=[section(text)])


def with_note(message: Message, note: str) -> Message:
    """The same message with a small line of context under it."""
    return Message(text=message.text, blocks=[*message.blocks, context(note)])


def refusal(text: str) -> Message:
    return reply(f"⚠️ {text}")


# --- the incident card ------------------------------------------------------------------


def title_line(view: IncidentView) -> str:
    mark = SEVERITY_MARK.get(view.severity, "⚪")
    return f"{mark} {view.ref} · Sev {view.severity} · {view.title}"


def timer_text(timer: TimerView, zone: str) -> str:
    name = TIMER_NAMES[timer.kind]
    head = f"*{name}* · {escape(timer.target)} ({escape(timer.contract)})"
    mark = STATE_MARK[timer.state]
    if timer.state is TimerState.PAUSED:
        return f"{head}\n{mark} paused, {format_span(timer.left)} left"
    if timer.state is TimerState.MET:
        return f"{head}\n{mark} met {mrkdwn.date(timer.stopped_at, zone)}"
    if timer.state is TimerState.BREACHED:
        late = f" by {format_span(timer.over_by)}" if timer.over_by else ""
        return f"{head}\n{mark} breached{late} · was due {mrkdwn.date(timer.deadline, zone)}"
    return f"{head}\n{mark} due {mrkdwn.due(timer.deadline, zone)}"


def incident_card(view: IncidentView, contracts: Contracts, zone: str = "UTC") -> Message:
    """The pinned card: severity, title, customers, deadlines, and the buttons that act."""
    customers = (
        ", ".join(
            escape(contracts.customers[c].name) if c in contracts.customers else escape(c)
            for c in view.customers
        )
        or "all customers"
    )
    state = STATE_NAMES[view.state]
    if view.paused:
        state += f" · ⏸️ paused: {escape(view.pause_reason or '')}"
    facts = [
        f"*{state}*",
        f"{escape(view.severity_name)}",
        f"Customers: {customers}",
        "Outage" if view.outage else "",
        f"Declared by {mrkdwn.user(view.declared_by)} {mrkdwn.date(view.declared_at, zone)}",
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(title_line(view), 150), emoji=True)),
        context(" · ".join(f for f in facts if f)),
    ]
    timers = [t for t in view.timers.values()]
    if timers:
        blocks.append(
            SectionBlock(
                fields=[MarkdownTextObject(text=clip(timer_text(t, zone), 2000)) for t in timers][
                    :10
                ]
            )
        )
    earlier = view.earlier_breaches
    if earlier:
        blocks.append(
            context(*[f"🔥 Before: {b.story(lambda t: mrkdwn.date(t, zone))}" for b in earlier])
        )
    if view.excluded_reason:
        blocks.append(context(f"Excluded from uptime: {escape(view.excluded_reason)}"))
    if view.summary:
        blocks.extend(_sections(f"*Resolution:* {escape(view.summary)}"))
    if view.reports_at_resolution and view.is_open:
        blocks.append(
            context(
                "This contract asks for one progress report, at resolution: add it when you resolve."
            )
        )
    buttons = card_buttons(view)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"incident:{view.ref}", elements=buttons))
    return Message(
        text=f"{view.ref} (Sev {view.severity}): {escape(view.title)} — {state}", blocks=blocks
    )


def card_buttons(view: IncidentView) -> list[ButtonElement | OverflowMenuElement]:
    """The buttons of an open incident, and the ⋯ menu (also on a resolved one: admins
    correct resolved incidents)."""
    more = OverflowMenuElement(
        action_id=ActionId.CORRECT,
        options=[Option(value=view.ref, text="Correct the record…")],
    )
    if not view.is_open:
        draft = ButtonElement(
            text="Postmortem draft", action_id=ActionId.POSTMORTEM, value=view.ref
        )
        return [draft, more]

    def button(
        label: str, action: ActionId, style: str | None = None, confirm: str | None = None
    ) -> ButtonElement:
        return ButtonElement(
            text=label, action_id=action, value=view.ref, style=style,
            confirm=ConfirmObject(title="Are you sure?", text=confirm, confirm="Yes", deny="No") if confirm else None,
        )  # fmt: skip

    buttons = []
    if view.acknowledged_at is None:
        buttons.append(button("Acknowledge", ActionId.ACK, "primary"))
    buttons.append(button("Post update", ActionId.UPDATE))
    buttons.append(button("Change severity", ActionId.SEVERITY))
    if view.paused:
        buttons.append(button("Resume", ActionId.RESUME))
    else:
        buttons.append(button("Pause", ActionId.PAUSE))
    if view.restored_at is None:
        buttons.append(
            button(
                "Restore", ActionId.RESTORE, confirm=f"Mark service restored for {view.ref} now?"
            )
        )
    buttons.append(button("Resolve", ActionId.RESOLVE, "danger"))
    return [*buttons, more]


def update_post(view: IncidentView, user_id: str, text: str) -> Message:
    """A responder's progress update, in their words, attributed."""
    body = f"📝 *Update* on {view.ref} from {mrkdwn.user(user_id)}:\n{escape(text)}"
    return Message(text=f"Update on {view.ref}: {escape(text)}", blocks=_sections(body))


def change_post(view: IncidentView, user_id: str, what: str) -> Message:
    """One line in the incident channel for each change: who did what."""
    text = f"{mrkdwn.user(user_id)} {what}"
    body = [context(text)] if len(text) <= 2000 else _sections(text)
    return Message(text=f"{view.ref}: {text}", blocks=body)


def declared_notice(view: IncidentView) -> Message:
    where = mrkdwn.channel(view.channel_id)
    text = f"🚨 {escape(view.ref)} declared (Sev {view.severity}): {escape(view.title)} → {where}"
    return Message(text=text, blocks=[section(text)])


LIST_LIMIT = 40
"""Incidents an ``/incident list`` shows; the heading counts them all."""


def incident_list(
    views: Sequence[IncidentView], heading: str, *, total: int | None = None
) -> Message:
    """The incidents, newest first, at most ``LIST_LIMIT`` of ``total`` (default: all given)."""
    if not views:
        return reply("No open incidents.")
    total = len(views) if total is None else total
    lines = [heading]
    for view in views[:LIST_LIMIT]:
        nxt = view.next_deadline()
        due = (
            f" · {TIMER_NAMES[nxt.kind]} {STATE_MARK[nxt.state]} {mrkdwn.due(nxt.deadline, 'UTC')}"
            if nxt
            else ""
        )
        paused = " · ⏸️ paused" if view.paused else ""
        lines.append(
            f"• *{view.ref}* Sev {view.severity} — {escape(clip(view.title, 80))} · {mrkdwn.channel(view.channel_id)}{paused}{due}"
        )
    shown = min(len(views), LIST_LIMIT)
    if total > shown:
        lines.append(f"… and {total - shown} more")
    return Message(text=heading, blocks=_sections("\n".join(lines)))


TIMELINE_PAGE = 15
"""Events on one page of ``/incident timeline``."""


def timeline_pages(events: int) -> int:
    return max(1, -(-events // TIMELINE_PAGE))


def timeline_page(record: IncidentRecord, page: int, zone: str) -> Message:
    """One page of an incident's timeline, oldest first (page 1 is the beginning), times
    in ``zone`` (the reader's), and a button to the page before when there is one."""
    view = record.incident
    style = render.Style(
        when=lambda instant: format_local(instant, zone), who=mrkdwn.user, words=escape
    )
    lines = render.timeline_lines(record, style)
    pages = timeline_pages(len(lines))
    first = (page - 1) * TIMELINE_PAGE
    shown = lines[first : first + TIMELINE_PAGE]
    span = f"events {first + 1}–{first + len(shown)} of {len(lines)}" if shown else "no events"
    heading = (
        f"*{view.ref} timeline* · {escape(clip(view.title, 80))} — {span}, page {page} of "
        f"{pages} · times in {escape(zone)}"
    )
    body = _sections("\n".join(f"• {line}" for line in shown)) if shown else []
    blocks: list[Block] = [section(heading), *body]
    if page > 1:
        blocks.append(
            ActionsBlock(
                block_id=f"incident:{view.ref}",
                elements=[
                    ButtonElement(
                        text=f"Earlier events (page {page - 1} of {pages})",
                        action_id=ActionId.TIMELINE,
                        value=f"{view.ref} {page - 1}",
                    )
                ],
            )
        )
    return Message(text=mrkdwn.plain(heading), blocks=blocks)


def usage(text: str) -> Message:
    """Usage text as written: its ``<sev>`` and ``<when>`` are placeholders, not Slack links."""
    return Message(text=escape(text), blocks=_sections(escape(text)))


# --- modals --------------------------------------------------------------------------------


def _severity_options(levels: Sequence[tuple[int, str]]) -> list[Option]:
    return [Option(value=str(level), text=clip(f"{level} — {name}", 75)) for level, name in levels]


def declare_form(
    levels: Sequence[tuple[int, str]], contracts: Contracts, channel_id: str | None
) -> View:
    """The declare form; ``levels``: those the chosen customers' contracts all have (the
    form is drawn again with fewer when customers are chosen)."""
    blocks: list[Block] = [
        InputBlock(block_id="title", label="What is broken?", element=PlainTextInputElement(action_id="value", max_length=200, placeholder="Checkout API down")),
        InputBlock(block_id="severity", label="Severity", element=StaticSelectElement(action_id="value", options=_severity_options(levels))),
    ]  # fmt: skip
    if contracts.customers:
        options = [
            Option(value=c.id, text=clip(f"{c.name} ({c.id})", 75))
            for c in contracts.customers.values()
        ][:100]
        # dispatch_action: choosing customers sends an action, which narrows the severities.
        blocks.append(InputBlock(block_id="customers", label="Customers affected", optional=True, hint="Leave empty if every customer is affected.",
                                 dispatch_action=True, element=StaticMultiSelectElement(action_id="value", options=options)))  # fmt: skip
    blocks += [
        InputBlock(block_id="outage", label="Outage", optional=True, element=CheckboxesElement(action_id="value", options=[Option(value="outage", text="The service is down (counts against uptime)")])),
        InputBlock(block_id="started", label="Started", optional=True, hint="e.g. 10 minutes ago, 14:05; empty means now",
                   element=PlainTextInputElement(action_id="value", max_length=80)),
    ]  # fmt: skip
    return View(
        type="modal", callback_id=IncidentVerb.DECLARE, title="Declare an incident", submit="Declare", close="Cancel",
        private_metadata=channel_id or "", blocks=blocks,
    )  # fmt: skip


def text_form(
    callback_id: IncidentVerb,
    title: str,
    label: str,
    ref: str,
    submit: str,
    *,
    optional: bool = False,
    hint: str | None = None,
) -> View:
    """A one-field modal (update, pause reason, resolution summary) about incident ``ref``;
    its ``callback_id`` is the verb it submits."""
    return View(
        type="modal", callback_id=callback_id, title=clip(title, 24), submit=submit, close="Cancel", private_metadata=ref,
        blocks=[InputBlock(block_id="text", label=label, optional=optional, hint=hint,
                           element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000))],
    )  # fmt: skip


def severity_form(ref: str, levels: Sequence[tuple[int, str]], current: int) -> View:
    options = _severity_options([(level, name) for level, name in levels if level != current])
    return View(
        type="modal", callback_id=IncidentVerb.SEVERITY, title="Change severity", submit="Change", close="Cancel", private_metadata=ref,
        blocks=[
            context(f"{escape(ref)} is severity {current}. Deadlines are recomputed from the original start."),
            InputBlock(block_id="severity", label="New severity", element=StaticSelectElement(action_id="value", options=options)),
        ],
    )  # fmt: skip


CORRECT_TIMES = (
    ("reported_at", "Started", "When the impact began (the response timer starts then too)."),
    ("acknowledged_at", "Acknowledged", "The first response."),
    ("restored_at", "Service restored", "Empty: not restored."),
    ("resolved_at", "Resolved", "Empty: not resolved."),
)
"""The correction form's times: block id (the fact), label, hint."""


def local_text(instant: dt.datetime | None, zone: str) -> str:
    """An instant as the correction form shows and reads it: ``2026-11-20 10:03`` in the
    reader's zone (seconds when it has some, so an untouched field reads back the same)."""
    if instant is None:
        return ""
    local = instant.astimezone(ZoneInfo(zone))
    return (
        f"{local:%Y-%m-%d %H:%M:%S}"
        if local.second or local.microsecond
        else f"{local:%Y-%m-%d %H:%M}"
    )


def correct_form(view: IncidentView, contracts: Contracts, zone: str) -> tuple[View, dict]:
    """ "Correct the record": the incident's facts, each as it stands, to change and say why.
    Returns the form and the initial values it shows (kept in its ``private_metadata`` so
    that only the fields changed are corrected)."""
    initial: dict = {name: local_text(getattr(view, name), zone) for name, _, _ in CORRECT_TIMES}
    initial["outage"] = view.outage
    initial["impact_pct"] = "" if view.impact_pct is None else f"{view.impact_pct:g}"
    initial["customers"] = sorted(view.customers)
    initial["excluded"] = view.excluded_reason or ""
    when = f"In your zone ({zone}): 2026-11-20 20:00, 20:00, 10 minutes ago, yesterday 23:40."
    blocks: list[Block] = [
        context(
            f"{escape(view.ref)} · {escape(clip(view.title, 100))}. Change what was recorded "
            "wrong; timers, reminders and reports follow as if it had been recorded right. "
            "The change and your reason go into the incident's timeline."
        )
    ]
    for name, label, hint in CORRECT_TIMES:
        blocks.append(InputBlock(
            block_id=name, label=label, optional=name != "reported_at", hint=f"{hint} {when}",
            element=PlainTextInputElement(action_id="value", initial_value=initial[name] or None, max_length=60),
        ))  # fmt: skip
    outage = Option(value="outage", text="The service was down (counts against uptime)")
    blocks.append(InputBlock(
        block_id="outage", label="Outage", optional=True,
        element=CheckboxesElement(action_id="value", options=[outage], initial_options=[outage] if view.outage else None),
    ))  # fmt: skip
    blocks.append(InputBlock(
        block_id="impact_pct", label="Impact (% of traffic)", optional=True, hint="Empty: unknown.",
        element=PlainTextInputElement(action_id="value", initial_value=initial["impact_pct"] or None, max_length=10),
    ))  # fmt: skip
    if contracts.customers:
        options = [
            Option(value=c.id, text=clip(f"{c.name} ({c.id})", 75))
            for c in contracts.customers.values()
        ][:100]
        chosen = [o for o in options if o.value in view.customers]
        blocks.append(InputBlock(
            block_id="customers", label="Customers affected", optional=True, hint="Empty: every customer.",
            element=StaticMultiSelectElement(action_id="value", options=options, initial_options=chosen or None),
        ))  # fmt: skip
    blocks.append(InputBlock(
        block_id="excluded", label="Excluded from uptime because…", optional=True,
        hint="Admins only. Empty: the outage counts against uptime.",
        element=PlainTextInputElement(action_id="value", initial_value=initial["excluded"] or None, max_length=3000),
    ))  # fmt: skip
    blocks.append(InputBlock(
        block_id="reason", label="Why is the record corrected?",
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000,
                                      placeholder="e.g. the restore time was the deploy's, not the recovery's"),
    ))  # fmt: skip
    metadata = json.dumps({"ref": view.ref, "initial": initial}, separators=(",", ":"))
    form = View(
        type="modal", callback_id=IncidentVerb.CORRECT, title="Correct the record", submit="Correct",
        close="Cancel", private_metadata=metadata, blocks=blocks,
    )  # fmt: skip
    return form, initial


# --- App Home --------------------------------------------------------------------------------


HOME_INCIDENTS = 20
"""Open incidents the Home tab shows, each with its timers."""


def home(
    views: Sequence[IncidentView],
    standings: Sequence[str],
    problems: Sequence[str],
    now: dt.datetime,
    *,
    total: int | None = None,
) -> View:
    """The Home tab: open incidents (at most ``HOME_INCIDENTS`` of ``total``, default: all
    given) with each timer, customers' uptime, and what needs a look."""
    blocks: list[Block] = [HeaderBlock(text="Open incidents")]
    if not views:
        blocks.append(section("No open incidents. 🎉"))
    for view in views[:HOME_INCIDENTS]:
        blocks.append(
            section(
                f"*{escape(clip(title_line(view), 200))}* · {mrkdwn.channel(view.channel_id)}"
                + (" · ⏸️ paused" if view.paused else "")
            )
        )
        if view.timers:
            blocks.append(
                context(*[timer_text(t, "UTC").replace("\n", " · ") for t in view.timers.values()])
            )
    total = len(views) if total is None else total
    shown = min(len(views), HOME_INCIDENTS)
    if total > shown:
        blocks.append(context(f"… and {total - shown} more: `/incident list`"))
    if standings:
        blocks += [
            DividerBlock(),
            HeaderBlock(text="Uptime this period"),
            *_sections("\n".join(standings)),
        ]
    if problems:
        blocks += [DividerBlock(), HeaderBlock(text="Needs a look"), section("\n".join(problems))]
    blocks.append(context(f"Updated {mrkdwn.date(now, 'UTC')}"))
    return View(type="home", blocks=blocks[:100])


# --- reminders ---------------------------------------------------------------------------

_WHAT_NEXT = {
    TimerKind.RESPONSE: "Acknowledge with `/incident ack` or the button below.",
    TimerKind.RESTORE: "Post progress with `/incident update …`; when service is back, `/incident restore`.",
    TimerKind.PROGRESS: "Post one with `/incident update …` or the button below.",
    TimerKind.RESOLVE: "Resolve with `/incident resolve <summary>` when the cause is fixed.",
}
_TARGET_NAMES = {
    TimerKind.RESPONSE: "response",
    TimerKind.RESTORE: "restore",
    TimerKind.PROGRESS: "progress-update",
    TimerKind.RESOLVE: "resolve",
}


def mention(entry: str) -> str:
    """A user (``U…``/``W…``) or a user group (``S…``) as a mention."""
    return f"<!subteam^{entry}>" if entry.startswith("S") else f"<@{entry}>"


def reminder_message(
    view: IncidentView,
    timer: TimerKind,
    kind: ReminderKind,
    step: str,
    deadline: dt.datetime,
    due_at: dt.datetime,
    now: dt.datetime,
    *,
    late: bool,
    retried: bool = False,
    escalation: Sequence[str] = (),
    recorded_at: dt.datetime | None = None,
) -> Message:
    """A warning before a deadline, the breach notice at it, or an escalation after it.

    Each says which target of which contract, when it is due in the contract's local time
    (a ``<!date>`` token: every reader sees their own), and what to do. A late one says
    why: the record made it late (``recorded_at``, when the reminder was written, is after
    it was due: a late declaration, a re-grade or a correction), or the worker was not
    running, or Slack did not accept it at first.
    """
    state = view.timers.get(timer)
    zone = state.zone if state else "UTC"
    ref = f"*{escape(view.ref)}* ({escape(clip(view.title, 80))})"
    name = _TARGET_NAMES[timer]
    of = f" of {escape(state.contract)} ({escape(state.target)})" if state else ""
    asks = f" ({escape(state.contract)} asks for one every {escape(state.target)})" if state else ""
    when = mrkdwn.date(deadline, zone)
    over = format_span_words(_over_by(state, deadline, now))
    if kind is ReminderKind.WARNING:
        left = format_span_words(deadline - now)
        if timer is TimerKind.PROGRESS:
            head = f"📝 {ref}: update due {when}, in {left}{asks}."
        elif step.endswith("%"):
            head = (
                f"⏳ {ref}: {step} of the {name} target{of} is used; it is due {when}, in {left}."
            )
        else:
            head = f"⏳ {ref}: the {name} target{of} is due {when}, in {left}."
    elif timer is TimerKind.PROGRESS:
        if kind is ReminderKind.ESCALATION:
            late_by = f"still overdue, by {over}"
        else:
            late_by = "overdue" if over == _NO_TIME else f"overdue by {over}"
        head = f"📝 {ref}: update {late_by} — one was due {when}{asks}."
    else:
        did = "is still past" if kind is ReminderKind.ESCALATION else "missed"
        head = f"🔥 {ref} {did} the {name} target{of}: it was due {when}, over by {over}."
    if kind is ReminderKind.ESCALATION:
        audience = " ".join(mention(e) for e in escalation) or "<!here>"
        head = f"🚨 {audience} " + head.removeprefix("🔥 ").removeprefix("📝 ")
    lines = [head, _WHAT_NEXT[timer]]
    if late and recorded_at is not None and recorded_at > due_at:
        lines.append(f"_({_made_late(view, state, name, recorded_at, zone)})_")
    elif late:
        why = (
            "Slack did not accept it at first"
            if retried
            else "slabot's worker was not running then"
        )
        lines.append(f"_(Posted late: this was due {mrkdwn.date(due_at, zone)}; {why}.)_")
    body: list[Block] = [section("\n".join(line for line in lines if line))]
    buttons = []
    if timer is TimerKind.RESPONSE and view.acknowledged_at is None and view.is_open:
        buttons.append(
            ButtonElement(
                text="Acknowledge", action_id=ActionId.ACK, value=view.ref, style="primary"
            )
        )
    if timer is TimerKind.PROGRESS and view.is_open:
        buttons.append(ButtonElement(text="Post update", action_id=ActionId.UPDATE, value=view.ref))
    if buttons:
        body.append(ActionsBlock(block_id=f"reminder:{view.ref}", elements=buttons))
    return Message(text=mrkdwn.plain(head), blocks=body)


def _made_late(
    view: IncidentView, state: TimerView | None, name: str, recorded_at: dt.datetime, zone: str
) -> str:
    """Why a reminder written after it was due is late: what was recorded, not the worker."""
    if recorded_at == view.declared_at:
        start = state.started_at if state is not None else view.reported_at
        after = format_span_words(view.declared_at - start)
        return f"Declared {after} after it started: the {name} target was already past."
    return (
        f"The {name} deadline was already past when the record changed "
        f"{mrkdwn.date(recorded_at, zone)} (a re-grade or a correction)."
    )


# --- uptime and credit reports -------------------------------------------------------------

REPORT_LINES = 40
"""Customers listed in a report message; the CSV has them all."""
HOME_STANDINGS = 25
MONEY_NOTE = "Amounts are shown to managers and admins (SLABOT_MANAGERS, SLABOT_ADMINS)."


def _met_mark(met: bool | None) -> str:
    return {True: "✅", False: "🔴", None: "⚪"}[met]


def _worst_first(c: CustomerReport) -> tuple:
    """Those owed credits first, then those below their commitment, then the lowest uptime."""
    uptime = c.uptime.uptime_pct if c.uptime is not None else 100
    return (not c.credits, c.met is not False, uptime, c.customer)


def _uptime_cell(c: CustomerReport) -> str:
    if c.uptime is None:
        return "uptime not measured"
    commitment = f" (commitment {decimal_pct(c.commitment_pct)})" if c.commitment_pct else ""
    return f"*{pct_text(c.uptime.uptime_pct)}*{commitment}"


def report_line(c: CustomerReport, *, money: bool) -> str:
    """One customer of a report in one line: where it stands, what is owed, until when."""
    parts = [f"{_met_mark(c.met)} *{escape(c.customer)}* · {escape(c.period_text())}"]
    parts.append(_uptime_cell(c))
    if c.uptime is not None:
        parts.append(f"down {format_span(c.uptime.downtime)}")
    budget = budget_text(c)
    if budget:
        parts.append(budget)
    if c.credits:
        parts.append(f"owes {owed_text(c, money=money)}")
    claim = c.next_claim_text() if c.credits else None
    if claim is not None:
        parts.append(f"claim by {claim}")
    return " · ".join(parts)


def _report_facts(report: Report, *, money: bool) -> str:
    customers = report.customers
    below = sum(1 for c in customers if c.met is False)
    owed = sum(1 for c in customers if c.credits)
    facts = [
        f"*{plural(len(customers), 'customer')}*",
        f"{below} below {'its' if len(customers) == 1 else 'their'} commitment",
        f"credits owed to {owed}",
    ]
    total = totals_text(customers) if money else ""
    if total:
        facts.append(f"owed in total: *{total}*")
    return " · ".join(facts)


def report_summary(report: Report, *, money: bool, zone: str = "UTC") -> Message:
    """``/sla report``: who met their commitment, what is owed, the budget left and until when
    to claim, worst first. ``money`` shows amounts (managers and admins); others see the
    credits as percentages of a fee."""
    customers = report.customers
    single = customers[0] if len(customers) == 1 else None
    title = f"Uptime and credits · {report.period}"
    if single is not None:
        title = f"{single.name} · {single.period_text()}"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(title, 150), emoji=True)),
        context(
            f"As of {mrkdwn.date(report.as_of, zone)} · each customer by its own contract · a "
            "period still running reads “if nothing else goes down”"
        ),
    ]
    if not customers:
        blocks.append(section("No customers are configured (SLABOT_CUSTOMERS_FILE)."))
        return Message(text=title, blocks=blocks)
    if single is not None:
        blocks += _customer_detail(single, money=money)
    else:
        blocks.append(section(_report_facts(report, money=money)))
        ordered = sorted(customers, key=_worst_first)
        blocks += _sections("\n".join(report_line(c, money=money) for c in ordered[:REPORT_LINES]))
        if len(ordered) > REPORT_LINES:
            blocks.append(
                context(
                    f"… and {len(ordered) - REPORT_LINES} more: add `csv` to get every customer "
                    f"(`/sla report {report.period} csv`)"
                )
            )
    if not money and any(c.credits for c in customers):
        blocks.append(context(MONEY_NOTE))
    text = f"Uptime and credits for {report.period}: " + mrkdwn.plain(
        _report_facts(report, money=money)
    )
    return Message(text=text, blocks=blocks[:50])


def _customer_detail(c: CustomerReport, *, money: bool) -> list[Block]:
    up = c.uptime
    fields = [
        f"*Customer*\n{escape(c.name)} ({escape(c.customer)}) · {escape(c.policy)}",
        f"*Uptime*\n{_met_mark(c.met)} {_uptime_cell(c)}",
    ]
    if up is not None:
        fields.append(
            f"*Downtime*\n{format_span(up.downtime)} of {format_span(up.available)}"
            + (f" · {format_span(up.excluded)} excluded" if up.excluded else "")
        )
        fields.append(f"*Budget left*\n{budgets_text(c) or 'no credit tier left'}")
    fields.append(f"*Credits owed*\n{owed_text(c, money=money)}")
    claim = c.next_claim_text() or "no claim window"
    fields.append(f"*Claim by*\n{claim}")
    blocks: list[Block] = [
        SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in fields][:10])
    ]
    credits = [
        "• " + escape(line_text(line, c.currency, c.today, money=money)) for line in c.credits
    ]
    if credits:
        blocks += _sections("\n".join(["*Credits and refunds*", *credits]))
    counting = ["• " + escape(count_text(n)) for n in approaching(c.counts)]
    if counting:
        blocks += _sections("\n".join(["*Counting towards a credit*", *counting]))
    if c.incidents:
        blocks.append(context(f"Incidents that counted: {escape(', '.join(c.incidents))}"))
    if c.notes:
        blocks.append(context(*(escape(note) for note in c.notes)))
    return blocks


def standing_lines(standings: Sequence[CustomerStanding], *, money: bool) -> list[str]:
    """App Home: each customer's period so far against its commitment, worst first, with the
    month to date of a yearly contract and the earlier credits still to claim."""
    ordered = sorted(standings, key=lambda s: _worst_first(s.current))
    lines = []
    for s in ordered[:HOME_STANDINGS]:
        c = s.current
        name = period_name((c.period_start, c.period_end), c.zone)
        parts = [f"{_met_mark(c.met)} *{escape(c.name)}* · {name} so far {_uptime_cell(c)}"]
        month = s.month_to_date
        if month is not None and (month.start, month.end) != (c.period_start, c.period_end):
            month_name = period_name((month.start, month.end), c.zone).split()[0]
            parts.append(f"{month_name} so far {pct_text(month.uptime_pct)}")
        budget = budget_text(c)
        if budget:
            parts.append(budget)
        parts += [escape(count_text(n, incidents=False)) for n in approaching(c.counts)]
        if c.credits:
            parts.append(f"owes {owed_text(c, money=money)}")
        for line in s.claimable:
            amount = (
                f" {amount_text(line.amount, c.currency)}" if money and line.amount else " credit"
            )
            earlier = period_name(line.period, c.zone)
            parts.append(f"claim {earlier}'s{amount} by {line.claim_deadline.isoformat()}")
        lines.append(" · ".join(parts))
    if len(ordered) > HOME_STANDINGS:
        lines.append(f"… and {len(ordered) - HOME_STANDINGS} more: `/sla report`")
    return lines


_NO_TIME = format_span_words(dt.timedelta(0))


def _over_by(state: TimerView | None, deadline: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """How far past its deadline a timer is, on its own clock (as the card says)."""
    if state is not None and state.over_by is not None:
        return state.over_by
    return max(dt.timedelta(0), now - deadline)
