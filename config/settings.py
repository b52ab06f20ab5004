"""Settings from the environment and ``.env``, and the one cached accessor for them.

Tests override settings by setting environment variables and calling ``reset()``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.contracts import SHIPPED_POLICIES_DIR, ContractError, load_contracts, policy_files
from config.policy import Contracts
from config.schedule import WeeklySchedule, parse_schedule

DEFAULT_CUSTOMERS_FILE = Path("config/customers.yaml")

# How each setting is set, for the one-line message that stops start-up.
HOW_TO_SET = {
    "DATABASE_URL": "a SQLAlchemy URL such as sqlite:///slabot.db or postgresql+psycopg://user@host/db",
    "SLACK_BOT_TOKEN": "the app's Bot User OAuth Token (xoxb-…), from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "the app's Signing Secret, from Basic Information",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with connections:write, for Socket Mode",
    "SLACK_API_URL": "the Web API base URL, e.g. https://slack.com/api/",
    "SLABOT_POLICIES_DIR": "a folder of policy files (*.yaml)",
    "SLABOT_CUSTOMERS_FILE": "the customers file (YAML)",
    "SLABOT_DEFAULT_POLICY": "the id of the deployment's own policy, e.g. messaging-platform",
    "SLABOT_INCIDENT_CHANNELS": "create (a channel per incident) or current (the channel it was declared in)",
    "SLABOT_CHANNEL_PREFIX": "the start of incident channel names, e.g. inc",
    "SLABOT_ANNOUNCE_CHANNEL": "a channel id (C…) for announcements",
    "SLABOT_RESPONDERS": "Slack user or user-group ids, comma-separated",
    "SLABOT_ADMINS": "Slack user or user-group ids, comma-separated",
    "SLABOT_MANAGERS": "Slack user or user-group ids, comma-separated",
    "SLABOT_ESCALATION": "Slack user or user-group ids, comma-separated",
    "PORT": "the HTTP port for slabot serve, e.g. 3000",
    "SLABOT_DIGEST_SCHEDULE": "when the weekly digest is sent, e.g. mon 09:00 Europe/Copenhagen, or off",
    "SLABOT_DIGEST_CHANNEL": "a channel id (C…) that gets the weekly digest too",
    "SLABOT_LOG_FORMAT": "text (one line per record) or json (one JSON object per line)",
    "SLABOT_HEALTH_TOKEN": "a long random string a monitor sends as Authorization: Bearer <token>",
    "SLABOT_ARCHIVE_AFTER": "how long after an incident is resolved its channel is archived, e.g. 7d, 12h or 1d 12h, or off",
}


class SettingsError(RuntimeError):
    """A setting that stops start-up; the message is one line that says how to set it."""


def _list(value: Any) -> Any:
    """``U1, S2`` in the environment is a list; so is a JSON-style list in ``.env``."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError('is not a list; write U1, S2 or ["U1", "S2"]') from None
    if isinstance(value, str):
        return [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite:///slabot.db", validation_alias="DATABASE_URL", repr=False
    )  # may hold a password: kept out of repr()
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    policies_dir: Path = Field(default=SHIPPED_POLICIES_DIR, validation_alias="SLABOT_POLICIES_DIR")
    customers_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("SLABOT_CUSTOMERS_FILE")
    )
    default_policy: str = Field(
        default="messaging-platform", validation_alias="SLABOT_DEFAULT_POLICY"
    )
    responders: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLABOT_RESPONDERS"
    )
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLABOT_ADMINS"
    )
    managers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLABOT_MANAGERS"
    )
    escalation: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLABOT_ESCALATION"
    )
    incident_channels: Literal["create", "current"] = Field(
        default="create", validation_alias="SLABOT_INCIDENT_CHANNELS"
    )
    channel_prefix: str = Field(default="inc", validation_alias="SLABOT_CHANNEL_PREFIX")
    announce_channel: str | None = Field(default=None, validation_alias="SLABOT_ANNOUNCE_CHANNEL")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")
    digest_schedule: str = Field(default="mon 09:00 UTC", validation_alias="SLABOT_DIGEST_SCHEDULE")
    digest_channel: str | None = Field(default=None, validation_alias="SLABOT_DIGEST_CHANNEL")
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias="SLABOT_LOG_FORMAT"
    )
    health_token: SecretStr | None = Field(default=None, validation_alias="SLABOT_HEALTH_TOKEN")
    archive_after: str = Field(default="off", validation_alias="SLABOT_ARCHIVE_AFTER")

    _split_lists = field_validator("responders", "admins", "managers", "escalation", mode="before")(
        _list
    )

    @field_validator("channel_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,20}", value):
            raise ValueError("must be lower-case letters, digits, - or _ (at most 21), e.g. inc")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("is not a database URL")
        return _check_database_url(value)

    @field_validator("digest_schedule")
    @classmethod
    def _digest_schedule(cls, value: str) -> str:
        parse_schedule(value)  # a ValueError says what is accepted
        return value

    @field_validator("digest_channel")
    @classmethod
    def _digest_channel(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
            raise ValueError(
                f"{value!r} is not a channel id; write the id (C…) from the channel's details"
            )
        return value

    @field_validator("health_token")
    @classmethod
    def _health_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("is too short: use at least 16 characters (openssl rand -hex 32)")
        return value

    @field_validator("archive_after")
    @classmethod
    def _archive_after(cls, value: str) -> str:
        parse_archive_after(value)  # a ValueError says what is accepted
        return value.strip() or "off"

    @property
    def archive_channels_after(self) -> dt.timedelta | None:
        """How long after a resolution the incident's own channel is archived; ``None``: never."""
        return parse_archive_after(self.archive_after)

    @property
    def weekly_digest(self) -> WeeklySchedule | None:
        """When the weekly digest is sent; ``None`` when SLABOT_DIGEST_SCHEDULE is off."""
        return parse_schedule(self.digest_schedule)

    @property
    def digest_zone(self) -> str:
        """The zone the digest's weeks run in, Monday to Sunday: the schedule's (UTC without
        a schedule)."""
        schedule = self.weekly_digest
        return schedule.zone if schedule else "UTC"

    @property
    def customers_path(self) -> Path | None:
        """The customers file; a missing *default* file means no customers."""
        if self.customers_file is not None:
            return self.customers_file
        return DEFAULT_CUSTOMERS_FILE if DEFAULT_CUSTOMERS_FILE.exists() else None

    def require(self, name: str) -> SecretStr | str:
        """The value of a setting a command cannot run without, or a one-line ``SettingsError``."""
        value = getattr(self, _FIELD_BY_ENV[name])
        if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
            raise SettingsError(
                f"{name} is not set: set it in the environment or in .env ({HOW_TO_SET[name]})"
            )
        return value


_SPAN_PART = re.compile(r"(\d+)\s*([mhd])")
_SPAN_UNITS = {"m": 60, "h": 3600, "d": 86400}
ARCHIVE_AFTER_LONGEST = dt.timedelta(days=365)


def parse_archive_after(value: str) -> dt.timedelta | None:
    """``7d``, ``12h``, ``1d 12h``, ``90m`` → a span; ``off`` (or nothing) → ``None``."""
    text = (value or "").strip().lower()
    if text in ("", "off", "no", "never", "false", "0"):
        return None
    accepted = "write a span such as 7d, 12h, 1d 12h or 90m (m, h, d), or off"
    parts = _SPAN_PART.findall(text)
    if not parts or _SPAN_PART.sub("", text).strip():
        raise ValueError(f"{value!r} is not a span; {accepted}")
    span = dt.timedelta(seconds=sum(int(n) * _SPAN_UNITS[u] for n, u in parts))
    if span <= dt.timedelta(0):
        raise ValueError(f"{value!r} is zero; {accepted} (off keeps channels)")
    if span > ARCHIVE_AFTER_LONGEST:
        raise ValueError(f"{value!r} is more than a year; {accepted}")
    return span


def _check_database_url(value: str) -> str:
    """A URL SQLAlchemy can use, with its driver installed. The messages never repeat the
    URL: it may hold a password. ``sqlite:///<file>`` (the default) has no host or port to
    get wrong and its driver is part of Python, so it is taken as it is: importing
    SQLAlchemy to check it would add a tenth of a second to commands that never open the
    database (``slabot sla deadlines``, ``slabot policy check``)."""
    if value.startswith("sqlite:///"):
        return value
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(
            "is not a database URL (is the port a number, and are @ : / in the password "
            "written %40 %3A %2F?)"
        ) from None
    supported = (
        "it supports SQLite (sqlite:///slabot.db) and PostgreSQL "
        "(postgresql+psycopg://user@host/db)"
    )
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"{url.get_backend_name()} is not a database slabot can use: {supported}")
    try:
        if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
            raise ValueError(
                f"{url.drivername}: slabot talks to PostgreSQL through psycopg 3; write "
                "postgresql+psycopg://… (pip install 'slabot[postgres]')"
            )
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ValueError(
            f"{url.drivername} is not a database slabot can use: {supported}"
        ) from None
    except ImportError:
        if url.get_backend_name() == "sqlite":
            raise ValueError(
                f"{url.drivername} needs a driver slabot does not install; write sqlite:///…"
            ) from None
        raise ValueError(
            f"{url.drivername} needs its driver: pip install 'slabot[postgres]'"
        ) from None
    return value


