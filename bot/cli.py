"""The one command line: ``slabot …``.

Commands parse their options, call one service or engine function and print. What stops a
command is said in one line on stderr: a refusal (exit status 1, nothing changed), or a
setting, contract file, schema or database that stops start-up (exit status 2).

Where imports go: this module imports only the standard library and click at module level,
so ``slabot --help`` answers at once; each command imports what it needs in its body.
Every other module imports at the top (docs/decisions.md, "Start-up").
"""

from __future__ import annotations

import json
import signal
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bot.sla.contract import Contract


class SlabotGroup(click.Group):
    """Says what stopped a command in one line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own: usage errors, --help of a subcommand, Ctrl-C at a prompt
        except Exception as exc:
            stopped = _stopped_by(exc)
            if stopped is None:
                raise
            message, status = stopped
            click.echo(message, err=True)
            sys.exit(status)


def _stopped_by(exc: Exception) -> tuple[str, int] | None:
    """The line and exit status for an exception that stops a command, or ``None`` for one
    that is a bug (its traceback is shown). The exception types are imported here: one of
    them can only have been raised once its module was loaded."""
    from bot.errors import Refusal
    from config.contracts import ContractError
    from config.settings import SettingsError
    from storage.db import SchemaOutOfDate, unavailable

    if isinstance(exc, Refusal):
        return str(exc), 1
    if isinstance(exc, (SettingsError, ContractError, SchemaOutOfDate)):
        return f"slabot: {exc}", 2
    if unavailable(exc):  # a database that does not answer at start-up
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return (
            f"slabot: the database did not answer ({reason}); check DATABASE_URL and "
            "that the server is up",
            2,
        )
    return None


@click.group(cls=SlabotGroup)
@click.version_option(package_name="slabot")
def main() -> None:
    """slabot — SLA clocks, reminders, uptime and credits for incidents declared in Slack."""


# --- policy ----------------------------------------------------------------------------


@main.group()
def policy() -> None:
    """Check and show contract files."""


@policy.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def policy_check(files: tuple[Path, ...]) -> None:
    """Validate policy files (default: the configured policies and customers) and show them.

    A file with a top-level ``customers:`` key is checked as a customers file against the
    policies given beside it (or the configured ones); one with a top-level ``rules:`` key
    as alert rules (without files: SLABOT_ALERTS_FILE too).
    """
    from bot.text import describe_policy, table
    from config.contracts import ContractError, load_customers, load_policies, policy_files
    from config.settings import get_settings

    settings = get_settings()
    customer_files = [f for f in files if _is_customers_file(f)]
    rule_files = [f for f in files if _top_level_key(f) == "rules"]
    policy_paths = [f for f in files if f not in customer_files and f not in rule_files]
    if not files and settings.customers_path is not None:
        customer_files = [settings.customers_path]
    if not files:
        rule_files = [settings.alerts_file]
    problems: list[str] = []
    policies, customers, rules = {}, {}, 0
    try:
        policies = load_policies(policy_paths or policy_files(settings.policies_dir))
        for path in customer_files:
            customers.update(load_customers(path, policies))
    except ContractError as exc:
        problems.extend(exc.problems)
    if not problems and rule_files:
        rules, found = _check_alert_rules(rule_files, policies, customers, settings)
        problems.extend(found)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise SystemExit(1)
    for policy_ in policies.values():
        click.echo(describe_policy(policy_))
        click.echo()
    if customers:
        rows = [
            (
                c.id,
                c.name,
                c.policy.id,
                c.zone,
                f"{c.fee.amount} {c.fee.currency}/{c.fee.per}" if c.fee else None,
            )
            for c in customers.values()
        ]
        click.echo(table(("customer", "name", "policy", "zone", "fee"), rows))
        click.echo()
    from bot.text import plural

    counted = f", {plural(rules, 'alert rule')}" if rule_files else ""
    click.echo(
        f"ok: {plural(len(policies), 'policy')}, {plural(len(customers), 'customer')}{counted}"
    )


def _check_alert_rules(paths, policies, customers, settings) -> tuple[int, list[str]]:
    """The alert rules of ``paths`` checked against these contracts: how many, and what is wrong."""
    from bot.alerts.rules import check_rules, load_rules
    from config.contracts import ContractError
    from config.policy import Contracts

    default = settings.default_policy if settings.default_policy in policies else None
    contracts = Contracts(policies=policies, customers=customers, default_policy_id=default)
    count, problems = 0, []
    for path in paths:
        try:
            rules = load_rules(path)
        except ContractError as exc:
            problems.extend(exc.problems)
            continue
        count += len(rules.rules)
        problems.extend(check_rules(rules, contracts, path))
    return count, problems


def _is_customers_file(path: Path) -> bool:
    return _top_level_key(path) == "customers"


def _top_level_key(path: Path) -> str | None:
    """``customers`` or ``rules`` when the file's top level has that key (policies have neither)."""
    from config.contracts import ContractError, read_yaml

    try:
        data = read_yaml(path)
    except ContractError:
        return None
    if isinstance(data, dict):
        return next((key for key in ("customers", "rules") if key in data), None)
    return None


# --- sla ---------------------------------------------------------------------------------


@main.group()
def sla() -> None:
    """Ask the SLA engine directly."""


