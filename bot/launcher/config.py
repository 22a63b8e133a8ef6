"""Everything configurable about a local stack, read from the environment.

HANDOFF_HOST, HANDOFF_PORT, HANDOFF_PUBLIC_URL    where customers and agents reach the stack
RASA_PORT, ACTIONS_PORT, NLG_PORT                  loopback ports of the assistant's servers
REDIS_URL or PRIVATE_REDIS_PORT                    an existing Redis, or the port of ours
SMTP_URL or MAIL_CATCHER_PORT                      a mail server, or the port of our SMTP catcher
INBOUND_SMTP_LISTEN or INBOUND_SMTP_PORT           where the service takes customers' email replies
HARBOR_VAR_DIR, HARBOR_MODELS_DIR                  run-time files and trained models
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bot import model
from bot.launcher.errors import LaunchError

ROOT = model.ROOT


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise LaunchError(
            f"{name}={raw!r} is not a port number; use a number like {default}."
        ) from None
    if not 0 < port < 65536:
        raise LaunchError(f"{name}={port} is out of range; use a port between 1 and 65535.")
    return port


def _env_text(name: str) -> str | None:
    """A variable's value, None when unset (an empty one counts as unset, as the service reads
    it)."""
    return os.environ.get(name, "").strip() or None


@dataclass
class StackConfig:
    """Everything configurable about a local stack, read from the environment."""

    handoff_host: str
    handoff_port: int
    rasa_port: int
    actions_port: int
    redis_url: str | None
    private_redis_port: int
    var_dir: Path
    models_dir: Path
    nlg_port: int = 5056
    # Email: the operator's mail server (SMTP_URL) and inbound address (INBOUND_SMTP_LISTEN),
    # or None, when the stack plays both parts on loopback with these ports.
    smtp_url: str | None = None
    mail_catcher_port: int = 2525
    inbound_smtp_listen: str | None = None
    inbound_smtp_port: int = 2526
    public_url: str = field(init=False)

    def __post_init__(self) -> None:
        # Any of these bind addresses is reached from this machine as localhost.
        local_binds = {"127.0.0.1", "0.0.0.0", ""}  # noqa: S104
        shown_host = "localhost" if self.handoff_host in local_binds else self.handoff_host
        self.public_url = os.environ.get(
            "HANDOFF_PUBLIC_URL", f"http://{shown_host}:{self.handoff_port}"
        )

    @classmethod
    def from_env(cls) -> StackConfig:
        return cls(
            handoff_host=os.environ.get("HANDOFF_HOST", "127.0.0.1"),
            handoff_port=_env_port("HANDOFF_PORT", 8080),
            rasa_port=_env_port("RASA_PORT", 5005),
            actions_port=_env_port("ACTIONS_PORT", 5055),
            redis_url=os.environ.get("REDIS_URL") or None,
            private_redis_port=_env_port("PRIVATE_REDIS_PORT", 6390),
            var_dir=Path(os.environ.get("HARBOR_VAR_DIR", str(ROOT / "var"))),
            models_dir=Path(os.environ.get("HARBOR_MODELS_DIR", str(ROOT / "models"))),
            nlg_port=_env_port("NLG_PORT", 5056),
            smtp_url=_env_text("SMTP_URL"),
            mail_catcher_port=_env_port("MAIL_CATCHER_PORT", 2525),
            inbound_smtp_listen=_env_text("INBOUND_SMTP_LISTEN"),
            inbound_smtp_port=_env_port("INBOUND_SMTP_PORT", 2526),
        )

    @property
    def runs_mail_catcher(self) -> bool:
        """Without a mail server of the operator's, the stack starts its SMTP catcher and sends
        the customers' email there (admins read it in the console's Mail tab)."""
        return self.smtp_url is None

    @property
    def receives_mail_locally(self) -> bool:
        """Without an inbound address of the operator's, the service takes customers' email
        replies on loopback (INBOUND_SMTP_PORT), where the Mail tab's replies arrive."""
        return self.inbound_smtp_listen is None


def venv_bin(name: str, tool: str) -> str:
    path = ROOT / f".venv-{name}" / "bin" / tool
    if not path.exists():
        raise LaunchError(f"{path.relative_to(ROOT)} is missing; run make setup (or make run).")
    return str(path)


def run_in_service_env(args: list[str], env: dict[str, str], timeout: float | None = None) -> str:
    """Run `python <args>` in the handoff service's environment (it has what this one lacks:
    pydantic 2, spaCy). "" when it succeeded, else the last line it wrote to stderr."""
    done = subprocess.run(
        [venv_bin("app", "python"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode == 0:
        return ""
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"it ended with exit code {done.returncode}"
