"""``slabot incidents export`` writes what ``slabot import`` reads, corrections applied:
exported from a rich history (the fixture's, corrected, with incidents run in Slack —
updates, pauses, a re-grade after a breach) and imported into an empty database, every
report figure, timer and the record itself come back the same (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.incidents import service
from bot.incidents.corrections import Correction
from bot.incidents.importer import INCIDENT_FIELDS, import_history
from bot.incidents.record import incident_record
from tests.conftest import T0, empty, import_fixture_history

M = dt.timedelta(minutes=1)
PERIODS = ("2026-10", "2026-11", "2026")
AT_1230 = dt.datetime(2026, 10, 5, 12, 30, tzinfo=dt.UTC)


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def everything() -> dict:
    """What an operator reads back: each period's report, every incident and timer."""
    found = {p: json.loads(run("report", "--period", p, "--format", "json")) for p in PERIODS}
    found["incidents"] = json.loads(run("incidents", "list", "--all", "--format", "json"))
    return found


def records(ctx) -> dict:
    """The record of each incident: breaches (with what became of them), progress deadlines,
    pauses and timeline (ids aside: a new database numbers its rows anew)."""

    def event(e):
        return (e.at, e.actor, e.kind, e.text, e.before, e.after, e.recorded_at)

    found = {}
    for view in service.list_incidents(ctx, open_only=False):
        record = incident_record(ctx, view.ref)
        found[view.ref] = (
            record.breaches, record.progress, [event(e) for e in record.timeline],
            [(p.started_at, p.ended_at, p.reason, p.paused_by) for p in record.pauses],
        )  # fmt: skip
    return found


def rich_history(ctx, clock) -> None:
    """The fixture history corrected, and three incidents run in Slack before T0."""
    admin = {"reason": "checked against the logs", "admin": True}
    service.correct(ctx, "INC-A", Correction(restored_at=AT_1230, resolved_at=AT_1230), "ana", **admin)  # fmt: skip
    service.mark_excluded(ctx, "INC-C", "customer's own network", "ana")
    service.correct(ctx, "INC-D", Correction(outage=False, impact_pct=40.0), "ana", **admin)
    clock.set(T0 - 5 * 60 * M)
    slack = service.declare(
        ctx, title="Payments down", severity=1, actor="U1", customers=("acme",), outage=True,
        started_at=T0 - 6 * 60 * M,
    ).ref  # fmt: skip
    clock.advance(minutes=40)  # the response target (5 minutes) has passed
    service.post_update(ctx, slack, "looking at the card processor", "U2")
    service.change_severity(ctx, slack, 2, "U2")  # re-graded after the breach
    service.acknowledge(ctx, slack, "U2")
    service.pause(ctx, slack, "waiting for the processor", "U2")
    clock.advance(minutes=30)
    service.resume(ctx, slack, "U2")
    clock.advance(minutes=20)
    service.restore(ctx, slack, "U2")
    service.resolve(ctx, slack, "U2", summary="the processor's certificate\nhad expired")
    everyone = service.declare(ctx, title="Search slow", severity=2, actor="U3", outage=True).ref
    service.correct(ctx, everyone, Correction(started_at=T0 - 5 * 60 * M), "U3", reason="x")
    clock.advance(minutes=10)
    service.pause(ctx, everyone, "the vendor is on it", "U3")  # still open and paused at T0
    service.declare(ctx, title="Webhooks late", severity=3, actor="U3", customers=("globex",))
    clock.set(T0)


@pytest.mark.parametrize("form", ["json", "csv"])
def test_export_then_import_into_an_empty_database_reads_the_same(
    cli_history, ctx, clock, tmp_path, form
):
    rich_history(ctx, clock)
    before, record_before = everything(), records(ctx)
    out = tmp_path / f"backup.{form}"
    said = run("incidents", "export", "--format", form, "--out", str(out))
    files = [out] if form == "json" else [out, tmp_path / "backup-maintenance.csv"]
    assert (
        said == f"exported 17 incidents and 2 maintenance windows to {', '.join(map(str, files))}\n"
    )
    exported = out.read_text()

    empty(ctx.db)
    assert everything()["incidents"] == []
    for file in files:
        run("import", str(file))

    assert everything() == before
    assert records(ctx) == record_before
    again = tmp_path / f"again.{form}"
    run("incidents", "export", "--format", form, "--out", str(again))
    assert again.read_text() == exported
    # Imported again where it now is, it changes nothing, not even the timeline.
    assert "0 incidents created, 0 updated, 17 unchanged" in run("import", str(files[0]))
    assert records(ctx) == record_before


