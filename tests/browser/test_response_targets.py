"""Response-time targets and chat titles in the console, in Chromium: the queue counts the time
left to a first response down, a chat past its (tiny) target shows "Overdue" in words and
colour, the agent is alerted and the metric counts the breach once, a reply within target shows
on the dashboard's share, and chats are titled "Visitor …" or by the verified customer's name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from handoff.console.queue_view import visitor_label
from handoff.state import app_state
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

pytestmark = pytest.mark.browser

ACCOUNTS = [("tia", "harbor-test-pass-7", "Tia Reyes", "agent")]
# Every priority: 8 s to the first response (long enough to watch it count down, short enough
# to see it pass), a minute to the next one (the reply in the test comes well within it).
FIRST_TARGET = 8.0
NEXT_TARGET = 60.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("redis-targets"),
        ACCOUNTS,
        first_response_targets=((0, FIRST_TARGET),),
        next_response_targets=((0, NEXT_TARGET),),
    )


def breaches(page: Any, stack: Stack) -> float:
    """The service's first-response breaches, over every priority, from GET /metrics."""
    text = page.request.get(stack.url + "/metrics").text()
    pattern = r'^harbor_response_target_breaches_total\{kind="first",priority="\d+"\} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, text, re.M))


def seconds_left(text: str) -> int:
    """ "0:07 left" as 7."""
    found = re.search(r"(\d+):(\d\d) left", text)
    assert found, text
    return int(found[1]) * 60 + int(found[2])


def test_time_left_overdue_alert_metric_share_and_titles(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = console_login(browser, stack, "tia", online=True)
    page = agent.page
    # A visitor nobody knows: "Visitor" and the label of its conversation.
    shopper = shopper_page(browser, stack)
    say(shopper, "I want a person")
    cid = conversation_of(shopper)
    card = page.locator(f'.queue-item[data-conversation="{cid}"]')
    expect(card.locator(".card-title")).to_have_text(f"Visitor {visitor_label(cid)}")
    # The time left to a first response counts down, in words and colour.
    due = card.locator(".due")
    expect(due).to_contain_text(re.compile(r"\d:\d\d left"))
    first = seconds_left(due.inner_text())
    assert first <= FIRST_TARGET
    expect(due).not_to_contain_text(f"0:{first:02d} left")
    assert "Overdue" in due.inner_text() or seconds_left(due.inner_text()) < first
    # Past the target: "Overdue", in the overdue colour; the agent is alerted, the metric counts.
    assert breaches(page, stack) == 0
    expect(due).to_contain_text(re.compile(r"Overdue \d:\d\d"), timeout=20_000)
    expect(due).to_have_attribute("data-tone", "over")
    expect(page.locator("#toast")).to_contain_text(
        f"Overdue: Visitor {visitor_label(cid)} has waited for a first response", timeout=20_000
    )
    assert breaches(page, stack) == 1

    # A verified customer: the name the escalation keeps is the chat's title.
    ada = shopper_page(browser, stack)
    say(ada, "hello")
    expect(ada.page.locator(".ha-from-bot:not(.ha-greeting)").first).to_be_visible()
    ada_cid = conversation_of(ada)
    store = app_state(stack.app).store  # type: ignore[arg-type]
    assert stack.run(store.set_fields(ada_cid, {"customer_name": "Ada Lovelace"}))
    say(ada, "I want a person")
    ada_card = page.locator(f'.queue-item[data-conversation="{ada_cid}"]')
    expect(ada_card.locator(".card-title")).to_have_text("Ada Lovelace")
    expect(ada_card.locator(".due")).to_contain_text(re.compile(r"\d:\d\d left"))
    screenshot(page, "response-targets")
    assert axe_violations(page, "#queue-list") == []

    # Claimed, the chat's title is the visitor's in My chats and the header; still overdue.
    card.get_by_role("button", name=re.compile("^Claim")).click()
    mine = page.locator(f'#mine-list li[data-conversation="{cid}"]')
    expect(mine.locator(".mine-title")).to_have_text(f"Visitor {visitor_label(cid)}")
    expect(page.locator("#chat-title")).to_have_text(f"Visitor {visitor_label(cid)}")
    expect(mine.locator(".due")).to_contain_text("Overdue")
    # The (late) first reply: nothing is owed. The customer writes again, and a reply within
    # the next-response target follows.
    page.locator("#composer-input").fill("Sorry for the wait, how can I help?")
    page.locator("#composer-input").press("Enter")
    expect(mine.locator(".due")).to_have_count(0)
    say(shopper, "My parcel has not arrived")
    expect(mine.locator(".due")).to_contain_text(re.compile(r"\d:\d\d left"))
    expect(mine.locator(".due")).to_have_attribute("data-tone", "ok")
    page.locator("#composer-input").fill("Let me look that up for you.")
    page.locator("#composer-input").press("Enter")
    expect(mine.locator(".due")).to_have_count(0)
    # Ada's chat passes its target too: one breach per chat, whatever sweeps and the late
    # reply came since.
    expect(ada_card.locator(".due")).to_contain_text("Overdue", timeout=20_000)
    expect(page.locator("#toast")).to_contain_text("Overdue: Ada Lovelace", timeout=20_000)
    assert breaches(page, stack) == 2

    # The dashboard: neither first response was within target (the visitor's came late, Ada's
    # never came: each wait counts once), the one next response was.
    page.get_by_role("tab", name="Dashboard").click()
    stats = page.locator("#stats")
    expect(stats).to_contain_text("First responses within target0% (0 of 2)")
    expect(stats).to_contain_text("Next responses within target100% (1 of 1)")
    expect(page.locator("#targets-by-day")).to_contain_text("100% (1 of 1)")
    assert axe_violations(page) == []
    screenshot(page, "response-targets-dashboard")
    for watched in (agent, ada, shopper):
        watched.assert_inert()
        watched.context.close()
