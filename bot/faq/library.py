"""The FAQ library: topics read from and written to data/nlu/faq/*.yml, layout preserved.

Each group file holds topics as Rasa retrieval intents and their answers:

    nlu:
    - intent: faq/<key>          one block-scalar list of phrasings ("- how much is shipping")
      examples: |
        - ...
    responses:
      utter_faq/<key>:
      - text: "<answer>"

Files are loaded and saved with ruamel.yaml's round-trip mode, and phrasings are edited as lines
inside the existing block scalar, so comments, quoting and order survive and a developer's
`git diff` of an editor's change shows only the lines that changed.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

INTENT_PREFIX = "faq/"
RESPONSE_PREFIX = "utter_faq/"
DEFAULT_GROUP = "general"
GROUP_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class LibraryError(Exception):
    """A change the library cannot make; `code` is one of the contract's error codes."""

    def __init__(self, code: str, message: str, topic: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.topic = topic


@dataclass
class Topic:
    """One FAQ topic as an editor sees it."""

    key: str
    group: str
    phrasings: list[str] = field(default_factory=list)
    answer: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "phrasings": len(self.phrasings),
            "answer": self.answer[:120],
        }

    def detail(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "phrasings": list(self.phrasings),
            "answer": self.answer,
        }


def round_trip_yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]
    # Answers are long single lines; never fold them.
    yaml.width = 4096  # type: ignore[assignment]
    # The project's style: list items at the parent key's column ("nlu:\n- intent: ...").
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def without_entity_markup(example: str) -> str:
    """A phrasing as the customer typed it: Rasa's `[HG-10078](order_number)` and
    `[text]{"entity": …}` annotations reduced to their text."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", example)


def parse_examples(block: str) -> list[str]:
    """Phrasings of a Rasa `examples: |` block ("- text" per line)."""
    phrasings = []
    for line in str(block).splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            phrasings.append(stripped[2:].strip())
        elif stripped == "-":
            continue
    return [p for p in phrasings if p]


def normalise(phrasing: str) -> str:
    """What makes two phrasings "the same" for an editor: case, spacing, end punctuation."""
    return " ".join(phrasing.lower().split()).rstrip("?!. ")


def clean_phrasing(text: str) -> str:
    """One line of text, as a phrasing is stored."""
    return " ".join(str(text).split())


@dataclass
class GroupFile:
    """One data/nlu/faq/<group>.yml file, loaded for round-trip editing."""

    path: Path
    document: CommentedMap

    @property
    def group(self) -> str:
        return self.path.stem

    def intents(self) -> CommentedSeq:
        items = self.document.get("nlu")
        if items is None:
            items = CommentedSeq()
            self.document["nlu"] = items
        return items

    def responses(self) -> CommentedMap:
        responses = self.document.get("responses")
        if responses is None:
            responses = CommentedMap()
            self.document["responses"] = responses
        return responses

    def intent_item(self, key: str) -> CommentedMap | None:
        for item in self.intents():
            if isinstance(item, CommentedMap) and item.get("intent") == INTENT_PREFIX + key:
                return item
        return None


class FaqLibrary:
    """All FAQ topics of one project; every change is written back to its group file."""

    def __init__(self, faq_dir: Path) -> None:
        self.faq_dir = faq_dir
        self._yaml = round_trip_yaml()
        self.files: dict[str, GroupFile] = {}
        self.topics: dict[str, Topic] = {}
        self.reload()

    # --- reading ---------------------------------------------------------------------------

    def reload(self) -> None:
        self.files.clear()
        self.topics.clear()
        for path in sorted(self.faq_dir.glob("*.yml")):
            document = self._yaml.load(path.read_text(encoding="utf-8")) or CommentedMap()
            group = GroupFile(path, document)
            self.files[group.group] = group
            answers = {
                str(name)[len(RESPONSE_PREFIX) :]: _first_text(variations)
                for name, variations in (document.get("responses") or {}).items()
                if str(name).startswith(RESPONSE_PREFIX)
            }
            for item in document.get("nlu") or []:
                intent = str(item.get("intent", "")) if isinstance(item, dict) else ""
                if not intent.startswith(INTENT_PREFIX):
                    continue
                key = intent[len(INTENT_PREFIX) :]
                self.topics[key] = Topic(
                    key=key,
                    group=group.group,
                    phrasings=parse_examples(item.get("examples", "")),
                    answer=answers.get(key, ""),
                )
            # An answer without phrasings is still a topic an editor must be able to see.
            for key, answer in answers.items():
                self.topics.setdefault(key, Topic(key=key, group=group.group, answer=answer))

    def sorted_topics(self) -> list[Topic]:
        return sorted(self.topics.values(), key=lambda t: (t.group, t.key))

    def get(self, key: str) -> Topic:
        topic = self.topics.get(key)
        if topic is None:
            raise LibraryError(
                "unknown_topic",
                f"There is no topic called '{key}'; `bot faq list` shows the topics there are.",
                topic=key,
            )
        return topic

    # --- writing ---------------------------------------------------------------------------

    def add(self, key: str, phrasings: list[str], answer: str, group: str | None) -> Topic:
        if key in self.topics:
            raise LibraryError(
                "topic_exists",
                f"A topic called '{key}' already exists; edit it, or choose another name.",
                topic=key,
            )
        group_name = group or DEFAULT_GROUP
        if not GROUP_PATTERN.match(group_name):
            raise LibraryError(
                "key_format",
                f"The group '{group_name}' is not a valid file name: use lowercase letters, "
                "digits and underscores.",
                topic=key,
            )
        target = self.files.get(group_name) or self._new_group(group_name)
        item = CommentedMap()
        item["intent"] = INTENT_PREFIX + key
        item["examples"] = LiteralScalarString(_examples_block(phrasings))
        target.intents().append(item)
        target.responses()[RESPONSE_PREFIX + key] = _answer_variations(answer)
        self._write(target)
        topic = Topic(key, group_name, [clean_phrasing(p) for p in phrasings], answer.strip())
        self.topics[key] = topic
        return topic

    def edit(
        self,
        key: str,
        add_phrasings: list[str] | None = None,
        remove_phrasings: list[str] | None = None,
        answer: str | None = None,
    ) -> Topic:
        topic = self.get(key)
        group = self.files[topic.group]
        if add_phrasings or remove_phrasings:
            item = group.intent_item(key)
            if item is None:
                item = CommentedMap()
                item["intent"] = INTENT_PREFIX + key
                item["examples"] = LiteralScalarString("")
                group.intents().append(item)
            removing = {normalise(p) for p in remove_phrasings or []}
            missing = removing - {normalise(p) for p in topic.phrasings}
            if missing:
                raise LibraryError(
                    "unknown_phrasing",
                    f"The topic '{key}' has no phrasing '{sorted(missing)[0]}' to remove.",
                    topic=key,
                )
            item["examples"] = LiteralScalarString(
                _edit_block(str(item.get("examples", "")), add_phrasings or [], removing)
            )
            topic.phrasings = parse_examples(item["examples"])
        if answer is not None:
            name = RESPONSE_PREFIX + key
            responses = group.responses()
            variations = responses.get(name)
            if isinstance(variations, list) and variations and isinstance(variations[0], dict):
                # Keep the first variation's other keys (buttons, channel) and its quoting.
                variations[0]["text"] = DoubleQuotedScalarString(answer.strip())
            else:
                responses[name] = _answer_variations(answer)
            topic.answer = answer.strip()
        self._write(group)
        return topic

    def remove(self, key: str) -> Topic:
        topic = self.get(key)
        group = self.files[topic.group]
        intents = group.intents()
        for index, item in enumerate(intents):
            if isinstance(item, dict) and item.get("intent") == INTENT_PREFIX + key:
                del intents[index]
                break
        responses = group.responses()
        responses.pop(RESPONSE_PREFIX + key, None)
        self._write(group)
        del self.topics[key]
        return topic

    def _new_group(self, group: str) -> GroupFile:
        document = self._yaml.load(
            f'version: "3.1"\n\n# FAQ topics added by content editors ({group}).\nnlu: []\n'
        )
        document["nlu"] = CommentedSeq()
        document["responses"] = CommentedMap()
        created = GroupFile(self.faq_dir / f"{group}.yml", document)
        self.files[group] = created
        return created

    def _write(self, group: GroupFile) -> None:
        buffer = io.StringIO()
        self._yaml.dump(group.document, buffer)
        atomic_write(group.path, buffer.getvalue())


def atomic_write(path: Path, text: str) -> None:
    """Replace a file in one step, so Rasa, the NLG server and readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _first_text(variations: Any) -> str:
    if isinstance(variations, list):
        for variation in variations:
            if isinstance(variation, dict) and variation.get("text"):
                return str(variation["text"])
    return ""


def _answer_variations(answer: str) -> CommentedSeq:
    variation = CommentedMap()
    variation["text"] = DoubleQuotedScalarString(answer.strip())
    variations = CommentedSeq()
    variations.append(variation)
    return variations


def _examples_block(phrasings: list[str]) -> str:
    return "".join(f"- {clean_phrasing(p)}\n" for p in phrasings)


def _edit_block(block: str, add: list[str], removing: set[str]) -> str:
    """The examples block with lines removed and appended; every other line untouched."""
    kept = []
    for line in block.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("- ") and normalise(stripped[2:]) in removing:
            continue
        kept.append(line)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    kept.extend(f"- {clean_phrasing(p)}\n" for p in add)
    return "".join(kept)
