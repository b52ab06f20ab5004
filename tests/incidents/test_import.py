"""Importing history: all or nothing, idempotent, JSON and CSV, through the CLI too."""

from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, event, func, select, text

from bot.cli import main
from bot.incidents import service
from bot.incidents.importer import ImportRefused, import_history, read_records
from bot.sla.timers import TimerKind, TimerState
from config import settings
from storage import queries
from storage.db import Database
from storage.models import Incident, MaintenanceWindow, TimelineEvent
from tests.conftest import FIXTURES, postgres_base_url

HISTORY = FIXTURES / "history.json"


def history():
    return read_records(HISTORY)


def test_importing_one_record_says_one_record(cli_db, tmp_path):
    one = tmp_path / "one.json"
    record = json.loads(HISTORY.read_text())["incidents"][0]
    one.write_text(json.dumps({"incidents": [record]}))
    imported = CliRunner().invoke(main, ["import", str(one)])
    assert imported.exit_code == 0, imported.output
    assert "importing 1 record" in imported.stderr and "1 records" not in imported.stderr
    assert "1 incident created, 0 updated, 0 unchanged" in imported.stdout


def test_importing_a_history_twice_then_listing_it_shows_each_incident_once(cli_db):
    runner = CliRunner()
    first = runner.invoke(main, ["import", str(HISTORY)])
    assert first.exit_code == 0, first.output
    assert (
        "14 incidents created, 0 updated, 0 unchanged; 2 maintenance windows created, 0 updated, "
        "0 unchanged" in first.output
    )
    second = runner.invoke(main, ["import", str(HISTORY)])
    assert second.exit_code == 0, second.output
    assert (
        "0 incidents created, 0 updated, 14 unchanged; 0 maintenance windows created, 0 updated, "
        "2 unchanged" in second.output
    )
    listed = runner.invoke(main, ["incidents", "list", "--all", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    incidents = json.loads(listed.output)
    assert sorted(i["ref"] for i in incidents) == sorted(
        r["ref"] for r in json.loads(HISTORY.read_text())["incidents"]
    )
    checkout = next(i for i in incidents if i["ref"] == "INC-A")
    assert checkout["state"] == "resolved" and checkout["customers"] == ["acme"]
    assert checkout["timers"]["response"] == {
        "target": "5m 24x7", "contract": "dixa for acme", "state": "met",
        "started_at": "2026-10-05T10:00:00+00:00", "deadline": "2026-10-05T10:05:00+00:00",
        "stopped_at": "2026-10-05T10:03:00+00:00",
    }  # fmt: skip
    open_only = runner.invoke(main, ["incidents", "list", "--format", "json"])
    assert [i["ref"] for i in json.loads(open_only.output)] == ["INC-M"]
    table = runner.invoke(main, ["incidents", "list", "--all"])
    assert "INC-M" in table.output and "Bulk issuing stuck" in table.output


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """A database nothing has touched: a new SQLite file, or a new, empty PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips, or fails under CI, like every PG test
    base, schema = postgres_base_url(), f"slabot_fresh_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_fresh_database_imports_a_14_incident_history_twice_and_lists_14(
    fresh_database, monkeypatch
):
    """Issue 3's acceptance, through the command line, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    monkeypatch.setenv("SLABOT_CUSTOMERS_FILE", str(FIXTURES / "customers.yaml"))
    monkeypatch.setenv("SLABOT_DEFAULT_POLICY", "messaging-platform")
    settings.reset()
    runner = CliRunner()
    head = Database(fresh_database).head_revision()
    if fresh_database.startswith("postgresql"):
        # PostgreSQL is never migrated behind the operator's back: the release phase does it.
        refused = runner.invoke(main, ["import", str(HISTORY)])
        assert refused.exit_code == 2
        assert "run `slabot db upgrade`" in refused.stderr
        upgraded = runner.invoke(main, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert upgraded.stdout == f"database at {head} (was empty)\n"
    for created, unchanged in ((14, 0), (0, 14)):
        imported = runner.invoke(main, ["import", str(HISTORY)])
        assert imported.exit_code == 0, imported.output
        assert f"{created} incidents created, 0 updated, {unchanged} unchanged" in imported.stdout
        assert "importing 16 records" in imported.stderr  # the progress bar's label off a terminal
    # SQLite was migrated on first use; upgrading again is a no-op that says where it is.
    again = runner.invoke(main, ["db", "upgrade"])
    assert (again.exit_code, again.stdout) == (0, f"database at {head}\n")
    listed = runner.invoke(main, ["incidents", "list", "--all", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    incidents = json.loads(listed.stdout)
    assert len(incidents) == 14
    assert len({i["ref"] for i in incidents}) == 14
    settings.reset()


def test_the_progress_callback_counts_the_records_each_batch_wrote(ctx):
    incidents, maintenance = history()
    seen = []
    import_history(ctx, incidents, maintenance, progress=seen.append, batch=5)
    assert seen == [5, 5, 4, 2]  # 14 incidents in batches of 5, then the 2 maintenance windows
    seen.clear()
    import_history(ctx, incidents, maintenance, progress=seen.append)
    assert seen == [14, 2]


def test_a_failure_half_way_through_writing_leaves_nothing(ctx):
    incidents, maintenance = history()
    written = []

    def fail_after_the_first_batch(step):
        written.append(step)
        if len(written) == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        import_history(ctx, incidents, maintenance, progress=fail_after_the_first_batch, batch=5)
    assert written == [5, 5]
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        assert session.scalar(select(func.count()).select_from(TimelineEvent)) == 0


def test_import_derives_timers_from_each_customers_contract(ctx):
    import_history(ctx, *history())
    # INC-G: Diplomasafe, Tue 2026-10-27 15:00 Copenhagen; 4 business hours (09–17) → Wed 11:00;
    # acknowledged Wed 12:30 Copenhagen: a miss.
    response = service.get(ctx, "INC-G").timers[TimerKind.RESPONSE]
    assert response.deadline == dt.datetime(2026, 10, 28, 10, 0, tzinfo=dt.UTC)
    assert response.state is TimerState.BREACHED
    # INC-J resolved without a restore time: resolving restored it.
    assert service.get(ctx, "INC-J").restored_at == dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC)
    # INC-M is open but acknowledged, and Diplomasafe sets only a response target: nothing to remind.
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, "INC-M")
        assert queries.reminders_of(session, incident.id) == []


def test_an_imported_open_incident_gets_its_reminders(ctx, clock):
    started = (clock.now() - dt.timedelta(minutes=10)).isoformat()
    import_history(ctx, [{"ref": "OPS-7", "title": "Open", "severity": 1, "declared_at": started}])
    with ctx.db.read() as session:
        incident = queries.incident_by_ref(session, "OPS-7")
        due = sorted(
            (r.timer, r.step)
            for r in queries.reminders_of(session, incident.id)
            if r.status == "pending"
        )
    assert ("response", "breach") in due and ("progress", "10m") in due


def test_a_changed_record_updates_its_incident_and_says_what_changed(ctx, clock):
    incidents, maintenance = history()
    import_history(ctx, incidents, maintenance)
    changed = [dict(r) for r in incidents]
    changed[0]["restored_at"] = "2026-10-05T10:45:00Z"
    changed[0]["customers"] = ["acme", "nordlys"]
    summary = import_history(ctx, changed)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 13)
    view = service.get(ctx, "INC-A")
    assert view.restored_at == dt.datetime(2026, 10, 5, 10, 45, tzinfo=dt.UTC)
    assert view.customers == ("acme", "nordlys")
    event = service.timeline(ctx, "INC-A")[-1]
    assert (event.kind, event.text) == ("reimported", "changed: restored_at, customers")
    assert event.before["customers"] == ["acme"] and event.after["customers"] == ["acme", "nordlys"]


def test_one_bad_record_imports_nothing_and_every_problem_is_named(ctx):
    incidents, maintenance = history()
    broken = [dict(r) for r in incidents]
    broken[2]["severity"] = 9
    broken[5]["declared_at"] = "2026-10-27 07:15"
    broken[6]["customers"] = ["initek"]
    broken[7]["acknowledged_at"] = "2026-10-29T11:00:00Z"
    broken[8]["sevrity"] = 2
    broken[9]["resolved_at"] = "2027-01-01T00:00:00Z"
    broken.append(dict(incidents[0]))
    with pytest.raises(ImportRefused) as refused:
        import_history(ctx, broken, maintenance)
    assert refused.value.problems == [
        "incidents[2] (INC-C): severity: severity 9 is not in the messaging-platform for umbrella "
        "contract; its levels: 1 (Severity I — cannot connect to the Platform or use the Services), "
        "2 (Severity II — messages not delivered or Services unusable for many users), "
        "3 (Severity III — any other failure)",
        "incidents[5] (INC-E): declared_at: '2026-10-27 07:15' has no offset; add Z or one such as +01:00",
        "incidents[6] (INC-G): customers: 'initek' is not a customer (did you mean 'initech'?); "
        "customers: acme, globex, initech, nordlys, umbrella",
        "incidents[7] (INC-H): acknowledged_at: is before declared_at",
        "incidents[8] (INC-I): sevrity: unknown field; fields: ref, title, severity, declared_at, "
        "impact_start, acknowledged_at, restored_at, resolved_at, outage, customers, excluded, impact_pct, "
        "reported_at, declared_by, summary, source, pauses, breaches, timeline",
        "incidents[9] (INC-J): resolved_at: '2027-01-01T00:00:00Z' is in the future",
        "incidents[14] (INC-A): ref: 'INC-A' is also incidents[0] (INC-A)",
    ]
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        assert session.scalar(select(func.count()).select_from(TimelineEvent)) == 0
        assert session.scalar(select(func.count()).select_from(MaintenanceWindow)) == 0


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"ref": "X"}, "incidents[0] (X): title: is required"),
        ("not a record", "incidents[0]: expected an object of fields, got 'not a record'"),
        ({"ref": "X", "title": "t", "severity": "sev9x", "declared_at": "2026-10-01T00:00:00Z"},
         "incidents[0] (X): severity: 'sev9x' is not a severity"),
        ({"ref": "X", "title": "t", "severity": 1, "declared_at": "yesterday"},
         "incidents[0] (X): declared_at: 'yesterday' is not an ISO-8601 time"),
        ({"ref": "X", "title": "t", "severity": 1, "declared_at": "2026-10-01T00:00:00Z", "outage": "maybe"},
         "incidents[0] (X): outage: 'maybe' is not true or false"),
        ({"ref": "X", "title": "t", "severity": 1, "declared_at": "2026-10-01T00:00:00Z", "impact_pct": 0},
         "incidents[0] (X): impact_pct: 0.0 is not a share of traffic"),
        ({"ref": "X", "title": "t", "severity": 1, "declared_at": "2026-10-01T00:00:00Z",
          "restored_at": "2026-10-01T02:00:00Z", "resolved_at": "2026-10-01T01:00:00Z"},
         "incidents[0] (X): resolved_at: is before restored_at"),
    ],
)  # fmt: skip
def test_each_record_problem_is_explained(ctx, record, problem):
    with pytest.raises(ImportRefused) as refused:
        import_history(ctx, [record])
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_maintenance_may_be_planned_ahead_but_not_announced_in_the_future(ctx, clock):
    future = (clock.now() + dt.timedelta(days=3)).isoformat()
    later = (clock.now() + dt.timedelta(days=3, hours=1)).isoformat()
    summary = import_history(ctx, [], [{"ref": "MW-9", "title": "Planned", "start": future, "end": later,
                                        "announced_at": clock.now().isoformat()}])  # fmt: skip
    assert summary.maintenance == 1
    with pytest.raises(
        ImportRefused, match=r"maintenance\[0\] \(MW-8\): announced_at: .* is in the future"
    ):
        import_history(
            ctx,
            [],
            [{"ref": "MW-8", "title": "x", "start": future, "end": later, "announced_at": later}],
        )
    with pytest.raises(ImportRefused, match=r"maintenance\[0\] \(MW-7\): end: is not after start"):
        import_history(ctx, [], [{"ref": "MW-7", "title": "x", "start": later, "end": future,
                                  "announced_at": clock.now().isoformat()}])  # fmt: skip


