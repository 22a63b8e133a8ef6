"""Order status actions, run in-process against a real SQLite store (and a dead/silent one)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from actions import replies
from actions.order_status import (
    ActionAskOrderNumber,
    ActionAskOrderVerification,
    ActionCheckOrder,
    ValidateOrderStatusForm,
)
from orders.store import Order, OrderStore
from tests.rasa.trackers import (
    ActionResult,
    action,
    make_tracker,
    parse_data,
    run_action,
    slot,
    user,
)
from vocabulary.verification import read_verified_message

Domain = dict[str, Any]


def check_order(
    store: OrderStore,
    domain: Domain,
    order_number: str | None,
    proof: str | None,
    **slots: Any,
) -> ActionResult:
    tracker = make_tracker(
        events=[user(parse_data("inform", text=proof or "")), action("order_status_form")],
        slots={"order_number": order_number, "order_verification": proof, **slots},
    )
    return run_action(ActionCheckOrder(store=store), tracker, domain)


# ---------------------------------------------------------------------------------------------
# The form's questions and validation
# ---------------------------------------------------------------------------------------------


def validate(domain: Domain, requested: str, answer: str) -> ActionResult:
    """Run validate_order_status_form as Rasa does after the customer answered `requested`."""
    tracker = make_tracker(
        events=[user(parse_data("inform", text=answer)), slot(requested, answer)],
        slots={"requested_slot": requested, requested: answer},
        active_loop="order_status_form",
    )
    return run_action(ValidateOrderStatusForm(), tracker, domain)


@pytest.mark.parametrize("answer", ["HG-10042", "hg 10042", "it's hg-10042 i think", "10042"])
def test_the_order_number_answer_is_normalised(domain: Domain, answer: str) -> None:
    result = validate(domain, "order_number", answer)
    assert result.slot("order_number") == "HG-10042"
    assert result.messages == []


def test_an_answer_without_an_order_number_is_explained_and_asked_again(domain: Domain) -> None:
    result = validate(domain, "order_number", "i don't have it here")
    assert result.slot("order_number") is None
    assert result.texts == [replies.INVALID_ORDER_NUMBER]


def test_a_five_digit_answer_to_the_verification_question_is_a_postal_code(
    domain: Domain,
) -> None:
    result = validate(domain, "order_verification", "94119")
    assert result.slot("order_verification") == "94119"
    assert "order_number" not in {e["name"] for e in result.events}


def test_an_email_answer_is_kept_lowercase(domain: Domain) -> None:
    result = validate(domain, "order_verification", "It's Emma.Okafor2@Example.com")
    assert result.slot("order_verification") == "emma.okafor2@example.com"


def test_an_order_number_is_no_answer_to_the_verification_question(domain: Domain) -> None:
    result = validate(domain, "order_verification", "HG-10042")
    assert result.slot("order_verification") is None
    assert result.texts == [replies.INVALID_VERIFICATION]


def test_the_form_asks_one_question_for_either_proof(domain: Domain) -> None:
    number = run_action(ActionAskOrderNumber(), make_tracker(), domain)
    proof = run_action(ActionAskOrderVerification(), make_tracker(), domain)
    assert "HG-10042" in number.texts[0]
    assert "email address or postal code" in proof.texts[0]


# ---------------------------------------------------------------------------------------------
# Replies by order state (policies.md, "Order states")
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_number", "proof", "expected"),
    [
        ("HG-10015", "82034", ["HG-10015", "received", "payment is confirmed"]),
        ("HG-10001", "19220", ["HG-10001", "being packed"]),
        (
            "HG-10008",
            "lucas.muller37@example.com",
            ["shipped", "UPS", "UP7713212391", "Thursday, October 29, 2026"],
        ),
        ("HG-10078", "14136", ["out for delivery", "USPS", "US7016302217"]),
        ("HG-10036", "44260", ["delivered on Friday, November 13, 2026"]),
        ("HG-10099", "94255", ["cancelled", "refund has been issued"]),
        ("HG-10148", "11928", ["cancelled", "refund is being processed"]),
        ("HG-10141", "57858", ["received your return", "refund is being processed"]),
        ("HG-10176", "83485", ["received your return", "refund has been issued"]),
    ],
)
def test_a_verified_order_gets_the_reply_for_its_state(
    sqlite_store: OrderStore, domain: Domain, order_number: str, proof: str, expected: list[str]
) -> None:
    result = check_order(sqlite_store, domain, order_number, proof)
    assert len(result.texts) == 1
    for fragment in expected:
        assert fragment in result.texts[0]
    assert result.slot("verified_order_number") == order_number
    assert result.slot("handoff_offered") is None
    assert result.messages[0].get("buttons") in (None, [])


def notices(result: ActionResult) -> list[str | None]:
    """The orders named by the action's verified-order notices (for the service, not shown)."""
    return [read_verified_message(m.get("custom")) for m in result.messages if m.get("custom")]


