"""The agent console in Chromium: roles and logout, the queue as customers see it move, new-chat
alerts, a contested claim, transfers, return to the assistant, canned responses, suggested
answers, wrap-up notes, XSS in every field an agent controls, and the dashboard's chart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

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
    tab_to,
    unlabelled,
)

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_NOTE = '<script>window.__xss=2</script> see <a href="javascript:window.__xss=3">link</a>'
XSS_TAG = "<b onmouseover=alert(1)>vip</b>"
ACCOUNTS = [
    ("alex", "harbor-test-pass-1", "Alex Morgan", "agent"),
    ("sam", "harbor-test-pass-3", XSS_NAME, "agent"),
    ("erin", "harbor-test-pass-4", "Erin Editor", "editor"),
    ("ops", "harbor-test-pass-5", "Olu Admin", "admin"),
]
NAMES = {user: name for user, _, name, _ in ACCOUNTS}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("redis-console"), ACCOUNTS)


def login(browser: Any, stack: Stack, user: str, online: bool = True) -> Watched:
    return console_login(browser, stack, user, online=online, audit_sign_in=True)


def customer(browser: Any, stack: Stack) -> Watched:
    return shopper_page(browser, stack)


def test_roles_decide_what_is_shown_and_logout(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex", online=False)
    page = agent.page
    expect(page.get_by_role("tab", name="Chats")).to_be_visible()
    expect(page.get_by_label("Presence status")).to_be_visible()
    expect(page.locator("#load")).to_have_text("0 / 3 chats")
    expect(page.locator("#role")).to_have_text("Agent")
    expect(page.get_by_role("link", name="FAQ editor", exact=True)).to_be_hidden()
    assert unlabelled(page, "#app-view") == []
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()  # the session is gone on the server too, not just hidden
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#app-view")).to_be_hidden()

    editor = login(browser, stack, "erin", online=False)
    page = editor.page
    expect(page.locator("#role")).to_have_text("FAQ editor")
    expect(page.get_by_role("link", name="FAQ editor", exact=True)).to_have_attribute(
        "href", "/console/editor"
    )
    expect(page.get_by_role("tab", name="Chats")).to_be_hidden()
    expect(page.get_by_label("Presence status")).to_be_hidden()
    expect(page.locator("#panel-chats")).to_be_hidden()
    expect(page.get_by_role("link", name="Open the FAQ editor")).to_be_visible()
    screenshot(page, "console-editor-role")
    assert axe_violations(page) == []  # the editor's welcome panel

    admin = login(browser, stack, "ops", online=False)
    page = admin.page
    expect(page.locator("#role")).to_have_text("Admin")
    expect(page.get_by_role("link", name="FAQ editor", exact=True)).to_be_visible()
    expect(page.get_by_role("tab", name="Dashboard")).to_be_visible()
    for watched in (agent, editor, admin):
        watched.assert_inert()
        watched.context.close()


def test_queue_moves_and_cancel_goes_back_to_the_assistant(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex")
    first, second = customer(browser, stack), customer(browser, stack)
    say(first, "I want a person")
    expect(first.page.locator(".ha-queue")).to_contain_text("You're next in line")
    # A new chat alerts the agent without a reload: tab title and a toast.
    expect(agent.page).to_have_title("(1 waiting) Harbor Assist — Agent console")
    expect(agent.page.locator("#toast")).to_contain_text("New chat waiting")
    say(second, "I want a person")
    queue = second.page.locator(".ha-queue")
    expect(queue).to_contain_text("You're number 2 in line")
    expect(agent.page).to_have_title("(2 waiting) Harbor Assist — Agent console")
    expect(agent.page.locator(".queue-item")).to_have_count(2)
    screenshot(second.page, "widget-queue-position-2")
    screenshot(agent.page, "console-two-waiting")
    assert axe_violations(agent.page) == []  # the queue with two waiting

    first.page.get_by_role("button", name="Leave the queue").click()
    expect(first.page.locator(".ha-system-bot")).to_contain_text("back with the assistant")
    expect(first.page.locator(".ha-queue")).to_be_hidden()
    expect(first.page.locator(".ha-status")).to_contain_text("Assistant")
    # The one behind moves up, live.
    expect(queue).to_contain_text("You're next in line")
    expect(queue).to_contain_text("Estimated wait: less than a minute")
    expect(agent.page.locator(".queue-item")).to_have_count(1)
    expect(agent.page).to_have_title("(1 waiting) Harbor Assist — Agent console")
    screenshot(first.page, "widget-left-queue")
    second.page.get_by_role("button", name="Leave the queue").click()
    expect(agent.page.locator(".queue-item")).to_have_count(0)
    expect(agent.page).to_have_title("Harbor Assist — Agent console")
    for watched in (agent, first, second):
        watched.assert_inert()
        watched.context.close()


def test_claim_race_transfer_return_and_close(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    alex, sam = login(browser, stack, "alex"), login(browser, stack, "sam")
    shopper = customer(browser, stack)
    log = shopper.page.locator(".ha-log")
    say(shopper, "I want a person")
    for agent in (alex, sam):
        expect(agent.page.locator(".queue-item")).to_have_count(1)

    # -- both click Claim at the same moment: one wins, the other is told who won --
    moment = time.time() * 1000 + 400
    for agent in (alex, sam):
        agent.page.evaluate(
            """at => { const b = document.querySelector('.queue-item .btn-primary');
                       setTimeout(() => b.click(), Math.max(0, at - Date.now())); }""",
            moment,
        )
    expect(shopper.page.locator(".ha-system-agent")).to_be_visible()
    # The barrier: an agent is told "Claimed by …" only once both claims were decided.
    deadline = time.monotonic() + 20
    while not any(
        "Claimed by" in (a.page.locator("#toast").text_content() or "") for a in (alex, sam)
    ):
        assert time.monotonic() < deadline, "neither agent was told who got the chat"
        alex.page.wait_for_timeout(50)
    won = [a for a in (alex, sam) if a.page.locator("#mine-list li").count() == 1]
    assert len(won) == 1, "exactly one agent gets the chat"
    winner = won[0]
    loser = sam if winner is alex else alex
    winner_name = NAMES["alex" if winner is alex else "sam"]
    loser_user = "sam" if winner is alex else "alex"
    expect(loser.page.locator("#toast")).to_have_text(f"Claimed by {winner_name}.")
    expect(loser.page.locator("#mine-list li")).to_have_count(0)
    screenshot(loser.page, "console-claim-lost")
    assert unlabelled(winner.page, "#app-view") == []  # the chat view's controls too

    # -- suggested answers for the customer's question, inserted with one click --
    say(shopper, "How long does a refund take?")
    suggestions = winner.page.locator("#suggestions")
    expect(suggestions).to_contain_text("refund time")
    # P(FAQ) 0.95 x P(refund time | FAQ) 0.91; return policy's 0.95 x 0.07 is below the floor.
    expect(suggestions).to_contain_text("86% match")
    expect(suggestions.locator("button")).to_have_count(1)
    expect(suggestions).not_to_contain_text("return policy")
    screenshot(winner.page, "console-suggested-answers")
    assert axe_violations(winner.page) == []  # a claimed chat with its suggestions
    suggestions.get_by_role("button", name="Insert suggested answer: refund_time (86%)").click()
    composer = winner.page.locator("#composer-input")
    expect(composer).to_have_value(
        "Refunds reach your card 5 to 10 business days after we get the item."
    )
    expect(composer).to_be_focused()
    composer.press("Enter")
    expect(log.locator(".ha-from-agent", has_text="Refunds reach your card")).to_have_count(1)

    # -- a canned response, with the agent's name filled in --
    winner.page.get_by_label("Insert a canned response").select_option(label="Greeting")
    expect(composer).to_have_value(
        f"Hi, I'm {winner_name} from Harbor Goods. I've read your chat with our assistant; "
        "let me help."
    )
    composer.press("Enter")
    expect(log.locator(".ha-from-agent .ha-bubble", has_text="from Harbor Goods")).to_have_text(
        f"Hi, I'm {winner_name} from Harbor Goods. I've read your chat with our assistant; "
        "let me help."
    )

    # -- markup typed by either side stays text on both pages --
    say(shopper, XSS_NOTE)
    customer_line = winner.page.locator("#transcript .entry-customer .entry-text").last
    expect(customer_line).to_have_text(XSS_NOTE)
    composer.fill(XSS_TAG)
    composer.press("Enter")
    expect(log.locator(".ha-from-agent .ha-bubble").last).to_have_text(XSS_TAG)
    assert shopper.page.locator(".ha-log a, .ha-log b, .ha-log script").count() == 0
    assert winner.page.locator("#transcript a, #transcript b, #transcript script").count() == 0

    # -- transfer to the other agent by user name --
    winner.page.get_by_role("button", name="Transfer").click()
    winner.page.get_by_label("Agent name").fill(loser_user)
    winner.page.get_by_role("button", name="Transfer chat").click()
    expect(winner.page.locator("#mine-list li")).to_have_count(0)
    expect(loser.page.locator("#mine-list li")).to_have_count(1)
    loser_name = NAMES[loser_user]
    expect(log.locator(".ha-system-agent").last).to_have_text(
        f"You are now chatting with {loser_name}"
    )
    expect(shopper.page.locator(".ha-status")).to_have_text(f"Chatting with {loser_name}")

    # -- transfer to the team: back in the queue, claimed again --
    loser.page.locator("#mine-list button").first.click()
    loser.page.get_by_role("button", name="Transfer").click()
    loser.page.get_by_label("Team").select_option("support")
    loser.page.get_by_label("Agent name").fill("")
    loser.page.get_by_role("button", name="Transfer chat").click()
    expect(shopper.page.locator(".ha-queue")).to_be_visible()
    expect(log).to_contain_text("You're being transferred")
    item = winner.page.locator(".queue-item")
    expect(item).to_have_count(1)
    item.get_by_role("button", name="Claim").click()
    expect(winner.page.locator("#mine-list li")).to_have_count(1)

    # -- return to the assistant --
    winner.page.get_by_role("button", name="Return to bot").click()
    expect(log.locator(".ha-system-bot").last).to_have_text("You're back with the assistant.")
    expect(winner.page.locator("#mine-list li")).to_have_count(0)
    say(shopper, "hi")
    expect(log.get_by_text("What can I do for you?").last).to_be_visible()
    screenshot(shopper.page, "widget-back-with-assistant")

    # -- once more to a person; closed with notes and tags full of markup --
    say(shopper, "I want a person")
    item.get_by_role("button", name="Claim").click()
    expect(winner.page.locator("#mine-list li")).to_have_count(1)
    winner.page.get_by_role("button", name="Close", exact=True).click()
    winner.page.get_by_label("Notes").fill(XSS_NOTE)
    winner.page.get_by_label("Tags (comma-separated)").fill(f"{XSS_TAG}, refund")
    winner.page.get_by_role("button", name="Close chat").click()
    expect(shopper.page.locator(".ha-rating")).to_be_visible()
    closed = winner.page.locator("#recent-list button").first
    closed.click()
    wrap = winner.page.locator(".wrap-up")
    expect(wrap.locator(".wrap-notes")).to_have_text(XSS_NOTE)
    expect(wrap.locator(".tag").first).to_have_text(XSS_TAG)
    expect(wrap.locator(".tag").nth(1)).to_have_text("refund")
    assert winner.page.locator("#packet a, #packet b, #packet script, #packet img").count() == 0
    screenshot(winner.page, "console-wrap-up-xss-as-text")

    # The agent name with markup is text on both pages.
    expect(log.get_by_text(f"You are now chatting with {XSS_NAME}").first).to_be_visible()
    assert shopper.page.locator(".ha-root img").count() == 0
    for agent in (alex, sam, shopper):
        agent.assert_inert()
    screenshot(shopper.page, "widget-agent-name-as-text")

    # -- the dashboard's chart --
    winner.page.get_by_role("tab", name="Dashboard").click()
    winner.page.get_by_label("Period").select_option("7")
    chart = winner.page.locator("#chart svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(21)
    label = chart.get_attribute("aria-label") or ""
    assert " handoffs" in label and " conversations" in label
    expect(winner.page.locator("#stats")).to_contain_text("Median wait")
    screenshot(winner.page, "console-dashboard-chart")
    assert axe_violations(winner.page) == []
    winner.page.get_by_role("tab", name="Tickets").click()
    expect(winner.page.get_by_role("tabpanel", name="Tickets")).to_be_visible()
    assert axe_violations(winner.page) == []
    for watched in (alex, sam, shopper):
        watched.context.close()


# From now on, window.__streamed counts what is added to the transcript element now on screen.
COUNT_ENTRIES_ADDED_TO_THE_SHOWN_LOG = """() => {
  window.__streamed = 0;
  new MutationObserver(ms => ms.forEach(m => { window.__streamed += m.addedNodes.length; }))
    .observe(document.getElementById('transcript'), {childList: true});
}"""


def test_keyboard_claims_keep_focus_and_switching_chats_is_not_announced(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex")
    page = agent.page
    first = customer(browser, stack)
    say(first, "I want a person")
    expect(first.page.locator(".ha-log")).to_contain_text("queue")
    card = page.locator(f'.queue-item[data-conversation="{conversation_of(first)}"]')
    expect(card).to_have_count(1)
    claim = card.locator(".queue-claim")
    tab_to(page, claim)  # keyboard only
    # Another chat arrives; the queue is redrawn around the focus.
    second = customer(browser, stack)
    say(second, "I want a person")
    expect(second.page.locator(".ha-log")).to_contain_text("queue")
    other = page.locator(f'.queue-item[data-conversation="{conversation_of(second)}"]')
    expect(other).to_have_count(1)
    expect(claim).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f'#mine-list li[data-key="{conversation_of(first)}"]')).to_have_count(1)
    expect(first.page.locator(".ha-system-agent")).to_be_visible()
    expect(other).to_have_count(1)  # the other chat still waits for someone

    # -- switching between two chats redraws the transcript without announcing all of it --
    other.locator(".queue-claim").click()
    mine = page.locator("#mine-list li")
    expect(mine).to_have_count(2)
    say(second, "second chat here")
    expect(page.locator("#transcript")).to_contain_text("second chat here")
    page.evaluate(COUNT_ENTRIES_ADDED_TO_THE_SHOWN_LOG)
    page.locator(f'#mine-list li[data-key="{conversation_of(first)}"] button').click()
    expect(page.locator("#transcript")).to_contain_text("I want a person")
    expect(page.locator("#transcript")).not_to_contain_text("second chat here")
    # The first chat's entries went into a fresh log element, not into the live one on screen.
    assert page.evaluate("() => window.__streamed") == 0
    # What the customer says next is added to the live log, where a screen reader hears it.
    page.evaluate(COUNT_ENTRIES_ADDED_TO_THE_SHOWN_LOG)
    say(first, "thanks for picking this up")
    expect(page.locator("#transcript")).to_contain_text("thanks for picking this up")
    assert page.evaluate("() => window.__streamed") >= 1
