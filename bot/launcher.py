"""`make run`: start the whole stack on one machine and stop all of it on Ctrl-C.

    redis-server (private, AOF on, var/redis)   unless REDIS_URL points at one
    rasa run            127.0.0.1:RASA_PORT     HTTP API behind a token kept in var/rasa-token
    NLG server          127.0.0.1:NLG_PORT      the answers, re-read when an editor changes them
    action server       127.0.0.1:ACTIONS_PORT
    handoff service     HANDOFF_HOST:HANDOFF_PORT   the only part customers and agents reach

Every problem a newcomer is likely to hit (a port in use, Redis unreachable, a broken YAML file,
a second `make run`) ends in one sentence that says what is wrong and how to fix it. Children run
in their own process groups and die with the launcher (PR_SET_PDEATHSIG), so nothing is orphaned.
Only the standard library is used here; the two virtual environments do the real work.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot import model
from bot.rasa_http import RasaClient, answers

ROOT = model.ROOT
PR_SET_PDEATHSIG = 1


class LaunchError(Exception):
    """A problem the user can fix; the message is the one sentence we print."""


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
        )


# --- small checks ----------------------------------------------------------------------------


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
    """PING a Redis server with the raw protocol; raise LaunchError with the reason if it fails."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise LaunchError(f"REDIS_URL={url!r} is not a redis:// URL; use redis://host:6379/0.")
    if parsed.scheme == "rediss":
        return  # TLS Redis: the services check it themselves with their TLS clients.
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            if parsed.password:
                user = parsed.username or "default"
                conn.sendall(_resp("AUTH", user, parsed.password))
                if not conn.recv(64).startswith(b"+OK"):
                    raise LaunchError(f"Redis at {host}:{port} refused the password in REDIS_URL.")
            conn.sendall(_resp("PING"))
            reply = conn.recv(64)
    except OSError as error:
        raise LaunchError(
            f"Redis is unreachable at {host}:{port} ({error.strerror or error}): start it, fix "
            "REDIS_URL, or unset REDIS_URL to let make run start a private Redis."
        ) from None
    if not reply.startswith(b"+PONG"):
        raise LaunchError(f"Redis at {host}:{port} answered PING with {reply[:60]!r}.")


def _resp(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


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


@contextlib.contextmanager
def single_instance(var_dir: Path, public_url: str) -> Iterator[None]:
    """Hold var/launcher.lock for the life of the stack; a second launcher explains and exits."""
    var_dir.mkdir(parents=True, exist_ok=True)
    lock_path = var_dir / "launcher.lock"
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise LaunchError(
            f"Harbor Assist is already running from this folder (pid {pid}) at {public_url}: "
            "use that one, or stop it with Ctrl-C in its terminal first."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


# --- processes -------------------------------------------------------------------------------


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM it if we die.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Stack:
    """The processes of one running stack, stopped together."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.children: list[Child] = []
        self.logs = config.var_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        log = self.logs / f"{name}.log"
        out = log.open("ab")
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        out.close()
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def wait_until(self, child: Child, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise LaunchError(
                    f"{child.name} exited during start-up (code {child.process.returncode}); "
                    f"see {child.log} — last line: {_last_line(child.log)}"
                )
            if ready():
                return
            time.sleep(0.3)
        raise LaunchError(f"{child.name} did not become ready in {timeout:.0f} s; see {child.log}.")

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
            # Anything the child itself started (sanic workers) shares its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"


def tcp_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


# --- the stack -------------------------------------------------------------------------------


def venv_bin(name: str, tool: str) -> str:
    path = ROOT / f".venv-{name}" / "bin" / tool
    if not path.exists():
        raise LaunchError(f"{path.relative_to(ROOT)} is missing; run make setup (or make run).")
    return str(path)


def prepare(config: StackConfig) -> dict[str, str]:
    """Checks and one-time work before any process starts; returns the stack's environment."""
    require_free_port(config.handoff_host, config.handoff_port, "HANDOFF_PORT", "handoff service")
    require_free_port("127.0.0.1", config.rasa_port, "RASA_PORT", "Rasa server")
    require_free_port("127.0.0.1", config.actions_port, "ACTIONS_PORT", "action server")
    require_free_port("127.0.0.1", config.nlg_port, "NLG_PORT", "NLG server")
    if config.redis_url:
        redis_ping(config.redis_url)
    else:
        require_free_port("127.0.0.1", config.private_redis_port, "PRIVATE_REDIS_PORT", "Redis")
    check_yaml_files()

    var = config.var_dir
    rasa_token = secret_file(var / "rasa-token")
    handoff_secret = secret_file(var / "handoff-secret")
    admin_password = secret_file(var / "admin-password", nbytes=12)

    redis_url = config.redis_url or f"redis://127.0.0.1:{config.private_redis_port}/0"
    parsed = urlparse(redis_url)
    env = model.rasa_env()
    env.update(
        {
            "REDIS_URL": redis_url,
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
    # Editors may keep the FAQ content in another folder (FAQ_PROJECT_DIR, as the `bot faq`
    # commands do); the answers and the rephrase buttons are then read from there.
    project = os.environ.get("FAQ_PROJECT_DIR")
    if project:
        env.setdefault("FAQ_DATA_DIR", str(Path(project) / "data" / "nlu" / "faq"))
    return env


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

    print("==> checking the assistant model and the triage pipeline", flush=True)
    try:
        model_path = model.ensure_model(models_dir=config.models_dir)
    except model.TrainingFailed as error:
        raise LaunchError(f"The assistant could not be trained: {error}") from None
    triage = subprocess.run(
        [venv_bin("app", "python"), "-m", "handoff.triage.train", "--if-stale"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if triage.returncode != 0:
        reason = (triage.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise LaunchError(f"The escalation triage pipeline could not be trained: {reason}")

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
            venv_bin("rasa", "rasa"),
            "run",
            "--enable-api",
            "--auth-token",
            env["RASA_TOKEN"],
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
    env = prepare(config)
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
                    f"{gone.log} — last line: {_last_line(gone.log)}"
                )
            time.sleep(0.5)
        print("\nStopping Harbor Assist...", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(run())
