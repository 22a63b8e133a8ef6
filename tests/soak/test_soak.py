"""A soak of the real stack: simulated customers and agents for a while, measuring what they feel.

`make soak` runs it; the defaults are a one-minute smoke run. The full ten-minute runs, at a
message every ~40 s and every ~90 s per customer:

    SOAK_SECONDS=600 SOAK_THINK_SECONDS=40 make soak
    SOAK_SECONDS=600 SOAK_THINK_SECONDS=90 make soak

Customers (SOAK_CUSTOMERS, 500) each chat again and again: FAQ questions, an order check with
verification, or a request for a person, who then talks with them and closes the chat (the
customer rates it). Agents (SOAK_AGENTS, 20) claim from the queue and answer. Between messages
a customer thinks for about SOAK_THINK_SECONDS (90), so the assistant gets roughly
customers / think turns per second (docs/reliability.md has runs at 40 s and 90 s).

When the assistant is busy a customer's message may wait in line (docs/reliability.md,
"Overload"): being told so, or being offered a person instead of an answer, is no error. A
customer offered a person takes the offer, as the widget's button would, and goes on like one
who asked for a person.

Reported: errors (aim 0), bot turns a second, p50/p99 bot-turn latency (to the answer, or the
offer of a person) and relay latency, busy notices and offers (as customers saw them, and the
service's count of turns shed), the machine's load average, and the handoff service's resident
memory at start, after warm-up and at the end.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from handoff.assistant.turns import BUSY_OFFER
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from tests.soak.questions import FAQ
from tests.support.clients import Agent, Customer, is_event_from, is_state, login
from tests.support.figures import record_figure
from tests.support.servers import free_port, rss_kib
from tests.support.stack import ROOT, RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CUSTOMERS = int(os.environ.get("SOAK_CUSTOMERS", "500"))
AGENTS = int(os.environ.get("SOAK_AGENTS", "20"))
THINK = float(os.environ.get("SOAK_THINK_SECONDS", "90"))
# Customers arrive over the first part of the run; memory is sampled once they all have.
RAMP = min(120.0, SECONDS / 4)
WARM_UP = min(180.0, SECONDS / 3)
PASSWORD = "soak test password 1"
TURN_TIMEOUT = 30.0
APOLOGY = "having trouble answering"


def orders() -> list[tuple[str, str]]:
    with (ROOT / "actions" / "data" / "orders.csv").open() as rows:
        return [(row["order_number"], row["email"]) for row in csv.DictReader(rows)][:20]


@dataclass
class Tally:
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    bot_turns: list[float] = field(default_factory=list)
    relay: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    # When an agent or customer message was sent, by its text (unique), for relay latency.
    sent_at: dict[str, float] = field(default_factory=dict)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < 20:
            self.error_examples.append(f"{kind}: {detail[:300]}")


def handoff_pid(stack: RunningStack) -> int:
    for task in Path(f"/proc/{stack.process.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"-m handoff" in cmdline:
                return int(child)
    raise AssertionError("the launcher runs no handoff service")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp("soak-stack"),
        {
            "NLG_PORT": str(free_port()),
            # Every simulated client comes from 127.0.0.1: the per-address limits are for
            # real shops' visitors, not for this load generator.
            "IP_CONNECTIONS_PER_MINUTE": "1000000",
            "CUSTOMER_MESSAGES_PER_MINUTE": "1000",
        },
    )
    yield running
    if running.process.poll() is None:
        stop_stack(running)


async def bot_turn(customer: Customer, tally: Tally, client_id: str, text: str) -> list[Any]:
    start = len(customer.log.frames)
    began = time.monotonic()
    await customer.send(client_id, text, timeout=TURN_TIMEOUT)
    try:
        await customer.log.wait_for(
            lambda f: (
                is_event_from("bot")(f)
                or is_state("queued")(f)
                or f.get("event") == "offer_leave_message"
            ),
            timeout=TURN_TIMEOUT,
            start=start,
        )
    except AssertionError as error:
        tally.error("bot_no_answer", str(error))
        return []
    tally.bot_turns.append(time.monotonic() - began)
    tally.counts["bot_turns"] += 1
    await asyncio.sleep(0.5)  # the rest of this turn's replies
    replies = [f for f in customer.log.frames[start:] if f.get("type") == "event"]
    for reply in replies:
        if APOLOGY in reply.get("text", ""):
            tally.error("bot_unavailable", text)
        if reply.get("event") == "assistant_busy":
            tally.counts["busy_notices"] += 1
        if reply.get("text") == BUSY_OFFER:
            tally.counts["busy_offers"] += 1
    return replies


def offered_a_person(replies: list[Any]) -> bool:
    """The assistant was too busy to answer and offered a person instead."""
    return any(r.get("text") == BUSY_OFFER for r in replies)


async def think() -> None:
    await asyncio.sleep(random.uniform(0.5, 1.5) * THINK)


async def faq_chat(customer: Customer, tally: Tally, n: int, deadline: float) -> None:
    for i, text in enumerate(random.sample(FAQ, 3)):
        if offered_a_person(await bot_turn(customer, tally, f"faq{n}-{i}", text)):
            await escalated_chat(customer, tally, n, deadline)
            return
        await think()


async def order_chat(
    customer: Customer, tally: Tally, n: int, order: tuple[str, str], deadline: float
) -> None:
    replies: list[Any] = []
    for i, text in enumerate(("where is my order?", order[0], order[1])):
        replies = await bot_turn(customer, tally, f"order{n}-{i}", text)
        if offered_a_person(replies):
            await escalated_chat(customer, tally, n, deadline)
            return
        await think()
    if not any(order[0] in r.get("text", "") for r in replies):
        tally.error("order_not_told", str([r.get("text") for r in replies]))


async def escalated_chat(customer: Customer, tally: Tally, n: int, deadline: float) -> None:
    # What the customer types, and the payload of the offer's "Talk to a person" button.
    replies = await bot_turn(customer, tally, f"esc{n}", "I want to talk to a person")
    if not any(is_state("queued")(r) for r in replies):
        try:
            await customer.wait_for(is_state("queued"), timeout=10)
        except AssertionError:
            tally.counts["escalation_unstaffed"] += 1
            return
    tally.counts["escalations"] += 1
    try:
        await customer.wait_for(is_state("assigned"), timeout=max(5.0, deadline - time.monotonic()))
    except AssertionError:
        tally.counts["escalation_still_waiting_at_end"] += 1
        return
    for i in range(2):
        await asyncio.sleep(random.uniform(2, 6))
        text = f"customer {customer.conversation[:8]} says {i}"
        tally.sent_at[text] = time.monotonic()
        await customer.send(f"esc{n}-{i}", text, timeout=TURN_TIMEOUT)
    try:
        await customer.wait_for(is_state("closed"), timeout=120)
    except AssertionError as error:
        tally.error("never_closed", str(error))
        return
    assert customer.ws is not None
    await customer.ws.send_json({"type": "rating", "score": random.randint(3, 5)})
    tally.counts["rated"] += 1


def relay_into(customer: Customer, tally: Tally) -> None:
    """Latency of every agent message this customer received."""
    for frame, arrived in zip(customer.log.frames, customer.log.arrived_at, strict=True):
        if is_event_from("agent")(frame) and frame["text"] in tally.sent_at:
            tally.relay.append(arrived - tally.sent_at.pop(frame["text"]))


async def customer_life(
    http: aiohttp.ClientSession, url: str, tally: Tally, deadline: float, start_in: float
) -> None:
    await asyncio.sleep(start_in)
    n = 0
    order_list = orders()
    while time.monotonic() < deadline:
        n += 1
        customer = Customer(http)
        try:
            await customer.connect(url)
            tally.counts["conversations"] += 1
            roll = random.random()
            if roll < 0.5:
                await faq_chat(customer, tally, n, deadline)
            elif roll < 0.8:
                await order_chat(customer, tally, n, random.choice(order_list), deadline)
            else:
                await escalated_chat(customer, tally, n, deadline)
            relay_into(customer, tally)
            errors = [f for f in customer.log.frames if f.get("type") == "error"]
            for frame in errors:
                tally.error(f"customer_error_{frame.get('code')}", str(frame))
        except (AssertionError, aiohttp.ClientError, ConnectionError) as error:
            tally.error("customer_failed", repr(error))
        finally:
            await customer.drop()
        await think()


async def agent_life(
    http: aiohttp.ClientSession, base: str, agent: Agent, tally: Tally, deadline: float
) -> None:
    name = agent.name
    await agent.connect(base)
    mine: dict[str, int] = {}  # conversation -> customer messages answered
    index = sent = 0
    queue: list[dict[str, Any]] = []
    claiming: set[str] = set()
    capacity = int(agent.hello.get("capacity", 3))
    while time.monotonic() < deadline + 60:
        await asyncio.sleep(0.2)
        if agent.log.closed:
            tally.error("agent_socket_closed", name)
            await agent.connect(base)
            index = 0
        first = index
        frames = agent.log.frames[first:]
        index += len(frames)
        for offset, frame in enumerate(frames):
            kind = frame["type"]
            if kind == "queue":
                queue = frame["items"]
            elif kind == "claimed":
                mine[frame["conversation"]] = 0
                claiming.discard(frame["conversation"])
                tally.counts["claims_won"] += 1
            elif kind == "claim_failed":
                claiming.discard(frame["conversation"])
                tally.counts["claims_lost"] += 1
            elif kind == "error":
                tally.error(f"agent_error_{frame.get('code')}", str(frame))
            elif kind == "event" and frame.get("conversation") in mine:
                text = frame.get("text", "")
                if frame.get("from") == "customer" and text in tally.sent_at:
                    arrived = agent.log.arrived_at[first + offset]
                    tally.relay.append(arrived - tally.sent_at.pop(text))
                    cid = frame["conversation"]
                    mine[cid] += 1
                    reply = f"agent {name} answers {text}"
                    tally.sent_at[reply] = time.monotonic()
                    sent += 1
                    await agent.send(
                        {"type": "message", "conversation": cid, "id": f"r{sent}", "text": reply}
                    )
                    if mine[cid] >= 2:
                        await asyncio.sleep(1.0)
                        await agent.send({"type": "close", "conversation": cid, "notes": "soak"})
                        mine.pop(cid)
                        tally.counts["closed"] += 1
        if time.monotonic() < deadline and len(mine) + len(claiming) < capacity and queue:
            choice = random.choice(queue[:3])["conversation"]
            if choice not in claiming and choice not in mine:
                claiming.add(choice)
                await agent.send({"type": "claim", "conversation": choice})
    await agent.drop()


async def sample_load(deadline: float, samples: list[float]) -> None:
    """The machine's one-minute load average every 10 s (the soak shares the machine)."""
    while time.monotonic() < deadline:
        samples.append(os.getloadavg()[0])
        await asyncio.sleep(10)


