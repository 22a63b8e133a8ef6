"""One browser journey through both pages: the customer widget and the agent console.

Runs the handoff app in-process (TRIAGE off) against a private redis-server and a tiny scripted
Rasa peer, and drives the system Chromium (never a downloaded one) with Playwright:

    customer: keyboard-opens the widget, "hi" -> greeting + quick replies, clicks one,
              asks for a person while nobody is online -> leaves a message (ticket),
    agent:    logs in (a wrong password first), goes online,
    customer: asks for a person again -> sees the queue position,
    agent:    sees the chat in the queue, claims it, sees the packet,
    both:     chat both ways, the customer sees the agent typing, XSS payloads stay text,
    customer: reloads mid-chat -> same conversation, nothing shown twice,
    agent:    closes the chat (notes + tags); customer rates 5 stars with the keyboard,
              downloads the transcript and starts a new chat;
    agent:    Tickets and Dashboard tabs; customer widget on a phone-sized screen.

Screenshots of every step go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, SHOTS, Stack, running_stack, tab_to

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'
AGENT_USER, AGENT_PASSWORD, AGENT_NAME = "alex", "harbor-test-pass-1", "Alex Morgan"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("redis-browser"),
        [(AGENT_USER, AGENT_PASSWORD, AGENT_NAME, "agent")],
    )


# --- the journey ------------------------------------------------------------------------------


def test_customer_and_agent_journey(stack: Stack) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("[0-9][0-9]-*.png"):
        old.unlink()
    step = [0]

    def shot(page: Any, name: str) -> None:
        step[0] += 1
        page.screenshot(path=str(SHOTS / f"{step[0]:02d}-{name}.png"), animations="disabled")

    expect.set_options(timeout=10_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            customer_ctx = browser.new_context(viewport={"width": 1280, "height": 820})
            agent_ctx = browser.new_context(viewport={"width": 1440, "height": 900})
            customer = customer_ctx.new_page()
            agent = agent_ctx.new_page()
            page_errors: list[str] = []
            for page in (customer, agent):
                page.on("pageerror", lambda error: page_errors.append(str(error)))

            # -- customer opens the shop and the widget with the keyboard --
            customer.goto(stack.url + "/")
            launcher = customer.locator(".ha-launcher")
            expect(launcher).to_be_visible()
            shot(customer, "shop-with-launcher")
            tab_to(customer, launcher, presses=15)
            customer.keyboard.press("Enter")
            panel = customer.locator(".ha-panel")
            expect(panel).to_be_visible()
            expect(launcher).to_have_attribute("aria-expanded", "true")
            expect(customer.locator(".ha-input")).to_be_focused()
            expect(customer.locator(".ha-log")).to_have_attribute("role", "log")
            expect(customer.locator(".ha-log")).to_have_attribute("aria-live", "polite")
            shot(customer, "widget-open")

            # Escape closes and gives focus back to the launcher; Enter reopens.
            customer.keyboard.press("Escape")
            expect(panel).to_be_hidden()
            expect(launcher).to_be_focused()
            customer.keyboard.press("Enter")
            expect(customer.locator(".ha-input")).to_be_focused()

            # -- greeting with quick replies --
            customer.keyboard.type("hi")
            customer.keyboard.press("Enter")
            log = customer.locator(".ha-log")
            expect(log.get_by_text("What can I do for you?")).to_be_visible()
            quick = customer.get_by_role("button", name="Track my order")
            expect(quick).to_be_visible()
            shot(customer, "greeting-quick-replies")
            quick.click()
            # The button's title is shown as the customer's message, its payload goes to the bot.
            expect(log.locator(".ha-from-customer", has_text="Track my order")).to_have_count(1)
            expect(log.get_by_text("echo: Where is my order?")).to_be_visible()
            expect(customer.get_by_role("button", name="Returns")).to_have_count(0)

            # -- nobody online: the customer is offered to leave a message --
            customer.locator(".ha-input").fill("I want a person")
            customer.keyboard.press("Enter")
            leave = customer.locator(".ha-leave")
            expect(leave).to_be_visible()
            leave.get_by_label("Your email").fill("pat@example.com")
            leave.get_by_label("Message").fill("Please call me about order 1042.")
            shot(customer, "leave-message-form")
            leave.get_by_role("button", name="Leave message").click()
            expect(log.get_by_text("your message is with our team")).to_be_visible()
            expect(leave).to_have_count(0)

            # -- agent logs in (wrong password first) and goes online --
            agent.goto(stack.url + "/console")
            agent.get_by_label("Username").fill(AGENT_USER)
            agent.get_by_label("Password").fill("wrong-password")
            agent.get_by_role("button", name="Sign in").click()
            expect(agent.locator("#login-error")).to_be_visible()
            shot(agent, "console-login-error")
            agent.get_by_label("Password").fill(AGENT_PASSWORD)
            agent.get_by_role("button", name="Sign in").click()
            expect(agent.locator("#me")).to_have_text(AGENT_NAME)
            expect(agent.locator("#load")).to_have_text("0 / 3 chats")
            agent.get_by_label("Presence status").select_option("online")
            expect(agent.locator("#presence-dot")).to_have_class("presence-dot presence-online")

            # -- customer asks for a person again: now queued --
            customer.locator(".ha-input").fill("I want a person")
            customer.keyboard.press("Enter")
            queue_box = customer.locator(".ha-queue")
            expect(queue_box).to_contain_text("next in line")
            expect(queue_box).to_contain_text("Estimated wait")
            expect(customer.get_by_role("button", name="Leave the queue")).to_be_visible()
            shot(customer, "customer-queued")

            # -- agent sees it in the queue and claims it --
            item = agent.locator(".queue-item")
            expect(item).to_have_count(1)
            expect(item.locator(".card-reason")).to_have_text("Customer asked for a person")
            expect(item.locator(".card-summary")).to_have_text("“I want a person”")
            shot(agent, "console-queue")
            item.get_by_role("button", name="Claim").click()
            packet = agent.locator("#packet")
            expect(packet).to_contain_text("request_human")
            expect(packet).to_contain_text("97%")
            expect(packet).to_contain_text("Customer asked for a person")
            expect(agent.locator("#mine-list li")).to_have_count(1)
            expect(agent.locator("#load")).to_have_text("1 / 3 chats")
            transcript = agent.locator("#transcript")
            expect(transcript.locator(".entry-bot").first).to_contain_text("BOT")
            expect(transcript).to_contain_text("echo: Where is my order?")
            expect(customer.locator(".ha-system-agent")).to_contain_text(
                f"You are now chatting with {AGENT_NAME}"
            )
            expect(queue_box).to_be_hidden()
            shot(agent, "console-claimed-packet")

            # -- both ways, with the agent's typing indicator on the customer's side --
            composer = agent.locator("#composer-input")
            composer.click()
            composer.press_sequentially("Hi, I'm Alex. Let me look into", delay=10)
            expect(customer.locator(".ha-typing")).to_be_visible()
            expect(customer.locator(".ha-typing")).to_contain_text("is typing")
            shot(customer, "customer-sees-agent-typing")
            composer.press_sequentially(" that for you.", delay=5)
            composer.press("Enter")
            expect(log.locator(".ha-from-agent")).to_contain_text(
                "Hi, I'm Alex. Let me look into that for you."
            )
            expect(customer.locator(".ha-typing")).to_be_hidden()

            customer.locator(".ha-input").fill("Thanks! My order is 1042.")
            customer.keyboard.press("Enter")
            expect(transcript.locator(".entry-customer").last).to_contain_text("My order is 1042")

            # -- XSS payloads from both sides stay literal text --
            customer.locator(".ha-input").fill(XSS)
            customer.keyboard.press("Enter")
            expect(transcript.locator(".entry-customer .entry-text").last).to_have_text(XSS)
            composer.fill(XSS)
            composer.press("Enter")
            expect(log.locator(".ha-from-agent .ha-bubble").last).to_have_text(XSS)
            expect(log.locator(".ha-bubble", has_text=XSS)).to_have_count(2)
            expect(transcript.locator(".entry-text", has_text=XSS)).to_have_count(2)
            assert customer.locator("img").count() == 0
            assert agent.locator("#transcript img").count() == 0
            assert customer.evaluate("typeof window.__xss") == "undefined"
            assert agent.evaluate("typeof window.__xss") == "undefined"
            shot(customer, "customer-xss-as-text")
            shot(agent, "console-xss-as-text")

            # -- reload mid-chat: same conversation, nothing twice --
            before = customer.locator(".ha-log [data-id]").count()
            customer.reload()
            expect(customer.locator(".ha-panel")).to_be_visible()
            log = customer.locator(".ha-log")
            expect(log.locator(".ha-bubble", has_text=XSS)).to_have_count(2)
            ids = customer.eval_on_selector_all(
                ".ha-log [data-id]", "nodes => nodes.map(n => n.getAttribute('data-id'))"
            )
            assert len(ids) == len(set(ids)) == before
            # The chat is kept for this tab only: nothing on disk for later visits to read, and
            # the shop opened in another tab starts without this chat's token.
            widget_keys = "() => Object.keys(localStorage).filter(k => k.startsWith('harbor'))"
            assert customer.evaluate(widget_keys) == []
            other_tab = customer_ctx.new_page()
            other_tab.goto(stack.url + "/")
            expect(other_tab.locator(".ha-launcher")).to_be_visible()
            assert other_tab.evaluate("() => sessionStorage.length") == 0
            other_tab.close()
            customer.locator(".ha-input").fill("Still here after a reload")
            customer.keyboard.press("Enter")
            expect(transcript).to_contain_text("Still here after a reload")
            again = log.locator(".ha-from-customer", has_text="Still here after a reload")
            expect(again).to_have_count(1)
            # The barrier: one more message, confirmed. The socket delivers in order, so a
            # duplicate of anything earlier would already be on screen.
            customer.locator(".ha-input").fill("And one more")
            customer.keyboard.press("Enter")
            expect(
                log.locator(".ha-from-customer[data-id]", has_text="And one more")
            ).to_have_count(1)
            ids = customer.eval_on_selector_all(
                ".ha-log [data-id]", "nodes => nodes.map(n => n.getAttribute('data-id'))"
            )
            assert len(ids) == len(set(ids)) == before + 2
            shot(customer, "customer-after-reload")

            # -- agent closes; customer rates 5 stars with the keyboard --
            agent.get_by_role("button", name="Close", exact=True).click()
            agent.get_by_label("Notes").fill("Order 1042 located; tracking sent.")
            agent.get_by_label("Tags (comma-separated)").fill("shipping, order-status")
            shot(agent, "console-close-form")
            agent.get_by_role("button", name="Close chat").click()
            expect(agent.locator("#mine-list li")).to_have_count(0)
            rating = customer.locator(".ha-rating")
            expect(rating).to_be_visible()
            expect(customer.get_by_role("link", name="Download transcript").first).to_be_visible()
            customer.get_by_role("radio", name="1 star").focus()
            for _ in range(4):
                customer.keyboard.press("ArrowRight")
            expect(customer.get_by_role("radio", name="5 stars")).to_be_checked()
            rating.get_by_label("Comment (optional)").fill("Quick and friendly!")
            shot(customer, "customer-rating")
            rating.get_by_role("button", name="Send rating").click()
            expect(log.get_by_text("Thanks for your feedback!")).to_be_visible()
            # The form is gone with the button that had the focus: the keyboard goes on from
            # the transcript link beside "Start a new chat".
            expect(customer.locator(".ha-download-standalone")).to_be_focused()
            with customer.expect_download() as download_info:
                customer.get_by_role("link", name="Download transcript").first.click()
            saved = Path(download_info.value.path())
            assert "Alex" in saved.read_text() and XSS in saved.read_text()
            shot(customer, "customer-rated")

            # -- a new chat starts clean: another conversation, only the greeting shown --
            stored = "() => JSON.parse(sessionStorage.getItem('harbor-assist:' + location.host))"
            ended = customer.evaluate(stored)["conversation"]
            customer.get_by_role("button", name="Start a new chat").click()
            expect(customer.locator(".ha-input")).to_be_focused()
            expect(log.locator("[data-id]")).to_have_count(0)
            expect(log.locator(".ha-greeting")).to_be_visible()
            customer.keyboard.type("hi")
            customer.keyboard.press("Enter")
            expect(log.get_by_text("What can I do for you?")).to_be_visible()
            assert customer.evaluate(stored)["conversation"] not in (None, ended)

            # -- the console's other tabs --
            agent.get_by_role("tab", name="Tickets").click()
            expect(agent.locator("#tickets-body tr")).to_have_count(1)
            expect(agent.locator("#tickets-body")).to_contain_text("pat@example.com")
            shot(agent, "console-tickets")
            agent.get_by_role("tab", name="Dashboard").click()
            expect(agent.locator("#stats")).to_contain_text("CSAT")
            expect(agent.locator("#stats")).to_contain_text("5.00")
            shot(agent, "console-dashboard")

            # -- the widget on a phone-sized screen --
            phone_ctx = browser.new_context(
                viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True
            )
            phone = phone_ctx.new_page()
            phone.goto(stack.url + "/")
            phone.locator(".ha-launcher").click()
            expect(phone.locator(".ha-panel")).to_be_visible()
            box = phone.locator(".ha-panel").bounding_box()
            assert box is not None and box["width"] >= 389 and box["height"] >= 779
            phone.locator(".ha-input").fill("hi")
            phone.keyboard.press("Enter")
            expect(phone.get_by_role("button", name="Track my order")).to_be_visible()
            shot(phone, "phone-widget")

            assert not page_errors, page_errors
        finally:
            browser.close()
