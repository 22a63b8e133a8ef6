"""The live assistant: which model each Rasa server serves, and swapping in another.

Swapping is all or nothing: if one server refuses the new model, the servers that took it get
their previous model back, so customers never meet two models at once.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from bot.faq.project import Project
from bot.rasa_http import RasaClient, RasaUnreachable

# Loading a model into Rasa takes a while; a publish waits for it rather than fail.
RASA_TIMEOUT_SECONDS = 180


def _rasa(project: Project, url: str) -> RasaClient:
    return RasaClient(url, project.rasa_token(), RASA_TIMEOUT_SECONDS)


def live_model_names(project: Project) -> dict[str, str | None]:
    """Rasa URL -> file name of the model it serves (None when it does not answer)."""
    names: dict[str, str | None] = {}
    for url in project.rasa_urls():
        try:
            reply = _rasa(project, url).get("/status")
        except RasaUnreachable:
            names[url] = None
            continue
        names[url] = Path(str(reply.body.get("model_file"))).name if reply.status == 200 else None
    return names


def model_name_of(file_name: str | None) -> str | None:
    if not file_name:
        return None
    return file_name.removesuffix(".tar.gz")


def swap_model(project: Project, model_path: Path, previous: dict[str, str | None]) -> list[str]:
    """Load `model_path` into every Rasa server; on any failure put the previous ones back.

    Returns the errors (empty when every server now serves the new model).
    """
    swapped: list[str] = []
    errors: list[str] = []
    for url in project.rasa_urls():
        try:
            reply = _rasa(project, url).put("/model", {"model_file": str(model_path)})
        except RasaUnreachable as error:
            errors.append(f"the assistant at {url} did not answer ({error})")
            break
        if reply.status != 204:
            errors.append(
                f"the assistant at {url} refused the model ({reply.status}: {reply.body})"
            )
            break
        swapped.append(url)
    if errors:
        for url in swapped:
            old = previous.get(url)
            if old:
                with contextlib.suppress(RasaUnreachable):
                    _rasa(project, url).put("/model", {"model_file": str(project.models_dir / old)})
    return errors
