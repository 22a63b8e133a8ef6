"""The handoff summary on real-looking conversations (tests/app/data/handoff_transcripts.yml):
each must carry the key facts an agent needs, quote the message that mattered, and mask personal
data. Then the packet through a real escalation: Rasa's parses fill the details when the triage
hands a chat over before the assistant answers, the verified customer is named from the order
store, and a Rasa that hangs costs the packet its details, never the escalation."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff.console.accounts import Accounts
from handoff.conversations.entry import Entry
from handoff.queue.summary import summarise
from handoff.state import app_state
from tests.app.conftest import AppFactory
from tests.support.fake_rasa import FakeRasa

TRANSCRIPTS = yaml.safe_load(
    (Path(__file__).parent / "data" / "handoff_transcripts.yml").read_text(encoding="utf-8")
)


def rasa_parse(turn: dict[str, Any]) -> dict[str, Any] | None:
    """What Rasa's /model/parse answers for a turn, shaped like Rasa 3.6's."""
    if "intent" not in turn:
        return None
    parse: dict[str, Any] = {
        "text": turn["customer"],
        "intent": {"name": turn["intent"], "confidence": 0.9},
        "entities": [
            {"entity": name, "value": value} for name, value in (turn.get("entities") or {}).items()
        ],
    }
    if "faq" in turn:
        parse["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {"response": {"intent_response_key": f"faq/{turn['faq']}"}, "ranking": []},
        }
    return parse


def conversation(case: dict[str, Any]) -> tuple[list[Entry], dict[str, Any], dict[str, float]]:
    """The case's transcript as stored entries, with Rasa's parses and the triage's scores."""
    entries: list[Entry] = []
    parses: dict[str, Any] = {}
    upset: dict[str, float] = {}
    for n, turn in enumerate(case["turns"], start=1):
        cid = f"{n}-0"
        entries.append(Entry(cid, "message", "customer", turn["customer"], n * 1000))
        parses[cid] = rasa_parse(turn)
        if "upset" in turn:
            upset[cid] = turn["upset"]
        if "bot" in turn:
            fields = {"reply_to": cid}
            if turn.get("missed"):
                fields["missed"] = "1"
            if turn.get("error"):
                fields["error"] = turn["error"]
            entries.append(Entry(f"{n}-1", "message", "bot", turn["bot"], n * 1000 + 1, fields))
    return entries, parses, upset


@pytest.mark.parametrize("case", TRANSCRIPTS, ids=[c["name"] for c in TRANSCRIPTS])
def test_the_summary_carries_the_key_facts(case: dict[str, Any]) -> None:
    entries, parses, upset = conversation(case)
    expect = case["expect"]
    summary = summarise(
        entries,
        reason=case["reason"],
        trigger_id=f"{case['trigger']}-0" if "trigger" in case else None,
        parses=parses,
        upset=upset,
        verified_order=case.get("verified"),
        assistant_note=case.get("note", ""),
    )
    text = summary.text
    assert f"“{expect['quote']}" in text or expect["quote"] in text.split("“", 1)[1], text
    if "not_quote" in expect:
        assert expect["not_quote"] not in text.split("”", 1)[0], text
    assert {a.topic: a.outcome for a in summary.asked} == expect["asked"]
    assert list(expect["asked"]) == [a.topic for a in summary.asked]
    assert {o["number"]: o["verified"] for o in summary.orders} == expect["orders"]
    if "mood" in expect:
        assert summary.mood == expect["mood"]
    for phrase in expect.get("says", []):
        assert phrase in text, (phrase, text)
    for phrase in expect.get("not_says", []):
        assert phrase not in text, (phrase, text)
    packet = json.dumps(summary.as_packet(), ensure_ascii=False)
    for secret in expect.get("absent", []):
        assert secret not in packet


def test_the_same_conversation_always_gives_the_same_summary() -> None:
    case = TRANSCRIPTS[0]
    entries, parses, upset = conversation(case)

    def once() -> dict[str, Any]:
        return summarise(
            entries,
            reason=case["reason"],
            trigger_id="2-0",
            parses=parses,
            upset=upset,
            verified_order=None,
        ).as_packet()

    assert once() == once()


