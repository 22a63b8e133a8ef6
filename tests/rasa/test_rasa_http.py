"""The one client of the assistant's HTTP API: the token, JSON both ways, clear failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bot.rasa_http import RasaClient, RasaUnreachable, answers, wait_until_answers
from tests.support.servers import free_port

TOKEN = "s3cret token"


class FakeRasa(BaseHTTPRequestHandler):
    """GET /status and POST /model/parse with the token; 401 without it, as `rasa run` does."""

    def log_message(self, *_: object) -> None:
        pass

    def _reply(self, status: int, body: object) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_GET(self) -> None:
        if "token=s3cret%20token" not in self.path:
            self._reply(401, {"reason": "NotAuthenticated"})
        else:
            self._reply(200, {"model_file": "models/harbor-1.tar.gz"})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        text = json.loads(self.rfile.read(length))["text"]
        if "token=" not in self.path:
            self._reply(401, {"reason": "NotAuthenticated"})
        else:
            self._reply(200, {"text": text, "intent": {"name": "greet", "confidence": 0.9}})


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_token_and_json_go_both_ways(rasa_url: str) -> None:
    client = RasaClient(rasa_url, TOKEN)
    assert client.get("/status").body == {"model_file": "models/harbor-1.tar.gz"}
    assert client.parse("hello")["intent"]["name"] == "greet"
    assert answers(client.address("/status"))
    assert wait_until_answers(client.address("/status"), 5, lambda: True)


def test_an_error_status_is_a_reply_but_parse_needs_an_answer(rasa_url: str) -> None:
    reply = RasaClient(rasa_url).get("/status")
    assert reply.status == 401 and not reply.ok and "NotAuthenticated" in reply.body
    assert not answers(f"{rasa_url}/status")
    with pytest.raises(RasaUnreachable, match="HTTP 401"):
        RasaClient(rasa_url).parse("hello")


def test_a_server_that_is_down_is_unreachable_with_the_reason() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RasaUnreachable, match="Connection refused"):
        RasaClient(url, TOKEN, timeout=2).get("/status")
    assert not wait_until_answers(f"{url}/health", 5, lambda: False)
