"""What reports print: the text and CSV exactly as before the work was shared (files written
by the code as it was, tests/fixtures/reports/), and the compact JSON document, in which an
incident affecting every customer is listed once (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.incidents import service
from bot.incidents.importer import import_history, read_records
from bot.reports.service import customer_report
from tests.conftest import FIXTURES

UTC = dt.UTC
OUTPUT = FIXTURES / "reports"


@pytest.fixture
def history(ctx):
    import_history(ctx, *read_records(FIXTURES / "history.json"))


@pytest.mark.parametrize("period", ["2026-10", "2026-11", "2026"])
def test_text_and_csv_are_byte_for_byte_what_they_were(ctx, history, period):
    report = customer_report(ctx, period)
    assert report.as_text() == (OUTPUT / f"report-{period}.txt").read_text(encoding="utf-8")
    for money, name in ((True, f"report-{period}.csv"), (False, f"report-{period}-no-money.csv")):
        expected = (OUTPUT / name).read_bytes().decode("utf-8")
        assert report.as_csv(money=money) == expected


def full_lists(document: dict) -> dict[str, list[str]]:
    """Each customer's incidents put back together from the compact document: its own, and
    the lists of incidents affecting everyone it is on, less its exceptions."""
    everyone: dict[str, list[str]] = {}
    for group in document["incidents_affecting_everyone"]:
        for customer in group["customers"]:
            dropped = set(group["except"].get(customer, ()))
            everyone[customer] = [r for r in group["incidents"] if r not in dropped]
    return {
        c["customer"]: sorted([*c["incidents"], *everyone.get(c["customer"], [])])
        for c in document["customers"]
    }


def test_the_compact_document_lists_incidents_affecting_everyone_once(ctx, history):
    report = customer_report(ctx, "2026-10")
    document, full = report.as_json(compact=True), report.as_json()
    # INC-B and INC-K affected every customer and left downtime for all five: one list.
    assert document["incidents_affecting_everyone"] == [
        {
            "customers": ["acme", "globex", "initech", "nordlys", "umbrella"],
            "incidents": ["INC-B", "INC-K"],
            "except": {},
        }
    ]
    own = {c["customer"]: c["incidents"] for c in document["customers"]}
    assert own == {
        "acme": ["INC-A", "INC-L"],
        "globex": ["INC-E", "INC-H"],
        "initech": ["INC-G"],
        "nordlys": [],
        "umbrella": ["INC-C", "INC-D", "INC-E"],
    }
    assert full_lists(document) == {
        c["customer"]: sorted(c["incidents"]) for c in full["customers"]
    }
    # The figures are the same; a credit's reason leaves out the incidents it counts.
    for compact, whole in zip(document["customers"], full["customers"], strict=True):
        keys = set(whole) - {"incidents", "credits"}
        assert {k: compact[k] for k in keys} == {k: whole[k] for k in keys}
    (refund,) = document["customers"][4]["credits"]
    assert refund["reason"] == (
        "4 severity 1 failures within 28d up to INC-E (2026-10-27 07:15 UTC), more than 3; "
        "refund of 100 % of the October 2026 monthly fee"
    )


def test_a_customer_whose_maintenance_covers_a_platform_outage_is_an_exception(ctx):
    # The platform was down 10 November 10:00–11:00Z and 12 November 10:00–10:30Z. nordlys
    # had announced maintenance three days ahead for 10 November 09:30–11:30Z: for nordlys the
    # first outage is excluded whole, and only the second left downtime.
    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)

    service.add_maintenance(ctx, title="Upgrade", starts_at=at(10, 9, 30), ends_at=at(10, 11, 30),
                            actor="U1", customers=["nordlys"], announced_at=at(7, 0))  # fmt: skip
    refs = []
    for start, end in ((at(10, 10), at(10, 11)), (at(12, 10), at(12, 10, 30))):
        ref = service.declare(ctx, title="Platform down", severity=2, actor="U1", outage=True,
                              started_at=start).ref  # fmt: skip
        service.restore(ctx, ref, "U1", at=end)
        refs.append(ref)
    report = customer_report(ctx, "2026-11")
    (group,) = report.as_json(compact=True)["incidents_affecting_everyone"]
    assert group["incidents"] == refs
    assert group["except"] == {"nordlys": refs[:1]}
    assert len(group["customers"]) == len(report.customers)
    nordlys = next(c for c in report.customers if c.customer == "nordlys")
    assert list(nordlys.incidents) == refs[1:]
    assert (nordlys.uptime.downtime, nordlys.uptime.excluded) == (
        dt.timedelta(minutes=30),
        dt.timedelta(hours=1),
    )


def test_slabot_report_prints_the_compact_document_a_customer_a_line(cli_history):
    result = CliRunner().invoke(main, ["report", "--period", "2026-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["period", "customers", "incidents_affecting_everyone"]
    lines = result.stdout.splitlines()
    assert [json.loads(line.strip().rstrip(","))["customer"] for line in lines[3:8]] == [
        "acme", "globex", "initech", "nordlys", "umbrella",
    ]  # fmt: skip
