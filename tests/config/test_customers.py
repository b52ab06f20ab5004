"""The customers file: who signed which policy, and the order form that changes it for them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.contracts import ContractError, load_contracts, load_customers, policy_files
from config.policy import ClockKind, Contracts, Duration

CONFIG = Path(__file__).parents[2] / "config"
POLICIES = "policies: diplomasafe, dixa, messaging-platform"


def customer(**fields: Any) -> dict[str, Any]:
    return {"id": "acme", "name": "Acme Retail Inc.", "policy": "dixa", **fields}


@pytest.fixture
def load(write_yaml, shipped):
    def load(*customers: dict[str, Any]):
        return load_customers(write_yaml("customers.yaml", {"customers": list(customers)}), shipped)

    return load


@pytest.fixture
def refused(write_yaml, shipped):
    """The problems of a customers file, each with the file's path taken off the front."""

    def refused(*customers: dict[str, Any], text: str | None = None) -> list[str]:
        path = write_yaml("customers.yaml", text or {"customers": list(customers)})
        with pytest.raises(ContractError) as caught:
            load_customers(path, shipped)
        at = re.compile(rf"^{re.escape(str(path))}(:\d+)?: ")
        assert all(at.match(p) for p in caught.value.problems), caught.value.problems
        return [at.sub("", p) for p in caught.value.problems]

    return refused


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"policy": "dixaa"},
            f"customers[0].policy: 'dixaa' is not a policy (did you mean 'dixa'?); {POLICIES}",
        ),
        ({"policy": "zendesk"}, f"customers[0].policy: 'zendesk' is not a policy; {POLICIES}"),
        (
            {"id": "Acme Inc"},
            "customers[0].id: 'Acme Inc' is not a customer id; "
            "use lower-case letters, digits, - and _ (e.g. acme)",
        ),
        (
            {"fee": {"amount": 4000, "currency": "usd", "per": "month"}},
            "customers[0].fee.currency: String should match pattern '^[A-Z]{3}$'",
        ),
        (
            {"fee": {"amount": 4000, "currency": "EURO", "per": "month"}},
            "customers[0].fee.currency: String should match pattern '^[A-Z]{3}$'",
        ),
        (
            {"fee": {"amount": 4000, "currency": "USD", "per": "week"}},
            "customers[0].fee.per: 'week' is not a fee period; use month or year",
        ),
        (
            {"fee": {"amount": -1, "currency": "USD", "per": "month"}},
            "customers[0].fee.amount: Input should be greater than or equal to 0",
        ),
        (
            {"fee": {"amount": 4000, "currency": "USD"}},
            "customers[0].fee.per: is required",
        ),
        (
            {"timezone": "America/NewYork"},
            "customers[0].timezone: 'America/NewYork' is not a known time zone "
            "(did you mean America/New_York",
        ),
        (
            {"timezon": "UTC"},
            "customers[0]: unknown key 'timezon' (did you mean 'timezone'?); "
            "allowed here: fee, id, name, overrides, policy, timezone",
        ),
        (
            {"fee": {"amount": 1, "currency": "USD", "per": "month", "vat": 25}},
            "customers[0].fee: unknown key 'vat'; allowed here: amount, currency, per",
        ),
        ({"overrides": ["uptime"]}, "customers[0].overrides: Input should be a valid dictionary"),
    ],
    ids=[
        "unknown policy with suggestion",
        "unknown policy",
        "bad id",
        "lower-case currency",
        "currency name",
        "fee period",
        "negative fee",
        "fee without period",
        "unknown zone",
        "unknown key",
        "unknown fee key",
        "overrides not a mapping",
    ],
)
def test_a_customer_mistake_is_refused(refused, fields, problem):
    (message,) = refused(customer(**fields))
    assert message.startswith(problem)


@pytest.mark.parametrize("missing", ["id", "name", "policy"])
def test_a_customer_needs_id_name_and_policy(refused, missing):
    data = customer()
    del data[missing]
    assert refused(data) == [f"customers[0].{missing}: is required"]


def test_a_customer_id_used_twice_is_refused(refused):
    assert refused(customer(), customer(name="Acme again")) == [
        "customers[1].id: 'acme' is used by another customer"
    ]


def test_every_bad_customer_is_reported_at_once(refused):
    problems = refused(customer(policy="dixaa"), customer(id="globex", policy="zendesk"))
    assert [p.split(":")[0] for p in problems] == ["customers[0].policy", "customers[1].policy"]


