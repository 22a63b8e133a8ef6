"""The verified-order notice, as both sides read it (runs in both Python environments, like
test_contract.py): what the assistant builds, the service reads back as the same order."""

from __future__ import annotations

import json

import pytest

from vocabulary.verification import (
    InvalidVerifiedNotice,
    read_verified_message,
    verified_message,
)


def test_the_notice_survives_json_and_names_the_order_only() -> None:
    message = verified_message("HG-10042")
    assert message == {"verified_order": {"order_number": "HG-10042"}}
    assert read_verified_message(json.loads(json.dumps(message))) == "HG-10042"


def test_other_custom_messages_are_no_notice() -> None:
    for custom in (None, "verified_order", [], {"handoff": {}}, {"unanswered": {}}):
        assert read_verified_message(custom) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "HG-10042",
        {},
        {"order_number": ""},
        {"order_number": 10042},
        {"order_number": "H" * 65},
    ],
)
def test_a_notice_that_names_no_order_is_refused(value: object) -> None:
    with pytest.raises(InvalidVerifiedNotice):
        read_verified_message({"verified_order": value})


def test_the_assistant_cannot_build_a_notice_the_service_would_refuse() -> None:
    with pytest.raises(ValueError):
        verified_message("")


def test_nothing_but_the_order_number_is_read() -> None:
    # An email beside the order (a careless sender) is not passed on by the reader.
    custom = {"verified_order": {"order_number": " HG-10042 ", "email": "a@example.com"}}
    assert read_verified_message(custom) == "HG-10042"
