"""The slash-command language, parsed into plain values. Pure: no Slack, no database.

```
/incident                                   opens the declare modal
/incident declare <sev> <title…> [for <customer>[,<customer>…]] [outage] [started <when>]
/incident ack [at <when>] | update <text…> | severity <sev> | pause <reason…> | resume
/incident restore [at <when>] | resolve [at <when>] [<summary…>] | status | list | help
/incident timeline [page <n>]
/incident started <when> | outage yes|no | impact <pct> | customers add|remove <id…> | all
/incident exclude <reason…> | include | reopen [<reason…>]
/sla report [<YYYY-MM>|<YYYY>] [<customer>] [csv]
/sla statement <customer> [<YYYY-MM>|<YYYY>] [pdf|html|md]
/sla maintenance <start> <end> <title…> [for <customer>…]
/sla maintenance list [<customer>] | cancel <MW-n> [<reason…>] | move <MW-n> <start> <end> [<reason…>]
/sla customers | policies | help
```

Each command parses into one small frozen value (``IncidentCommand``, ``SlaCommand``) that
the listeners and handlers dispatch on with ``match``.

Every incident verb may name its incident first (``/incident ack INC-7``); inside an incident
channel it acts on that channel's incident. A title that contains one of the clause words
(``for``, ``outage``, ``started``) can be quoted: ``/incident declare 2 "Payments down for EU"``.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, TypeVar

from bot.parse import AHEAD_FORMATS, WHEN_FORMATS, parse_ahead, parse_severity, split_when
from bot.reports.service import PERIOD_FORMATS, PERIOD_RE
from bot.slack.mrkdwn import decode

INCIDENT_USAGE = (
    """\
`/incident` — open the declare form
`/incident declare <sev> <title…> [for <customer>,…] [outage] [started <when>]`
`/incident ack [at <when>]` · `update <text…>` · `severity <sev>` · `pause <reason…>` · `resume`
`/incident restore [at <when>]` · `resolve [at <when>] [<summary…>]` · `status` · `list` · `help`
`/incident timeline [page <n>]` — who did what, when (only you see it)
Correct the record: `/incident started <when>` · `outage yes|no` · `impact <pct>` · \
`customers add|remove <id…>` · `customers all` · `exclude <reason…>` · `include` · `reopen [<reason…>]`
(`ack`/`restore`/`resolve at <when>` also correct a time already recorded; the card's ⋯ menu has a form)
Inside an incident channel the commands act on its incident; elsewhere name it: `/incident ack INC-7`.
<when>: """
    + WHEN_FORMATS
)

SLA_USAGE = (
    """\
`/sla report [<YYYY-MM>|<YYYY>] [<customer>] [csv]` — uptime, credits and budget
`/sla statement <customer> [<YYYY-MM>|<YYYY>] [pdf|html|md]` — a customer's SLA statement, by DM (managers)
`/sla maintenance <start> <end> <title…> [for <customer>,…]` — announce maintenance (admins)
`/sla maintenance list [<customer>]` — upcoming and recent windows, and whether each contract excludes them
`/sla maintenance cancel <MW-n> [<reason…>]` · `move <MW-n> <start> <end> [<reason…>]` (admins)
`/sla customers` · `/sla policies` · `/sla help`
<start>/<end>: """
    + AHEAD_FORMATS
)


class IncidentVerb(StrEnum):
    """The ``/incident`` verbs, as typed (``_ALIASES`` maps other spellings onto them).

    The verbs that change an incident are also the ``callback_id``s of their forms, and each
    of the card's buttons (``blocks.ActionId``) does one of them."""

    DECLARE = "declare"
    ACK = "ack"
    UPDATE = "update"
    SEVERITY = "severity"
    PAUSE = "pause"
    RESUME = "resume"
    RESTORE = "restore"
    RESOLVE = "resolve"
    STATUS = "status"
    TIMELINE = "timeline"
    LIST = "list"
    HELP = "help"
    STARTED = "started"
    OUTAGE = "outage"
    IMPACT = "impact"
    CUSTOMERS = "customers"
    EXCLUDE = "exclude"
    INCLUDE = "include"
    REOPEN = "reopen"
    CORRECT = "correct"
    """The "Correct the record" form (the card's ⋯ menu), which corrects several facts at once."""


CORRECTIONS = (
    IncidentVerb.STARTED, IncidentVerb.OUTAGE, IncidentVerb.IMPACT, IncidentVerb.CUSTOMERS,
    IncidentVerb.EXCLUDE, IncidentVerb.INCLUDE, IncidentVerb.REOPEN,
)  # fmt: skip
"""The verbs that correct the record (``Correct``)."""


class SlaVerb(StrEnum):
    REPORT = "report"
    STATEMENT = "statement"
    MAINTENANCE = "maintenance"
    CUSTOMERS = "customers"
    POLICIES = "policies"
    HELP = "help"


_ALIASES = {
    "acknowledge": "ack", "new": "declare", "open": "declare", "sev": "severity",
    "regrade": "severity", "unpause": "resume", "restored": "restore", "close": "resolve",
    "resolved": "resolve", "info": "status", "ls": "list", "?": "help", "report": "report",
    "maint": "maintenance", "start": "started", "unexclude": "include", "re-open": "reopen",
    "history": "timeline",
}  # fmt: skip
_REF = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9-]*$")