def test_csv_with_the_same_columns_imports_the_same_history(ctx, tmp_path):
    incidents, _ = history()
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(incidents[0]))
        writer.writeheader()
        for record in incidents:
            row = {k: record.get(k) for k in incidents[0]}
            row["customers"] = ";".join(record.get("customers") or [])
            row["outage"] = "true" if record.get("outage") else "false"
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    rows, maintenance = read_records(path)
    assert maintenance == []
    summary = import_history(ctx, rows)
    assert summary.created == 14
    assert service.get(ctx, "INC-E").customers == ("globex", "umbrella")
    assert service.get(ctx, "INC-H").impact_pct == 40
    assert import_history(ctx, *history()).unchanged == 14  # CSV and JSON say the same


def test_csv_errors_name_the_line_of_the_file(cli_db, tmp_path):
    # The header is line 1; C-1 is on line 3 (after a good row on line 2), and C-3 begins on
    # line 6: C-2 (line 4) has a title that spans two lines.
    path = tmp_path / "bad.csv"
    path.write_text(
        "ref,title,severity,declared_at\n"
        "C-0,Fine,1,2026-11-01T10:00:00Z\n"
        "C-1,Broken,sev9x,2026-11-01T11:00:00Z\n"
        'C-2,"Two\nlines",1,2026-11-01T12:00:00Z\n'
        "C-3,Late,1,yesterday\n"
    )
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 1
    assert "line 3 (C-1): severity: 'sev9x' is not a severity" in result.output
    assert "line 6 (C-3): declared_at: 'yesterday' is not an ISO-8601 time" in result.output
    assert "incidents[" not in result.output


