"""What makes a new model "worse than the live one", and how publish says so."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot import model
from bot.faq.project import Project
from bot.faq.publish.scores import Scores, compare
from bot.faq.publish.training import stage_training_files


def scores(failed: list[str], heldout: dict[str, list[int]]) -> Scores:
    return Scores(failed_conversations=failed, conversations=49, heldout=heldout)


LIVE = scores(["a known failure"], {"shipping_cost": [5, 5], "refund_time": [4, 5]})


def test_an_equal_or_better_model_passes() -> None:
    same = scores(["a known failure"], {"shipping_cost": [5, 5], "refund_time": [4, 5]})
    better = scores([], {"shipping_cost": [5, 5], "refund_time": [5, 5]})
    assert compare(LIVE, same) == ([], [], [])
    assert compare(LIVE, better) == ([], [], [])


def test_one_newly_failing_conversation_is_a_warning_two_refuse() -> None:
    issues, worse, warnings = compare(
        LIVE, scores(["a known failure", "shipping abroad"], LIVE.heldout)
    )
    assert issues == [] and worse == []
    assert [w.code for w in warnings] == ["conversation_changed"]
    assert "shipping abroad" in warnings[0].message and "a known failure" not in warnings[0].message

    failed = ["a known failure", "shipping abroad", "are you a bot"]
    issues, worse, warnings = compare(LIVE, scores(failed, LIVE.heldout))
    assert [i.code for i in issues] == ["checks_worse"] and warnings == []
    assert "are you a bot, shipping abroad" in issues[0].message
    assert issues[0].extra["conversations"] == ["are you a bot", "shipping abroad"]


def test_a_heldout_drop_beyond_the_tolerance_names_the_topics_that_got_worse() -> None:
    many = {f"topic_{n}": [5, 5] for n in range(40)}  # 200 held-out phrasings
    dropped = {**many, "topic_3": [3, 5], "topic_7": [4, 5]}  # 3 of 200 = 1.5 points
    assert compare(scores([], many), scores([], dropped)) == ([], [], [])
    dropped["topic_9"] = [4, 5]  # 4 of 200 = 2 points
    issues, worse, _ = compare(scores([], many), scores([], dropped))
    assert [i.code for i in issues] == ["checks_worse"]
    assert worse == [
        {"topic": "topic_3", "before": "5/5", "after": "3/5"},
        {"topic": "topic_7", "before": "5/5", "after": "4/5"},
        {"topic": "topic_9", "before": "5/5", "after": "4/5"},
    ]
    assert "topic_3, topic_7, topic_9" in issues[0].message


def test_the_staged_copy_trains_the_model_the_launcher_would(tmp_path: Path) -> None:
    # Same fingerprint, same model name: publishing unchanged content reuses the trained model.
    root = tmp_path / "project"
    for source in model.training_inputs(model.ROOT):
        target = root / source.relative_to(model.ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    project = Project(root)
    staging = stage_training_files(project)
    assert model.fingerprint(staging) == model.fingerprint(model.ROOT)
    assert (staging / "bot" / "nlu" / "component.py").is_file()
