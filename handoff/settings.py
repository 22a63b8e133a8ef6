"""Configuration of the handoff service, read once from the environment in the app factory.

`Settings` (pydantic-settings) names each setting's environment variable and holds its one
default, the one docs/configuration.md documents (tests/app/test_settings.py reads that table).
`Settings.from_env()` reads the environment and the secrets' files once; a bad value raises
`SettingsError`, one sentence naming the variable. Secrets print as '**********' (`reveal()`).

`python -m handoff.settings --check` prints `ok` (exit 0) or that sentence on stderr (exit 2).
The launcher (bot/launcher) runs in the Rasa environment, which cannot import pydantic 2: it
runs this check with the service's interpreter, as a subprocess, to validate these definitions.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from handoff.business_hours import BusinessHours, parse_windows
from handoff.conversations.keys import (
    CLOSED_CONVERSATION_TTL,
    CONVERSATION_LIFETIME,
    TRANSCRIPT_ENTRIES_KEPT,
)
from handoff.conversations.redis_client import SentinelAddresses
from handoff.email.smtp_url import check_inbound_listen, check_smtp_url, parse_smtp_url
from handoff.queue.targets import Targets
from handoff.settings_fields import Command, Names, Secret, SecretFile, Url, Urls, env
from orders.store import default_database_url as default_orders_url

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _own_origins(s: dict[str, Any]) -> tuple[str, ...]:
    """The service's own pages, on either name: the demo shop page and the console."""
    port = s["port"]
    own = (s["public_url"], f"http://localhost:{port}", f"http://127.0.0.1:{port}")
    return tuple(dict.fromkeys(own))


