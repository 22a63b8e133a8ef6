"""Checks on FAQ content, each ending in a sentence an editor understands.

    key_format          the topic name is not lowercase letters, digits and underscores
    too_few_phrasings   fewer than MIN_PHRASINGS ways of asking
    duplicate_phrasing  the same question twice, or in two topics (or another intent)
    likely_conflict     the live model already answers this question with another topic
    empty_answer        no answer text
    answer_too_long     longer than MAX_ANSWER_CHARS
    rasa_validate       Rasa's own `rasa data validate` found a problem

Static checks need only the files. The conflict check asks the running Rasa server
(/model/parse, with the token) and, when none answers, loads the newest model in-process.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import model
from bot.faq.library import (
    INTENT_PREFIX,
    FaqLibrary,
    Topic,
    normalise,
    parse_examples,
    without_entity_markup,
)
from bot.faq.project import Project
from bot.prediction import FALLBACK, OUT_OF_SCOPE, Prediction, to_prediction
from bot.rasa_agent import quiet_rasa, use_project_settings
from bot.rasa_http import RasaClient, RasaUnreachable

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
MIN_PHRASINGS = 5
MAX_ANSWER_CHARS = 1000
# The live model must be this sure of another topic before a phrasing is called a conflict.
# The assistant already answers from 0.5 (config.yml); 0.8 flags only clear cases, because a
# new topic's phrasings always land *somewhere* in a model that has never seen the topic.
CONFLICT_CONFIDENCE = 0.8


@dataclass
class Issue:
    code: str
    message: str
    topic: str | None = None
    phrasing: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.topic is not None:
            data["topic"] = self.topic
        if self.phrasing is not None:
            data["phrasing"] = self.phrasing
        data.update(self.extra)
        return data


def check_key(key: str) -> list[Issue]:
    if KEY_PATTERN.match(key):
        return []
    return [
        Issue(
            "key_format",
            f"The topic name '{key}' can't be used: use 3-41 lowercase letters, digits and "
            "underscores, starting with a letter (for example gift_wrapping).",
            topic=key,
        )
    ]


def check_answer(key: str, answer: str) -> list[Issue]:
    text = answer.strip()
    if not text:
        return [Issue("empty_answer", f"The topic '{key}' has no answer; write one.", topic=key)]
    if len(text) > MAX_ANSWER_CHARS:
        return [
            Issue(
                "answer_too_long",
                f"The answer of '{key}' is {len(text)} characters long; keep it under "
                f"{MAX_ANSWER_CHARS} so it reads well in the chat window.",
                topic=key,
            )
        ]
    return []


def other_intent_examples(project: Project) -> dict[str, str]:
    """Normalised example -> intent, for every NLU example outside the FAQ files."""
    found: dict[str, str] = {}
    for path in sorted(project.nlu_dir.rglob("*.yml")):
        if project.faq_dir in path.parents:
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                for example in parse_examples(item.get("examples", "")):
                    found.setdefault(normalise(without_entity_markup(example)), str(item["intent"]))
    return found


def check_topics(
    library: FaqLibrary, project: Project, topics: Iterable[Topic] | None = None
) -> list[Issue]:
    """Static checks of `topics` (default: all) against the whole library."""
    checked = list(topics) if topics is not None else library.sorted_topics()
    issues: list[Issue] = []
    # Who owns each phrasing: the checked topics as given (a change not yet saved), the rest
    # as the library holds them.
    owners: dict[str, str] = {}
    replaced = {topic.key for topic in checked}
    for topic in [*(t for t in library.sorted_topics() if t.key not in replaced), *checked]:
        for phrasing in topic.phrasings:
            owners.setdefault(normalise(phrasing), topic.key)
    others = other_intent_examples(project)
    for topic in checked:
        issues += check_key(topic.key)
        if len(topic.phrasings) < MIN_PHRASINGS:
            issues.append(
                Issue(
                    "too_few_phrasings",
                    f"The topic '{topic.key}' has {len(topic.phrasings)} phrasings; give at "
                    f"least {MIN_PHRASINGS} different ways a customer might ask.",
                    topic=topic.key,
                )
            )
        seen: set[str] = set()
        for phrasing in topic.phrasings:
            norm = normalise(phrasing)
            owner = owners.get(norm, topic.key)
            if norm in seen:
                issues.append(
                    Issue(
                        "duplicate_phrasing",
                        f"'{phrasing}' is listed twice in '{topic.key}'; keep one.",
                        topic=topic.key,
                        phrasing=phrasing,
                    )
                )
            elif owner != topic.key:
                issues.append(
                    Issue(
                        "duplicate_phrasing",
                        f"'{phrasing}' is already a phrasing of '{owner}'; a question can "
                        "belong to one topic only.",
                        topic=topic.key,
                        phrasing=phrasing,
                        extra={"other_topic": owner},
                    )
                )
            elif norm in others:
                issues.append(
                    Issue(
                        "duplicate_phrasing",
                        f"'{phrasing}' is already an example of '{others[norm]}' (not an FAQ); "
                        "the assistant could not tell them apart.",
                        topic=topic.key,
                        phrasing=phrasing,
                        extra={"other_topic": others[norm]},
                    )
                )
            seen.add(norm)
        issues += check_answer(topic.key, topic.answer)
    return issues


# --- likely conflicts: what the live model already thinks ----------------------------------


class ConflictChecker:
    """Asks the live assistant (or, failing that, the newest model) what a phrasing means."""

    def __init__(self, project: Project, threshold: float = CONFLICT_CONFIDENCE) -> None:
        self.project = project
        self.threshold = threshold
        self.source = ""
        self._live: RasaClient | None = None
        self._agent: Any = None

    def _connect(self) -> None:
        if self.source:
            return
        token = self.project.rasa_token()
        for url in self.project.rasa_urls():
            client = RasaClient(url, token, timeout=10)
            try:
                client.parse("hello")
            except RasaUnreachable:
                continue
            self._live = client
            self.source = f"the running assistant at {url}"
            return
        newest = newest_model(self.project.models_dir)
        if newest is None:
            self.source = "none (no running assistant and no trained model)"
            return
        use_project_settings()
        # Rasa is imported here, not at module level: the editor's quick commands import this.
        from rasa.core.agent import Agent

        quiet_rasa()
        self._agent = Agent.load(str(newest))
        self.source = f"the model {newest.name}, loaded here (no running assistant answered)"

    def predict(self, text: str) -> Prediction | None:
        self._connect()
        if self._live is not None:
            parsed = self._live.parse(text)
        elif self._agent is not None:
            parsed = asyncio.run(self._agent.parse_message(text))
        else:
            return None
        return to_prediction(text, "", parsed)

    def check(self, items: Iterable[tuple[str, str]]) -> list[Issue]:
        """Likely conflicts among (topic key, phrasing) pairs."""
        issues = []
        for key, phrasing in items:
            prediction = self.predict(phrasing)
            if prediction is None or prediction.intent_confidence < self.threshold:
                continue
            # Understood as off-topic today is not a conflict: adding a topic is how an
            # off-topic question becomes one the shop answers.
            if prediction.label in {INTENT_PREFIX + key, FALLBACK, OUT_OF_SCOPE}:
                continue
            other = prediction.label.removeprefix(INTENT_PREFIX)
            if prediction.label.startswith(INTENT_PREFIX):
                advice = f"or add it to '{other}' instead"
                today = f"are answered with the topic '{other}'"
            else:
                # Not an FAQ: greetings, order lookups, handoff.
                advice = "so the assistant can tell them apart"
                today = f"are understood as '{other}' (not an FAQ topic)"
            issues.append(
                Issue(
                    "likely_conflict",
                    f"Customers asking '{phrasing}' {today} today "
                    f"({prediction.intent_confidence:.0%} sure); reword it so it clearly asks "
                    f"about '{key}', {advice}.",
                    topic=key,
                    phrasing=phrasing,
                    extra={
                        "other_topic": other,
                        "confidence": round(prediction.intent_confidence, 3),
                    },
                )
            )
        return issues


def newest_model(models_dir: Path) -> Path | None:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


# --- Rasa's own validation -----------------------------------------------------------------


def rasa_validate(root: Path) -> list[Issue]:
    """What `rasa data validate --fail-on-warnings` reports, run in this process."""
    use_project_settings()
    quiet_rasa()
    # Rasa is imported here, not at module level: the editor's quick commands import this.
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        str(root / "config.yml"), str(root / "domain.yml"), model.data_dirs(root)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator = Validator.from_importer(importer)
        before = len(caught)
        results = [
            validator.verify_domain_validity(),
            validator.verify_actions_in_stories_rules(),
            validator.verify_forms_in_stories_rules(),
            validator.verify_form_slots(),
            validator.verify_slot_mappings(),
            validator.verify_nlu(False),
            validator.verify_story_structure(False),
        ]
    if all(results):
        return []
    found = [str(w.message).strip() for w in caught[before:] if str(w.message).strip()]
    return [
        Issue("rasa_validate", f"Rasa's data check failed: {message[:500]}")
        for message in (found or ["see `rasa data validate` for details."])
    ]
