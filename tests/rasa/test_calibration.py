"""The threshold's utility (bot/nlu/calibrate.py): shop questions and off-topic questions weigh
by their share of a shop's traffic, not by how many of each the training data has."""

from __future__ import annotations

import pytest

from bot.evaluate.tally import Tally
from bot.nlu.calibrate import OFF_TOPIC_SHARE, WRONG_ANSWER_COST, traffic_utility


def test_writing_more_off_topic_phrasings_does_not_change_the_utility() -> None:
    shop = Tally(right=80, wrong=2, rephrase=18)
    off_topic = Tally(right=90, wrong=4, rephrase=6)
    four_times_as_many = Tally(right=360, wrong=16, rephrase=24)
    assert traffic_utility(shop, off_topic) == pytest.approx(
        traffic_utility(shop, four_times_as_many)
    )


def test_each_kind_weighs_by_its_share_of_the_traffic() -> None:
    shop = Tally(right=80, wrong=2, rephrase=18)  # 0.8 - 6 x 0.02 per message
    off_topic = Tally(right=90, wrong=4, rephrase=6)  # 0.9 - 6 x 0.04 per message
    per_shop_message = 0.80 - WRONG_ANSWER_COST * 0.02
    per_off_topic_message = 0.90 - WRONG_ANSWER_COST * 0.04
    expected = 1000 * (
        (1 - OFF_TOPIC_SHARE) * per_shop_message + OFF_TOPIC_SHARE * per_off_topic_message
    )
    assert traffic_utility(shop, off_topic) == pytest.approx(expected)


def test_an_off_topic_answer_costs_more_than_a_request_to_rephrase() -> None:
    shop = Tally(right=80, wrong=2, rephrase=18)
    declined = Tally(right=95, wrong=0, rephrase=5)
    answered = Tally(right=95, wrong=5, rephrase=0)
    assert traffic_utility(shop, declined) > traffic_utility(shop, answered)


def test_training_data_without_off_topic_phrasings_is_scored_on_the_shop_alone() -> None:
    shop = Tally(right=80, wrong=2, rephrase=18)
    alone = traffic_utility(shop, Tally())
    assert alone == pytest.approx(1000 * (1 - OFF_TOPIC_SHARE) * (0.80 - WRONG_ANSWER_COST * 0.02))