def test_an_unknown_top_level_key_is_refused(refused):
    assert refused(text="customer:\n  - {id: acme, name: Acme, policy: dixa}\n") == [
        "(top level): unknown key 'customer' (did you mean 'customers'?); allowed here: customers"
    ]


@pytest.mark.parametrize(
    ("policy", "overrides", "problem"),
    [
        (
            "dixa",
            {"severities": [{"level": 2, "response": {"target": "30x"}}]},
            ".response.target: '30x' is not a duration",
        ),
        ("dixa", {"uptim": {"commitment": 99}}, ": unknown key 'uptim' (did you mean 'uptime'?)"),
        (
            "dixa",
            {"uptime": {"comitment": 99}},
            ".uptime: unknown key 'comitment' (did you mean 'commitment'?)",
        ),
        (
            "dixa",
            {"uptime": {"credits": [{"below": 99.95, "percent": 5}]}},
            ".uptime: the first tier (below 99.95) is above the commitment 99.9",
        ),
        (
            "dixa",
            {"calendar": {"timezone": "Europe/Copenhagn"}},
            ".calendar.timezone: 'Europe/Copenhagn' is not a known time zone",
        ),
        (
            "diplomasafe",
            {
                "severities": [
                    {"level": 1, "name": "Critical", "response": {"target": "1h", "clock": "24x7"}}
                ]
            },
            ".severities: severities[0] has level any, which applies to every severity",
        ),
        (
            "diplomasafe",
            {"calendar": {"default_timezone": "UTC"}},
            ".calendar: default_timezone only applies with timezone: customer",
        ),
        (
            "messaging-platform",
            {"severities": [{"level": 2, "response": {"clock": "business"}}]},
            ": a target uses clock: business, so calendar needs days and hours",
        ),
        (
            "messaging-platform",
            {"severities": [{"level": 4, "response": {"target": "1d", "clock": "24x7"}}]},
            ".severities[0].name: is required",  # the order form's first entry
        ),
    ],
    ids=[
        "bad duration",
        "unknown section",
        "unknown nested key",
        "tier above commitment",
        "unknown zone",
        "numbered level beside any",
        "default zone on a fixed calendar",
        "business clock without business hours",
        "new level without name",
    ],
)
def test_overrides_that_break_the_policy_are_refused_under_overrides(
    refused, policy, overrides, problem
):
    (message,) = refused(customer(policy=policy, overrides=overrides))
    assert message.startswith("customers[0]: overrides")
    assert problem in message


ORDER_FORMS = """\
customers:
  - id: acme
    name: Acme
    policy: dixa
    fee: {amount: 100, currency: usd, per: month}
  - id: globex
    name: Globex
    policy: dixa
    overrides:
      severities:
        - level: 3
          response: {target: 30x, clock: 24x7}
        - level: 2
          restore:
            target: 0m
            clock: 24x7
      uptime:
        commitment: 150
  - id: initech
    name: Initech
    policy: messaging-platform
    overrides:
      severities:
        - level: 4
          response: {target: 1d, clock: 24x7}
"""


def test_every_order_form_error_is_reported_at_once_at_the_users_own_line(write_yaml, shipped):
    # One run names every mistake: acme's currency (line 5) does not hide globex's three
    # order-form mistakes, nor initech's new level without a name. Each is at its line in
    # the file and counted in the order form's own list (globex's severities[1] is the second
    # entry it wrote, Dixa's level 2, not the merged policy's severities[1]).
    path = write_yaml("customers.yaml", ORDER_FORMS)
    with pytest.raises(ContractError) as caught:
        load_customers(path, shipped)
    assert list(caught.value.problems) == [
        f"{path}:5: customers[0].fee.currency: String should match pattern '^[A-Z]{{3}}$'",
        f"{path}:12: customers[1]: overrides.severities[0].response.target: '30x' is not a "
        "duration; write a whole number and a unit: m (minutes), h (hours), d (days), bh, bd, "
        "e.g. 15m",
        f"{path}:15: customers[1]: overrides.severities[1].restore.target: '0m' is zero; a "
        "target must be longer than zero",
        f"{path}:18: customers[1]: overrides.uptime.commitment: Input should be less than or "
        "equal to 100",
        f"{path}:24: customers[2]: overrides.severities[0].name: is required",
    ]


