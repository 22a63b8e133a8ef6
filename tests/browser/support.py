"""What the browser tests share: the handoff app in-process with a scripted Rasa peer, and Chromium.

The app runs in a background event loop (Playwright's sync API owns the test's thread) against a
private redis-server. The Rasa peer is tests/support/fake_rasa.py with its `shop` script: it
answers a few scripted turns, parses messages for suggested answers and serves a domain, like
the real Rasa HTTP API does. A second tiny server plays a shop on another origin that embeds the
widget with its one script tag.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from handoff.app import create_app
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.settings import Secret, Settings
from handoff.state import app_state
from tests.support.fake_rasa import FakeRasa
from tests.support.servers import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# A light brand colour on purpose: the widget must darken it to keep white text readable.
LIGHT_BRAND = "#7fd3e0"
# How long a stopping test server lets requests still running finish before cancelling them.
SHUTDOWN_SECONDS = 5.0


def other_shop_app(widget_origin: str) -> web.Application:
    """A shop on its own origin embedding the widget from the service's origin."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Tide Outfitters</title>
</head><body style="font-family: sans-serif; margin: 2rem"><h1>Tide Outfitters</h1>
<p>Wetsuits and boards.</p>
<script src="{widget_origin}/widget.js" data-title="Tide Outfitters help"
 data-color="{LIGHT_BRAND}" defer></script></body></html>"""

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    return app


# --- servers in a background event loop ------------------------------------------------------

Account = tuple[str, str, str, str]  # user name, password, display name, role


class Stack:
    def __init__(self, redis_url: str, accounts: list[Account]) -> None:
        self.redis_url = redis_url
        self.accounts = accounts
        self.port = free_port()
        self.rasa_port = free_port()
        self.shop_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shop_url = f"http://127.0.0.1:{self.shop_port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runners: list[web.AppRunner] = []
        self.rasa = FakeRasa.scripted("shop")
        self.app: web.Application | None = None
        self.settings = Settings(
            port=self.port,
            public_url=self.url,
            redis_url=redis_url,
            rasa_urls=(f"http://127.0.0.1:{self.rasa_port}",),
            secret=Secret("browser-test-secret-not-for-production"),
            triage_enabled=False,
            bot_turn_timeout=3.0,
            allowed_origins=(self.url, self.shop_url),
            var_dir=ROOT / "test-artifacts" / "var",
        )

    def run(self, coro: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _serve(self, app: web.Application, port: int) -> None:
        # Requests still running at the end of a module (an editor's FAQ tool call on a busy
        # machine can take half a minute) are cancelled after SHUTDOWN_SECONDS instead of
        # aiohttp's 60, so stopping fits in stop()'s deadline.
        runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.runners.append(runner)

    async def _start(self) -> None:
        await self._serve(self.rasa.app(), self.rasa_port)
        self.app = create_app(self.settings)
        await self._serve(self.app, self.port)
        await self._serve(other_shop_app(self.url), self.shop_port)
        redis = Redis.from_url(self.redis_url, decode_responses=True)
        try:
            accounts = Accounts(redis, Keys(self.settings.redis_prefix))
            for user, password, display_name, role in self.accounts:
                await accounts.create(user, password, display_name=display_name, role=role)
        finally:
            await redis.aclose()

    async def _drop_customer_sockets(self) -> int:
        """Close every customer socket from the server side, as a restarting replica would."""
        assert self.app is not None
        sockets = list(app_state(self.app).customer_sockets)
        for ws in sockets:
            await ws.close(code=1012, message=b"service restart")
        return len(sockets)

    def drop_customer_sockets(self) -> int:
        return int(self.run(self._drop_customer_sockets()))

    async def _stop(self) -> None:
        for runner in reversed(self.runners):
            await runner.cleanup()

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    def stop(self) -> None:
        self.run(self._stop(), timeout=SHUTDOWN_SECONDS * len(self.runners) + 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def running_stack(folder: Path, accounts: list[Account], **settings: Any) -> Iterator[Stack]:
    """A started Stack on a fresh redis-server; stops both when the generator is closed. Its
    conversation archive is a SQLite file of its own under `folder`, so a test that searches or
    erases sees only the conversations it made. `settings` override the stack's settings."""
    redis = RedisServer(folder)
    redis.start()
    running = Stack(redis.url, accounts)
    running.settings = running.settings.model_copy(
        update={
            "archive_database_url": f"sqlite:///{folder / 'archive.sqlite3'}",
            # The demo orders, seeded on the first lookup (orders/store.py).
            "orders_database_url": f"sqlite:///{folder / 'orders.sqlite3'}",
            **settings,
        }
    )
    try:
        running.start()
        yield running
    finally:
        try:
            running.stop()
        finally:
            redis.kill()


