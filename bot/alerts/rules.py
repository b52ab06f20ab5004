"""The alert rules file (``SLABOT_ALERTS_FILE``, default ``config/alerts.yaml``): which alerts
become incidents, and how.

Each rule matches a source (or ``any``) and labels (a value, or a list of values any of
which matches), and says the incident's severity, its customers (fixed, or read from a
label), its title (a template of ``{label}`` names), whether it is an outage, and whether
slabot declares it at once (``declare: auto``) or asks in ``SLABOT_ANNOUNCE_CHANNEL`` with a
"Declare" button (``declare: ask``). The first rule that matches decides; an alert no rule
matches is taken in and ignored.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.alerts.sources import SOURCES, Alert
from config.contracts import ContractError, field_path, read_yaml
from config.policy import Contracts, suggest

MAX_TITLE = 200


def _template_names(template: str) -> list[str]:
    """The ``{names}`` a title template quotes; ``ValueError`` for a template that is not one."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        plain = name.replace("_", "").replace("-", "").replace(".", "")
        if not plain.isalnum() or spec or conversion:
            raise ValueError(
                f"{{{name}}} is not a label name; write {{alertname}}, {{summary}}, {{customer}}…"
            )
        names.append(name)
    return names


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    source: str | list[str] = "any"
    match: dict[str, str | list[str]] = Field(default_factory=dict)
    severity: int = Field(ge=1, le=9)
    customers: list[str] = Field(default_factory=list)
    customer_label: str | None = None
    title: str = "{title}"
    outage: bool = False
    declare: Literal["auto", "ask"] = "auto"

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | list[str]) -> str | list[str]:
        for name in [value] if isinstance(value, str) else value:
            if name != "any" and name not in SOURCES:
                raise ValueError(
                    f"{name!r} is not a source{suggest(name, SOURCES)}; "
                    f"sources: any, {', '.join(SOURCES)}"
                )
        return value

    @field_validator("match", mode="before")
    @classmethod
    def _match(cls, value: Any) -> Any:
        if isinstance(value, dict):  # YAML reads `severity: 1` as a number; labels are text
            return {
                str(k): [str(x) for x in v] if isinstance(v, list) else str(v)
                for k, v in value.items()
            }
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; write a template such as '{alertname}: {summary}'")
        _template_names(value)
        return value

    def sources(self) -> tuple[str, ...]:
        chosen = [self.source] if isinstance(self.source, str) else self.source
        return SOURCES if "any" in chosen else tuple(chosen)

    def matches(self, alert: Alert) -> bool:
        if alert.source not in self.sources():
            return False
        for label, wanted in self.match.items():
            value = alert.labels.get(label)
            choices = wanted if isinstance(wanted, list) else [wanted]
            if value is None or value.casefold() not in {c.casefold() for c in choices}:
                return False
        return True


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)

    def decide(self, alert: Alert) -> Decision | None:
        """What the first rule that matches ``alert`` makes of it; ``None``: no rule does."""
        for index, rule in enumerate(self.rules):
            if rule.matches(alert):
                return Decision.of(rule, index, alert)
        return None


@dataclass(frozen=True)
class Decision:
    """The incident an alert makes, by the rule that matched it."""

    rule: str
    severity: int
    customers: tuple[str, ...]
    title: str
    outage: bool
    auto: bool

    @classmethod
    def of(cls, rule: Rule, index: int, alert: Alert) -> Decision:
        customers = list(rule.customers)
        if rule.customer_label and alert.labels.get(rule.customer_label, "").strip():
            customers.append(alert.labels[rule.customer_label].strip())
        return cls(
            rule=rule.name or f"rules[{index}]",
            severity=rule.severity,
            customers=tuple(dict.fromkeys(customers)),
            title=render_title(rule.title, alert),
            outage=rule.outage,
            auto=rule.declare == "auto",
        )


def render_title(template: str, alert: Alert) -> str:
    """``{alertname}: {summary}`` with the alert's labels; a name it lacks is left out, and a
    title left empty is the alert's own (its summary, name or key)."""
    values = {"title": alert.title, "source": alert.source, "key": alert.key, **alert.labels}
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name:
            parts.append(values.get(name, ""))
    title = " ".join("".join(parts).split()).strip(" :-–—")
    return (title or alert.title or alert.key)[:MAX_TITLE]


# --- loading and checking ----------------------------------------------------------------------


def load_rules(path: Path) -> AlertRules:
    """The rules of ``path``, or a ``ContractError`` whose lines say ``file:line: field: what``."""
    data = read_yaml(path)
    if data is None:
        data = {}
    try:
        return AlertRules.model_validate(data)
    except ValidationError as exc:
        raise ContractError(_problems(path, exc)) from None


def check_rules(rules: AlertRules, contracts: Contracts, path: Path) -> list[str]:
    """What the rules name that the contracts lack: a customer not in the customers file, a
    severity missing from a contract the incident would run under (as a declaration would
    refuse it)."""
    from bot.sla.contract import contracts_touched, missing_level

    problems = []
    lines = _lines(path)
    for index, rule in enumerate(rules.rules):
        where = f"{path}{_line(lines, ('rules', index))}: rules[{index}]"
        ids = []
        for name in rule.customers:
            try:
                ids.append(contracts.customer(name).id)
            except LookupError as exc:
                problems.append(f"{where}.customers: {exc.args[0]}")
        lacking = missing_level(contracts_touched(contracts, ids), rule.severity)
        if lacking is not None:
            levels = ", ".join(str(s.level) for s in lacking.policy.severities if s.level != "any")
            problems.append(
                f"{where}.severity: {rule.severity} is not in the {lacking.label} contract; "
                f"its levels: {levels}"
            )
    return problems


def _problems(path: Path, error: ValidationError) -> list[str]:
    lines = _lines(path)
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a rule field; fields: " + ", ".join(Rule.model_fields)
        loc = tuple(item["loc"])
        problems.append(f"{path}{_line(lines, loc)}: {field_path(loc) or '(top level)'}: {message}")
    return problems


def _lines(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None


def _line(node: yaml.Node | None, loc: Sequence[Any]) -> str:
    """``:12``, the line of the field at ``loc`` in the composed YAML; nothing if not found."""
    found = node
    for part in loc:
        if isinstance(found, yaml.MappingNode):
            found = _value_of(found.value, part)
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int):
            found = found.value[part] if part < len(found.value) else None
        else:
            break
        if found is None:
            break
        node = found
    return f":{node.start_mark.line + 1}" if node is not None else ""


def _value_of(pairs: Sequence[tuple[yaml.Node, yaml.Node]], name: Any) -> yaml.Node | None:
    for key, value in pairs:
        if getattr(key, "value", None) == str(name):
            return value
    return None