class UsageError(ValueError):
    """What was wrong with the command text, and what is accepted."""


# --- /incident ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Declare:
    """``/incident declare …`` (or the declare form, submitted)."""

    severity: int
    title: str
    customers: tuple[str, ...] = ()
    outage: bool = False
    started: str | None = None
    verb: ClassVar[IncidentVerb] = IncidentVerb.DECLARE


@dataclass(frozen=True)
class OpenDeclareForm:
    """``/incident`` alone: open the declare form."""

    verb: ClassVar[IncidentVerb] = IncidentVerb.DECLARE


@dataclass(frozen=True)
class Change:
    """A verb that changes one incident: ack, update, severity, pause, resume, restore or
    resolve. ``ref`` is the incident named in the command, if any (else the channel's);
    ``text`` is an update, a pause's reason or a resolution's summary."""

    verb: IncidentVerb
    ref: str | None = None
    text: str = ""
    severity: int | None = None
    """The new severity (``severity``)."""
    at: str | None = None
    """``ack``, ``restore``, ``resolve``: when it happened, as typed (``at 20:00``)."""


@dataclass(frozen=True)
class Correct:
    """A verb that corrects the record: started, outage, impact, customers, exclude, include,
    reopen. ``text`` is an exclusion's or a reopening's reason."""

    verb: IncidentVerb
    ref: str | None = None
    when: str | None = None
    """``started``: the time, as typed."""
    outage: bool | None = None
    impact_pct: float | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    every_customer: bool = False
    """``customers all``: the incident affects every customer."""
    text: str = ""


@dataclass(frozen=True)
class Status:
    """``/incident status [INC-n]``: the incident's card."""

    ref: str | None = None
    verb: ClassVar[IncidentVerb] = IncidentVerb.STATUS


@dataclass(frozen=True)
class Timeline:
    """``/incident timeline [INC-n] [page <n>]``: the incident's timeline, a page at a time
    (``None``: the newest page)."""

    ref: str | None = None
    page: int | None = None
    verb: ClassVar[IncidentVerb] = IncidentVerb.TIMELINE


@dataclass(frozen=True)
class ListIncidents:
    """``/incident list``: the open incidents."""

    verb: ClassVar[IncidentVerb] = IncidentVerb.LIST


@dataclass(frozen=True)
class IncidentHelp:
    verb: ClassVar[IncidentVerb] = IncidentVerb.HELP


IncidentCommand = (
    Declare | OpenDeclareForm | Change | Correct | Status | Timeline | ListIncidents | IncidentHelp
)


