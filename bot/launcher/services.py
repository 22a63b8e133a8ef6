"""The children of the stack, in the order they must start, and how each shows it is ready.

redis-server   (only without REDIS_URL)      ready when its port accepts connections
mail catcher   (only without SMTP_URL)       plays the customers' mail provider; ready when its
                                             SMTP port accepts connections
model check    the assistant model and the triage pipeline, trained when their inputs changed
NLG server     the answers Rasa sends (endpoints.yml `nlg:`), so it starts first
action server, Rasa, handoff service         started together, then waited for
"""

from __future__ import annotations

import contextlib
import socket

from bot import model
from bot.launcher.config import StackConfig, run_in_service_env, venv_bin
from bot.launcher.errors import LaunchError
from bot.launcher.supervisor import Stack
from bot.rasa_http import RasaClient, answers


def tcp_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def start_stack(config: StackConfig, env: dict[str, str], stack: Stack) -> None:
    if not config.redis_url:
        data = config.var_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        redis = stack.start(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(config.private_redis_port),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--protected-mode",
                "yes",
            ],
            env,
        )
        stack.wait_until(redis, lambda: tcp_open(config.private_redis_port), 15)

    if config.runs_mail_catcher:
        start_mail_catcher(config, env, stack)

    print("==> checking the assistant model and the triage pipeline", flush=True)
    try:
        model_path = model.ensure_model(models_dir=config.models_dir)
    except model.TrainingFailed as error:
        raise LaunchError(f"The assistant could not be trained: {error}") from None
    failure = run_in_service_env(["-m", "handoff.assistant.triage.train", "--if-stale"], env)
    if failure:
        raise LaunchError(f"The escalation triage pipeline could not be trained: {failure}")

    # The answers Rasa sends come from here (endpoints.yml `nlg:`), so it must be up first.
    nlg = stack.start(
        "nlg",
        [venv_bin("rasa", "python"), "-m", "bot.nlg_server", "--port", str(config.nlg_port)],
        env,
    )
    stack.wait_until(nlg, lambda: answers(f"http://127.0.0.1:{config.nlg_port}/health"), 60)
    actions = stack.start(
        "actions",
        [
            venv_bin("rasa", "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(config.actions_port),
        ],
        env,
    )
    rasa = stack.start(
        "rasa",
        [
            # Rasa's command line with the action answers checked by a schema compiled once
            # (bot/rasa_server.py: 80 ms less on an order-status turn).
            venv_bin("rasa", "python"),
            "-m",
            "bot.rasa_server",
            "run",
            "--enable-api",
            # One argument with "=": a token may begin with "-" (token_urlsafe), which as a
            # separate argument Rasa's parser would take for an option and refuse to start.
            f"--auth-token={env['RASA_TOKEN']}",
            "--interface",
            "127.0.0.1",
            "--port",
            str(config.rasa_port),
            "--model",
            str(model_path),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ],
        env,
    )
    handoff = stack.start("handoff", [venv_bin("app", "python"), "-m", "handoff"], env)
    stack.wait_until(handoff, lambda: answers(f"http://127.0.0.1:{config.handoff_port}/livez"), 60)
    stack.wait_until(actions, lambda: answers(f"http://127.0.0.1:{config.actions_port}/health"), 90)
    rasa_api = RasaClient(f"http://127.0.0.1:{config.rasa_port}", env["RASA_TOKEN"])
    stack.wait_until(rasa, lambda: answers(rasa_api.address("/status")), 240)


def start_mail_catcher(config: StackConfig, env: dict[str, str], stack: Stack) -> None:
    """The local SMTP catcher (handoff/email/catcher.py), in the service's environment (it has
    aiosmtpd). It keeps what it catches in the stack's Redis, found there by REDIS_URL and
    REDIS_PREFIX from its environment: a Redis password in its arguments would show in `ps`."""
    catcher = stack.start(
        "mail-catcher",
        [
            venv_bin("app", "python"),
            "-m",
            "handoff.email.catcher",
            "--listen",
            f"127.0.0.1:{config.mail_catcher_port}",
        ],
        env,
    )
    stack.wait_until(catcher, lambda: tcp_open(config.mail_catcher_port), 30)
