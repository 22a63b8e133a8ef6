"""The real assistant with a broken dependency: the order database slow (beyond its timeout)
or down, the action server hung, Rasa hung. Every customer turn still gets an answer within a
bounded time, and a person is offered.

The whole stack is started by the launcher (real Rasa and model, real action server, real
Redis). The order database is PostgreSQL by URL, pointed at a port this test controls: a
listener that accepts and never answers (slow), then nothing at all (down). A hung process is
a SIGSTOPped one: the launcher stops the whole stack when one of its children exits, by design.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.support.clients import Customer, is_event_from
from tests.support.figures import record_figure
from tests.support.servers import free_port

# Starting the real stack (loading Rasa's model) takes minutes on a busy small machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ORDERS_DB_TIMEOUT = 2.0
BOT_TURN_TIMEOUT = 6.0
ORDER = ("where is my order?", "HG-10001", "ivan.silva21@example.com")


class SilentDatabase:
    """A TCP port that accepts connections and never says a word (a database that hangs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.held: list[socket.socket] = []
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        listener = self.listener
        assert listener is not None
        # Ends when stop() closes the listener (accept then raises OSError).
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                self.held.append(connection)

    def stop(self) -> None:
        """From now on the port refuses connections (a database that is down)."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for connection in self.held:
            connection.close()


def child_pid(stack: RunningStack, marker: str) -> int:
    """The pid of the launcher's child whose command line contains `marker`."""
    pid = stack.process.pid
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    for child in children:
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if marker in cmdline:
            return child
    raise AssertionError(f"no child of the launcher runs {marker!r}")


@pytest.fixture(scope="module")
def database() -> Iterator[SilentDatabase]:
    silent = SilentDatabase()
    silent.start()
    yield silent
    silent.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, database: SilentDatabase
) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp("faults-stack"),
        {
            "NLG_PORT": str(free_port()),
            "ORDERS_DATABASE_URL": (
                f"postgresql+psycopg2://shop:shop@127.0.0.1:{database.port}/orders"
            ),
            "ORDERS_DB_TIMEOUT_SECONDS": str(ORDERS_DB_TIMEOUT),
            "BOT_TURN_TIMEOUT_SECONDS": str(BOT_TURN_TIMEOUT),
        },
    )
    yield running
    if running.process.poll() is None:
        stop_stack(running)


async def turn(customer: Customer, client_id: str, text: str) -> tuple[float, list[dict[str, Any]]]:
    """Send one message; (seconds to the first answer, every bot reply of the turn)."""
    start = len(customer.log.frames)
    began = time.monotonic()
    await customer.send(client_id, text)
    await customer.log.wait_for(is_event_from("bot"), timeout=60, start=start)
    seconds = time.monotonic() - began
    await asyncio.sleep(1.0)  # the rest of the turn's replies
    return seconds, [f for f in customer.log.frames[start:] if is_event_from("bot")(f)]


def offers_a_person(replies: list[dict[str, Any]]) -> bool:
    return any(
        "person" in r.get("text", "").lower()
        or any("person" in b.get("title", "").lower() for b in r.get("buttons", []))
        for r in replies
    )


async def order_check(stack: RunningStack, label: str) -> tuple[float, list[dict[str, Any]]]:
    """A customer checks an order; returns the slowest answer and the last turn's replies."""
    async with aiohttp.ClientSession() as http:
        customer = Customer(http)
        await customer.connect(stack.url.replace("http://", "ws://"))
        worst = 0.0
        replies: list[dict[str, Any]] = []
        for i, text in enumerate(ORDER):
            seconds, replies = await turn(customer, f"{label}-{i}", text)
            worst = max(worst, seconds)
        await customer.drop()
    return worst, replies


def test_a_slow_then_down_order_database_gets_an_apology_and_an_offer(
    stack: RunningStack, database: SilentDatabase
) -> None:
    for case in ("slow", "down"):
        if case == "down":
            database.stop()
        worst, replies = asyncio.run(order_check(stack, f"db-{case}"))
        texts = " ".join(r["text"] for r in replies)
        assert "can't reach our order system" in texts, replies
        assert offers_a_person(replies), replies
        record_figure(
            f"faults.orders_db_{case}.max_answer_seconds",
            worst,
            "s",
            f"real stack, order check, ORDERS_DB_TIMEOUT_SECONDS={ORDERS_DB_TIMEOUT:.0f}",
        )
        assert worst < ORDERS_DB_TIMEOUT + BOT_TURN_TIMEOUT


@pytest.mark.parametrize("part", ["actions", "rasa"])
def test_a_hung_assistant_part_still_gets_every_turn_an_answer(
    stack: RunningStack, part: str
) -> None:
    pid = child_pid(stack, {"actions": "run actions", "rasa": "--enable-api"}[part])
    os.kill(pid, signal.SIGSTOP)
    try:
        worst, replies = asyncio.run(order_check(stack, f"{part}-hung"))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert offers_a_person(replies), replies
    record_figure(
        f"faults.{part}_hung.max_answer_seconds",
        worst,
        "s",
        f"real stack, {part} SIGSTOPped, BOT_TURN_TIMEOUT_SECONDS={BOT_TURN_TIMEOUT:.0f}",
    )
    assert worst < BOT_TURN_TIMEOUT + 2.0
