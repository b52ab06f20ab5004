"""The contract file format: what a policy or customers file may say, and nothing about what it means;
and what the files load into: each ``Customer`` with its effective policy, and the ``Contracts``
registry the engine and the services read (``config.contracts`` is the loader that fills it).

A policy file is reviewed like code, so everything here is strict: unknown keys, unknown
clocks, units, zones or holiday countries, zero targets, unordered tiers and duplicate
levels are refused with the field's path and what is allowed. The meaning of the values
(what "1d" is on a business clock, how a deadline is found) lives in ``bot.sla``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache, cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

# --- small value types ---------------------------------------------------------------


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ClockKind(StrEnum):
    """The clock a target runs on (docs/semantics.md §2)."""

    WALL = "24x7"
    BUSINESS = "business"


DURATION_UNITS = {
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "bh": "business hours",
    "bd": "business days",
}
BUSINESS_UNITS = frozenset({"bh", "bd"})
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(bh|bd|m|h|d)\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount in one of the contract units; ``bot.sla.clocks`` gives it a length."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def is_business_unit(self) -> bool:
        return self.unit in BUSINESS_UNITS


def parse_duration(value: Any, *, allow_zero: bool = False) -> Duration:
    if isinstance(value, Duration):
        return value
    accepted = "a whole number and a unit: m (minutes), h (hours), d (days), bh, bd, e.g. 15m"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a duration; write {accepted}")
    if isinstance(value, int):
        raise ValueError(f"{value!r} has no unit; write {accepted}")
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration; write {accepted}")
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0 and not allow_zero:
        raise ValueError(f"{value!r} is zero; a target must be longer than zero")
    return Duration(amount, unit)


def _duration_or_zero(value: Any) -> Duration:
    return parse_duration(value, allow_zero=True)


DurationField = Annotated[Duration, BeforeValidator(parse_duration), PlainSerializer(str)]
"""A positive duration such as ``15m``."""
NoticeField = Annotated[Duration, BeforeValidator(_duration_or_zero), PlainSerializer(str)]
"""A duration that may be zero, such as a maintenance notice of ``0m``."""


@cache
def _all_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(value: Any) -> str:
    """An IANA zone name, refused with the closest names when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{value!r} is not a time zone; write an IANA name such as Europe/Copenhagen"
        )
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(_all_zones()), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"{name!r} is not a known time zone{hint}; write an IANA name such as Europe/Copenhagen"
        ) from None
    return name


