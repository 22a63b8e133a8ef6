"""The websocket protocols' JSON Schemas in handoff/schema/, generated from the frame models.

    python -m handoff.web.schemas --write   # regenerate handoff/schema/*.json
    python -m handoff.web.schemas --check   # exit 1 (naming the files) when they are stale

The files are what clients and the tests (tests/app/protocol.py) validate frames against; the
models (gateway/frames.py, console/frames.py) are what the server validates with. Writing the
files from the models, and checking them in the tests, is what keeps the two the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handoff.console.frames import agent_protocol_schema
from handoff.gateway.frames import customer_protocol_schema

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"
SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "customer-v1.json": customer_protocol_schema,
    "agent-v1.json": agent_protocol_schema,
}


def render(schema: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indents, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """File name -> the text the models give."""
    return {name: render(schema()) for name, schema in SCHEMAS.items()}


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """The schema files that differ from what the models give (or are missing)."""
    found = []
    for name, text in generated().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            found.append(name)
    return found


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write every schema file that changed; the names written."""
    changed = stale(directory)
    texts = generated()
    for name in changed:
        (directory / name).write_text(texts[name], encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.web.schemas", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the schema files")
    action.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    if args.write:
        for name in write():
            print(f"wrote handoff/schema/{name}")
        return 0
    outdated = stale()
    for name in outdated:
        print(
            f"handoff/schema/{name} differs from its models; "
            "run `python -m handoff.web.schemas --write`",
            file=sys.stderr,
        )
    return 1 if outdated else 0


if __name__ == "__main__":
    sys.exit(main())
