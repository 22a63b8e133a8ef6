"""`python -m bot faq <command>`: the editor's command line.

    list | show KEY | add KEY | edit KEY | remove KEY      the topics, read and changed
    validate                                             every check, without saving anything
    publish [--wait] | rollback | history                train, check, swap the live model

`--json` prints one JSON object (`{"ok": true, ...}` or `{"ok": false, "errors": [...]}`), or for
publish and rollback one JSON line per progress event and a last `{"event": "done", ...}` line.
Exit codes: 0 done, 1 refused (the errors say why), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from bot.faq import audit, publish, validation
from bot.faq.library import FaqLibrary, LibraryError, Topic, normalise
from bot.faq.project import Project, ProjectError
from bot.faq.validation import Issue


class Output:
    """Prints results for people, or as the contract's JSON for programs."""

    def __init__(self, as_json: bool, stream: IO[str]) -> None:
        self.as_json = as_json
        self.stream = stream
        self._bar_shown = False

    def _print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.stream, flush=True)

    def result(self, data: dict[str, Any], text: str) -> int:
        if self.as_json:
            self._print(json.dumps({"ok": True, **data}, ensure_ascii=False))
        else:
            self._print(text)
        return 0

    def refused(self, issues: list[Issue], extra: dict[str, Any] | None = None) -> int:
        if self.as_json:
            body = {"ok": False, "errors": [i.as_json() for i in issues], **(extra or {})}
            self._print(json.dumps(body, ensure_ascii=False))
        else:
            for issue in issues:
                print(f"error: {issue.message}", file=sys.stderr)
        return 1

    # Streaming commands (publish, rollback).

    def progress(self, step: str, percent: int, message: str) -> None:
        if self.as_json:
            event = {"event": "progress", "step": step, "percent": percent, "message": message}
            self._print(json.dumps(event, ensure_ascii=False))
        elif self.stream.isatty():
            filled = percent * 30 // 100
            bar = "#" * filled + "-" * (30 - filled)
            self._print(f"\r[{bar}] {percent:3d}% {step}: {message[:60]:<60}", end="")
            self._bar_shown = True
        else:
            self._print(f"{percent:3d}% {step}: {message}")

    def done(self, outcome: dict[str, Any]) -> int:
        if self._bar_shown:
            self._print("")
        ok = bool(outcome.get("ok"))
        if self.as_json:
            self._print(json.dumps({"event": "done", **outcome}, ensure_ascii=False))
        elif ok:
            self._print(
                f"done in {outcome.get('seconds', 0):.0f} s: live model {outcome.get('model')}"
            )
            for warning in outcome.get("warnings", []):
                self._print(f"warning: {warning['message']}")
        else:
            for error in outcome.get("errors", []):
                print(f"error: {error['message']}", file=sys.stderr)
            for worse in outcome.get("worse_topics", []):
                print(f"  {worse['topic']}: {worse['before']} -> {worse['after']}", file=sys.stderr)
        return 0 if ok else 1


# --- commands --------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, project: Project, out: Output) -> int:
    topics = FaqLibrary(project.faq_dir).sorted_topics()
    lines = [f"{len(topics)} topics"] + [
        f"  {t.group:<10} {t.key:<28} {len(t.phrasings):>3} phrasings  {t.answer[:60]}"
        for t in topics
    ]
    return out.result({"topics": [t.summary() for t in topics]}, "\n".join(lines))


def cmd_show(args: argparse.Namespace, project: Project, out: Output) -> int:
    topic = FaqLibrary(project.faq_dir).get(args.key)
    text = "\n".join(
        [
            f"{topic.key} (group {topic.group})",
            f"answer: {topic.answer}",
            f"{len(topic.phrasings)} phrasings:",
            *(f"  - {p}" for p in topic.phrasings),
        ]
    )
    return out.result({"topic": topic.detail()}, text)


def _checked_change(
    project: Project, library: FaqLibrary, candidate: Topic, new_phrasings: list[str]
) -> tuple[list[Issue], str]:
    issues = validation.check_topics(library, project, [candidate])
    if issues or not new_phrasings:
        return issues, ""
    checker = validation.ConflictChecker(project)
    issues = checker.check((candidate.key, p) for p in new_phrasings)
    return issues, checker.source


def cmd_add(args: argparse.Namespace, project: Project, out: Output) -> int:
    library = FaqLibrary(project.faq_dir)
    if args.key in library.topics:
        raise LibraryError(
            "topic_exists",
            f"A topic called '{args.key}' already exists; edit it, or choose another name.",
            topic=args.key,
        )
    phrasings = [p for p in args.phrasing if p.strip()]
    candidate = Topic(args.key, args.group or "general", phrasings, args.answer or "")
    issues, source = _checked_change(project, library, candidate, phrasings)
    if issues:
        return out.refused(issues, {"conflict_check": source} if source else None)
    publish.remember_trained_answers(project)
    topic = library.add(args.key, phrasings, args.answer, args.group)
    details = {"group": topic.group, "phrasings": topic.phrasings, "answer": topic.answer}
    audit.record(project.var_dir, args.actor, "add", topic.key, details)
    return out.result(
        {"topic": topic.detail(), "conflict_check": source},
        f"added '{topic.key}' to {topic.group}.yml ({len(topic.phrasings)} phrasings); "
        "publish to make the assistant recognise it.",
    )


