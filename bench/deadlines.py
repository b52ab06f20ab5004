"""Benchmark: deadlines per second for each seed policy, beside pandas' CustomBusinessHour.

    python3 dev.py bench deadlines                      # 10,000 cases per policy
    .venv/bin/python bench/deadlines.py --cases 2000    # smaller, while developing

For each seed policy it draws ``--cases`` random cases (fixed ``--seed``): a start instant
in 2026–2028 to the second, a severity the policy has, and one of that severity's timers
that has a target; Dixa's cases are spread over customers in Copenhagen, New York and
Sydney (``timezone: customer``). Each case's deadline is computed twice:

- by slabot's engine: ``bot.sla.timers.due_at(rule, start)``;
- by pandas: ``Timestamp(start in the calendar's zone) + CustomBusinessHour(n=hours, start=
  open, end=close, weekmask=…, holidays=…)`` for a business-clock target (holidays from the
  same ``holidays`` package), and ``+ Timedelta`` for a 24x7 target (CustomBusinessHour
  cannot express a clock that never closes: its windows may not touch).

Only the deadline arithmetic is timed: the offsets and pandas Timestamps are built before
the clock starts (which favours pandas). slabot is timed cold (fresh calendars: every
day's window computed for the first time) and warm (best of ``--repeat``); pandas best of
``--repeat``. It then counts how many cases the two agree on, to the nanosecond, and
explains each disagreement it can classify; then it runs a few hand-picked cases where the
contract's reading and pandas' differ.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    import pandas as pd
    from pandas.tseries.offsets import CustomBusinessHour
except ImportError:  # pragma: no cover - the bench extra installs it
    sys.exit("bench/deadlines.py needs pandas: run it as `python3 dev.py bench deadlines`")

from bot.sla.calendar import BusinessCalendar, calendar_for, holiday_dates  # noqa: E402
from bot.sla.contract import Contract  # noqa: E402
from bot.sla.timers import TimerKind, TimerRule, due_at  # noqa: E402
from config.contracts import SHIPPED_POLICIES_DIR, load_policies, policy_files  # noqa: E402
from config.policy import ClockKind  # noqa: E402

UTC = dt.UTC
FIRST = dt.datetime(2026, 1, 1, tzinfo=UTC)
SECONDS = int((dt.datetime(2029, 1, 1, tzinfo=UTC) - FIRST).total_seconds())
HOLIDAY_YEARS = range(2026, 2031)  # starts in 2026–2028 plus 7 business days of reach
POLICY_ZONES = {
    "dixa": ("Europe/Copenhagen", "America/New_York", "Australia/Sydney"),
    "messaging-platform": (None,),
    "diplomasafe": (None,),
}
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Case:
    contract: Contract
    rule: TimerRule
    start: dt.datetime


def contracts_of(policies, name: str) -> list[Contract]:
    """Fresh contracts (their calendars are built again, with empty window caches)."""
    policy = policies[name]
    return [
        Contract.of_deployment(policy) if zone is None else Contract(policy=policy, zone=zone)
        for zone in POLICY_ZONES[name]
    ]


def draw_cases(contracts: list[Contract], count: int, rng: random.Random) -> list[Case]:
    options = []
    for contract in contracts:
        levels = contract.policy.levels or (1,)
        for level in levels:
            for kind in TimerKind:
                rule = contract.rule(kind, level)
                if rule is not None:
                    options.append((contract, rule))
    cases = []
    for _ in range(count):
        contract, rule = rng.choice(options)
        start = FIRST + dt.timedelta(seconds=rng.randrange(SECONDS))
        cases.append(Case(contract, rule, start))
    return cases


# --- pandas ---------------------------------------------------------------------------------


def pandas_offset(rule: TimerRule, calendar: BusinessCalendar):
    """The pandas offset that adds ``rule``'s target, the way a pandas user would write it."""
    length = rule.length
    if rule.clock.kind is ClockKind.WALL:
        return pd.Timedelta(length)
    hours, rest = divmod(length, dt.timedelta(hours=1))
    if rest or calendar.closes is None:
        raise ValueError(f"{rule.describe()}: CustomBusinessHour adds whole hours in a window")
    holidays = sorted(
        {
            day
            for year in HOLIDAY_YEARS
            for day in (
                holiday_dates(calendar.holiday_country, calendar.holiday_subdivision, year)
                if calendar.holiday_country
                else ()
            )
        }
        | set(calendar.extra_holidays)
    )
    return CustomBusinessHour(
        n=hours,
        start=calendar.opens.strftime("%H:%M"),
        end=calendar.closes.strftime("%H:%M"),
        weekmask=" ".join(WEEKDAY_NAMES[d] for d in sorted(calendar.weekdays)),
        holidays=holidays,
    )