@sla.command("deadlines")
@click.option(
    "--policy", "policy_id", help="Policy id (default: the customer's, else the deployment's)."
)
@click.option("--severity", required=True, help="Severity level: 1, sev1, I, critical…")
@click.option(
    "--start", required=True, help="ISO-8601 instant; without an offset, in the calendar's zone."
)
@click.option("--tz", "zone", help="Zone for a policy whose calendar runs in the customer's zone.")
@click.option(
    "--customer", "customer_id", help="Customer id: its policy, order-form overrides and zone."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sla_deadlines(policy_id, severity, start, zone, customer_id, as_json) -> None:
    """Every deadline of an incident of SEVERITY started at START under a contract."""
    from bot.parse import parse_instant, parse_severity
    from bot.sla.contract import missing_level
    from bot.sla.timers import TimerKind
    from bot.text import format_local, table
    from config.settings import get_contracts

    contracts = get_contracts()
    try:
        contract = _contract(contracts, policy_id, customer_id, zone)
        names = [(s.level, s.name) for s in contract.policy.severities if s.level != "any"]
        level = parse_severity(severity, names)
        if missing_level([contract], level) is not None:
            levels = ", ".join(f"{s.level} ({s.name})" for s in contract.policy.severities)
            raise ValueError(f"severity {level} is not in {contract.policy.id}; levels: {levels}")
        started = parse_instant(start, contract.zone)
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc.args[0] if exc.args else exc)) from None
    deadlines = contract.deadlines(level, started)
    spec = contract.severity(level)
    if as_json:

        def iso(instant):
            return (
                None if instant is None else instant.astimezone(contract.calendar.zone).isoformat()
            )

        click.echo(
            json.dumps(
                {
                    "policy": contract.policy.id,
                    "customer": contract.customer.id if contract.customer else None,
                    "severity": level,
                    "severity_name": spec.name,
                    "zone": contract.zone,
                    "start": iso(started),
                    "response_due": iso(deadlines[TimerKind.RESPONSE]),
                    "restore_due": iso(deadlines[TimerKind.RESTORE]),
                    "first_progress_due": iso(deadlines[TimerKind.PROGRESS]),
                    "resolve_due": iso(deadlines[TimerKind.RESOLVE]),
                    "progress_at_resolution": contract.reports_at_resolution(level),
                },
                indent=2,
            )
        )
        return
    click.echo(f"{contract.label}: severity {level} — {spec.name}")
    click.echo(f"started {format_local(started, contract.zone)} ({started:%Y-%m-%d %H:%M} UTC)")
    rows = []
    for kind in (TimerKind.RESPONSE, TimerKind.RESTORE, TimerKind.PROGRESS, TimerKind.RESOLVE):
        rule = contract.rule(kind, level)
        due = deadlines[kind]
        if rule is None:
            note = (
                "one report at resolution"
                if kind is TimerKind.PROGRESS and contract.reports_at_resolution(level)
                else "no target"
            )
            rows.append((kind.value, note, None, None))
        else:
            rows.append(
                (
                    kind.value,
                    rule.describe(),
                    format_local(due, contract.zone),
                    f"{due:%Y-%m-%d %H:%M} UTC",
                )
            )
    click.echo(table(("timer", "target", f"due ({contract.zone})", "due (UTC)"), rows))


def _contract(contracts, policy_id, customer_id, zone) -> Contract:
    from bot.sla.contract import Contract

    if customer_id:
        customer = contracts.customer(customer_id)
        if policy_id and policy_id != customer.policy.id:
            raise ValueError(
                f"customer {customer.id} is on policy {customer.policy.id}, not {policy_id}; "
                "leave out --policy or pick one of them"
            )
        if zone:
            raise ValueError("--tz and --customer exclude each other: the customer's zone is used")
        return Contract.of_customer(customer)
    policy_ = contracts.policy(policy_id) if policy_id else contracts.default_policy
    if zone:
        from config.policy import check_zone

        check_zone(zone)
        if policy_.calendar.timezone != "customer":
            raise ValueError(
                f"{policy_.id} runs in {policy_.calendar.timezone}, fixed by the contract; "
                "--tz only sets the zone of a calendar with timezone: customer"
            )
        return Contract(policy=policy_, zone=zone)
    return Contract.of_deployment(policy_)


