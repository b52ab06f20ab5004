"""docs/semantics.md §2's first worked examples, spelled out (Dixa: Europe/Copenhagen, Mon–Fri
08–17, no holidays). The page's whole table is checked row by row in test_semantics_doc.py."""

from __future__ import annotations

import datetime as dt

from bot.sla.timers import TimerKind, due_at
from tests.sla.conftest import cph, utc


def test_sev2_declared_friday_afternoon(dixa):
    declared = cph(2026, 11, 20, 16, 30)  # Friday
    response = due_at(dixa.rule(TimerKind.RESPONSE, 2), declared)
    restore = due_at(dixa.rule(TimerKind.RESTORE, 2), declared)
    # 30 min left on Friday, 30 min from Monday's 08:00 opening.
    assert response == cph(2026, 11, 23, 8, 30)
    # 1d = one 9-hour window: 30 min on Friday, 8 h 30 on Monday.
    assert restore == cph(2026, 11, 23, 16, 30)


def test_sev3_declared_on_saturday(dixa):
    declared = cph(2026, 11, 21, 10, 0)  # Saturday: the clock starts Monday 08:00
    deadlines = dixa.deadlines(3, declared)
    # 2 h from Monday 08:00.
    assert deadlines[TimerKind.RESPONSE] == cph(2026, 11, 23, 10, 0)
    # 3d = 27 h = Mon, Tue, Wed windows in full: used up at Wednesday's close, not Thursday 08:00.
    assert deadlines[TimerKind.RESTORE] == cph(2026, 11, 25, 17, 0)
    assert deadlines[TimerKind.PROGRESS] is None  # Dixa gives no progress cadence


def test_sev1_restore_across_spring_forward(dixa):
    declared = utc(2026, 3, 29, 0, 30)  # 01:30 CET, half an hour before summer time
    restore = dixa.deadlines(1, declared)[TimerKind.RESTORE]
    # Four real hours: 04:30Z, which the office clock shows as 06:30 CEST.
    assert restore == utc(2026, 3, 29, 4, 30)
    assert restore == cph(2026, 3, 29, 6, 30)
    assert restore.tzinfo is dt.UTC


def test_deadlines_are_utc(dixa):
    for level in (1, 2, 3, 4):
        for deadline in dixa.deadlines(level, cph(2026, 11, 20, 16, 30)).values():
            assert deadline is None or deadline.tzinfo is dt.UTC
