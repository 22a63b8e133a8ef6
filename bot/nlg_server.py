"""The assistant's answers, served to Rasa over its NLG endpoint so answer edits go live at once.

    Rasa (any replica) --POST /nlg {"response": "utter_faq/shipping_cost", "tracker": ...}-->
        this server: responses of domain.yml + data/nlu/**/*.yml, re-read when a file changes
        rendered by Rasa's own TemplatedNaturalLanguageGenerator (variations, conditions,
        channels, {slot} interpolation: exactly what Rasa does without an NLG endpoint)

The model decides *which* response (intent, FAQ topic, rule); the text comes from the files at
the moment of the turn. An editor's `bot faq edit KEY --answer ...` therefore reaches the next
customer turn without retraining. A response that disappears from the files (a removed topic
not yet published) is still answered from memory, so the live model never points at nothing.

Run by the launcher on 127.0.0.1:NLG_PORT; `GET /health` says how many responses it knows.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("harbor.nlg")


def project_root() -> Path:
    return Path(os.environ.get("FAQ_PROJECT_DIR") or ROOT).resolve()


class ResponseBook:
    """The responses of one project, re-read whenever one of their files changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        nlu = self.root / "data" / "nlu"
        found = sorted(nlu.rglob("*.yml")) if nlu.is_dir() else []
        return [self.root / "domain.yml", *found]

    def _current_signature(self) -> tuple[tuple[str, int, int], ...]:
        signature = []
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:
                continue
            # Editors replace files atomically (a new inode), which also catches two writes
            # within the file system's timestamp resolution.
            signature.append((str(path), stat.st_mtime_ns ^ stat.st_ino, stat.st_size))
        return tuple(signature)

    def responses(self) -> dict[str, list[dict[str, Any]]]:
        signature = self._current_signature()
        if signature == self._signature:
            return self._responses
        with self._lock:
            if signature != self._signature:
                self._load(signature)
        return self._responses

    def _load(self, signature: tuple[tuple[str, int, int], ...]) -> None:
        # Start from what is known: a response removed from the files stays answerable until
        # a model that no longer predicts it is published.
        merged = dict(self._responses)
        for path_text, _, _ in signature:
            path = Path(path_text)
            try:
                document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as error:
                # A file caught half-written or broken by hand: keep the answers we had.
                logger.warning("could not read %s (%s); keeping its previous answers", path, error)
                continue
            responses = document.get("responses") if isinstance(document, dict) else None
            if isinstance(responses, dict):
                for name, variations in responses.items():
                    if isinstance(variations, list):
                        merged[str(name)] = variations
        self._responses = merged
        self._signature = signature
        logger.info("loaded %d responses from %s", len(merged), self.root)


async def generate(request: web.Request) -> web.Response:
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

    book: ResponseBook = request.app[BOOK]
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON body") from None
    name = str(body.get("response") or "")
    tracker = body.get("tracker") or {}
    slots = tracker.get("slots") or {}
    channel = str((body.get("channel") or {}).get("name") or "")
    arguments = body.get("arguments") or {}
    generator = TemplatedNaturalLanguageGenerator(book.responses())
    message = generator.generate_from_slots(name, slots, channel, **arguments)
    if message is None:
        logger.error("no response called %r in %s", name, book.root)
        return web.json_response({})
    # Rasa validates the reply against its schema, where absent beats null.
    return web.json_response({k: v for k, v in message.items() if v is not None})


async def health(request: web.Request) -> web.Response:
    book: ResponseBook = request.app[BOOK]
    return web.json_response({"status": "ok", "responses": len(book.responses())})


BOOK = web.AppKey("book", ResponseBook)


def create_app(root: Path) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)  # trackers can be long
    app[BOOK] = ResponseBook(root)
    app.router.add_post("/nlg", generate)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the assistant's responses to Rasa.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NLG_PORT", "5056")))
    parser.add_argument("--project", default=None, help="project root (default FAQ_PROJECT_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    root = Path(args.project).resolve() if args.project else project_root()
    app = create_app(root)
    app[BOOK].responses()  # fail at start, not at the first customer turn
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
