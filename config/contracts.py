"""Loading the contract files: policies, customers and each customer's effective policy.

What they load into (``Policy``, ``Customer``, the ``Contracts`` registry) is the policy
model's (``config.policy``): the engine knows those, never this loader.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
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


def validation_items(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """Each problem of ``error``: where (pydantic's ``loc``) and what, as a reader says it."""
    items = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "missing":
            message = "is required"
        items.append((tuple(item["loc"]), message))
    return items


def describe_validation_error(source: str, error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for loc, message in validation_items(error):
        path = field_path(loc)
        where = ".".join(p for p in (prefix, path) if p)
        problems.append(f"{source}: {where or '(top level)'}: {message}")
    return problems


class _Lines:
    """Where a value stands in a YAML file (1-based lines), read only when a problem needs
    it: a file with no problems is not parsed twice."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._root: yaml.Node | bool | None = False

    def line(self, path: Iterable[Any]) -> int | None:
        """The line of the value at ``path`` (keys and indexes), or of the deepest part of
        it the file has."""
        if self._root is False:
            try:
                self._root = yaml.compose(
                    self._path.read_text(encoding="utf-8"), Loader=_StrictLoader
                )
            except (OSError, yaml.YAMLError):
                self._root = None
        node = self._root
        if not isinstance(node, yaml.Node):
            return None
        for part in path:
            found = None
            if isinstance(node, yaml.MappingNode):
                found = next((v for k, v in node.value if k.value == str(part)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                found = node.value[part] if 0 <= part < len(node.value) else None
            if found is None:
                break
            node = found
        return node.start_mark.line + 1

    def at(self, path: Iterable[Any]) -> str:
        """``customers.yaml:12`` (the file alone when YAML gives no line)."""
        line = self.line(path)
        return f"{self._path}:{line}" if line is not None else str(self._path)


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


def effective_policy(
    policy: Policy,
    overrides: Mapping[str, Any],
    source: str,
    locate: Callable[[tuple[Any, ...]], str] | None = None,
) -> Policy:
    """``policy`` with a customer's order form applied. A problem is said where the user
    wrote it: ``overrides.severities[0]…`` counts the order form's own entries, not the
    merged policy's; ``locate`` turns that path into ``file:line`` (``source`` is said
    after it)."""
    if not overrides:
        return policy
    where = locate or (lambda _path: "")

    def said(path: tuple[Any, ...], message: str) -> str:
        head = where(path)
        return (
            f"{head + ': ' if head else ''}{source}: {field_path(('overrides', *path))}: {message}"
        )

    if "id" in overrides:
        raise ContractError([said(("id",), "the policy id cannot be overridden")])
    merged = merge_overrides(policy.model_dump(mode="python", exclude_none=True), overrides)
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for loc, message in validation_items(exc):
            # What the order form does not hold (a key it leaves out, a rule across fields)
            # is said below the deepest entry it does hold, at that entry's line.
            path, rest = _in_order_form(loc, merged, overrides)
            problems.append(said((*path, *rest), message))
        raise ContractError(problems) from None


def _in_order_form(
    loc: tuple[Any, ...], merged: Mapping[str, Any], overrides: Mapping[str, Any]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The part of a merged policy's ``loc`` that the order form holds, as the order form's
    own path (its severities counted in its own list, matched by level), and what is left of
    ``loc`` beyond it."""
    path: list[Any] = []
    mine: Any = overrides
    theirs: Any = merged
    for index, part in enumerate(loc):
        if isinstance(part, str) and part.startswith(("function-", "literal[")):
            continue  # pydantic's names for union branches
        if isinstance(mine, Mapping) and part in mine:
            path.append(part)
            mine = mine[part]
            theirs = theirs.get(part) if isinstance(theirs, Mapping) else None
            continue
        if isinstance(part, int) and isinstance(mine, list | tuple):
            item = theirs[part] if isinstance(theirs, list | tuple) and part < len(theirs) else None
            if path and path[-1] == "severities" and isinstance(item, Mapping):
                level = item.get("level")
                found = next(
                    (
                        j
                        for j, o in enumerate(mine)
                        if isinstance(o, Mapping) and o.get("level") == level
                    ),
                    None,
                )
            else:
                found = part if part < len(mine) else None
            if found is not None:
                path.append(found)
                mine, theirs = mine[found], item
                continue
        return tuple(path), tuple(loc[index:])
    return tuple(path), ()


def load_customers(path: Path | None, policies: Mapping[str, Policy]) -> dict[str, Customer]:
    """The customers of ``path``, each with its effective policy. Every problem of every
    customer is reported at once, each at its own ``file:line`` (where YAML gives one):
    a customer with a wrong fee does not hide another's wrong order form."""
    if path is None:
        return {}
    data = read_yaml(path)
    if data is None:
        return {}
    lines = _Lines(path)
    entries = data.get("customers") if isinstance(data, Mapping) else None
    try:
        CustomersFile.model_validate(
            {**data, "customers": ()} if isinstance(entries, list) else data
        )
    except ValidationError as exc:
        raise ContractError(
            [f"{lines.at(loc)}: {field_path(loc) or '(top level)'}: {message}"
             for loc, message in validation_items(exc)]
        ) from None  # fmt: skip
    customers: dict[str, Customer] = {}
    problems: list[str] = []
    ordered: dict[str, Policy] = {}
    for index, entry in enumerate(entries or ()):
        source = f"customers[{index}]"

        def locate(at: tuple[Any, ...], index: int = index) -> str:
            return lines.at(("customers", index, *at))

        try:
            spec = CustomerSpec.model_validate(entry)
        except ValidationError as exc:
            problems += [
                f"{locate(loc)}: {field_path(('customers', index, *loc))}: {message}"
                for loc, message in validation_items(exc)
            ]
            continue
        if spec.id in customers:
            problems.append(
                f"{locate(('id',))}: {source}.id: {spec.id!r} is used by another customer"
            )
            continue
        try:
            customers[spec.id] = _customer(spec, policies, source, locate, ordered)
        except ContractError as exc:  # in the order of the file's lines
            problems.extend(sorted(exc.problems, key=lambda p: _line_said(path, p)))
    if problems:
        raise ContractError(problems)
    return customers


def _line_said(path: Path, problem: str) -> int:
    """The line a problem said at ``path:line`` names (0 without one)."""
    line = problem.removeprefix(f"{path}:").split(":", 1)[0]
    return int(line) if line.isdigit() else 0


def _customer(
    spec: CustomerSpec,
    policies: Mapping[str, Policy],
    where: str,
    locate: Callable[[tuple[Any, ...]], str],
    ordered: dict[str, Policy],
) -> Customer:
    """``ordered`` keeps each order form's policy by its policy and overrides: customers who
    signed the same order form share one policy, validated once (and judged on the same
    terms by a report at no cost to compare them)."""
    if spec.policy not in policies:
        raise ContractError(
            [
                f"{locate(('policy',))}: {where}.policy: {spec.policy!r} is not a policy"
                f"{suggest(spec.policy, policies)}; policies: {', '.join(sorted(policies))}"
            ]
        )
    overrides = lambda at: locate(("overrides", *at))  # noqa: E731
    key = f"{spec.policy}\n{json.dumps(spec.overrides, sort_keys=True, default=repr)}"
    policy = ordered.get(key)
    if policy is None:
        policy = effective_policy(policies[spec.policy], spec.overrides, where, overrides)
        ordered[key] = policy
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