@pytest.mark.parametrize(
    ("order_number", "proof"),
    [("HG-10008", "Lucas.Muller37@example.com"), ("HG-10029", "nora.silva53@example.com"),
     ("HG-10064", "08612")],
)  # fmt: skip
def test_a_match_tells_the_service_which_order_was_verified_and_nothing_of_the_proof(
    sqlite_store: OrderStore, domain: Domain, order_number: str, proof: str
) -> None:
    result = check_order(sqlite_store, domain, order_number, proof)
    # The answer first, then the notice on its own: nothing for the customer to see in it.
    assert result.messages[0]["text"] == result.texts[0]
    (notice,) = [m for m in result.messages if m.get("custom")]
    assert notice["custom"] == {"verified_order": {"order_number": order_number}}
    assert not notice.get("text") and not notice.get("buttons")
    order = sqlite_store.find(order_number)
    assert order is not None
    sent = repr(notice).lower()
    assert order.email.lower() not in sent and order.postal_code not in sent


def test_no_match_and_no_store_tell_the_service_nothing(
    sqlite_store: OrderStore, closed_port: int, domain: Domain
) -> None:
    down = OrderStore(f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders")
    for result in (
        check_order(sqlite_store, domain, "HG-10008", "someone.else@example.com"),
        check_order(sqlite_store, domain, "HG-99999", "lucas.muller37@example.com"),
        check_order(down, domain, "HG-10008", "lucas.muller37@example.com"),
        check_order(
            sqlite_store,
            domain,
            "HG-10008",
            "lucas.muller37@example.com",
            order_lookup_blocked=True,
        ),
    ):
        assert notices(result) == []


def test_a_delayed_order_gives_the_new_estimate_and_offers_a_person(
    sqlite_store: OrderStore, domain: Domain
) -> None:
    result = check_order(sqlite_store, domain, "HG-10029", "nora.silva53@example.com")
    (reply,) = result.texts
    assert "delayed" in reply
    assert "Thursday, November 26, 2026" in reply
    assert "FE7949648200" in reply
    assert result.messages[0]["buttons"] == replies.OFFER_BUTTONS
    assert result.slot("handoff_offered") is True
    assert result.slot("handoff_reason") == "order_delayed"
    assert result.slot("order_state") == "delayed"


def test_a_delayed_order_without_an_estimate_says_so() -> None:
    order = Order(
        order_number="HG-10500", email="a@example.com", postal_code="10001", customer_name="A",
        state="delayed", placed_at=date(2026, 11, 1), carrier="UPS", tracking_number="UP1",
        estimated_delivery=None, delivered_at=None, items="1 x Mug", total_cents=1000,
        refund_status=None,
    )  # fmt: skip
    reply = replies.order_status_reply(order)
    assert "don't have a new delivery estimate yet" in reply
    assert replies.DELAYED_OFFER in reply


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


def test_the_email_matches_in_any_case(sqlite_store: OrderStore, domain: Domain) -> None:
    result = check_order(sqlite_store, domain, "HG-10008", "LUCAS.MULLER37@EXAMPLE.COM")
    assert "UP7713212391" in result.texts[0]


def test_the_postal_code_must_match_exactly(sqlite_store: OrderStore, domain: Domain) -> None:
    assert "shipped" in check_order(sqlite_store, domain, "HG-10064", "08612").texts[0]
    result = check_order(sqlite_store, domain, "HG-10064", "08613")
    assert result.texts == [replies.NO_MATCH_TRY_AGAIN]


def test_a_wrong_proof_and_an_unknown_order_get_the_same_neutral_answer(
    sqlite_store: OrderStore, domain: Domain
) -> None:
    wrong_email = check_order(sqlite_store, domain, "HG-10008", "someone.else@example.com")
    wrong_postal_code = check_order(sqlite_store, domain, "HG-10008", "94110")
    unknown_order = check_order(sqlite_store, domain, "HG-99999", "lucas.muller37@example.com")
    assert wrong_email.messages == wrong_postal_code.messages == unknown_order.messages
    assert wrong_email.texts == [replies.NO_MATCH_TRY_AGAIN]
    for result in (wrong_email, unknown_order):
        assert "UPS" not in result.texts[0]
        assert "verified_order_number" not in {e["name"] for e in result.events}
        assert result.slot("verification_failures") == 1
        assert result.slot("handoff_offered") is None


def test_the_proof_is_forgotten_after_every_lookup(
    sqlite_store: OrderStore, domain: Domain
) -> None:
    for proof in ("lucas.muller37@example.com", "wrong@example.com"):
        result = check_order(sqlite_store, domain, "HG-10008", proof)
        assert result.slot("order_verification") is None
        assert result.slot("order_number") is None


def test_the_third_failure_stops_the_lookup_and_offers_a_person(
    sqlite_store: OrderStore, domain: Domain
) -> None:
    second = check_order(sqlite_store, domain, "HG-10008", "94110", verification_failures=1)
    assert second.texts == [replies.NO_MATCH_TRY_AGAIN]
    third = check_order(
        sqlite_store, domain, "HG-10008", "lucas@example.com", verification_failures=2
    )
    assert third.texts == [replies.NO_MATCH_STOP]
    assert third.texts[0].startswith(replies.NO_MATCH)
    assert third.messages[0]["buttons"] == replies.OFFER_BUTTONS
    assert third.slot("verification_failures") == 3
    assert third.slot("order_lookup_blocked") is True
    assert third.slot("handoff_offered") is True
    assert third.slot("handoff_reason") == "verification_failed"


def test_after_three_failures_even_the_right_proof_is_not_checked(
    closed_port: int, domain: Domain
) -> None:
    # The store is down: reaching it would apologise for the database instead.
    store = OrderStore(f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders")
    result = check_order(
        store,
        domain,
        "HG-10008",
        "lucas.muller37@example.com",
        verification_failures=3,
        order_lookup_blocked=True,
    )
    assert result.texts == [replies.LOOKUP_BLOCKED]
    assert result.slot("handoff_reason") == "verification_failed"
    assert "verified_order_number" not in {e["name"] for e in result.events}


def test_a_success_does_not_reset_the_failure_count(
    sqlite_store: OrderStore, domain: Domain
) -> None:
    result = check_order(
        sqlite_store, domain, "HG-10008", "lucas.muller37@example.com", verification_failures=2
    )
    assert "verification_failures" not in {e["name"] for e in result.events}
    assert result.slot("verified_order_number") == "HG-10008"


# ---------------------------------------------------------------------------------------------
# A database that is down or slow
# ---------------------------------------------------------------------------------------------


def test_a_database_that_is_down_gets_an_apology_and_an_offer(
    closed_port: int, domain: Domain
) -> None:
    store = OrderStore(f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders")
    result = check_order(store, domain, "HG-10008", "lucas.muller37@example.com")
    assert result.texts == [replies.STORE_UNAVAILABLE]
    assert result.messages[0]["buttons"] == replies.OFFER_BUTTONS
    assert result.slot("handoff_offered") is True
    assert result.slot("handoff_reason") == "order_lookup_unavailable"
    assert "verification_failures" not in {e["name"] for e in result.events}


def test_a_database_that_hangs_gets_an_apology_within_the_timeout(
    silent_server: int, domain: Domain
) -> None:
    store = OrderStore(
        f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/orders", timeout_seconds=1
    )
    started = time.monotonic()
    result = check_order(store, domain, "HG-10008", "lucas.muller37@example.com")
    assert time.monotonic() - started < 2.5
    assert result.texts == [replies.STORE_UNAVAILABLE]


def test_the_action_reads_its_store_from_the_environment_on_first_use(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, domain: Domain
) -> None:
    monkeypatch.setenv("ORDERS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ORDERS_DB_TIMEOUT_SECONDS", "2")
    check = ActionCheckOrder()
    tracker = make_tracker(
        events=[user(parse_data("inform", text="19220"))],
        slots={"order_number": "HG-10001", "order_verification": "19220"},
    )
    assert "being packed" in run_action(check, tracker, domain).texts[0]


def test_a_malformed_timeout_setting_is_an_apology_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, domain: Domain
) -> None:
    monkeypatch.setenv("ORDERS_DB_TIMEOUT_SECONDS", "soon")
    tracker = make_tracker(
        events=[user(parse_data("inform", text="19220"))],
        slots={"order_number": "HG-10001", "order_verification": "19220"},
    )
    assert run_action(ActionCheckOrder(), tracker, domain).texts == [replies.STORE_UNAVAILABLE]
