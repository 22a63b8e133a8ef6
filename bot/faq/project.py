"""Where an editor's project lives and how to reach the running assistant.

    <project>/data/nlu/faq/*.yml     topics: `faq/<key>` phrasings and `utter_faq/<key>` answers
    <project>/models/                trained models (named by bot.model's fingerprint)
    <var>/faq-audit.jsonl            who changed what, one JSON line per change
    <var>/faq-publish/               publish lock, history, snapshots of the answers per model

The var folder is HARBOR_VAR_DIR or <project>/var, as for the launcher. Rasa's addresses and
token come from RASA_URLS / RASA_TOKEN (or <var>/rasa-token), as for the handoff service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RASA_URL = "http://127.0.0.1:5005"


class ProjectError(Exception):
    """The project folder is not usable; the message says why in one sentence."""


@dataclass(frozen=True)
class Project:
    """One assistant project: its training data, models and run-time folder."""

    root: Path

    @classmethod
    def locate(cls, given: str | None) -> Project:
        """The project named by --project, else FAQ_PROJECT_DIR, else the current directory."""
        raw = given or os.environ.get("FAQ_PROJECT_DIR") or os.getcwd()
        root = Path(raw).expanduser().resolve()
        if not (root / "domain.yml").is_file() or not (root / "config.yml").is_file():
            raise ProjectError(
                f"{root} is not an assistant project (config.yml and domain.yml are missing); "
                "run the command from the project folder or pass --project DIR."
            )
        return cls(root)

    @property
    def faq_dir(self) -> Path:
        return self.root / "data" / "nlu" / "faq"

    @property
    def nlu_dir(self) -> Path:
        return self.root / "data" / "nlu"

    @property
    def models_dir(self) -> Path:
        return Path(os.environ.get("HARBOR_MODELS_DIR") or self.root / "models")

    @property
    def var_dir(self) -> Path:
        return Path(os.environ.get("HARBOR_VAR_DIR") or self.root / "var")

    @property
    def publish_dir(self) -> Path:
        return self.var_dir / "faq-publish"

    @property
    def conversations_dir(self) -> Path:
        return self.root / "tests" / "conversations"

    @property
    def heldout_file(self) -> Path:
        return self.root / "tests" / "nlu" / "faq_heldout.yml"

    def rasa_urls(self) -> list[str]:
        raw = os.environ.get("RASA_URLS") or DEFAULT_RASA_URL
        return [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]

    def rasa_token(self) -> str:
        token = os.environ.get("RASA_TOKEN", "").strip()
        if token:
            return token
        path = self.var_dir / "rasa-token"
        return path.read_text().strip() if path.is_file() else ""
