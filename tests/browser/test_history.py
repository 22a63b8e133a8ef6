"""The console's views of the conversation archive in Chromium: the History tab (search by order
number and by text, with the keyboard; a past conversation's transcript, packet, notes, tags and
rating; the archive's refusals; "Show older" paging through more results than a page holds), a
live chat's "Earlier conversations" of the same customer,
the admins' Privacy tab (export as a downloaded file, erasure behind a confirmation, the erasure
log without the customer), agents without it, and the dashboard's year from the archive.

The stack's archive is SQLite of this module's own (support.running_stack); the
archiver copies a conversation a second or two after its last write, so each test waits for
what it needs to be archived, through the same API the console uses, before looking for it."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handoff.archive.store import ArchiveStore
from handoff.archive.writing import ConversationFacts
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
    tab_to,
    unlabelled,
)
from tests.support.fake_rasa import shop_replies

pytestmark = pytest.mark.browser

ACCOUNTS = [
    ("alex", "harbor-test-pass-1", "Alex Morgan", "agent"),
    ("ops", "harbor-test-pass-5", "Olu Admin", "admin"),
]
# What a customer says to be handed over with a verified order (the assistant proved it is theirs).
ASK_ABOUT_ORDER = "I need a person about order "


async def replies(sender: str, text: str) -> list[dict[str, Any]]:
    """The shop's assistant, and a handoff with a verified order when asked about one."""
    if text.startswith(ASK_ABOUT_ORDER):
        order = text.removeprefix(ASK_ABOUT_ORDER).strip()
        handoff = {
            "reason": "order_delayed",
            "summary": f"Verified order {order} arrived damaged; the customer asked for a person.",
            "intents": [{"name": "order_status", "confidence": 0.93}],
            "slots": {"order_number": order, "order_verified": True, "order_state": "delivered"},
        }
        return [{"recipient_id": sender, "custom": {"handoff": handoff}}]
    return await shop_replies(sender, text)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for running in running_stack(tmp_path_factory.mktemp("redis-history"), ACCOUNTS):
        running.rasa.replies = replies
        yield running


def login(browser: Any, stack: Stack, user: str, online: bool = False) -> Watched:
    return console_login(browser, stack, user, online=online)


def customer(browser: Any, stack: Stack) -> Watched:
    return shopper_page(browser, stack)


def handed_over(agent: Watched, shopper: Watched, order: str) -> str:
    """The shopper asks for a person about their (verified) order; the agent claims the chat."""
    from playwright.sync_api import expect

    say(shopper, ASK_ABOUT_ORDER + order)
    expect(shopper.page.locator(".ha-log")).to_contain_text("queue")
    cid = conversation_of(shopper)
    card = agent.page.locator(f'.queue-item[data-conversation="{cid}"]')
    card.locator(".queue-claim").click()
    expect(agent.page.locator(f'#mine-list li[data-key="{cid}"]')).to_have_count(1)
    expect(agent.page.locator("#packet")).to_contain_text(order)
    return cid


def close_chat(agent: Watched, notes: str, tags: str) -> None:
    from playwright.sync_api import expect

    page = agent.page
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_label("Notes").fill(notes)
    page.get_by_label("Tags (comma-separated)").fill(tags)
    page.get_by_role("button", name="Close chat").click()
    expect(page.locator("#toast")).to_have_text("Chat closed.")


# True once the archive holds the conversation with the fields `wanted` (name -> value), as the
# console's own API answers. wait_for_function polls a plain predicate (a promise would count as
# truthy at once), so each poll starts one request and a later poll reads its answer.
ARCHIVED = """(args) => {
  const key = '__archived_' + args.cid;
  const poll = window[key] || (window[key] = {busy: false, found: false});
  if (!poll.busy && !poll.found) {
    poll.busy = true;
    fetch('/api/archive/conversations?' + args.query)
      .then(answer => answer.ok ? answer.json() : {conversations: []})
      .then(data => {
        const c = data.conversations.find(one => one.id === args.cid);
        poll.found = !!c && Object.entries(args.wanted).every(pair => c[pair[0]] === pair[1]);
      })
      .finally(() => { poll.busy = false; });
  }
  return poll.found;
}"""


def wait_archived(page: Any, query: str, cid: str, **wanted: Any) -> None:
    page.wait_for_function(
        ARCHIVED, arg={"query": query, "cid": cid, "wanted": wanted}, polling=250, timeout=30_000
    )


