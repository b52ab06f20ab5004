"""The slash-command language, without Slack: aliases, typos, clauses, and no crash on any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack import grammar
from bot.slack.grammar import (
    Change,
    Customers,
    Declare,
    Maintenance,
    OpenDeclareForm,
    Policies,
    Report,
    SlaHelp,
    UsageError,
    parse_incident,
    parse_sla,
)

NAMES = [
    (1, "Critical Impact (Code Red)"),
    (2, "High Impact"),
    (3, "Medium Impact"),
    (4, "Low Impact"),
]


@pytest.mark.parametrize(
    ("typed", "verb"),
    [
        ("ack", "ack"), ("ACK", "ack"), ("acknowledge", "ack"), ("close Fixed", "resolve"),
        ("resolved", "resolve"), ("restored", "restore"), ("unpause", "resume"), ("info", "status"),
        ("ls", "list"), ("?", "help"), ("sev 2", "severity"), ("regrade 2", "severity"),
    ],
)  # fmt: skip
def test_verbs_and_their_aliases(typed, verb):
    assert parse_incident(typed, NAMES).verb == verb


@pytest.mark.parametrize(("typed", "suggested"), [
    ("acknowlege", "ack"), ("resovle", "resolve"), ("stauts", "status"), ("updte x", "update"),
    ("pasue x", "pause"), ("declair 1 x", "declare"),
])  # fmt: skip
def test_a_mistyped_verb_suggests_the_closest(typed, suggested):
    with pytest.raises(UsageError, match=f"Did you mean `/incident {suggested}`"):
        parse_incident(typed, NAMES)


@pytest.mark.parametrize("severity", ["1", "sev1", "SEV-1", "p1", "I"])
def test_declare_reads_every_spelling_of_a_severity(severity):
    assert parse_incident(f"declare {severity} Checkout down", NAMES).severity == 1


@pytest.mark.parametrize("severity", ["critical", "Critical"])
def test_a_severity_named_is_kept_as_typed_for_the_incidents_contracts(severity):
    assert parse_incident(f"declare {severity} Checkout down", NAMES).severity == severity


@pytest.mark.parametrize(
    "typed", ["declare -1 x", "declare _1 x", "declare s-2 x", "severity INC-1 -3"]
)
def test_a_sign_or_a_stray_separator_is_no_severity(typed):
    with pytest.raises(UsageError, match="is not a severity; write a level such as 1, sev1"):
        parse_incident(typed, NAMES)


@pytest.mark.parametrize(("text", "expected"), [
    ("declare 2 Checkout API down", Declare(2, "Checkout API down")),
    ("new 2 Checkout down for acme", Declare(2, "Checkout down", ("acme",))),
    ("declare 2 Checkout down for acme, globex outage", Declare(2, "Checkout down", ("acme", "globex"), True)),
    ("declare 2 Checkout down for acme,globex started 10 minutes ago",
     Declare(2, "Checkout down", ("acme", "globex"), False, "10 minutes ago")),
    ("declare 2 Queue stuck started 14:05 outage", Declare(2, "Queue stuck", outage=True, started="14:05")),
    ('declare 2 "Payments down for EU users" for acme', Declare(2, "Payments down for EU users", ("acme",))),
    ("declare 2 Login &amp; signup down", Declare(2, "Login & signup down")),
])  # fmt: skip
def test_declare_clauses(text, expected):
    assert parse_incident(text, NAMES) == expected


def test_bare_incident_opens_the_form_and_verbs_may_name_their_incident():
    assert parse_incident("", NAMES) == OpenDeclareForm()
    assert parse_incident("   ", NAMES) == OpenDeclareForm()
    assert parse_incident("ack inc-7", NAMES) == Change("ack", "INC-7")
    assert parse_incident("update INC-7 Rolled back", NAMES) == Change(
        "update", "INC-7", "Rolled back"
    )
    assert parse_incident("severity INC-7 sev2", NAMES) == Change("severity", "INC-7", severity=2)
    assert parse_incident("update Rolled back INC-7", NAMES) == Change(
        "update", None, "Rolled back INC-7"
    )


@pytest.mark.parametrize(("text", "expected"), [
    ("", SlaHelp()), ("help", SlaHelp()), ("customers", Customers()),
    ("policies", Policies()), ("report", Report()), ("report 2026-11 acme", Report("2026-11", "acme")),
    ("report 2026 csv", Report("2026", None, True)),
    ("maint 2026-11-25T22:00 2026-11-25T23:30 DB upgrade for acme,globex",
     Maintenance("2026-11-25T22:00", "2026-11-25T23:30", "DB upgrade", ("acme", "globex"))),
])  # fmt: skip
def test_sla_commands(text, expected):
    assert parse_sla(text) == expected


@given(st.text(max_size=80))
def test_any_text_is_understood_or_refused_with_a_usage_error(text):
    for parse in (lambda t: parse_incident(t, NAMES), parse_sla):
        try:
            parse(text)
        except UsageError as error:
            assert str(error)
        for word in ("declare ", "update ", "severity ", "maintenance "):
            try:
                parse(word + text)
            except UsageError as error:
                assert str(error)


# --- reading the clauses in linear time (#13) ----------------------------------------------


def _naive_split(body: str):
    """The clauses' reading before #13: each clause word tried in turn (quadratic)."""
    words = body.split()
    for index, word in enumerate(words):
        if index and word.lower() in grammar._CLAUSE_WORDS:
            try:
                return " ".join(words[:index]), grammar._clauses(words[index:])
            except UsageError:
                if index == grammar._last_clause_start(words):
                    raise
    return body, {}


_WORDS = st.sampled_from(
    ["for", "outage", "started", "acme", "acme,", ",globex", ",", "a", "10", "ago"]
)


@given(st.lists(_WORDS, max_size=12))
def test_the_clauses_are_read_as_trying_each_clause_word_in_turn_would(words):
    body = " ".join(["t", *words])
    try:
        expected = _naive_split(body)
    except UsageError as error:
        with pytest.raises(UsageError) as raised:
            grammar._split_title(body)
        assert str(raised.value) == str(error)
        return
    assert grammar._split_title(body) == expected


def test_reading_a_title_full_of_clause_words_visits_each_word_a_bounded_number_of_times(
    monkeypatch,
):
    """``"started a " * N + "outage outage"`` made the reading quadratic: each ``started``
    read all the words after it. Counted: the words the clause reader is handed."""
    read = []
    clauses = grammar._clauses
    monkeypatch.setattr(
        grammar, "_clauses", lambda words: read.append(len(words)) or clauses(words)
    )
    for repeats in (100, 390):
        read.clear()
        command = parse_incident("declare 3 t " + "started a " * repeats + "outage outage", NAMES)
        assert command.outage and command.title.endswith("a outage")
        assert sum(read) <= 2 * (2 * repeats + 3)  # the words, at most twice


def test_a_command_longer_than_the_cap_is_refused_saying_how_long():
    text = "update " + "x" * grammar.MAX_COMMAND
    with pytest.raises(
        UsageError, match=f"at most {grammar.MAX_COMMAND} characters; this one has 4007"
    ):
        parse_incident(text, NAMES)
    with pytest.raises(UsageError, match="`/sla` reads at most"):
        parse_sla("report " + "acme " * 1000)
    assert parse_incident("update " + "x" * 3000, NAMES).text == "x" * 3000
