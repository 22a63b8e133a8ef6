"""What an agent sees of a handed-over chat, in Chromium, on the chat from the issue: a customer
writes "hello", then "my order … still hasn't shipped and this is the third time I'm asking, I am
really fed up", and the triage hands the chat over before the assistant answers.

The agent must see a summary built from the whole conversation (the message that mattered
quoted, not "hello"; what was asked; the order named and whether it is verified; the mood), the
details Rasa found although the assistant never answered, the order itself, the customer by
name with their earlier conversations, ratings and the messages they left, and suggested
answers only when one is worth reading. A customer who proved an order is theirs through the
assistant's order-status questions is the chat's title, by name, wherever the console names the
chat. The order panel's faults are in test_order_panel.py, the response-time targets in
test_response_targets.py.

The stack is the browser tests' own (support.running_stack): the app in-process with a scripted
Rasa and demo orders in SQLite. The triage is off there, so the test makes its decision (queue
the chat for frustration, on that message) through the same call the triage makes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actions.parsing import find_order_number, parse_verification
from actions.replies import (
    ASK_ORDER_NUMBER,
    ASK_VERIFICATION,
    INVALID_ORDER_NUMBER,
    NO_MATCH_TRY_AGAIN,
    order_status_reply,
)
from handoff.archive.writing import ConversationFacts
from handoff.console.queue_view import visitor_label
from handoff.state import app_state
from tests.browser.support import (
    Stack,
    Watched,
    axe_violations,
    console_login,
    conversation_of,
    running_stack,
    say,
    screenshot,
    shopper_page,
)
from tests.support.fake_rasa import shop_parse, shop_replies

pytestmark = pytest.mark.browser

ACCOUNTS = [("alex", "harbor-test-pass-1", "Alex Morgan", "agent")]
COMPLAINT = (
    "my order HG-10008 still hasn't shipped and this is the third time I'm asking, "
    "I am really fed up"
)
VERIFIED_EMAIL = "lucas.muller37@example.com"  # HG-10008's, in orders/orders.csv
VERIFIED_NAME = "Lucas Müller"  # HG-10008's customer


async def replies(sender: str, text: str) -> list[dict[str, Any]]:
    """The shop's assistant; the complaint gets no answer (the triage takes it first)."""
    if "fed up" in text:
        return []
    return await shop_replies(sender, text)


def parse(text: str) -> dict[str, Any]:
    """Rasa's parse: greetings, order questions with their number, FAQ questions otherwise."""
    lowered = text.lower()
    if lowered.strip() in {"hello", "hi"}:
        return {"text": text, "intent": {"name": "greet", "confidence": 0.98}, "entities": []}
    if "order hg-" in lowered:
        start = lowered.index("hg-")
        return {
            "text": text,
            "intent": {"name": "check_order_status", "confidence": 0.91},
            "entities": [{"entity": "order_number", "value": text[start : start + 8].upper()}],
        }
    return shop_parse(text)


