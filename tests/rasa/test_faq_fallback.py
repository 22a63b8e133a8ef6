"""The rephrase action: likely topics as buttons on a first miss, a person on the second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from actions import replies
from actions.faq_fallback import ActionFaqRephrase
from actions.faq_topics import FaqTopicCatalogue
from tests.rasa.trackers import REPO_ROOT, action, make_tracker, parse_data, run_action, user

Domain = dict[str, Any]


def unsure_about_shipping(text: str = "how much time for the box") -> dict[str, Any]:
    return parse_data(
        "nlu_fallback",
        0.5,
        text,
        intent_ranking=[("nlu_fallback", 0.5), ("faq", 0.46), ("check_order_status", 0.3)],
        faq_ranking=[("faq/shipping_time", 0.41), ("faq/shipping_cost", 0.33), ("faq/po_box", 0.1)],
    )


def test_a_first_miss_asks_to_rephrase_with_the_likeliest_topics(domain: Domain) -> None:
    catalogue = FaqTopicCatalogue(REPO_ROOT / "data" / "nlu" / "faq")
    tracker = make_tracker(events=[action("action_listen"), user(unsure_about_shipping())])
    result = run_action(ActionFaqRephrase(catalogue), tracker, domain)

    (message,) = result.messages
    assert message["text"] == replies.REPHRASE_WITH_TOPICS
    # check_order_status at 0.3 is plausible enough to come first; then the topics by P(topic).
    assert message["buttons"] == [
        {"title": "Where is my order?", "payload": "/check_order_status"},
        {"title": "How long does shipping take?", "payload": "how long does shipping take"},
        {"title": "How much is shipping?", "payload": "how much is shipping"},
    ]
    assert result.slot("handoff_offered") is None
    assert not [e for e in result.events if e["event"] == "rewind"]


def test_every_topics_button_sends_one_of_its_own_training_examples(domain: Domain) -> None:
    faq_dir = REPO_ROOT / "data" / "nlu" / "faq"
    examples: dict[str, list[str]] = {}
    for path in faq_dir.glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if str(block.get("intent", "")).startswith("faq/"):
                lines = block["examples"].splitlines()
                examples[block["intent"][4:]] = [line.strip()[2:] for line in lines if line.strip()]
    assert len(examples) >= 40
    catalogue = FaqTopicCatalogue(faq_dir)
    for key, texts in examples.items():
        topic = catalogue.topic(key)
        # Sent back as the next message, a training example of the topic is answered by it.
        assert topic.payload == texts[0], key
        assert (
            topic.title[0].isupper()
            and topic.title.rstrip("?").lower() == texts[0].rstrip("?").lower()
        )


def test_weak_topics_are_dropped_but_two_buttons_remain(domain: Domain) -> None:
    parse = parse_data(
        "nlu_fallback",
        0.5,
        "zzz",
        intent_ranking=[("nlu_fallback", 0.5), ("faq", 0.1), ("greet", 0.8)],
        faq_ranking=[("faq/gift_cards", 0.3), ("faq/privacy", 0.02), ("faq/warranty", 0.01)],
    )
    tracker = make_tracker(events=[user(parse)])
    result = run_action(ActionFaqRephrase(FaqTopicCatalogue(Path("/nonexistent"))), tracker, domain)
    titles = [button["title"] for button in result.messages[0]["buttons"]]
    # greet is no request worth a button; warranty (0.01) is noise; privacy (0.02) makes two.
    assert titles == ["Gift cards", "Privacy"]  # keys stand in when the FAQ files are absent


def test_an_unlikely_request_gets_no_button(domain: Domain) -> None:
    parse = parse_data(
        "nlu_fallback",
        0.5,
        "hm",
        intent_ranking=[("nlu_fallback", 0.5), ("request_human", 0.15), ("faq", 0.1)],
        faq_ranking=[("faq/gift_cards", 0.3), ("faq/privacy", 0.2), ("faq/warranty", 0.1)],
    )
    result = run_action(ActionFaqRephrase(), make_tracker(events=[user(parse)]), domain)
    payloads = [button["payload"] for button in result.messages[0]["buttons"]]
    assert "/request_human" not in payloads
    assert len(payloads) == 3


def test_a_second_miss_in_a_row_offers_a_person(domain: Domain) -> None:
    events = [
        user(unsure_about_shipping("blah")),
        action("action_faq_rephrase"),
        action("action_listen"),
        user(unsure_about_shipping("blah blah")),
    ]
    result = run_action(ActionFaqRephrase(), make_tracker(events=events), domain)
    (message,) = result.messages
    assert message["text"] == replies.SECOND_MISS_OFFER
    assert message["buttons"] == [
        {"title": "Talk to a person", "payload": "/affirm"},
        {"title": "No thanks", "payload": "/deny"},
    ]
    assert result.slot("handoff_offered") is True
    assert result.slot("handoff_reason") == "bot_fallback"


def test_a_miss_after_an_answered_question_is_a_first_miss_again(domain: Domain) -> None:
    events = [
        user(unsure_about_shipping("blah")),
        action("action_faq_rephrase"),
        user(parse_data("faq", 1.0, "how long does shipping take", faq_key="faq/shipping_time")),
        action("utter_faq"),
        user(unsure_about_shipping("blah blah")),
    ]
    result = run_action(ActionFaqRephrase(), make_tracker(events=events), domain)
    assert result.messages[0]["text"] == replies.REPHRASE_WITH_TOPICS
    assert result.slot("handoff_offered") is None


def test_as_core_fallback_the_message_is_taken_back(domain: Domain) -> None:
    tracker = make_tracker(events=[user(parse_data("affirm", 0.99, "yes"))])
    result = run_action(ActionFaqRephrase(), tracker, domain)
    assert result.events[0]["event"] == "rewind"
    assert result.messages[0]["text"] == replies.REPHRASE


def test_topics_published_later_are_picked_up_without_a_restart(tmp_path: Path) -> None:
    faq_file = tmp_path / "new.yml"
    catalogue = FaqTopicCatalogue(tmp_path)
    assert catalogue.topic("gift_wrapping").title == "Gift wrapping"
    faq_file.write_text(
        'version: "3.1"\nnlu:\n- intent: faq/gift_wrapping\n  examples: |\n'
        "    - do you offer gift wrapping\n    - gift wrap?\n"
    )
    topic = catalogue.topic("gift_wrapping")
    assert topic.title == "Do you offer gift wrapping?"
    assert topic.payload == "do you offer gift wrapping"
