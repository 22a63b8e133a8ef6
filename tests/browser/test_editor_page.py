"""The FAQ editor page in real Chromium, driving the real FAQ tool on a copy of the project.

    editor: logs in, searches topics, opens one; adds a topic with a bad key and too few
            phrasings (the tool's messages appear next to those fields), a phrasing the live
            assistant takes for another topic (likely conflict, next to the phrasings), then a
            good topic whose answer is an XSS payload: it shows as text and never runs;
            edits the answer (length counter), sees unanswered questions grouped, turns a group
            into a phrasing, dismisses another; validates; uses the tabs with the keyboard.
    agent:  is turned away by the server, from the page and from the API.
    admin:  reads the audit log with the editor's changes, newest first.

The handoff app runs in-process (tests/browser/support.py); Rasa's parse endpoint is the fake
Rasa (tests/support/fake_rasa.py) scripted as the live assistant, so the tool's conflict check
has an assistant to ask. Screenshots go to test-artifacts/screenshots/editor-*.png.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from handoff.editor import unanswered
from tests.browser.support import ROOT, Stack, axe_violations, screenshot
from tests.support.fake_rasa import FakeRasa
from tests.support.project import copy_project
from tests.support.servers import RedisServer, free_port

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'
PASSWORD = "harbor-editor-pass-1"
EDITOR, AGENT, ADMIN = "erin", "alex", "ada"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
CANADA = [
    "do you ship to canada",
    "can I get my order delivered in Canada",
    "shipping to canada",
    "do you deliver to Toronto",
    "is Canada in your delivery area",
]
UNANSWERED = [
    "do you sell gift wrapping",
    "can you gift wrap my order",
    "is gift wrapping available",
    "do you have a store in boston",
    XSS,
]


def live_assistant_parse(text: str) -> dict[str, Any]:
    """/model/parse as the live assistant: it takes anything about returns for return_policy."""
    if "return" in text.lower():
        return {
            "text": text,
            "intent": {"name": "faq", "confidence": 0.97},
            "response_selector": {
                "faq": {"response": {"intent_response_key": "faq/return_policy"}}
            },
        }
    return {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("editor-browser")
    redis = RedisServer(folder / "redis")
    redis.start()
    running = Stack(
        redis.url,
        [
            (EDITOR, PASSWORD, "Erin Editor", "editor"),
            (AGENT, PASSWORD, "Alex Agent", "agent"),
            (ADMIN, PASSWORD, "Ada Admin", "admin"),
        ],
    )
    parse_port = free_port()
    running.settings = running.settings.model_copy(
        update=dict(
            faq_cli=(str(RASA_PYTHON), "-m", "bot", "faq"),
            faq_project_dir=copy_project(folder / "project"),
            var_dir=folder / "var",
            rasa_urls=(f"http://127.0.0.1:{parse_port}",),
        ),
    )
    try:
        running.start()
        running.run(running._serve(FakeRasa(parse=live_assistant_parse).app(), parse_port))
        running.run(record_unanswered(redis.url))
        yield running
    finally:
        try:
            running.stop()
        finally:
            redis.kill()


async def record_unanswered(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    for i, text in enumerate(UNANSWERED):
        await unanswered.record(redis, Keys("ha"), f"{i:032x}", text, "fallback")
    await redis.aclose()


PAGE_ERRORS: list[str] = []


def log_in(browser: Any, stack: Stack, user: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    page.goto(stack.url + "/console/editor")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-view")).to_be_hidden()
    return page


def test_an_editor_adds_a_topic_with_the_tools_checks_next_to_each_field(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    page = log_in(browser, stack, EDITOR)
    expect(page.get_by_role("tab", name="Topics")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".topic-item")).to_have_count(40, timeout=20_000)
    page.get_by_label("Search topics").fill("refund")
    assert 0 < page.locator(".topic-item").count() < 40
    screenshot(page, "editor-01-topics-search")
    assert axe_violations(page) == []  # the topics
    page.locator(".topic-item").first.click()
    expect(page.locator("#topic-view")).to_be_visible()
    expect(page.locator(".phrasing").first).to_be_visible()
    screenshot(page, "editor-02-topic-detail")
    assert axe_violations(page) == []  # one topic

    # A bad key and too few phrasings: the tool says why, next to each field.
    page.get_by_role("button", name="New topic").click()
    form = page.locator("#add-form")
    form.get_by_label("Topic key").fill("Ship To Canada!")
    form.get_by_label("How customers ask").fill("\n".join(CANADA[:2]))
    expect(page.locator("#add-phrasings-count")).to_have_text("2 phrasings (at least 5)")
    form.get_by_label("Answer", exact=True).fill("Yes, we ship to Canada in 5-8 business days.")
    page.get_by_role("button", name="Add topic").click()
    key_error = page.locator("#add-key-error")
    expect(key_error).to_be_visible()
    expect(form.get_by_label("Topic key")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Topic key")).to_be_focused()
    screenshot(page, "editor-03-bad-key")
    form.get_by_label("Topic key").fill("ship_to_canada")
    page.get_by_role("button", name="Add topic").click()
    expect(page.locator("#add-phrasings-error")).to_contain_text("5")
    expect(key_error).to_be_hidden()
    screenshot(page, "editor-04-too-few-phrasings")

    # A phrasing the live assistant already answers with another topic.
    form.get_by_label("How customers ask").fill("\n".join([*CANADA, "can I return it from Canada"]))
    page.get_by_role("button", name="Add topic").click()
    expect(page.locator("#add-phrasings-error")).to_contain_text("return_policy")
    screenshot(page, "editor-05-likely-conflict")

    # A good topic whose answer carries an XSS payload.
    form.get_by_label("How customers ask").fill("\n".join(CANADA))
    form.get_by_label("Answer", exact=True).fill(f"Yes, we ship to Canada. {XSS}")
    page.get_by_role("button", name="Add topic").click()
    expect(page.locator("#topic-title")).to_have_text("ship_to_canada")
    expect(page.locator(".phrasing")).to_have_count(5)
    expect(page.locator("#answer-edit")).to_have_value(f"Yes, we ship to Canada. {XSS}")
    page.get_by_label("Search topics").fill("canada")
    expect(page.locator(".topic-item", has_text="ship_to_canada")).to_contain_text(XSS)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#panel-topics img").count() == 0
    screenshot(page, "editor-06-topic-added")

    # The answer's length counter, then a saved answer.
    new_answer = "Yes, we ship to Canada in 5-8 business days."
    page.locator("#answer-edit").fill(new_answer)
    expect(page.locator("#answer-edit-count")).to_have_text(f"{len(new_answer)} / 1000")
    page.locator("#answer-edit").fill("x" * 1001)
    expect(page.locator("#answer-edit-count")).to_have_class("counter over")
    page.locator("#answer-edit").fill("Yes, we ship to Canada in 5-8 business days.")
    page.get_by_role("button", name="Save answer").click()
    expect(page.locator("#toast")).to_contain_text("Answer saved")
    project = stack.settings.faq_project_dir
    saved = "\n".join(p.read_text() for p in (project / "data" / "nlu" / "faq").glob("*.yml"))
    assert "Yes, we ship to Canada in 5-8 business days." in saved
    assert "onerror" not in saved
    assert PAGE_ERRORS == []
    page.context.close()


def test_unanswered_questions_grouped_turned_into_a_phrasing_and_dismissed(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    page = log_in(browser, stack, EDITOR)
    page.get_by_role("tab", name="Topics").focus()
    page.keyboard.press("ArrowRight")  # the tabs work with the keyboard
    expect(page.get_by_role("tab", name="Unanswered")).to_be_focused()
    expect(page.locator("#panel-unanswered")).to_be_visible()
    cards = page.locator(".group-card")
    expect(cards).to_have_count(3)
    gift = cards.filter(has_text="gift wrap").first
    expect(gift.locator(".group-count")).to_have_text("3")
    expect(cards.filter(has_text=XSS)).to_have_count(1)  # a customer's markup stays text
    assert page.evaluate("window.__xss") is None
    screenshot(page, "editor-07-unanswered")
    assert axe_violations(page) == []  # the unanswered questions

    boston = cards.filter(has_text="boston")
    boston.get_by_label("Topic to add this question to").select_option("store_locations")
    boston.get_by_role("button", name="Add", exact=False).first.click()
    expect(page.locator("#toast")).to_contain_text("Added to store_locations")
    expect(cards).to_have_count(2)
    cards.filter(has_text=XSS).get_by_role("button", name="Dismiss").click()
    expect(page.locator("#toast")).to_contain_text("Dismissed 1 message")
    expect(cards).to_have_count(1)
    gift.get_by_role("button", name="New topic from this").click()
    expect(page.locator("#add-form")).to_be_visible()
    expect(page.locator("#add-phrasings-count")).to_have_text("3 phrasings (at least 5)")
    expect(page.locator("#add-source")).to_contain_text("3 unanswered questions")
    screenshot(page, "editor-08-new-topic-from-unanswered")
    page.context.close()


def test_validate_lists_the_tools_messages(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack, EDITOR)
    page.get_by_role("tab", name="Publish").click()
    page.get_by_role("button", name="Validate").click()
    status = page.locator("#validate-status")
    expect(status).to_contain_text("Checking")
    # Rasa's own `rasa data validate` runs too: allow it its time on a small machine.
    expect(status).not_to_contain_text("Checking", timeout=240_000)
    verdict = status.inner_text()
    assert "to fix before publishing" in verdict or "Everything checks out" in verdict, verdict
    screenshot(page, "editor-09-validate")
    page.context.close()


def test_an_agent_is_turned_away_by_the_server(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(stack.url + "/console")
    page.get_by_label("Username").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app-view")).to_be_visible()
    response = page.goto(stack.url + "/console/editor")
    assert response is not None and response.status == 403
    expect(page.get_by_text("The FAQ editor is for editors and admins")).to_be_visible()
    api = context.request.get(stack.url + "/api/faq/topics")
    assert api.status == 403 and api.json()["error"] == "forbidden"
    screenshot(page, "editor-10-agent-refused")
    context.close()


def test_an_admin_reads_the_audit_log_newest_first(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    audit = stack.settings.var_dir / "faq-audit.jsonl"
    page = log_in(browser, stack, ADMIN)
    tab = page.get_by_role("tab", name="Audit log")
    expect(tab).to_be_visible()
    tab.click()
    rows = page.locator("#audit-body tr")
    expect(rows.first).to_be_visible()
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert rows.count() == len(entries)
    newest = entries[-1]
    expect(rows.first.locator("td").nth(1)).to_have_text(newest["actor"])
    expect(rows.first.locator("td").nth(2)).to_have_text(newest["action"])
    page.get_by_label("Filter").fill("ship_to_canada")
    assert rows.count() >= 2
    screenshot(page, "editor-11-audit-log")
    assert axe_violations(page) == []
    page.context.close()
    # An editor does not get the tab, and the server refuses the log.
    editor = log_in(browser, stack, EDITOR)
    expect(editor.get_by_role("tab", name="Audit log")).to_be_hidden()
    answer = editor.context.request.get(stack.url + "/api/faq/audit")
    assert answer.status == 403
    editor.context.close()


# --- publish progress and rollback, on the scripted tool (a real publish trains for minutes) ---

SCRIPTED_TOOL = ROOT / "tests" / "app" / "scripted_faq_tool.py"


@pytest.fixture(scope="module")
def scripted_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("editor-publish-browser")
    project = folder / "project"
    project.mkdir()
    (project / "topics.json").write_text("{}")
    redis = RedisServer(folder / "redis")
    redis.start()
    running = Stack(
        redis.url,
        [(EDITOR, PASSWORD, "Erin Editor", "editor"), (ADMIN, PASSWORD, "Ada Admin", "admin")],
    )
    running.settings = running.settings.model_copy(
        update=dict(
            faq_cli=(sys.executable, str(SCRIPTED_TOOL)),
            faq_project_dir=project,
            var_dir=folder / "var",
        ),
    )
    try:
        running.start()
        yield running
    finally:
        try:
            running.stop()
        finally:
            redis.kill()


def test_publish_shows_progress_blocks_a_second_publisher_and_rolls_back_in_one_click(
    scripted_stack: Stack, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setenv("SCRIPTED_PUBLISH_SECONDS", "4")
    erin = log_in(browser, scripted_stack, EDITOR)
    ada = log_in(browser, scripted_stack, ADMIN)
    for page in (erin, ada):
        page.get_by_role("tab", name="Publish").click()
    expect(erin.locator("#history-empty")).to_be_visible()

    erin.get_by_role("button", name="Publish", exact=True).click()
    bar = erin.get_by_role("progressbar", name="Publish progress")
    expect(bar).to_be_visible()
    expect(bar).not_to_have_attribute("aria-valuenow", "0")
    expect(erin.locator(".steps li.current")).to_be_visible()
    screenshot(erin, "editor-12-publish-progress")
    assert axe_violations(erin) == []  # a publish in progress

    # Another editor is told who is publishing, and cannot start a second one.
    ada.get_by_role("button", name="Publish", exact=True).click()
    expect(ada.locator("#publish-result")).to_contain_text("erin is running a publish")
    expect(ada.locator("#publish-badge")).to_contain_text("Publishing (erin)")
    expect(ada.get_by_role("button", name="Publish", exact=True)).to_be_disabled()

    expect(erin.locator("#publish-result")).to_contain_text("Publish done", timeout=20_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    rows = erin.locator("#history-body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("harbor-0001")
    expect(ada.get_by_role("button", name="Publish", exact=True)).to_be_enabled(timeout=20_000)
    screenshot(erin, "editor-13-published")
    assert axe_violations(erin) == []

    monkeypatch.setenv("SCRIPTED_PUBLISH_SECONDS", "1")
    erin.get_by_role("button", name="Roll back to harbor-initial").click()
    dialog = erin.get_by_role("dialog", name="Roll back?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(erin, "editor-14-rollback-confirm")
    dialog.get_by_role("button", name="Roll back").click()
    expect(erin.locator("#publish-result")).to_contain_text("Rollback done", timeout=20_000)
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("rollback")
    expect(rows.first).to_contain_text("harbor-initial")
    expect(erin.get_by_role("button", name="Roll back to harbor-initial")).to_have_count(0)
    screenshot(erin, "editor-15-rolled-back")
    assert PAGE_ERRORS == []
    erin.context.close()
    ada.context.close()
