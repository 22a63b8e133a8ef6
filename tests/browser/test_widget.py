"""The customer widget in Chromium: keyboard only, accessibility, phone size, network drops,
reloads, and embedding on another origin. One app, one Redis and one browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.support import (
    Stack,
    axe_violations,
    contrast,
    running_stack,
    screenshot,
    tab_to,
    unlabelled,
)

pytestmark = pytest.mark.browser

AGENT_USER, AGENT_PASSWORD, AGENT_NAME = "jordan", "harbor-test-pass-2", "Jordan Lee"
IDS = "nodes => nodes.map(n => n.getAttribute('data-id'))"
# Record every connection state the widget shows, however briefly.
WATCH_CONNECTION = """() => {
  window.__connection = [];
  const root = document.querySelector('.harbor-assist').shadowRoot.querySelector('.ha-root');
  new MutationObserver(() => window.__connection.push(root.getAttribute('data-connection')))
    .observe(root, {attributes: true, attributeFilter: ['data-connection', 'data-backoff']});
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("redis-widget"),
        [(AGENT_USER, AGENT_PASSWORD, AGENT_NAME, "agent")],
    )


def colour_pairs(page: Any, selectors: list[str]) -> list[tuple[str, str, str]]:
    """(selector, text colour, effective background colour) of the first visible match."""
    return [
        tuple(pair)
        for pair in page.evaluate(
            """selectors => selectors.map(sel => {
                const widget = document.querySelector('.harbor-assist');
                const node = [...document.querySelectorAll(sel),
                              ...(widget ? widget.shadowRoot.querySelectorAll(sel) : [])]
                  .find(n => n.offsetParent !== null);
                if (!node) return [sel, '', ''];
                let bg = node, colour = 'rgba(0, 0, 0, 0)';
                while (bg) {
                  colour = getComputedStyle(bg).backgroundColor;
                  if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') break;
                  // Out of the widget's shadow root through its host, up to the shop's body.
                  bg = bg.parentElement || bg.getRootNode().host || null;
                }
                return [sel, getComputedStyle(node).color, colour];
            })""",
            selectors,
        )
    ]