def test_a_topic_raised_twice_is_listed_once_with_its_count_and_latest_outcome() -> None:
    case = {
        "reason": "frustration",
        "turns": [
            {"customer": "how long is shipping", "intent": "faq", "faq": "shipping_time"},
            {"customer": "shipping time??", "intent": "faq", "faq": "shipping_time"},
        ],
    }
    entries, parses, _ = conversation(case)
    entries.insert(1, Entry("1-1", "message", "bot", "3-5 days", 1001, {"reply_to": "1-0"}))
    summary = summarise(
        entries, reason="frustration", trigger_id=None, parses=parses, upset={}, verified_order=None
    )
    assert [(a.topic, a.outcome, a.times) for a in summary.asked] == [
        ("shipping time", "handed over before the assistant answered", 2)
    ]
    assert "shipping time (handed over before the assistant answered, 2 times)" in summary.text


# --- through a real escalation ---------------------------------------------------------------


def order_parse(text: str) -> dict[str, Any]:
    """Rasa as the triage would find it: the order question understood, its number extracted."""
    if "HG-" in text:
        number = text[text.index("HG-") : text.index("HG-") + 8]
        return {
            "text": text,
            "intent": {"name": "check_order_status", "confidence": 0.88},
            "entities": [{"entity": "order_number", "value": number}],
        }
    return {"text": text, "intent": {"name": "greet", "confidence": 0.97}, "entities": []}


async def staffed(client: Any) -> Any:
    """The app's state with one agent online, so an escalation queues the chat."""
    state = app_state(client.server.app)
    await Accounts(state.redis, state.keys).create(
        "alex", "harbor-test-pass-1", display_name="Alex"
    )
    await state.redis.hset(state.keys.presence, "alex", "online")
    return state


async def new_chat(state: Any) -> str:
    settings = state.settings
    return str(
        await state.store.create(
            settings.default_team,
            lifetime=settings.resume_token_ttl,
            max_entries=settings.max_transcript_entries,
        )
    )


async def test_the_triage_handoff_packet_has_rasas_details_and_the_verified_customer(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    fake, _ = rasa
    fake.parse = order_parse
    state = await staffed(await make_client())
    cid = await new_chat(state)
    fake.slots[cid] = {"verified_order_number": "HG-10008"}
    texts = ["hello", "my order HG-10008 still hasn't come and I am really fed up"]
    entry_ids = [(await state.store.append(cid, "customer", t))[0] for t in texts]
    await state.queue.escalate(cid, "frustration", 3, "triage", {"message": entry_ids[-1]})
    fields = await state.store.get(cid) or {}
    packet = json.loads(fields["packet"])
    assert packet["summary"].startswith("Customer is frustrated: “my order HG-10008")
    assert packet["intents"] == [
        {"name": "greet", "confidence": 0.97},
        {"name": "check_order_status", "confidence": 0.88},
    ]
    assert packet["entities"] == [{"entity": "order_number", "value": "HG-10008"}]
    assert packet["orders"] == [{"number": "HG-10008", "verified": True}]
    assert packet["slots"] == {"order_number": "HG-10008", "order_verified": True}
    # The verified customer, named from the order store for the console and the archive.
    assert fields["customer_name"] == "Lucas Müller"
    assert fields["customer_email"] == "lucas.muller37@example.com"
    assert fields["verified_order"] == "HG-10008"
    assert "lucas.muller37" not in fields["packet"]


async def test_an_unverified_customer_gets_no_name_and_a_hanging_rasa_costs_only_details(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    fake, _ = rasa
    fake.parse = order_parse
    fake.lookup_delay = 30.0  # Rasa's parse and tracker hang
    state = await staffed(await make_client())
    cid = await new_chat(state)
    entry, _ = await state.store.append(cid, "customer", "HG-10001 is late, this is ridiculous")
    started = time.monotonic()
    await asyncio.wait_for(
        state.queue.escalate(cid, "anger", 3, "triage", {"message": entry}), timeout=10
    )
    took = time.monotonic() - started
    fields = await state.store.get(cid) or {}
    packet = json.loads(fields["packet"])
    assert fields["state"] == "queued", "the escalation happened"
    assert took < 4, f"the packet waited {took:.1f} s for a hanging Rasa"
    assert packet["intents"] == [] and packet["entities"] == []
    assert packet["orders"] == [{"number": "HG-10001", "verified": False}]
    assert "customer_name" not in fields and "verified_order" not in fields