# --- database ----------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied (the Procfile's release phase)."""
    from config.settings import get_settings
    from storage.db import Database

    database = Database(get_settings().database_url)
    before = database.current_revision()
    database.upgrade()
    after = database.current_revision()
    click.echo(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


# --- incidents ----------------------------------------------------------------------------


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_file(file: Path) -> None:
    """Import incident and maintenance history from JSON or CSV (all or nothing)."""
    from bot.context import build_context
    from bot.incidents.importer import import_history, read_records

    ctx = build_context()
    incidents, maintenance = read_records(file)
    from bot.text import plural

    total = len(incidents) + len(maintenance)
    with click.progressbar(
        length=total, label=f"importing {plural(total, 'record')}", file=sys.stderr
    ) as bar:
        summary = import_history(ctx, incidents, maintenance, progress=bar.update)
    click.echo(
        f"imported {file}: {plural(summary.created, 'incident')} created, {summary.updated} "
        f"updated, {summary.unchanged} unchanged; "
        f"{plural(summary.maintenance_created, 'maintenance window')} created, "
        f"{summary.maintenance_updated} updated, {summary.maintenance_unchanged} unchanged"
    )


@main.group()
def incidents() -> None:
    """Incidents in the database."""


@incidents.command("list")
@click.option(
    "--open", "scope", flag_value="open", default=True, help="Only open incidents (default)."
)
@click.option("--all", "scope", flag_value="all", help="Every incident, newest first.")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table")
def incidents_list(scope: str, output: str) -> None:
    """Incidents with their state, customers and each timer's deadline."""
    from bot.context import build_context
    from bot.incidents import service
    from bot.text import table

    ctx = build_context()
    views = service.list_incidents(ctx, open_only=scope == "open")
    if output == "json":
        click.echo(json.dumps([v.as_json() for v in views], indent=2))
        return
    if not views:
        click.echo("no open incidents" if scope == "open" else "no incidents")
        return
    rows = []
    for v in views:
        nxt = v.next_deadline()
        due = f"{nxt.kind} {nxt.state} {nxt.deadline:%Y-%m-%d %H:%M} UTC" if nxt else None
        state = v.state + (" (paused)" if v.paused else "")
        title = v.title if len(v.title) <= 40 else v.title[:39] + "…"
        rows.append((v.ref, v.severity, state, title, ", ".join(v.customers) or "all",
                     f"{v.declared_at:%Y-%m-%d %H:%M}", due))  # fmt: skip
    click.echo(
        table(
            ("ref", "sev", "state", "title", "customers", "declared (UTC)", "next deadline"), rows
        )
    )


@incidents.command("show")
@click.argument("ref")
@click.option("--format", "output", type=click.Choice(["text", "json", "markdown"]), default="text")
def incidents_show(ref: str, output: str) -> None:
    """One incident's whole record (REF: INC-7): its facts, each timer with its history
    (deadline changes, pauses, breaches), each contract's outcome and the timeline with
    who did what. Times in UTC; JSON keys: docs/record.md."""
    from bot.context import build_context
    from bot.errors import Refusal
    from bot.incidents import render
    from bot.incidents.record import incident_record

    try:
        record = incident_record(build_context(), ref)
    except Refusal as refusal:
        click.echo(f"slabot: {refusal}", err=True)
        raise SystemExit(1) from None
    if output == "json":
        click.echo(json.dumps(render.record_json(record), indent=2, ensure_ascii=False))
    else:
        click.echo(render.record_text(record, markdown=output == "markdown"), nl=False)


@incidents.command("postmortem")
@click.argument("ref")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the draft to FILE (default: stdout).",
)
def incidents_postmortem(ref: str, out: Path | None) -> None:
    """A post-incident review draft in Markdown (REF: INC-7): summary, impact per customer
    (downtime, the credit tier it moved them toward), SLA outcomes, the timeline, and empty
    sections for causes and actions."""
    from bot.context import build_context
    from bot.errors import Refusal
    from bot.incidents import render
    from bot.incidents.postmortem import postmortem

    try:
        draft = postmortem(build_context(), ref)
    except Refusal as refusal:
        click.echo(f"slabot: {refusal}", err=True)
        raise SystemExit(1) from None
    text = render.postmortem_markdown(draft)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote the post-incident review draft of {draft.record.incident.ref} to {out}")


_INSTANT_HELP = "ISO-8601 (no offset: UTC)"


@incidents.command("export")
@click.option("--since", help=f"Incidents declared at or after this. {_INSTANT_HELP}.")
@click.option("--until", help=f"Incidents declared before this. {_INSTANT_HELP}.")
@click.option("--format", "output", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (CSV: maintenance windows to FILE-maintenance.csv); default stdout.",
)
def incidents_export(since: str | None, until: str | None, output: str, out: Path | None) -> None:
    """Write the record in the format `slabot import` reads, corrections applied: each
    incident's facts, pauses, breaches and timeline, and the maintenance windows. Importing
    it into an empty database gives the same reports: the backup and migration path."""
    from bot.context import build_context
    from bot.incidents import exporter
    from bot.parse import parse_instant
    from bot.text import plural

    def instant(option: str, text: str | None):
        if text is None:
            return None
        try:
            return parse_instant(text, "UTC")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None

    start, end = instant("--since", since), instant("--until", until)
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("is not after --since", param_hint="--until")
    items = exporter.records(build_context(), start, end)
    if out is None:
        stdout = sys.stdout
        if output == "json":
            exporter.write_json(items, stdout)
            return
        counts = exporter.write_csv(items, stdout, None)
        if counts["maintenance"]:
            click.echo(
                f"slabot: {plural(counts['maintenance'], 'maintenance window')} left out: CSV holds one "
                "kind of record per file; give --out FILE or --format json",
                err=True,
            )
        return
    side = out.with_name(f"{out.stem}-maintenance{out.suffix or '.csv'}")
    targets = [out] if output == "json" else [out, side]
    parts = [path.with_name(path.name + ".part") for path in targets]
    # Written beside, then renamed: a failed export leaves no file that looks complete.
    with ExitStack() as files:
        opened = [files.enter_context(p.open("w", encoding="utf-8", newline="")) for p in parts]
        if output == "json":
            counts = exporter.write_json(items, opened[0])
        else:
            counts = exporter.write_csv(items, opened[0], opened[1])
    written = []
    for part, path in zip(parts, targets, strict=True):
        if path is side and not counts["maintenance"]:
            part.unlink()
            continue
        part.replace(path)
        written.append(str(path))
    click.echo(
        f"exported {plural(counts['incident'], 'incident')} and "
        f"{plural(counts['maintenance'], 'maintenance window')} to {', '.join(written)}"
    )


