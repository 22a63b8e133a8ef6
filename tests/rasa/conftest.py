"""Fixtures of the assistant suite: trackers as Rasa sends them, real order stores, real servers.

Actions run in-process, the way the financial-demo tests them: build a `Tracker`, run the action
with a `CollectingDispatcher`, look at the returned events and `dispatcher.messages`. Order stores
are real databases: SQLite in a temporary folder, and a PostgreSQL server this suite starts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.order_store import OrderStore
from tests.support.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Trackers
# ---------------------------------------------------------------------------------------------


def parse_data(
    intent: str,
    confidence: float = 0.95,
    text: str = "",
    *,
    faq_key: str | None = None,
    faq_ranking: Sequence[tuple[str, float]] = (),
    intent_ranking: Sequence[tuple[str, float]] = (),
    entities: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A user message's parse data shaped like Rasa 3.6's (intent, ranking, response selector)."""
    ranking = list(intent_ranking) or [(intent, confidence)]
    data: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": name, "confidence": value} for name, value in ranking],
        "entities": list(entities),
    }
    selector_ranking = list(faq_ranking) or ([(faq_key, 0.9)] if faq_key else [])
    if selector_ranking:
        best_key, best_confidence = selector_ranking[0]
        data["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": best_key,
                    "confidence": best_confidence,
                    "utter_action": "utter_faq",
                },
                "ranking": [
                    {"id": index, "confidence": value, "intent_response_key": key}
                    for index, (key, value) in enumerate(selector_ranking)
                ],
            },
        }
    return data


def user(parse: dict[str, Any]) -> dict[str, Any]:
    return {"event": "user", "text": parse.get("text", ""), "parse_data": parse}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def make_tracker(
    events: Sequence[dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest message is the last user event in `events`."""
    latest: dict[str, Any] = next(
        (e["parse_data"] for e in reversed(events) if e["event"] == "user"), {}
    )
    return Tracker(
        sender_id="test-conversation",
        slots=dict(slots or {}),
        latest_message=latest,
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


@dataclass
class ActionResult:
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]

    def slot(self, name: str) -> Any:
        """The value the action set for `name` (KeyError if it did not set it)."""
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        if not values:
            raise KeyError(name)
        return values[-1]

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages if m.get("text")]


def run_action(action: Action, tracker: Tracker, domain: dict[str, Any]) -> ActionResult:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return ActionResult(events=list(events), messages=dispatcher.messages)


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain.yml, as the action server receives it."""
    return dict(yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------
# Order stores
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # A folder that does not exist yet: the store must create it.
    return f"sqlite:///{tmp_path / 'var' / 'orders.sqlite3'}"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[OrderStore]:
    store = OrderStore(sqlite_url, timeout_seconds=3)
    yield store
    store.dispose()


def _postgres_bin_dir() -> Path | None:
    configured = os.environ.get("PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).parent)
    return next(
        (c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a free port, in a temporary folder, stopped afterwards.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
    Only a machine without the server binaries skips; anything else that goes wrong fails.
    """
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries are not installed (set PG_BIN)")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="harbor-orders-pg-"))
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    data_dir, log_file, port = folder / "data", folder / "server.log", free_port()
    pg_ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data_dir)]

    def run(command: list[str]) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = log_file.read_text() if log_file.exists() else ""
            pytest.fail(f"{command[len(run_as)]} failed:\n{result.stdout}{result.stderr}{log}")

    try:
        run([*run_as, str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust",
             "-U", "postgres", "--no-sync"])  # fmt: skip
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run([*pg_ctl, "-l", str(log_file), "-o", options, "-w", "-t", "60", "start"])
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data_dir / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: a database server that is down."""
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers: a database that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stopping = threading.Event()

    def accept_forever() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stopping.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()
