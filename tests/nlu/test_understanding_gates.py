"""Held-out gates: the trained assistant on messages it never saw, written apart from its data.

Runs the current model (bot.model: trained when its inputs changed) through bot/nlu/served.py.
Each figure is held to the issue's goal where the assistant reaches it; where it does not yet,
to the level measured when this model design landed, so it cannot slip back unnoticed. Both
are listed in docs/assistant.md with the gap. Never tune anything on these sets.
"""

from __future__ import annotations

import pytest

from bot.evaluate.tally import Tally
from bot.model import ensure_model
from bot.nlu.served import evaluate

# (set, group) -> (minimum served right %, maximum served wrong %)
GATES: dict[tuple[str, str], tuple[float, float]] = {
    ("styles", "all"): (90.0, 3.0),  # goal
    ("styles", "story"): (85.0, 100.0),  # goal: long messages with a story first
    ("styles", "fragment"): (90.0, 3.0),
    ("styles", "typos"): (90.0, 3.0),
    ("styles", "nonnative"): (85.0, 5.0),
    ("styles", "indirect"): (90.0, 5.0),  # 95 % measured
    # goal 90 % right: missed, 87.5 % measured (docs/assistant.md); the gate leaves two
    # messages for the last-bit differences of int8 kernels between CPU families (below)
    ("paraphrases", "all"): (86.5, 3.0),
    ("out_of_scope", "general"): (85.0, 5.0),
}
# CLINC150 oos_test: an FAQ answer at most this often (goal 3 %: met, 24 of 1,000 measured
# with the head tuned on 2026-12-07, 30 before), and declined at least this often (goal 85 %:
# met, 87.5 % measured). onnxruntime's int8 kernels differ between CPU families
# (VNNI, AVX-512, AVX2) in the last bits, which can flip a borderline message or two; the
# measured figure leaves six messages for that below the goal.
CLINC_MAX_FAQ_ANSWER = 3.0
CLINC_MIN_DECLINED = 85.0


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Tally]]:
    # Kept per model: a make test whose model and held-out files did not change reads the
    # parses the same model gave these same messages before (bot/rasa_agent.py).
    return evaluate(str(ensure_model(quiet=True)), keep=True)


@pytest.mark.parametrize("where", sorted(GATES), ids=lambda w: "-".join(w))
def test_held_out_messages_are_served_right(
    results: dict[str, dict[str, Tally]], where: tuple[str, str]
) -> None:
    name, group = where
    tally = results[name][group]
    least_right, most_wrong = GATES[where]
    misses = "\n".join(tally.misses[:20])
    assert tally.share(tally.right) >= least_right, f"{where}: {tally}\n{misses}"
    assert tally.share(tally.wrong) <= most_wrong, f"{where}: {tally}\n{misses}"


def test_out_of_scope_questions_are_declined_not_answered(
    results: dict[str, dict[str, Tally]],
) -> None:
    clinc = results["clinc150"]["all"]
    faq_answers = sum(1 for miss in clinc.misses if " -> faq/" in miss)
    assert 100.0 * faq_answers / clinc.total <= CLINC_MAX_FAQ_ANSWER, clinc.misses[:20]
    assert clinc.share(clinc.declined) >= CLINC_MIN_DECLINED


def test_near_domain_questions_never_get_a_neighbouring_answer_often(
    results: dict[str, dict[str, Tally]],
) -> None:
    near = results["out_of_scope"]["near_domain"]
    # Products the shop does not sell, specifications, jobs: declined or handed to a person.
    # Goal: never a neighbouring topic's answer; 0 of 20 measured with MPNet beside MiniLM (1 of
    # 20 with MiniLM alone, 4 before the near-shop out-of-scope training data;
    # docs/assistant.md). One message of slack for the CPU-family differences above.
    assert near.share(near.wrong) <= 5.0, near.misses