async def service_counts(http: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """The service's own count of bot turns shed and of waits in line (its /metrics)."""
    async with http.get(f"{base}/metrics") as response:
        text = await response.text()
    counts = {"shed": 0.0, "waited": 0.0, "waited_over_2s": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "harbor_bot_turns_shed_total":
                counts["shed"] += sample.value
            elif sample.name == "harbor_bot_turn_wait_seconds_count":
                counts["waited"] += sample.value
            elif sample.name == "harbor_bot_turn_wait_seconds_bucket" and sample.labels.get(
                "le"
            ) in {"2.0", "+Inf"}:
                sign = 1 if sample.labels["le"] == "+Inf" else -1
                counts["waited_over_2s"] += sign * sample.value
    return counts


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def soak(stack: RunningStack) -> tuple[Tally, dict[str, int], dict[str, float]]:
    redis = Redis.from_url(
        f"redis://127.0.0.1:{stack.ports['PRIVATE_REDIS_PORT']}/0", decode_responses=True
    )
    accounts = Accounts(redis, Keys("ha"))
    names = [f"soak-agent-{i}" for i in range(AGENTS)]
    for name in names:
        await accounts.create(name, PASSWORD, display_name=f"Agent {name[-2:]}", capacity=3)
    await redis.aclose()
    pid = handoff_pid(stack)
    memory = {"start": rss_kib(pid)}
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    ws_url = stack.url.replace("http://", "ws://")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:

        async def sample_after_warm_up() -> None:
            await asyncio.sleep(WARM_UP)
            memory["warm"] = rss_kib(pid)

        # One after the other, as people arrive at work: logins from one address are limited.
        consoles = []
        for name in names:
            body = await login(http, name, PASSWORD, base_url=stack.url)
            consoles.append(Agent(http, name, body["sid"]))
        agents = [agent_life(http, ws_url, agent, tally, deadline) for agent in consoles]
        customers = [
            customer_life(http, ws_url, tally, deadline, RAMP * i / CUSTOMERS)
            for i in range(CUSTOMERS)
        ]
        load: list[float] = []
        await asyncio.gather(
            sample_after_warm_up(), sample_load(deadline, load), *agents, *customers
        )
        service = await service_counts(http, stack.url)
    memory["end"] = rss_kib(pid)
    service["load_mean"] = statistics.mean(load) if load else float("nan")
    service["load_max"] = max(load, default=float("nan"))
    return tally, memory, service


# The run itself, the stragglers' last chats, and the stack's start-up on a busy machine.
@pytest.mark.timeout(SECONDS + 900)
def test_soak_customers_and_agents_on_the_real_stack(stack: RunningStack) -> None:
    tally, memory, service = asyncio.run(soak(stack))
    setup = f"{CUSTOMERS} customers, {AGENTS} agents, {SECONDS:.0f} s, think ~{THINK:.0f} s"
    errors = sum(tally.errors.values())
    p50, p99 = (percentile(tally.bot_turns, q) * 1000 for q in (0.5, 0.99))
    record_figure("soak.errors", errors, "errors", setup)
    record_figure("soak.conversations", tally.counts["conversations"], "conversations", setup)
    record_figure("soak.bot_turns", len(tally.bot_turns), "turns", setup)
    record_figure("soak.bot_turns_per_second", len(tally.bot_turns) / SECONDS, "turns/s", setup)
    record_figure("soak.bot_turn_p50", p50, "ms", setup)
    record_figure("soak.bot_turn_p99", p99, "ms", setup)
    record_figure("soak.busy_notices", tally.counts["busy_notices"], "turns", setup)
    record_figure("soak.offered_a_person_busy", tally.counts["busy_offers"], "turns", setup)
    record_figure("soak.service_turns_shed", service["shed"], "turns", setup)
    record_figure("soak.service_turns_waited_over_2s", service["waited_over_2s"], "turns", setup)
    record_figure("soak.load_average_mean", service["load_mean"], "load", setup)
    record_figure("soak.load_average_max", service["load_max"], "load", setup)
    record_figure("soak.relayed", len(tally.relay), "messages", setup)
    record_figure("soak.relay_p50", percentile(tally.relay, 0.5) * 1000, "ms", setup)
    record_figure("soak.relay_p99", percentile(tally.relay, 0.99) * 1000, "ms", setup)
    record_figure("soak.escalations", tally.counts["escalations"], "chats", setup)
    record_figure("soak.closed_by_agents", tally.counts["closed"], "chats", setup)
    for moment in ("start", "warm", "end"):
        record_figure(f"soak.handoff_rss_{moment}", memory[moment] / 1024, "MiB", setup)
    print(
        f"soak ({setup}): {errors} errors; {len(tally.bot_turns) / SECONDS:.1f} bot turns/s, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; {tally.counts['busy_notices']} busy notices, "
        f"{tally.counts['busy_offers']} offered a person instead of an answer "
        f"(service: {service['shed']:.0f} shed); load average {service['load_mean']:.1f} "
        f"mean, {service['load_max']:.1f} max"
    )
    print("counts:", dict(tally.counts))
    print("errors:", dict(tally.errors))
    print("\n".join(tally.error_examples))
    if tally.bot_turns:
        print(f"bot turn mean {statistics.mean(tally.bot_turns):.3f} s")
    assert tally.counts["bot_turns"] > 0 and tally.relay, dict(tally.counts)
    assert errors == 0, dict(tally.errors)
    # No growth after warm-up: allow a little for allocator noise.
    assert memory["end"] <= memory["warm"] * 1.15 + 10 * 1024, memory
