"""Triage customer messages from standard input, one per line, as JSON lines.

    echo "i want to speak to a human" | python -m handoff.assistant.triage

Each output line has ``text``, ``escalate``, ``reason``, ``priority``, ``scores`` and ``cues``.
Lines are triaged independently (no conversation context). Uses the same
:meth:`TriageModel.load` as the service, so ``TRIAGE_MODEL_DIR`` and
``TRIAGE_THRESHOLD_<LABEL>`` apply here too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import TriageConfigError
from .model import TriageModel, TriageModelMissing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.assistant.triage", description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model directory to load")
    args = parser.parse_args(argv)
    try:
        model = TriageModel.load(args.model)
    except (TriageModelMissing, TriageConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        verdict = model.assess(text)
        print(json.dumps({"text": text, **verdict.to_dict()}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