class OrderStatusForm:
    """The shop's assistant with its order-status questions as actions/order_status.py asks
    them, with its own parsing and wording: the order number, then the email or postal code on
    the order, compared with the stack's order store. On a match the customer gets the order's
    status and the tracker holds `verified_order_number`, as after the real action; the service
    learns who the customer is from there."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        # Conversation -> the question asked: "" for the order number, else the order number
        # whose proof is awaited.
        self.asked: dict[str, str] = {}

    async def __call__(self, sender: str, text: str) -> list[dict[str, Any]]:
        """The assistant's answer: the form's turn, else the other scripted replies."""
        turn = await self.reply(sender, text)
        return turn if turn is not None else await replies(sender, text)

    async def reply(self, sender: str, text: str) -> list[dict[str, Any]] | None:
        """The form's turn, or None when the message is not for it."""
        if sender not in self.asked:
            if "where is my order" not in text.lower():
                return None
            self.asked[sender] = ""
            return [{"recipient_id": sender, "text": ASK_ORDER_NUMBER}]
        if not self.asked[sender]:
            number = find_order_number(text)
            if number is None:
                return [{"recipient_id": sender, "text": INVALID_ORDER_NUMBER}]
            self.asked[sender] = number
            return [{"recipient_id": sender, "text": ASK_VERIFICATION}]
        state = app_state(self.stack.app) if self.stack.app is not None else None
        assert state is not None
        order = await state.orders.find_async(self.asked.pop(sender))
        proof = parse_verification(text)
        if order is None or proof is None or not proof.matches(order.email, order.postal_code):
            return [{"recipient_id": sender, "text": NO_MATCH_TRY_AGAIN}]
        self.stack.rasa.slots[sender] = {"verified_order_number": order.order_number}
        return [{"recipient_id": sender, "text": order_status_reply(order)}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for running in running_stack(tmp_path_factory.mktemp("redis-context"), ACCOUNTS):
        running.rasa.replies = OrderStatusForm(running)
        running.rasa.parse = parse
        yield running


def handed_over_by_triage(stack: Stack, shopper: Watched, verified: str | None) -> str:
    """The customer says hello, then the complaint; the triage queues the chat on it."""
    from playwright.sync_api import expect

    say(shopper, "hello")
    expect(shopper.page.locator(".ha-log")).to_contain_text("echo: hello")
    cid = conversation_of(shopper)
    if verified:
        # What the assistant's tracker holds once the customer proved the order is theirs.
        stack.rasa.slots[cid] = {"verified_order_number": verified}
    say(shopper, COMPLAINT)
    state = app_state(stack.app) if stack.app is not None else None
    assert state is not None

    async def customer_ids() -> tuple[str, str]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            said = [e for e in await state.store.read_all(cid) if e.sender == "customer"]
            if any("fed up" in e.text for e in said):
                return said[0].id, next(e.id for e in said if "fed up" in e.text)
        raise AssertionError("the complaint never reached the transcript")

    hello, entry = stack.run(customer_ids())
    # What the triage keeps per message for the mood trend (handoff/assistant/turns.py): the
    # greeting calm, the complaint upset.
    scores = {hello: {"frustration": 0.02, "displeasure": 0.05}}
    scores[entry] = {"frustration": 0.91, "displeasure": 0.88}
    for message, score in scores.items():
        stack.run(
            state.redis.hset(state.keys.conversation(cid), f"triage:{message}", json.dumps(score))
        )
    details = {"message": entry, "scores": scores[entry]}
    stack.run(state.queue.escalate(cid, "frustration", 3, "triage", details))
    expect(shopper.page.locator(".ha-log")).to_contain_text("queue")
    return cid


def test_the_agent_gets_the_whole_story_the_order_the_customer_and_honest_suggestions(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    state = app_state(stack.app) if stack.app is not None else None
    assert state is not None and state.archive is not None
    # The customer has been here before: a rated chat in the archive, in which they proved the
    # order, and a message they left in it.
    state.archive.record(
        [
            ConversationFacts(
                "e" * 32,
                int(time.time() * 1000) - 86_400_000,
                state="closed",
                handoff_reason="human_request",
                rating=4,
                customer_email=VERIFIED_EMAIL,
                order_number="HG-10008",
            )
        ]
    )
    stack.run(
        state.redis.xadd(
            state.keys.tickets,
            {
                "conversation": "e" * 32,
                "email": VERIFIED_EMAIL,
                "text": "The lantern handle came loose, please call me back",
                "at": str(int(time.time() * 1000) - 3_600_000),
                "status": "open",
            },
        )
    )
    agent = console_login(browser, stack, "alex", online=True)
    page = agent.page
    shopper = shopper_page(browser, stack)
    cid = handed_over_by_triage(stack, shopper, verified="HG-10008")

    card = page.locator(f'.queue-item[data-conversation="{cid}"]')
    expect(card).to_contain_text("Customer is frustrated")
    # -- the response-time target: the time left to the first response, counting down --
    expect(card.locator(".due")).to_contain_text(re.compile(r"First response: \d+:\d\d left"))
    card.locator(".queue-claim").click()
    expect(page.locator(f'#mine-list li[data-key="{cid}"]')).to_have_count(1)

    # -- the packet: the message that mattered, what was asked, the order, the mood --
    packet = page.locator("#packet")
    summary = packet.locator(".packet-summary")
    expect(summary).to_contain_text(
        "Customer is frustrated: “my order HG-10008 still hasn't shipped and this is the third"
    )
    expect(summary).to_contain_text("Order mentioned: HG-10008 (verified by the customer).")
    expect(summary).to_contain_text("Mood: calm, then upset.")
    expect(packet.locator(".spark .spark-bar")).to_have_count(2)
    assert "“hello”" not in summary.inner_text()
    asked = packet.locator(".asked li")
    expect(asked).to_have_count(1)
    expect(asked).to_contain_text("order status")
    expect(asked).to_contain_text("handed over before the assistant answered")
    # Rasa's view of the messages, although the assistant never answered the complaint.
    expect(packet.locator(".meter-label")).to_have_text(["greet", "check_order_status"])
    details = packet.locator("dl.slots")
    expect(details).to_contain_text("order number")
    expect(details).to_contain_text("HG-10008")
    expect(details).to_contain_text("order verified")
    expect(details.locator("dd")).to_contain_text(["HG-10008", "yes"])
    screenshot(page, "agent-context-packet")

    # -- the order, for the agent, with whether the customer proved it --
    orders = page.get_by_role("region", name="Orders in this chat")
    expect(orders.locator(".order-verification")).to_contain_text("proved")
    orders.get_by_role("button", name="HG-10008").click()
    facts = orders.locator(".order-facts")
    expect(facts).to_contain_text("UP7713212391")
    expect(facts).to_contain_text("Shipped")
    screenshot(page, "agent-context-order-panel")

    # -- the customer, by name, with their history --
    history = page.locator("#earlier")
    expect(history.locator("#customer-name")).to_have_text("Lucas Müller")
    expect(history.locator("#customer-who")).to_have_text("By verified order HG-10008")
    expect(history.locator("#earlier-list button")).to_have_count(1)
    expect(history.locator("#earlier-list")).to_contain_text("Rated 4/5")
    expect(history.locator("#customer-ratings")).to_have_text(
        "Rated 1 earlier chat, 4.0/5 on average"
    )
    expect(history.locator("#customer-tickets")).to_contain_text("lantern handle came loose")
    # The picture shows the history whole: no "New chat waiting" notice over its tickets.
    expect(page.locator("#toast")).to_be_hidden(timeout=15_000)
    history.locator("#customer-tickets").scroll_into_view_if_needed()
    screenshot(page, "agent-context-history")
    assert axe_violations(page) == []

    # -- suggestions: none for the complaint, the FAQ answer for a real FAQ question --
    expect(page.locator("#suggestions")).to_be_hidden()
    say(shopper, "How long does a refund take?")
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("refund time")
    expect(suggestions.locator("#suggestions-for")).to_contain_text("How long does a refund take?")
    expect(suggestions.locator("li.suggestion")).to_have_count(1)
    agent.assert_inert()
    shopper.assert_inert()


def test_a_customer_who_proved_nothing_is_not_named_and_has_no_history(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=True)
    page = agent.page
    shopper = shopper_page(browser, stack)
    cid = handed_over_by_triage(stack, shopper, verified=None)
    card = page.locator(f'.queue-item[data-conversation="{cid}"]')
    expect(card.locator(".card-title")).to_have_text(f"Visitor {visitor_label(cid)}")
    card.locator(".queue-claim").click()
    expect(page.locator(f'#mine-list li[data-key="{cid}"]')).to_have_count(1)
    summary = page.locator("#packet .packet-summary")
    expect(summary).to_contain_text("Order mentioned: HG-10008 (not verified).")
    orders = page.get_by_role("region", name="Orders in this chat")
    expect(orders.locator(".order-verification")).to_contain_text("Not verified")
    # Nobody in particular: no name, no history looked up for this visitor.
    expect(page.locator("#earlier")).to_have_count(0)
    expect(page.locator("#customer-name")).to_have_count(0)
    agent.assert_inert()


def test_a_customer_who_verified_with_the_assistant_is_the_chat_title_by_name(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=True)
    page = agent.page
    shopper = shopper_page(browser, stack)
    log = shopper.page.locator(".ha-log")
    # The order-status questions, answered in the widget: the number, then the order's email.
    say(shopper, "Where is my order?")
    expect(log).to_contain_text(ASK_ORDER_NUMBER)
    say(shopper, "HG-10008")
    expect(log).to_contain_text(ASK_VERIFICATION)
    say(shopper, VERIFIED_EMAIL)
    state = app_state(stack.app) if stack.app is not None else None
    assert state is not None
    order = stack.run(state.orders.find_async("HG-10008"))
    assert order is not None
    expect(log).to_contain_text(order_status_reply(order))
    # Then a person: the chat is titled by the verified customer's name wherever it is named.
    say(shopper, "I want a person")
    expect(log).to_contain_text("queue")
    cid = conversation_of(shopper)
    card = page.locator(f'.queue-item[data-conversation="{cid}"]')
    expect(card.locator(".card-title")).to_have_text(VERIFIED_NAME)
    card.locator(".queue-claim").click()
    mine = page.locator(f'#mine-list li[data-key="{cid}"]')
    expect(mine.locator(".mine-title")).to_have_text(VERIFIED_NAME)
    expect(page.locator("#chat-title")).to_have_text(VERIFIED_NAME)
    agent.assert_inert()
    shopper.assert_inert()