@incidents.command("correct")
@click.argument("ref")
@click.option(
    "--started-at", help=f"When it started: the impact and the response start. {_INSTANT_HELP}."
)
@click.option("--declared-at", help=f"When it was declared. {_INSTANT_HELP}.")
@click.option("--acknowledged-at", help=f"The first response. {_INSTANT_HELP}, or none.")
@click.option("--restored-at", help=f"Service restored. {_INSTANT_HELP}, or none.")
@click.option("--resolved-at", help=f"Resolved. {_INSTANT_HELP}, or none (reopens it).")
@click.option("--outage", type=click.Choice(["yes", "no"]), help="Whether the service was down.")
@click.option("--impact", help="Share of traffic affected, 0 < PCT ≤ 100, or none.")
@click.option("--customers", help="The customers affected, ID,… (ids or names), or all.")
@click.option(
    "--excluded",
    type=click.Choice(["yes", "no"]),
    help="Excluded from uptime (the --reason is the exclusion's reason), or counted again.",
)
@click.option("--reason", required=True, help="Why the record is corrected (kept in its timeline).")
@click.option("--by", "actor", help="Who corrects it (default: your login name).")
def incidents_correct(
    ref: str,
    started_at: str | None,
    declared_at: str | None,
    acknowledged_at: str | None,
    restored_at: str | None,
    resolved_at: str | None,
    outage: str | None,
    impact: str | None,
    customers: str | None,
    excluded: str | None,
    reason: str,
    actor: str | None,
) -> None:
    """Correct an incident's record (REF: INC-7): one change of its facts, kept in its
    timeline with who, when, old → new and the reason; timers, reminders and reports follow
    as if it had been recorded right. Nothing changes when a fact cannot have happened."""
    import getpass

    from bot.context import build_context
    from bot.errors import Refusal
    from bot.incidents import corrections, service
    from bot.incidents.corrections import KEEP, Correction
    from bot.parse import parse_instant
    from bot.sla.credits import period_name

    def instant(option: str, text: str | None, *, clears: bool = False):
        if text is None:
            return KEEP
        if clears and text.strip().lower() == "none":
            return None
        try:
            return parse_instant(text, "UTC")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None

    def percent(text: str | None):
        if text is None:
            return KEEP
        if text.strip().lower() == "none":
            return None
        try:
            return float(text.strip().removesuffix("%"))
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a number", param_hint="--impact") from None

    correction = Correction(
        started_at=instant("--started-at", started_at),
        declared_at=instant("--declared-at", declared_at),
        acknowledged_at=instant("--acknowledged-at", acknowledged_at, clears=True),
        restored_at=instant("--restored-at", restored_at, clears=True),
        resolved_at=instant("--resolved-at", resolved_at, clears=True),
        outage=KEEP if outage is None else outage == "yes",
        impact_pct=percent(impact),
        customers=KEEP if customers is None else tuple(
            () if customers.strip().lower() == "all" else (c for c in customers.split(",") if c.strip())
        ),
        excluded=KEEP if excluded is None else (reason if excluded == "yes" else None),
    )  # fmt: skip
    if actor is None:
        try:
            actor = getpass.getuser()
        except (OSError, KeyError):
            actor = "cli"
    ctx = build_context()
    try:
        outcome = service.correct(ctx, ref, correction, actor[:64], reason=reason, admin=True)
    except Refusal as refusal:
        click.echo(f"slabot: {refusal}; nothing was changed", err=True)
        raise SystemExit(1) from None
    view = outcome.view

    def when(instant: object) -> str:
        return f"{instant:%Y-%m-%d %H:%M:%S} UTC"

    click.echo(f"corrected {view.ref} (by {actor}):")
    for line in corrections.describe(outcome.changes, when):
        click.echo(f"  {line}")
    for kind, timer in view.timers.items():
        due = "—" if timer.deadline is None else when(timer.deadline)
        click.echo(f"  {kind} {timer.state} (due {due})")
    for customer, start, end in outcome.flagged:
        known = ctx.contracts.customers.get(customer)
        period = period_name((start, end), known.zone if known else "UTC")
        click.echo(f"  the next weekly digest says what this changed for {customer}, {period}")


# --- maintenance ---------------------------------------------------------------------------


@main.group()
def maintenance() -> None:
    """Announced maintenance windows: list, announce, move and cancel (as /sla maintenance)."""


_PLANNED_HELP = "in 2h, tomorrow 02:00, Sat 22:00, 22:00 or ISO-8601, in --tz"


def _actor(actor: str | None) -> str:
    import getpass

    if actor is None:
        try:
            actor = getpass.getuser()
        except (OSError, KeyError):
            actor = "cli"
    return actor[:64]