def pandas_inputs(cases: list[Case]) -> list[tuple[object, object]]:
    offsets: dict[tuple[int, int], object] = {}
    inputs = []
    for case in cases:
        calendar = case.contract.calendar
        key = (id(case.contract), id(case.rule))
        if key not in offsets:
            offsets[key] = pandas_offset(case.rule, calendar)
        inputs.append((pd.Timestamp(case.start).tz_convert(case.contract.zone), offsets[key]))
    return inputs


# --- timing ---------------------------------------------------------------------------------


def time_slabot(cases: list[Case]) -> tuple[float, list[dt.datetime | None]]:
    pairs = [(case.rule, case.start) for case in cases]
    began = time.perf_counter()
    results = [due_at(rule, start) for rule, start in pairs]
    return time.perf_counter() - began, results


def time_pandas(inputs) -> tuple[float, list]:
    began = time.perf_counter()
    results = [stamp + offset for stamp, offset in inputs]
    return time.perf_counter() - began, results


# --- agreement ------------------------------------------------------------------------------


def classify(case: Case, ours: dt.datetime, theirs: dt.datetime) -> str:
    """Why pandas' deadline differs from slabot's, when the reason is one we know."""
    calendar = case.contract.calendar
    window = calendar.window(calendar.local_date(ours))
    if window is not None and ours == window[1]:
        following = next(calendar.windows_from(ours))
        if theirs == following[0]:
            return "used up at a close: pandas moves it to the next opening"
    return "other"


def local(instant: dt.datetime, zone) -> str:
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M:%S %Z")


# --- hand-picked cases ----------------------------------------------------------------------


def known_cases(policies) -> list[tuple[str, str, str]]:
    """docs/semantics.md §2's examples and a DST case, each through both (what, slabot, pandas)."""
    rows = []
    dixa = Contract.of_deployment(policies["dixa"])
    cph = dixa.calendar.zone
    for what, level, kind, start in [
        ("Dixa sev 2 response 1bh from Fri 16:30", 2, TimerKind.RESPONSE, (2026, 11, 20, 16, 30)),
        ("Dixa sev 2 restore 1bd from Fri 16:30", 2, TimerKind.RESTORE, (2026, 11, 20, 16, 30)),
        ("Dixa sev 3 response 2bh from Sat 10:00", 3, TimerKind.RESPONSE, (2026, 11, 21, 10, 0)),
        ("Dixa sev 3 restore 3bd from Sat 10:00", 3, TimerKind.RESTORE, (2026, 11, 21, 10, 0)),
        ("Dixa sev 3 response 2bh from Mon 15:00", 3, TimerKind.RESPONSE, (2026, 11, 23, 15, 0)),
    ]:
        rule = dixa.rule(kind, level)
        start_at = dt.datetime(*start, tzinfo=cph)
        ours = due_at(rule, start_at)
        theirs = pd.Timestamp(start_at) + pandas_offset(rule, dixa.calendar)
        rows.append((what, local(ours, cph), local(theirs.to_pydatetime(), cph)))
    # A clock that never closes, written the only way CustomBusinessHour allows (00:00–23:59
    # every day), across the night the clocks go forward: pandas counts wall hours.
    start_at = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    every_day = CustomBusinessHour(
        n=4, start="00:00", end="23:59", weekmask=" ".join(WEEKDAY_NAMES)
    )
    theirs = pd.Timestamp(start_at).tz_convert("Europe/Copenhagen") + every_day
    ours = due_at(Contract.of_deployment(policies["dixa"]).rule(TimerKind.RESTORE, 1), start_at)
    rows.append(
        ("Dixa sev 1 restore 4h 24x7 from 01:30 CET, 29 Mar", local(ours, cph),
         local(theirs.to_pydatetime(), cph) + " (00:00–23:59 daily window)")
    )  # fmt: skip
    return rows