def search(page: Any, **fields: str) -> None:
    """Fill the History tab's search form (every field, empty ones cleared) and submit it with
    the keyboard."""
    labels = {
        "q": "Text",
        "order": "Order number",
        "email": "Customer email",
        "tag": "Tag",
        "from": "From",
        "to": "To",
    }
    form = page.locator("#history-form")
    for name, label in labels.items():
        form.get_by_label(label, exact=True).fill(fields.get(name, ""))
    form.get_by_label("Text", exact=True).press("Enter")


def test_agent_finds_a_closed_chat_and_opens_it_from_a_live_chat(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex", online=True)
    page = agent.page
    first = customer(browser, stack)
    cid = handed_over(agent, first, "HG-71001")
    # Nothing earlier for this order: the chat itself is never listed as its own history.
    expect(page.locator("#earlier")).to_contain_text(
        "No earlier conversations for verified order HG-71001"
    )
    say(first, "The blue kayak paddle arrived cracked in two")
    expect(page.locator("#transcript")).to_contain_text("kayak paddle arrived cracked")
    page.locator("#composer-input").fill("Sorry about the paddle, a new one is on its way.")
    page.locator("#composer-input").press("Enter")
    expect(first.page.locator(".ha-log")).to_contain_text("a new one is on its way")
    close_chat(agent, "Sent a replacement paddle.", "damaged, kayak")
    # The customer rates the chat, with the keyboard.
    expect(first.page.locator(".ha-rating")).to_be_visible()
    first.page.get_by_role("radio", name="1 star").focus()
    for _ in range(4):
        first.page.keyboard.press("ArrowRight")
    first.page.locator(".ha-rating").get_by_role("button", name="Send rating").click()
    expect(first.page.locator(".ha-log")).to_contain_text("Thanks for your feedback!")
    wait_archived(page, "order=HG-71001", cid, state="closed", rating=5)

    # -- the History tab, with the keyboard: the tab list's arrow keys, then the form --
    page.get_by_role("tab", name="Chats").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    expect(page.get_by_role("tabpanel", name="History")).to_be_visible()
    # The first visit lists the latest conversations before any search.
    results = page.locator("#history-results > li")
    expect(results).to_have_count(1)
    order_field = page.get_by_label("Order number", exact=True)
    tab_to(page, order_field)
    page.keyboard.type("hg-71001")  # any spelling of the order
    page.keyboard.press("Enter")
    expect(page.locator("#history-status")).to_have_text("1 conversation found, newest first.")
    item = page.locator(f'#history-results button[data-id="{cid}"]')
    for shown in (
        "Closed by an agent",
        "Verified order HG-71001 arrived damaged",
        "Agent: alex",  # the archive keeps the user name
        "Order HG-71001",
        "Rated 5/5",
        "damaged",
        "kayak",
    ):
        expect(item).to_contain_text(shown)
    tab_to(page, item)
    page.keyboard.press("Enter")
    title = page.locator("#history-title")
    expect(title).to_be_focused()
    expect(title).to_have_text(f"Conversation {cid[:8]}")
    transcript = page.locator("#history-transcript")
    expect(transcript.locator(".entry-customer .entry-text").first).to_have_text(
        ASK_ABOUT_ORDER + "HG-71001"
    )
    expect(transcript.locator(".entry-customer", has_text="kayak paddle")).to_have_count(1)
    expect(
        transcript.locator(".entry-agent", has_text="a new one is on its way").locator(".who")
    ).to_have_text("Alex Morgan")
    expect(transcript).to_contain_text("Customer rated the chat 5/5")
    expect(page.locator("#history-wrap-up .wrap-notes")).to_have_text("Sent a replacement paddle.")
    expect(page.locator("#history-wrap-up .tag")).to_have_text(["damaged", "kayak"])
    expect(page.locator("#history-rating")).to_contain_text("Rated 5/5")
    expect(page.locator("#history-packet")).to_contain_text("Order is delayed")
    expect(page.locator("#history-packet")).to_contain_text("HG-71001")
    # A past chat is not a live region: opening it announces nothing.
    assert transcript.get_attribute("aria-live") is None
    screenshot(page, "console-history-open")
    assert axe_violations(page) == []  # results and an open conversation
    assert unlabelled(page, "#panel-history") == []
    # Closing it gives the keyboard back to its line in the results.
    page.get_by_role("button", name="Close this conversation").click()
    expect(item).to_be_focused()

    # -- by text in the transcript --
    search(page, q="  kayak paddle arrived  ")
    expect(page.locator("#history-status")).to_have_text("1 conversation found, newest first.")
    page.locator(f'#history-results button[data-id="{cid}"]').click()
    expect(page.locator("#history-transcript")).to_contain_text("cracked in two")
    # -- by tag, and nothing found --
    search(page, tag="kayak")
    expect(results).to_have_count(1)
    search(page, q="no conversation says this")
    expect(page.locator("#history-status")).to_have_text("No past conversations match this search.")
    expect(results).to_have_count(0)
    # -- the server's refusal, shown as it says it --
    search(page, order="abc")
    expect(page.locator("#history-error")).to_have_text(
        "An order number has digits, like HG-10042."
    )
    search(page, **{"from": "2026-12-02", "to": "2026-12-01"})
    expect(page.locator("#history-error")).to_contain_text("after")

    # -- the same customer again: their earlier conversation beside the live chat --
    second = customer(browser, stack)
    page.get_by_role("tab", name="Chats").click()
    again = handed_over(agent, second, "HG-71001")
    earlier = page.locator("#earlier-list button")
    expect(earlier).to_have_count(1)
    expect(earlier).to_have_attribute("data-id", cid)
    expect(earlier).to_contain_text("Verified order HG-71001 arrived damaged")
    assert again not in (earlier.get_attribute("data-id") or "")
    screenshot(page, "console-earlier-conversations")
    earlier.click()
    expect(page.get_by_role("tabpanel", name="History")).to_be_visible()
    expect(page.locator("#history-title")).to_have_text(f"Conversation {cid[:8]}")
    expect(page.locator("#history-transcript")).to_contain_text("cracked in two")
    # The History tab lists that customer's conversations (the form says by what).
    expect(page.get_by_label("Order number", exact=True)).to_have_value("HG-71001")
    expect(page.locator(f'#history-results button[data-id="{cid}"]')).to_be_visible()
    # The arrow keys move through the results.
    wait_archived(page, "order=HG-71001", again)
    search(page, order="HG-71001")
    expect(results).to_have_count(2)
    page.locator("#history-results button").first.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#history-results button").nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator("#history-results button").first).to_be_focused()
    for watched in (agent, first, second):
        watched.assert_inert()
        watched.context.close()


def test_admin_exports_and_erases_a_customer(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    admin = login(browser, stack, "ops", online=True)
    page = admin.page
    shopper = customer(browser, stack)
    email = "dana.72002@example.com"
    cid = handed_over(admin, shopper, "HG-72002")
    say(shopper, f"You can reach me at {email}, the lantern glass shattered")
    expect(page.locator("#transcript")).to_contain_text("lantern glass shattered")
    close_chat(admin, "Lantern replaced.", "damaged")
    wait_archived(page, "q=lantern+glass", cid, state="closed")

    page.get_by_role("tab", name="Privacy").click()
    panel = page.get_by_role("tabpanel", name="Privacy")
    expect(panel).to_be_visible()
    expect(page.locator("#erasures-empty")).to_have_text("No erasures yet.")
    # Nothing named: the form says what it needs.
    page.get_by_role("button", name="Export").click()
    expect(page.locator("#privacy-error")).to_contain_text("email address or an order number")

    # -- export: a JSON file to download that holds the conversation --
    page.get_by_label("Customer's email address").fill(email)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename.startswith("harbor-export-")
    assert download.value.suggested_filename.endswith(".json")
    exported = json.loads(saved.read_text())
    assert exported["subject"] == {"kind": "email", "value": email}
    assert cid in [c["id"] for c in exported["archived_conversations"]]
    assert cid in exported["live_conversations"]
    expect(page.locator("#privacy-result")).to_contain_text("Export downloaded: harbor-export-")

    # -- erase: asked first, naming what goes; Cancel erases nothing --
    page.get_by_role("button", name="Erase everything…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Erase everything about {email}?")
    expect(dialog).to_contain_text("live and archived conversation")
    expect(dialog).to_contain_text("tickets and unanswered questions")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert axe_violations(page) == []  # the confirmation
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#privacy-erased")).to_have_count(0)
    page.get_by_role("button", name="Erase everything…").click()
    page.get_by_role("dialog").get_by_role("button", name="Erase everything", exact=True).click()
    erased = page.locator("#privacy-erased")
    expect(erased).to_contain_text("Erased.")
    expect(erased.locator('[data-kind="live_conversations"]')).to_have_text("1 live conversation")
    expect(erased.locator('[data-kind="archived_conversations"]')).to_have_text(
        "1 archived conversation"
    )
    # The form is cleared: the customer is not left on the screen.
    expect(page.get_by_label("Customer's email address")).to_have_value("")
    rows = page.locator("#erasures-body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ops")
    expect(rows.first).to_contain_text("Email address")
    expect(rows.first).to_contain_text("1 archived conversation")
    log_text = page.locator("#erasures").inner_text()
    assert email not in log_text and "dana" not in log_text and "72002" not in log_text
    screenshot(page, "console-privacy-erased")
    assert axe_violations(page) == []  # the Privacy tab with the counts and the log
    assert unlabelled(page, "#panel-privacy") == []

    # -- the archive has nothing of it any more --
    page.get_by_role("tab", name="History").click()
    search(page, q="lantern glass")
    expect(page.locator("#history-status")).to_have_text("No past conversations match this search.")
    search(page, order="HG-72002")
    expect(page.locator("#history-status")).to_have_text("No past conversations match this search.")
    for watched in (admin, shopper):
        watched.assert_inert()
        watched.context.close()


def test_an_agent_has_no_privacy_tools(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex")
    page = agent.page
    expect(page.get_by_role("tab", name="History")).to_be_visible()
    expect(page.get_by_role("tab", name="Privacy")).to_have_count(0)
    expect(page.locator("#panel-privacy, #privacy-form, #erasures")).to_have_count(0)
    # Arrow keys cycle through the agent's tabs without reaching one that is not there.
    page.get_by_role("tab", name="Dashboard").click()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Chats")).to_be_focused()
    # And the API refuses them anyway.
    status = page.evaluate("async () => (await fetch('/api/privacy/erasures')).status")
    assert status == 403
    agent.assert_inert()
    agent.context.close()


def test_an_archive_away_is_said_plainly(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    assert stack.app is not None
    state = app_state(stack.app)
    agent = login(browser, stack, "alex")
    page = agent.page
    # As while the service is still opening its database, or has none (ARCHIVE_DATABASE_URL=off).
    archive, state.archive = state.archive, None
    try:
        page.get_by_role("tab", name="History").click()
        expect(page.locator("#history-error")).to_have_text(
            "The archive is not available right now. Try again in a moment."
        )
        expect(page.locator("#history-results > li")).to_have_count(0)
        page.get_by_role("tab", name="Dashboard").click()
        page.get_by_label("Period").select_option("365")
        expect(page.locator("#stats-note")).to_have_text(
            "The archive is not available: these figures cover the last 90 days at most."
        )
        expect(page.locator("#chart-title")).to_have_text(
            "Conversations, handoffs and tickets per week"
        )
    finally:
        state.archive = archive
    page.get_by_role("tab", name="History").click()
    search(page)
    expect(page.locator("#history-error")).to_be_hidden()
    expect(page.locator("#history-status")).to_contain_text("found, newest first")
    agent.assert_inert()
    agent.context.close()


def test_dashboard_reaches_a_year_from_the_archive(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    agent = login(browser, stack, "alex")
    page = agent.page
    page.get_by_role("tab", name="Dashboard").click()
    period = page.get_by_label("Period")
    expect(period.locator("option")).to_have_text(
        ["Today", "7 days", "30 days", "90 days", "365 days"]
    )
    period.select_option("365")
    title = page.locator("#chart-title")
    expect(title).to_have_text("Conversations, handoffs and tickets per week, from the archive")
    chart = page.locator("#chart svg")
    # 53 weeks (the last one day long), three series each: the archive counts tickets too.
    expect(chart.locator("rect")).to_have_count(159)
    assert (chart.get_attribute("aria-label") or "").startswith("week of ")
    expect(page.locator("#stats-note")).to_contain_text("the last 90 days at most")
    archived = page.evaluate("async () => (await (await fetch('/api/stats?days=365')).json())")
    conversations = page.locator(".stat", has_text="Conversations").locator(".stat-value")
    expect(conversations).to_have_text(str(archived["archive"]["conversations"]))
    screenshot(page, "console-dashboard-year")
    assert axe_violations(page) == []
    period.select_option("90")
    expect(title).to_have_text("Conversations, handoffs and tickets per day, from the archive")
    expect(chart.locator("rect")).to_have_count(270)
    expect(page.locator("#stats-note")).to_be_hidden()
    period.select_option("7")
    expect(title).to_have_text("Conversations, handoffs and tickets per day")
    expect(chart.locator("rect")).to_have_count(21)
    agent.assert_inert()
    agent.context.close()


def opened_archive(stack: Stack) -> ArchiveStore:
    """The stack's archive, once the service has opened it (it does so in the background)."""
    assert stack.app is not None
    deadline = time.monotonic() + 30
    while (archive := app_state(stack.app).archive) is None:
        assert time.monotonic() < deadline, "the archive never opened"
        time.sleep(0.05)
    return archive


def test_show_older_pages_through_every_past_conversation(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    # More than two pages of one tag's conversations, closed at four moments a minute apart,
    # several at each (ties the paging must neither skip nor repeat), stored straight into the
    # archive: the console only reads them.
    now = int(time.time() * 1000)
    facts = [
        ConversationFacts(
            secrets.token_hex(16),
            now - (n % 4) * 60_000,
            state="closed",
            tags=["paged"],
            notes=f"Paging check {n}",
        )
        for n in range(107)
    ]
    opened_archive(stack).record(facts)
    ordered = [f.id for f in sorted(facts, key=lambda f: (f.at, f.id), reverse=True)]

    agent = login(browser, stack, "alex")
    page = agent.page
    page.get_by_role("tab", name="History").click()
    search(page, tag="paged")
    status = page.locator("#history-status")
    results = page.locator("#history-results button")
    expect(status).to_have_text("50 conversations found, newest first; older ones follow.")
    expect(results).to_have_count(50)
    older = page.get_by_role("button", name="Show older")
    assert axe_violations(page) == []  # the list with the button under it

    # With the keyboard: the next page is added and the keyboard goes on from its first row.
    tab_to(page, older)
    page.keyboard.press("Enter")
    expect(results).to_have_count(100)
    expect(status).to_have_text("100 conversations found, newest first; older ones follow.")
    expect(page.locator(f'#history-results button[data-id="{ordered[50]}"]')).to_be_focused()
    page.keyboard.press("ArrowUp")  # the row before it is the first page's last
    expect(page.locator(f'#history-results button[data-id="{ordered[49]}"]')).to_be_focused()
    # The last page: the button goes, and the keyboard is not lost with it.
    older.click()
    expect(results).to_have_count(107)
    expect(status).to_have_text("107 conversations found, newest first.")
    expect(older).to_have_count(0)
    expect(page.locator(f'#history-results button[data-id="{ordered[100]}"]')).to_be_focused()
    # Every one of them, once, newest first.
    listed = results.evaluate_all("(buttons) => buttons.map((b) => b.dataset.id)")
    assert listed == ordered
    screenshot(page, "console-history-older")

    # A new search starts again from its first page.
    search(page, tag="paged", q="Paging check 10")  # 10 and 100..106
    expect(status).to_have_text("8 conversations found, newest first.")
    expect(older).to_have_count(0)
    agent.assert_inert()
    agent.context.close()


def test_a_search_sent_while_the_first_listing_loads_replaces_it(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    # The History tab lists the latest conversations on its first visit. An agent who types a
    # search and presses Enter before that listing has come must get their search, and the
    # listing's late answer must not overwrite it. The listing is held here until then.
    now = int(time.time() * 1000)
    wanted = [
        ConversationFacts(
            secrets.token_hex(16), now - n, state="closed", tags=["overtaken"], notes=f"Late {n}"
        )
        for n in range(2)
    ]
    opened_archive(stack).record(wanted)
    agent = login(browser, stack, "alex")
    page = agent.page
    held: list[Any] = []

    def hold_the_first_listing(route: Any) -> None:
        if "?" not in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/archive/conversations*", hold_the_first_listing)
    status = page.locator("#history-status")
    page.get_by_role("tab", name="History").click()
    expect(status).to_have_text("Searching the archive…")
    assert len(held) == 1
    search(page, tag="overtaken")
    results = page.locator("#history-results button")
    expect(status).to_have_text("2 conversations found, newest first.")
    expect(results).to_have_count(2)
    # The listing's answer comes last: the search's results stay. The barrier: the late answer
    # was read in full, and a request the page sent after it has been answered and read too.
    with page.expect_request_finished(lambda r: r == held[0].request):
        held[0].continue_()
    read_again = "() => fetch('/api/archive/conversations').then((r) => r.json()).then(() => true)"
    assert page.evaluate(read_again)
    expect(results).to_have_count(2)
    expect(status).to_have_text("2 conversations found, newest first.")
    listed = results.evaluate_all("(buttons) => buttons.map((b) => b.dataset.id)")
    assert listed == [f.id for f in wanted]
    agent.assert_inert()
    agent.context.close()
