"""A scripted stand-in for `bot faq` in the handoff suite: same command line, same JSON answers.

The handoff tests use it where the behaviour under test is the service's own (roles, CSRF,
one publish at a time, progress polling), so they need no Rasa environment and run in
milliseconds. The end-to-end tests drive the real tool.

State lives in `<project>/topics.json`; every call is appended to `<project>/calls.jsonl`.
`SCRIPTED_PUBLISH_SECONDS` makes publish take that long (in four progress steps); publishes and
rollbacks are kept in `<project>/history.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bot faq")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--actor", default="nobody")
    parser.add_argument("--project", required=True)
    parser.add_argument("--phrasing", action="append", default=[])
    parser.add_argument("--add-phrasing", action="append", default=[])
    parser.add_argument("--remove-phrasing", action="append", default=[])
    parser.add_argument("--answer")
    parser.add_argument("--group")
    parser.add_argument("key", nargs="?")
    command, args = argv[0], parser.parse_args(argv[1:])
    project = Path(args.project)
    with (project / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps({"argv": argv, "var": os.environ.get("HARBOR_VAR_DIR")}) + "\n")
    state_file = project / "topics.json"
    topics: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}

    def refuse(code: str, message: str, **extra: Any) -> int:
        print(json.dumps({"ok": False, "errors": [{"code": code, "message": message, **extra}]}))
        return 1

    def answer(**fields: Any) -> int:
        print(json.dumps({"ok": True, **fields}))
        return 0

    if command == "list":
        return answer(
            topics=[
                {
                    "key": k,
                    "group": t["group"],
                    "phrasings": len(t["phrasings"]),
                    "answer": t["answer"][:120],
                }
                for k, t in sorted(topics.items())
            ]
        )
    if command == "show":
        if args.key not in topics:
            return refuse("unknown_topic", f"There is no topic called {args.key}.")
        return answer(topic={"key": args.key, **topics[args.key]})
    if command == "add":
        if not args.key or not args.key.replace("_", "").isalnum() or not args.key.islower():
            return refuse(
                "key_format", "A topic key uses lowercase letters, digits and _.", topic=args.key
            )
        if args.key in topics:
            return refuse("topic_exists", f"There is already a topic called {args.key}.")
        if len(args.phrasing) < 5:
            return refuse(
                "too_few_phrasings",
                f"A topic needs at least 5 phrasings; {args.key} has {len(args.phrasing)}.",
                topic=args.key,
            )
        topics[args.key] = {
            "group": args.group or "misc",
            "phrasings": args.phrasing,
            "answer": args.answer or "",
        }
    elif command == "edit":
        if args.key not in topics:
            return refuse("unknown_topic", f"There is no topic called {args.key}.")
        topic = topics[args.key]
        topic["phrasings"] = [
            p for p in topic["phrasings"] + args.add_phrasing if p not in args.remove_phrasing
        ]
        if args.answer is not None:
            topic["answer"] = args.answer
    elif command == "remove":
        if topics.pop(args.key, None) is None:
            return refuse("unknown_topic", f"There is no topic called {args.key}.")
    elif command == "validate":
        return answer(messages=[])
    elif command == "history":
        return answer(history=read_history(project))
    elif command in {"publish", "rollback"}:
        return publish(project, command, args.actor)
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    state_file.write_text(json.dumps(topics))
    return answer(topic={"key": args.key, **topics.get(args.key, {})})


def read_history(project: Path) -> list[dict[str, Any]]:
    path = project / "history.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def publish(project: Path, command: str, actor: str) -> int:
    """Progress lines, then `done`; the history gains an entry, as the real tool's does."""
    seconds = float(os.environ.get("SCRIPTED_PUBLISH_SECONDS", "0"))
    steps = ((0, "validate"), (25, "train"), (60, "check"), (90, "swap"))
    for percent, step in steps if command == "publish" else steps[-1:]:
        event = {"event": "progress", "step": step, "percent": percent, "message": f"{step}…"}
        print(json.dumps(event), flush=True)
        time.sleep(seconds / len(steps))
    history = read_history(project)
    live = history[-1]["model"] if history else "harbor-initial"
    if command == "publish":
        model = f"harbor-{len(history) + 1:04d}"
    else:
        published = [e for e in history if e["action"] == "publish" and e["model"] == live]
        if not published:
            error = {"code": "nothing_to_roll_back", "message": "There is nothing to go back to."}
            print(json.dumps({"event": "done", "ok": False, "errors": [error]}), flush=True)
            return 1
        model = published[-1]["previous_model"]
    history.append(
        {
            "at": "2026-11-22T10:00:00+00:00",
            "actor": actor,
            "action": command,
            "model": model,
            "previous_model": live,
            "seconds": seconds,
        }
    )
    (project / "history.json").write_text(json.dumps(history))
    done = {"event": "done", "ok": True, "model": model, "live_model": model, "seconds": seconds}
    print(json.dumps(done), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
