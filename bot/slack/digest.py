"""The weekly digest as a Slack message (Block Kit through slack_sdk's models).

Its ``text`` is the one-line summary a phone notification shows; the blocks hold the week's
incidents with links to their channels, attainment, breaches, open incidents with their
next deadlines (``<!date>`` tokens: each reader's own zone), and the customers, at risk
first. Long lists are cut to what a phone screen can take, saying how many more there are.
"""

from __future__ import annotations

import datetime as dt
import re

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.digest import text
from bot.digest.views import Digest
from bot.slack import mrkdwn
from bot.slack.blocks import SEVERITY_MARK, Message, context, section
from bot.slack.mrkdwn import clip, escape
from bot.text import plural

MAX_INCIDENTS = 15
MAX_BREACHES = 10
MAX_OPEN = 10
MAX_CUSTOMERS = 15


def _more(
    lines: list[str], shown: int, total: int, what: str, many: str | None = None
) -> list[str]:
    more = plural(total - shown, f"more {what}", None if many is None else f"more {many}")
    return lines + ([f"… and {more}"] if total > shown else [])


def _link(channel_id: str | None) -> str:
    return f" · {mrkdwn.channel(channel_id)}" if channel_id else ""


def _escaped_story(said: str) -> str:
    """A breach line: its ``<!date>`` tokens kept, everything else escaped."""
    parts = re.split(r"(<!date\^[^>]*>)", said)
    return "".join(p if p.startswith("<!date^") else escape(p) for p in parts)


def _mentions(line: str) -> str:
    """``\x00U1\x00`` markers (set around a person's id before escaping) as mentions."""
    return re.sub(r"\x00([^\x00]*)\x00", lambda m: mrkdwn.user(m.group(1)), line)


def digest_message(digest: Digest, *, late_since: dt.datetime | None = None) -> Message:
    zone = digest.zone
    so_far = "" if digest.complete else " (so far)"
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=f"📊 SLA digest · week {digest.week.week}{so_far}", emoji=True
            )
        ),
        context(
            f"{digest.week.label} · {digest.week.days_text()} · as of {mrkdwn.date(digest.as_of, zone)}"
        ),
    ]
    if late_since is not None:
        blocks.append(
            context(
                f"⏰ Sent late: it was due {mrkdwn.date(late_since, zone)}; the worker was not running then."
            )
        )
    if digest.quiet:
        blocks.append(section(f"✅ *No incidents were declared in {digest.week.label}.*"))
    else:
        lines = [f"*{plural(len(digest.incidents), 'incident')}* — {text.severities_text(digest)}"]
        for i in digest.incidents[:MAX_INCIDENTS]:
            who = escape(", ".join(i.customers)) or "all customers"
            state = text.STATE_WORDS[i.state] + (", paused" if i.paused else "")
            lines.append(
                f"{SEVERITY_MARK.get(i.severity, '⚪')} *{escape(i.ref)}* "
                f"{escape(clip(i.title, 80))}{_link(i.channel_id)} · {state} · {who}"
            )
        blocks.append(
            section("\n".join(_more(lines, MAX_INCIDENTS, len(digest.incidents), "incident")))
        )
        fields = [f"*{t.kind.value.title()} targets*\n{text.tally_text(t).split(' ', 1)[1]}"
                  for t in digest.tallies]  # fmt: skip
        fields.append(f"*MTTA*\n{text.mean_text(digest.mtta, digest.acknowledged, 'acknowledged')}")
        fields.append(f"*MTTR*\n{text.mean_text(digest.mttr, digest.restored, 'restored')}")
        blocks.append(SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields]))
        if not digest.breaches:
            blocks.append(section("*Breaches*: none 🎉"))
    if digest.breaches:
        lines = ["*Breaches*"]
        for b in digest.breaches[:MAX_BREACHES]:
            said = text.breach_text(b, lambda t: mrkdwn.date(t, zone))
            mark = "🔥" if b.earlier is None else "↩️"
            lines.append(f"{mark} {_escaped_story(said)}{_link(b.channel_id)}")
        blocks.append(
            section("\n".join(_more(lines, MAX_BREACHES, len(digest.breaches), "breach")))
        )
    if digest.corrected:
        lines = ["✏️ *Corrected since the last digest*"]
        lines += [escape(c.text(lambda who: f"\x00{who}\x00")) for c in digest.corrected]
        blocks.append(section("\n".join(_mentions(line) for line in lines)))
    blocks.append(DividerBlock())
    if digest.open:
        lines = [f"*Open incidents* ({len(digest.open)})"]
        for o in digest.open[:MAX_OPEN]:
            next_deadline = text.next_deadline_text(
                o, zone, digest.as_of, due=lambda d: mrkdwn.due(d, zone), marks=True
            )
            lines.append(
                f"{SEVERITY_MARK.get(o.severity, '⚪')} *{escape(o.ref)}* {escape(clip(o.title, 60))}"
                f"{_link(o.channel_id)} · {next_deadline}"
            )
        blocks.append(section("\n".join(_more(lines, MAX_OPEN, len(digest.open), "open incident"))))
    else:
        blocks.append(section("*Open incidents*: none"))
    blocks.append(DividerBlock())
    if digest.customers:
        blocks.append(section("*Customers*, at risk first"))
        for c in digest.customers[:MAX_CUSTOMERS]:
            lines = [
                f"{text.RISK_MARK[c.risk]} *{escape(c.name)}* ({c.risk.label}) · {escape(c.period)}",
                escape(text.standing_text(c)),
            ]
            lines += [escape(extra) for extra in (text.owed_text(c), text.closed_text(c)) if extra]
            blocks.append(section("\n".join(lines)))
        if len(digest.customers) > MAX_CUSTOMERS:
            blocks.append(
                context(
                    f"… and {plural(len(digest.customers) - MAX_CUSTOMERS, 'more customer')}: "
                    "`slabot report --period YYYY-MM` has them all."
                )
            )
        soon = sorted(
            ((c, credit) for c in digest.customers for credit in c.claims_soon),
            key=lambda pair: pair[1].claim_deadline,
        )
        if soon:
            lines = ["⏰ *Claim deadlines in the next two weeks*"]
            lines += [
                f"{credit.claim_deadline:%a %d %b}: {escape(c.name)} — "
                f"{escape(text.credit_text(credit, c.currency, c.zone))}"
                for c, credit in soon[:10]
            ]
            blocks.append(section("\n".join(lines)))
        blocks.append(
            section(
                f"💶 *Credits owed* (this period and still to claim): {escape(text.totals_text(digest))}"
            )
        )
    else:
        blocks.append(section("*Customers*: none configured."))
    return Message(text=text.summary(digest, late=late_since is not None), blocks=blocks[:50])
