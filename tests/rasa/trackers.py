"""Trackers as Rasa sends them to the action server, and an in-process action runner.

Actions run the way the financial-demo tests them: build a `Tracker`, run the action with a
`CollectingDispatcher`, look at the returned events and `dispatcher.messages`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

REPO_ROOT = Path(__file__).resolve().parents[2]


def parse_data(
    intent: str,
    confidence: float = 0.95,
    text: str = "",
    *,
    faq_key: str | None = None,
    faq_ranking: Sequence[tuple[str, float]] = (),
    intent_ranking: Sequence[tuple[str, float]] = (),
    entities: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A user message's parse data shaped like Rasa 3.6's (intent, ranking, response selector)."""
    ranking = list(intent_ranking) or [(intent, confidence)]
    data: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": name, "confidence": value} for name, value in ranking],
        "entities": list(entities),
    }
    selector_ranking = list(faq_ranking) or ([(faq_key, 0.9)] if faq_key else [])
    if selector_ranking:
        best_key, best_confidence = selector_ranking[0]
        data["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": best_key,
                    "confidence": best_confidence,
                    "utter_action": "utter_faq",
                },
                "ranking": [
                    {"id": index, "confidence": value, "intent_response_key": key}
                    for index, (key, value) in enumerate(selector_ranking)
                ],
            },
        }
    return data


def user(parse: dict[str, Any]) -> dict[str, Any]:
    return {"event": "user", "text": parse.get("text", ""), "parse_data": parse}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def make_tracker(
    events: Sequence[dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest message is the last user event in `events`."""
    latest: dict[str, Any] = next(
        (e["parse_data"] for e in reversed(events) if e["event"] == "user"), {}
    )
    return Tracker(
        sender_id="test-conversation",
        slots=dict(slots or {}),
        latest_message=latest,
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


@dataclass
class ActionResult:
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]

    def slot(self, name: str) -> Any:
        """The value the action set for `name` (KeyError if it did not set it)."""
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        if not values:
            raise KeyError(name)
        return values[-1]

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages if m.get("text")]


def run_action(action: Action, tracker: Tracker, domain: dict[str, Any]) -> ActionResult:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return ActionResult(events=list(events), messages=dispatcher.messages)
