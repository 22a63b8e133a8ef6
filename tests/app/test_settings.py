"""The handoff service's settings: one default each, the one docs/configuration.md documents;
clear errors naming the variable; secrets that never print; `python -m handoff.settings --check`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handoff.assistant.triage.config import DEFAULT_MODEL_DIR
from handoff.queue.targets import target_for
from handoff.settings import ROOT, Secret, Settings, SettingsError

DOC = ROOT / "docs" / "configuration.md"
SECRET = "settings-test-secret-not-for-production"
APP_PYTHON = ROOT / ".venv-app" / "bin" / "python"


def doc_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Variable -> default cell of the launcher's table and of the service's table."""
    tables: dict[str, dict[str, str]] = {}
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:]
            tables.setdefault(section, {})
        elif line.startswith("| `") and section:
            names, default = (cell.strip() for cell in line.strip("|").split("|")[:2])
            for name in re.findall(r"`([A-Z0-9_]+)`", names):
                tables[section][name] = default
    return tables["Launcher (`make run`)"], tables["Handoff service"]


LAUNCHER, SERVICE = doc_tables()
# The service's own table wins where both list a variable (REDIS_URL means "start no private
# Redis" to the launcher, and is the service's Redis).
DOCUMENTED = {**LAUNCHER, **SERVICE}
VARIABLES = {str(field.validation_alias): name for name, field in Settings.model_fields.items()}


def env_settings(**env: str) -> Settings:
    return Settings.from_env({"HANDOFF_SECRET": SECRET, **env})


def render(field_name: str, value: Any) -> str:
    """A value as docs/configuration.md writes it."""
    if field_name == "triage_model_dir" and value is None:
        value = DEFAULT_MODEL_DIR  # None: handoff.assistant.triage's own default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Path):
        return value.relative_to(ROOT).as_posix()
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # response targets
        return ",".join(f"{priority}={render(field_name, seconds)}" for priority, seconds in value)
    if isinstance(value, tuple):
        parts = [render(field_name, Path(v) if v.startswith(f"{ROOT}/") else v) for v in value]
        return (" " if field_name == "faq_cli" else ",").join(parts)
    return str(value)


def own_origins(settings: Settings) -> bool:
    return settings.console_origins == ("http://localhost:8080", "http://127.0.0.1:8080")


# Defaults the documentation describes in words rather than as one literal value.
DESCRIBED: dict[str, Callable[[Settings], bool]] = {
    "ALLOWED_ORIGINS": lambda s: s.allowed_origins == s.console_origins and own_origins(s),
    "SHOP_ORIGINS": lambda s: s.shop_origins == (),
    "REDIS_SENTINELS": lambda s: s.redis_sentinels == (),
    "INBOUND_TLS_CERT_FILE": lambda s: s.inbound_tls_cert == "",
    "INBOUND_TLS_KEY_FILE": lambda s: s.inbound_tls_key == "",
    "CONSOLE_ORIGINS": own_origins,
    "BUSINESS_HOURS": lambda s: s.business_hours_spec == "" and s.business_hours.windows() == {},
    "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD": lambda s: not s.bootstrap_admin_password,
    "COOKIE_SECURE": lambda s: s.cookie_secure is False,
    "CRISIS_HELP_TEXT": lambda s: (
        "988" in s.crisis_help_text and "emergency number" in s.crisis_help_text
    ),
    "WIDGET_TITLE": lambda s: "Harbor Goods" in s.widget_title,
    "WIDGET_GREETING": lambda s: "Harbor Goods" in s.widget_greeting,
    "FAQ_PROJECT_DIR": lambda s: s.faq_project_dir == ROOT,
    "ORDERS_DATABASE_URL": lambda s: (
        s.orders_database_url == f"sqlite:///{ROOT}/var/orders.sqlite3"
    ),
    "ARCHIVE_DATABASE_URL": lambda s: (
        s.archive_database_url == f"sqlite:///{s.var_dir / 'archive.sqlite3'}"
    ),
}
# Secrets whose default is a file under HARBOR_VAR_DIR: test_secrets_come_from_files reads them.
FILE_SECRETS = {"RASA_TOKEN", "HANDOFF_SECRET"}


