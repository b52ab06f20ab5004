"""Reading what people type: severities and instants. Shared by the CLI, Slack and the console.

Every refusal is a ``ValueError`` whose message says what was wrong and what is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence

import arrow

from bot.sla.calendar import as_utc

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9}
_SEVERITY_RE = re.compile(r"^(?:sev(?:erity)?[\s_-]?|[sp])?([0-9]+|[ivx]+)$")
"""``2``, ``sev2``, ``SEV-2``, ``sev_2``, ``severity 2``, ``s2``, ``p2``, ``II``: a separator
only after ``sev``/``severity``, so ``-1``, ``_1`` and ``s-2`` are no severity."""
SEVERITY_SPELLINGS = "a level such as 1, sev1, SEV-1, s1, p1 or I"


def parse_severity(text: str, names: Iterable[tuple[int, str]] = ()) -> int:
    """``1``, ``sev1``, ``SEV-2``, ``s3``, ``p1``, ``I``, ``sevII``, or a level's name (``critical``).

    ``names`` pairs each level with its name in the contracts that apply (several contracts
    may be given): a name, or its first word, is read as its level when every contract
    giving it means the same level by it; a word two contracts use for different levels
    names none (``Severity I`` and ``Severity II`` share ``severity``).
    """
    word = text.strip().lower()
    match = _SEVERITY_RE.match(word)
    if match:
        token = match.group(1)
        level = int(token) if token.isdigit() else _ROMAN.get(token)
        if level is not None and level >= 1:
            return level
    names = list(names)
    firsts = [_first_word(name) for _, name in names]
    if word:
        whole = {level for level, name in names if word == name.strip().lower()}
        first = {level for (level, _), f in zip(names, firsts, strict=True) if word == f}
        for levels in (whole, first):
            if len(levels) == 1:
                return levels.pop()
    raise ValueError(f"{text!r} is not a severity; {accepted_severities(names)}")


def accepted_severities(names: Iterable[tuple[int, str]] = ()) -> str:
    """What a severity may be: the spellings, and the names ``names`` give (one a level)."""
    names = list(names)
    firsts: dict[str, set[int]] = {}
    for level, name in names:
        firsts.setdefault(_first_word(name), set()).add(level)
    named = sorted((min(levels), word) for word, levels in firsts.items() if len(levels) == 1)
    if not named:
        return f"write {SEVERITY_SPELLINGS}"
    words = ", ".join(f"{word} ({level})" for level, word in named)
    return f"write {SEVERITY_SPELLINGS}, or a level's name: {words}"


def _first_word(name: str) -> str:
    """A level's name's first word, lower-case (``Critical — site down`` → ``critical``): a
    severity may be typed as it."""
    return re.split(r"[\s(—-]+", name.strip().lower(), maxsplit=1)[0]


# --- instants ------------------------------------------------------------------------

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_PART_RE = re.compile(r"(\d+|an?)\s*([a-z]+)")
_CLOCK_RE = re.compile(r"^(\d{1,2})[:.h](\d{2})$")
_DAY_CLOCK_RE = re.compile(r"^(today|yesterday)\s+(\d{1,2})[:.h](\d{2})$", re.IGNORECASE)
_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_WEEKDAY_CLOCK_RE = re.compile(r"^([a-z]+)\.?,?\s+(?:at\s+)?(\d{1,2})[:.h](\d{2})$", re.IGNORECASE)
_AHEAD_DAY_CLOCK_RE = re.compile(
    r"^(today|tonight|tomorrow)\s+(?:at\s+)?(\d{1,2})[:.h](\d{2})$", re.IGNORECASE
)
_IN_RE = re.compile(r"^in\s+(.+)$", re.IGNORECASE)

WHEN_FORMATS = (
    "a time ago (10 minutes ago, 1h 5m ago), a clock time in your zone (14:05, the latest "
    "one; today 09:15, yesterday 23:40, Sat 22:00), or ISO-8601 (2026-11-20T14:05, "
    "2026-11-20 14:05:00+01:00)"
)
AHEAD_FORMATS = (
    "a time from now (in 2h, in 90 minutes), a clock time in your zone (22:00, the next "
    "one; today 22:00, tomorrow 02:00, Sat 22:00, the next Saturday), or ISO-8601 "
    "(2026-11-28T22:00, 2026-11-28 22:00+01:00)"
)
"""What ``parse_ahead`` reads: the instants of something planned (maintenance)."""


def parse_ago(text: str) -> dt.timedelta | None:
    """``10 minutes ago``, ``1 hour 5 minutes ago``, ``1h5m ago``, ``an hour ago``; else ``None``.

    arrow's ``dehumanize`` refuses ``1 hour ago`` and misreads ``1 hour 5 minutes ago``,
    so the relative form is read here.
    """
    body = text.strip().lower()
    if not body.endswith(" ago") and not body.endswith("ago"):
        return None
    return parse_span(body.removesuffix("ago"))


def parse_span(text: str) -> dt.timedelta | None:
    """``16m``, ``90 seconds``, ``1h 30m``, ``an hour``, ``2 days and 3 hours``; else ``None``."""
    body = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not body:
        return None
    position, seconds, parts = 0, 0, 0
    for match in _PART_RE.finditer(body):
        if body[position : match.start()].strip():
            return None
        amount = 1 if match.group(1) in ("a", "an") else int(match.group(1))
        unit = _UNITS.get(match.group(2))
        if unit is None:
            return None
        seconds += amount * unit
        position = match.end()
        parts += 1
    if parts == 0 or body[position:].strip():
        return None
    return dt.timedelta(seconds=seconds)


def parse_when(text: str, now: dt.datetime, zone: str = "UTC") -> dt.datetime:
    """An instant in the past or present, as UTC. ``zone`` is the person's own, for ``14:05``.

    A bare clock time means its latest occurrence at or before ``now``, so ``23:50`` typed at
    00:10 is ten minutes before midnight. An ISO-8601 time without an offset is in ``zone``.
    """
    now = as_utc(now)
    raw = text.strip()
    try:
        ago = parse_ago(raw)
        if ago is not None:
            return now - ago
    except OverflowError:
        raise ValueError(f"{text!r} is too long ago; accepted: {WHEN_FORMATS}") from None
    clock = _CLOCK_RE.match(raw)
    if clock:
        hour, minute = _time_of_day(text, clock.group(1), clock.group(2))
        local_now = arrow.get(now).to(zone).datetime
        today = local_now.date()
        # Yesterday's and today's: a time in the repeated hour happens twice (fold 0 and 1),
        # one the clocks skipped (they went forward) did not happen at all.
        wall_times = [
            dt.datetime.combine(day, dt.time(hour, minute, fold=fold))
            for day in (today - dt.timedelta(days=1), today)
            for fold in (0, 1)
        ]
        instants = [_instant(wall, local_now.tzinfo) for wall in wall_times]
        return max(i for i in instants if i is not None and i <= now)
    day_clock = _DAY_CLOCK_RE.match(raw)
    if day_clock:
        hour, minute = _time_of_day(text, day_clock.group(2), day_clock.group(3))
        local_now = arrow.get(now).to(zone).datetime
        back = 1 if day_clock.group(1).lower() == "yesterday" else 0
        wall = dt.datetime.combine(
            local_now.date() - dt.timedelta(days=back), dt.time(hour, minute)
        )
        instant = _instant(wall, local_now.tzinfo)  # the repeated hour: its first occurrence
        if instant is None:
            raise ValueError(f"{text!r} did not happen in {zone}: the clocks went forward then")
        return instant
    weekday = _weekday_clock(raw)
    if weekday is not None:
        day, hour, minute = weekday
        hour, minute = _time_of_day(text, hour, minute)
        local_now = arrow.get(now).to(zone).datetime
        back = (local_now.weekday() - day) % 7
        for days in (back, back + 7):  # this week's, else (still to come today) last week's
            wall = dt.datetime.combine(
                local_now.date() - dt.timedelta(days=days), dt.time(hour, minute)
            )
            instant = _instant(wall, local_now.tzinfo)
            if instant is None:
                raise ValueError(f"{text!r} did not happen in {zone}: the clocks went forward then")
            if instant <= now:
                return instant
    if raw.lower() == "now":
        return now
    try:
        return _iso(raw, zone)
    except ValueError:
        raise ValueError(f"{text!r} is not a time; accepted: {WHEN_FORMATS}") from None


def parse_ahead(
    text: str, now: dt.datetime, zone: str = "UTC", *, after: dt.datetime | None = None
) -> dt.datetime:
    """An instant of something planned, as UTC: ``in 2h``, ``tomorrow 02:00``, ``Sat 22:00``,
    ``22:00`` or ISO-8601, read in ``zone`` (the person's own).

    A bare clock time or a weekday means its next occurrence at or after ``after`` (default
    ``now``): the end of a window typed as ``04:00`` is the first 04:00 after its start. A
    wall time the clocks pass twice is its first occurrence; one they skip is refused. ISO
    times are taken as written, past or future (the caller decides what it allows).
    """
    now = as_utc(now)
    reference = as_utc(after) if after is not None else now
    raw = text.strip()
    ahead = _IN_RE.match(raw)
    if ahead:
        try:
            span = parse_span(ahead.group(1))
            if span is None:
                raise ValueError(f"{text!r} is not a time; accepted: {AHEAD_FORMATS}")
            return now + span
        except OverflowError:
            raise ValueError(f"{text!r} is too far ahead; accepted: {AHEAD_FORMATS}") from None
    if raw.lower() == "now":
        return now
    local_ref = arrow.get(reference).to(zone).datetime
    clock = _CLOCK_RE.match(raw)
    day_clock = _AHEAD_DAY_CLOCK_RE.match(raw)
    weekday = _weekday_clock(raw)
    if clock:
        hour, minute = _time_of_day(text, clock.group(1), clock.group(2), AHEAD_FORMATS)
        days: tuple[int, ...] = (0, 1, 2)  # today's, tomorrow's (or the next that happens)
        start = local_ref.date()
    elif day_clock:
        hour, minute = _time_of_day(text, day_clock.group(2), day_clock.group(3), AHEAD_FORMATS)
        later = 1 if day_clock.group(1).lower() == "tomorrow" else 0
        start = arrow.get(now).to(zone).date() + dt.timedelta(days=later)
        days = (0,)
    elif weekday is not None:
        day, hour_text, minute_text = weekday
        hour, minute = _time_of_day(text, hour_text, minute_text, AHEAD_FORMATS)
        start = local_ref.date() + dt.timedelta(days=(day - local_ref.weekday()) % 7)
        days = (0, 7)  # this week's, else (already past today) next week's
    else:
        try:
            return _iso(raw, zone)
        except ValueError:
            raise ValueError(f"{text!r} is not a time; accepted: {AHEAD_FORMATS}") from None
    for offset in days:
        wall = dt.datetime.combine(start + dt.timedelta(days=offset), dt.time(hour, minute))
        instant = _instant(wall, local_ref.tzinfo)  # the repeated hour: its first occurrence
        if instant is not None and (instant >= reference or len(days) == 1):
            return instant
    raise ValueError(f"{text!r} does not happen in {zone}: the clocks go forward then")


def _weekday_clock(raw: str) -> tuple[int, str, str] | None:
    """``Sat 22:00``, ``saturday at 9:30``: the weekday (Monday 0) and the clock time typed."""
    match = _WEEKDAY_CLOCK_RE.match(raw)
    if not match or match.group(1).lower() not in _WEEKDAYS:
        return None
    return _WEEKDAYS[match.group(1).lower()], match.group(2), match.group(3)


def _time_of_day(text: str, hour: str, minute: str, formats: str = WHEN_FORMATS) -> tuple[int, int]:
    if int(hour) > 23 or int(minute) > 59:
        raise ValueError(f"{text!r} is not a time of day; accepted: {formats}")
    return int(hour), int(minute)


def _instant(wall: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime | None:
    """Local wall time as UTC; ``None`` for one the clocks skipped."""
    instant = wall.replace(tzinfo=tz).astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None, fold=0) != wall.replace(fold=0):
        return None
    return instant


def split_when(
    words: Sequence[str], parse: Callable[[str, dt.datetime], dt.datetime] | None = None
) -> tuple[str, list[str]] | None:
    """The longest leading run of ``words`` (at most five) that is a time ``parse_when``
    (or ``parse``, e.g. ``parse_ahead``) reads, and the words after it: ``["20:00",
    "Replaced", "the", "node"]`` → ``("20:00", ["Replaced", "the", "node"])``; ``None`` when
    no run is one. The syntax does not depend on the zone or the instant, so it is read
    against a fixed one."""
    read = parse or parse_when
    for length in range(min(len(words), 5), 0, -1):
        candidate = " ".join(words[:length])
        try:
            read(candidate, _REFERENCE)
        except ValueError:
            continue
        return candidate, list(words[length:])
    return None


_REFERENCE = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _iso(text: str, zone: str) -> dt.datetime:
    """ISO-8601 as UTC; a time without an offset (or a bare date) is wall time in ``zone``.

    (``arrow.get(text, tzinfo=…)`` would replace an offset the text gives, so the zone is
    only applied when the parser found none: it returns a naive datetime then.)
    """
    try:
        parsed = arrow.parser.DateTimeParser().parse_iso(text)
    except (arrow.parser.ParserError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    local = arrow.Arrow.fromdatetime(parsed, tzinfo=parsed.tzinfo or zone)
    try:
        return local.to("UTC").datetime
    except OverflowError as exc:  # 9999-12-31T23:00-05:00 is past the last UTC year
        raise ValueError(str(exc)) from None


def parse_instant(text: str, zone: str = "UTC") -> dt.datetime:
    """An ISO-8601 instant (no offset: wall time in ``zone``), as UTC, past or future."""
    try:
        return _iso(text, zone)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 time; write e.g. 2026-11-20T16:30 or 2026-11-20T16:30+01:00"
        ) from None
