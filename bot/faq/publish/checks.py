"""The checks before publishing: every static check, likely conflicts of the phrasings the live
model was not trained on, and `rasa data validate`."""

from __future__ import annotations

from bot.faq import validation
from bot.faq.library import FaqLibrary, normalise
from bot.faq.project import Project
from bot.faq.publish.live import live_model_names, model_name_of
from bot.faq.publish.snapshots import snapshot_dir
from bot.faq.validation import Issue


def pending_phrasings(project: Project, library: FaqLibrary) -> list[tuple[str, str]] | None:
    """Phrasings the live model was not trained on, or None when that is unknown."""
    names = [model_name_of(n) for n in live_model_names(project).values()]
    live = next((n for n in names if n), None)
    if live is None:
        return None
    snapshot = snapshot_dir(project, live)
    if not snapshot.is_dir():
        return None
    trained: set[tuple[str, str]] = set()
    for topic in FaqLibrary(snapshot).topics.values():
        trained.update((topic.key, normalise(p)) for p in topic.phrasings)
    return [
        (topic.key, phrasing)
        for topic in library.sorted_topics()
        for phrasing in topic.phrasings
        if (topic.key, normalise(phrasing)) not in trained
    ]


def validate_project(project: Project) -> tuple[list[Issue], str]:
    """Every check on the project as it is; returns the issues and how conflicts were checked."""
    library = FaqLibrary(project.faq_dir)
    issues = validation.check_topics(library, project)
    pending = pending_phrasings(project, library)
    if pending is None:
        source = "not checked (no record of what the live model was trained on)"
    elif not pending:
        source = "nothing new to check"
    else:
        checker = validation.ConflictChecker(project)
        issues += checker.check(pending)
        source = checker.source
    issues += validation.rasa_validate(project.root)
    return issues, source
