"""The one stand-in for Rasa's HTTP API, for every suite that needs an assistant but no model.

It serves what the handoff service asks of Rasa: the REST webhook, `/model/parse`, `/domain`,
`/status` and a conversation's tracker. It records every webhook call so tests can check order
and concurrency. The same scripting API in both ways of running it:

- in-process, `FakeRasa(...)`: `await fake.start()` serves it on an aiohttp TestServer and
  returns its URL (tests/app); `fake.app()` is the aiohttp app, for a loop a test owns
  (tests/browser). In-process, `replies` may be any function `(sender, text) -> messages`
  (sync or async) and may be replaced while the test runs.
- as its own process, `FakeRasaProcess(folder, script)`: `python -m tests.support.fake_rasa PORT
  SCRIPT`, which a test can kill (tests/faults). `script` names one of `SCRIPTS`.

Both have `control(delay=seconds, status=http_status)` to make the webhook slow or failing, and
`stats()`: `{calls, max_in_flight, max_in_flight_per_sender, received}`, where `received` maps
each sender (conversation id) to the texts in the order they arrived. In-process, `received` is
also the attribute: every `(sender, text)` in arrival order.

In-process, a test can also hold the webhook's calls where they are: `hold()` keeps each call
that arrives from answering until `release()` lets the oldest go (tests/faults/test_overload.py
decides exactly when Rasa answers), and `await calls_reached(n)` returns once n have arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import subprocess
import sys
import urllib.request
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from vocabulary.verification import verified_message

Messages = list[dict[str, Any]]
Replies = Callable[[str, str], Messages | Awaitable[Messages]]
Parse = Callable[[str], dict[str, Any]]

HANDOFF = {
    "reason": "human_request",
    "summary": "The customer asked for a person.",
    "intents": [],
    "slots": {},
}


# --- reply scripts ---------------------------------------------------------------------------


def echo(sender: str, text: str) -> Messages:
    return [{"recipient_id": sender, "text": f"echo: {text}"}]


def handoff_on(word: str, handoff: dict[str, Any] = HANDOFF) -> Replies:
    """Asks for a handoff (the payload the real handoff action sends) when a message mentions
    `word`; echoes everything else."""

    def replies(sender: str, text: str) -> Messages:
        if word in text.lower():
            return [{"recipient_id": sender, "custom": {"handoff": handoff}}]
        return echo(sender, text)

    return replies


def verifies_on(word: str, order_number: str, answer: str = "Your order is on its way.") -> Replies:
    """Answers a message mentioning `word` as the order-status form does once the customer's proof
    matched: the answer, then the verified-order notice naming `order_number` (built as
    actions/order_status.py builds it); echoes everything else."""

    def replies(sender: str, text: str) -> Messages:
        if word in text.lower():
            notice = dict(verified_message(order_number))
            return [
                {"recipient_id": sender, "text": answer},
                {"recipient_id": sender, "custom": notice},
            ]
        return echo(sender, text)

    return replies


FAQ_ANSWERS = {
    "utter_faq/refund_time": "Refunds reach your card 5 to 10 business days after we get the item.",
    "utter_faq/return_policy": "You can return any unused item within 30 days for a full refund.",
    "utter_faq/shipping_time": "Standard shipping takes 3 to 5 business days.",
}


async def shop_replies(sender: str, text: str) -> Messages:
    """A few turns of the shop's assistant: a greeting with buttons, a handoff, a slow answer."""
    if text.strip().lower() == "hi":
        return [
            {
                "recipient_id": sender,
                "text": "Hello! I'm the Harbor Goods assistant. What can I do for you?",
                "buttons": [
                    {"title": "Track my order", "payload": "Where is my order?"},
                    {"title": "Returns", "payload": "How do returns work?"},
                ],
            }
        ]
    if text.strip() == "I want a person":
        return [
            {
                "recipient_id": sender,
                "custom": {
                    "handoff": {
                        "reason": "human_request",
                        "summary": "Customer asked for a person",
                        "intents": [{"name": "request_human", "confidence": 0.97}],
                        "slots": {},
                    }
                },
            }
        ]
    if text == "slow question":
        await asyncio.sleep(1.5)  # long enough to see the assistant "typing"
    return echo(sender, text)


def shop_parse(text: str) -> dict[str, Any]:
    """A /model/parse answer shaped like Rasa 3.6's, with a ResponseSelector for `faq`."""
    if "refund" in text.lower():
        ranking = [("faq/refund_time", 0.91), ("faq/return_policy", 0.07)]
    else:
        ranking = [("faq/shipping_time", 0.4)]
    top_key, top_confidence = ranking[0]
    return {
        "text": text,
        "intent": {"name": "faq", "confidence": 0.95},
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "responses": [{"text": FAQ_ANSWERS[f"utter_{top_key}"]}],
                    "confidence": top_confidence,
                    "intent_response_key": top_key,
                    "utter_action": f"utter_{top_key}",
                },
                "ranking": [
                    {"id": n, "confidence": c, "intent_response_key": k}
                    for n, (k, c) in enumerate(ranking)
                ],
            },
        },
    }


# What a separate process can be told to be, by name.
SCRIPTS: dict[str, dict[str, Any]] = {
    "echo": {"replies": echo},
    "handoff_on_human": {"replies": handoff_on("human")},
    "shop": {"replies": shop_replies, "parse": shop_parse, "responses": FAQ_ANSWERS},
}


# --- the fake ----------------------------------------------------------------------------------


