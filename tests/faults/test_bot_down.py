"""Rasa refusing, failing or hanging: each customer turn still gets an answer within
BOT_TURN_TIMEOUT_SECONDS, the message stays in the transcript, and a person is offered."""

from __future__ import annotations

import time

import aiohttp

from tests.faults.conftest import ClusterFactory, agent_on
from tests.support.clients import Customer, is_event_from
from tests.support.figures import record_figure

# The cluster's BOT_TURN_TIMEOUT_SECONDS: every answer must come within it (plus slack), and
# each turn to a hanging Rasa takes all of it.
BOT_TURN_TIMEOUT = 1.0


async def answer_time(customer: Customer, client_id: str, text: str) -> tuple[float, dict]:
    start = len(customer.log.frames)
    began = time.monotonic()
    await customer.send(client_id, text)
    reply = await customer.log.wait_for(is_event_from("bot"), timeout=30, start=start)
    return time.monotonic() - began, reply


def offers_a_person(reply: dict) -> bool:
    titles = [b.get("title", "") for b in reply.get("buttons", [])]
    return any("person" in t.lower() for t in titles)


async def test_every_turn_is_answered_in_bounded_time_whatever_rasa_does(
    make_cluster: ClusterFactory, http: aiohttp.ClientSession
) -> None:
    cluster = make_cluster(replicas=1, BOT_TURN_TIMEOUT_SECONDS=str(BOT_TURN_TIMEOUT))
    (name,) = await cluster.add_agents(1)
    agent = await agent_on(http, cluster.replicas[0], name)
    customer = Customer(http)
    await customer.connect(cluster.replicas[0].ws_url)
    seconds, reply = await answer_time(customer, "ok", "hello")
    assert reply["text"] == "echo: hello"
    answers: dict[str, float] = {}
    for case, setup in (
        ("failing", lambda: cluster.rasa.control(status=500)),
        ("hanging", lambda: cluster.rasa.control(status=200, delay=BOT_TURN_TIMEOUT * 5)),
        ("down", cluster.rasa.kill),
    ):
        setup()
        worst = 0.0
        for i in range(3):
            seconds, reply = await answer_time(customer, f"{case}-{i}", f"{case} question {i}")
            worst = max(worst, seconds)
            assert offers_a_person(reply), reply
            assert "saved" in reply["text"]
        answers[case] = worst
        record_figure(
            f"faults.rasa_{case}.max_answer_seconds",
            worst,
            "s",
            f"Rasa {case}, BOT_TURN_TIMEOUT_SECONDS={BOT_TURN_TIMEOUT:.0f}, 3 turns",
        )
    assert max(answers.values()) < BOT_TURN_TIMEOUT + 1.5, answers
    # Every question is in the transcript, each once, so an agent sees what was asked.
    customer.absorb()
    said = [
        customer.seen[i]["text"] for i in customer.order if customer.seen[i]["from"] == "customer"
    ]
    assert said == ["hello"] + [
        f"{case} question {i}" for case in ("failing", "hanging", "down") for i in range(3)
    ]
    # Accepting the offer (its button's payload) reaches the queue with the assistant down.
    await customer.send("take-offer", reply["buttons"][0]["payload"])
    queued = await customer.wait_for(
        lambda f: f.get("event") == "state" and f.get("state") == "queued", timeout=10
    )
    assert queued["reason"] == "bot_unavailable"
    await agent.log.wait_for(
        lambda f: (
            f["type"] == "queue"
            and any(i["conversation"] == customer.conversation for i in f["items"])
        ),
        timeout=10,
    )
    await customer.drop()
    await agent.drop()