# --- /sla --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    period: str | None = None
    customer: str | None = None
    csv: bool = False
    verb: ClassVar[SlaVerb] = SlaVerb.REPORT


@dataclass(frozen=True)
class Statement:
    """``/sla statement <customer> [period] [format]``: the customer's SLA statement as a file."""

    customer: str
    period: str | None = None
    format: str = "pdf"
    verb: ClassVar[SlaVerb] = SlaVerb.STATEMENT


@dataclass(frozen=True)
class Maintenance:
    """``/sla maintenance <start> <end> <title…> [for …]``: announce a window (times as typed)."""

    start: str
    end: str
    title: str
    customers: tuple[str, ...] = field(default_factory=tuple)
    verb: ClassVar[SlaVerb] = SlaVerb.MAINTENANCE


@dataclass(frozen=True)
class MaintenanceList:
    """``/sla maintenance list [<customer>]``."""

    customer: str | None = None
    verb: ClassVar[SlaVerb] = SlaVerb.MAINTENANCE


@dataclass(frozen=True)
class MaintenanceCancel:
    """``/sla maintenance cancel <MW-n> [<reason…>]``."""

    ref: str
    reason: str = ""
    verb: ClassVar[SlaVerb] = SlaVerb.MAINTENANCE


@dataclass(frozen=True)
class MaintenanceMove:
    """``/sla maintenance move <MW-n> <start> <end> [<reason…>]`` (times as typed)."""

    ref: str
    start: str
    end: str
    reason: str = ""
    verb: ClassVar[SlaVerb] = SlaVerb.MAINTENANCE


@dataclass(frozen=True)
class Customers:
    verb: ClassVar[SlaVerb] = SlaVerb.CUSTOMERS


@dataclass(frozen=True)
class Policies:
    verb: ClassVar[SlaVerb] = SlaVerb.POLICIES


@dataclass(frozen=True)
class SlaHelp:
    verb: ClassVar[SlaVerb] = SlaVerb.HELP


SlaCommand = (
    Report
    | Statement
    | Maintenance
    | MaintenanceList
    | MaintenanceCancel
    | MaintenanceMove
    | Customers
    | Policies
    | SlaHelp
)


Verb = TypeVar("Verb", IncidentVerb, SlaVerb)


def _verb(word: str, verbs: type[Verb], usage: str, command: str) -> Verb:
    word = word.lower()
    word = _ALIASES.get(word, word)
    known = set(verbs)
    if word in known:
        return verbs(word)
    spellings = [*verbs, *(alias for alias, verb in _ALIASES.items() if verb in known)]
    close = difflib.get_close_matches(word, spellings, n=1, cutoff=0.6)
    hint = f" Did you mean `{command} {_ALIASES.get(close[0], close[0])}`?" if close else ""
    raise UsageError(f"`{word}` is not a `{command}` command.{hint}\n{usage}")