def test_reimporting_maintenance_says_created_updated_unchanged(ctx, clock):
    now = clock.now()
    window = {"ref": "MW-1", "title": "Upgrade", "start": (now - dt.timedelta(days=2)).isoformat(),
              "end": (now - dt.timedelta(days=2) + dt.timedelta(hours=1)).isoformat(),
              "announced_at": (now - dt.timedelta(days=5)).isoformat()}  # fmt: skip
    other = {**window, "ref": "MW-2", "title": "Failover"}
    first = import_history(ctx, [], [window, other])
    assert (first.maintenance_created, first.maintenance_updated, first.maintenance_unchanged) == (
        2, 0, 0,
    )  # fmt: skip
    again = import_history(ctx, [], [window, {**other, "title": "Failover drill"}])
    assert (again.maintenance_created, again.maintenance_updated, again.maintenance_unchanged) == (
        0, 1, 1,
    )  # fmt: skip
    customers = import_history(ctx, [], [{**window, "customers": ["acme"]}])
    assert customers.maintenance_updated == 1


def test_a_file_that_is_not_a_history_is_refused(tmp_path, ctx):
    path = tmp_path / "x.json"
    path.write_text('{"incidnets": []}')
    with pytest.raises(
        ImportRefused, match="expected an object with the keys incidents and/or maintenance"
    ):
        read_records(path)
    path.write_text("{not json")
    with pytest.raises(ImportRefused, match=r"x.json:1: not valid JSON"):
        read_records(path)


def test_the_cli_reports_a_refused_import_and_exits_1(cli_db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"incidents": [{"ref": "X", "title": "t", "severity": 1}]}))
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 1
    assert "nothing was imported:\nincidents[0] (X): declared_at: is required" in result.output


def test_a_batch_reads_its_stored_incidents_in_one_query_not_one_a_record(ctx):
    incidents, maintenance = history()
    import_history(ctx, incidents, maintenance)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(ctx.db.engine, "before_cursor_execute", seen)
    try:
        summary = import_history(ctx, incidents, maintenance, batch=5)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", seen)
    assert summary.unchanged == 14
    reads = [s for s in statements if s.startswith("SELECT")]
    # 14 records in 3 batches: each reads its stored incidents, then their customers and
    # their pauses.
    assert sum(" FROM incident WHERE" in s for s in reads) == 3
    assert sum(" FROM incident_customer WHERE" in s for s in reads) == 3
    assert sum(" FROM incident_pause WHERE" in s for s in reads) == 3
    assert not [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
                and "maintenance" not in s]  # fmt: skip