ZoneName = Annotated[str, BeforeValidator(check_zone)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekday_index(word: object) -> int | None:
    """0 for ``mon`` or ``Monday`` (any case) … 6 for Sunday; ``None`` for anything else."""
    text = str(word).strip().lower()
    if text[:3] not in WEEKDAYS:
        return None
    index = WEEKDAYS.index(text[:3])
    return index if text in (WEEKDAYS[index], _FULL_DAYS[index]) else None


def _clock_time(value: Any) -> str:
    """``"08:00"`` (the contract loader keeps an unquoted ``17:00`` as text, not 1020)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f'{value!r} is not a time of day; write HH:MM in quotes, e.g. "08:00"')
    hours, minutes = (int(p) for p in value.strip().split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a time of day; use 00:00 to 24:00")
    return f"{hours:02d}:{minutes:02d}"


def _clock_kind(value: Any) -> ClockKind:
    try:
        return ClockKind(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a clock; use 24x7 or business") from None


ClockField = Annotated[ClockKind, BeforeValidator(_clock_kind), PlainSerializer(str)]


def _clause(value: Any) -> str | None:
    """Where the contract says it (``§6 SLAs and credits``), as a customer's statement cites it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\n" in value.strip():
        raise ValueError(
            f"{value!r} is not a clause; write the contract's words for it on one line, "
            'e.g. "§6 SLAs and credits"'
        )
    text = " ".join(value.split())
    if len(text) > CLAUSE_LENGTH:
        raise ValueError(
            f"the clause is {len(text)} characters; cite it in at most {CLAUSE_LENGTH} "
            "(its section and title, not its whole text)"
        )
    return text


CLAUSE_LENGTH = 120
ClauseField = Annotated[str | None, BeforeValidator(_clause)]
"""The contract clause that owes a credit or refund (optional; a statement cites it)."""


# --- strict base -------------------------------------------------------------------------


class ContractModel(BaseModel):
    """Frozen, and refuses unknown keys with the closest allowed one."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            allowed = sorted(
                {f.alias or name for name, f in cls.model_fields.items()} | set(cls.model_fields)
            )
            for key in data:
                if key not in allowed:
                    close = difflib.get_close_matches(str(key), allowed, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise ValueError(
                        f"unknown key {key!r}{hint}; allowed here: {', '.join(allowed)}"
                    )
        elif data is not None and not isinstance(data, BaseModel):
            raise ValueError(f"expected a mapping of keys to values, got {data!r}")
        return data


# --- the policy ------------------------------------------------------------------------


@cache
def holiday_countries() -> frozenset[str]:
    """The country codes the ``holidays`` package knows (``DK``, ``DNK``, aliases such as
    ``UK``), read from its registry. ``list_supported_countries`` would import all of its
    ~280 country modules (~50 ms at every start) to list subdivisions not needed here."""
    from holidays.registry import EntityLoader  # only a calendar naming a country needs it

    return frozenset(EntityLoader.get_country_codes())


class HolidaySpec(ContractModel):
    country: str | None = None
    subdivision: str | None = None
    extra: tuple[dt.date, ...] = ()

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError('write the country code in quotes (YAML reads NO as false), e.g. "NO"')
        code = str(value).strip().upper()
        supported = holiday_countries()
        if code not in supported:
            close = difflib.get_close_matches(code, sorted(supported), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(
                f"{value!r} is not a country the holidays package knows{hint}; "
                "write an ISO 3166 code such as DK, DE or US"
            )
        return code

    @field_validator("subdivision", mode="before")
    @classmethod
    def _subdivision_text(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        raise ValueError(
            f'{value!r} is not a subdivision code; write it in quotes (YAML reads ON as true), e.g. "ON"'
        )

    @model_validator(mode="after")
    def _subdivision(self) -> HolidaySpec:
        if self.subdivision is not None:
            if self.country is None:
                raise ValueError("a subdivision needs a country")
            import holidays  # only a calendar naming a subdivision needs its country's list

            subdivisions = holidays.list_supported_countries()[self.country]
            if self.subdivision not in subdivisions:
                raise ValueError(
                    f"{self.subdivision!r} is not a subdivision of {self.country}; "
                    f"allowed: {', '.join(subdivisions) or 'none'}"
                )
        return self


class CalendarSpec(ContractModel):
    """Where business time is: a zone, weekdays, a daily window and holidays.

    ``timezone: customer`` takes each customer's zone (Dixa: "customer local time"), with
    ``default_timezone`` for a customer that names none.
    """

    timezone: str
    default_timezone: ZoneName | None = None
    days: tuple[str, ...] | None = None
    hours: tuple[str, str] | None = None
    holidays: HolidaySpec | None = None

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() == "customer":
            return "customer"
        return check_zone(value)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(
                f"days must be a list such as [mon, tue, wed, thu, fri], got {value!r}"
            )
        days = []
        for day in value:
            index = weekday_index(day)
            if index is None:
                raise ValueError(f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}")
            name = WEEKDAYS[index]
            if name in days:
                raise ValueError(f"{day!r} is listed twice")
            days.append(name)
        return tuple(days)

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(
                f'hours must be [open, close] such as ["08:00", "17:00"], got {value!r}'
            )
        opens, closes = (_clock_time(v) for v in value)
        if opens >= closes:
            raise ValueError(f"the window must open before it closes, got {opens}–{closes}")
        return (opens, closes)

    @model_validator(mode="after")
    def _customer_zone(self) -> CalendarSpec:
        if self.default_timezone is not None and self.timezone != "customer":
            raise ValueError("default_timezone only applies with timezone: customer")
        if (self.days is None) != (self.hours is None):
            raise ValueError("give both days and hours for business time, or neither")
        return self

    @property
    def has_business_hours(self) -> bool:
        return self.hours is not None

    def zone_for(self, customer_zone: str | None) -> str | None:
        """The zone this calendar runs in for a customer (``None``: the customer must say)."""
        if self.timezone != "customer":
            return self.timezone
        return customer_zone or self.default_timezone


class TargetSpec(ContractModel):
    target: DurationField
    clock: ClockField

    @model_validator(mode="after")
    def _unit_fits_clock(self) -> TargetSpec:
        if self.target.is_business_unit and self.clock is not ClockKind.BUSINESS:
            raise ValueError(
                f"{self.target} counts business time, so it needs clock: business "
                f"(or write it in m, h or d for the 24x7 clock)"
            )
        return self


class ProgressSpec(ContractModel):
    """Progress reports: a cadence (``every``) or one report when resolved."""

    every: DurationField | None = None
    clock: ClockField = ClockKind.WALL
    at_resolution: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ProgressSpec:
        if (self.every is None) == (not self.at_resolution):
            raise ValueError("give either every: <duration> or at_resolution: true")
        if (
            self.every is not None
            and self.every.is_business_unit
            and self.clock is not ClockKind.BUSINESS
        ):
            raise ValueError(f"{self.every} counts business time, so it needs clock: business")
        return self


def _severity_level(value: Any) -> Any:
    if value == "any":
        return "any"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} is not a level; use a whole number from 1, or any")
    return value


class SeveritySpec(ContractModel):
    level: Annotated[int | Literal["any"], BeforeValidator(_severity_level)]
    name: str
    response: TargetSpec | None = None
    restore: TargetSpec | None = None
    resolve: TargetSpec | None = None
    progress: ProgressSpec | None = None


class ReminderSpec(ContractModel):
    """When the incident channel hears about a deadline (docs/semantics.md §4)."""

    before: tuple[DurationField, ...] = ()
    at_percent: tuple[int, ...] = ()
    long_target: DurationField | None = None
    progress_before: tuple[DurationField, ...] = ()
    escalate_every: DurationField | None = None

    @field_validator("at_percent")
    @classmethod
    def _percents(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for percent in value:
            if not 0 < percent < 100:
                raise ValueError(f"{percent} is not a share of a target; use 1 to 99")
        if len(set(value)) != len(value):
            raise ValueError("a percentage is listed twice")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _long_target(self) -> ReminderSpec:
        if self.at_percent and self.long_target is None:
            raise ValueError(
                "at_percent needs long_target: the target length from which it applies"
            )
        for lead in (*self.before, *self.progress_before, self.escalate_every):
            if lead is not None and lead.is_business_unit:
                raise ValueError(f"{lead}: reminder lead times are wall time; write m, h or d")
        return self


class CreditTier(ContractModel):
    below: Decimal = Field(gt=0, le=100)
    percent: Decimal = Field(gt=0, le=100)


class MaintenanceSpec(ContractModel):
    """Announced maintenance is excluded from downtime when announced ``notice`` ahead."""

    excluded: bool = True
    notice: NoticeField = Duration(24, "h")


class UptimeSpec(ContractModel):
    period: Literal["month", "year"]
    commitment: Decimal = Field(gt=0, le=100)
    credits: tuple[CreditTier, ...] = ()
    claim_window: DurationField | None = None
    maintenance: MaintenanceSpec = MaintenanceSpec()
    clause: ClauseField = None
    """The clause of the commitment and its credits, e.g. ``§6 SLAs and credits``."""

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> Any:
        if value not in ("month", "year"):
            raise ValueError(f"{value!r} is not an uptime period; use month or year")
        return value

    @model_validator(mode="after")
    def _tiers(self) -> UptimeSpec:
        thresholds = [tier.below for tier in self.credits]
        if any(a <= b for a, b in itertools.pairwise(thresholds)):
            raise ValueError(
                "credit tiers must be strictly ordered from the highest 'below' to the lowest, "
                f"got {', '.join(str(t) for t in thresholds)}"
            )
        percents = [tier.percent for tier in self.credits]
        if any(a >= b for a, b in itertools.pairwise(percents)):
            raise ValueError(
                "a lower uptime tier must credit a larger percent than the one above it"
            )
        if self.credits and self.credits[0].below > self.commitment:
            raise ValueError(
                f"the first tier (below {self.credits[0].below}) is above the commitment "
                f"{self.commitment}: uptime that meets the commitment cannot owe a credit"
            )
        if self.claim_window is not None and self.claim_window.is_business_unit:
            raise ValueError("claim_window is in calendar days; write it in d")
        return self


class IncidentCountRefund(ContractModel):
    """Refund when more than ``more_than`` failures of a severity fall within ``within``."""

    severity: int = Field(ge=1)
    more_than: int = Field(ge=0)
    within: DurationField
    min_impact_pct: Decimal | None = Field(default=None, gt=0, le=100)
    percent_of_monthly_fee: Decimal = Field(default=Decimal(100), gt=0, le=100)
    clause: ClauseField = None

    @field_validator("within")
    @classmethod
    def _wall_days(cls, value: Duration) -> Duration:
        if value.is_business_unit:
            raise ValueError("the window counts consecutive days; write it in d")
        return value


class ResponseMissCredit(ContractModel):
    """Credit when more than ``more_than`` response commitments are missed in a period."""

    more_than: int = Field(ge=0)
    period: Literal["month", "year"]
    percent: Decimal = Field(gt=0, le=100)
    claim_window: DurationField | None = None
    clause: ClauseField = None


class Policy(ContractModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    source: str | None = None
    """The signed contract the file encodes, by name and version or date ("Dixa Service-level
    Agreement, last updated 2018-04-03"), so a reader can find the document it quotes."""
    calendar: CalendarSpec
    severities: tuple[SeveritySpec, ...] = Field(min_length=1)
    reminders: ReminderSpec = ReminderSpec()
    uptime: UptimeSpec | None = None
    refunds: tuple[IncidentCountRefund, ...] = ()
    response_misses: ResponseMissCredit | None = None

    @field_validator("severities")
    @classmethod
    def _distinct_levels(cls, severities: tuple[SeveritySpec, ...]) -> tuple[SeveritySpec, ...]:
        levels = [s.level for s in severities]
        if "any" in levels and len(levels) > 1:
            raise ValueError(
                f"severities[{levels.index('any')}] has level any, which applies to every "
                "severity, so it must be the only level; give numbered levels or any alone"
            )
        for index, level in enumerate(levels):
            if level in levels[:index]:
                raise ValueError(
                    f"level {level} is given twice (severities[{levels.index(level)}] and "
                    f"severities[{index}]); give each level once"
                )
        return severities

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        uses_business = any(
            t is not None and t.clock is ClockKind.BUSINESS
            for s in self.severities
            for t in (s.response, s.restore, s.resolve, s.progress)
        )
        if uses_business and not self.calendar.has_business_hours:
            raise ValueError("a target uses clock: business, so calendar needs days and hours")
        if self.calendar.timezone == "customer" and self.calendar.default_timezone is None:
            raise ValueError(
                "calendar.timezone is customer, so give default_timezone for customers that name none"
            )
        numeric = {s.level for s in self.severities if s.level != "any"}
        for i, refund in enumerate(self.refunds):
            if numeric and refund.severity not in numeric:
                raise ValueError(
                    f"refunds[{i}] counts severity {refund.severity}, which this policy does not "
                    f"have; levels: {', '.join(str(v) for v in sorted(numeric))}"
                )
        return self

    def severity(self, level: int) -> SeveritySpec | None:
        """The targets for ``level``, or ``None`` when the contract has no such level."""
        for spec in self.severities:
            if spec.level == "any" or spec.level == level:
                return spec
        return None

    @property
    def levels(self) -> tuple[int, ...]:
        """The numbered levels, or ``()`` for a contract whose one level applies to any."""
        return tuple(s.level for s in self.severities if s.level != "any")


# --- customers --------------------------------------------------------------------------


class Fee(ContractModel):
    amount: Decimal = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    per: Literal["month", "year"]

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, value: Any) -> Any:
        if value not in ("month", "year"):
            raise ValueError(f"{value!r} is not a fee period; use month or year")
        return value

    @property
    def monthly(self) -> Decimal:
        return self.amount if self.per == "month" else self.amount / 12

    @property
    def annual(self) -> Decimal:
        return self.amount if self.per == "year" else self.amount * 12


class CustomerSpec(ContractModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    policy: str
    timezone: ZoneName | None = None
    fee: Fee | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
            raise ValueError(
                f"{value!r} is not a customer id; use lower-case letters, digits, - and _ (e.g. acme)"
            )
        return value


class CustomersFile(ContractModel):
    customers: tuple[CustomerSpec, ...] = ()


@dataclass(frozen=True)
class Customer:
    """A customer and the contract it is judged by: its policy with its order form applied."""

    id: str
    name: str
    policy: Policy
    timezone: str | None
    fee: Fee | None

    @property
    def zone(self) -> str:
        """The zone of this customer's contract calendar."""
        zone = self.policy.calendar.zone_for(self.timezone)
        assert zone is not None  # Policy validation requires a default_timezone
        return zone


# --- the registry --------------------------------------------------------------------


@dataclass(frozen=True)
class Contracts:
    """Every policy, every customer, and the deployment's own policy."""

    policies: Mapping[str, Policy]
    customers: Mapping[str, Customer] = field(default_factory=dict)
    default_policy_id: str | None = None

    @property
    def default_policy(self) -> Policy:
        if self.default_policy_id is None:
            return next(iter(self.policies.values()))
        return self.policies[self.default_policy_id]

    def customer(self, customer_id: str) -> Customer:
        """The customer, or a ``LookupError`` that suggests the closest id."""
        key = customer_id.strip().lower()
        if key in self.customers:
            return self.customers[key]
        if key in self._by_name:
            return self._by_name[key]
        known = ", ".join(sorted(self.customers)) or "none are configured"
        raise LookupError(
            f"{customer_id!r} is not a customer{suggest(key, self.customers)}; customers: {known}"
        )

    @cached_property
    def _by_name(self) -> dict[str, Customer]:
        """Customers by lower-cased name (the first one of a name): an import names a
        customer in each of its records, so a lookup may not walk every customer."""
        names: dict[str, Customer] = {}
        for customer in self.customers.values():
            names.setdefault(customer.name.lower(), customer)
        return names

    def policy(self, policy_id: str) -> Policy:
        if policy_id in self.policies:
            return self.policies[policy_id]
        raise LookupError(
            f"{policy_id!r} is not a policy{suggest(policy_id, self.policies)}; "
            f"policies: {', '.join(sorted(self.policies))}"
        )