def parse_incident(text: str, severity_names: Iterable[tuple[int, str]] = ()) -> IncidentCommand:
    """``/incident`` text → one ``IncidentCommand``, or a ``UsageError`` that says why not."""
    text = decode(text or "").strip()
    if not text:
        return OpenDeclareForm()
    head, _, rest = text.partition(" ")
    rest = rest.strip()
    verb = _verb(head, IncidentVerb, INCIDENT_USAGE, "/incident")
    if verb is IncidentVerb.DECLARE:
        return _declare(rest, list(severity_names))
    ref = None
    first, _, after = rest.partition(" ")
    if first and _REF.match(first):
        ref, rest = first.upper(), after.strip()
    if verb in CORRECTIONS:
        return _correct(verb, ref, rest)
    match verb:
        case IncidentVerb.ACK | IncidentVerb.RESTORE if rest:
            return Change(verb, ref, at=_at(verb, rest))
        case IncidentVerb.RESOLVE if rest:
            when, summary = _resolve_at(rest)
            return Change(verb, ref, text=summary, at=when)
        case IncidentVerb.CORRECT:
            raise UsageError(
                "corrections are `/incident started <when>`, `ack|restore|resolve at <when>`, "
                "`outage yes|no`, `impact <pct>`, `customers add|remove <id…>`, "
                "`exclude <reason…>`, `include`, `reopen`; the card's ⋯ menu has a form"
            )
        case IncidentVerb.SEVERITY:
            if not rest:
                raise UsageError(
                    "say which severity: `/incident severity 2` (1, sev1, I, critical…)"
                )
            try:
                level = parse_severity(rest.split()[0], severity_names)
            except ValueError as exc:
                raise UsageError(f"{exc}. {_levels(severity_names)}") from None
            return Change(verb, ref, severity=level)
        case IncidentVerb.UPDATE if not rest:
            raise UsageError("an update needs text: `/incident update Rolled back the deploy`")
        case IncidentVerb.PAUSE if not rest:
            raise UsageError(
                "a pause needs a reason: `/incident pause waiting for the customer's logs`"
            )
        case IncidentVerb.UPDATE | IncidentVerb.PAUSE | IncidentVerb.RESOLVE:
            return Change(verb, ref, text=rest)
        case IncidentVerb.TIMELINE:
            return Timeline(ref, _page(rest))
    if rest:
        raise UsageError(f"`/incident {verb}` takes no text (got `{rest}`).\n{INCIDENT_USAGE}")
    match verb:
        case IncidentVerb.STATUS:
            return Status(ref)
        case IncidentVerb.LIST:
            return ListIncidents()
        case IncidentVerb.HELP:
            return IncidentHelp()
    return Change(verb, ref)


def _page(rest: str) -> int | None:
    """``page 2``, ``2``, or nothing (the newest page)."""
    words = rest.lower().split()
    if words[:1] == ["page"]:
        words = words[1:]
    if not words:
        return None
    if len(words) == 1 and words[0].isascii() and words[0].isdigit() and int(words[0]) >= 1:
        return int(words[0])
    raise UsageError(
        f"`/incident timeline` takes a page number (got `{rest}`): `/incident timeline page 2`"
    )


def _at(verb: IncidentVerb, rest: str) -> str:
    """``ack at 20:00``, ``restore 10 minutes ago``: the time, as typed (``at`` optional)."""
    words = rest.split()
    if words and words[0].lower() == "at":
        words = words[1:]
    found = split_when(words)
    if found is None or found[1]:
        raise UsageError(
            f"`/incident {verb}` takes no text (got `{rest}`), only a time: "
            f"`/incident {verb} at 20:00`. <when>: {WHEN_FORMATS}"
        )
    return found[0]


def _resolve_at(rest: str) -> tuple[str | None, str]:
    """``resolve at 20:00 Replaced the node`` → the time and the summary; without ``at``,
    the text is the summary unless all of it is a time (``resolve 10 minutes ago``)."""
    words = rest.split()
    if words and words[0].lower() == "at":
        found = split_when(words[1:])
        if found is None:
            raise UsageError(
                f"`at` needs a time: `/incident resolve at 20:00 <summary…>`. <when>: {WHEN_FORMATS}"
            )
        return found[0], " ".join(found[1])
    found = split_when(words)
    if found is not None and not found[1]:
        return found[0], ""
    return None, rest


_YES = {"yes": True, "y": True, "on": True, "true": True, "no": False, "n": False, "off": False,
        "false": False}  # fmt: skip