class Settings(BaseSettings):
    """Every setting of the service: one environment variable and one default each."""

    # By field name in code (tests), by variable name from the environment.
    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    host: str = env("HANDOFF_HOST", "127.0.0.1")
    port: int = env("HANDOFF_PORT", 8080, ge=1, le=65535)
    public_url: Url = env("HANDOFF_PUBLIC_URL", factory=lambda s: f"http://localhost:{s['port']}")
    redis_url: str = env("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis_prefix: str = env("REDIS_PREFIX", "ha")
    # Redis calls fail fast so a stalled Redis never freezes a customer's socket for long.
    redis_timeout: float = env("REDIS_TIMEOUT_SECONDS", 2.0, ge=0.1)
    redis_sentinels: SentinelAddresses = env("REDIS_SENTINELS", ())  # empty: REDIS_URL's server
    redis_sentinel_master: str = env("REDIS_SENTINEL_MASTER", "harbor")  # Sentinel's name for it
    redis_ack_replicas: int = env("REDIS_ACK_REPLICAS", 0, ge=0)  # replicas holding an ack'd entry
    rasa_urls: Urls = env("RASA_URLS", ("http://127.0.0.1:5005",), min_length=1)
    rasa_token: Annotated[Secret, SecretFile("rasa-token")] = env("RASA_TOKEN", Secret(""))
    bot_turn_timeout: float = env("BOT_TURN_TIMEOUT_SECONDS", 8.0, ge=0.1)
    # Turns at each Rasa replica at once, so its backlog stays well inside the turn timeout; the
    # rest wait in line, told the assistant is busy, then offered a person (assistant/overload.py).
    bot_turns_in_flight: int = env("BOT_TURNS_IN_FLIGHT", 32, ge=1)
    bot_busy_notice_after: float = env("BOT_BUSY_NOTICE_SECONDS", 2.0, ge=0)
    bot_turn_wait: float = env("BOT_TURN_WAIT_SECONDS", 10.0, ge=0)
    # Signs resume tokens: required (`make run` generates var/handoff-secret).
    secret: Annotated[Secret, SecretFile("handoff-secret")] = Field(
        validation_alias="HANDOFF_SECRET", min_length=1
    )
    # The resume token's lifetime, and so how long an idle chat with the assistant is kept
    # (a queued or assigned one while it is; docs/reliability.md "How long data lasts").
    resume_token_ttl: int = env("RESUME_TOKEN_TTL_SECONDS", CONVERSATION_LIFETIME, ge=1)
    # Stream bounds; the oldest entries drop off (Redis trims whole blocks: a few more stay).
    max_transcript_entries: int = env("MAX_TRANSCRIPT_ENTRIES", TRANSCRIPT_ENTRIES_KEPT, ge=100)
    max_tickets: int = env("MAX_TICKETS", 10_000, ge=100)
    # Shop sites embedding the widget: they may open chats, never a console socket.
    shop_origins: Urls = env("SHOP_ORIGINS", ())
    allowed_origins: Urls = env(
        "ALLOWED_ORIGINS", factory=lambda s: (*_own_origins(s), *s["shop_origins"])
    )
    # The console is only ever served by the service itself. Empty (only in code) means the
    # same as allowed_origins.
    console_origins: Urls = env("CONSOLE_ORIGINS", factory=_own_origins)
    max_message_chars: int = env("MAX_MESSAGE_CHARS", 2000, ge=1)
    max_frame_bytes: int = env("MAX_FRAME_BYTES", 16 * 1024, ge=256)
    customer_rate_per_minute: int = env("CUSTOMER_MESSAGES_PER_MINUTE", 40, ge=1)
    ip_connections_per_minute: int = env("IP_CONNECTIONS_PER_MINUTE", 60, ge=1)
    # Frames a socket may send a second on average (bursts of four times that); past it frames
    # are dropped with one `rate_limited` error a second. Typing hints are sent at most every
    # few seconds, so a person never comes near it.
    socket_frames_per_second: float = env("SOCKET_FRAMES_PER_SECOND", 10.0, ge=0.1)
    teams: Names = env("TEAMS", ("support",), min_length=1)
    default_team: str = env("DEFAULT_TEAM", factory=lambda s: s["teams"][0])
    agent_capacity: int = env("AGENT_CAPACITY", 3, ge=1)
    agent_grace_seconds: float = env("AGENT_GRACE_SECONDS", 60.0, ge=0.5)
    auto_assign: bool = env("AUTO_ASSIGN", False)
    business_hours_spec: str = env("BUSINESS_HOURS", "")
    # America/New_York, as docs/configuration.md has always said; shops elsewhere set their own.
    business_timezone: str = env("BUSINESS_TIMEZONE", "America/New_York")
    default_handling_seconds: float = env("DEFAULT_HANDLING_SECONDS", 300.0, ge=1)
    # How soon an agent should answer, by queue priority (handoff/queue/targets.py): first,
    # from escalation to the agent's first reply; next, from a customer's message to the reply.
    first_response_targets: Targets = env("FIRST_RESPONSE_TARGETS", "0=30,1=60,3=90,4=120")
    next_response_targets: Targets = env("NEXT_RESPONSE_TARGETS", "0=60,1=90,3=120,4=180")
    session_ttl: int = env("AGENT_SESSION_TTL_SECONDS", 12 * 3600, ge=60)
    login_failures_allowed: int = env("LOGIN_FAILURES_ALLOWED", 5, ge=1)
    bootstrap_admin_password: Secret = env("HANDOFF_BOOTSTRAP_ADMIN_PASSWORD", Secret(""))
    triage_enabled: bool = env("TRIAGE_ENABLED", True)
    # None: the triage package's own default, models/triage (its DEFAULT_MODEL_DIR).
    triage_model_dir: Path | None = env("TRIAGE_MODEL_DIR", None)
    # Told at once to a customer whose message hints at self-harm or a crisis, before anything
    # else: a person is coming, and where immediate help is. A shop outside the US sets its own.
    crisis_help_text: str = env(
        "CRISIS_HELP_TEXT",
        "It sounds like you're going through a lot right now, and I'm sorry. I'm bringing in a "
        "person from our team. If you are in danger or thinking about harming yourself, please "
        "call your local emergency number now, or in the US call or text 988 (the Suicide & "
        "Crisis Lifeline), any time, day or night.",
    )
    canned_responses_file: Path = env(
        "CANNED_RESPONSES_FILE", ROOT / "handoff" / "console" / "canned_responses.yml"
    )
    widget_title: str = env("WIDGET_TITLE", "Harbor Goods help")
    widget_greeting: str = env(
        "WIDGET_GREETING",
        "Hi! I'm the Harbor Goods assistant. Ask me about orders, shipping or returns.",
    )
    cookie_secure: bool = env(
        "COOKIE_SECURE", factory=lambda s: str(s["public_url"]).startswith("https://")
    )
    var_dir: Path = env("HARBOR_VAR_DIR", ROOT / "var")
    # The FAQ content tool the editor page drives (bot faq ...), and the project it edits.
    faq_cli: Command = env(
        "FAQ_CLI", (str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot", "faq")
    )
    faq_project_dir: Path = env("FAQ_PROJECT_DIR", ROOT)
    # Listing or editing a topic is quick; validation runs `rasa data validate` (tens of seconds).
    faq_command_timeout: float = env("FAQ_COMMAND_TIMEOUT_SECONDS", 180.0, ge=1)
    # Publishing trains and checks a model: minutes on a small machine.
    faq_publish_timeout: float = env("FAQ_PUBLISH_TIMEOUT_SECONDS", 1800.0, ge=10)
    # The conversation archive (handoff/archive, docs/archive.md): SQLite under var/ unless a
    # URL names another database (postgresql+psycopg2://user:password@host/db).
    archive_database_url: str = env(
        "ARCHIVE_DATABASE_URL", factory=lambda s: f"sqlite:///{s['var_dir'] / 'archive.sqlite3'}"
    )
    # The shop's order store (orders/store.py), the one the assistant's actions read: the
    # console's order panel shows agents the same rows.
    orders_database_url: str = env("ORDERS_DATABASE_URL", factory=lambda s: default_orders_url())
    orders_timeout: float = env("ORDERS_DB_TIMEOUT_SECONDS", 3.0, gt=0, le=60)
    # Archived conversations with no activity for this long are deleted; 0 keeps them until an
    # admin erases them.
    archive_retention_days: float = env("ARCHIVE_RETENTION_DAYS", 365.0, ge=0)
    # Email, the conversation's second channel (handoff/email, docs/email.md). Outbound by URL
    # (smtp://, smtp+starttls://, smtps://, user:password@ allowed; "off": none sent); inbound
    # by URL too (smtp://host:port, or smtp+starttls:// requiring TLS with the certificate and
    # key files below; "off": none received); replies go to reply+<signed token>@REPLY_DOMAIN.
    smtp_url: Annotated[str, AfterValidator(check_smtp_url)] = env("SMTP_URL", "off")
    mail_from: str = env("MAIL_FROM", "Harbor Goods support <support@harbor-goods.example>")
    reply_domain: str = env("REPLY_DOMAIN", "harbor-goods.example")
    inbound_smtp: Annotated[str, AfterValidator(check_inbound_listen)] = env(
        "INBOUND_SMTP_LISTEN", "off"
    )
    inbound_tls_cert: str = env("INBOUND_TLS_CERT_FILE", "")
    inbound_tls_key: str = env("INBOUND_TLS_KEY_FILE", "")
    max_inbound_mail_bytes: int = env("MAX_INBOUND_MAIL_BYTES", 25_000_000, ge=10_000)
    # An agent's messages to a customer gone this long (no socket) also go out by email.
    email_after_away: float = env("EMAIL_AFTER_AWAY_SECONDS", 120.0, ge=0)
    follow_up_days: float = env("FOLLOW_UP_DAYS", 3.0, gt=0)
    # The local SMTP catcher `make run` starts: admins read what it caught in the console.
    mail_catcher: bool = env("MAIL_CATCHER", False)
    # How long a closed chat stays in Redis after its last write, for agents and reports (the
    # archive keeps it after that): at least an hour, and with email on at least FOLLOW_UP_DAYS,
    # so a follow-up finds its conversation. After the email settings, which it is checked with.
    closed_conversation_ttl: int = env(
        "CLOSED_CONVERSATION_TTL_SECONDS", CLOSED_CONVERSATION_TTL, ge=3600
    )

    @field_validator("default_team")
    @classmethod
    def _known_team(cls, value: str, info: ValidationInfo) -> str:
        teams = info.data.get("teams")
        if teams is not None and value not in teams:
            raise ValueError(f"is not one of TEAMS ({', '.join(teams)})")
        return value

    @field_validator("business_hours_spec")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_windows(value)  # now, not on the first message
        return value

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("business_hours_spec"):  # only used, so only checked, with hours
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("is not a time zone name like America/New_York") from None
        return value

    @field_validator("closed_conversation_ttl")
    @classmethod
    def _outlasts_follow_ups(cls, value: int, info: ValidationInfo) -> int:
        smtp, days = info.data.get("smtp_url"), info.data.get("follow_up_days")
        email_on = smtp is not None and parse_smtp_url(smtp) is not None
        if email_on and days is not None and value < days * 86400:
            raise ValueError(
                f"must be at least FOLLOW_UP_DAYS ({days:g} days, {int(days * 86400)}) while "
                "SMTP_URL sends email: a follow-up is skipped when its chat is gone"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Settings(...) takes only its arguments; from_env reads the environment, once.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default: the process environment); SettingsError if invalid."""
        source = EnvironmentSource(cls, os.environ if env is None else env)
        try:
            return cls(**source())
        except ValidationError as error:
            raise SettingsError(source.explain(error)) from None

    @property
    def business_hours(self) -> BusinessHours:
        return BusinessHours(self.business_hours_spec, self.business_timezone)

    @property
    def storage_deadline(self) -> float:
        """The longest one customer or agent request may wait on Redis before `unavailable`.

        A single Redis call can take several REDIS_TIMEOUT_SECONDS against a stalled server
        (reconnect attempts and retries each time out on their own), and a request makes a few
        calls; this bounds the total, so a stalled Redis never freezes a socket for long.
        """
        return 4 * self.redis_timeout


class EnvironmentSource(PydanticBaseSettingsSource):
    """Settings from one environment mapping, by each field's variable: values stripped, empty
    as unset. A SecretFile secret comes from NAME, else NAME_FILE, else its HARBOR_VAR_DIR file."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env
        var_dir = self._get("HARBOR_VAR_DIR")
        self.var_dir = Path(var_dir) if var_dir else settings_cls.model_fields["var_dir"].default
        self.secret_paths: dict[str, Path] = {}  # where each was looked for, for the message

    def _get(self, name: str) -> str | None:
        return self.env.get(name, "").strip() or None

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = str(field.validation_alias)
        value = self._get(name)
        secret_file = next((m for m in field.metadata if isinstance(m, SecretFile)), None)
        if value is None and secret_file is not None:
            value = self._read_secret(name, secret_file)
        return value, name, False

    def _read_secret(self, name: str, secret_file: SecretFile) -> str | None:
        named = self._get(f"{name}_FILE")
        path = self.secret_paths[name] = Path(named) if named else self.var_dir / secret_file.name
        if not named and not path.exists():
            return None
        try:
            return path.read_text().strip() or None
        except OSError as error:
            where = f"{name}_FILE={str(path)!r}" if named else f"{name} is not set and {path}"
            raise SettingsError(f"{where} cannot be read: {error.strerror}") from None

    def __call__(self) -> dict[str, Any]:
        found = (self.get_field_value(f, n) for n, f in self.settings_cls.model_fields.items())
        return {name: value for value, name, _ in found if value is not None}

    def explain(self, error: ValidationError) -> str:
        """One sentence naming each variable that is wrong, and how (never a secret's value)."""
        fields = {str(f.validation_alias): f for f in self.settings_cls.model_fields.values()}
        problems: list[str] = []
        for item in error.errors(include_url=False):
            if item["type"] == "default_factory_not_called":
                continue  # follows from another problem, reported on its own
            name = str(item["loc"][0]) if item["loc"] else "a setting"
            path = self.secret_paths.get(name)
            if item["type"] == "missing":
                problems.append(
                    f"{name} is not set and {path} is missing or empty; start the stack with "
                    f"make run, or set {name} to a long random string"
                    if path
                    else f"{name} is not set"
                )
                continue
            field = fields.get(name)
            secret = field is not None and field.annotation is Secret
            raw = self._get(name)  # as written in the environment
            # A URL's user:password@ (SMTP_URL, REDIS_URL, ...) never shows.
            shown = name if raw is None else f"{name}={re.sub(r'//[^/@]*@', '//***@', raw)!r}"
            reason = _reason(item["type"], item["msg"], item.get("ctx", {}))
            problems.append(f"{name if secret else shown} {reason}")
        # str(error) would show the values, secrets among them: never fall back to it.
        return "; ".join(dict.fromkeys(problems)) or "the settings are not valid"


REASONS = {
    **dict.fromkeys(("int_parsing", "int_from_float", "int_type"), "must be a whole number"),
    **dict.fromkeys(("float_parsing", "float_type"), "must be a number"),
    **dict.fromkeys(("bool_parsing", "bool_type"), "must be true or false"),
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must not be empty",
    "value_error": "{error}",  # the validators above word theirs this way
}


def _reason(kind: str, message: str, ctx: Mapping[str, Any]) -> str:
    if kind in REASONS:
        return REASONS[kind].format(**ctx)
    return f"is not valid: {message[:1].lower()}{message[1:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m handoff.settings --check`: ok (exit 0), or the error on stderr (exit 2)."""
    if list(sys.argv[1:] if argv is None else argv) != ["--check"]:
        print("usage: python -m handoff.settings --check", file=sys.stderr)
        return 2
    try:
        Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    print("ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