# --- main -----------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "∞"


@dataclass
class Measured:
    policy: str
    clock: str
    count: int
    slabot: float
    pandas: float
    agree: int
    cold: float | None = None


def measure(name: str, cases: list[Case], repeat: int, reasons: Counter, others: list[str]):
    """One policy's rows: each clock on its own (the mix hides how different they are), then all."""
    cold, ours = time_slabot(cases)  # fresh calendars: every window computed for the first time
    inputs = pandas_inputs(cases)
    _, theirs = time_pandas(inputs)
    agreed = []
    for case, mine, pandas_at in zip(cases, ours, theirs, strict=True):
        pandas_at = pandas_at.to_pydatetime()
        agreed.append(pandas_at == mine)
        if pandas_at == mine:
            continue
        reason = classify(case, mine, pandas_at)
        reasons[(name, reason)] += 1
        if reason == "other" and len(others) < 10:
            zone = case.contract.calendar.zone
            others.append(
                f"  {case.contract.label} {case.rule.kind} {case.rule.describe()} from "
                f"{local(case.start, zone)}: slabot {local(mine, zone)}, pandas {local(pandas_at, zone)}"
            )
    rows = []
    for clock in (ClockKind.BUSINESS, ClockKind.WALL):
        picked = [i for i, case in enumerate(cases) if case.rule.clock.kind is clock]
        if not picked:
            continue
        subset, sub_inputs = [cases[i] for i in picked], [inputs[i] for i in picked]
        rows.append(
            Measured(
                name, str(clock), len(picked),
                slabot=min(time_slabot(subset)[0] for _ in range(repeat)),
                pandas=min(time_pandas(sub_inputs)[0] for _ in range(repeat)),
                agree=sum(agreed[i] for i in picked),
            )
        )  # fmt: skip
    rows.append(
        Measured(
            name, "all", len(cases), slabot=sum(r.slabot for r in rows),
            pandas=sum(r.pandas for r in rows), agree=sum(agreed), cold=cold,
        )
    )  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="random cases per policy")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument(
        "--policy", action="append", choices=sorted(POLICY_ZONES), help="only these (repeatable)"
    )
    args = parser.parse_args()
    if args.cases < 1 or args.repeat < 1:
        parser.error("--cases and --repeat must be at least 1")

    policies = load_policies(policy_files(SHIPPED_POLICIES_DIR))
    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.cases:,} cases per policy, seed {args.seed}, "
        f"best of {args.repeat}"
    )
    measured: list[Measured] = []
    reasons: Counter = Counter()
    others: list[str] = []
    for name in args.policy or sorted(POLICY_ZONES):
        calendar_for.cache_clear()
        holiday_dates.cache_clear()
        cases = draw_cases(
            contracts_of(policies, name), args.cases, random.Random(f"{args.seed}/{name}")
        )
        measured.extend(measure(name, cases, args.repeat, reasons, others))

    header = (
        "policy",
        "clock",
        "cases",
        "slabot cold/s",
        "slabot/s",
        "pandas/s",
        "× pandas",
        "agree",
    )
    rows = [
        (m.policy, m.clock, f"{m.count:,}", "" if m.cold is None else rate(m.count, m.cold),
         rate(m.count, m.slabot), rate(m.count, m.pandas), f"{m.pandas / m.slabot:.1f}",
         f"{m.agree:,}/{m.count:,}")
        for m in measured
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(v).rjust(w) if i > 1 else str(v).ljust(w)
                        for i, (v, w) in enumerate(zip(line, widths, strict=True))))  # fmt: skip
    print("\nwhere they differ:")
    if not reasons:
        print("  nowhere")
    for (name, reason), count in sorted(reasons.items()):
        print(f"  {name}: {count:,} × {reason}")
    if others:
        print("unexplained differences (first 10):")
        print("\n".join(others))
    print("\nhand-picked cases:")
    for what, ours_text, theirs_text in known_cases(policies):
        print(f"  {what}:\n    slabot {ours_text}\n    pandas {theirs_text}")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main())