def _correct(verb: IncidentVerb, ref: str | None, rest: str) -> Correct:
    words = rest.split()
    match verb:
        case IncidentVerb.STARTED:
            if words and words[0].lower() == "at":
                words = words[1:]
            found = split_when(words)
            if found is None or found[1]:
                raise UsageError(
                    f"say when it started: `/incident started 20:00`. <when>: {WHEN_FORMATS}"
                )
            return Correct(verb, ref, when=found[0])
        case IncidentVerb.OUTAGE:
            if len(words) != 1 or words[0].lower() not in _YES:
                raise UsageError(
                    "say whether the service was down: `/incident outage yes` (it counts "
                    "against uptime) or `/incident outage no`"
                )
            return Correct(verb, ref, outage=_YES[words[0].lower()])
        case IncidentVerb.IMPACT:
            return Correct(verb, ref, impact_pct=_impact(rest))
        case IncidentVerb.CUSTOMERS:
            return _customers(ref, words)
        case IncidentVerb.EXCLUDE if not rest:
            raise UsageError(
                "an exclusion needs a reason: `/incident exclude customer's own network`"
            )
        case IncidentVerb.INCLUDE if rest:
            raise UsageError(f"`/incident include` takes no text (got `{rest}`)")
    return Correct(verb, ref, text=rest)


def _impact(rest: str) -> float | None:
    usage = (
        "give the share of traffic affected: `/incident impact 25` (0 < impact ≤ 100), or `unknown`"
    )
    text = rest.strip().removesuffix("%").strip()
    if text.lower() in ("unknown", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"`{rest}` is not a percentage; {usage}") from None
    if not 0 < value <= 100:
        raise UsageError(f"{value:g} % is not a share of traffic; {usage}")
    return value


def _customers(ref: str | None, words: list[str]) -> Correct:
    usage = (
        "`/incident customers add acme, globex`, `/incident customers remove acme`, or "
        "`/incident customers all` (every customer is affected)"
    )
    if not words:
        raise UsageError(f"say which customers: {usage}")
    action, names = words[0].lower(), " ".join(words[1:])
    if action == "all" and not names:
        return Correct(IncidentVerb.CUSTOMERS, ref, every_customer=True)
    if action not in ("add", "remove") or not names.strip():
        raise UsageError(f"say which customers to add or remove: {usage}")
    # Commas separate names that have spaces ("Acme Retail Inc., globex"); else spaces do.
    parts = names.split(",") if "," in names else names.split()
    found = tuple(p.strip() for p in parts if p.strip())
    if not found:
        raise UsageError(f"say which customers to {action}: {usage}")
    if action == "add":
        return Correct(IncidentVerb.CUSTOMERS, ref, add=found)
    return Correct(IncidentVerb.CUSTOMERS, ref, remove=found)


def _declare(rest: str, severity_names: list[tuple[int, str]]) -> Declare:
    usage = "`/incident declare <sev> <title…> [for <customer>,…] [outage] [started <when>]`"
    if not rest:
        raise UsageError(f"say the severity and what is broken: {usage}")
    sev_word, _, body = rest.partition(" ")
    try:
        severity = parse_severity(sev_word, severity_names)
    except ValueError as exc:
        raise UsageError(f"{exc}. {_levels(severity_names)}\nUsage: {usage}") from None
    body = body.strip()
    title, clauses = _split_title(body)
    if not title:
        raise UsageError(f"a title is required: say what is broken. Usage: {usage}")
    return Declare(severity, title, **clauses)


def _levels(severity_names: Iterable[tuple[int, str]]) -> str:
    """The levels the contracts have, for a reply to a severity that is none of them."""
    levels = "; ".join(f"{level} ({name})" for level, name in severity_names)
    return f"The contracts' levels: {levels}." if levels else ""


_CLAUSE_WORDS = ("for", "outage", "started")


def _split_title(body: str) -> tuple[str, dict]:
    """The title and the trailing clauses: the earliest clause word after which all parses."""
    if body.startswith(('"', "“")):
        closing = body.find('"' if body[0] == '"' else "”", 1)
        if closing == -1:
            raise UsageError('the quoted title has no closing quote: `"Payments down for EU"`')
        return body[1:closing].strip(), _clauses(body[closing + 1 :].split())
    words = body.split()
    for index, word in enumerate(words):
        if index and word.lower() in _CLAUSE_WORDS:
            try:
                return " ".join(words[:index]), _clauses(words[index:])
            except UsageError:
                if index == _last_clause_start(words):
                    raise
    return body, {}


