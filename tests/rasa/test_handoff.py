"""The handoff action and its packet: the contract with the handoff service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions import handoff, order_status, replies
from actions.handoff import ActionDeclineHandoff, ActionHandoff
from tests.rasa.trackers import ActionResult, action, make_tracker, parse_data, run_action, user
from vocabulary.reasons import ASSISTANT_REASONS, BOT_FALLBACK, ORDER_DELAYED

Domain = dict[str, Any]
PACKET_KEYS = {"reason", "summary", "intents", "slots"}
REASONS = {"human_request", "bot_fallback", "order_delayed", "verification_failed"}


def hand_off(events: list[dict[str, Any]], domain: Domain, **slots: Any) -> ActionResult:
    return run_action(ActionHandoff(), make_tracker(events=events, slots=slots), domain)


def packet_of(result: ActionResult) -> dict[str, Any]:
    payloads = [m["custom"] for m in result.messages if m.get("custom")]
    assert len(payloads) == 1, "exactly one custom payload per handoff"
    assert set(payloads[0]) == {"handoff"}
    packet = payloads[0]["handoff"]
    assert set(packet) == PACKET_KEYS
    assert packet["reason"] in REASONS
    assert "\n" not in packet["summary"]
    return dict(packet)


def test_an_explicit_request_says_connecting_and_sends_one_packet(domain: Domain) -> None:
    events = [
        user(parse_data("greet", 0.99, "hi")),
        action("utter_greet"),
        user(parse_data("faq", 0.97, "how long is shipping", faq_key="faq/shipping_time")),
        action("utter_faq"),
        user(parse_data("request_human", 0.93, "agent please")),
    ]
    result = hand_off(events, domain)
    assert result.texts == [replies.HANDOFF_CONNECTING]
    packet = packet_of(result)
    assert packet["reason"] == "human_request"
    assert packet["intents"] == [
        {"name": "greet", "confidence": 0.99},
        {"name": "faq/shipping_time", "confidence": 0.97},
        {"name": "request_human", "confidence": 0.93},
    ]
    assert packet["slots"] == {"order_verified": False}
    assert packet["summary"] == "Customer asked for a person. Topics: shipping time."
    assert result.slot("handoff_offered") is None


def test_the_packet_lists_the_last_five_turns_newest_last(domain: Domain) -> None:
    intents = ["greet", "ask_capabilities", "thank", "affirm", "deny", "goodbye", "request_human"]
    events = [user(parse_data(name, 0.5 + i / 100)) for i, name in enumerate(intents)]
    packet = packet_of(hand_off(events, domain))
    assert [turn["name"] for turn in packet["intents"]] == intents[-5:]
    assert packet["intents"][-1] == {"name": "request_human", "confidence": 0.56}


def test_only_a_verified_order_and_never_the_proof_is_handed_over(domain: Domain) -> None:
    email = "nora.silva53@example.com"
    events = [
        user(parse_data("check_order_status", 0.98, "where is hg-10029")),
        action("order_status_form"),
        user(parse_data("inform", 0.95, f"my email is {email}, phone 555-123-4567")),
        action("action_check_order"),
        user(parse_data("request_human", 0.96, "real person now")),
    ]
    result = hand_off(
        events,
        domain,
        order_number="HG-10043",  # asked about, never verified
        order_verification=email,
        verified_order_number="HG-10029",
        order_state="delayed",
    )
    packet = packet_of(result)
    assert packet["slots"] == {
        "order_number": "HG-10029",
        "order_verified": True,
        "order_state": "delayed",
    }
    serialised = json.dumps(result.messages)
    assert email not in serialised
    assert "555-123-4567" not in serialised
    assert "HG-10043" not in serialised
    assert "Verified order HG-10029 (delayed)" in packet["summary"]


@pytest.mark.parametrize(
    ("offering_action", "offered_reason", "packet_reason", "summary_start"),
    [
        ("action_faq_rephrase", "bot_fallback", "bot_fallback", "The assistant did not understand"),
        ("action_check_order", "order_delayed", "order_delayed", "Verified order HG-10029 is"),
        (
            "action_check_order",
            "verification_failed",
            "verification_failed",
            "Order lookup stopped",
        ),
        # The store was down: for the handoff service that is the assistant failing to help.
        ("action_check_order", "order_lookup_unavailable", "bot_fallback", "The order system"),
    ],
)
def test_accepting_an_offer_hands_off_with_the_offers_reason(
    domain: Domain,
    offering_action: str,
    offered_reason: str,
    packet_reason: str,
    summary_start: str,
) -> None:
    events = [
        user(parse_data("nlu_fallback", 0.4, "hmm")),
        action(offering_action),
        action("action_listen"),
        user(parse_data("affirm", 1.0, "/affirm")),
    ]
    slots = {"handoff_offered": True, "handoff_reason": offered_reason}
    if offered_reason == "order_delayed":
        slots.update(verified_order_number="HG-10029", order_state="delayed")
    packet = packet_of(hand_off(events, domain, **slots))
    assert packet["reason"] == packet_reason
    assert packet["summary"].startswith(summary_start)


def test_asking_for_a_person_right_after_an_offer_keeps_the_offers_reason(
    domain: Domain,
) -> None:
    events = [
        user(parse_data("inform", 0.9, "94119")),
        action("action_check_order"),
        user(parse_data("request_human", 0.9, "yes a human pls")),
    ]
    packet = packet_of(
        hand_off(events, domain, handoff_offered=True, handoff_reason="verification_failed")
    )
    assert packet["reason"] == "verification_failed"


def test_an_old_offer_does_not_label_a_later_request(domain: Domain) -> None:
    events = [
        user(parse_data("inform", 0.9, "94119")),
        action("action_check_order"),
        user(parse_data("faq", 0.9, "how do returns work", faq_key="faq/return_process")),
        action("utter_faq"),
        user(parse_data("request_human", 0.9, "talk to a person")),
    ]
    packet = packet_of(
        hand_off(events, domain, handoff_offered=True, handoff_reason="verification_failed")
    )
    assert packet["reason"] == "human_request"


def test_the_summary_masks_personal_data_even_from_intent_names(domain: Domain) -> None:
    events = [user(parse_data("faq", 0.9, "x", faq_key="faq/write_to_a@b.co"))]
    packet = packet_of(hand_off(events, domain))
    assert "a@b.co" not in packet["summary"]


def test_declining_forgets_the_offer(domain: Domain) -> None:
    tracker = make_tracker(
        events=[user(parse_data("deny", 1.0, "/deny"))],
        slots={"handoff_offered": True, "handoff_reason": "bot_fallback"},
    )
    result = run_action(ActionDeclineHandoff(), tracker, domain)
    assert result.texts == [replies.HANDOFF_DECLINED]
    assert result.slot("handoff_offered") is None
    assert result.slot("handoff_reason") is None
    assert not [m for m in result.messages if m.get("custom")]


def test_every_reason_the_actions_offer_travels_as_one_the_service_takes() -> None:
    offered = {handoff.ORDER_LOOKUP_UNAVAILABLE, *ASSISTANT_REASONS}
    for reason in offered:
        assert handoff._PACKET_REASON[reason] in ASSISTANT_REASONS
    assert handoff._PACKET_REASON[handoff.ORDER_LOOKUP_UNAVAILABLE] == BOT_FALLBACK
    assert order_status.ORDER_DELAYED == ORDER_DELAYED  # the offers use the shared names