def test_the_export_holds_the_corrected_facts_and_the_record(cli_history, ctx, clock):
    rich_history(ctx, clock)
    history = json.loads(run("incidents", "export"))
    assert [list(r) for r in history["incidents"]] == [list(INCIDENT_FIELDS)] * 17
    by_ref = {r["ref"]: r for r in history["incidents"]}
    assert by_ref["INC-A"]["restored_at"] == "2026-10-05T12:30:00Z"
    assert by_ref["INC-C"]["excluded"] == "customer's own network"
    assert (by_ref["INC-D"]["outage"], by_ref["INC-D"]["impact_pct"]) == (False, 40.0)
    corrected = [e for e in by_ref["INC-A"]["timeline"] if e["kind"] == "corrected"]
    assert [(e["actor"], e["text"], e["before"], e["after"]) for e in corrected] == [
        ("ana", "checked against the logs",
         {"restored_at": "2026-10-05T10:30:00+00:00", "resolved_at": "2026-10-05T11:00:00+00:00"},
         {"restored_at": "2026-10-05T12:30:00+00:00", "resolved_at": "2026-10-05T12:30:00+00:00"}),
    ]  # fmt: skip
    payments = next(r for r in history["incidents"] if r["title"] == "Payments down")
    assert payments["reported_at"] == "2026-11-20T03:00:00Z"
    assert payments["declared_at"] == "2026-11-20T04:00:00Z"
    assert payments["pauses"] == [
        {"started_at": "2026-11-20T04:40:00Z", "ended_at": "2026-11-20T05:10:00Z",
         "reason": "waiting for the processor", "paused_by": "U2"},
    ]  # fmt: skip
    assert [(b["timer"], b["severity"], b["due_at"]) for b in payments["breaches"]] == [
        ("response", 1, "2026-11-20T03:05:00Z"),
    ]
    assert payments["source"] == "slack" and payments["declared_by"] == "U1"


def test_since_and_until_choose_incidents_by_declaration(cli_history):
    history = json.loads(
        run("incidents", "export", "--since", "2026-10-12", "--until", "2026-10-20T21:00")
    )
    assert [r["ref"] for r in history["incidents"]] == ["INC-B", "INC-C"]
    result = CliRunner().invoke(
        main, ["incidents", "export", "--since", "2026-11", "--until", "2026-10"]
    )
    assert result.exit_code == 2 and "--until" in result.stderr


def test_the_export_counts_what_it_wrote(cli_history, tmp_path):
    out = tmp_path / "one.json"
    said = run(
        "incidents",
        "export",
        "--since",
        "2026-10-13",
        "--until",
        "2026-10-20T21:00",
        "--out",
        str(out),
    )
    assert said == f"exported 1 incident and 1 maintenance window to {out}\n"


def test_csv_to_stdout_says_it_left_out_the_maintenance_windows(cli_history):
    result = CliRunner().invoke(main, ["incidents", "export", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stderr.startswith("slabot: 2 maintenance windows left out")
    assert result.stdout.splitlines()[0] == ",".join(INCIDENT_FIELDS)


def test_files_written_before_the_record_fields_import_as_they_did(ctx):
    """The fixture has none of the new fields: the response starts at the declaration and
    the timeline is made of the instants it gives."""
    import_fixture_history(ctx)
    record = incident_record(ctx, "INC-B")
    assert record.incident.reported_at == record.incident.declared_at
    assert [(e.kind, e.actor) for e in record.timeline] == [
        ("declared", "import"), ("acknowledged", "import"), ("restored", "import"),
        ("resolved", "import"),
    ]  # fmt: skip
    assert record.pauses == () and record.breaches == ()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("reported_at", "2026-10-05T11:00:00Z", "reported_at: is after declared_at"),
        ("pauses", [{"started_at": "2026-10-05T10:10:00Z", "reason": "x"}],
         "pauses[0]: paused_by: is required"),
        ("pauses", "not json", "pauses: is not a JSON list of objects"),
        ("breaches", [{"timer": "lunch", "contract": "c", "target": "5m", "severity": 1,
                       "due_at": "2026-10-05T10:05:00Z", "noticed_at": "2026-10-05T10:05:00Z",
                       "noticed_by": "notice"}], "breaches[0]: timer: 'lunch' is none of"),
        ("timeline", [{"at": "2026-10-05T10:00:00Z", "actor": "ana", "kind": "danced"}],
         "timeline[0]: kind: 'danced' is none of"),
        ("source", "fax", "source: 'fax' is none of slack, import"),
    ],
)  # fmt: skip
def test_a_bad_record_field_is_named(ctx, field, value, problem):
    from bot.incidents.importer import ImportRefused

    record = {"ref": "INC-X", "title": "t", "severity": 1, "declared_at": "2026-10-05T10:00:00Z"}
    with pytest.raises(ImportRefused) as refused:
        import_history(ctx, [record | {field: value}])
    assert problem in refused.value.problems[0]
    assert service.list_incidents(ctx, open_only=False) == []