def _last_clause_start(words: list[str]) -> int:
    return max((i for i, w in enumerate(words) if i and w.lower() in _CLAUSE_WORDS), default=-1)


def _clauses(words: list[str]) -> dict:
    found: dict = {}
    index = 0
    while index < len(words):
        word = words[index].lower()
        if word == "outage" and "outage" not in found:
            found["outage"] = True
            index += 1
        elif word == "for" and "customers" not in found:
            # Names are separated by commas ("acme,globex" or "acme, globex"), so "for EU
            # users" is not a customer list.
            names: list[str] = []
            index += 1
            joined = True
            while index < len(words) and words[index].lower() not in _CLAUSE_WORDS and joined:
                word_ = words[index]
                names.extend(n for n in word_.split(",") if n)
                joined = word_.endswith(",") or (
                    index + 1 < len(words) and words[index + 1].startswith(",")
                )
                index += 1
            if not names:
                raise UsageError("`for` needs customers: `for acme` or `for acme,globex`")
            found["customers"] = tuple(names)
        elif word == "started" and "started" not in found:
            index += 1
            when: list[str] = []
            while index < len(words) and words[index].lower() not in ("for", "outage"):
                when.append(words[index])
                index += 1
            if not when:
                raise UsageError(f"`started` needs a time: {WHEN_FORMATS}")
            found["started"] = " ".join(when)
        else:
            raise UsageError(
                f"`{words[index]}` is not understood here: after the title come `for <customer>,…`, "
                "`outage` and `started <when>`. To use these words in the title, quote it: "
                '`/incident declare 2 "Payments down for EU users"`'
            )
    return found


def parse_sla(text: str) -> SlaCommand:
    """``/sla`` text → one ``SlaCommand``, or a ``UsageError`` that says why not."""
    text = decode(text or "").strip()
    if not text:
        return SlaHelp()
    head, _, rest = text.partition(" ")
    verb = _verb(head, SlaVerb, SLA_USAGE, "/sla")
    rest = rest.strip()
    match verb:
        case SlaVerb.REPORT:
            return _report(rest)
        case SlaVerb.STATEMENT:
            return _statement(rest)
        case SlaVerb.MAINTENANCE:
            return _maintenance(rest)
    if rest:
        raise UsageError(f"`/sla {verb}` takes no text (got `{rest}`).\n{SLA_USAGE}")
    match verb:
        case SlaVerb.CUSTOMERS:
            return Customers()
        case SlaVerb.POLICIES:
            return Policies()
    return SlaHelp()


REPORT_USAGE = (
    "`/sla report [<YYYY-MM>|<YYYY>] [<customer>] [csv]`, e.g. `/sla report 2026-10`, "
    "`/sla report 2026 acme csv`; no period means this month"
)
_PERIOD_LIKE = re.compile(r"^(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{4})$")


