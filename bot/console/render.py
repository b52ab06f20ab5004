"""Block Kit and mrkdwn as terminal text. Pure: who reads, where and when is a parameter.

What Slack would show its reader, in plain lines: ``<!date^…>`` tokens in the reader's zone
with "in 25 minutes" measured from ``Reader.now`` (the drill clock), ``<@U1>`` as ``@ana``,
``<#C1>`` as ``#inc-…``, ``<!here>`` as ``@here``, links as ``label (url)``, buttons as
``[Acknowledge]``. The entities ``&lt; &gt; &amp;`` are decoded only after the tokens are
read, so escaped user text shows exactly as it was typed and never becomes a mention.
``*bold*``, ``_italic_`` and ``~strike~`` lose their markers (or become ANSI styles when
``Reader.style``); ```` `code` ```` keeps its backticks, so commands stay copyable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.slack.mrkdwn import decode
from bot.text import format_relative

Block = Mapping[str, Any]


@dataclass(frozen=True)
class Reader:
    """Who reads: their zone, the clock's now, and the workspace's names for ids."""

    now: dt.datetime
    zone: str = "UTC"
    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)
    style: bool = False


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    block_id: str | None
    value: str | None


# --- mrkdwn ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"<([^<>\n]*)>")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_FENCE = re.compile(r"(```.*?```)", re.DOTALL)
_CODE = re.compile(r"(`[^`\n]*`)")
_EMPHASIS = (
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), "\x1b[1m", "\x1b[22m"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), "\x1b[3m", "\x1b[23m"),
    (re.compile(r"(?<![\w~])~(?=\S)(.+?)(?<=\S)~(?![\w~])"), "\x1b[9m", "\x1b[29m"),
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_DATE = re.compile(r"^!date\^(-?\d+)\^([^^|]*)(?:\^([^|]*))?(?:\|(.*))?$", re.DOTALL)


def mrkdwn(text: str, reader: Reader) -> str:
    """A mrkdwn string as the reader sees it."""
    rendered: list[str] = []

    def hold(match: re.Match[str]) -> str:
        rendered.append(token(match.group(1), reader))
        return f"\x00{len(rendered) - 1}\x00"

    held = _TOKEN.sub(hold, text.replace("\x00", ""))
    parts = []
    for fenced in _FENCE.split(held):
        if fenced.startswith("```") and fenced.endswith("```") and len(fenced) >= 6:
            parts.append("\n" + fenced[3:-3].strip("\n") + "\n")
            continue
        for piece in _CODE.split(fenced):
            parts.append(piece if piece.startswith("`") else _emphasis(piece, reader.style))
    prose = decode("".join(parts))
    prose = _PLACEHOLDER.sub(lambda m: rendered[int(m.group(1))], prose)
    return re.sub(r"\n{3,}", "\n\n", prose).strip("\n")


def _emphasis(text: str, style: bool) -> str:
    for pattern, on, off in _EMPHASIS:
        text = pattern.sub(
            (lambda m, on=on, off=off: on + m.group(1) + off) if style else r"\1", text
        )
    return text


def token(body: str, reader: Reader) -> str:
    """One ``<…>`` token: a date, a mention, a channel, a link; anything else as written."""
    if body.startswith("!date^"):
        match = _DATE.match(body)
        if match:
            fallback = decode(match.group(4) or "")
            try:
                instant = dt.datetime.fromtimestamp(int(match.group(1)), dt.UTC)
            except (OverflowError, OSError, ValueError):
                return fallback
            return date(instant, match.group(2), reader)
    target, _, label = body.partition("|")
    label = decode(label)
    if target.startswith("@"):
        ident = target[1:]
        return "@" + (reader.users.get(ident) or label.lstrip("@") or ident)
    if target.startswith("#"):
        ident = target[1:]
        return "#" + (reader.channels.get(ident) or label.lstrip("#") or ident)
    if target.startswith("!subteam^"):
        ident = target.removeprefix("!subteam^")
        return "@" + (reader.groups.get(ident) or label.lstrip("@") or ident)
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        return "@" + word if word in ("here", "channel", "everyone") else label or "@" + word
    if _URL.match(target):
        shown = target.removeprefix("mailto:")
        return f"{label} ({shown})" if label and label != shown else shown
    return "<" + decode(body) + ">"


# --- dates ------------------------------------------------------------------------------------


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _to_the_minute(instant: dt.datetime, now: dt.datetime) -> dt.datetime:
    """``now`` moved so that ``instant`` is a whole number of minutes away, when it is more
    than 90 s away: a reminder read a few seconds after it was posted still says "in 15
    minutes", not "in 14 minutes"."""
    seconds = (instant - now).total_seconds()
    if abs(seconds) < 90:
        return now
    return instant - dt.timedelta(minutes=round(seconds / 60))