def test_every_setting_is_documented_and_every_documented_service_variable_is_read() -> None:
    assert set(VARIABLES) - set(DOCUMENTED) == set()
    documented = {name for name in SERVICE if not name.endswith("_FILE")}
    assert documented - set(VARIABLES) == set()


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_each_default_is_the_documented_one(name: str) -> None:
    settings = Settings.from_env({"HANDOFF_SECRET": SECRET})
    value = getattr(settings, VARIABLES[name])
    cell = DOCUMENTED[name]
    if name in DESCRIBED:
        assert DESCRIBED[name](settings), f"{name}={value!r}, documented as {cell}"
        return
    literal = re.fullmatch(r"`([^`]*)`", cell)
    assert literal, f"{name}: document one value in backticks, or describe it in DESCRIBED"
    documented = literal.group(1).replace("<port>", str(settings.port)).rstrip("/")
    if name in FILE_SECRETS:
        assert Path(documented).parent == Path("var"), cell
        return
    assert render(VARIABLES[name], value) == documented


def test_settings_in_code_have_the_same_defaults_as_the_environment(tmp_path: Path) -> None:
    in_code = Settings(secret=Secret(SECRET), var_dir=tmp_path)
    from_env = Settings.from_env({"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path)})
    assert in_code == from_env
    assert in_code.business_hours == from_env.business_hours


def test_the_documented_default_files_exist() -> None:
    settings = env_settings()
    assert settings.canned_responses_file.is_file()
    assert settings.faq_project_dir.joinpath("domain.yml").is_file()


def test_empty_variables_count_as_unset() -> None:
    settings = env_settings(HANDOFF_PORT="", TEAMS=" ", ALLOWED_ORIGINS="", RASA_TOKEN="")
    assert settings.port == 8080
    assert settings.teams == ("support",)
    assert own_origins(settings) and settings.allowed_origins == settings.console_origins


def test_from_env_without_a_mapping_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANDOFF_SECRET", SECRET)
    monkeypatch.setenv("AGENT_CAPACITY", "7")
    assert Settings.from_env().agent_capacity == 7


def test_derived_defaults_follow_the_settings_they_come_from() -> None:
    settings = env_settings(
        HANDOFF_PORT="9000",
        HANDOFF_PUBLIC_URL="https://help.harbor.example/",
        SHOP_ORIGINS="https://harbor.example/",
        TEAMS="billing, support",
    )
    own = ("https://help.harbor.example", "http://localhost:9000", "http://127.0.0.1:9000")
    assert settings.public_url == "https://help.harbor.example"
    assert settings.console_origins == own
    assert settings.allowed_origins == (*own, "https://harbor.example")
    assert settings.cookie_secure is True
    assert settings.teams == ("billing", "support")
    assert settings.default_team == "billing"
    assert env_settings(HANDOFF_PORT="9000").public_url == "http://localhost:9000"
    explicit = env_settings(COOKIE_SECURE="false", HANDOFF_PUBLIC_URL="https://help.example")
    assert explicit.cookie_secure is False
    assert env_settings(DEFAULT_TEAM="support", TEAMS="billing,support").default_team == "support"


def test_values_are_parsed_as_before() -> None:
    settings = env_settings(
        RASA_URLS="http://a:5005/, http://b:5005",
        AUTO_ASSIGN="yes",
        TRIAGE_ENABLED="0",
        TRIAGE_MODEL_DIR="/srv/triage",
        REDIS_TIMEOUT_SECONDS="0.5",
        BUSINESS_HOURS="mon-fri 08:00-20:00; sat 09:00-17:00",
        BUSINESS_TIMEZONE="Europe/Paris",
    )
    assert settings.rasa_urls == ("http://a:5005", "http://b:5005")
    assert settings.auto_assign is True
    assert settings.triage_enabled is False
    assert settings.triage_model_dir == Path("/srv/triage")
    assert settings.storage_deadline == 2.0
    assert settings.business_hours.timezone == "Europe/Paris"
    windows = settings.business_hours.windows()
    assert windows[0] == [(8 * 60, 20 * 60)] and windows[5] == [(9 * 60, 17 * 60)]
    assert 6 not in windows


def test_faq_cli_is_a_command_line() -> None:
    assert env_settings(FAQ_CLI="/opt/rasa env/bin/python").faq_cli == (
        "/opt/rasa",
        "env/bin/python",
    )
    assert env_settings(FAQ_CLI="'/opt/rasa env/bin/python'").faq_cli == (
        "/opt/rasa env/bin/python",
        "-m",
        "bot",
        "faq",
    )
    assert env_settings(FAQ_CLI="bot-faq --verbose").faq_cli == ("bot-faq", "--verbose")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HANDOFF_PORT": "eighty"}, "HANDOFF_PORT='eighty' must be a whole number"),
        ({"HANDOFF_PORT": "0"}, "HANDOFF_PORT='0' must be at least 1"),
        ({"HANDOFF_PORT": "70000"}, "HANDOFF_PORT='70000' must be at most 65535"),
        ({"REDIS_TIMEOUT_SECONDS": "soon"}, "REDIS_TIMEOUT_SECONDS='soon' must be a number"),
        ({"REDIS_TIMEOUT_SECONDS": "0"}, "REDIS_TIMEOUT_SECONDS='0' must be at least 0.1"),
        ({"AUTO_ASSIGN": "maybe"}, "AUTO_ASSIGN='maybe' must be true or false"),
        ({"MAX_FRAME_BYTES": "10"}, "MAX_FRAME_BYTES='10' must be at least 256"),
        ({"TEAMS": "a,b", "DEFAULT_TEAM": "c"}, "DEFAULT_TEAM='c' is not one of TEAMS (a, b)"),
        ({"TEAMS": ","}, "TEAMS=',' must not be empty"),
        ({"RASA_URLS": " , "}, "RASA_URLS=',' must not be empty"),
        ({"FAQ_CLI": "''"}, "FAQ_CLI=\"''\" must name a program"),
        ({"BUSINESS_HOURS": "weekdays 9-5"}, "BUSINESS_HOURS='weekdays 9-5' must look like"),
        ({"BUSINESS_HOURS": "mon 20:00-08:00"}, "BUSINESS_HOURS='mon 20:00-08:00' has"),
        (
            {"BUSINESS_HOURS": "mon 08:00-20:00", "BUSINESS_TIMEZONE": "Harbor/Town"},
            "BUSINESS_TIMEZONE='Harbor/Town' is not a time zone name",
        ),
        ({"FAQ_CLI": "'unclosed"}, 'FAQ_CLI="\'unclosed" is not a valid command line'),
        ({"RASA_TOKEN_FILE": "/nonexistent/token"}, "RASA_TOKEN_FILE='/nonexistent/token' cannot"),
    ],
)
def test_bad_values_raise_settings_error_naming_the_variable(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path), **env})
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_bad_value_is_named_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {"HARBOR_VAR_DIR": str(tmp_path), "HANDOFF_PORT": "x", "AGENT_CAPACITY": "0"}
        )
    assert str(caught.value) == (
        "HANDOFF_PORT='x' must be a whole number; "
        f"HANDOFF_SECRET is not set and {tmp_path / 'handoff-secret'} is missing or empty; "
        "start the stack with make run, or set HANDOFF_SECRET to a long random string; "
        "AGENT_CAPACITY='0' must be at least 1"
    )


