"""Proactive care in Chromium: a returning customer whose verified order is delayed is told so
by the widget before they ask, with the offer of a person; and an agent schedules a follow-up
email from the chat, seeing when it will go.

The stack is the browser tests' own (support.running_stack): the app in-process with a scripted
Rasa and the demo orders in SQLite, where HG-10029 is delayed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.support import (
    Stack,
    axe_violations,
    console_login,
    conversation_of,
    running_stack,
    say,
    screenshot,
    shopper_page,
)
from tests.support.fake_rasa import shop_replies

pytestmark = pytest.mark.browser

ACCOUNTS = [("alex", "harbor-test-pass-1", "Alex Morgan", "agent")]
ASK = "where is my order, I want a person"
DELAYED = {
    "reason": "order_delayed",
    "summary": "Verified order HG-10029 is delayed; the customer accepted a person.",
    "intents": [{"name": "check_order_status", "confidence": 0.93}],
    "slots": {"order_number": "HG-10029", "order_verified": True, "order_state": "delayed"},
}


async def replies(sender: str, text: str) -> list[dict[str, Any]]:
    """The shop's assistant; the customer proved HG-10029 and took the offer of a person."""
    if text == ASK:
        return [{"recipient_id": sender, "custom": {"handoff": DELAYED}}]
    return await shop_replies(sender, text)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for running in running_stack(tmp_path_factory.mktemp("redis-follow-up"), ACCOUNTS):
        running.rasa.replies = replies
        yield running


def test_a_returning_customer_hears_of_their_delayed_order_before_asking(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=True)  # so the chat is queued
    shopper = shopper_page(browser, stack)
    page = shopper.page
    say(shopper, ASK)
    expect(page.locator(".ha-log")).to_contain_text("queue")
    page.get_by_role("button", name="Leave the queue").click()
    expect(page.locator(".ha-log")).to_contain_text("back with the assistant")
    notices = page.locator(".ha-log").get_by_text("HG-10029 is delayed")
    expect(notices).to_have_count(0)

    # Back on the shop later in the same tab: the chat opens with the news and the offer.
    page.reload()
    expect(notices).to_have_count(1)
    expect(page.locator(".ha-log")).to_contain_text("November 26, 2026")
    offer = page.locator(".ha-log").get_by_role("button", name="Talk to a person")
    expect(offer.last).to_be_visible()
    screenshot(page, "widget-order-notice")
    # Once per order and news: coming back again does not repeat it.
    page.reload()
    expect(page.locator(".ha-log")).to_contain_text("November 26, 2026")
    expect(notices).to_have_count(1)
    shopper.assert_inert()
    agent.assert_inert()


def test_an_agent_schedules_a_follow_up_email_from_the_chat(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=True)
    page = agent.page
    shopper = shopper_page(browser, stack)
    say(shopper, ASK)
    expect(shopper.page.locator(".ha-log")).to_contain_text("queue")
    cid = conversation_of(shopper)
    page.locator(f'.queue-item[data-conversation="{cid}"] .queue-claim').click()
    expect(page.locator(f'#mine-list li[data-key="{cid}"]')).to_have_count(1)
    # The verified order's customer is known by name and email, so a follow-up can be sent.
    expect(page.locator("#chat-title")).to_contain_text("Nora Silva")
    form = page.locator("#follow-up")
    form.get_by_label("Follow up by email in").fill("3")
    form.locator("#follow-up-schedule").click()
    expect(page.locator("#follow-up-status")).to_contain_text("scheduled")
    expect(shopper.page.locator(".ha-log")).to_contain_text("We'll email you on")
    screenshot(page, "console-follow-up")
    assert axe_violations(page) == []
    agent.assert_inert()
