"""Fixtures of the pure engine's tests: the shipped policies as contracts, and local instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.sla.contract import Contract
from config.contracts import SHIPPED_POLICIES_DIR, load_policies, policy_files
from config.policy import Policy

UTC = dt.UTC
CPH = ZoneInfo("Europe/Copenhagen")
NY = ZoneInfo("America/New_York")
POLICIES: dict[str, Policy] = load_policies(policy_files(SHIPPED_POLICIES_DIR))


def cph(*parts: int) -> dt.datetime:
    """Wall time in Copenhagen: ``cph(2026, 11, 20, 16, 30)``."""
    return dt.datetime(*parts, tzinfo=CPH)


def ny(*parts: int) -> dt.datetime:
    """Wall time in New York."""
    return dt.datetime(*parts, tzinfo=NY)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="session")
def dixa() -> Contract:
    """Dixa for a customer that names no zone: Europe/Copenhagen, Mon–Fri 08–17, no holidays."""
    return Contract.of_deployment(POLICIES["dixa"])


@pytest.fixture(scope="session")
def dixa_ny() -> Contract:
    """Dixa for a customer in New York (``timezone: customer``)."""
    return Contract(policy=POLICIES["dixa"], zone="America/New_York")


@pytest.fixture(scope="session")
def diplomasafe() -> Contract:
    return Contract.of_deployment(POLICIES["diplomasafe"])


@pytest.fixture(scope="session")
def messaging() -> Contract:
    return Contract.of_deployment(POLICIES["messaging-platform"])