def test_overriding_the_policy_id_is_refused(refused):
    assert refused(customer(overrides={"id": "messaging-platform"})) == [
        "customers[0]: overrides.id: the policy id cannot be overridden"
    ]


# --- what a customer is judged by ------------------------------------------------------------


def test_a_customer_without_overrides_has_the_policy_itself(load, shipped):
    acme = load(customer(fee={"amount": 4000, "currency": "USD", "per": "month"}))["acme"]
    assert acme.policy is shipped["dixa"]
    assert (acme.fee.monthly, acme.fee.annual) == (Decimal(4000), Decimal(48000))


def test_customers_with_the_same_order_form_share_one_policy(load, refused):
    """The same overrides of the same policy are validated once and give one policy; other
    overrides, or another policy, give their own; a bad order form is named for each."""
    same = {"uptime": {"claim_window": "60d"}, "calendar": {"holidays": {"country": "DK"}}}
    loaded = load(
        customer(id="a", overrides=same),
        customer(id="b", overrides={"calendar": {"holidays": {"country": "DK"}},
                                    "uptime": {"claim_window": "60d"}}),
        customer(id="c", overrides={"uptime": {"claim_window": "30d"}}),
        customer(id="d", policy="diplomasafe", overrides=same),
    )  # fmt: skip
    assert loaded["a"].policy is loaded["b"].policy
    assert loaded["a"].policy.uptime.claim_window != loaded["c"].policy.uptime.claim_window
    assert loaded["d"].policy.id == "diplomasafe" and loaded["d"].policy is not loaded["a"].policy
    bad = {"uptime": {"commitment": "most"}}
    problems = refused(customer(id="a", overrides=bad), customer(id="b", overrides=bad))
    assert [p.split(":")[0] for p in problems] == ["customers[0]", "customers[1]"]


@pytest.mark.parametrize(
    ("policy", "timezone", "zone"),
    [
        ("dixa", "America/New_York", "America/New_York"),
        ("dixa", None, "Europe/Copenhagen"),
        ("diplomasafe", None, "Europe/Copenhagen"),
        ("messaging-platform", None, "UTC"),
    ],
    ids=["customer zone", "default zone", "fixed zone", "UTC"],
)
def test_a_customer_zone_is_its_own_only_where_the_calendar_says_customer(
    load, policy, timezone, zone
):
    assert load(customer(policy=policy, timezone=timezone))["acme"].zone == zone


def test_a_calendar_override_merges_into_the_calendar(load, shipped):
    overrides = {"calendar": {"holidays": {"country": "DK"}}}
    calendar = load(customer(overrides=overrides))["acme"].policy.calendar
    base = shipped["dixa"].calendar
    assert calendar.holidays.country == "DK"
    assert (calendar.timezone, calendar.default_timezone, calendar.days, calendar.hours) == (
        base.timezone,
        base.default_timezone,
        base.days,
        base.hours,
    )


def test_a_severity_override_merges_by_level(load, shipped):
    overrides = {"severities": [{"level": 2, "response": {"target": "30m"}}]}
    policy = load(customer(overrides=overrides))["acme"].policy
    base = shipped["dixa"]
    high = policy.severity(2)
    assert high.response.target == Duration(30, "m")
    assert high.response.clock is ClockKind.BUSINESS  # kept from the policy
    assert (high.name, high.restore) == (base.severity(2).name, base.severity(2).restore)
    assert [policy.severity(n) for n in (1, 3, 4)] == [base.severity(n) for n in (1, 3, 4)]
    assert base.severity(2).response.target == Duration(1, "bh")  # the policy is untouched


def test_a_severity_the_policy_lacks_is_added(load):
    new = {"level": 5, "name": "Question", "response": {"target": "3bd", "clock": "business"}}
    policy = load(customer(overrides={"severities": [new]}))["acme"].policy
    assert policy.levels == (1, 2, 3, 4, 5)
    assert policy.severity(5).response.target == Duration(3, "bd")


def test_the_any_level_is_overridden_by_level_any(load):
    overrides = {"severities": [{"level": "any", "response": {"target": "2bh"}}]}
    policy = load(customer(policy="diplomasafe", overrides=overrides))["acme"].policy
    assert policy.severity(3).response.target == Duration(2, "bh")


