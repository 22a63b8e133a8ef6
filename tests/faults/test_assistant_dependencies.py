"""The real assistant with a broken dependency: the order database slow (beyond its timeout)
or down, the action server hung, Rasa hung. Every customer turn still gets an answer within a
bounded time, and a person is offered.

The whole stack is the session's real one (tests/conftest.py: the launcher, real Rasa and
model, real action server, real Redis). Its order database is PostgreSQL by URL, pointed at a
port the tests control: a listener that accepts and never answers (slow), then nothing at all
(down). A hung process is a SIGSTOPped one, continued afterwards: the launcher stops the whole
stack when one of its children exits, by design.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.clients import Customer, is_event_from
from tests.support.figures import record_figure
from tests.support.stack import (
    BOT_TURN_TIMEOUT,
    ORDERS_DB_TIMEOUT,
    RunningStack,
    SilentDatabase,
)

# Starting the real stack (loading Rasa's model) takes minutes on a busy small machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ORDER = ("where is my order?", "HG-10001", "ivan.silva21@example.com")


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


def offers_a_person(reply: dict[str, Any]) -> bool:
    return "person" in reply.get("text", "").lower() or any(
        "person" in b.get("title", "").lower() for b in reply.get("buttons", [])
    )


def is_offer(frame: dict[str, Any]) -> bool:
    return is_event_from("bot")(frame) and offers_a_person(frame)


async def order_check(
    stack: RunningStack, label: str, messages: tuple[str, ...] = ORDER
) -> tuple[float, list[dict[str, Any]]]:
    """A customer checks an order (or sends the first `messages` of it); returns the slowest
    first answer of a turn and the last turn's replies up to the offer of a person it must end
    with."""
    async with aiohttp.ClientSession() as http:
        customer = Customer(http)
        await customer.connect(stack.url.replace("http://", "ws://"))
        worst = 0.0
        start = 0
        for i, text in enumerate(messages):
            start = len(customer.log.frames)
            began = time.monotonic()
            await customer.send(f"{label}-{i}", text)
            await customer.log.wait_for(is_event_from("bot"), timeout=60, start=start)
            worst = max(worst, time.monotonic() - began)
        # The turn is read up to its offer of a person (a bounded wait for a reply, not a pause);
        # without one, wait_for fails with the frames that came instead.
        await customer.log.wait_for(
            is_offer, timeout=ORDERS_DB_TIMEOUT + BOT_TURN_TIMEOUT + 10, start=start
        )
        replies = [f for f in customer.log.frames[start:] if is_event_from("bot")(f)]
        await customer.drop()
    return worst, replies


def test_a_slow_then_down_order_database_gets_an_apology_and_an_offer(
    stack: RunningStack, orders_database: SilentDatabase
) -> None:
    for case in ("slow", "down"):
        if case == "down":
            orders_database.stop()
        worst, replies = asyncio.run(order_check(stack, f"db-{case}"))
        texts = " ".join(r["text"] for r in replies)
        assert "can't reach our order system" in texts, replies
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
    # A hung action server shows only on the form's steps, so the customer goes through all of
    # them; with Rasa hung every turn takes the same path (the turn's deadline, then the offer),
    # so one turn proves it and the suite does not wait out the deadline three times.
    messages = ORDER if part == "actions" else ORDER[:1]
    os.kill(pid, signal.SIGSTOP)
    try:
        worst, replies = asyncio.run(order_check(stack, f"{part}-hung", messages))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert any(offers_a_person(r) for r in replies), replies
    record_figure(
        f"faults.{part}_hung.max_answer_seconds",
        worst,
        "s",
        f"real stack, {part} SIGSTOPped, BOT_TURN_TIMEOUT_SECONDS={BOT_TURN_TIMEOUT:.0f}",
    )
    assert worst < BOT_TURN_TIMEOUT + 2.0