def login_agent(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console")
    page.get_by_label("Username").fill(AGENT_USER)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#me")).to_have_text(AGENT_NAME)


def test_keyboard_only_with_accessibility_checks(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 820}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(stack.url + "/")
    launcher = page.locator(".ha-launcher")
    expect(launcher).to_be_visible()
    assert axe_violations(page) == []  # the shop with the widget closed
    tab_to(page, launcher, presses=15)
    page.keyboard.press("Space")  # a button opens with Space as well as Enter
    expect(page.locator(".ha-panel")).to_be_visible()
    expect(page.locator(".ha-input")).to_be_focused()
    assert axe_violations(page) == []  # the shop with the widget open
    # Reduced motion is honoured: the panel appears without its rise animation.
    assert page.locator(".ha-panel").evaluate("n => getComputedStyle(n).animationName") == "none"

    page.keyboard.type("hi")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Returns")).to_be_visible()
    # Quick replies are reachable from the message box with Shift+Tab and work with Enter.
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Returns")).to_be_focused()
    page.keyboard.press("Enter")
    log = page.locator(".ha-log")
    expect(log.locator(".ha-from-customer", has_text="Returns")).to_have_count(1)
    expect(log.get_by_text("echo: How do returns work?")).to_be_visible()
    expect(page.locator(".ha-input")).to_be_focused()

    # Nobody online: the leave-a-message form, filled and corrected with the keyboard only.
    page.keyboard.type("I want a person")
    page.keyboard.press("Enter")
    email = page.get_by_label("Your email")
    expect(email).to_be_focused()
    page.keyboard.type("pat-at-example")
    page.keyboard.press("Tab")
    page.keyboard.type("Please call me about order 1042.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Leave message")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".ha-field-error").first).to_have_text(
        "Please enter a valid email address."
    )
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Please enter a valid email address.")
    expect(email).to_be_focused()
    screenshot(page, "widget-keyboard-email-invalid")
    page.keyboard.press("Control+A")
    page.keyboard.type("pat@example.com")
    page.keyboard.press("Enter")
    expect(log.get_by_text("your message is with our team")).to_be_visible()
    expect(page.locator(".ha-leave")).to_have_count(0)
    expect(page.locator(".ha-input")).to_be_focused()
    screenshot(page, "widget-keyboard-ticket-confirmed")
    assert axe_violations(page) == []  # a conversation with a ticket left

    assert unlabelled(page, ".ha-root") == []
    pairs = colour_pairs(
        page,
        [
            ".ha-title",
            ".ha-status",
            ".ha-from-bot .ha-bubble",
            ".ha-from-customer .ha-bubble",
            ".ha-who",
            ".ha-meta",
            ".ha-system",
        ],
    )
    launcher_colours = launcher.evaluate(
        "n => [getComputedStyle(n).color, getComputedStyle(n).backgroundColor]"
    )
    pairs.append((".ha-launcher", launcher_colours[0], launcher_colours[1]))
    assert all(fg and bg for _, fg, bg in pairs), pairs
    low = [(sel, round(contrast(fg, bg), 2)) for sel, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert low == [], f"text below WCAG AA contrast: {low}"

    page.keyboard.press("Escape")
    expect(page.locator(".ha-panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    context.close()


def test_the_shops_own_styles_do_not_reach_the_widget(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    # What a real shop theme does: broad rules on buttons, paragraphs and the body's text.
    theme = """
      button { background: rgb(255, 0, 0) !important; border-radius: 0 !important;
               padding: 40px !important; }
      p, div { color: rgb(0, 128, 0) !important; }
      body { letter-spacing: 6px; text-transform: uppercase; font-family: serif; }
    """
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.goto(stack.url + "/")
    launcher = page.locator(".ha-launcher")
    expect(launcher).to_be_visible()
    looks = "n => [getComputedStyle(n).backgroundColor, getComputedStyle(n).letterSpacing]"
    plain = launcher.evaluate(looks)
    page.add_style_tag(content=theme)
    # The theme applies to the shop (the barrier: the page's own text changed) ...
    expect(page.locator("body")).to_have_css("text-transform", "uppercase")
    # ... and not to the widget's launcher, panel or text.
    assert launcher.evaluate(looks) == plain
    launcher.click()
    expect(page.locator(".ha-panel")).to_be_visible()
    greeting = page.locator(".ha-greeting")
    assert greeting.evaluate("n => getComputedStyle(n).color") != "rgb(0, 128, 0)"
    assert greeting.evaluate("n => getComputedStyle(n).textTransform") == "none"
    assert page.locator(".ha-send").evaluate("n => getComputedStyle(n).paddingTop") != "40px"
    page.context.close()


def test_phone_sized_screen(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(stack.url + "/")
    page.locator(".ha-launcher").tap()
    panel = page.locator(".ha-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and (box["width"], box["height"]) == (375, 667)
    page.locator(".ha-input").fill("hi")
    page.get_by_role("button", name="Send message").tap()
    quick = page.get_by_role("button", name="Track my order")
    expect(quick).to_be_in_viewport()
    composer = page.locator(".ha-composer").bounding_box()
    assert composer is not None and composer["y"] + composer["height"] <= 667
    # Nothing sticks out sideways (a horizontal scrollbar on a phone is a broken layout).
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator(".ha-panel").evaluate(
        "panel => [...panel.querySelectorAll('*')]"
        ".every(n => n.getBoundingClientRect().right <= 375.5)"
    )
    screenshot(page, "widget-phone-375x667")
    # While the assistant works on an answer, the customer sees it typing.
    page.locator(".ha-input").fill("slow question")
    page.get_by_role("button", name="Send message").tap()
    typing = page.locator(".ha-typing")
    expect(typing).to_have_text("Assistant is typing…")
    screenshot(page, "widget-phone-assistant-typing")
    expect(page.get_by_text("echo: slow question")).to_be_visible()
    expect(typing).to_be_hidden()
    page.get_by_role("button", name="Close chat").tap()
    expect(panel).to_be_hidden()
    expect(page.locator(".ha-launcher")).to_be_visible()
    context.close()


def test_network_drop_and_reload_show_everything_once(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    customer = customer_ctx.new_page()
    agent = agent_ctx.new_page()

    login_agent(agent, stack.url)
    agent.get_by_label("Presence status").select_option("online")
    customer.goto(stack.url + "/")
    customer.locator(".ha-launcher").click()
    customer.evaluate(WATCH_CONNECTION)
    customer.locator(".ha-input").fill("I want a person")
    customer.keyboard.press("Enter")
    agent.locator(".queue-item").get_by_role("button", name="Claim").click()
    log = customer.locator(".ha-log")
    expect(customer.locator(".ha-system-agent")).to_contain_text(AGENT_NAME)
    composer = agent.locator("#composer-input")
    transcript = agent.locator("#transcript")

    # -- the customer's network goes away --
    customer_ctx.set_offline(True)
    conn = customer.locator(".ha-conn")
    expect(conn).to_be_visible()
    expect(conn).to_contain_text("You're offline. Reconnecting in")
    composer.fill("Sent while you were offline")
    composer.press("Enter")
    customer.locator(".ha-input").fill("Typed while offline")
    customer.keyboard.press("Enter")
    expect(log.locator(".ha-pending", has_text="Typed while offline")).to_have_count(1)
    # Retries back off: the base delay (0.5 s) doubles while the network stays down.
    customer.wait_for_function(
        "() => Number(document.querySelector('.harbor-assist').shadowRoot"
        ".querySelector('.ha-root').getAttribute('data-backoff')) >= 2000",
        timeout=20_000,
    )
    expect(log.get_by_text("Sent while you were offline")).to_have_count(0)
    screenshot(customer, "widget-offline")

    # -- back online: what the agent sent meanwhile arrives once, the pending message goes out --
    customer_ctx.set_offline(False)
    expect(conn).to_be_hidden()
    expect(log.get_by_text("Sent while you were offline")).to_have_count(1)
    expect(transcript.locator(".entry-customer", has_text="Typed while offline")).to_have_count(1)
    expect(log.locator(".ha-pending")).to_have_count(0)
    expect(log.locator(".ha-from-customer", has_text="Typed while offline")).to_have_count(1)

    # -- the server closes the socket (a replica restarting): the widget reconnects by itself --
    assert stack.drop_customer_sockets() >= 1
    composer.fill("After the restart")
    composer.press("Enter")
    expect(log.get_by_text("After the restart")).to_have_count(1)
    seen = customer.evaluate("window.__connection")
    assert "offline" in seen and "reconnecting" in seen and seen[-1] == "online", seen

    # -- a reload on both sides: the same chat, nothing twice --
    ids = customer.eval_on_selector_all(".ha-log [data-id]", IDS)
    assert len(ids) == len(set(ids))
    customer.reload()
    expect(customer.locator(".ha-panel")).to_be_visible()
    expect(log.get_by_text("After the restart")).to_have_count(1)
    # The barrier: a new message, confirmed; the socket delivers in order, so anything the
    # reload would show twice is on screen by then.
    customer.locator(".ha-input").fill("After the reload")
    customer.keyboard.press("Enter")
    expect(log.locator(".ha-from-customer[data-id]", has_text="After the reload")).to_have_count(1)
    # The same entries (the reload shows them in transcript order, where a message typed
    # offline comes after what the agent sent meanwhile), each once, and the new one.
    after = customer.eval_on_selector_all(".ha-log [data-id]", IDS)
    assert len(after) == len(set(after)) == len(ids) + 1 and set(ids) < set(after)
    agent.reload()
    agent.locator("#mine-list button").first.click()
    expect(transcript.get_by_text("Typed while offline")).to_have_count(1)
    expect(transcript.get_by_text("After the restart")).to_have_count(1)
    agent_ids = agent.eval_on_selector_all("#transcript [data-id]", IDS)
    assert len(agent_ids) == len(set(agent_ids))
    screenshot(customer, "widget-after-drops-and-reload")
    customer_ctx.close()
    agent_ctx.close()


# Remember the elements the log shows now (quick replies aside: a message removes them), to
# check later that drawing new entries left them in place instead of building them again.
MARK_LOG = """() => {
  const log = document.querySelector('.harbor-assist').shadowRoot.querySelector('.ha-log');
  window.__drawn = [...log.children].filter(n => !n.classList.contains('ha-quick'));
  window.__drawn.forEach(n => { n.__mark = true; });
  return window.__drawn.length;
}"""
STILL_DRAWN = "() => window.__drawn.filter(n => n.isConnected && n.__mark).length"


def test_new_entries_leave_the_drawn_transcript_in_place(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.goto(stack.url + "/")
    page.locator(".ha-launcher").click()
    page.locator(".ha-input").fill("hi")
    page.keyboard.press("Enter")
    log = page.locator(".ha-log")
    expect(log.get_by_role("button", name="Returns")).to_be_visible()
    expect(log.locator(".ha-from-customer[data-id]", has_text="hi")).to_have_count(1)
    marked = page.evaluate(MARK_LOG)
    assert marked == 3  # the greeting, "hi" and the assistant's answer

    # A message typed offline is shown at once, marked as sending ...
    context.set_offline(True)
    expect(page.locator(".ha-conn")).to_be_visible()
    page.locator(".ha-input").fill("slow question")
    page.keyboard.press("Enter")
    pending = log.locator(".ha-pending", has_text="slow question")
    expect(pending).to_have_count(1)
    pending.evaluate("n => { n.__mark = 'typed'; }")
    # ... and confirmed in place: the same element gets the entry id, nothing is rebuilt.
    context.set_offline(False)
    expect(log.get_by_text("echo: slow question")).to_be_visible()
    confirmed = log.locator(".ha-from-customer[data-id]", has_text="slow question")
    expect(confirmed).to_have_count(1)
    assert confirmed.evaluate("n => n.__mark") == "typed"
    expect(log.get_by_role("button", name="Returns")).to_have_count(0)
    assert page.evaluate(STILL_DRAWN) == marked
    context.close()


def test_embedded_on_another_origin(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.goto(stack.shop_url + "/")
    page.locator(".ha-launcher").click()
    page.locator(".ha-input").fill("hi")
    page.keyboard.press("Enter")
    expect(page.get_by_text("What can I do for you?")).to_be_visible()
    # The shop configured a light brand colour; the widget darkens it to keep text readable.
    fg, bg = page.locator(".ha-header").evaluate(
        "n => [getComputedStyle(n.querySelector('.ha-title')).color,"
        " getComputedStyle(n).backgroundColor]"
    )
    assert bg != "rgb(127, 211, 224)" and contrast(fg, bg) >= 4.5
    # Without a reduced-motion preference the panel does animate (the check above can fail).
    assert page.locator(".ha-panel").evaluate("n => getComputedStyle(n).animationName") == (
        "ha-rise"
    )
    # The transcript download is a cross-origin request with the chat's bearer token.
    result = page.evaluate(
        """async url => {
            const saved = JSON.parse(sessionStorage.getItem('harbor-assist:' + new URL(url).host));
            const res = await fetch(url + '/api/transcript',
              {headers: {Authorization: 'Bearer ' + saved.token}});
            return [res.status, await res.text()];
        }""",
        stack.url,
    )
    assert result[0] == 200 and "You: hi" in result[1]
    # Only origins on the allow-list get CORS answers; any other page cannot read a transcript.
    for origin, allowed in ((stack.shop_url, stack.shop_url), ("http://evil.example", None)):
        answer = page.request.fetch(
            stack.url + "/api/transcript",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Headers": "authorization"},
        )
        assert answer.status == 204
        assert answer.headers.get("access-control-allow-origin") == allowed
    screenshot(page, "widget-other-origin")
    context.close()
