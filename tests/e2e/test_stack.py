"""The whole stack, for real: a customer message goes websocket → handoff → Rasa → back."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from typing import Any

import pytest

from tests.support.stack import ROOT, RunningStack, chat, http_json, stop_stack

pytestmark = pytest.mark.e2e


def bot_texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in frames if f.get("type") == "event" and f.get("from") == "bot"]


def test_a_customer_message_round_trips_through_the_real_rasa(stack: RunningStack) -> None:
    frames = asyncio.run(chat(stack, ["hi", "how long does shipping take?"]))
    texts = bot_texts(frames)
    assert texts, frames
    assert any("3–5 business days" in t for t in texts), texts


def test_a_question_after_a_story_gets_its_answer(stack: RunningStack) -> None:
    # The message a new user tried before the sentence encoder: it got "please rephrase".
    frames = asyncio.run(
        chat(stack, ["I bought a lamp 2 weeks ago and it arrived cracked, what do I do"])
    )
    assert any("report a damaged item" in t for t in bot_texts(frames)), frames


def test_a_hint_of_self_harm_is_answered_with_where_help_is(stack: RunningStack) -> None:
    frames = asyncio.run(
        chat(stack, ["my order is late again and honestly i dont want to be here anymore"])
    )
    texts = bot_texts(frames)
    assert any("988" in t and "person" in t for t in texts), frames


def test_health_and_metrics_report_every_dependency_up(stack: RunningStack) -> None:
    status, body = http_json(stack.url + "/healthz")
    checks = json.loads(body)["checks"]
    assert status == 200, checks
    assert checks["redis"]["ok"] and checks["rasa"]["ok"] and checks["triage"]["ok"]
    status, body = http_json(stack.url + "/metrics")
    assert status == 200 and b"harbor_customer_messages" in body


def test_private_services_listen_on_loopback_only(stack: RunningStack) -> None:
    """Rasa, the action server and Redis must not be reachable from outside this machine."""
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    for name in ("RASA_PORT", "ACTIONS_PORT", "PRIVATE_REDIS_PORT"):
        port = stack.ports[name]
        local = [
            line.split()[3]
            for line in listening.splitlines()
            if line.split()[3].endswith(f":{port}")
        ]
        assert local, f"{name} {port} is not listening"
        assert all(addr.startswith(("127.0.0.1:", "[::1]:")) for addr in local), (name, local)


def test_rasa_http_api_refuses_requests_without_the_token(stack: RunningStack) -> None:
    rasa = f"http://127.0.0.1:{stack.ports['RASA_PORT']}"
    status, _ = http_json(rasa + "/status")
    assert status == 401
    token = (stack.var_dir / "rasa-token").read_text().strip()
    status, _ = http_json(f"{rasa}/status?token={token}")
    assert status == 200


def test_a_second_launcher_says_it_is_already_running(stack: RunningStack) -> None:
    second = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot.launcher"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr and second.stderr.count("\n") == 1


# Last of the session (tests/conftest.py): it ends the stack every other test shares.
@pytest.mark.stops_stack
def test_ctrl_c_stops_every_process_it_started(stack: RunningStack) -> None:
    own = stack
    pgroup_pids = subprocess.run(
        ["pgrep", "-P", str(own.process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert len(pgroup_pids) >= 4  # redis, actions, rasa, handoff
    assert stop_stack(own) == 0
    for pid in pgroup_pids:
        alive = subprocess.run(["kill", "-0", pid], capture_output=True, check=False)
        assert alive.returncode != 0, f"process {pid} outlived the launcher"
    for port in own.ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
