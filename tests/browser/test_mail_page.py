"""Email on a laptop, in Chromium: the admins' Mail tab and the Tickets tab's "Reply by email".

The stack sends its mail to a local SMTP catcher started for real (python -m
handoff.email.catcher, as `make run` starts it) and takes replies on its own inbound SMTP
server. A customer leaves a message while nobody is online; an admin answers the ticket by
email from the Tickets tab, which opens the chat; the mail the customer would get is in the
Mail tab, read as text; the admin replies as the customer, and the reply comes into the chat,
live. An agent has no Mail tab.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from handoff.settings import ROOT
from tests.browser.support import (
    Stack,
    axe_violations,
    console_login,
    running_stack,
    screenshot,
    shopper_page,
    unlabelled,
)
from tests.support.servers import free_port, wait_for_port

pytestmark = pytest.mark.browser

ACCOUNTS = [
    ("alex", "harbor-test-pass-1", "Alex Morgan", "agent"),
    ("ops", "harbor-test-pass-5", "Olu Admin", "admin"),
]
CUSTOMER = "pat@example.com"
MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def catcher_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, catcher_port: int) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("redis-mail"),
        ACCOUNTS,
        mail_catcher=True,
        smtp_url=f"smtp://127.0.0.1:{catcher_port}",
        inbound_smtp="127.0.0.1:0",
        # The customer closed the page: the agent's messages go by email at once.
        email_after_away=0.0,
    )


@pytest.fixture(scope="module")
def catcher(stack: Stack, catcher_port: int) -> Iterator[int]:
    env = {
        **os.environ,
        "REDIS_URL": stack.redis_url,
        "REDIS_PREFIX": stack.settings.redis_prefix,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "handoff.email.catcher", "--listen", f"127.0.0.1:{catcher_port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(catcher_port)
        yield catcher_port
    finally:
        process.terminate()
        process.wait(timeout=10)


def leave_a_message(browser: Any, stack: Stack, text: str) -> None:
    """A customer asks for a person while nobody is online and leaves a message, then goes."""
    from playwright.sync_api import expect

    shopper = shopper_page(browser, stack)
    page = shopper.page
    page.locator(".ha-input").fill("I want a person")
    page.keyboard.press("Enter")
    leave = page.locator(".ha-leave")
    expect(leave).to_be_visible()
    leave.get_by_label("Your email").fill(CUSTOMER)
    leave.get_by_label("Message").fill(text)
    leave.get_by_role("button", name="Leave message").click()
    expect(page.locator(".ha-log").get_by_text("your message is with our team")).to_be_visible()
    shopper.assert_inert()
    shopper.context.close()


def refresh_until(page: Any, button: str, row: Any, tries: int = 80) -> None:
    """Press a list's Refresh until `row` is listed: the outbox's sender mails on its own."""
    from playwright.sync_api import expect

    for _ in range(tries):
        page.locator(button).click()
        if row.count():
            return
        page.wait_for_timeout(250)
    expect(row).to_have_count(1)


def test_a_ticket_answered_by_email_and_the_customers_reply_in_the_chat(
    stack: Stack, catcher: int, browser: Any
) -> None:
    from playwright.sync_api import expect

    leave_a_message(browser, stack, "My lamp arrived cracked.")
    admin = console_login(browser, stack, "ops", online=False)
    page = admin.page
    # The console's window has the focus (the customer's came first): the focus checks below
    # are about where the console puts the keyboard, not which window the browser favours.
    page.bring_to_front()

    # Tickets: the open ticket with the customer's address is answered by email.
    page.get_by_role("tab", name="Tickets").click()
    ticket = page.locator("#tickets-body tr", has_text=CUSTOMER)
    expect(ticket).to_have_count(1)
    ticket.get_by_role("button", name=f"Reply by email to {CUSTOMER}").click()
    expect(page.get_by_role("tab", name="Chats")).to_have_attribute("aria-selected", "true")
    transcript = page.locator(".col-main")
    # The ticket's conversation is the admin's chat now, on screen.
    expect(transcript.get_by_text("Olu Admin is answering your message.")).to_be_visible()
    expect(page.locator("#mine-list li")).to_have_count(1)
    composer = page.locator("#composer-input")
    expect(composer).to_be_focused()
    composer.fill("Sorry about that! A new lamp ships today.")
    composer.press("Enter")
    expect(transcript.get_by_text("A new lamp ships today.")).to_be_visible()
    # The customer is away, so it went by email too; the catcher took it, and the message
    # says so in words, live.
    log = page.get_by_role("log", name="Transcript")
    answer = log.locator(".entry-agent", has_text="A new lamp ships today.")
    expect(answer.locator(".entry-meta")).to_contain_text("Emailed")

    # A mail from outside with markup in it, straight to the catcher: shown as text.
    odd = EmailMessage()
    odd["From"] = "someone@elsewhere.example"
    odd["To"] = CUSTOMER
    odd["Subject"] = f"Hello {MARKUP}"
    odd.set_content(f"Body {MARKUP}")
    with smtplib.SMTP("127.0.0.1", catcher, timeout=10) as smtp:
        smtp.send_message(odd)

    # Mail: what the customer would have received.
    mail_tab = page.get_by_role("tab", name="Mail")
    expect(mail_tab).to_be_visible()
    mail_tab.click()
    expect(page.get_by_role("heading", name="Mail", exact=True)).to_be_visible()
    ours = page.locator("#mail-body tr", has_text="support@harbor-goods.example")
    refresh_until(page, "#mail-refresh", ours)
    odd_row = page.locator("#mail-body tr", has_text="someone@elsewhere.example")
    expect(odd_row).to_have_count(1)
    odd_row.locator("button.mail-open").click()
    expect(page.locator("#mail-subject")).to_have_text(f"Hello {MARKUP}")
    expect(page.locator("#mail-text")).to_contain_text(f"Body {MARKUP}")

    expect(ours.locator("td").nth(2)).to_have_text(CUSTOMER)
    ours.locator("button.mail-open").click()
    expect(page.locator("#mail-subject")).to_be_focused()
    expect(page.locator("#mail-text")).to_contain_text("A new lamp ships today.")
    expect(page.locator(".mail-headers")).to_contain_text("reply+")
    assert axe_violations(page, "#panel-mail") == []
    assert unlabelled(page, "#panel-mail") == []
    screenshot(page, "mail-tab")

    # Reply as the customer: it reaches the service's inbound mail and the chat, live.
    page.get_by_label("Your reply").fill("Great, <b>thank you</b>!")
    page.get_by_role("button", name="Send as the customer").click()
    expect(page.locator("#mail-reply-status")).to_contain_text("Sent as the customer to reply+")
    page.get_by_role("tab", name="Chats").click()
    # In the transcript itself: the suggestions box may quote the same message ("for “…”").
    expect(log.get_by_text("Great, <b>thank you</b>!", exact=True)).to_be_visible()
    reply = log.locator(".entry-customer", has_text="Great, <b>thank you</b>!")
    expect(reply.locator(".entry-meta")).to_contain_text("by email")
    # A reload shows the email's status as it stands, from the chat's load.
    page.reload()
    page.locator("#mine-list li button").first.click()
    expect(answer.locator(".entry-meta")).to_contain_text("Emailed")
    screenshot(page, "mail-reply-in-chat")
    admin.assert_inert()


def test_agents_have_no_mail_tab(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "alex", online=False)
    expect(agent.page.get_by_role("tab", name="Tickets")).to_be_visible()
    expect(agent.page.locator("#tab-mail")).to_have_count(0)
    expect(agent.page.locator("#tab-privacy")).to_have_count(0)
    agent.assert_inert()