def date(instant: dt.datetime, tokens: str, reader: Reader) -> str:
    """A ``<!date>`` token's format (``{date_short_pretty} {time} ({ago})``) for this reader.

    Times are 24-hour; a year is shown only when it is not the reader's current year.
    """
    zone = ZoneInfo(reader.zone)
    local, today = instant.astimezone(zone), reader.now.astimezone(zone).date()
    year = "" if local.year == today.year else f", {local.year}"
    plain = {
        "date_num": f"{local:%Y-%m-%d}",
        "date": f"{local:%B} {_ordinal(local.day)}{year}",
        "date_short": f"{local:%b} {local.day}{year}",
        "date_long": f"{local:%A}, {local:%B} {_ordinal(local.day)}{year}",
        "time": f"{local:%H:%M}",
        "time_secs": f"{local:%H:%M:%S}",
        "ago": format_relative(instant, _to_the_minute(instant, reader.now)),
    }
    relative = {0: "today", -1: "yesterday", 1: "tomorrow"}.get((local.date() - today).days)
    for name in ("date", "date_short", "date_long"):
        plain[f"{name}_pretty"] = relative or plain[name]
    return re.sub(r"\{(\w+)\}", lambda m: plain.get(m.group(1), m.group(0)), tokens)


# --- blocks -----------------------------------------------------------------------------------


