"""Reports whose customers share the work on incidents affecting everyone give the figures
of the straightforward per-customer computation (tests/reports/oracle.py), on seeded random
histories, SQLite and PostgreSQL.

The customers are chosen so that terms are shared and not: two Dixa customers in New York,
two in Copenhagen (one with Danish holidays, one whose maintenance notice is in business
days), one in Auckland with an order form that adds a refund rule; three messaging-platform
customers (one with its own commitment, one without a fee) and one whose order form credits
missed responses monthly; three Diplomasafe customers (one with a longer claim window); and
one contract without an uptime section. The histories mix incidents affecting everyone with
incidents naming one to four customers: overlapping, touching, nested, open, instant and
excluded outages, maintenance for everyone and for a few (announced in time and not),
failures at the same instant, late, missing and paused responses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from bot.context import Context
from bot.incidents import service
from bot.incidents.importer import import_history
from bot.reports import service as reports
from bot.reports.service import customer_report, periods_closed, uptime_to_date
from config.contracts import SHIPPED_POLICIES_DIR, load_contracts, policy_files
from config.policy import Contracts, Customer, Fee
from tests.conftest import T0
from tests.reports import oracle

UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


CUSTOMERS = """customers:
  - {id: acme, name: Acme, policy: dixa, timezone: America/New_York,
     fee: {amount: 4000, currency: USD, per: month}}
  - {id: bravo, name: Bravo, policy: dixa, timezone: America/New_York,
     fee: {amount: 900, currency: USD, per: month}}
  - {id: nordlys, name: Nordlys, policy: dixa, timezone: Europe/Copenhagen,
     fee: {amount: 30000, currency: DKK, per: month},
     overrides: {calendar: {holidays: {country: DK}}}}
  - {id: fjord, name: Fjord, policy: dixa, timezone: Europe/Copenhagen,
     fee: {amount: 12000, currency: DKK, per: year},
     overrides: {uptime: {maintenance: {notice: 2bd}}}}
  - {id: kiwi, name: Kiwi, policy: dixa, timezone: Pacific/Auckland,
     fee: {amount: 700, currency: EUR, per: month},
     overrides: {refunds: [{severity: 1, more_than: 1, within: 7d, percent_of_monthly_fee: 50},
                           {severity: 2, more_than: 2, within: 14d}]}}
  - {id: globex, name: Globex, policy: messaging-platform,
     fee: {amount: 120000, currency: EUR, per: year}, overrides: {uptime: {commitment: 99.8}}}
  - {id: umbrella, name: Umbrella, policy: messaging-platform,
     fee: {amount: 5000, currency: EUR, per: month}}
  - {id: hooli, name: Hooli, policy: messaging-platform}
  - {id: noc, name: NOC, policy: messaging-platform,
     fee: {amount: 2000, currency: EUR, per: month},
     overrides: {response_misses: {more_than: 1, period: month, percent: 2, claim_window: 30d}}}
  - {id: initech, name: Initech, policy: diplomasafe,
     fee: {amount: 18000, currency: EUR, per: year}}
  - {id: vandelay, name: Vandelay, policy: diplomasafe,
     fee: {amount: 9000, currency: EUR, per: year}, overrides: {uptime: {claim_window: 60d}}}
  - {id: wonka, name: Wonka, policy: diplomasafe}
