"""A stand-in for Rasa's HTTP API, run as its own process: `python -m tests.support.fake_rasa PORT`.

Used where what the assistant says does not matter, only that it answers (or doesn't): it echoes
each message, answers a message mentioning "human" with the handoff payload the real handoff
action sends, and records every call so tests can check order and concurrency:

- `POST /_control` `{"delay": seconds, "status": http_status}` makes it slow or failing;
- `GET /_stats` returns `{calls, max_in_flight, max_in_flight_per_sender, received}`, where
  `received` maps each sender (conversation id) to the texts in the order they arrived.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from typing import Any

from aiohttp import web

HANDOFF = {
    "reason": "human_request",
    "summary": "The customer asked for a person.",
    "intents": [],
    "slots": {},
}


class Recorder:
    def __init__(self) -> None:
        self.delay = 0.0
        self.status = 200
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.per_sender: dict[str, int] = defaultdict(int)
        self.max_per_sender = 0
        self.received: dict[str, list[str]] = defaultdict(list)

    async def webhook(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        sender, text = str(body["sender"]), str(body["message"])
        self.calls += 1
        self.in_flight += 1
        self.per_sender[sender] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_per_sender = max(self.max_per_sender, self.per_sender[sender])
        self.received[sender].append(text)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.status != 200:
                return web.json_response({"error": "failing on purpose"}, status=self.status)
            if "human" in text.lower():
                return web.json_response([{"recipient_id": sender, "custom": {"handoff": HANDOFF}}])
            return web.json_response([{"recipient_id": sender, "text": f"echo: {text}"}])
        finally:
            self.in_flight -= 1
            self.per_sender[sender] -= 1

    async def control(self, request: web.Request) -> web.Response:
        settings = await request.json()
        self.delay = float(settings.get("delay", self.delay))
        self.status = int(settings.get("status", self.status))
        return web.json_response({"delay": self.delay, "status": self.status})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "calls": self.calls,
                "max_in_flight": self.max_in_flight,
                "max_in_flight_per_sender": self.max_per_sender,
                "received": self.received,
            }
        )

    async def status_page(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "fake"})

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": [], "slots": {}})


def make_app() -> web.Application:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", recorder.webhook)
    app.router.add_post("/_control", recorder.control)
    app.router.add_get("/_stats", recorder.stats)
    app.router.add_get("/status", recorder.status_page)
    app.router.add_get("/conversations/{cid}/tracker", recorder.tracker)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None)
