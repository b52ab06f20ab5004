"""Reminder plans: wall-time warnings, shares of long business targets, breach, escalations."""

from __future__ import annotations

import datetime as dt

from bot.sla.clocks import WallClock
from bot.sla.contract import Contract
from bot.sla.reminders import PlannedReminder, ReminderKind, next_escalation, plan_reminders
from bot.sla.timers import Pause, TimerKind, TimerRule, due_at
from config.policy import Duration, ReminderSpec
from tests.sla.conftest import cph

RESPONSE, RESTORE, PROGRESS = TimerKind.RESPONSE, TimerKind.RESTORE, TimerKind.PROGRESS
WARNING, BREACH, ESCALATION = ReminderKind.WARNING, ReminderKind.BREACH, ReminderKind.ESCALATION
MINUTE = dt.timedelta(minutes=1)


def plan(contract: Contract, kind: TimerKind, level: int, start, now, pauses=()):
    rule = contract.rule(kind, level)
    assert rule is not None
    deadline = due_at(rule, start, pauses)
    reminders = plan_reminders(rule, start, deadline, contract.policy.reminders, now, pauses)
    assert reminders == sorted(reminders)
    assert all(r.deadline == deadline and r.timer is kind for r in reminders)
    return reminders


def steps(reminders: list[PlannedReminder]) -> list[tuple[dt.datetime, ReminderKind, str]]:
    return [(r.due_at, r.kind, r.step) for r in reminders]


def test_short_business_target_gets_lead_warnings_breach_and_escalation(dixa):
    declared = cph(2026, 11, 23, 9, 0)  # Dixa sev 2 response 1bh: due 10:00
    assert steps(plan(dixa, RESPONSE, 2, declared, declared)) == [
        (cph(2026, 11, 23, 9, 45), WARNING, "15m"),
        (cph(2026, 11, 23, 9, 55), WARNING, "5m"),
        (cph(2026, 11, 23, 10, 0), BREACH, "breach"),
        (cph(2026, 11, 23, 10, 30), ESCALATION, "escalation 1"),  # every 30m
    ]


def test_lead_times_are_wall_time_even_on_business_time(dixa):
    declared = cph(2026, 11, 20, 16, 5)  # 55m Fri + 5m Mon: due Mon 08:05
    assert steps(plan(dixa, RESPONSE, 2, declared, declared))[:3] == [
        (cph(2026, 11, 23, 7, 50), WARNING, "15m"),  # before the office opens: "due in 15 minutes"
        (cph(2026, 11, 23, 8, 0), WARNING, "5m"),
        (cph(2026, 11, 23, 8, 5), BREACH, "breach"),
    ]


def test_warnings_past_at_now_are_dropped(dixa):
    declared = cph(2026, 11, 23, 9, 0)  # due 10:00
    assert [r.step for r in plan(dixa, RESPONSE, 2, declared, cph(2026, 11, 23, 9, 50))] == [
        "5m",
        "breach",
        "escalation 1",
    ]
    # A warning due exactly now is not past.
    assert plan(dixa, RESPONSE, 2, declared, cph(2026, 11, 23, 9, 55))[0].step == "5m"


def test_breach_notice_is_always_planned(dixa):
    declared = cph(2026, 11, 23, 9, 0)  # due 10:00
    late = plan(dixa, RESPONSE, 2, declared, cph(2026, 11, 23, 12, 10))
    # 10:00 is past, yet announced; the next escalation is the first after 12:10: 12:30, the 5th.
    assert steps(late) == [
        (cph(2026, 11, 23, 10, 0), BREACH, "breach"),
        (cph(2026, 11, 23, 12, 30), ESCALATION, "escalation 5"),
    ]


def test_warnings_not_after_the_start_are_dropped(dixa):
    declared = cph(2026, 11, 23, 12, 0)  # Dixa sev 1 response 5m 24x7: due 12:05
    # 15m before is 11:50, before the start; 5m before is 12:00, the start itself.
    assert steps(plan(dixa, RESPONSE, 1, declared, declared)) == [
        (cph(2026, 11, 23, 12, 5), BREACH, "breach"),
        (cph(2026, 11, 23, 12, 35), ESCALATION, "escalation 1"),
    ]


def test_long_business_target_gets_percent_warnings(dixa):
    declared = cph(2026, 11, 20, 16, 30)  # sev 2 restore 1bd = 9h: due Mon 16:30
    assert steps(plan(dixa, RESTORE, 2, declared, declared)) == [
        (cph(2026, 11, 23, 12, 0), WARNING, "50%"),  # 4h30: 30m Fri + 4h Mon
        (cph(2026, 11, 23, 14, 15), WARNING, "75%"),  # 6h45: 30m Fri + 6h15 Mon
        (cph(2026, 11, 23, 16, 15), WARNING, "15m"),
        (cph(2026, 11, 23, 16, 25), WARNING, "5m"),
        (cph(2026, 11, 23, 16, 30), BREACH, "breach"),
        (cph(2026, 11, 23, 17, 0), ESCALATION, "escalation 1"),
    ]
    # At 13:00 Monday the 50% mark is past.
    later = plan(dixa, RESTORE, 2, declared, cph(2026, 11, 23, 13, 0))
    assert [r.step for r in later] == ["75%", "15m", "5m", "breach", "escalation 1"]


