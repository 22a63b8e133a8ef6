"""Sections 2 and 3 of the evaluation: the model as configured on messages it never saw.

  2. the first held-out FAQ paraphrases (tests/nlu/faq_heldout.yml): FAQ-key accuracy, what the
     customer gets with the configured fallback, and whether the rephrase buttons offer the
     right topic when it falls back
  3. CLINC150's out-of-scope test questions (where the benchmark copy is present): how often
     one of them would get an FAQ answer

bot/nlu/served.py reports the same sets, and more, by writing style; these are the figures
bench/nlu_bench.py --bot-data prints beside its own.
"""

from __future__ import annotations

from bot.evaluate.heldout import CLINC150, FIRST_HELDOUT_FILE, read_clinc_oos, read_nlu_examples
from bot.evaluate.tally import Tally, as_configured
from bot.model import ROOT
from bot.prediction import FAQ, OUT_OF_SCOPE, SUGGESTED_TOPICS
from bot.rasa_agent import predict


def describe(result: Tally) -> str:
    return (
        f"{result.share(result.right):.1f} % answered right, "
        f"{result.share(result.wrong):.1f} % answered wrong, "
        f"{result.share(result.rephrase):.1f} % asked to rephrase (n={result.total})"
    )


async def report_held_out(model: str) -> None:
    print(f"2. Held-out FAQ paraphrases ({FIRST_HELDOUT_FILE.relative_to(ROOT)}, never trained on)")
    examples = [(m.text, m.expected) for m in read_nlu_examples(FIRST_HELDOUT_FILE)]
    predictions = await predict(model, examples)
    keys = sum(p.faq_key == p.gold for p in predictions)
    share = 100.0 * keys / len(predictions)
    print(f"    FAQ-key accuracy (response selector): {share:.1f} % ({keys}/{len(predictions)})")
    print(f"    as configured: {describe(as_configured(predictions))}")
    rephrased = [p for p in predictions if p.fell_back]
    offered = sum(p.gold in p.faq_top for p in rephrased)
    print(
        f"    right topic among the {SUGGESTED_TOPICS} buttons when asked to rephrase: "
        f"{100.0 * offered / max(1, len(rephrased)):.1f} % ({offered}/{len(rephrased)})"
    )


async def report_out_of_scope(model: str) -> None:
    print("3. Out-of-scope questions (CLINC150 oos_test)")
    if not CLINC150.exists():
        print(f"    skipped: {CLINC150} not found (set CLINC150_DATA)")
        return
    questions = [(m.text, m.expected) for m in read_clinc_oos(CLINC150)]
    predictions = await predict(model, questions)
    answered = [p for p in predictions if not p.fell_back]
    total = len(predictions)
    faq = sum(p.intent == FAQ for p in answered)
    declined = sum(p.intent == OUT_OF_SCOPE for p in answered)
    rephrase = total - len(answered)
    other = len(answered) - faq - declined
    print(
        f"    {100.0 * faq / total:.1f} % got an FAQ answer (wrong by definition), "
        f"{100.0 * declined / total:.1f} % declined as out of scope, "
        f"{100.0 * rephrase / total:.1f} % asked to rephrase, "
        f"{100.0 * other / total:.1f} % another intent (n={total})"
    )
