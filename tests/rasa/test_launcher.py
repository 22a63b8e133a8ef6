"""The launcher's checks: each problem a newcomer may hit ends in one clear sentence."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bot import model
from bot.launcher.config import StackConfig
from bot.launcher.environment import stack_env
from bot.launcher.errors import LaunchError
from bot.launcher.lock import single_instance
from bot.launcher.preflight import (
    check_before_start,
    check_service_settings,
    check_yaml_files,
    redis_ping,
    require_free_port,
)
from tests.support.servers import free_port, running_redis
from vocabulary.rasa_keys import rasa_key_prefix

ROOT = Path(__file__).resolve().parents[2]


def copy_assistant(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in model.RASA_DATA_DIRS:
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    return tmp_path


def test_a_broken_domain_names_the_file_and_line(tmp_path: Path) -> None:
    root = copy_assistant(tmp_path)
    domain = root / "domain.yml"
    domain.write_text(domain.read_text() + "\nresponses:\n  utter_x:\n  - text: [unclosed\n")
    with pytest.raises(LaunchError) as raised:
        check_yaml_files(root)
    message = str(raised.value)
    assert message.startswith("domain.yml is not valid YAML at line ")
    assert "fix it and run make run again" in message and "\n" not in message


def test_the_current_assistant_files_are_valid(tmp_path: Path) -> None:
    check_yaml_files(copy_assistant(tmp_path))


def test_a_port_in_use_is_named_with_the_variable_to_change() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LaunchError) as raised:
            require_free_port("127.0.0.1", port, "HANDOFF_PORT", "handoff service")
    assert f"Port {port} (handoff service) is already in use" in str(raised.value)
    assert "HANDOFF_PORT=<port> make run" in str(raised.value)


def test_an_unreachable_redis_url_says_how_to_fix_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(LaunchError) as raised:
        redis_ping(f"redis://127.0.0.1:{port}/0", timeout=1)
    assert f"Redis is unreachable at 127.0.0.1:{port}" in str(raised.value)
    assert "unset REDIS_URL" in str(raised.value)


def test_a_redis_that_wants_another_password_is_named(tmp_path: Path) -> None:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    redis = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--requirepass",
            "right",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis_ping(f"redis://:right@127.0.0.1:{port}/0", timeout=1)
                break
            except LaunchError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with pytest.raises(LaunchError) as raised:
            redis_ping(f"redis://:wrong@127.0.0.1:{port}/0", timeout=1)
        assert str(raised.value) == f"Redis at 127.0.0.1:{port} refused the password in REDIS_URL."
    finally:
        redis.terminate()
        redis.wait(timeout=10)


def test_a_bad_port_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_PORT", "eighty")
    with pytest.raises(LaunchError, match="HANDOFF_PORT='eighty' is not a port number"):
        StackConfig.from_env()


def test_the_model_fingerprint_follows_its_inputs(tmp_path: Path) -> None:
    root = copy_assistant(tmp_path)
    before = model.fingerprint(root)
    assert model.fingerprint(root) == before
    (root / "data" / "nlu" / "extra.yml").write_text('version: "3.1"\nnlu: []\n')
    assert model.fingerprint(root) != before


def test_a_second_instance_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with (
        single_instance(tmp_path, "http://localhost:8080"),
        pytest.raises(LaunchError, match="already running"),
        single_instance(tmp_path, "http://localhost:8080"),
    ):
        pass
    with single_instance(tmp_path, "http://localhost:8080"):
        pass


def test_the_repository_passes_the_launch_checks() -> None:
    """Every training input of the real repository, code included, passes the YAML check."""
    check_yaml_files(ROOT)


def test_the_nlg_server_port_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLG_PORT", "15999")
    assert StackConfig.from_env().nlg_port == 15999
    monkeypatch.setenv("NLG_PORT", "answers")
    with pytest.raises(LaunchError, match="NLG_PORT='answers' is not a port number"):
        StackConfig.from_env()


def test_the_rasa_endpoints_reach_the_nlg_server_and_the_actions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa expands ${VARIABLE} only in unquoted values; a quoted URL would stay literal."""
    from rasa.utils.endpoints import read_endpoint_config

    settings = {"NLG_PORT": "15056", "ACTIONS_PORT": "15055", "REDIS_HOST": "h"}
    settings.update({"REDIS_PORT": "1", "REDIS_DB": "0", "REDIS_PASSWORD": ""})
    settings.update({"RASA_KEY_PREFIX": "ha"})
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    nlg = read_endpoint_config(str(ROOT / "endpoints.yml"), "nlg")
    actions = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert nlg is not None and nlg.url == "http://127.0.0.1:15056/nlg"
    assert actions is not None and actions.url == "http://127.0.0.1:15055/webhook"


def test_the_service_settings_are_checked_by_the_service_definitions() -> None:
    env = {**os.environ, "HANDOFF_SECRET": "s" * 40, "AGENT_CAPACITY": "3"}
    check_service_settings(env)
    with pytest.raises(LaunchError, match=r"AGENT_CAPACITY='two' must be a whole number"):
        check_service_settings({**env, "AGENT_CAPACITY": "two"})


