"""The alert rules file: what it decides, and `slabot policy check`'s messages about it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.alerts.rules import AlertRules, load_rules, render_title
from bot.alerts.sources import Alert
from bot.cli import main
from config import settings
from config.contracts import ContractError
from config.settings import DEFAULT_ALERTS_FILE

T = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def alert(source: str = "alertmanager", **labels: str) -> Alert:
    return Alert(
        source=source, key="k", firing=True, started_at=T, title="Disk full", labels=labels
    )


@pytest.fixture
def shipped() -> AlertRules:
    return load_rules(DEFAULT_ALERTS_FILE)


@pytest.mark.parametrize(
    "source, labels, severity, outage",
    [
        ("alertmanager", {"severity": "critical"}, 1, True),
        ("grafana", {"severity": "high"}, 2, False),
        ("opsgenie", {"severity": "Warning"}, 3, False),
        ("pagerduty", {"urgency": "high"}, 2, False),
        ("pagerduty", {"urgency": "low"}, 3, False),
        ("opsgenie", {"priority": "P1"}, 1, True),
        ("opsgenie", {"priority": "P3"}, 3, False),
    ],
)
def test_the_shipped_rules_declare_by_severity_for_every_source(
    shipped, source, labels, severity, outage
):
    decision = shipped.decide(alert(source, **labels))
    assert (decision.severity, decision.outage, decision.auto) == (severity, outage, True)


def test_the_shipped_rules_take_the_customer_from_its_label_and_ignore_the_rest(shipped):
    assert shipped.decide(alert(severity="critical", customer="acme")).customers == ("acme",)
    assert shipped.decide(alert(severity="critical")).customers == ()
    assert shipped.decide(alert(severity="info")) is None
    assert shipped.decide(alert("opsgenie", priority="P5")) is None


def test_titles_quote_labels_and_fall_back_to_the_alerts_own():
    a = alert(alertname="DiskFull", instance="db-1")
    assert render_title("{alertname} on {instance}", a) == "DiskFull on db-1"
    assert render_title("{missing}: {alertname}", a) == "DiskFull"
    assert render_title("{missing}", a) == "Disk full"
    assert render_title("{source}: {title}", a) == "alertmanager: Disk full"


def test_the_first_rule_that_matches_decides_and_a_list_matches_any_value(write_rules):
    rules = load_rules(
        write_rules(
            "rules:\n"
            "  - {source: [grafana], match: {team: [db, storage]}, severity: 2, declare: ask,\n"
            "     customers: [globex], title: '{team}: {title}'}\n"
            "  - {match: {team: db}, severity: 1}\n"
        )
    )
    decision = rules.decide(alert("grafana", team="storage"))
    assert (decision.severity, decision.auto, decision.customers, decision.title) == (
        2, False, ("globex",), "storage: Disk full",
    )  # fmt: skip
    assert rules.decide(alert("alertmanager", team="db")).severity == 1


@pytest.fixture
def write_rules(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "alerts.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_a_bad_rules_file_is_refused_with_file_line_and_field(write_rules):
    path = write_rules(
        "rules:\n"
        "  - match: {severity: critical}\n"
        "    severity: 1\n"
        "  - source: nagios\n"
        "    severity: 2\n"
        "  - match: {severity: high}\n"
        "    severity: zero\n"
        "    title: '{labels[0]}'\n"
        "    declare: maybe\n"
        "    page: yes\n"
    )
    with pytest.raises(ContractError) as refused:
        load_rules(path)
    assert list(refused.value.problems) == [
        f"{path}:4: rules[1].source: 'nagios' is not a source; sources: any, alertmanager, "
        "grafana, pagerduty, opsgenie",
        f"{path}:7: rules[2].severity: Input should be a valid integer, unable to parse string as an integer",
        f"{path}:8: rules[2].title: {{labels[0]}} is not a label name; write {{alertname}}, "
        "{summary}, {customer}…",
        f"{path}:9: rules[2].declare: Input should be 'auto' or 'ask'",
        f"{path}:10: rules[2].page: is not a rule field; fields: name, source, match, severity, "
        "customers, customer_label, title, outage, declare",
    ]


@pytest.fixture
def slabot(monkeypatch):
    def run(*args: str, **env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.reset()
        return CliRunner().invoke(main, list(args))

    yield run
    settings.reset()


def test_policy_check_checks_the_shipped_alert_rules(slabot):
    result = slabot("policy", "check")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.rstrip().endswith("ok: 3 policies, 0 customers, 8 alert rules")


def test_policy_check_refuses_rules_the_contracts_cannot_declare(slabot, write_rules):
    path = write_rules(
        "rules:\n  - {match: {severity: low}, severity: 4}\n  - {severity: 1, customers: [acmee]}\n"
    )
    result = slabot("policy", "check", SLABOT_ALERTS_FILE=str(path))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:2: rules[0].severity: 4 is not in the messaging-platform contract; its levels: 1, 2, 3",
        f"{path}:3: rules[1].customers: 'acmee' is not a customer; customers: none are configured",
    ]


def test_policy_check_of_a_rules_file_given(slabot, write_rules):
    path = write_rules("rules:\n  - {match: {severity: critical}, severity: 1}\n")
    result = slabot("policy", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("ok: 3 policies, 0 customers, 1 alert rule")