"""


@pytest.fixture
def many_terms(tmp_path) -> Contracts:
    path = tmp_path / "customers.yaml"
    path.write_text(CUSTOMERS)
    loaded = load_contracts(policy_files(SHIPPED_POLICIES_DIR), path, "messaging-platform")
    plain = loaded.policies["messaging-platform"]
    noc_only = plain.model_copy(update={"id": "noc-only", "uptime": None})
    fee = Fee(amount=1000, currency="EUR", per="month")
    pager = Customer(id="pager", name="Pager", policy=noc_only, timezone=None, fee=fee)
    return Contracts(
        policies={**loaded.policies, "noc-only": noc_only},
        customers={**loaded.customers, "pager": pager},
        default_policy_id="messaging-platform",
    )


def at(minutes: int) -> str:
    return (dt.datetime(2026, 8, 1, tzinfo=UTC) + dt.timedelta(minutes=minutes)).isoformat()


def random_history(ctx: Context, seed: int) -> None:
    """About 180 incidents from August to now (T0 = 20 November), a third affecting
    everyone, on a 15-minute grid so that instants coincide, and 22 maintenance windows (six for a few customers
    cover an outage affecting everyone)."""
    rng = random.Random(seed)
    ids = sorted(ctx.contracts.customers)
    span = int((T0 - dt.datetime(2026, 8, 1, tzinfo=UTC)).total_seconds() // 60)
    incidents, starts, everyones = [], [], []
    for n in range(180):
        declared = rng.randrange(0, span - 120, 15)
        roll = rng.random()
        named = [] if roll < 0.35 else rng.sample(ids, 1 if roll < 0.9 else rng.randint(2, 4))
        severity = rng.choice((1, 1, 2, 2, 3))
        record = {
            "ref": f"R{seed}-{n}", "title": f"incident {n}", "severity": severity,
            "declared_at": at(declared), "customers": named,
            "outage": rng.random() < 0.6,
        }  # fmt: skip
        impact = declared - rng.choice((0, 0, 15, 30))
        record["impact_start"] = at(impact)
        if declared < span - 60 * 24 * 3 or rng.random() < 0.7:  # the last days: some open
            restored = min(impact + rng.choice((0, 15, 15, 45, 120, 360, 60 * 30)), span)
            record["restored_at"] = at(restored)
            if rng.random() < 0.9:  # else restoring acknowledged it
                ack = declared + rng.choice((1, 10, 200, 300, 600, 60 * 20))
                record["acknowledged_at"] = at(max(declared, min(ack, restored)))
        elif rng.random() < 0.5:
            record["acknowledged_at"] = at(min(declared + rng.choice((5, 400)), span))
        if record["outage"] and rng.random() < 0.1:
            record["excluded"] = "customer's own network"
        if severity == 2:
            record["impact_pct"] = rng.choice((None, 10, 25, 60))
        incidents.append(record)
        if record["outage"]:
            starts.append(impact)
            if not named and "restored_at" in record:
                everyones.append((impact, restored))
    windows = []
    for n in range(16):
        start = rng.choice(starts) + rng.choice((-30, 0, 15))
        windows.append({
            "ref": f"MW{seed}-{n}", "title": f"window {n}", "start": at(start),
            "end": at(start + rng.choice((30, 60, 240))),
            "announced_at": at(start - rng.choice((0, 60, 60 * 30, 60 * 72))),
            "customers": [] if n % 2 else rng.sample(ids, rng.randint(1, 3)),
        })  # fmt: skip
    for n, (start, end) in enumerate(rng.sample(everyones, 6)):  # some cover such an outage
        windows.append({
            "ref": f"MW{seed}-c{n}", "title": f"cover {n}", "start": at(start - 15),
            "end": at(end + 15), "announced_at": at(start - 60 * 72),
            "customers": rng.sample(ids, rng.randint(1, 3)),
        })  # fmt: skip
    import_history(ctx, incidents, windows)
    # Paused responses, through the service (an import has no pauses).
    clock = ctx.clock
    for n, day in enumerate((3, 9, 10)):
        clock.set(dt.datetime(2026, 11, day, 8, tzinfo=UTC))
        ref = service.declare(
            ctx, title=f"paused {n}", severity=1, actor="U1",
            customers=["initech", "wonka", "noc"][: n + 1],
        ).ref  # fmt: skip
        clock.set(dt.datetime(2026, 11, day, 9, tzinfo=UTC))
        service.pause(ctx, ref, "waiting for the customer", "U1")
        clock.set(dt.datetime(2026, 11, day, 11, tzinfo=UTC))
        service.resume(ctx, ref, "U1")
        clock.set(dt.datetime(2026, 11, day, 13, 30, tzinfo=UTC))
        service.acknowledge(ctx, ref, "U1")
    clock.set(T0)


def figures(report) -> dict:
    """Everything a customer's report says, its uptime without the spans (which the shared
    computation does not keep)."""
    values = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    for name in ("uptime", "month_to_date"):
        r = values[name]
        if r is not None:
            values[name] = (r.start, r.end, r.until, r.available, r.downtime, r.excluded)
    values["incidents"] = list(report.incidents)
    return values


def both(monkeypatch, compute, *args):
    """``compute(*args)`` as the service does it, and with every customer computed alone."""
    shared = compute(*args)
    with monkeypatch.context() as patched:
        patched.setattr(reports, "_assess_all", oracle.assess_all)
        alone = compute(*args)
    return shared, alone


@pytest.mark.parametrize("seed", [1, 2])
def test_reports_standings_and_closed_periods_equal_the_per_customer_computation(
    db, many_terms, clock, monkeypatch, seed
):
    # One history per seed and database for every check: importing it is what takes time.
    ctx = Context(db=db, contracts=many_terms, clock=clock)
    random_history(ctx, seed)
    for period, customer in [
        ("2026-11", None), ("2026-10", None), ("2026-08", None), ("2026", None), ("2026", "kiwi"),
    ]:  # fmt: skip
        shared, alone = both(monkeypatch, customer_report, ctx, period, customer)
        assert [figures(c) for c in shared.customers] == [figures(c) for c in alone.customers]
        assert shared.as_text() == alone.as_text()
        assert shared.as_csv() == alone.as_csv()
        assert shared.as_json() == alone.as_json()
    assert any(c.credits for c in shared.customers)  # the history is not a quiet one
    for now in [T0, utc(2026, 12, 1, 12), utc(2026, 11, 2, 8)]:
        shared, alone = both(monkeypatch, uptime_to_date, ctx, now)
        assert [(figures(s.current), s.claimable) for s in shared] == [
            (figures(s.current), s.claimable) for s in alone
        ]
        week = (now - dt.timedelta(days=7), now)
        shared, alone = both(monkeypatch, periods_closed, ctx, *week)
        assert {k: figures(v) for k, v in shared.items()} == {
            k: figures(v) for k, v in alone.items()
        }


@pytest.mark.parametrize("seed", [3])
def test_reports_that_list_no_incidents_have_the_full_reports_figures(db, many_terms, clock, seed):
    """App Home reads only the credits of the periods before the running one, and the weekly
    digest only the figures of a period that closed, so those are assessed without listing
    incidents (``_Plan.listed``): every other figure equals the full report's, whichever
    month or year, on random histories."""
    ctx = Context(db=db, contracts=many_terms, clock=clock)
    random_history(ctx, seed)
    now = clock.now()
    customers = sorted(many_terms.customers.values(), key=lambda c: c.id)
    for period in ("2026-08", "2026-10", "2026-11", "2026"):
        requested = reports.parse_period(period)
        full = [reports._plan(c, requested.bounds(c.zone), now) for c in customers]
        bare = [dataclasses.replace(p, listed=False) for p in full]
        listed = reports._assess_all(ctx, full, now, None)
        unlisted = reports._assess_all(ctx, [*bare, *full], now, None)  # sharing their terms
        assert all(not r.incidents.everyone and not r.incidents.own for r in unlisted[: len(bare)])
        assert [{**figures(r), "incidents": None} for r in unlisted[: len(bare)]] == [
            {**figures(r), "incidents": None} for r in listed
        ]
        assert [figures(r) for r in unlisted[len(bare) :]] == [figures(r) for r in listed]
    assert any(r.credits for r in listed) and any(r.incidents for r in listed)
    for week_end in (utc(2026, 11, 2, 8), utc(2026, 10, 1, 12)):  # the digest's closed periods
        week = (week_end - dt.timedelta(days=7), week_end)
        full_closed = reports.periods_closed(ctx, *week)
        bare_closed = reports.periods_closed(ctx, *week, listed=False)
        assert full_closed and not any(r.incidents for r in bare_closed.values())
        assert {k: {**figures(r), "incidents": None} for k, r in bare_closed.items()} == {
            k: {**figures(r), "incidents": None} for k, r in full_closed.items()
        }
