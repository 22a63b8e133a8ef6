"""The assistant's HTTP API as the bot package calls it: one small client, standard library only.

    RasaClient(url, token).get("/status")             Reply(status, body)
    RasaClient(url, token).put("/model", {...})       swap the live model
    RasaClient(url, token).parse("where is my order")  POST /model/parse: the parse as a dict
    answers(url)                                      a health check: True on a 2xx answer
    wait_until_answers(url, seconds, running)         wait for a server that is starting

Rasa's token goes into the query string (`?token=`), as `rasa run --auth-token` expects it.
A server that gives no usable answer (refused, timed out, not JSON) raises RasaUnreachable with
the reason; an HTTP error status comes back as a Reply like any other, because each caller
words those for its own reader (an editor, a newcomer running `make run`).
Only the standard library: the launcher and the FAQ tool's quick commands import this.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class RasaUnreachable(Exception):
    """No usable answer: the server is down, the address is wrong, it timed out, or the answer
    was not JSON. The message is the reason, as urllib gives it."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the JSON on a 2xx answer (None when empty), the error text otherwise

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class RasaClient:
    """One Rasa server's HTTP API, with its token."""

    url: str
    token: str = ""
    timeout: float = 10.0

    def address(self, path: str) -> str:
        """`path` on this server, with the token where Rasa looks for it."""
        query = f"?token={urllib.parse.quote(self.token)}" if self.token else ""
        return f"{self.url}{path}{query}"

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def put(self, path: str, body: dict[str, Any]) -> Reply:
        return self.request("PUT", path, body)

    def post(self, path: str, body: dict[str, Any]) -> Reply:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the assistant's own API, http(s) only
            self.address(path),
            data=data,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                return Reply(int(response.status), json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            return Reply(int(error.code), error.read().decode(errors="replace"))
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise RasaUnreachable(str(error)) from error

    def parse(self, text: str) -> dict[str, Any]:
        """What the live model makes of a message; RasaUnreachable unless Rasa answers 2xx."""
        reply = self.post("/model/parse", {"text": text})
        if not reply.ok:
            # A wrong token (401) or a server without a model (409) cannot parse either.
            raise RasaUnreachable(f"HTTP {reply.status}: {str(reply.body)[:200]}")
        return dict(reply.body)


def answers(url: str, timeout: float = 2.0) -> bool:
    """A health check: does `url` answer with a 2xx status within `timeout` seconds?"""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_answers(url: str, seconds: float, running: Callable[[], bool]) -> bool:
    """Poll a starting server until `url` answers; False once `seconds` pass or `running()`
    says the server has exited (no point waiting for a process that is gone)."""
    deadline = time.monotonic() + seconds
    while not answers(url, timeout=1.0):
        if time.monotonic() > deadline or not running():
            return False
        time.sleep(0.2)
    return True
