"""The new model against the live one: the test conversations and the held-out phrasings.

Each model is scored once per version of the checks (conversations, held-out file and the
scoring code), then the scores are kept in the per-user cache beside the models
(<cache>/publish-scores/): they depend on nothing else, so a second deployment or clone on the
machine that publishes the same files does not score them again. A new model must not do worse
than the live one beyond the tolerances below, else publishing stops and names the conversations
and topics.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot import prediction as prediction_code
from bot.evaluate.heldout import read_nlu_examples
from bot.faq.library import INTENT_PREFIX, atomic_write
from bot.faq.project import Project
from bot.faq.publish.record import read_json
from bot.faq.validation import Issue
from bot.model import cache_dir
from bot.prediction import to_prediction

# Held-out FAQ-key accuracy may drop by this much (in percentage points) before a publish is
# refused. Retraining on changed data reshuffles a few borderline paraphrases either way; with
# 200 held-out phrasings one point is two of them, which is noise, while a real regression from
# a bad edit costs more.
HELDOUT_TOLERANCE_POINTS = 1.5
# Test conversations the new model may newly fail before a publish is refused. Retraining on
# changed data flips borderline turns: every one of four new topics tried flipped the same
# conversation, which the live model passes by a margin of 0.511 to 0.489, while two of them
# scored higher on the held-out phrasings than the live model (docs/editors.md). One such flip
# is reported as a warning (in the publish result, the history and the audit log); two or more
# refuse. 0 makes the gate strict.
CONVERSATION_TOLERANCE = 1


@dataclass
class Scores:
    failed_conversations: list[str] = field(default_factory=list)
    conversations: int = 0
    heldout: dict[str, list[int]] = field(default_factory=dict)  # topic -> [right, total]

    @property
    def heldout_accuracy(self) -> float:
        right = sum(r for r, _ in self.heldout.values())
        total = sum(t for _, t in self.heldout.values())
        return 100.0 * right / total if total else 100.0


def checks_fingerprint(project: Project) -> str:
    digest = hashlib.sha256()
    scoring_code = [Path(__file__), Path(prediction_code.__file__)]
    files = [
        *sorted(project.conversations_dir.glob("test_*.yml")),
        project.heldout_file,
        *scoring_code,
    ]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def heldout_examples(path: Path) -> list[tuple[str, str]]:
    """(topic key, phrasing) of the FAQ phrasings in a held-out file; none without the file."""
    if not path.is_file():
        return []
    return [
        (m.expected.removeprefix(INTENT_PREFIX), m.text)
        for m in read_nlu_examples(path)
        if m.expected.startswith(INTENT_PREFIX)
    ]


def evaluate_model(project: Project, model_path: Path) -> Scores:
    """The model on the test conversations (as `rasa test core --e2e`) and held-out phrasings."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    return asyncio.run(_evaluate(project, agent))


async def _evaluate(project: Project, agent: Any) -> Scores:
    from rasa.core import test as core_test

    scores = Scores()
    if project.conversations_dir.is_dir():
        generator = core_test._create_data_generator(
            str(project.conversations_dir), agent, None, True
        )
        trackers = generator.generate_story_trackers()
        evaluation, _, _ = await core_test._collect_story_predictions(
            trackers, agent, False, use_e2e=True
        )
        scores.conversations = len(trackers)
        scores.failed_conversations = sorted(str(t.sender_id) for t in evaluation.failed_stories)
    for key, text in heldout_examples(project.heldout_file):
        prediction = to_prediction(text, INTENT_PREFIX + key, await agent.parse_message(text))
        # The gate said "not sure": the topic the selector would have picked still counts, as
        # in docs/assistant.md's FAQ-key accuracy.
        predicted = (prediction.faq_key or "") if prediction.fell_back else prediction.answer
        right, total = scores.heldout.get(key, [0, 0])
        scores.heldout[key] = [right + int(predicted == INTENT_PREFIX + key), total + 1]
    return scores


def scores_path(project: Project, model_name: str) -> Path:
    return cache_dir() / "publish-scores" / f"{model_name}-{checks_fingerprint(project)}.json"


def cached_scores(project: Project, model_name: str) -> Scores | None:
    data = read_json(scores_path(project, model_name))
    return Scores(**data) if data else None


def store_scores(project: Project, model_name: str, scores: Scores) -> None:
    path = scores_path(project, model_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(asdict(scores)))


def compare(before: Scores, after: Scores) -> tuple[list[Issue], list[dict[str, Any]], list[Issue]]:
    """Why `after` is worse than `before`: refusals, topics that got worse, and warnings."""
    issues: list[Issue] = []
    worse: list[dict[str, Any]] = []
    warnings: list[Issue] = []
    newly_failed = sorted(set(after.failed_conversations) - set(before.failed_conversations))
    if newly_failed and len(newly_failed) <= CONVERSATION_TOLERANCE:
        warnings.append(
            Issue(
                "conversation_changed",
                f"The new model fails {len(newly_failed)} test conversation(s) the live model "
                f"passes: {', '.join(newly_failed)}. Within the tolerance of "
                f"{CONVERSATION_TOLERANCE}, so it was published; check the conversation.",
                extra={"conversations": newly_failed},
            )
        )
    elif newly_failed:
        issues.append(
            Issue(
                "checks_worse",
                f"The new model fails {len(newly_failed)} test conversation(s) the live model "
                f"passes: {', '.join(newly_failed[:5])}. Nothing was published.",
                extra={"conversations": newly_failed},
            )
        )
    drop = before.heldout_accuracy - after.heldout_accuracy
    if drop > HELDOUT_TOLERANCE_POINTS:
        for topic, (right_before, total) in sorted(before.heldout.items()):
            right_after = after.heldout.get(topic, [0, total])[0]
            if right_after < right_before:
                worse.append(
                    {
                        "topic": topic,
                        "before": f"{right_before}/{total}",
                        "after": f"{right_after}/{total}",
                    }
                )
        issues.append(
            Issue(
                "checks_worse",
                f"The new model recognises fewer held-out questions ({after.heldout_accuracy:.1f} "
                f"% against {before.heldout_accuracy:.1f} % live); topics that got worse: "
                f"{', '.join(w['topic'] for w in worse) or 'spread over many'}. Nothing was "
                "published.",
            )
        )
    return issues, worse, warnings