def _planned(ctx, start: str, end: str, zone: str):
    from bot.parse import parse_ahead

    now = ctx.clock.now()
    try:
        starts = parse_ahead(start, now, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--start") from None
    try:
        return starts, parse_ahead(end, now, zone, after=starts)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--end") from None


def _zone(zone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{zone!r} is not an IANA zone (Europe/Copenhagen, UTC)", param_hint="--tz"
        ) from None
    return zone


def _echo_window(window, zone: str) -> None:
    from bot.text import format_window

    whom = ", ".join(window.customers) or "every customer"
    click.echo(f"  {window.title} — for {whom}")
    click.echo(f"  {format_window(window.starts_at, window.ends_at, zone)}")
    for verdict in window.verdicts:
        click.echo(f"  {verdict.describe()}")


@maintenance.command("list")
@click.option("--customer", "customer_id", help="Only the windows affecting one customer.")
@click.option("--tz", "zone", default="UTC", show_default=True, help="Zone of the times shown.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def maintenance_list(customer_id: str | None, zone: str, output: str) -> None:
    """Windows to come, under way, and ended in the last 30 days, with each contract's verdict."""
    from bot.context import build_context
    from bot.maintenance import service
    from bot.text import format_local, format_window

    zone = _zone(zone)
    ctx = build_context()
    listed = service.listed(ctx, customer_id)
    if output == "json":
        click.echo(json.dumps([service.as_json(w) for w in listed], indent=2))
        return
    if not listed:
        click.echo("no maintenance to come, under way or ended in the last 30 days")
        return
    now = ctx.clock.now()
    for window in listed:
        match window.state(now):
            case service.WindowState.CALLED_OFF:
                state = f"cancelled by {window.cancelled_by} before it started: excludes nothing"
            case service.WindowState.CUT_SHORT:
                state = f"cancelled by {window.cancelled_by} while under way"
            case other:
                state = other.value
        whom = ", ".join(window.customers) or "every customer"
        click.echo(f"{window.ref} {window.title} — for {whom} · {state}")
        click.echo(f"  {format_window(window.starts_at, window.ends_at, zone)}")
        for change in window.changes:
            was = f", was {format_window(*change.was, zone)}" if change.was else ""
            why = f" ({change.reason})" if change.reason else ""
            click.echo(
                f"  {change.kind} by {change.actor} {format_local(change.at, zone)}{why}{was}"
            )
        if not window.called_off:
            for verdict in window.verdicts:
                click.echo(f"  {verdict.describe()}")


@maintenance.command("announce")
@click.option("--start", required=True, help=f"When it starts: {_PLANNED_HELP}.")
@click.option(
    "--end", required=True, help="When it ends (a clock time is the first after the start)."
)
@click.option("--title", required=True, help="What is done.")
@click.option(
    "--customer",
    "customers",
    multiple=True,
    help="A customer affected (repeat); default: every customer.",
)
@click.option(
    "--tz", "zone", default="UTC", show_default=True, help="Zone of times without an offset."
)
@click.option("--by", "actor", help="Who announces it (default: your login name).")
def maintenance_announce(start, end, title, customers, zone, actor) -> None:
    """Announce a window now; says per contract whether the notice is enough."""
    from bot.context import build_context
    from bot.maintenance import service

    zone = _zone(zone)
    ctx = build_context()
    starts, ends = _planned(ctx, start, end, zone)
    window = service.announce(
        ctx, title=title, starts_at=starts, ends_at=ends, actor=_actor(actor), customers=customers
    )
    click.echo(f"announced {window.ref}:")
    _echo_window(window, zone)


@maintenance.command("cancel")
@click.argument("ref")
@click.option("--reason", default="", help="Why (kept in the window's history).")
@click.option("--by", "actor", help="Who cancels it (default: your login name).")
def maintenance_cancel(ref: str, reason: str, actor: str | None) -> None:
    """Cancel a window (REF: MW-3): before it starts it excludes nothing; under way, it ends now."""
    from bot.context import build_context
    from bot.maintenance import service

    window = service.cancel(build_context(), ref, actor=_actor(actor), reason=reason)
    if window.called_off:
        click.echo(f"cancelled {window.ref}: it had not started, so it excludes nothing")
    else:
        click.echo(
            f"cancelled {window.ref}: it was under way and ended {window.ends_at:%Y-%m-%d %H:%M:%S} UTC"
        )


@maintenance.command("move")
@click.argument("ref")
@click.option("--start", required=True, help=f"The new start: {_PLANNED_HELP}.")
@click.option(
    "--end", required=True, help="The new end (a clock time is the first after the start)."
)
@click.option(
    "--tz", "zone", default="UTC", show_default=True, help="Zone of times without an offset."
)
@click.option("--reason", default="", help="Why (kept in the window's history).")
@click.option("--by", "actor", help="Who moves it (default: your login name).")
def maintenance_move(ref, start, end, zone, reason, actor) -> None:
    """Move a window (REF: MW-3). Outside its announced time it is a new announcement: its
    notice counts from now."""
    from bot.context import build_context
    from bot.maintenance import service
    from bot.text import format_window

    zone = _zone(zone)
    ctx = build_context()
    starts, ends = _planned(ctx, start, end, zone)
    moved = service.move(
        ctx, ref, starts_at=starts, ends_at=ends, actor=_actor(actor), reason=reason
    )
    click.echo(f"moved {moved.window.ref}, was {format_window(*moved.before, zone)}:")
    _echo_window(moved.window, zone)
    if moved.renoticed:
        click.echo("  the new time is a new announcement: its notice counts from now")


# --- reports -------------------------------------------------------------------------------


@main.command("report")
@click.option("--period", required=True, help="YYYY-MM for a month, YYYY for a year.")
@click.option("--customer", "customer_id", help="One customer (id or name); default: all.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
def report(period: str, customer_id: str | None, output: str) -> None:
    """Uptime, credits owed, budget left and claim deadline per customer, by its own contract.

    A yearly contract asked for a month shows its year to date; a monthly contract asked
    for a year shows the year, with every month's credits. A period still running means
    "if nothing else goes down".
    """
    with _collector_paused():
        from bot.context import build_context
        from bot.reports.service import customer_report

        result = customer_report(build_context(), period, customer_id)
        if output == "json":
            click.echo(result.json_text())
        elif output == "csv":
            click.echo(result.as_csv(), nl=False)
        else:
            click.echo(result.as_text())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a one-shot command runs.

    A report keeps the few hundred thousand objects it reads until it is printed, so the
    collector's passes over them find nothing to free (about a sixth of the whole
    ``slabot report`` process at 1,000 customers). Only a command of the command line,
    whose process does nothing else, may pause it: the switch is process-wide, so no
    service does (``slabot serve`` runs threads; docs/decisions.md, "Speed").

    When the command is done, what it made is frozen (``gc.freeze``) before the collector
    resumes: otherwise its first pass, and the one Python makes when the process ends, would
    walk all of it once more just before the process frees it (0.2 s). Those objects are still
    freed when no longer used; only a cycle among them would wait for the process's end.
    """
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.freeze()
            gc.enable()


@main.command("statement")
@click.option("--customer", "customer_id", required=True, help="The customer (id or name).")
@click.option("--period", required=True, help="YYYY-MM for a month, YYYY for a year.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["html", "pdf", "md"]),
    default="html",
    show_default=True,
    help="A self-contained HTML page, its PDF (needs Chromium), or Markdown.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="The file to write; - for standard output "
    "(default: slabot-statement-<customer>-<period>.<format> here).",
)
def statement(customer_id: str, period: str, output: str, out: Path | None) -> None:
    """A customer's SLA statement for a month or a year: uptime with a chart of downtime,
    each outage and exclusion, response times, the credits owed with the contract clause that
    owes them, and the claim deadline. The figures are `slabot report`'s."""
    from bot.context import build_context
    from bot.reports.statement import customer_statement
    from bot.statements import filename, render
    from bot.statements.pdf import PdfEngineMissing, find_chromium

    chromium = find_chromium() if output == "pdf" else None
    if output == "pdf" and chromium is None:  # say so before anything is read
        click.echo(f"slabot: {PdfEngineMissing()}", err=True)
        sys.exit(2)
    result = customer_statement(build_context(), period, customer_id)
    data = render(result, output, chromium=chromium)  # type: ignore[arg-type]
    if out is not None and str(out) == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    path = out or Path(filename(result, output))  # type: ignore[arg-type]
    path.write_bytes(data)
    click.echo(f"wrote {path}: {result.customer.name}, {result.figures.period_text()}", err=True)


# --- weekly digest -------------------------------------------------------------------------


@main.command("digest")
@click.option("--week", help="ISO week, e.g. 2026-W44 (default: the last complete week).")
@click.option("--print", "action", flag_value="print", default=True, help="Print it (default).")
@click.option("--send", "action", flag_value="send", help="Send it now to every recipient.")
@click.option(
    "--chart",
    "chart_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the digest's chart of downtime budgets to this PNG file.",
)
def digest(week: str | None, action: str, chart_file: Path | None) -> None:
    """The weekly SLA digest: the week's incidents, attainment, customers and credits.

    Weeks run Monday to Sunday in SLABOT_DIGEST_SCHEDULE's zone. --send posts it now to
    SLABOT_MANAGERS (direct messages) and SLABOT_DIGEST_CHANNEL. For a week that has ended
    it is recorded as sent, so the worker does not send it again; whoever had it already
    gets it again (they asked). The running week is sent as a preview and not recorded.
    """
    import os
    import socket

    from slack_sdk.errors import SlackApiError

    from bot.context import build_context
    from bot.digest.sender import DigestSender
    from bot.digest.service import make_digest
    from bot.digest.text import as_text
    from bot.digest.weeks import last_complete_week, parse_week
    from config.settings import get_settings

    settings = get_settings()
    ctx = build_context(settings)
    zone = settings.digest_zone
    try:
        wanted = parse_week(week) if week else last_complete_week(ctx.clock.now(), zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        made = make_digest(ctx, wanted, zone) if action == "print" or chart_file else None
        if chart_file is not None:
            _write_chart(made, chart_file)
        if action == "print":
            click.echo(as_text(made))
            return
        from bot.slack.client import make_client

        settings.require("SLACK_BOT_TOKEN")
        sender = DigestSender(ctx, make_client(settings), settings)
        outcomes = sender.send_now(wanted, f"cli:{socket.gethostname()}:{os.getpid()}")
    except SlackApiError as exc:  # a user group in SLABOT_MANAGERS could not be read
        click.echo(f"Slack refused listing the recipients: {exc.response.get('error')}", err=True)
        raise SystemExit(1) from None
    for outcome in outcomes:
        detail = f" ({outcome.detail})" if outcome.detail else ""
        click.echo(f"{wanted}: {outcome.recipient} {outcome.status}{detail}")
    if any(o.status in ("failed", "retry") for o in outcomes):
        raise SystemExit(1)


def _write_chart(made, path: Path) -> None:
    """The digest's chart as a PNG file, or why there is none (exit status 1)."""
    from bot.digest.chart import budget_chart

    png = budget_chart(made)
    if png is None:
        click.echo(
            f"no chart for {made.week.label}: no customer's uptime is measured "
            "(no customers, or none whose policy has an uptime section)",
            err=True,
        )
        raise SystemExit(1)
    path.write_bytes(png)
    click.echo(f"wrote {path}: the downtime budgets of {made.week.label}", err=True)


# --- serving -------------------------------------------------------------------------------


def _logging(settings) -> None:
    """The one log setup of the long-running commands: ``SLABOT_LOG_FORMAT`` (text or json),
    every record on one line with its control characters escaped (bot/logs.py)."""
    from bot import logs

    logs.configure(settings.log_format)


_METRICS_PORT = click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port).",
)
_METRICS_HOST = click.option(
    "--metrics-host",
    default="0.0.0.0",
    show_default=True,
    help="Interface the metrics listen on, with --metrics-port.",
)


@main.command("serve")
@click.option("--port", type=int, help="HTTP port (default: PORT, else 3000).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option(
    "--socket",
    "socket_mode",
    is_flag=True,
    help="Socket Mode (needs SLACK_APP_TOKEN) instead of HTTP.",
)
@_METRICS_PORT
@_METRICS_HOST
def serve(
    port: int | None, host: str, socket_mode: bool, metrics_port: int | None, metrics_host: str
) -> None:
    """Run the Slack app: HTTP at /slack/events (and /healthz, /metrics), or Socket Mode
    (which listens on nothing: ``--metrics-port`` serves its /metrics)."""
    from slack_sdk.errors import SlackApiError

    from bot.context import build_context, warm
    from bot.slack.app import build_app, http_server, socket_mode_handler
    from config.settings import get_settings

    settings = get_settings()
    # What serving cannot do without is checked before anything is touched: no database is
    # created or migrated for a server that would refuse to start.
    settings.require("SLACK_BOT_TOKEN")
    settings.require("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    _logging(settings)
    ctx = build_context(settings)
    warm(ctx)
    app, edge = build_app(ctx, settings, socket_mode=socket_mode)
    previous = signal.signal(signal.SIGTERM, _stop)  # a platform's stop: finish what was acked
    metrics_server = _serve_metrics(ctx, settings, metrics_host, metrics_port)
    failure = None
    try:
        if socket_mode:
            click.echo("slabot: Socket Mode, connecting to Slack…", err=True)
            try:
                socket_mode_handler(app, settings).start()
            except SlackApiError as exc:
                failure = f"Socket Mode could not connect: {exc.response.get('error')}"
        else:
            port = settings.port if port is None else port
            server = http_server(app, ctx, settings, host=host, port=port)
            click.echo(
                f"slabot: listening on http://{host}:{server.effective_port}/slack/events",
                err=True,
            )
            server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if metrics_server is not None:
            metrics_server.close()
        if not edge.wait_idle(timeout=20):
            click.echo("slabot: stopped with work still running after 20 s", err=True)
    if failure:
        click.echo(f"slabot: {failure}", err=True)
        raise SystemExit(1)


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


# --- console -------------------------------------------------------------------------------


@main.command("console")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True, max=10000),
    default=1.0,
    show_default=True,
    help="Run every clock N times faster: at 60 a 30-minute target runs out in 30 seconds.",
)
@click.option(
    "--policy",
    "policy_id",
    help="The policy of incidents that name no customer (default: SLABOT_DEFAULT_POLICY).",
)
@click.option(
    "--customers",
    "customers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A customers file to rehearse (default: SLABOT_CUSTOMERS_FILE, else none).",
)
@click.option(
    "--database",
    "database_url",
    help="A database URL, used as it is (default: a new slabot-console.db here each session).",
)
@click.option("--tz", "zone", help="Your time zone for the times shown (default: this machine's).")
def console(speed, policy_id, customers_file, database_url, zone) -> None:
    """Try slabot, or run an incident drill, in the terminal: no Slack, no tokens.

    Type /incident … and /sla … as in Slack and see what the incident channel would show,
    reminders included as they fall due; `help` lists the console's own commands (wait,
    click, channel, who…). Reads a script when stdin is not a terminal.
    """
    from bot.console import session

    if zone is not None and not session.is_zone(zone):
        raise click.BadParameter(
            f"{zone!r} is not a time zone; give an IANA name such as Europe/Copenhagen",
            param_hint="--tz",
        )
    try:
        session.main(
            speed=speed, policy_id=policy_id, customers_file=customers_file,
            database_url=database_url, zone=zone, stdin=sys.stdin, stdout=sys.stdout,
        )  # fmt: skip
    except LookupError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--policy") from None


