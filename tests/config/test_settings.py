"""Settings from the environment and .env; a bad one stops start-up with one line that says how to fix it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from config import settings
from config.contracts import SHIPPED_POLICIES_DIR, ContractError
from config.settings import HOW_TO_SET, SettingsError, get_contracts, get_settings

SECRETS = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLABOT_HEALTH_TOKEN"]
LISTS = {
    "SLABOT_RESPONDERS": "responders",
    "SLABOT_ADMINS": "admins",
    "SLABOT_MANAGERS": "managers",
    "SLABOT_ESCALATION": "escalation",
}
CUSTOMERS = (
    "customers:\n  - {id: acme, name: Acme Retail Inc., policy: dixa, timezone: America/New_York}\n"
)


def dotenv(text: str) -> None:
    Path(".env").write_text(text, encoding="utf-8")
    settings.reset()


def settings_error(call=get_settings) -> str:
    with pytest.raises(SettingsError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- defaults ----------------------------------------------------------------------------------


def test_defaults():
    s = get_settings()
    assert s.database_url == "sqlite:///slabot.db"  # a file in the working directory
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.policies_dir == SHIPPED_POLICIES_DIR
    assert (s.customers_file, s.customers_path) == (None, None)
    assert s.default_policy == "messaging-platform"
    assert (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token) == (None, None, None)
    assert (s.responders, s.admins, s.managers, s.escalation) == ([], [], [], [])
    assert (s.incident_channels, s.channel_prefix, s.announce_channel, s.port) == (
        "create",
        "inc",
        None,
        3000,
    )


def test_default_contracts_are_the_shipped_policies_and_no_customers():
    contracts = get_contracts()
    assert sorted(contracts.policies) == ["diplomasafe", "dixa", "messaging-platform"]
    assert contracts.customers == {}
    assert contracts.default_policy.id == "messaging-platform"


def test_a_customers_file_at_the_default_place_is_loaded():
    Path("config").mkdir()
    Path("config/customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    assert get_settings().customers_path == Path("config/customers.yaml")
    assert list(get_contracts().customers) == ["acme"]


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://slack.com/api", "https://slack.com/api/"),
        ("http://localhost:8080/api/", "http://localhost:8080/api/"),
    ],
)
def test_the_slack_api_url_ends_in_one_slash(env, given, used):
    env(SLACK_API_URL=given)
    assert get_settings().slack_api_url == used


# --- where settings come from --------------------------------------------------------------------


def test_settings_come_from_the_environment(env):
    env(
        DATABASE_URL="postgresql+psycopg://slabot@db/slabot",
        SLABOT_DEFAULT_POLICY="dixa",
        SLABOT_INCIDENT_CHANNELS="current",
        PORT="8080",
    )
    s = get_settings()
    assert (s.database_url, s.default_policy, s.incident_channels, s.port) == (
        "postgresql+psycopg://slabot@db/slabot",
        "dixa",
        "current",
        8080,
    )
    assert get_contracts().default_policy.id == "dixa"


def test_settings_come_from_dotenv_in_the_working_directory():
    dotenv("DATABASE_URL=sqlite:///from-dotenv.db\nSLACK_BOT_TOKEN=xoxb-from-dotenv\n")
    s = get_settings()
    assert s.database_url == "sqlite:///from-dotenv.db"
    assert s.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"


def test_the_environment_wins_over_dotenv(env):
    dotenv("DATABASE_URL=sqlite:///from-dotenv.db\n")
    env(DATABASE_URL="sqlite:///from-env.db")
    assert get_settings().database_url == "sqlite:///from-env.db"


def test_the_example_dotenv_is_valid():
    example = Path(__file__).parents[2] / ".env.example"
    dotenv(example.read_text(encoding="utf-8"))
    s = get_settings()
    assert (s.database_url, s.default_policy, s.responders) == (
        "sqlite:///slabot.db",
        "messaging-platform",
        [],
    )


def test_settings_are_cached_until_reset(monkeypatch):
    assert get_settings().port == 3000
    monkeypatch.setenv("PORT", "8080")
    assert get_settings().port == 3000
    settings.reset()
    assert get_settings().port == 8080


# --- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECRETS)
def test_secrets_never_show(env, name):
    secret = "xoxb-1234-very-secret"
    env(**{name: secret})
    s = get_settings()
    value = s.require(name)
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == secret
    for shown in (repr(s), str(s), str(s.model_dump())):
        assert secret not in shown


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_a_required_secret_that_is_missing_stops_with_one_line(env, name, value):
    if value is not None:
        env(**{name: value})
    message = settings_error(lambda: get_settings().require(name))
    assert message == (
        f"{name} is not set: set it in the environment or in .env ({HOW_TO_SET[name]})"
    )


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DATABASE_URL", "foo", "is not a database URL"),
        ("DATABASE_URL", "", "is not a database URL"),
        (
            "DATABASE_URL",
            "postgresql+psycopg://u:pw@db:five/x",
            "is not a database URL (is the port",
        ),
        ("DATABASE_URL", "postgres://u:pw@db/x", "postgres is not a database slabot can use"),
        (
            "DATABASE_URL",
            "mysql://u:pw@db/x",
            "mysql is not a database slabot can use: it supports SQLite (sqlite:///slabot.db) "
            "and PostgreSQL (postgresql+psycopg://user@host/db)",
        ),
        ("DATABASE_URL", "mssql+pyodbc://u@db/x", "mssql is not a database slabot can use: it"),
        (
            "DATABASE_URL",
            "postgresql+psycopg2://u@db/x",
            "postgresql+psycopg2: slabot talks to PostgreSQL through psycopg 3; write "
            "postgresql+psycopg://…",
        ),
        ("SLABOT_HEALTH_TOKEN", "short", "is too short: use at least 16 characters"),
        ("SLABOT_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("SLACK_API_URL", "slack.com/api", "must start with http:// or https://"),
        ("PORT", "http", "valid integer"),
        ("PORT", "0", "greater than or equal to 1"),
        ("PORT", "70000", "less than or equal to 65535"),
        ("SLABOT_INCIDENT_CHANNELS", "new", "'create' or 'current'"),
        ("SLABOT_CHANNEL_PREFIX", "INC", "must be lower-case letters, digits, - or _"),
        ("SLABOT_ADMINS", '["U1", ', 'is not a list; write U1, S2 or ["U1", "S2"]'),
        ("SLABOT_ADMINS", "[1, 2]", "valid string"),
        ("SLABOT_ARCHIVE_AFTER", "a week", "'a week' is not a span; write a span such as 7d"),
        ("SLABOT_ARCHIVE_AFTER", "7", "'7' is not a span"),
        ("SLABOT_ARCHIVE_AFTER", "0d", "'0d' is zero"),
        ("SLABOT_ARCHIVE_AFTER", "400d", "'400d' is more than a year"),
    ],
    ids=lambda v: v if len(v) < 16 else None,
)
def test_an_invalid_setting_stops_with_one_line_naming_it(env, name, value, problem):
    env(**{name: value})
    message = settings_error()
    assert message.startswith(f"{name}: ")
    assert problem in message
    assert message.endswith(f"; set it in the environment or in .env ({HOW_TO_SET[name]})")


@pytest.mark.parametrize(
    ("value", "span"),
    [
        (None, None),
        ("off", None),
        ("", None),
        ("7d", dt.timedelta(days=7)),
        ("12h", dt.timedelta(hours=12)),
        ("1d 12h", dt.timedelta(hours=36)),
        ("90m", dt.timedelta(minutes=90)),
    ],
)
def test_archive_after_is_a_span_or_off(env, value, span):
    if value is not None:
        env(SLABOT_ARCHIVE_AFTER=value)
    assert get_settings().archive_channels_after == span


def test_an_invalid_setting_in_dotenv_is_named_too():
    dotenv("DATABASE_URL=slabot.db\n")
    assert settings_error().startswith("DATABASE_URL: is not a database URL; set it")


def test_every_setting_says_how_to_set_it():
    assert set(HOW_TO_SET) == {
        str(getattr(f.validation_alias, "choices", [f.validation_alias])[0])
        for f in settings.Settings.model_fields.values()
    }


def test_an_unknown_default_policy_is_named(env):
    env(SLABOT_DEFAULT_POLICY="dixaa")
    with pytest.raises(ContractError) as caught:
        get_contracts()
    assert str(caught.value) == (
        "SLABOT_DEFAULT_POLICY: 'dixaa' is not a policy (did you mean 'dixa'?); "
        "policies: diplomasafe, dixa, messaging-platform"
    )


def test_a_missing_customers_file_is_named(env):
    env(SLABOT_CUSTOMERS_FILE="contracts/customers.yaml")
    assert settings_error(get_contracts) == (
        "SLABOT_CUSTOMERS_FILE: contracts/customers.yaml does not exist; "
        f"set it in the environment or in .env ({HOW_TO_SET['SLABOT_CUSTOMERS_FILE']})"
    )


def test_a_customers_file_named_by_the_setting_is_loaded(env, tmp_path):
    (tmp_path / "ours.yaml").write_text(CUSTOMERS, encoding="utf-8")
    env(SLABOT_CUSTOMERS_FILE=str(tmp_path / "ours.yaml"))
    assert get_contracts().customer("Acme Retail Inc.").zone == "America/New_York"


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_policies_dir_without_policies_is_named(env, tmp_path, folder):
    (tmp_path / "empty").mkdir()
    env(SLABOT_POLICIES_DIR=str(tmp_path / folder))
    message = settings_error(get_contracts)
    assert message.startswith(f"SLABOT_POLICIES_DIR: {tmp_path / folder}: ")
    assert message.endswith(f"({HOW_TO_SET['SLABOT_POLICIES_DIR']})")


def test_a_policies_dir_of_our_own_is_used(env, tmp_path):
    (tmp_path / "policies").mkdir()
    dixa = (SHIPPED_POLICIES_DIR / "dixa.yaml").read_text(encoding="utf-8")
    (tmp_path / "policies" / "dixa.yaml").write_text(dixa, encoding="utf-8")
    env(SLABOT_POLICIES_DIR=str(tmp_path / "policies"), SLABOT_DEFAULT_POLICY="dixa")
    assert list(get_contracts().policies) == ["dixa"]


# --- lists ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("U1, S2", ["U1", "S2"]),
        ("U1,S2,", ["U1", "S2"]),
        ("U1; S2", ["U1", "S2"]),
        ('["U1", "S2"]', ["U1", "S2"]),
        ("U1", ["U1"]),
        ("", []),
    ],
    ids=["comma and space", "trailing comma", "semicolon", "JSON", "one", "empty"],
)
def test_lists_of_slack_ids_are_split(env, name, value, ids):
    env(**{name: value})
    assert getattr(get_settings(), LISTS[name]) == ids


def test_a_json_list_in_dotenv_is_a_list():
    dotenv('SLABOT_ADMINS=["U9", "U8"]\nSLABOT_RESPONDERS=U1, S2\n')
    s = get_settings()
    assert (s.admins, s.responders) == (["U9", "U8"], ["U1", "S2"])