def system_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser); closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot(page: Any, name: str) -> None:
    """Keep a screenshot of a step under test-artifacts/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), animations="disabled")


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS `rgb()`/`rgba()` colours (alpha ignored: opaque inputs)."""

    def channels(css: str) -> list[float]:
        inside = css[css.index("(") + 1 : css.index(")")].replace("/", ",")
        return [float(x) for x in inside.replace(" ", ",").split(",") if x][:3]

    def luminance(rgb: list[float]) -> float:
        linear = [
            v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4
            for v in rgb
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    a, b = sorted((luminance(channels(foreground)), luminance(channels(background))))
    return (b + 0.05) / (a + 0.05)


def unlabelled(page: Any, scope: str) -> list[str]:
    """Visible controls under `scope` without an accessible name (label, aria-label or text)."""
    controls = ", ".join(f"{scope} {tag}" for tag in ("button", "input", "textarea", "select", "a"))
    return list(
        page.evaluate(
            """CONTROLS => [...document.querySelectorAll(CONTROLS),
                ...[...document.querySelectorAll('.harbor-assist')]
                  .flatMap(host => [...host.shadowRoot.querySelectorAll(CONTROLS)])]
              .filter(n => n.offsetParent !== null)
              .filter(n => !((n.getAttribute('aria-label') || '').trim()
                || (n.labels && n.labels.length && n.labels[0].textContent.trim())
                || n.textContent.trim()))
              .map(n => n.outerHTML.slice(0, 80))""",
            controls,
        )
    )


AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any, context: str | None = None) -> list[str]:
    """axe-core's findings of every impact on the page as it is now (or under `context`), one
    line each: rule, impact and the first offending elements. An empty list is a clean page."""
    if not AXE_SOURCE.is_file():
        raise RuntimeError(f"{AXE_SOURCE} is missing; run make setup (scripts/node-deps.sh)")
    # Evaluated through the browser's debugging protocol, so the page's CSP does not apply.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    found = page.evaluate(
        """async (context) => {
          const result = await axe.run(context || document, {resultTypes: ['violations']});
          return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
            v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }""",
        context,
    )
    return [str(line) for line in found]


def tab_to(page: Any, target: Any, presses: int = 80) -> None:
    """Press Tab until `target` (a locator, inside a shadow root or not) has the keyboard
    focus, as a keyboard-only user gets there; fail if it never does."""
    import pytest

    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("n => n.getRootNode().activeElement === n"):
            return
    pytest.fail(f"Tab never reached {target}")


class Watched:
    """A page whose dialogs and script errors are recorded (an XSS would show up in either)."""

    def __init__(self, browser: Any, width: int = 1440, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_inert(self) -> None:
        assert self.dialogs == [] and self.errors == []
        assert self.page.evaluate("typeof window.__xss") == "undefined"


def console_login(
    browser: Any, stack: Stack, user: str, *, online: bool, audit_sign_in: bool = False
) -> Watched:
    """One of the stack's accounts signed in to the console (and online, if asked)."""
    from playwright.sync_api import expect

    password, name = next((p, n) for u, p, n, _ in stack.accounts if u == user)
    watched = Watched(browser)
    page = watched.page
    page.goto(stack.url + "/console")
    expect(page.get_by_label("Username")).to_be_visible()
    if audit_sign_in:
        assert axe_violations(page) == []  # the sign-in page
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#me")).to_have_text(name)
    if online:
        page.get_by_label("Presence status").select_option("online")
        expect(page.locator("#presence-dot")).to_have_class("presence-dot presence-online")
    return watched


def shopper_page(browser: Any, stack: Stack) -> Watched:
    """A customer on the shop's page with the widget open."""
    watched = Watched(browser, 1280, 820)
    watched.page.goto(stack.url + "/")
    watched.page.locator(".ha-launcher").click()
    return watched


def say(shopper: Watched, text: str) -> None:
    shopper.page.locator(".ha-input").fill(text)
    shopper.page.keyboard.press("Enter")


def conversation_of(shopper: Watched) -> str:
    """The shopper's conversation id, as the widget keeps it for the tab. The widget stores it
    when the service's welcome arrives, which on a busy machine can come after the first
    message is typed: wait for it (read too early, it was "None" in a fresh-clone run)."""
    stored = (
        "() => (JSON.parse(sessionStorage.getItem('harbor-assist:' + location.host)) || {})"
        ".conversation || null"
    )
    return str(shopper.page.wait_for_function(stored).json_value())
