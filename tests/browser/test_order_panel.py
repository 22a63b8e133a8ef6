"""The console's order panel in Chromium: a customer names their orders and is handed over with
one of them verified by the assistant; the agent who claims the chat sees the orders the chat
mentions, opens them (state, items, carrier and tracking) beside the line that says whether the
customer proved the order is theirs; an order the store does not have says "not found"; with
the order store down the panel says so and offers a retry, while the chat goes on.

The stack's order store is SQLite of this module's own, seeded from orders/orders.csv on the
first lookup (support.running_stack)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handoff.state import app_state
from orders.store import OrderStore
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
    unlabelled,
)
from tests.support.fake_rasa import shop_replies
from tests.support.servers import free_port

pytestmark = pytest.mark.browser

ACCOUNTS = [("alex", "harbor-test-pass-1", "Alex Morgan", "agent")]
ASK_ABOUT_ORDER = "I need a person about order "
VERIFIED_LINE = "Customer proved this order is theirs"
UNVERIFIED_LINE = "Not verified: do not share details with the customer"


async def replies(sender: str, text: str) -> list[dict[str, Any]]:
    """The shop's assistant; asked for a person about an order, it hands over with that order
    verified (the payload the real handoff action sends after the customer proved it)."""
    if text.startswith(ASK_ABOUT_ORDER):
        order = text.removeprefix(ASK_ABOUT_ORDER).strip()
        handoff = {
            "reason": "order_delayed",
            "summary": f"Verified order {order}; the customer asked for a person.",
            "intents": [{"name": "order_status", "confidence": 0.93}],
            "slots": {"order_number": order, "order_verified": True, "order_state": "processing"},
        }
        return [{"recipient_id": sender, "custom": {"handoff": handoff}}]
    return await shop_replies(sender, text)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for running in running_stack(tmp_path_factory.mktemp("redis-orders"), ACCOUNTS):
        running.rasa.replies = replies
        yield running


def handed_over(browser: Any, stack: Stack) -> tuple[Watched, Watched, str]:
    """A customer asks about a shipped order (HG-10008, not verified) and is handed over with
    HG-10001 verified; the agent claims the chat."""
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=True)
    shopper = shopper_page(browser, stack)
    say(shopper, "Where is my order hg-10008?")
    expect(shopper.page.locator(".ha-log")).to_contain_text("echo: Where is my order hg-10008?")
    say(shopper, ASK_ABOUT_ORDER + "HG-10001")
    expect(shopper.page.locator(".ha-log")).to_contain_text("queue")
    cid = conversation_of(shopper)
    agent.page.locator(f'.queue-item[data-conversation="{cid}"] .queue-claim').click()
    expect(agent.page.locator(f'#mine-list li[data-key="{cid}"]')).to_have_count(1)
    return agent, shopper, cid


def order_item(agent: Watched, number: str) -> Any:
    return agent.page.locator(f'#order-panel li[data-order="{number}"]')


def test_the_agent_sees_the_chats_orders_with_what_the_customer_proved(
    browser: Any, stack: Stack
) -> None:
    from playwright.sync_api import expect

    agent, shopper, _ = handed_over(browser, stack)
    page = agent.page
    panel = page.get_by_role("region", name="Orders in this chat")
    expect(panel.locator("li.order-item")).to_have_count(2)
    # The proved order first, each with its line; nothing is looked up before it is opened.
    expect(panel.locator(".order-number")).to_have_text(["HG-10001", "HG-10008"])
    expect(order_item(agent, "HG-10001").locator(".order-verification")).to_have_text(VERIFIED_LINE)
    expect(order_item(agent, "HG-10008").locator(".order-verification")).to_have_text(
        UNVERIFIED_LINE
    )
    toggle = panel.get_by_role("button", name="HG-10008")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    facts = order_item(agent, "HG-10008").locator(".order-facts")
    expect(facts).to_contain_text("Shipped")
    expect(facts).to_contain_text("2 x Ceramic mug set; 1 x Camping lantern; 1 x Picnic blanket")
    expect(facts).to_contain_text("UPS")
    expect(facts).to_contain_text("UP7713212391")
    expect(facts).to_contain_text("2026-10-29")
    expect(facts).to_contain_text("337.56 USD")
    panel.get_by_role("button", name="HG-10001").click()
    verified = order_item(agent, "HG-10001").locator(".order-facts")
    expect(verified).to_contain_text("Processing")
    expect(verified).to_contain_text("Ivan Silva")
    facts.locator("dd").last.scroll_into_view_if_needed()
    screenshot(page, "order-panel")
    assert axe_violations(page, "#order-panel") == []
    assert unlabelled(page, "#order-panel") == []
    # The keyboard closes an order as well as a click.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(facts).to_be_hidden()
    # A new order number from the customer joins the panel without a reload; the store has none.
    say(shopper, "Sorry, it is actually HG-99999")
    missing = order_item(agent, "HG-99999")
    expect(missing).to_have_count(1)
    panel.get_by_role("button", name="HG-99999").click()
    expect(missing.get_by_role("alert")).to_have_text(
        "Not found: there is no order HG-99999 in the order store."
    )
    expect(missing.get_by_role("button", name="Retry")).to_have_count(0)
    assert axe_violations(page, "#order-panel") == []
    agent.assert_inert()


def test_with_the_order_store_down_the_panel_says_so_and_the_chat_goes_on(
    browser: Any, stack: Stack
) -> None:
    from playwright.sync_api import expect

    agent, shopper, _ = handed_over(browser, stack)
    page = agent.page
    assert stack.app is not None
    state = app_state(stack.app)
    working = state.orders
    # The store goes down: its server refuses connections.
    state.orders = OrderStore(
        f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/orders", 2.0, workers=2
    )
    try:
        item = order_item(agent, "HG-10008")
        item.get_by_role("button", name="HG-10008").click()
        expect(item.get_by_role("alert")).to_have_text(
            "The order store is not available right now. The chat goes on; try again in a moment."
        )
        screenshot(page, "order-panel-unavailable")
        # The chat goes on both ways meanwhile.
        say(shopper, "Are you still there?")
        expect(page.locator("#transcript")).to_contain_text("Are you still there?")
        page.locator("#composer-input").fill("Yes, one moment please.")
        page.keyboard.press("Enter")
        expect(shopper.page.locator(".ha-log")).to_contain_text("Yes, one moment please.")
        assert axe_violations(page, "#order-panel") == []
    finally:
        state.orders.dispose()
        state.orders = working
    # Back up: Retry brings the order.
    item.get_by_role("button", name="Retry").click()
    expect(item.locator(".order-facts")).to_contain_text("UP7713212391")
    agent.assert_inert()
