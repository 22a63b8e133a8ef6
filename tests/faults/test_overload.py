"""Graceful overload: more customers at once than the assistant can take, and nobody gets an error.

A replica runs in-process with a small BOT_TURNS_IN_FLIGHT against the Rasa stand-in, which is
either slow (every answer takes a while) or held: it keeps each call until the test lets it
answer, so the test decides which turn reaches Rasa when. What is checked: Rasa never has more
turns at once than the bound; the rest wait in line and reach Rasa in the order they came, a
conversation's messages in its own order; a customer whose turn waits is told the assistant is
busy; one whose turn waits past BOT_TURN_WAIT_SECONDS is offered a person instead, and that
turn never reaches Rasa; accepting the offer reaches a person (or the offer to leave a message)
without waiting in line again; no customer ever gets an error frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from aiohttp.test_utils import TestClient

from handoff.assistant.turns import BUSY_NOTICE, BUSY_OFFER, TAKE_OFFER
from handoff.state import app_state
from tests.faults.conftest import ReplicaFactory
from tests.support.clients import Customer, Frame, is_event_from
from tests.support.fake_rasa import FakeRasa
from tests.support.figures import record_figure


def is_busy_notice(frame: Frame) -> bool:
    return frame.get("type") == "event" and frame.get("event") == "assistant_busy"


def errors_of(customer: Customer) -> list[Frame]:
    return [f for f in customer.log.frames if f.get("type") == "error"]


def shed_turns(client: TestClient, rasa: FakeRasa, waited_under: float | None = None) -> float:
    """Turns the replica shed at `rasa` (harbor_bot_turn_wait_seconds), those that waited less
    than `waited_under` seconds if given (a bucket bound of the histogram)."""
    bound = "+Inf" if waited_under is None else str(waited_under)
    labels = {"rasa": rasa.url, "outcome": "shed", "le": bound}
    registry = app_state(client.app).metrics.registry
    return registry.get_sample_value("harbor_bot_turn_wait_seconds_bucket", labels) or 0.0


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Returns once `condition()` holds (polled); AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.01)


async def customers(http: aiohttp.ClientSession, ws_url: str, count: int) -> list[Customer]:
    opened = [Customer(http) for _ in range(count)]
    await asyncio.gather(*(customer.connect(ws_url) for customer in opened))
    return opened


async def test_many_customers_at_once_get_an_answer_or_an_offer_and_rasa_never_more_than_the_bound(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, http: aiohttp.ClientSession
) -> None:
    bound, rasa_seconds, wait_bound, count = 2, 0.5, 1.6, 16
    client = await make_replica(
        bot_turns_in_flight=bound, bot_turn_wait=wait_bound, bot_busy_notice_after=0.3
    )
    fake_rasa.control(delay=rasa_seconds)
    people = await customers(http, f"ws://127.0.0.1:{client.server.port}", count)
    began = time.monotonic()
    await asyncio.gather(*(c.send(f"q{i}", f"question {i}") for i, c in enumerate(people)))
    # Every customer hears back from the assistant: its answer, or the offer of a person.
    replies = await asyncio.gather(*(c.wait_for(is_event_from("bot"), timeout=30) for c in people))
    slowest = time.monotonic() - began
    answered = [c for c, r in zip(people, replies, strict=True) if r["text"].startswith("echo:")]
    offered = [c for c, r in zip(people, replies, strict=True) if r["text"] == BUSY_OFFER]
    assert len(answered) + len(offered) == count, [r["text"] for r in replies]
    # Two at once, half a second each: at most 2 + 2 x 3 are answered before the line's wait
    # bound passes for the rest (fewer on a slow machine), so some are always offered a person.
    assert len(answered) >= bound and offered
    assert fake_rasa.max_in_flight == bound, fake_rasa.stats()
    # What was offered a person never reached Rasa; what was answered did, once.
    answered_texts = [r["text"].removeprefix("echo: ") for r in replies if r["text"] != BUSY_OFFER]
    assert sorted(text for _, text in fake_rasa.received) == sorted(answered_texts)
    for customer in offered:
        # Told the assistant was busy while waiting, before the offer.
        frames = customer.log.frames
        notice = next(i for i, f in enumerate(frames) if is_busy_notice(f))
        offer = next(i for i, f in enumerate(frames) if f.get("text") == BUSY_OFFER)
        assert notice < offer and frames[notice]["text"] == BUSY_NOTICE
        assert frames[offer]["buttons"][0]["payload"] == TAKE_OFFER
    assert not [e for c in people for e in errors_of(c)]
    assert shed_turns(client, fake_rasa) == len(offered)
    setup = (
        f"{count} customers at once, BOT_TURNS_IN_FLIGHT={bound}, Rasa {rasa_seconds} s a turn, "
        f"BOT_TURN_WAIT_SECONDS={wait_bound}"
    )
    record_figure("faults.overload.answered", len(answered), "customers", setup)
    record_figure("faults.overload.offered_a_person", len(offered), "customers", setup)
    record_figure("faults.overload.max_in_flight_at_rasa", fake_rasa.max_in_flight, "turns", setup)
    record_figure("faults.overload.slowest_reply_seconds", slowest, "s", setup)
    record_figure("faults.overload.errors", 0, "frames", setup)
    for customer in people:
        await customer.drop()


async def test_waiting_turns_reach_rasa_in_arrival_order_and_their_customers_are_told(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, http: aiohttp.ClientSession
) -> None:
    bound = 2
    client = await make_replica(
        bot_turns_in_flight=bound, bot_turn_wait=30.0, bot_busy_notice_after=0.2
    )
    line = app_state(client.app).turns.line
    fake_rasa.hold()
    a, b, c, d, e = await customers(http, f"ws://127.0.0.1:{client.server.port}", 5)
    await a.send("a1", "a: first")
    await b.send("b1", "b: first")
    await fake_rasa.calls_reached(bound)
    # Three more, one after the other: each is in line before the next is sent.
    for place, (customer, name) in enumerate(((c, "c"), (d, "d"), (e, "e")), start=1):
        await customer.send(f"{name}1", f"{name}: first")
        await until(lambda place=place: line.waiting(fake_rasa.url) == place, f"{place} in line")
    # C writes again while its first message waits: the second follows the first, behind D
    # and E, who came before it.
    await c.send("c2", "c: second")
    for waiting in (c, d, e):
        notice = await waiting.wait_for(is_busy_notice)
        assert notice["text"] == BUSY_NOTICE and notice["from"] == "system"
    # The three told they wait are in line, not at Rasa.
    assert fake_rasa.calls == bound and fake_rasa.in_flight == bound
    # Rasa answers its oldest call each time; the freed place goes to the oldest turn in line.
    for calls, expected in enumerate(
        ("c: first", "d: first", "e: first", "c: second"), start=bound + 1
    ):
        fake_rasa.release(1)
        await fake_rasa.calls_reached(calls)
        assert fake_rasa.received[-1][1] == expected, fake_rasa.received
        assert fake_rasa.in_flight <= bound
    fake_rasa.release()
    for customer, texts in (
        (a, ["a: first"]),
        (b, ["b: first"]),
        (c, ["c: first", "c: second"]),
        (d, ["d: first"]),
        (e, ["e: first"]),
    ):
        await customer.wait_for(lambda f, last=texts[-1]: f.get("text") == f"echo: {last}")
        answers = [f["text"] for f in customer.log.frames if is_event_from("bot")(f)]
        assert answers == [f"echo: {t}" for t in texts]
        assert not errors_of(customer)
    # A and B went straight to Rasa: nothing told them to wait (their answers are in).
    assert not [f for f in a.log.frames + b.log.frames if is_busy_notice(f)]
    assert fake_rasa.max_in_flight == bound and fake_rasa.max_in_flight_per_sender == 1
    for customer in (a, b, c, d, e):
        await customer.drop()


async def test_a_turn_past_the_wait_bound_is_offered_a_person_and_taking_it_does_not_wait_again(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, http: aiohttp.ClientSession
) -> None:
    client = await make_replica(bot_turns_in_flight=1, bot_turn_wait=1.0, bot_busy_notice_after=0.2)
    fake_rasa.hold()
    first, second = await customers(http, f"ws://127.0.0.1:{client.server.port}", 2)
    await first.send("f1", "the only place")
    await fake_rasa.calls_reached(1)
    await second.send("s1", "waits too long")
    notice = await second.wait_for(is_busy_notice)
    offer = await second.wait_for(is_event_from("bot"))
    assert notice["text"] == BUSY_NOTICE and offer["text"] == BUSY_OFFER
    assert [b["title"] for b in offer["buttons"]] == ["Talk to a person", "Try again later"]
    # The offer came instead of the turn: its message never reached Rasa.
    assert fake_rasa.calls == 1
    # Taking the offer while the only place is still taken: handed on at once, not after
    # another wait. With no agent online that is the offer to leave a message, for this reason.
    await second.send("s2", offer["buttons"][0]["payload"])
    leave = await second.wait_for(lambda f: f.get("event") == "offer_leave_message")
    assert leave["reason"] == "assistant_busy"
    assert fake_rasa.calls == 1
    # Two turns shed: the first after the wait bound, the acceptance without a wait.
    assert shed_turns(client, fake_rasa) == 2
    assert shed_turns(client, fake_rasa, waited_under=0.005) == 1
    fake_rasa.release()
    await first.wait_for(lambda f: f.get("text") == "echo: the only place")
    assert not errors_of(first) and not errors_of(second)
    for customer in (first, second):
        await customer.drop()
