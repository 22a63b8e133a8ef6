"""The FAQ library writes editors' changes so that a developer's diff shows only those changes."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from bot.faq.library import FaqLibrary, LibraryError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    target = tmp_path / "faq"
    shutil.copytree(ROOT / "data" / "nlu" / "faq", target)
    return target


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("---") or line.startswith("+++") or line.startswith("@@"):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def test_every_topic_of_the_repository_is_read_with_its_answer(faq_dir: Path) -> None:
    library = FaqLibrary(faq_dir)
    assert len(library.topics) == 40
    shipping = library.get("shipping_cost")
    assert shipping.group == "shipping"
    assert shipping.phrasings[0] == "how much is shipping"
    assert shipping.answer.startswith("Standard shipping costs $4.95")
    assert all(len(t.phrasings) >= 5 and t.answer for t in library.topics.values())


def test_adding_a_phrasing_adds_exactly_one_line(faq_dir: Path) -> None:
    before = (faq_dir / "shipping.yml").read_text()
    FaqLibrary(faq_dir).edit("shipping_cost", add_phrasings=["what does postage to alaska cost"])
    removed, added = changed_lines(before, (faq_dir / "shipping.yml").read_text())
    assert removed == []
    assert added == ["    - what does postage to alaska cost"]


def test_removing_a_phrasing_removes_exactly_one_line(faq_dir: Path) -> None:
    before = (faq_dir / "shipping.yml").read_text()
    FaqLibrary(faq_dir).edit("shipping_cost", remove_phrasings=["Postage Charges"])
    removed, added = changed_lines(before, (faq_dir / "shipping.yml").read_text())
    assert removed == ["    - postage charges"] and added == []


def test_a_new_answer_changes_one_line_and_keeps_comments(faq_dir: Path) -> None:
    before = (faq_dir / "company.yml").read_text()
    FaqLibrary(faq_dir).edit("contact_hours", answer="Agents are online 24/7.")
    after = (faq_dir / "company.yml").read_text()
    removed, added = changed_lines(before, after)
    assert len(removed) == 1 and removed[0].strip().startswith('- text: "Live agents')
    assert added == ['  - text: "Agents are online 24/7."']
    assert "# Company: physical stores" in after
    assert FaqLibrary(faq_dir).get("contact_hours").answer == "Agents are online 24/7."


def test_a_new_topic_is_appended_and_readable_by_rasa_conventions(faq_dir: Path) -> None:
    before = (faq_dir / "products.yml").read_text()
    phrasings = [f"can you engrave {x}" for x in ("a board", "presents", "mugs", "pans", "knives")]
    answer = 'We engrave boards and knives for $9 ("up to 20 letters").'
    FaqLibrary(faq_dir).add("engraving", phrasings, answer, "products")
    after = (faq_dir / "products.yml").read_text()
    removed, added = changed_lines(before, after)
    assert removed == []
    assert "- intent: faq/engraving" in added
    document = yaml.safe_load(after)
    assert document["responses"]["utter_faq/engraving"] == [{"text": answer}]
    item = next(i for i in document["nlu"] if i["intent"] == "faq/engraving")
    assert item["examples"] == "".join(f"- {p}\n" for p in phrasings)
    assert FaqLibrary(faq_dir).get("engraving").phrasings == phrasings


def test_a_topic_in_a_new_group_gets_its_own_file(faq_dir: Path) -> None:
    FaqLibrary(faq_dir).add("engraving", ["a", "b", "c", "d", "e"], "Yes.", None)
    document = yaml.safe_load((faq_dir / "general.yml").read_text())
    assert document["version"] == "3.1"
    assert document["nlu"][0]["intent"] == "faq/engraving"
    assert document["responses"] == {"utter_faq/engraving": [{"text": "Yes."}]}


def test_removing_a_topic_removes_its_phrasings_and_answer(faq_dir: Path) -> None:
    FaqLibrary(faq_dir).remove("store_locations")
    text = (faq_dir / "company.yml").read_text()
    assert "store_locations" not in text and "faq/contact_hours" in text
    assert "store_locations" not in FaqLibrary(faq_dir).topics


def test_unknown_and_existing_topics_are_refused_with_their_codes(faq_dir: Path) -> None:
    library = FaqLibrary(faq_dir)
    with pytest.raises(LibraryError) as unknown:
        library.edit("no_such_topic", answer="x")
    assert unknown.value.code == "unknown_topic"
    with pytest.raises(LibraryError) as exists:
        library.add("shipping_cost", ["a"] * 5, "x", None)
    assert exists.value.code == "topic_exists"