def _report(rest: str) -> Report:
    """``[period] [customer…] [csv]`` in any order; a customer's name may have spaces."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    period = None
    csv = False
    customer: list[str] = []
    for word in words:
        if PERIOD_RE.match(word):
            if period is not None:
                raise UsageError(f"give one period, not `{period}` and `{word}`: {REPORT_USAGE}")
            period = word
        elif _PERIOD_LIKE.match(word):
            raise UsageError(f"`{word}` is not a period: write {PERIOD_FORMATS}. {REPORT_USAGE}")
        elif word.lower() == "csv":
            csv = True
        else:
            customer.append(word)
    return Report(period, " ".join(customer) or None, csv)


STATEMENT_USAGE = (
    "`/sla statement <customer> [<YYYY-MM>|<YYYY>] [pdf|html|md]`, e.g. "
    "`/sla statement acme 2026-10`; no period means last month, no format a PDF"
)
STATEMENT_FORMATS = ("pdf", "html", "md")


def _statement(rest: str) -> Statement:
    """``<customer…> [period] [format]`` in any order; a customer's name may have spaces."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    period, output = None, None
    customer: list[str] = []
    for word in words:
        if PERIOD_RE.match(word):
            if period is not None:
                raise UsageError(f"give one period, not `{period}` and `{word}`: {STATEMENT_USAGE}")
            period = word
        elif _PERIOD_LIKE.match(word):
            raise UsageError(f"`{word}` is not a period: write {PERIOD_FORMATS}. {STATEMENT_USAGE}")
        elif word.lower() in STATEMENT_FORMATS or word.lower() == "markdown":
            if output is not None:
                raise UsageError(f"give one format, not `{output}` and `{word}`: {STATEMENT_USAGE}")
            output = "md" if word.lower() == "markdown" else word.lower()
        else:
            customer.append(word)
    if not customer:
        raise UsageError(f"say whose statement: {STATEMENT_USAGE}")
    return Statement(" ".join(customer), period, output or "pdf")


MAINTENANCE_USAGE = (
    "`/sla maintenance <start> <end> <title…> [for <customer>,…]`, e.g. "
    "`/sla maintenance Sat 22:00 23:30 Database upgrade for acme`; "
    "`/sla maintenance list [<customer>]`, `cancel <MW-n> [<reason…>]`, "
    "`move <MW-n> <start> <end> [<reason…>]`. <start>/<end>: " + AHEAD_FORMATS
)


def _maintenance(rest: str) -> Maintenance | MaintenanceList | MaintenanceCancel | MaintenanceMove:
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    head = words[0].lower() if words else ""
    if head == "list":
        return MaintenanceList(" ".join(words[1:]) or None)
    if head in ("cancel", "move"):
        if len(words) < 2 or not _REF.match(words[1]):
            raise UsageError(
                f"say which window: `/sla maintenance {head} MW-1`. {MAINTENANCE_USAGE}"
            )
        ref = words[1].upper()
        if head == "cancel":
            return MaintenanceCancel(ref, " ".join(words[2:]))
        start, end, after = _window(words[2:], f"give {ref} a new start and end")
        return MaintenanceMove(ref, start, end, " ".join(after))
    needed = "give a start, an end and a title"
    if not words:
        raise UsageError(f"{needed}: {MAINTENANCE_USAGE}")
    start, end, body = _window(words, needed)
    if not body:
        raise UsageError(f"{needed}: {MAINTENANCE_USAGE}")
    customers: tuple[str, ...] = ()
    if "for" in [w.lower() for w in body]:
        at = [w.lower() for w in body].index("for")
        names = [n for w in body[at + 1 :] for n in w.split(",") if n]
        if not names:
            raise UsageError(f"`for` needs customers: {MAINTENANCE_USAGE}")
        body, customers = body[:at], tuple(names)
    title = " ".join(body).strip()
    if not title:
        raise UsageError(f"a title is required: {MAINTENANCE_USAGE}")
    return Maintenance(start, end, title, customers)


def _window(words: list[str], needed: str) -> tuple[str, str, list[str]]:
    """The start and end at the head of ``words`` (``tomorrow 02:00 04:00 …``), and the rest.
    ``needed`` says what the command needs, for a refusal of too few words."""
    start = split_when(words, parse_ahead)
    if not words:
        raise UsageError(f"{needed}: {MAINTENANCE_USAGE}")
    if start is None:
        raise UsageError(
            f"a window begins with its start; {words[0]!r} is not a time. {MAINTENANCE_USAGE}"
        )
    if not start[1]:
        raise UsageError(f"{needed}: {MAINTENANCE_USAGE}")
    end = split_when(start[1], parse_ahead)
    if end is None:
        raise UsageError(
            f"after the start ({start[0]}) comes the end; {start[1][0]!r} is not a time. "
            + MAINTENANCE_USAGE
        )
    return start[0], end[0], end[1]