def text_object(obj: Any, reader: Reader) -> str:
    """A text object: mrkdwn is read, plain_text is shown exactly as it is."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, Mapping):
        return ""
    value = str(obj.get("text") or "")
    return mrkdwn(value, reader) if obj.get("type") == "mrkdwn" else value


def bold(text: str, reader: Reader) -> str:
    return f"\x1b[1m{text}\x1b[22m" if reader.style and text else text


def element(item: Block, reader: Reader) -> str:
    """An interactive element on one line: ``[Acknowledge]``, ``[choose: 1 — … | 2 — …]``."""
    kind = item.get("type")
    if kind == "button":
        return f"[{text_object(item.get('text'), reader)}]"
    if kind == "image":
        return f"[image: {item.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return text_object(item, reader)
    if kind == "overflow":
        labels = [text_object(o.get("text"), reader) for o in item.get("options") or []]
        return "[⋯ " + " | ".join(labels) + "]" if labels else "[⋯]"
    options = item.get("options") or [
        option for group in item.get("option_groups") or [] for option in group.get("options", [])
    ]
    if options:
        return "[choose: " + " | ".join(text_object(o.get("text"), reader) for o in options) + "]"
    if kind == "plain_text_input":
        return "[…]" if item.get("multiline") else "[____]"
    placeholder = text_object(item.get("placeholder"), reader)
    return f"[{placeholder or kind}]"


def blocks(items: Sequence[Block], reader: Reader) -> list[str]:
    """Each block as lines, in order."""
    lines: list[str] = []
    for block in items:
        kind = block.get("type")
        if kind == "header":
            lines.append(bold(text_object(block.get("text"), reader), reader))
        elif kind == "section":
            if block.get("text"):
                lines += text_object(block["text"], reader).splitlines()
            for item in block.get("fields") or []:
                first, *rest = text_object(item, reader).splitlines() or [""]
                lines += [first, *("  " + line for line in rest)]
            if block.get("accessory"):
                lines.append(element(block["accessory"], reader))
        elif kind == "context":
            parts = [element(item, reader) for item in block.get("elements") or []]
            lines += [line for part in parts if part for line in part.splitlines()]
        elif kind == "actions":
            lines.append(" ".join(element(item, reader) for item in block.get("elements") or []))
        elif kind == "divider":
            lines.append("─" * 32)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "input":
            optional = " (optional)" if block.get("optional") else ""
            label = text_object(block.get("label"), reader)
            lines.append(f"{label}{optional}: {element(block.get('element') or {}, reader)}")
            if block.get("hint"):
                lines.append("  " + text_object(block["hint"], reader))
        elif kind == "rich_text":
            lines += _rich_text(block.get("elements") or [], reader).splitlines()
        elif kind == "markdown":
            lines += str(block.get("text") or "").splitlines()
        else:
            lines.append(f"[{kind} block]")
    return lines


def _rich_text(items: Sequence[Block], reader: Reader) -> str:
    out = []
    for item in items:
        kind = item.get("type")
        if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            text = _rich_text(item.get("elements") or [], reader)
            out.append("> " + text if kind == "rich_text_quote" else text)
        elif kind == "rich_text_list":
            out.append(
                "\n".join("• " + _rich_text([e], reader) for e in item.get("elements") or [])
            )
        elif kind == "text":
            out.append(str(item.get("text", "")))
        elif kind == "user":
            out.append(token(f"@{item.get('user_id', '')}", reader))
        elif kind == "channel":
            out.append(token(f"#{item.get('channel_id', '')}", reader))
        elif kind == "usergroup":
            out.append(token(f"!subteam^{item.get('usergroup_id', '')}", reader))
        elif kind == "broadcast":
            out.append("@" + str(item.get("range", "here")))
        elif kind == "link":
            url, label = str(item.get("url", "")), item.get("text")
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "emoji":
            out.append(_emoji(item))
        elif kind == "date":
            instant = dt.datetime.fromtimestamp(int(item.get("timestamp", 0)), dt.UTC)
            out.append(date(instant, str(item.get("format", "{date_short} {time}")), reader))
    return "".join(out)


def _emoji(item: Block) -> str:
    code = str(item.get("unicode") or "")
    with contextlib.suppress(ValueError, OverflowError):
        if code:
            return "".join(chr(int(part, 16)) for part in code.split("-"))
    return f":{item.get('name', '')}:"


def message(msg: Mapping[str, Any], reader: Reader) -> list[str]:
    """A message: its blocks (the fallback ``text`` only when it has none), then any files."""
    lines = (
        blocks(msg["blocks"], reader)
        if msg.get("blocks")
        else mrkdwn(str(msg.get("text") or ""), reader).splitlines()
    )
    for attachment in msg.get("attachments") or []:
        if attachment.get("blocks"):
            lines += blocks(attachment["blocks"], reader)
        elif attachment.get("text"):
            lines += mrkdwn(str(attachment["text"]), reader).splitlines()
    for file in msg.get("files") or []:
        lines.append(f"[file: {file.get('title') or file.get('name', '')}]")
    return lines


def view(surface: Mapping[str, Any], reader: Reader) -> list[str]:
    """A modal (title, its inputs, its submit and close buttons) or the App Home tab."""
    title = text_object(surface.get("title"), reader) or (
        "Home" if surface.get("type") == "home" else "Form"
    )
    lines = [bold(title, reader), *blocks(surface.get("blocks") or [], reader)]
    actions = [
        f"[{text_object(surface[name], reader)}]"
        for name in ("submit", "close")
        if surface.get(name)
    ]
    if actions:
        lines.append(" ".join(actions))
    return lines


def buttons(msg: Mapping[str, Any]) -> list[Button]:
    """The buttons of a message, in the order they are shown."""
    found = []
    for block in msg.get("blocks") or []:
        candidates = (
            block.get("elements") or []
            if block.get("type") == "actions"
            else [block.get("accessory")]
            if block.get("type") == "section" and block.get("accessory")
            else []
        )
        for item in candidates:
            if item.get("type") == "button":
                label = item.get("text", {}).get("text", "")
                found.append(
                    Button(
                        label, item.get("action_id", ""), block.get("block_id"), item.get("value")
                    )
                )
    return found
