"""Where the trained triage pipeline lives and how sure it must be before a label escalates.

Thresholds are resolved in three layers, later ones winning:

1. the defaults of :class:`TriageThresholds` (chosen by cross-validation on
   ``data/triage/train.jsonl`` and copied here so a model without its thresholds file still
   behaves sensibly);
2. ``thresholds.json`` written next to the model by training (the cross-validated values for
   exactly that model);
3. environment variables ``TRIAGE_THRESHOLD_<LABEL>``, e.g. ``TRIAGE_THRESHOLD_ANGER=0.7``,
   so an operator can make one reason more or less eager without retraining.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .reasons import TRIAGE_LABELS

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "triage"
MODEL_DIR_ENV = "TRIAGE_MODEL_DIR"
THRESHOLD_ENV_PREFIX = "TRIAGE_THRESHOLD_"
THRESHOLDS_FILE = "thresholds.json"
FINGERPRINT_FILE = "fingerprint.txt"
HEAD_FILE = "sentence_head.npz"
# A copy of the shipped displeasure weights (data/triage/displeasure.npz), so a trained model
# directory is all a replica needs.
DISPLEASURE_FILE = "displeasure.npz"


class TriageConfigError(ValueError):
    """A threshold override is malformed; the message names where it came from."""


def model_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory the service loads the pipeline from: ``$TRIAGE_MODEL_DIR`` or the default."""
    env = os.environ if environ is None else environ
    override = env.get(MODEL_DIR_ENV, "").strip()
    return Path(override) if override else DEFAULT_MODEL_DIR


@dataclass(frozen=True)
class TriageThresholds:
    """Minimum score (0..1) at which each label escalates the conversation.

    Defaults are the cross-validated values from the last training run on the shipped data
    (``python -m handoff.assistant.triage.train`` prints them); see docs/triage.md.
    """

    crisis: float = 0.34
    risk: float = 0.52
    distress: float = 0.43
    anger: float = 0.42
    frustration: float = 0.45
    complex: float = 0.45
    human_request: float = 0.39

    def __post_init__(self) -> None:
        for label, value in self.to_dict().items():
            if not 0.0 < value <= 1.0:
                raise TriageConfigError(f"threshold for {label} must be in (0, 1], got {value}")

    def for_label(self, label: str) -> float:
        value: float = getattr(self, label)
        return value

    def to_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}

    def merged(self, overrides: Mapping[str, float]) -> TriageThresholds:
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise TriageConfigError(f"unknown triage labels in thresholds: {sorted(unknown)}")
        return replace(self, **{key: float(value) for key, value in overrides.items()})

    @classmethod
    def from_file(cls, path: Path, base: TriageThresholds | None = None) -> TriageThresholds:
        start = base if base is not None else cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TriageConfigError(f"cannot read triage thresholds from {path}: {exc}") from exc
        if not isinstance(raw, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()
        ):
            raise TriageConfigError(f"{path} must be a JSON object of label -> number")
        return start.merged(raw)

    def with_env(self, environ: Mapping[str, str] | None = None) -> TriageThresholds:
        env = os.environ if environ is None else environ
        overrides: dict[str, float] = {}
        for label in TRIAGE_LABELS:
            name = THRESHOLD_ENV_PREFIX + label.upper()
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                overrides[label] = float(raw)
            except ValueError:
                raise TriageConfigError(f"{name}={raw!r} must be a number in (0, 1]") from None
        try:
            return self.merged(overrides)
        except TriageConfigError as exc:
            names = ", ".join(THRESHOLD_ENV_PREFIX + k.upper() for k in overrides)
            raise TriageConfigError(f"{names}: {exc}") from None

    @classmethod
    def resolve(
        cls, model_path: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> TriageThresholds:
        """Defaults, then the model's thresholds.json if present, then the environment."""
        thresholds = cls()
        if model_path is not None and (model_path / THRESHOLDS_FILE).is_file():
            thresholds = cls.from_file(model_path / THRESHOLDS_FILE, thresholds)
        return thresholds.with_env(environ)
