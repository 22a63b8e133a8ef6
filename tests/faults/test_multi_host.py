"""Several hosts: a replica cut off from Redis, then from its clients, on a network of its own.

The test builds its hosts with network namespaces (tests/support/hosts.py):

    backend 10.77.1.0/24                       frontend 10.77.2.0/24
    redis      .1   redis-server, Rasa stand-in
    replica-a  .11  python -m handoff ───────  .11  (HANDOFF_HOST)
    replica-b  .12  python -m handoff ───────  .12
                                               .31  customers (4 widgets, one program)
                                               .41  agents (2 consoles, one program)

Customers on replica A: one with the assistant, one queued, one with an agent on A (Ann), one
with an agent on B (Ben); messages flow every way. Then A's port on the backend switch goes down
(silently: no reset, no close): A's customers and Ann get `unavailable` for what they write,
while Ben's message to his customer is stored by B and cannot reach the customer through A.
Then A's frontend port goes down too: the clients hear no pong, give A up, and resume on B with
their resume token (or session) and the last entry they showed. Nothing is missed: each party's
view of each conversation is its transcript in Redis, in order, each entry once; every message
acknowledged before the cut is there once, and every message refused during it was resent
under its id and stored once. Finally A's links are mended, and A serves a new chat again, its
answer delivered live (A's hub replaced the subscription that went silent during the cut).

Every wait is on a frame or a report arriving, each with a bound.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from handoff.conversations.keys import Keys
from tests.faults.conftest import FAST_ENV, PASSWORD
from tests.support.figures import record_figure
from tests.support.hosts import Host, Lab, netns_refusal
from tests.support.parties import Parties, Report
from tests.support.servers import APP_PYTHON, ROOT, wait_for_http

REFUSAL = netns_refusal()
pytestmark = pytest.mark.skipif(
    REFUSAL is not None, reason=f"cannot build test hosts (network namespaces): {REFUSAL}"
)

REDIS_ADDRESS, REDIS_PORT, RASA_PORT, HANDOFF_PORT = "10.77.1.1", 6379, 5005, 8080
# Redis answers other hosts only with a password (protected mode refuses them otherwise).
REDIS_PASSWORD = "multi-host-test-redis"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@{REDIS_ADDRESS}:{REDIS_PORT}/0"
# An agent keeps their chats while they move: the grace period outlasts the test's cuts.
GRACE_SECONDS = 30
# The storage deadline (4 x REDIS_TIMEOUT_SECONDS) and a busy machine's margin.
UNAVAILABLE_WITHIN = 4 * float(FAST_ENV["REDIS_TIMEOUT_SECONDS"]) + 4
# A widget gives a silent replica up after 2 s without a pong, a console after 5 s.
MOVED_WITHIN = 15.0

RASA = (
    "import sys; from aiohttp import web; from tests.support.fake_rasa import FakeRasa; "
    "web.run_app(FakeRasa.scripted('handoff_on_human').app(), host=sys.argv[1], "
    "port=int(sys.argv[2]), access_log=None)"
)


def _listening(address: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _transcript(cid: str) -> list[tuple[str, dict[str, str]]]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        entries: Any = client.xrange(Keys("ha").log(cid))
        return [(str(entry_id), dict(fields)) for entry_id, fields in entries]
    finally:
        client.close()


@dataclass
class Site:
    lab: Lab
    folder: Path
    redis: Host
    a: Host
    b: Host
    customers: Parties
    agents: Parties

    def url(self, replica: Host) -> str:
        return f"http://{replica.address('frontend')}:{HANDOFF_PORT}"

    def start_replica(self, replica: Host) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            {
                **FAST_ENV,
                "REDIS_URL": REDIS_URL,
                "RASA_URLS": f"http://{REDIS_ADDRESS}:{RASA_PORT}",
                "HANDOFF_HOST": replica.address("frontend"),
                "HANDOFF_PORT": str(HANDOFF_PORT),
                "HARBOR_VAR_DIR": str(self.folder / replica.name),
                "AGENT_GRACE_SECONDS": str(GRACE_SECONDS),
                "PYTHONUNBUFFERED": "1",
            }
        )
        (self.folder / replica.name).mkdir()
        log = (self.folder / f"{replica.name}.log").open("ab")
        replica.popen([str(APP_PYTHON), "-m", "handoff"], cwd=ROOT, env=env, stdout=log, stderr=log)

    async def transcript(self, cid: str) -> list[tuple[str, dict[str, str]]]:
        return await asyncio.to_thread(self.redis.call, _transcript, cid)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    lab = Lab()
    parties: list[Parties] = []
    try:
        lab.network("backend")
        lab.network("frontend")
        store = lab.host("redis", backend=REDIS_ADDRESS)
        a = lab.host("replica-a", backend="10.77.1.11", frontend="10.77.2.11")
        b = lab.host("replica-b", backend="10.77.1.12", frontend="10.77.2.12")
        customers_host = lab.host("customers", frontend="10.77.2.31")
        agents_host = lab.host("agents", frontend="10.77.2.41")
        (tmp_path / "redis").mkdir()
        store.popen(
            [
                "redis-server", "--bind", REDIS_ADDRESS, "--port", str(REDIS_PORT),
                "--dir", str(tmp_path / "redis"), "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--requirepass", REDIS_PASSWORD,
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        rasa_log = (tmp_path / "rasa.log").open("ab")
        store.popen(
            [str(APP_PYTHON), "-c", RASA, REDIS_ADDRESS, str(RASA_PORT)],
            cwd=ROOT,
            stdout=rasa_log,
            stderr=rasa_log,
        )
        await asyncio.to_thread(store.call, _listening, REDIS_ADDRESS, REDIS_PORT, 10.0)
        for user in ("ann", "ben"):
            store.run(
                [str(APP_PYTHON), "-m", "handoff.console.accounts", "add", user,
                 "--display-name", user.title(), "--password-stdin"],
                cwd=ROOT, input=PASSWORD,
                env={**os.environ, "REDIS_URL": REDIS_URL},
            )  # fmt: skip
        site = Site(lab, tmp_path, store, a, b, None, None)  # type: ignore[arg-type]
        for replica in (a, b):
            site.start_replica(replica)
        for replica in (a, b):
            process = lab.processes[-2 if replica is a else -1]
            await asyncio.to_thread(
                customers_host.call, wait_for_http, site.url(replica) + "/livez", 60.0, process
            )
        site.customers = Parties(customers_host, APP_PYTHON, ROOT, tmp_path / "customers.log")
        site.agents = Parties(agents_host, APP_PYTHON, ROOT, tmp_path / "agents.log")
        parties += [site.customers, site.agents]
        for each in parties:
            await each.wait_for(lambda r: r["kind"] == "ready", timeout=20)
        yield site
    finally:
        for each in parties:
            await each.close()
        lab.close()


def is_connected_to(who: str, url: str) -> Any:
    return lambda r: r["who"] == who and r["kind"] == "connected" and r["replica"] == url


def is_error(code: str, client_id: str) -> Any:
    return lambda f: f.get("type") == "error" and f.get("code") == code and f.get("id") == client_id


def is_claim_answer(cid: str) -> Any:
    return lambda f: f.get("conversation") == cid and f["type"] in {"claimed", "claim_failed"}


def is_ack(client_id: str) -> Any:
    return lambda f: f.get("type") == "ack" and f.get("id") == client_id


def is_text(text: str, cid: str | None = None) -> Any:
    return lambda f: (
        f.get("type") == "event"
        and f.get("text") == text
        and (cid is None or f.get("conversation") == cid)
    )


def since(report: Report, moment: float) -> float:
    return round(float(report["at"]) - moment, 3)


async def test_a_replica_cut_off_from_redis_then_from_its_clients_loses_nothing(
    site: Site,
) -> None:
    customers, agents = site.customers, site.agents
    url_a, url_b = site.url(site.a), site.url(site.b)

    # --- before: every kind of chat on replica A, messages flowing every way ---------------
    agents.do("agent", "ann", replicas=[url_a, url_b], user="ann", password=PASSWORD)
    agents.do("agent", "ben", replicas=[url_b, url_a], user="ben", password=PASSWORD)
    for who in ("ann", "ben"):
        await agents.frame(who, lambda f: f.get("type") == "presence", timeout=15)
    cid: dict[str, str] = {}
    chats = ("bot", "queued", "with_ann", "with_ben")
    for who in chats:
        customers.do("customer", who, replicas=[url_a, url_b])
    for who in chats:
        connected = await customers.wait_for(is_connected_to(who, url_a), timeout=15)
        cid[who] = connected["frame"]["conversation"]
    sent: dict[str, list[str]] = {who: [] for who in chats}  # client ids, in the order written

    def send(who: str, client_id: str, text: str) -> None:
        sent[who].append(client_id)
        customers.do("send", who, id=client_id, text=text)

    for i in range(3):
        send("bot", f"bot-{i}", f"question {i}")
        await customers.frame("bot", is_text(f"echo: question {i}"), timeout=15)
    for who in ("queued", "with_ann", "with_ben"):
        send(who, f"{who}-human", "a human please")
        await customers.frame(
            who, lambda f: f.get("event") == "state" and f.get("state") == "queued", timeout=15
        )
    for agent, who in (("ann", "with_ann"), ("ben", "with_ben")):
        agents.do("claim", agent, conversation=cid[who])
        claimed = await agents.frame(agent, is_claim_answer(cid[who]), timeout=15)
        assert claimed["frame"]["type"] == "claimed", claimed
        send(who, f"{who}-hello", f"hello {agent}")
        await agents.frame(agent, is_text(f"hello {agent}", cid[who]), timeout=15)
        agents.do("say", agent, conversation=cid[who], id=f"{agent}-hi", text=f"{agent} here")
        await customers.frame(who, is_text(f"{agent} here"), timeout=15)
    send("queued", "queued-still", "still waiting")
    await customers.frame("queued", is_ack("queued-still"), timeout=15)
    acked_before = {
        r["frame"]["id"]: r["frame"]["entry"]
        for r in customers.reports
        if r["kind"] == "frame" and r["frame"].get("type") == "ack"
    }

    # --- A loses Redis: its customers and its agent are refused, and resend ----------------
    customers_mark, agents_mark = len(customers.reports), len(agents.reports)
    redis_cut = time.monotonic()
    site.lab.cut(site.a, "backend")
    for who in chats:
        send(who, f"{who}-during", f"{who} during the cut")
    agents.do("say", "ann", conversation=cid["with_ann"], id="ann-during", text="ann during")
    agents.do("say", "ben", conversation=cid["with_ben"], id="ben-during", text="ben during")
    refused_after = {}
    first_refusal: dict[str, Report] = {}
    for who in chats:
        first_refusal[who] = await customers.frame(
            who, is_error("unavailable", f"{who}-during"), UNAVAILABLE_WITHIN, customers_mark
        )
        refused_after[who] = since(first_refusal[who], redis_cut)
    refused = await agents.frame(
        "ann", is_error("unavailable", "ann-during"), UNAVAILABLE_WITHIN, agents_mark
    )
    refused_after["ann"] = since(refused, redis_cut)
    # Ben's replica still reaches Redis: his message is stored, but A cannot deliver it.
    await agents.frame("ben", is_ack("ben-during"), timeout=10, start=agents_mark)
    # Resent and refused again while the customers still reach A (no ack from A, ever).
    for who in chats:
        after_first = customers.reports.index(first_refusal[who]) + 1
        await customers.frame(
            who, is_error("unavailable", f"{who}-during"), UNAVAILABLE_WITHIN, after_first
        )
    assert not any(
        r["kind"] == "frame" and r["frame"].get("type") == "ack"
        for r in customers.reports[customers_mark:]
    ), "replica A acknowledged a message without Redis"

    # --- A loses its clients too: they give it up and resume on B --------------------------
    customers_cut = len(customers.reports)
    clients_cut = time.monotonic()
    site.lab.cut(site.a, "frontend")
    moved_after = {}
    for who in chats:
        moved = await customers.wait_for(is_connected_to(who, url_b), MOVED_WITHIN, customers_cut)
        moved_after[who] = since(moved, clients_cut)
    moved = await agents.wait_for(is_connected_to("ann", url_b), MOVED_WITHIN, agents_mark)
    # Her console may have left A already: A answers its pings with `unavailable` (the
    # session is checked in Redis), and it gives up a replica after 5 s without a pong.
    console_moved = since(moved, redis_cut)
    assert cid["with_ann"] in moved["frame"]["active"], moved["frame"]

    acked_after = {}
    for who in chats:
        ack = await customers.frame(who, is_ack(f"{who}-during"), timeout=15, start=customers_cut)
        acked_after[who] = since(ack, clients_cut)
    await agents.frame("ann", is_ack("ann-during"), timeout=15, start=agents_mark)
    # What was written during the cut reaches the other side once everyone is on B.
    await customers.frame("bot", is_text("echo: bot during the cut"), timeout=20)
    await customers.frame("with_ann", is_text("ann during"), timeout=15)
    await customers.frame("with_ben", is_text("ben during"), timeout=15)
    await agents.frame("ann", is_text("with_ann during the cut", cid["with_ann"]), timeout=15)
    await agents.frame("ben", is_text("with_ben during the cut", cid["with_ben"]), timeout=15)
    welcome_on_b = {
        who: next(
            r["frame"]
            for r in customers.reports[customers_cut:]
            if is_connected_to(who, url_b)(r)
        )
        for who in chats
    }  # fmt: skip
    assert welcome_on_b["queued"]["state"] == "queued"
    assert welcome_on_b["with_ann"]["state"] == welcome_on_b["with_ben"]["state"] == "assigned"

    # A barrier instead of a pause before comparing: one more message each way, and
    # everything sent before it has been delivered once it has arrived.
    send("bot", "bot-last", "last question")
    await customers.frame("bot", is_text("echo: last question"), timeout=20)
    send("queued", "queued-last", "still here")
    await customers.frame("queued", lambda f: f.get("client_id") == "queued-last", timeout=15)
    for agent, who in (("ann", "with_ann"), ("ben", "with_ben")):
        send(who, f"{who}-last", "thanks")
        await agents.frame(agent, is_text("thanks", cid[who]), timeout=15)
        agents.do("say", agent, conversation=cid[who], id=f"{agent}-last", text="bye")
        await customers.frame(who, is_text("bye"), timeout=15)
    # Each last message acknowledged to its sender too: `pending` below is what a party sent
    # and has not seen acknowledged, and the other side showing a message does not mean its
    # sender has the ack yet (a fresh-clone run read Ben's "bye" as pending).
    for who in chats:
        await customers.frame(who, is_ack(f"{who}-last"), timeout=15)
    for agent in ("ann", "ben"):
        await agents.frame(agent, is_ack(f"{agent}-last"), timeout=15)

    # --- nothing missed, nothing twice, in order --------------------------------------------
    missed = duplicated = 0
    for who in chats:
        view = await customers.view(who)
        stored = await site.transcript(cid[who])
        ids = [entry_id for entry_id, _ in stored]
        shown = view["shown"][cid[who]]
        missed += len(set(ids) - set(shown))
        duplicated += len(view["duplicates"]) + len(shown) - len(set(shown))
        assert shown == ids, who
        assert view["pending"] == []
        written = [f["client_id"] for _, f in stored if f.get("from") == "customer"]
        assert written == sent[who], who  # each once, in the order written
        for client_id in sent[who]:
            if client_id in acked_before:
                assert dict(stored)[acked_before[client_id]]["client_id"] == client_id
    for agent, who in (("ann", "with_ann"), ("ben", "with_ben")):
        view = await agents.view(agent)
        ids = [entry_id for entry_id, _ in await site.transcript(cid[who])]
        shown = view["shown"][cid[who]]
        missed += len(set(ids) - set(shown))
        duplicated += len(view["duplicates"]) + len(shown) - len(set(shown))
        assert shown == ids, agent
        assert view["pending"] == []

    # --- A, mended, serves again ------------------------------------------------------------
    site.lab.mend(site.a, "backend")
    site.lab.mend(site.a, "frontend")
    mended = time.monotonic()
    mark = len(customers.reports)
    customers.do("customer", "later", replicas=[url_a])
    await customers.wait_for(is_connected_to("later", url_a), timeout=20, start=mark)
    customers.do("send", "later", id="later-1", text="anyone?")
    acked = await customers.frame("later", is_ack("later-1"), timeout=20, start=mark)
    answered = await customers.frame("later", is_text("echo: anyone?"), timeout=25, start=mark)
    # Delivered on the live channel's hint, not at the socket's periodic resync (20 s): A's
    # hub subscribed again when its old subscription went silent (conversations/hints.py).
    # Before that check it waited for TCP to retransmit on the old one: 4.7 s here.
    assert since(answered, float(acked["at"])) < 3.0

    note = "A cut from Redis, then from its clients (network namespaces, silent drops)"
    record_figure("faults.multi_host.entries_missed", missed, "entries", note)
    record_figure("faults.multi_host.entries_duplicated", duplicated, "entries", note)
    record_figure(
        "faults.multi_host.max_unavailable_seconds",
        max(refused_after.values()),
        "s",
        "Redis cut to the first `unavailable`, 4 customers and an agent on A",
    )
    record_figure(
        "faults.multi_host.max_resume_seconds",
        max(moved_after.values()),
        "s",
        "clients cut to the widgets' welcome on B (a widget gives up after 2 s without a pong)",
    )
    record_figure(
        "faults.multi_host.console_moved_seconds",
        console_moved,
        "s",
        "Redis cut to the agent's console on B (no pong from A for 5 s, or A cut)",
    )
    record_figure(
        "faults.multi_host.max_resent_acked_seconds",
        max(acked_after.values()),
        "s",
        "clients cut to the ack on B of the message A refused",
    )
    record_figure(
        "faults.multi_host.mended_answer_seconds",
        since(answered, mended),
        "s",
        "A's links mended to a new chat answered on A (connect, hello, message, bot turn)",
    )
    record_figure(
        "faults.multi_host.mended_ack_to_answer_seconds",
        since(answered, float(acked["at"])),
        "s",
        "on A after the mend: the message's ack to the assistant's answer on the socket",
    )
    assert missed == 0 and duplicated == 0