# --- the worker ----------------------------------------------------------------------------


def _serve_metrics(ctx, settings, host: str, port: int | None):
    """With ``--metrics-port``: /metrics on a port of its own, on a thread; the server."""
    if port is None:
        return None
    from bot.metrics import serve_in_background

    server = serve_in_background(ctx, settings, host=host, port=port)
    click.echo(f"slabot: metrics at http://{host}:{server.effective_port}/metrics", err=True)
    return server


def _worker(ctx, settings, poll: float, batch: int, concurrency: int = 4):
    from bot.worker import Worker, worker_client

    settings.require("SLACK_BOT_TOKEN")
    worker = Worker(
        ctx, worker_client(settings), settings, poll=poll, batch=batch, concurrency=concurrency
    )
    worker.check_token()
    return worker


_POLL = click.option(
    "--poll",
    type=click.FloatRange(0.05, 60),
    default=0.5,
    show_default=True,
    help="Longest sleep (seconds) before looking for new reminders.",
)
DEFAULT_BATCH = 20
"""Reminders a worker claims at a time, unless ``slabot worker --batch`` says otherwise."""
_BATCH = click.option(
    "--batch",
    type=click.IntRange(1, 500),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Reminders claimed at a time.",
)


@main.command("worker")
@_POLL
@_BATCH
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Posts in flight at once.",
)
@_METRICS_PORT
@_METRICS_HOST
def worker_command(
    poll: float, batch: int, concurrency: int, metrics_port: int | None, metrics_host: str
) -> None:
    """Post reminders as they fall due, each once (run one or more; SIGTERM stops cleanly)."""
    from bot.context import build_context, warm
    from config.settings import get_settings

    settings = get_settings()
    _logging(settings)
    ctx = build_context(settings)
    warm(ctx)
    worker = _worker(ctx, settings, poll, batch, concurrency)
    worker.install_signal_handlers()
    server = _serve_metrics(ctx, settings, metrics_host, metrics_port)
    click.echo(f"slabot: worker {worker.worker_id} posting reminders", err=True)
    try:
        worker.run()
    finally:
        if server is not None:
            server.close()