def test_secrets_come_from_the_variable_a_named_file_or_the_var_dir(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    for name in FILE_SECRETS:
        Path(var, Path(DOCUMENTED[name].strip("`")).name).write_text(f"{name} from var\n")
    settings = Settings.from_env({"HARBOR_VAR_DIR": str(var)})
    assert settings.secret.reveal() == "HANDOFF_SECRET from var"
    assert settings.rasa_token.reveal() == "RASA_TOKEN from var"

    named = tmp_path / "token"
    named.write_text("from the named file")
    env = {"HARBOR_VAR_DIR": str(var), "RASA_TOKEN_FILE": str(named), "HANDOFF_SECRET": "env"}
    settings = Settings.from_env(env)
    assert settings.rasa_token.reveal() == "from the named file"
    assert settings.secret.reveal() == "env"
    assert Settings.from_env({**env, "RASA_TOKEN": "wins"}).rasa_token.reveal() == "wins"


def test_a_missing_optional_secret_is_empty(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path)})
    assert settings.rasa_token.reveal() == ""
    assert not settings.rasa_token
    assert not settings.bootstrap_admin_password


def test_secrets_never_print(tmp_path: Path) -> None:
    values = {
        "HANDOFF_SECRET": "signing-secret-value",
        "RASA_TOKEN": "rasa-token-value",
        "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD": "admin-password-value",
    }
    settings = Settings.from_env({**values, "HARBOR_VAR_DIR": str(tmp_path)})
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    for text in shown:
        for value in values.values():
            assert value not in text
    assert "**********" in repr(settings)
    assert repr(settings.secret) == "Secret('**********')"
    assert str(settings.secret) == "**********"
    assert settings.secret.reveal() == "signing-secret-value"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**values, "HANDOFF_PORT": "x"})
    assert all(value not in str(caught.value) for value in values.values())