def cmd_edit(args: argparse.Namespace, project: Project, out: Output) -> int:
    library = FaqLibrary(project.faq_dir)
    current = library.get(args.key)
    adding = [p for p in args.add_phrasing if p.strip()]
    removing = [p for p in args.remove_phrasing if p.strip()]
    if not (adding or removing or args.answer is not None):
        return out.refused(
            [
                Issue(
                    "nothing_to_change",
                    "Say what to change: --add-phrasing, --remove-phrasing or --answer.",
                    topic=args.key,
                )
            ]
        )
    dropped = {normalise(p) for p in removing}
    candidate = Topic(
        current.key,
        current.group,
        [p for p in current.phrasings if normalise(p) not in dropped] + adding,
        current.answer if args.answer is None else args.answer,
    )
    issues, source = _checked_change(project, library, candidate, adding)
    if issues:
        return out.refused(issues, {"conflict_check": source} if source else None)
    publish.remember_trained_answers(project)
    previous_answer = current.answer
    topic = library.edit(args.key, adding, removing, args.answer)
    details: dict[str, Any] = {}
    if adding:
        details["added_phrasings"] = adding
    if removing:
        details["removed_phrasings"] = removing
    if args.answer is not None:
        details["answer"] = topic.answer
        details["previous_answer"] = previous_answer
    audit.record(project.var_dir, args.actor, "edit", topic.key, details)
    live_now = "the new answer is live now; " if args.answer is not None else ""
    needs_publish = "publish to retrain on the phrasings." if adding or removing else ""
    return out.result(
        {"topic": topic.detail(), "conflict_check": source},
        f"changed '{topic.key}': {live_now}{needs_publish}".rstrip("; "),
    )


def cmd_remove(args: argparse.Namespace, project: Project, out: Output) -> int:
    library = FaqLibrary(project.faq_dir)
    library.get(args.key)
    publish.remember_trained_answers(project)
    topic = library.remove(args.key)
    audit.record(project.var_dir, args.actor, "remove", topic.key, topic.detail())
    return out.result(
        {"topic": topic.detail()},
        f"removed '{topic.key}'; publish to retrain without it.",
    )


def cmd_validate(args: argparse.Namespace, project: Project, out: Output) -> int:
    issues, source = publish.validate_project(project)
    if issues:
        return out.refused(issues, {"conflict_check": source})
    return out.result({"conflict_check": source}, f"all checks passed (conflicts: {source})")


def cmd_publish(args: argparse.Namespace, project: Project, out: Output) -> int:
    outcome = publish.publish(project, args.actor, wait=args.wait, report=out.progress)
    return out.done(outcome)


def cmd_rollback(args: argparse.Namespace, project: Project, out: Output) -> int:
    outcome = publish.rollback(project, args.actor, wait=args.wait, report=out.progress)
    return out.done(outcome)


def cmd_history(args: argparse.Namespace, project: Project, out: Output) -> int:
    entries = publish.read_history(project)
    lines = [
        f"{e['at'][:19]}  {e['action']:<8} {e['actor']:<12} {e['model']}" for e in entries
    ] or ["nothing published yet"]
    return out.result({"history": entries}, "\n".join(lines))


# --- argument parsing ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--actor", default=audit.default_actor(), help="who makes the change (audit log)"
    )
    common.add_argument(
        "--project", default=None, help="project folder (default: FAQ_PROJECT_DIR or .)"
    )
    parser = argparse.ArgumentParser(
        prog="bot faq", description="Read, change and publish the assistant's FAQ topics."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("list", cmd_list, "List every topic with its number of phrasings and answer.")
    show = command("show", cmd_show, "Show one topic's phrasings and answer.")
    show.add_argument("key", help="the topic, e.g. shipping_cost")
    add = command("add", cmd_add, "Add a topic (at least 5 phrasings and an answer).")
    add.add_argument("key", help="new topic name: lowercase letters, digits, underscores")
    add.add_argument(
        "--phrasing", action="append", default=[], required=True, help="a way to ask (repeat)"
    )
    add.add_argument("--answer", required=True, help="what the assistant answers")
    add.add_argument("--group", default=None, help="file under data/nlu/faq (default: general)")
    edit = command("edit", cmd_edit, "Add or remove phrasings, or change the answer.")
    edit.add_argument("key")
    edit.add_argument("--add-phrasing", action="append", default=[], metavar="TEXT")
    edit.add_argument("--remove-phrasing", action="append", default=[], metavar="TEXT")
    edit.add_argument("--answer", default=None, help="new answer; live without publishing")
    remove = command("remove", cmd_remove, "Remove a topic (publish to retrain without it).")
    remove.add_argument("key")
    command("validate", cmd_validate, "Run every check on the current topics.")
    for name, handler, text in (
        ("publish", cmd_publish, "Validate, train, check and swap in a new live model."),
        ("rollback", cmd_rollback, "Put the previous published model and its answers back."),
    ):
        sub = command(name, handler, text)
        sub.add_argument(
            "--wait", action="store_true", help="wait for another publish instead of stopping"
        )
    command("history", cmd_history, "List published models, newest last.")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(args.json, sys.stdout)
    try:
        project = Project.locate(args.project)
        # Rasa prints notes to stdout; only this command's own output may go there.
        with contextlib.redirect_stdout(sys.stderr):
            return int(args.handler(args, project, out))
    except ProjectError as error:
        return out.refused([Issue("project", str(error))])
    except LibraryError as error:
        return out.refused([Issue(error.code, error.message, topic=error.topic)])