_FIELD_BY_ENV = {
    str(field.validation_alias.choices[0])
    if isinstance(field.validation_alias, AliasChoices)
    else str(field.validation_alias): name
    for name, field in Settings.model_fields.items()
}


def _one_line(error: ValidationError) -> str:
    item = error.errors()[0]
    name = str(item["loc"][0]) if item["loc"] else "a setting"
    message = item["msg"].removeprefix("Value error, ")
    how = HOW_TO_SET.get(name)
    hint = f"; set it in the environment or in .env ({how})" if how else ""
    return f"{name}: {message}{hint}"


@cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


@cache
def get_contracts() -> Contracts:
    settings = get_settings()
    customers = settings.customers_path
    if customers is not None and not customers.exists():
        raise SettingsError(
            f"SLABOT_CUSTOMERS_FILE: {customers} does not exist; "
            f"set it in the environment or in .env ({HOW_TO_SET['SLABOT_CUSTOMERS_FILE']})"
        )
    try:
        paths = policy_files(settings.policies_dir)
    except ContractError as exc:
        raise SettingsError(
            f"SLABOT_POLICIES_DIR: {exc}; "
            f"set it in the environment or in .env ({HOW_TO_SET['SLABOT_POLICIES_DIR']})"
        ) from None
    return load_contracts(paths, customers, settings.default_policy)


def reset() -> None:
    """Forget cached settings and contracts (tests change the environment, then call this)."""
    get_settings.cache_clear()
    get_contracts.cache_clear()