def test_settings_are_frozen_and_code_cannot_pass_unknown_settings() -> None:
    settings = env_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1
    with pytest.raises(ValueError, match="prot"):
        Settings(secret=Secret(SECRET), prot=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="secret"):
        Settings(secret=Secret(""))


def check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    python = APP_PYTHON if APP_PYTHON.exists() else Path(sys.executable)
    return subprocess.run(
        [str(python), "-m", "handoff.settings", *args],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_prints_ok_for_good_settings(tmp_path: Path) -> None:
    result = check({"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path)}, "--check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_check_prints_the_error_and_exits_2(tmp_path: Path) -> None:
    env = {"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path), "AGENT_CAPACITY": "many"}
    result = check(env, "--check")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "AGENT_CAPACITY='many' must be a whole number\n"
    missing = check({"HARBOR_VAR_DIR": str(tmp_path)}, "--check")
    assert missing.returncode == 2
    assert missing.stderr.startswith("HANDOFF_SECRET is not set")
    assert SECRET not in check({**env, "HANDOFF_SECRET": SECRET}, "--check").stderr


def test_check_is_required(tmp_path: Path) -> None:
    result = check({"HANDOFF_SECRET": SECRET, "HARBOR_VAR_DIR": str(tmp_path)})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "usage: python -m handoff.settings --check\n"


def test_response_targets_fill_unlisted_priorities_from_the_more_urgent_ones() -> None:
    settings = env_settings(FIRST_RESPONSE_TARGETS="0=20, 3=100")
    assert [target_for(settings.first_response_targets, p) for p in range(6)] == [
        20,
        20,
        20,
        100,
        100,
        100,
    ]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("1=30", "priority 0"),
        ("0=soon", "priority=seconds"),
        ("0=0", "above 0"),
        ("-1=5", "from 0"),
    ],
)
def test_malformed_response_targets_are_refused_naming_the_variable(
    value: str, complaint: str
) -> None:
    with pytest.raises(SettingsError, match=f"NEXT_RESPONSE_TARGETS=.*{complaint}"):
        env_settings(NEXT_RESPONSE_TARGETS=value)