@pytest.mark.parametrize(
    ("overrides", "read", "expected"),
    [
        (
            {"uptime": {"credits": [{"below": 99.5, "percent": 20}]}},
            lambda p: [(t.below, t.percent) for t in p.uptime.credits],
            [(Decimal("99.5"), Decimal(20))],
        ),
        ({"reminders": {"before": ["30m"]}}, lambda p: p.reminders.before, (Duration(30, "m"),)),
        ({"calendar": {"days": ["mon", "tue"]}}, lambda p: p.calendar.days, ("mon", "tue")),
    ],
    ids=["credit tiers", "reminder lead times", "weekdays"],
)
def test_other_lists_are_replaced_not_merged(load, overrides, read, expected):
    assert read(load(customer(overrides=overrides))["acme"].policy) == expected


def test_an_uptime_override_keeps_the_rest_of_uptime(load, shipped):
    uptime = load(
        customer(policy="messaging-platform", overrides={"uptime": {"commitment": 99.8}})
    )["acme"].policy.uptime
    base = shipped["messaging-platform"].uptime
    assert uptime.commitment == Decimal("99.8")
    assert (uptime.period, uptime.maintenance, uptime.credits) == (
        base.period,
        base.maintenance,
        base.credits,
    )


def test_the_example_customers_file_is_valid(shipped):
    customers = load_customers(CONFIG / "customers.example.yaml", shipped)
    assert list(customers) == ["acme", "nordlys", "globex", "initech"]
    nordlys = customers["nordlys"].policy
    assert nordlys.calendar.holidays.country == "DK"
    assert nordlys.severity(2).response.target == Duration(30, "m")
    assert customers["globex"].policy.uptime.commitment == Decimal("99.8")


@pytest.mark.parametrize("text", ["", "customers: []\n", "# nobody yet\n"])
def test_an_empty_customers_file_means_no_customers(write_yaml, shipped, text):
    assert load_customers(write_yaml("customers.yaml", text), shipped) == {}


def test_no_customers_file_means_no_customers(shipped):
    assert load_customers(None, shipped) == {}


# --- looking customers up ------------------------------------------------------------------


@pytest.fixture
def contracts(write_yaml) -> Contracts:
    path = write_yaml(
        "customers.yaml",
        {
            "customers": [
                customer(),
                customer(id="nordlys", name="Nordlys ApS"),
                customer(id="globex", name="Globex Messaging BV", policy="messaging-platform"),
            ]
        },
    )
    return load_contracts(policy_files(CONFIG / "policies"), path, "messaging-platform")


@pytest.mark.parametrize(
    "typed", ["acme", "ACME", " acme ", "Acme Retail Inc.", "acme retail inc.", "ACME RETAIL INC."]
)
def test_a_customer_is_found_by_id_or_name_in_any_case(contracts, typed):
    assert contracts.customer(typed).id == "acme"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "acmee",
            "'acmee' is not a customer (did you mean 'acme'?); customers: acme, globex, nordlys",
        ),
        ("initech", "'initech' is not a customer; customers: acme, globex, nordlys"),
    ],
)
def test_an_unknown_customer_is_refused_with_the_closest(contracts, typed, message):
    with pytest.raises(LookupError) as caught:
        contracts.customer(typed)
    assert str(caught.value) == message


def test_without_customers_the_refusal_says_none_are_configured(shipped):
    with pytest.raises(LookupError, match="customers: none are configured"):
        Contracts(policies=shipped).customer("acme")


def test_a_policy_is_found_by_id_or_refused_with_the_closest(contracts):
    assert contracts.policy("dixa").id == "dixa"
    with pytest.raises(LookupError) as caught:
        contracts.policy("dixaa")
    assert str(caught.value) == f"'dixaa' is not a policy (did you mean 'dixa'?); {POLICIES}"


def test_the_default_policy_is_the_deployments_own(contracts, shipped):
    assert contracts.default_policy.id == "messaging-platform"
    assert Contracts(policies=shipped).default_policy is next(iter(shipped.values()))


def test_an_unknown_default_policy_is_refused_naming_the_setting(shipped):
    with pytest.raises(ContractError) as caught:
        load_contracts(policy_files(CONFIG / "policies"), None, "dixaa")
    assert str(caught.value) == (
        f"SLABOT_DEFAULT_POLICY: 'dixaa' is not a policy (did you mean 'dixa'?); {POLICIES}"
    )
