"""The real stack, started by the launcher `make run` uses: Redis, Rasa with the trained model,
the action server, the NLG server and the handoff service, on free ports, with a var/ folder of
its own, serving a throwaway copy of the project (FAQ_PROJECT_DIR, HARBOR_MODELS_DIR), so it
never touches a developer's running stack, the repository's data or its models.

One is started per test session (`stack` in tests/conftest.py) and shared by the end-to-end and
the real-stack fault tests: loading Rasa's model is the slow part of starting it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.project import copy_project
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
# The shared stack's order database hangs (SilentDatabase) and the fault tests measure answers
# against these: short enough for a test, long enough for a busy two-core machine's turns.
ORDERS_DB_TIMEOUT = 2.0
BOT_TURN_TIMEOUT = 5.0


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    url: str
    ports: dict[str, int]
    var_dir: Path
    env: dict[str, str]
    output: Path
    project: Path | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/customer"

    def admin_password(self) -> str:
        return (self.var_dir / "admin-password").read_text().strip()

    def rasa_token(self) -> str:
        return (self.var_dir / "rasa-token").read_text().strip()


def stack_env(var_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {
        "HANDOFF_PORT": free_port(),
        "RASA_PORT": free_port(),
        "ACTIONS_PORT": free_port(),
        "PRIVATE_REDIS_PORT": free_port(),
        "NLG_PORT": free_port(),
        # The local SMTP catcher and the service's inbound mail (make run's email loop).
        "MAIL_CATCHER_PORT": free_port(),
        "INBOUND_SMTP_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({k: str(v) for k, v in ports.items()})
    env["HARBOR_VAR_DIR"] = str(var_dir)
    env["ORDERS_DATABASE_URL"] = f"sqlite:///{var_dir / 'orders.sqlite3'}"
    # The email loop in a test's time (tests/e2e/test_email_channel.py): an agent's message to a
    # customer with no socket goes by email at once, and a follow-up is due within seconds.
    env["EMAIL_AFTER_AWAY_SECONDS"] = "0"
    env["FOLLOW_UP_DAYS"] = "0.00005"
    return env, ports


def start_stack(var_dir: Path, extra_env: dict[str, str] | None = None) -> RunningStack:
    env, ports = stack_env(var_dir)
    env.update(extra_env or {})
    var_dir.mkdir(parents=True, exist_ok=True)
    output = var_dir / "launcher.out"
    process = subprocess.Popen(
        [str(RASA_PYTHON), "-m", "bot.launcher"],
        cwd=ROOT,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{ports['HANDOFF_PORT']}"
    project = Path(env["FAQ_PROJECT_DIR"]) if "FAQ_PROJECT_DIR" in env else None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the launcher exited: {output.read_text()[-3000:]}")
        if "Harbor Assist is running." in output.read_text():
            return RunningStack(process, url, ports, var_dir, env, output, project)
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"the stack did not start in time: {output.read_text()[-3000:]}")


def stop_stack(stack: RunningStack) -> int:
    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(timeout=60)


def start_shared_stack(workdir: Path, orders_port: int) -> RunningStack:
    """The session's stack: a copy of the project, a models folder holding the current model
    (so the launcher has nothing to train; publishes add to it and rollback finds the model it
    replaced there), a Rasa training cache of its own (Rasa's is not safe for two trainings at
    once) and an order database on `orders_port`."""
    project = copy_project(workdir / "project")
    models = project / "models"
    models.mkdir()
    current = subprocess.run(
        [str(RASA_PYTHON), "-m", "bot.model"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy2(current, models / Path(current).name)
    return start_stack(
        workdir / "var",
        {
            "FAQ_PROJECT_DIR": str(project),
            "HARBOR_MODELS_DIR": str(models),
            "RASA_CACHE_DIRECTORY": str(workdir / "rasa-cache"),
            "ORDERS_DATABASE_URL": f"postgresql+psycopg2://shop:shop@127.0.0.1:{orders_port}/orders",
            "ORDERS_DB_TIMEOUT_SECONDS": str(ORDERS_DB_TIMEOUT),
            "BOT_TURN_TIMEOUT_SECONDS": str(BOT_TURN_TIMEOUT),
        },
    )


class SilentDatabase:
    """A TCP port that accepts connections and never says a word (a database that hangs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.held: list[socket.socket] = []
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        listener = self.listener
        assert listener is not None
        # Ends when stop() closes the listener (accept then raises OSError).
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                self.held.append(connection)

    def stop(self) -> None:
        """From now on the port refuses connections (a database that is down)."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for connection in self.held:
            connection.close()


def http_json(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


async def chat(stack: RunningStack, messages: list[str]) -> list[dict[str, Any]]:
    """Send messages one by one, each after the bot's reply to the previous; return all frames,
    the welcome (with the conversation's id) first."""
    async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url) as ws:
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=10)
        assert welcome["type"] == "welcome"
        frames: list[dict[str, Any]] = [welcome]
        for i, text in enumerate(messages):
            await ws.send_json({"type": "message", "id": f"e2e{i}", "text": text})
            while True:
                frame = await ws.receive_json(timeout=30)
                frames.append(frame)
                if (
                    frame.get("type") == "event"
                    and frame.get("from") in {"bot", "system"}
                    and (
                        frame.get("kind") == "message"
                        or frame.get("event") not in {None, "started"}
                    )
                ):
                    break
    return frames
