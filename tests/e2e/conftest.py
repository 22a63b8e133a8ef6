"""The real stack for end-to-end tests: Redis, Rasa with the trained model, actions, handoff.

It is started once per test session by the same launcher `make run` uses, on free ports and
with its own var/ folder, so it never touches a developer's running stack or data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    url: str
    ports: dict[str, int]
    var_dir: Path
    env: dict[str, str]
    output: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/customer"

    def admin_password(self) -> str:
        return (self.var_dir / "admin-password").read_text().strip()


def stack_env(var_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {
        "HANDOFF_PORT": free_port(),
        "RASA_PORT": free_port(),
        "ACTIONS_PORT": free_port(),
        "PRIVATE_REDIS_PORT": free_port(),
        "NLG_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({k: str(v) for k, v in ports.items()})
    env["HARBOR_VAR_DIR"] = str(var_dir)
    env["ORDERS_DATABASE_URL"] = f"sqlite:///{var_dir / 'orders.sqlite3'}"
    return env, ports


def start_stack(var_dir: Path, extra_env: dict[str, str] | None = None) -> RunningStack:
    env, ports = stack_env(var_dir)
    env.update(extra_env or {})
    var_dir.mkdir(parents=True, exist_ok=True)
    output = var_dir / "launcher.out"
    process = subprocess.Popen(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot.launcher"],
        cwd=ROOT,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{ports['HANDOFF_PORT']}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the launcher exited: {output.read_text()[-3000:]}")
        if "Harbor Assist is running." in output.read_text():
            return RunningStack(process, url, ports, var_dir, env, output)
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"the stack did not start in time: {output.read_text()[-3000:]}")


def stop_stack(stack: RunningStack) -> int:
    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(timeout=60)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("stack-var"))
    yield running
    if running.process.poll() is None:
        stop_stack(running)


def http_json(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


async def chat(stack: RunningStack, messages: list[str]) -> list[dict[str, Any]]:
    """Send messages one by one, each after the bot's reply to the previous; return all frames."""
    frames: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url) as ws:
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=10)
        assert welcome["type"] == "welcome"
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
