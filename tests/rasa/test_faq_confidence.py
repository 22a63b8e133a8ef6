"""The NLU component that makes an FAQ answer only as certain as its topic."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.training_data.message import Message

from bot.faq_confidence import FaqTopicConfidence


def message(intent: str, confidence: float, topic_confidence: float | None) -> Message:
    data: dict[str, Any] = {
        "text": "can i send it back",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": intent, "confidence": confidence},
            {"name": "out_of_scope", "confidence": 1 - confidence},
        ],
    }
    if topic_confidence is not None:
        data["response_selector"] = {
            "faq": {
                "response": {"intent_response_key": "faq/return_policy", "confidence": 0.6},
                "ranking": [],
            }
        }
        data["response_selector"]["faq"]["response"]["confidence"] = topic_confidence
    return Message(data=data)


def test_an_faq_is_as_certain_as_its_topic() -> None:
    gate = FaqTopicConfidence({"retrieval_intent": "faq"})
    (result,) = gate.process([message("faq", 0.9, 0.5)])
    assert result.get("intent") == {"name": "faq", "confidence": 0.45}
    assert result.get("intent_ranking")[0] == {"name": "faq", "confidence": 0.45}
    assert result.get("intent_ranking")[1]["name"] == "out_of_scope"
    assert result.get("response_selector")["faq"]["response"]["intent_response_key"] == (
        "faq/return_policy"
    )


def test_other_intents_and_faq_shortcuts_are_left_alone() -> None:
    gate = FaqTopicConfidence({"retrieval_intent": "faq"})
    other, shortcut = gate.process([message("greet", 0.9, 0.1), message("faq", 1.0, None)])
    assert other.get("intent")["confidence"] == 0.9
    assert shortcut.get("intent")["confidence"] == 1.0
