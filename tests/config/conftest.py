"""Every config test runs in an empty working directory with no slabot setting in the environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import settings
from config.contracts import SHIPPED_POLICIES_DIR, load_policies, policy_files
from config.policy import Policy


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No .env, no config/customers.yaml, no slabot variable; cached settings forgotten."""
    for name in settings.HOW_TO_SET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings.reset()
    yield
    settings.reset()


@pytest.fixture(scope="session")
def shipped() -> dict[str, Policy]:
    """The shipped policies by id."""
    return load_policies(policy_files(SHIPPED_POLICIES_DIR))


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Write data (or YAML text as it is) to ``tmp_path/name``."""

    def write(name: str, data: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write
