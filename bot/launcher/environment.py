"""The environment every child of the stack gets: addresses, ports and generated secrets.

Secrets are generated once into the var folder (mode 0600) and reused, so a restarted stack
keeps its sessions, its Rasa token and the admin password an agent may have written down.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from bot import model
from bot.launcher.config import StackConfig
from vocabulary.rasa_keys import rasa_key_prefix


def secret_file(path: Path, nbytes: int = 32) -> str:
    """Read a generated secret, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


# The service's key prefix when REDIS_PREFIX is unset (handoff/settings.py has the same default;
# the launcher sets it for both, so they agree whatever either's default).
DEFAULT_REDIS_PREFIX = "ha"


def stack_env(config: StackConfig) -> dict[str, str]:
    """The environment of every child: Rasa's settings plus the stack's addresses and secrets."""
    var = config.var_dir
    rasa_token = secret_file(var / "rasa-token")
    handoff_secret = secret_file(var / "handoff-secret")
    admin_password = secret_file(var / "admin-password", nbytes=12)

    redis_url = config.redis_url or f"redis://127.0.0.1:{config.private_redis_port}/0"
    parsed = urlparse(redis_url)
    env = model.rasa_env()
    # An empty variable counts as unset, as the service reads it.
    redis_prefix = env.get("REDIS_PREFIX", "").strip() or DEFAULT_REDIS_PREFIX
    env.update(
        {
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": redis_prefix,
            # endpoints.yml: the trackers and locks of two deployments sharing a Redis stay apart.
            "RASA_KEY_PREFIX": rasa_key_prefix(redis_prefix),
            "REDIS_HOST": parsed.hostname or "127.0.0.1",
            "REDIS_PORT": str(parsed.port or 6379),
            "REDIS_DB": (parsed.path or "/0").lstrip("/") or "0",
            "REDIS_PASSWORD": parsed.password or "",
            "ACTIONS_PORT": str(config.actions_port),
            "NLG_PORT": str(config.nlg_port),
            "RASA_URLS": f"http://127.0.0.1:{config.rasa_port}",
            "RASA_TOKEN": rasa_token,
            "HANDOFF_SECRET": handoff_secret,
            "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
            "HANDOFF_HOST": config.handoff_host,
            "HANDOFF_PORT": str(config.handoff_port),
            "HANDOFF_PUBLIC_URL": config.public_url,
            "HARBOR_VAR_DIR": str(var),
            # The action server binds where sanic is told; loopback keeps it private.
            "SANIC_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(mail_env(config, env))
    # Editors may keep the FAQ content in another folder (FAQ_PROJECT_DIR, as the `bot faq`
    # commands do); the answers and the rephrase buttons are then read from there.
    project = os.environ.get("FAQ_PROJECT_DIR")
    if project:
        env.setdefault("FAQ_DATA_DIR", str(Path(project) / "data" / "nlu" / "faq"))
    return env


def mail_env(config: StackConfig, env: dict[str, str]) -> dict[str, str]:
    """The service's email settings on a laptop: mail to customers goes to the stack's SMTP
    catcher (admins read it in the console's Mail tab) and customers' replies come in on
    loopback, so the whole loop works without a mail provider. What the operator set stays."""
    mail: dict[str, str] = {}
    if config.runs_mail_catcher:
        mail["SMTP_URL"] = f"smtp://127.0.0.1:{config.mail_catcher_port}"
        if not env.get("MAIL_CATCHER", "").strip():
            mail["MAIL_CATCHER"] = "true"
    if config.receives_mail_locally:
        mail["INBOUND_SMTP_LISTEN"] = f"127.0.0.1:{config.inbound_smtp_port}"
    return mail
