"""Customer input parsing: order numbers, proof of identity, button titles.

Masking personal data is shared with the handoff service and tested in both environments with
the shared code: tests/vocabulary/test_contract.py holds this file's former masking examples."""

from __future__ import annotations

import pytest

from actions.parsing import (
    Verification,
    find_order_number,
    normalize_order_number,
    parse_verification,
    topic_title,
)


@pytest.mark.parametrize(
    "raw", ["HG-10042", "hg 10042", "hg-10042", "HG10042", "10042", " #10042 ", "HG-10042?"]
)
def test_every_spelling_of_an_order_number_normalises_to_the_canonical_form(raw: str) -> None:
    assert normalize_order_number(raw) == "HG-10042"


@pytest.mark.parametrize("raw", ["HG-1004", "100420", "HG-100420", "AB-10042", "hg--10042", ""])
def test_other_shapes_are_not_order_numbers(raw: str) -> None:
    assert normalize_order_number(raw) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where's my order hg 10042?", "HG-10042"),
        ("its HG10042 i think", "HG-10042"),
        ("order no. 10042 pls", "HG-10042"),
        ("HG-10042, zip 94110", "HG-10042"),  # the prefixed number wins over a bare one
        ("where is my stuff", None),
        ("10042 or 10043", None),  # two candidates: ask again rather than guess
        ("HG-10042 and HG-10043", None),
        ("card 4111 1111 1111 1111", None),
    ],
)
def test_find_order_number_in_a_message(text: str, expected: str | None) -> None:
    assert find_order_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("94110", Verification("postal_code", "94110")),
        ("08612", Verification("postal_code", "08612")),  # the leading zero is kept
        ("my zip is 94110-1234", Verification("postal_code", "94110")),
        ("Lucas.Muller37@Example.com", Verification("email", "lucas.muller37@example.com")),
        ("it's nora@example.com.", Verification("email", "nora@example.com")),
        ("nora@example.com, zip 94110", Verification("email", "nora@example.com")),
    ],
)
def test_a_verification_answer_is_an_email_or_a_postal_code(
    text: str, expected: Verification
) -> None:
    assert parse_verification(text) == expected


@pytest.mark.parametrize("text", ["HG-10042", "hg 10042", "no idea", "9411", "94110 or 94111"])
def test_an_order_number_or_nonsense_is_no_verification(text: str) -> None:
    assert parse_verification(text) is None


def test_verification_compares_emails_in_any_case_and_postal_codes_exactly() -> None:
    by_email = Verification("email", "nora@example.com")
    assert by_email.matches(email="Nora@Example.COM", postal_code="94110")
    assert not by_email.matches(email="nora@example.org", postal_code="94110")
    by_postal_code = Verification("postal_code", "08612")
    assert by_postal_code.matches(email="x@example.com", postal_code="08612")
    assert not by_postal_code.matches(email="x@example.com", postal_code="8612")


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("how long does shipping take", "How long does shipping take?"),
        ("can i pay in installments", "Can I pay in installments?"),
        ("i forgot my password", "I forgot my password"),
        ("size guide", "Size guide"),
        ("tracking number?", "Tracking number"),
    ],
)
def test_topic_titles_read_as_questions(question: str, title: str) -> None:
    assert topic_title(question) == title