@main.command("run")
@click.option(
    "--http",
    "http",
    is_flag=True,
    help="Serve HTTP at /slack/events (PORT) instead of Socket Mode.",
)
@click.option(
    "--port", type=int, help="HTTP port with --http (default: PORT, else 3000; 0: any free one)."
)
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface, with --http.")
@_POLL
@_METRICS_PORT
@_METRICS_HOST
def run_command(
    http: bool,
    port: int | None,
    host: str,
    poll: float,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """The Slack app and the reminder worker in one process: the one command for a small team.

    Socket Mode by default (SLACK_APP_TOKEN; no public URL needed). SIGTERM or Ctrl-C stops
    both: the worker finishes the reminder in hand and hands back the rest.
    """
    import threading

    from slack_sdk.errors import SlackApiError

    from bot.context import build_context, warm
    from bot.slack.app import build_app, http_server, socket_mode_handler
    from config.settings import get_settings

    settings = get_settings()
    _logging(settings)
    if not http:
        settings.require("SLACK_APP_TOKEN")
    ctx = build_context(settings)
    warm(ctx)
    app, edge = build_app(ctx, settings, socket_mode=not http)
    worker = _worker(ctx, settings, poll, DEFAULT_BATCH)
    stop = threading.Event()
    port = settings.port if port is None else port
    server = http_server(app, ctx, settings, host=host, port=port) if http else None

    def shut_down(*_) -> None:
        first = not stop.is_set()
        stop.set()
        if server is not None and first:
            raise KeyboardInterrupt  # waitress stops serving cleanly on it

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shut_down)
    metrics_server = _serve_metrics(ctx, settings, metrics_host, metrics_port)
    thread = worker.start()
    failure = None
    try:
        if server is not None:
            click.echo(
                f"slabot: listening on http://{host}:{server.effective_port}/slack/events, "
                f"worker {worker.worker_id} posting reminders",
                err=True,
            )
            server.run()
        else:
            handler = socket_mode_handler(app, settings)
            try:
                handler.connect()
                click.echo(
                    f"slabot: Socket Mode connected, worker {worker.worker_id} posting reminders",
                    err=True,
                )
                while not stop.wait(1.0):
                    pass
            except SlackApiError as exc:
                failure = f"Socket Mode could not connect: {exc.response.get('error')}"
            finally:
                handler.close()
    finally:
        worker.stop.set()
        thread.join(timeout=30)
        if metrics_server is not None:
            metrics_server.close()
        if not edge.wait_idle(timeout=20):
            click.echo("slabot: stopped with work still running after 20 s", err=True)
    if failure:
        click.echo(f"slabot: {failure}", err=True)
        raise SystemExit(1)
    click.echo("slabot: stopped", err=True)


@main.command("doctor")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="First send failed reminders again (after fixing their cause).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def doctor(retry_failed: bool, as_json: bool) -> None:
    """Is everything that sends reminders working? Exit status 1 when something is not.

    Checks that the database answers and its schema is current, that a worker is alive
    (heartbeats), and lists failed reminders with their errors and overdue ones.
    """
    from bot.clock import SystemClock
    from bot.context import Context
    from bot.reminders import service as reminders
    from config.settings import get_contracts, get_settings
    from storage.db import Database

    database = Database(get_settings().database_url)
    ctx = Context(db=database, contracts=get_contracts(), clock=SystemClock())
    health = reminders.diagnose(ctx, requeue_failed=retry_failed)
    if as_json:
        click.echo(json.dumps(health.as_json(), indent=2))
    else:
        for line in health.lines():
            click.echo(line)
    if not health.healthy:
        raise SystemExit(1)


if __name__ == "__main__":  # python -m bot.cli, as the console script runs it
    main(prog_name="slabot")
