"""Loading the contract files: policies, customers and each customer's effective policy.

What they load into (``Policy``, ``Customer``, the ``Contracts`` registry) is the policy
model's (``config.policy``): the engine knows those, never this loader.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.policy import Contracts, Customer, CustomersFile, CustomerSpec, Policy, suggest

SHIPPED_POLICIES_DIR = Path(__file__).parent / "policies"


class ContractError(ValueError):
    """A contract file that cannot be used: which file, which field, what is allowed."""

    def __init__(self, problems: Iterable[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


# --- YAML ---------------------------------------------------------------------------


class _TimesAsText:
    """Keeps YAML 1.1's base-60 numbers as text: an unquoted ``17:00`` is the string
    ``"17:00"``, not the integer 1020, so an integer where a time belongs is refused."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0] and _SEXAGESIMAL.match(value):
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


class _StrictLoader(_TimesAsText, yaml.SafeLoader):
    """A safe loader that refuses a key given twice (the second would silently win), and
    keeps times as text."""


class _FastStrictLoader(_TimesAsText, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """``_StrictLoader`` on libyaml's parser, when PyYAML has it: a customers file of 1,000
    customers is read in 0.04 s instead of 0.35 s. A file it refuses is read again by
    ``_StrictLoader``, whose messages the documentation and tests quote."""


_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is given twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


for _loader in (_StrictLoader, _FastStrictLoader):
    _loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
    )


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        return yaml.load(text, Loader=_FastStrictLoader)
    except yaml.YAMLError:
        pass  # said again below, as the pure-Python parser says it
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError([f"{path}{where}: not valid YAML: {problem}"]) from None


# --- error messages ------------------------------------------------------------------


def field_path(loc: Iterable[Any]) -> str:
    """``('severities', 1, 'response')`` → ``severities[1].response``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith(("function-", "literal[", "int", "str")) and text:
            continue  # pydantic's names for union branches say nothing to a reader
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_validation_error(source: str, error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "missing":
            message = "is required"
        path = field_path(item["loc"])
        where = ".".join(p for p in (prefix, path) if p)
        problems.append(f"{source}: {where or '(top level)'}: {message}")
    return problems


# --- policies ------------------------------------------------------------------------


def parse_policy(data: Any, source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(source, exc)) from None


def load_policy_file(path: Path) -> Policy:
    policy = parse_policy(read_yaml(path), str(path))
    if path.stem != policy.id:
        raise ContractError(
            [
                f"{path}: id: {policy.id!r} differs from the file name; name the file {policy.id}.yaml"
            ]
        )
    return policy


def policy_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ContractError([f"{directory}: not a folder of policy files (*.yaml)"])
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise ContractError([f"{directory}: holds no policy files (*.yaml)"])
    return files


def load_policies(paths: Iterable[Path]) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    origin: dict[str, Path] = {}
    problems: list[str] = []
    for path in paths:
        try:
            policy = load_policy_file(path)
        except ContractError as exc:
            problems.extend(exc.problems)
            continue
        if policy.id in policies:
            problems.append(f"{path}: id: {policy.id!r} is already used by {origin[policy.id]}")
            continue
        policies[policy.id] = policy
        origin[policy.id] = path
    if problems:
        raise ContractError(problems)
    return policies


# --- customers -----------------------------------------------------------------------


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The order form wins: mappings merge key by key, severities by level, other values replace."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if (
            key == "severities"
            and isinstance(current, list | tuple)
            and isinstance(value, list | tuple)
        ):
            merged[key] = _merge_severities(current, value)
        elif isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_overrides(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_severities(base: list[Any], overrides: list[Any]) -> list[Any]:
    by_level = {item.get("level"): item for item in base if isinstance(item, Mapping)}
    result = list(base)
    for item in overrides:  # a level the policy lacks is added (the order form may add one)
        if isinstance(item, Mapping) and item.get("level") in by_level:
            index = result.index(by_level[item["level"]])
            result[index] = merge_overrides(by_level[item["level"]], item)
        else:
            result.append(item)
    return result


def effective_policy(policy: Policy, overrides: Mapping[str, Any], source: str) -> Policy:
    if not overrides:
        return policy
    if "id" in overrides:
        raise ContractError([f"{source}: overrides.id: the policy id cannot be overridden"])
    merged = merge_overrides(policy.model_dump(mode="python", exclude_none=True), overrides)
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(source, exc, prefix="overrides")) from None


def load_customers(path: Path | None, policies: Mapping[str, Policy]) -> dict[str, Customer]:
    if path is None:
        return {}
    data = read_yaml(path)
    if data is None:
        return {}
    try:
        parsed = CustomersFile.model_validate(data)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(str(path), exc)) from None
    customers: dict[str, Customer] = {}
    problems: list[str] = []
    ordered: dict[str, Policy] = {}
    for index, spec in enumerate(parsed.customers):
        where = f"{path}: customers[{index}]"
        if spec.id in customers:
            problems.append(f"{where}.id: {spec.id!r} is used by another customer")
            continue
        try:
            customers[spec.id] = _customer(spec, policies, where, ordered)
        except ContractError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContractError(problems)
    return customers


def _customer(
    spec: CustomerSpec, policies: Mapping[str, Policy], where: str, ordered: dict[str, Policy]
) -> Customer:
    """``ordered`` keeps each order form's policy by its policy and overrides: customers who
    signed the same order form share one policy, validated once (and judged on the same
    terms by a report at no cost to compare them)."""
    if spec.policy not in policies:
        raise ContractError(
            [
                f"{where}.policy: {spec.policy!r} is not a policy{suggest(spec.policy, policies)}; "
                f"policies: {', '.join(sorted(policies))}"
            ]
        )
    key = f"{spec.policy}\n{json.dumps(spec.overrides, sort_keys=True, default=repr)}"
    policy = ordered.get(key)
    if policy is None:
        policy = ordered[key] = effective_policy(policies[spec.policy], spec.overrides, where)
    return Customer(id=spec.id, name=spec.name, policy=policy, timezone=spec.timezone, fee=spec.fee)


def load_contracts(
    policy_paths: Iterable[Path],
    customers_path: Path | None,
    default_policy_id: str | None,
) -> Contracts:
    policies = load_policies(policy_paths)
    customers = load_customers(customers_path, policies)
    if default_policy_id is not None and default_policy_id not in policies:
        raise ContractError(
            [
                f"SLABOT_DEFAULT_POLICY: {default_policy_id!r} is not a policy"
                f"{suggest(default_policy_id, policies)}; policies: {', '.join(sorted(policies))}"
            ]
        )
    return Contracts(policies=policies, customers=customers, default_policy_id=default_policy_id)
