"""Checks before anything starts: free ports, a Redis that answers, valid YAML, and the handoff
service's settings.

Each failure is a LaunchError whose message names what is wrong and how to fix it.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import redis

from bot import model
from bot.launcher.config import ROOT, StackConfig, run_in_service_env
from bot.launcher.errors import LaunchError


def check_before_start(config: StackConfig) -> None:
    """Every check, in the order a newcomer would fix them; raises at the first problem."""
    require_free_port(config.handoff_host, config.handoff_port, "HANDOFF_PORT", "handoff service")
    require_free_port("127.0.0.1", config.rasa_port, "RASA_PORT", "Rasa server")
    require_free_port("127.0.0.1", config.actions_port, "ACTIONS_PORT", "action server")
    require_free_port("127.0.0.1", config.nlg_port, "NLG_PORT", "NLG server")
    if config.runs_mail_catcher:
        require_free_port(
            "127.0.0.1", config.mail_catcher_port, "MAIL_CATCHER_PORT", "local SMTP catcher"
        )
    if config.receives_mail_locally:
        require_free_port(
            "127.0.0.1", config.inbound_smtp_port, "INBOUND_SMTP_PORT", "inbound email"
        )
    if config.redis_url:
        redis_ping(config.redis_url)
    else:
        require_free_port("127.0.0.1", config.private_redis_port, "PRIVATE_REDIS_PORT", "Redis")
    check_yaml_files()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "0.0.0.0", port))  # noqa: S104
        except OSError:
            return False
    return True


def require_free_port(host: str, port: int, variable: str, what: str) -> None:
    if not port_is_free(host, port):
        raise LaunchError(
            f"Port {port} ({what}) is already in use by another program: stop it, or choose "
            f"another port with {variable}=<port> make run."
        )


def redis_ping(url: str, timeout: float = 3.0) -> None:
    """PING the Redis at `url` (redis://, or rediss:// over TLS); LaunchError with the reason
    if it does not answer."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise LaunchError(f"REDIS_URL={url!r} is not a redis:// URL; use redis://host:6379/0.")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    try:
        with redis.Redis.from_url(url, socket_timeout=timeout) as client:
            client.ping()
    # redis-py's AuthenticationError is a ConnectionError, so it is caught first.
    except redis.AuthenticationError as error:
        if parsed.password:
            problem = f"Redis at {host}:{port} refused the password in REDIS_URL."
        else:
            problem = f"Redis at {host}:{port} answered PING with {str(error)[:60]!r}."
    except (redis.ConnectionError, redis.TimeoutError) as error:
        problem = (
            f"Redis is unreachable at {host}:{port} ({_reason(error)}): start it, fix "
            "REDIS_URL, or unset REDIS_URL to let make run start a private Redis."
        )
    except redis.RedisError as error:
        problem = f"Redis at {host}:{port} answered PING with {str(error)[:60]!r}."
    else:
        return
    raise LaunchError(problem)


def _reason(error: redis.RedisError) -> str:
    """The socket's own words ("Connection refused"), not redis-py's longer sentence around
    them: redis-py raises its error while handling the OSError, which stays its context."""
    cause = error.__context__
    if isinstance(cause, OSError):
        return str(cause.strerror or cause)
    return str(error)


def check_yaml_files(root: Path = ROOT) -> None:
    """Fail with the file and line of the first YAML syntax error in the assistant's files."""
    try:
        import yaml  # the rasa environment always has PyYAML
    except ImportError:
        return
    for path in model.training_inputs(root):
        if path.suffix not in {".yml", ".yaml"}:
            continue
        if not path.exists():
            raise LaunchError(f"{path.relative_to(root)} is missing; restore it from git.")
        try:
            with path.open() as handle:
                document = yaml.safe_load(handle)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or "invalid YAML"
            raise LaunchError(
                f"{path.relative_to(root)} is not valid YAML{where} ({problem}); fix it and run "
                "make run again."
            ) from None
        if path.name == "domain.yml" and not isinstance(document, dict):
            raise LaunchError("domain.yml must be a YAML mapping (intents:, responses:, ...).")


def check_service_settings(env: dict[str, str]) -> None:
    """The handoff service's settings, judged by the service's own definitions.

    They are pydantic-settings models in the app environment, which this one (pydantic 1, for
    Rasa) cannot import, so the service checks them itself (`python -m handoff.settings
    --check`) with the environment it is about to get: one definition, one error message.
    """
    failure = run_in_service_env(["-m", "handoff.settings", "--check"], env, timeout=60)
    if failure:
        raise LaunchError(failure)
