"""`python -m bot.launcher`: hold the folder's lock, check, start the stack, watch it, stop it.

Ctrl-C or SIGTERM stop every child, whether the stack is still starting or up; a child that
stops on its own stops the whole stack with the last line of its log.
"""

from __future__ import annotations

import signal
import sys
import time

from bot.launcher.config import StackConfig
from bot.launcher.environment import stack_env
from bot.launcher.errors import LaunchError
from bot.launcher.lock import single_instance
from bot.launcher.preflight import check_before_start, check_service_settings
from bot.launcher.services import start_stack
from bot.launcher.supervisor import Stack, last_line


def banner(config: StackConfig, env: dict[str, str]) -> str:
    url = config.public_url
    return "\n".join(
        [
            "",
            "Harbor Assist is running.",
            f"  Demo shop with the chat widget:  {url}/",
            f"  Agent console:                   {url}/console",
            f"  Log in as admin with the password in {config.var_dir / 'admin-password'}:"
            f"  {env['HANDOFF_BOOTSTRAP_ADMIN_PASSWORD']}",
            f"  Health: {url}/healthz   Metrics: {url}/metrics   Logs: {config.var_dir / 'logs'}",
            *(
                ["  Mail to customers is caught locally: admins read it in the console's Mail tab."]
                if config.runs_mail_catcher
                else []
            ),
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def run() -> int:
    try:
        config = StackConfig.from_env()
        with single_instance(config.var_dir, config.public_url):
            return _run_locked(config)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped before the stack was up.", file=sys.stderr)
        return 130


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _run_locked(config: StackConfig) -> int:
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # While starting, Ctrl-C or SIGTERM interrupts whatever we wait for; once up, they ask the
    # watch loop to stop. Either way the finally block stops every child.
    signal.signal(signal.SIGTERM, _interrupt)
    check_before_start(config)
    env = stack_env(config)
    check_service_settings(env)
    stack = Stack(config)
    try:
        start_stack(config, env, stack)
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        print(banner(config, env), flush=True)
        while not stopping:
            gone = stack.exited()
            if gone is not None:
                raise LaunchError(
                    f"{gone.name} stopped unexpectedly (code {gone.process.returncode}); see "
                    f"{gone.log} — last line: {last_line(gone.log)}"
                )
            time.sleep(0.5)
        print("\nStopping Harbor Assist...", flush=True)
        return 0
    finally:
        stack.stop()
