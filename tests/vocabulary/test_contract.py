"""The contract between the assistant and the handoff service, in the words both import.

Runs unchanged in both Python environments (scripts/test.sh runs this folder with the service's
and with the assistant's): the same reasons, the same masking, the same payload on both sides.
Each side's own use of the vocabulary is checked in its own suite: the actions in
tests/rasa/test_handoff.py, the triage in tests/app/test_triage.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from vocabulary import (
    AGENT_TEXTS,
    ASSISTANT_REASONS,
    BOT_FALLBACK,
    BOT_UNAVAILABLE,
    CRISIS,
    DEFAULT_PRIORITY,
    HUMAN_REQUEST,
    MAX_INTENTS,
    ORDER_DELAYED,
    PRIORITIES,
    REASONS,
    TRIAGE_LABELS,
    VERIFICATION_FAILED,
    InvalidHandoffPayload,
    agent_text,
    handoff_message,
    is_reason,
    mask,
    priority_of,
    read_handoff_message,
    validate_handoff_payload,
)
from vocabulary.reasons import ASSISTANT_BUSY

# --- escalation reasons ------------------------------------------------------------------------


def test_crisis_is_served_before_every_other_reason() -> None:
    others = [reason.priority for name, reason in REASONS.items() if name != CRISIS]
    assert REASONS[CRISIS].priority == 0 < min(others)


def test_every_triage_label_has_a_priority_and_an_agent_text() -> None:
    for label in TRIAGE_LABELS:
        assert label in REASONS, label
        assert isinstance(PRIORITIES[label], int)
        assert AGENT_TEXTS[label].strip()


def test_the_triage_labels_keep_the_order_the_trained_model_was_fitted_in() -> None:
    # The triage model's output columns are checked against this order when it loads.
    assert TRIAGE_LABELS == (
        "crisis",
        "risk",
        "distress",
        "anger",
        "frustration",
        "complex",
        "human_request",
    )


def test_the_table_is_the_one_the_service_and_the_assistant_used_before_it() -> None:
    """The four old tables, merged: priorities (handoff turns), texts (handoff queue)."""
    assert dict(PRIORITIES) == {
        "crisis": 0,
        "risk": 1,
        "distress": 2,
        "anger": 3,
        "frustration": 3,
        "complex": 3,
        "human_request": 4,
        "order_delayed": 4,
        "verification_failed": 4,
        "bot_fallback": 5,
        "bot_unavailable": 5,
        # Added with graceful overload: the turn waited too long in line for the assistant.
        "assistant_busy": 5,
    }
    assert agent_text(CRISIS) == "customer may be in crisis: respond first"
    assert agent_text(BOT_UNAVAILABLE) == "the assistant was unavailable"
    assert agent_text(ASSISTANT_BUSY) == "the assistant was too busy to answer"


def test_every_reason_is_named_as_its_key_with_a_text_and_is_listed_most_urgent_first() -> None:
    for name, reason in REASONS.items():
        assert reason.name == name and is_reason(name)
        assert reason.agent_text.strip() and reason.agent_text == reason.agent_text.lower()
    priorities = [reason.priority for reason in REASONS.values()]
    assert priorities == sorted(priorities)


def test_the_assistants_reasons_are_all_known_and_none_is_a_triage_emergency() -> None:
    sent = {HUMAN_REQUEST, BOT_FALLBACK, ORDER_DELAYED, VERIFICATION_FAILED}
    assert set(ASSISTANT_REASONS) == sent
    for name in ASSISTANT_REASONS:
        assert is_reason(name)
        assert priority_of(name) >= priority_of(HUMAN_REQUEST), f"{name} would jump the queue"


def test_an_unknown_reason_still_reaches_a_person_last_in_line_under_its_own_name() -> None:
    assert not is_reason("order_lost_at_sea")
    assert priority_of("order_lost_at_sea") == DEFAULT_PRIORITY == max(PRIORITIES.values())
    assert agent_text("order_lost_at_sea") == "order_lost_at_sea"


# --- masking personal data ---------------------------------------------------------------------

MASKED = [
    # Both old pattern sets (actions/parsing.py, handoff/privacy.py) masked these the same way.
    ("write to nora.silva53@example.com", "write to [email]"),
    ("write to nora@example.com.", "write to [email]."),
    ("card 4111 1111 1111 1111 declined", "card [card number] declined"),
    ("card 4111111111111111", "card [card number]"),
    ("card 4111-1111-1111-1111", "card [card number]"),
    ("call 555-123-4567 today", "call [phone] today"),
    ("a@b.co or 555-123-4567", "[email] or [phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("zip 94110-1234", "zip [phone]"),
    # The service's fixtures (tests/app): summaries and messages with an address.
    ("Wants a person; mail me at a@b.example", "Wants a person; mail me at [email]"),
    (
        "Do you ship to Canada? mail me at jo@x.example",
        "Do you ship to Canada? mail me at [email]",
    ),
    # Only the assistant's patterns masked these whole.
    ("call me on +1 (555) 123-4567", "call me on [phone]"),
    ("call (555) 123-4567", "call [phone]"),
    ("tel-555-123-4567", "tel-[phone]"),
    ("call 555-123-4567-thanks", "call [phone]-thanks"),
    ("call 55512345", "call [phone]"),
    ("call 555\u00a0123\u00a04567", "call [phone]"),
    ("o'brien@example.com", "[email]"),
    ("nora@example..com", "[email]"),
    # Only the service's patterns masked these.
    ("call +33 1 23 45 67 89", "call [phone]"),
    ("jösé@exämple.de", "[email]"),
    ("born 12.03.1985", "born [phone]"),
]

KEPT = [
    # Order facts an agent needs: order numbers, ISO dates (the service's pattern masked these
    # as phones; the assistant's test said they must survive, and that decision stands), tracking
    # codes, postal codes alone (5 digits, like order numbers).
    "order HG-10042 ships 2026-11-26",
    "tracking UP7713212391",
    "HG-10042, zip 94110",
    "HG-10042 12345",
    "orders 10042 and 10043",
    # Seven digits: too short to tell from prices and dates, masked by neither before.
    "call 555-1234",
    "Customer asked for a person. Topics: shipping cost, order status.",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_order_facts_are_not_masked(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize("text", [text for text, _ in MASKED] + KEPT)
def test_masking_twice_changes_nothing(text: str) -> None:
    assert mask(mask(text)) == mask(text)


# --- the handoff payload -----------------------------------------------------------------------


def verified_delay() -> dict[str, Any]:
    """A payload as action_handoff sends it for a delayed order the customer proved is theirs."""
    return {
        "reason": ORDER_DELAYED,
        "summary": "Verified order HG-10042 is delayed; the customer accepted a person.",
        "intents": [
            {"name": "check_order_status", "confidence": 0.97},
            {"name": "inform", "confidence": 0.91},
            {"name": "affirm", "confidence": 1.0},
        ],
        "slots": {"order_number": "HG-10042", "order_verified": True, "order_state": "delayed"},
    }


def test_a_built_payload_survives_json_and_reads_back_the_same() -> None:
    built = handoff_message(**verified_delay())
    assert set(built) == {"handoff"}
    wire = json.loads(json.dumps(built))
    assert read_handoff_message(wire) == built["handoff"] == verified_delay()


@pytest.mark.parametrize(
    "payload",
    [
        # The service's own fixtures (tests/support/fake_rasa.py, tests/app, tests/browser).
        {"reason": "human_request", "summary": "The customer asked for a person.", "intents": [],
         "slots": {}},
        {"reason": "human_request", "summary": "Customer asked for a person",
         "intents": [{"name": "request_human", "confidence": 0.97}], "slots": {}},
        # An order never verified, as action_handoff sends it; a state slot never set.
        {"reason": "verification_failed", "summary": "Order lookup stopped.", "intents": [],
         "slots": {"order_verified": False}},
        {"reason": "bot_fallback", "summary": "x", "intents": [],
         "slots": {"order_verified": True, "order_number": "HG-10042", "order_state": None}},
        # An integer confidence is a number too.
        {"reason": "human_request", "summary": "", "intents": [{"name": "greet", "confidence": 1}],
         "slots": {}},
    ],
)  # fmt: skip
def test_payloads_the_service_has_always_taken_are_valid(payload: dict[str, Any]) -> None:
    read = read_handoff_message({"handoff": payload})
    assert read is not None and read["reason"] == payload["reason"]


@pytest.mark.parametrize(
    "custom", [None, "text", [], {}, {"unanswered": {"action": "action_faq_rephrase"}}]
)
def test_a_reply_that_is_no_handoff_reads_as_none(custom: object) -> None:
    assert read_handoff_message(custom) is None


def bad(**changes: Any) -> dict[str, Any]:
    payload = verified_delay()
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ("human_request", "not a JSON object"),
        (["human_request"], "not a JSON object"),
        ({"reason": "human_request", "summary": "x"}, "lacks intents, slots"),
        (bad(reason=CRISIS), "not one the assistant sends"),  # would jump the queue
        (bad(reason=BOT_UNAVAILABLE), "not one the assistant sends"),
        (bad(reason=ASSISTANT_BUSY), "not one the assistant sends"),
        (bad(reason="order_lost_at_sea"), "not one the assistant sends"),
        (bad(reason=None), "not one the assistant sends"),
        (bad(summary=None), "summary is not text"),
        (bad(summary="one line\nand another"), "more than one line"),
        (bad(summary="x" * 1001), "longer than 1000"),
        (bad(intents={"name": "greet"}), "intents is not a list"),
        (bad(intents=["greet"]), "an intent is not a JSON object"),
        (bad(intents=[{"confidence": 0.5}]), "an intent has no name"),
        (bad(intents=[{"name": "greet", "confidence": "high"}]), "no confidence in 0..1"),
        (bad(intents=[{"name": "greet", "confidence": True}]), "no confidence in 0..1"),
        (bad(intents=[{"name": "greet", "confidence": 1.5}]), "no confidence in 0..1"),
        (bad(intents=[{"name": "greet", "confidence": math.nan}]), "no confidence in 0..1"),
        (bad(slots=["order_number"]), "slots is not a JSON object"),
        (bad(slots={"order_verified": "yes"}), "order_verified is not true or false"),
        (bad(slots={"order_verified": True, "order_number": 10042}), "order_number is not text"),
        (bad(slots={"order_verified": True, "order_state": 3}), "order_state is not text"),
    ],
)
def test_a_payload_that_breaks_the_contract_is_refused_with_the_reason(
    payload: object, complaint: str
) -> None:
    with pytest.raises(InvalidHandoffPayload, match=complaint):
        read_handoff_message({"handoff": payload})
    # The same checks guard the assistant's side: it cannot build what the service refuses.
    if isinstance(payload, dict) and set(payload) == {"reason", "summary", "intents", "slots"}:
        with pytest.raises(ValueError, match=complaint):
            handoff_message(**payload)


def test_reading_keeps_only_what_an_agent_may_see() -> None:
    payload = bad(
        summary="Customer wrote from nora@example.com, call +1 (555) 123-4567",
        intents=[{"name": f"faq/topic_{i}", "confidence": 0.5, "extra": "x"} for i in range(8)],
        slots={
            "order_verified": True,
            "order_number": "HG-10042",
            "order_state": "delayed",
            "email": "nora@example.com",
            "postal_code": "94110",
        },
        debug={"tracker": "..."},
    )
    read = validate_handoff_payload(payload)
    assert set(read) == {"reason", "summary", "intents", "slots"}
    assert read["summary"] == "Customer wrote from [email], call [phone]"
    assert [turn["name"] for turn in read["intents"]] == [
        f"faq/topic_{i}" for i in range(8 - MAX_INTENTS, 8)
    ]
    assert all(set(turn) == {"name", "confidence"} for turn in read["intents"])
    assert read["slots"] == {
        "order_verified": True,
        "order_number": "HG-10042",
        "order_state": "delayed",
    }


def test_an_order_nobody_verified_does_not_reach_the_agent() -> None:
    read = validate_handoff_payload(
        bad(slots={"order_verified": False, "order_number": "HG-10042", "order_state": "delayed"})
    )
    assert read["slots"] == {"order_verified": False}
    read = validate_handoff_payload(bad(slots={"order_number": "HG-10042"}))
    assert read["slots"] == {}


def test_the_builder_masks_the_summary_even_if_the_caller_forgot() -> None:
    built = handoff_message(
        reason=HUMAN_REQUEST,
        summary="Customer asked for a person; card 4111 1111 1111 1111.",
        intents=[],
        slots={"order_verified": False},
    )
    assert built["handoff"]["summary"] == "Customer asked for a person; card [card number]."
