"""Section 5 of the evaluation: 5-fold cross-validation on the training data, and the fallback
threshold sweep once used to choose config.yml's FallbackClassifier threshold.

Cross-validation uses Rasa's own pieces, as `rasa test nlu --cross-validation --folds 5` does
(`rasa.nlu.test.generate_folds`: the same stratified split over full retrieval intents;
`rasa.model_training.train_nlu`; the model's own message processor), but keeps every
prediction's full intent and topic ranking, which the threshold sweep needs and Rasa's report
drops. The pipeline is trained WITHOUT the FallbackClassifier there, so the sweep sees raw
confidences. (bot/nlu/calibrate.py chooses today's threshold, with the classifier alone.)
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.evaluate.tally import lowest_within, replay
from bot.evaluate.training import CONFIG, DOMAIN
from bot.fallback import GATE_COMPONENT, FallbackSetting
from bot.model import data_dirs
from bot.prediction import FAQ, Prediction, to_prediction

THRESHOLD_GRID = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 0.95, 0.99)
# A wrong answer costs this many "please rephrase" turns in the sweep's utility; thresholds
# within UTILITY_TIE of the best count as equally good (bot/evaluate/tally.py).
WRONG_ANSWER_COST = 2.0
UTILITY_TIE = 0.02


async def cross_validate(folds: int, workdir: Path) -> list[Prediction]:
    """Out-of-fold predictions for every training example, with the fallback switched off.

    The FAQ topic gate is left out too: the sweep applies it (or not) to raw confidences.
    """
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.nlu.test import generate_folds
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    config = yaml.safe_load(CONFIG.read_text())
    config["pipeline"] = [
        c for c in config["pipeline"] if c["name"] not in {"FallbackClassifier", GATE_COMPONENT}
    ]
    config_path = workdir / "config-without-fallback.yml"
    config_path.write_text(yaml.safe_dump(config))
    importer = TrainingDataImporter.load_from_dict(
        config_path=str(config_path),
        domain_path=str(DOMAIN),
        training_data_paths=data_dirs(),
    )
    data = importer.get_nlu_data()

    predictions: list[Prediction] = []
    for index, (train, test) in enumerate(generate_folds(folds, data), start=1):
        fold_dir = workdir / f"fold-{index}"
        fold_dir.mkdir()
        train_file = fold_dir / "train.yml"
        RasaYAMLWriter().dump(train_file, train)
        with contextlib.redirect_stdout(io.StringIO()):  # Rasa prints where it saved the model
            model = train_nlu(str(config_path), str(train_file), str(fold_dir))
        if model is None:
            raise RuntimeError(f"training fold {index} failed")
        agent = Agent.load(model)
        for message in test.intent_examples:
            parsed = await agent.parse_message(message.get("text"))
            predictions.append(
                to_prediction(message.get("text"), message.get_full_intent(), parsed)
            )
        print(f"    fold {index}/{folds} done", flush=True)
    return predictions


def accuracy(predictions: Sequence[Prediction]) -> tuple[float, float]:
    """(intent accuracy over all examples, FAQ-key accuracy over FAQ examples)."""
    intents = [p.intent == p.gold.split("/", 1)[0] for p in predictions]
    keys = [p.faq_key == p.gold for p in predictions if p.gold.startswith(f"{FAQ}/")]
    return 100.0 * sum(intents) / len(intents), 100.0 * sum(keys) / max(1, len(keys))


def print_sweep(predictions: Sequence[Prediction], setting: FallbackSetting) -> float:
    """Print the threshold sweep with and without the FAQ topic gate.

    Returns the threshold chosen for the gating config.yml uses: the lowest one whose utility
    is within UTILITY_TIE of the best.
    """
    header = ("gate", "threshold", "right %", "wrong %", "rephrase %", "utility")
    print("    {:<14}{:>10}{:>9}{:>9}{:>12}{:>9}".format(*header))
    utilities: dict[float, float] = {}
    for joint in (False, True):
        for threshold in THRESHOLD_GRID:
            result = replay(predictions, threshold, setting.ambiguity, joint)
            configured = joint == setting.joint
            current = configured and abs(threshold - setting.threshold) < 1e-9
            row = (
                "intent x topic" if joint else "intent",
                threshold,
                result.share(result.right),
                result.share(result.wrong),
                result.share(result.rephrase),
                result.utility(WRONG_ANSWER_COST),
            )
            marker = " <- config.yml" if current else ""
            print("    {:<14}{:>10.2f}{:>9.1f}{:>9.1f}{:>12.1f}{:>9.0f}".format(*row) + marker)
            if configured:
                utilities[threshold] = result.utility(WRONG_ANSWER_COST)
    return lowest_within(utilities, UTILITY_TIE)


async def report_cross_validation(folds: int, workdir: Path, setting: FallbackSetting) -> None:
    print(f"5. {folds}-fold cross-validation on the training data")
    predictions = await cross_validate(folds, workdir)
    intent_accuracy, key_accuracy = accuracy(predictions)
    print(
        f"    intent accuracy {intent_accuracy:.1f} %, FAQ-key accuracy {key_accuracy:.1f} % "
        f"(n={len(predictions)}, no fallback)"
    )
    print(
        f"    fallback threshold sweep (ambiguity {setting.ambiguity:.2f}; "
        f"utility = right - {WRONG_ANSWER_COST:g} x wrong):"
    )
    chosen = print_sweep(predictions, setting)
    gate = "intent x topic" if setting.joint else "intent"
    print(
        f"    chosen {gate} threshold (the lowest within {UTILITY_TIE:.0%} of the best utility): "
        f"{chosen:.2f} (config.yml: {setting.threshold:.2f})"
    )