class FakeRasa:
    """Rasa's HTTP API, scripted; see the module docstring."""

    def __init__(
        self,
        replies: Replies = echo,
        *,
        parse: Parse | None = None,
        responses: dict[str, str] | None = None,
        delay: float = 0.0,
        status: int = 200,
    ) -> None:
        self.replies = replies
        self.parse = parse  # None: /model/parse answers 404, as with no NLU
        self.responses = responses  # None: /domain answers 404
        self.delay = delay
        self.status = status
        # A conversation's slots as its tracker shows them (a test sets what the assistant
        # would have filled, e.g. {"verified_order_number": "HG-10001"}).
        self.slots: dict[str, dict[str, Any]] = {}
        # Seconds /model/parse and the tracker take to answer (the webhook has `delay`).
        self.lookup_delay = 0.0
        self.received: list[tuple[str, str]] = []
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._per_sender: dict[str, int] = defaultdict(int)
        self.max_in_flight_per_sender = 0
        self._holding = False
        self._held: deque[asyncio.Event] = deque()
        self._arrived = asyncio.Event()
        self._server: TestServer | None = None
        self.url = ""

    @classmethod
    def scripted(cls, script: str) -> FakeRasa:
        return cls(**SCRIPTS[script])

    # The scripting API shared with FakeRasaProcess.

    def control(self, **settings: float | int) -> None:
        """Change behaviour: `delay` (seconds before answering), `status` (HTTP status)."""
        self.delay = float(settings.get("delay", self.delay))
        self.status = int(settings.get("status", self.status))

    def hold(self) -> None:
        """From now on every webhook call waits, once counted, until `release` lets it answer."""
        self._holding = True

    def release(self, count: int | None = None) -> None:
        """Let the `count` oldest held calls answer; with None, all of them, and hold no more."""
        if count is None:
            self._holding = False
            count = len(self._held)
        for _ in range(min(count, len(self._held))):
            self._held.popleft().set()

    async def calls_reached(self, count: int, timeout: float = 10.0) -> None:
        """Returns once `count` webhook calls have arrived; AssertionError after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.calls < count:
            left = deadline - loop.time()
            assert left > 0, f"{self.calls} webhook calls within {timeout} s, not {count}"
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=left)

    def stats(self) -> dict[str, Any]:
        received: dict[str, list[str]] = defaultdict(list)
        for sender, text in self.received:
            received[sender].append(text)
        return {
            "calls": self.calls,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_per_sender": self.max_in_flight_per_sender,
            "received": dict(received),
        }

    # Rasa's endpoints.

    async def webhook(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        sender, text = str(body["sender"]), str(body["message"])
        self.calls += 1
        self.in_flight += 1
        self._per_sender[sender] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_in_flight_per_sender = max(self.max_in_flight_per_sender, self._per_sender[sender])
        self.received.append((sender, text))
        self._arrived.set()
        try:
            if self._holding:
                turn = asyncio.Event()
                self._held.append(turn)
                await turn.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.status != 200:
                return web.json_response({"error": "failing on purpose"}, status=self.status)
            messages = self.replies(sender, text)
            if inspect.isawaitable(messages):
                messages = await messages
            return web.json_response(messages)
        finally:
            self.in_flight -= 1
            self._per_sender[sender] -= 1

    async def parse_text(self, request: web.Request) -> web.Response:
        if self.lookup_delay:
            await asyncio.sleep(self.lookup_delay)
        if self.parse is None:
            raise web.HTTPNotFound()
        body = await request.json()
        return web.json_response(self.parse(str(body.get("text", ""))))

    async def domain(self, request: web.Request) -> web.Response:
        if self.responses is None:
            raise web.HTTPNotFound()
        responses = {name: [{"text": text}] for name, text in self.responses.items()}
        return web.json_response({"responses": responses})

    async def status_page(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "fake"})

    async def tracker(self, request: web.Request) -> web.Response:
        if self.lookup_delay:
            await asyncio.sleep(self.lookup_delay)
        return web.json_response(
            {"events": [], "slots": self.slots.get(request.match_info["cid"], {})}
        )

    async def _control(self, request: web.Request) -> web.Response:
        self.control(**await request.json())
        return web.json_response({"delay": self.delay, "status": self.status})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_post("/model/parse", self.parse_text)
        app.router.add_get("/domain", self.domain)
        app.router.add_get("/status", self.status_page)
        app.router.add_get("/conversations/{cid}/tracker", self.tracker)
        app.router.add_post("/_control", self._control)
        app.router.add_get("/_stats", self._stats)
        return app

    # In-process serving.

    async def start(self) -> str:
        """Serve on a free loopback port in the running loop; returns the base URL."""
        self._server = TestServer(self.app())
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None


class FakeRasaProcess:
    """The same fake as its own process (`python -m tests.support.fake_rasa PORT SCRIPT`)."""

    def __init__(self, folder: Path, script: str = "handoff_on_human") -> None:
        from tests.support.servers import free_port

        assert script in SCRIPTS, script
        self.folder = folder
        self.script = script
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from tests.support.servers import APP_PYTHON, ROOT, wait_for_http

        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / f"fake-rasa-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [str(APP_PYTHON), "-m", "tests.support.fake_rasa", str(self.port), self.script],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(self.url + "/status", process=self.process)

    def control(self, **settings: float | int) -> None:
        """Change behaviour: `delay` (seconds before answering), `status` (HTTP status)."""
        request = urllib.request.Request(  # noqa: S310 - loopback only
            self.url + "/_control",
            data=json.dumps(settings).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback only
            pass

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_stats", timeout=5) as response:  # noqa: S310
            data: dict[str, Any] = json.loads(response.read())
            return data

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


if __name__ == "__main__":
    port, script = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "handoff_on_human"
    web.run_app(FakeRasa.scripted(script).app(), host="127.0.0.1", port=port, access_log=None)
