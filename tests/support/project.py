"""A throwaway copy of the assistant project, for editors' changes that must never touch the
repository: the files the FAQ tool reads and writes, trains from and checks against."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("config.yml", "domain.yml")
PROJECT_FOLDERS = ("data/nlu", "data/rules", "data/stories", "tests/conversations", "tests/nlu")

# A new FAQ topic whose publish keeps every test conversation passing and the held-out score
# level, so a publish of it ends with the bot answering, not with a refusal (the publish test
# and the publish benchmark add it). Training is deterministic: the same files give the same
# model, so this stays true until the training data or the pipeline change; then pick
# phrasings that pass `bot faq publish` again.
REVIEWS_TOPIC = "product_reviews"
REVIEWS_PHRASINGS = (
    "where can i read product reviews",
    "leave a product review",
    "write a product review for my order",
    "are the reviews on your site real",
    "rate a product",
    "how do i post a star rating",
)
REVIEWS_ANSWER = (
    "Reviews are on each product page; to write one, open the product from Account > Orders "
    "and choose Write a review."
)
NEW_REVIEW_QUESTION = "where do i write a review"


def copy_project(target: Path) -> Path:
    """Copy the project's training data, checks and configuration into `target` (made if
    missing) and return it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, target / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(ROOT / folder, target / folder)
    # The model's fingerprint covers the custom component and the encoder (bot/model.py), so a
    # copy names its models as the project does.
    for folder in ("bot/nlu", "understanding"):
        (target / folder).mkdir(parents=True)
        for source in (ROOT / folder).glob("*.py"):
            shutil.copy(source, target / folder / source.name)
    return target