def launcher_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment the launcher gives Rasa and the service, from `env` (REDIS_PREFIX...)."""
    monkeypatch.delenv("REDIS_PREFIX", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARBOR_VAR_DIR", str(tmp_path / "var"))
    return stack_env(StackConfig.from_env())


def test_rasa_key_prefixes_follow_the_service_prefix_and_never_meet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    default = launcher_env(monkeypatch, tmp_path)
    assert default["REDIS_PREFIX"] == "ha" and default["RASA_KEY_PREFIX"] == "ha"
    assert launcher_env(monkeypatch, tmp_path, REDIS_PREFIX=" ")["RASA_KEY_PREFIX"] == "ha"
    named = launcher_env(monkeypatch, tmp_path, REDIS_PREFIX="shop-eu")
    assert named["REDIS_PREFIX"] == "shop-eu" and named["RASA_KEY_PREFIX"] == "shopx2deu"
    # Prefixes Rasa would refuse, or that a careless mapping (dropping or replacing what is not
    # alphanumeric) would send to the same keys.
    prefixes = ["ha", "a-b", "a_b", "ab", "ax2db", "a.b", "a:b", "x", "x78", "é", "shop eu", "1"]
    derived = [rasa_key_prefix(prefix) for prefix in prefixes]
    assert all(value.isalnum() and value.isascii() for value in derived), derived
    assert len(set(derived)) == len(prefixes), dict(zip(prefixes, derived, strict=True))


def test_rasa_keeps_its_trackers_and_locks_under_the_deployment_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa 3.6 drops a prefix it finds non-alphanumeric (all deployments then share
    'tracker:<conversation>'); the launcher's prefix is taken, and two deployments on one Redis
    keep their trackers and locks apart."""
    import redis
    from rasa.core.lock_store import LockStore
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    conversation = "0123456789abcdef0123456789abcdef"
    with running_redis(tmp_path / "redis") as server:
        for service_prefix in ("ha", "shop-eu"):
            env = launcher_env(
                monkeypatch, tmp_path, REDIS_PREFIX=service_prefix, REDIS_URL=server.url
            )
            for name in ("REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD"):
                monkeypatch.setenv(name, env[name])
            monkeypatch.setenv("RASA_KEY_PREFIX", env["RASA_KEY_PREFIX"])
            endpoints = str(ROOT / "endpoints.yml")
            trackers = TrackerStore.create(read_endpoint_config(endpoints, "tracker_store"))
            locks = LockStore.create(read_endpoint_config(endpoints, "lock_store"))
            asyncio.run(trackers.save(DialogueStateTracker(conversation, slots=[])))
            locks.issue_ticket(conversation)
        keys = sorted(redis.Redis.from_url(server.url, decode_responses=True).keys("*"))
    assert keys == [
        f"ha:lock:{conversation}",
        f"ha:tracker:{conversation}",
        f"shopx2deu:lock:{conversation}",
        f"shopx2deu:tracker:{conversation}",
    ]
    assert "non-alphanumeric" not in caplog.text


def test_make_run_catches_mail_and_takes_replies_on_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a mail server of the operator's, the service sends to the stack's SMTP catcher,
    shows it to admins and takes replies on loopback; the ports are launcher settings."""
    for name in ("SMTP_URL", "MAIL_CATCHER", "INBOUND_SMTP_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    env = launcher_env(monkeypatch, tmp_path, MAIL_CATCHER_PORT="12525")
    assert env["SMTP_URL"] == "smtp://127.0.0.1:12525"
    assert env["MAIL_CATCHER"] == "true"
    assert env["INBOUND_SMTP_LISTEN"] == "127.0.0.1:2526"
    assert StackConfig.from_env().runs_mail_catcher
    check_service_settings({**env, "HANDOFF_SECRET": "s" * 40})


def test_the_operators_mail_settings_stay_and_no_catcher_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = launcher_env(
        monkeypatch,
        tmp_path,
        SMTP_URL="smtp+starttls://shop:pw@mail.example:587",
        INBOUND_SMTP_LISTEN="0.0.0.0:25",
        INBOUND_SMTP_PORT="12526",
    )
    assert env["SMTP_URL"] == "smtp+starttls://shop:pw@mail.example:587"
    assert env["INBOUND_SMTP_LISTEN"] == "0.0.0.0:25"
    assert "MAIL_CATCHER" not in env
    config = StackConfig.from_env()
    assert not config.runs_mail_catcher and not config.receives_mail_locally
    # Set to "off", the operator wants no mail: still no catcher. MAIL_CATCHER stays theirs.
    env = launcher_env(monkeypatch, tmp_path, SMTP_URL="off", MAIL_CATCHER="false")
    assert env["SMTP_URL"] == "off" and env["MAIL_CATCHER"] == "false"
    monkeypatch.delenv("SMTP_URL")
    env = launcher_env(monkeypatch, tmp_path, MAIL_CATCHER="false")
    assert env["SMTP_URL"].startswith("smtp://127.0.0.1:") and env["MAIL_CATCHER"] == "false"


def test_the_mail_ports_are_checked_free_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SMTP_URL", "INBOUND_SMTP_LISTEN", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HANDOFF_PORT", "RASA_PORT", "ACTIONS_PORT", "NLG_PORT", "PRIVATE_REDIS_PORT"):
        monkeypatch.setenv(name, str(free_port()))
    for variable, what in (
        ("MAIL_CATCHER_PORT", "local SMTP catcher"),
        ("INBOUND_SMTP_PORT", "inbound email"),
    ):
        monkeypatch.setenv("MAIL_CATCHER_PORT", str(free_port()))
        monkeypatch.setenv("INBOUND_SMTP_PORT", str(free_port()))
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            monkeypatch.setenv(variable, str(port))
            with pytest.raises(LaunchError) as raised:
                check_before_start(StackConfig.from_env())
        assert f"Port {port} ({what}) is already in use" in str(raised.value)
        assert f"{variable}=<port> make run" in str(raised.value)