def test_percent_warnings_over_several_days(dixa):
    declared = cph(2026, 11, 21, 10, 0)  # Saturday; sev 3 restore 27h: due Wed 17:00
    percent = [r for r in plan(dixa, RESTORE, 3, declared, declared) if r.step.endswith("%")]
    # 50% = 13h30: Mon 9h + Tue 4h30; 75% = 20h15: Mon + Tue 18h + Wed 2h15.
    assert [(r.due_at, r.step) for r in percent] == [
        (cph(2026, 11, 24, 12, 30), "50%"),
        (cph(2026, 11, 25, 10, 15), "75%"),
    ]


def test_percent_warnings_move_with_pauses(dixa):
    declared = cph(2026, 11, 23, 9, 0)  # Monday; sev 2 restore 9h
    pauses = [Pause(cph(2026, 11, 23, 10, 0), cph(2026, 11, 23, 11, 0))]  # due Tue 10:00
    reminders = plan(dixa, RESTORE, 2, declared, declared, pauses)
    # 50% = 4h30: 1h before the pause, 3h30 from 11:00; 75% = 6h45: 1h, then 5h45 from 11:00.
    assert [(r.due_at, r.step) for r in reminders if r.step.endswith("%")] == [
        (cph(2026, 11, 23, 14, 30), "50%"),
        (cph(2026, 11, 23, 16, 45), "75%"),
    ]
    assert reminders[-2].kind is BREACH and reminders[-2].due_at == cph(2026, 11, 24, 10, 0)


def test_percent_warnings_on_diplomasafe_over_easter(diplomasafe):
    declared = cph(2026, 4, 1, 15, 0)  # 4bh ≥ long_target 4bh: due Tue 04-07 11:00
    assert [(r.due_at, r.step) for r in plan(diplomasafe, RESPONSE, 1, declared, declared)] == [
        (cph(2026, 4, 1, 17, 0), "50%"),  # 2h used up at Wednesday's close
        (cph(2026, 4, 7, 10, 0), "75%"),  # 3h: 2h Wed, holidays, 1h Tue
        (cph(2026, 4, 7, 10, 45), "15m"),
        (cph(2026, 4, 7, 10, 55), "5m"),
        (cph(2026, 4, 7, 11, 0), "breach"),
        (cph(2026, 4, 7, 12, 0), "escalation 1"),  # Diplomasafe escalates every 60m
    ]


def test_no_percent_warnings_below_long_target_or_on_24x7(dixa):
    declared = cph(2026, 11, 23, 9, 0)
    # 2bh response is shorter than the 1bd long_target.
    assert not [r for r in plan(dixa, RESPONSE, 3, declared, declared) if "%" in r.step]
    # A 2-day 24x7 target under Dixa's reminder settings: wall time, no percent warnings.
    wall = TimerRule(RESTORE, Duration(2, "d"), WallClock(), "test")
    deadline = due_at(wall, declared)
    reminders = plan_reminders(wall, declared, deadline, dixa.policy.reminders, declared)
    assert [r.step for r in reminders] == ["15m", "5m", "breach", "escalation 1"]


def test_sev4_response_of_one_business_day_is_long(dixa):
    declared = cph(2026, 11, 23, 8, 0)  # 1bd response: due 17:00
    percent = [(r.due_at, r.step) for r in plan(dixa, RESPONSE, 4, declared, declared)][:2]
    assert percent == [(cph(2026, 11, 23, 12, 30), "50%"), (cph(2026, 11, 23, 14, 45), "75%")]


def test_progress_timer_uses_progress_before(messaging):
    report = cph(2026, 11, 23, 12, 0)  # Severity I: every 60 minutes
    assert steps(plan(messaging, PROGRESS, 1, report, report)) == [
        (cph(2026, 11, 23, 12, 50), WARNING, "10m"),
        (cph(2026, 11, 23, 13, 0), BREACH, "breach"),
        (cph(2026, 11, 23, 13, 30), ESCALATION, "escalation 1"),
    ]
    # The response timer of the same incident uses the ordinary lead times.
    assert [r.step for r in plan(messaging, RESPONSE, 1, report, report)] == [
        "15m",
        "5m",
        "breach",
        "escalation 1",
    ]


def test_next_escalation_is_strictly_after(dixa):
    spec = dixa.policy.reminders  # every 30m
    deadline = cph(2026, 11, 23, 10, 0)

    def escalation(after: dt.datetime) -> tuple[dt.datetime, str]:
        found = next_escalation(RESPONSE, deadline, spec, after)
        assert found is not None and found.kind is ESCALATION and found.deadline == deadline
        return found.due_at, found.step

    assert escalation(deadline - 60 * MINUTE) == (cph(2026, 11, 23, 10, 30), "escalation 1")
    assert escalation(deadline) == (cph(2026, 11, 23, 10, 30), "escalation 1")
    assert escalation(cph(2026, 11, 23, 10, 29, 59)) == (cph(2026, 11, 23, 10, 30), "escalation 1")
    assert escalation(cph(2026, 11, 23, 10, 30)) == (cph(2026, 11, 23, 11, 0), "escalation 2")
    assert escalation(cph(2026, 11, 23, 11, 35)) == (cph(2026, 11, 23, 12, 0), "escalation 4")


def test_no_escalation_without_a_cadence(dixa):
    quiet = ReminderSpec(before=(Duration(15, "m"),))
    assert (
        next_escalation(RESPONSE, cph(2026, 11, 23, 10, 0), quiet, cph(2026, 11, 23, 11, 0)) is None
    )
    rule = dixa.rule(RESPONSE, 2)
    declared = cph(2026, 11, 23, 9, 0)
    reminders = plan_reminders(rule, declared, due_at(rule, declared), quiet, declared)
    assert [r.step for r in reminders] == ["15m", "breach"]
