"""Configuration of the handoff service, read once from the environment in the app factory.

Every value has a documented default (see docs/configuration.md); a malformed value fails
start-up with a message naming the variable. Secrets are wrapped so they never print.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Secret:
    """A string that shows as '**********' in logs, reprs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _read(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default).strip()


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = _read(env, name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = _read(env, name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _read(env, name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _read(env, name, default).split(",") if item.strip())


def _command(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A command line (program and leading arguments), split like a shell would."""
    raw = _read(env, name, "")
    if not raw:
        return default
    try:
        parts = tuple(shlex.split(raw))
    except ValueError as error:
        raise SettingsError(f"{name}={raw!r} is not a valid command line: {error}") from None
    if not parts:
        raise SettingsError(f"{name} must name a program")
    if len(parts) == 1 and Path(parts[0]).name.startswith("python"):
        # The Rasa environment's interpreter alone: run the project's FAQ tool with it.
        parts = (*parts, "-m", "bot", "faq")
    return parts


def _secret(env: Mapping[str, str], name: str, var_dir: Path, filename: str) -> Secret:
    """A secret from NAME, else NAME_FILE, else the launcher's generated file under var/."""
    if env.get(name):
        return Secret(env[name].strip())
    path = Path(env.get(f"{name}_FILE", str(var_dir / filename)))
    if path.exists():
        return Secret(path.read_text().strip())
    return Secret("")


@dataclass(frozen=True)
class BusinessHours:
    """Weekly opening hours of the live-agent team, in one time zone.

    `spec` looks like "mon-fri 08:00-20:00; sat 09:00-17:00"; an empty spec means always open.
    """

    spec: str
    timezone: str

    def windows(self) -> dict[int, list[tuple[int, int]]]:
        days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        result: dict[int, list[tuple[int, int]]] = {}
        for part in filter(None, (p.strip() for p in self.spec.split(";"))):
            try:
                day_part, time_part = part.split()
                start_s, end_s = time_part.split("-")
                start = int(start_s[:2]) * 60 + int(start_s[3:5])
                end = int(end_s[:2]) * 60 + int(end_s[3:5])
                if "-" in day_part:
                    first, last = day_part.split("-")
                    span = range(days.index(first), days.index(last) + 1)
                else:
                    span = range(days.index(day_part), days.index(day_part) + 1)
            except (ValueError, IndexError):
                raise SettingsError(
                    f"BUSINESS_HOURS part {part!r} must look like 'mon-fri 08:00-20:00'"
                ) from None
            for day in span:
                result.setdefault(day, []).append((start, end))
        return result


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://localhost:8080"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "ha"
    # Redis calls fail fast so a stalled Redis never freezes a customer's socket for long.
    redis_timeout: float = 2.0
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)
    rasa_token: Secret = field(default_factory=lambda: Secret(""))
    bot_turn_timeout: float = 8.0
    secret: Secret = field(default_factory=lambda: Secret(""))
    resume_token_ttl: int = 7 * 24 * 3600
    allowed_origins: tuple[str, ...] = ()
    # Origins allowed to open a console socket; empty means the same as allowed_origins.
    console_origins: tuple[str, ...] = ()
    max_message_chars: int = 2000
    max_frame_bytes: int = 16 * 1024
    customer_rate_per_minute: int = 40
    ip_connections_per_minute: int = 60
    # Frames a socket may send a second on average (bursts of four times that); past it frames
    # are dropped with one `rate_limited` error a second. Typing hints are sent at most every
    # few seconds, so a person never comes near it.
    socket_frames_per_second: float = 10.0
    default_team: str = "support"
    teams: tuple[str, ...] = ("support",)
    agent_capacity: int = 3
    agent_grace_seconds: float = 60.0
    auto_assign: bool = False
    business_hours: BusinessHours = field(default_factory=lambda: BusinessHours("", "UTC"))
    default_handling_seconds: float = 300.0
    session_ttl: int = 12 * 3600
    login_failures_allowed: int = 5
    bootstrap_admin_password: Secret = field(default_factory=lambda: Secret(""))
    triage_enabled: bool = True
    triage_model_dir: Path | None = None
    # Told at once to a customer whose message hints at self-harm or a crisis, before anything
    # else: a person is coming, and where immediate help is. A shop outside the US sets its own.
    crisis_help_text: str = (
        "It sounds like you're going through a lot right now, and I'm sorry. I'm bringing in a "
        "person from our team. If you are in danger or thinking about harming yourself, please "
        "call your local emergency number now, or in the US call or text 988 (the Suicide & "
        "Crisis Lifeline), any time, day or night."
    )
    canned_responses_file: Path = ROOT / "handoff" / "canned_responses.yml"
    widget_title: str = "Harbor Goods help"
    widget_greeting: str = (
        "Hi! I'm the Harbor Goods assistant. Ask me about orders, shipping or returns."
    )
    cookie_secure: bool = False
    var_dir: Path = ROOT / "var"
    # The FAQ content tool the editor page drives (bot faq ...), and the project it edits.
    faq_cli: tuple[str, ...] = (str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot", "faq")
    faq_project_dir: Path = ROOT
    # Listing or editing a topic is quick; validation runs `rasa data validate` (tens of seconds).
    faq_command_timeout: float = 180.0
    # Publishing trains and checks a model: minutes on a small machine.
    faq_publish_timeout: float = 1800.0

    @property
    def storage_deadline(self) -> float:
        """The longest one customer or agent request may wait on Redis before `unavailable`.

        A single Redis call can take several REDIS_TIMEOUT_SECONDS against a stalled server
        (reconnect attempts and retries each time out on their own), and a request makes a few
        calls; this bounds the total, so a stalled Redis never freezes a socket for long.
        """
        return 4 * self.redis_timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        var_dir = Path(_read(e, "HARBOR_VAR_DIR", str(ROOT / "var")))
        port = _int(e, "HANDOFF_PORT", 8080, minimum=1)
        public_url = _read(e, "HANDOFF_PUBLIC_URL", f"http://localhost:{port}").rstrip("/")
        # The service's own pages, on either name: the demo shop page and the console.
        own = (public_url, f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        shops = tuple(o.rstrip("/") for o in _list(e, "SHOP_ORIGINS", ""))
        origins = tuple(o.rstrip("/") for o in _list(e, "ALLOWED_ORIGINS", "")) or (
            *own,
            *shops,
        )
        # The console is only ever served by the service itself: shop pages may open chats,
        # never a console socket.
        console_origins = tuple(o.rstrip("/") for o in _list(e, "CONSOLE_ORIGINS", "")) or own
        teams = _list(e, "TEAMS", "support")
        default_team = _read(e, "DEFAULT_TEAM", teams[0] if teams else "support")
        if default_team not in teams:
            raise SettingsError(f"DEFAULT_TEAM={default_team!r} is not one of TEAMS={teams}")
        triage_dir = _read(e, "TRIAGE_MODEL_DIR", "")
        settings = cls(
            host=_read(e, "HANDOFF_HOST", "127.0.0.1"),
            port=port,
            public_url=public_url,
            redis_url=_read(e, "REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix=_read(e, "REDIS_PREFIX", "ha"),
            redis_timeout=_float(e, "REDIS_TIMEOUT_SECONDS", 2.0, minimum=0.1),
            rasa_urls=tuple(u.rstrip("/") for u in _list(e, "RASA_URLS", "http://127.0.0.1:5005")),
            rasa_token=_secret(e, "RASA_TOKEN", var_dir, "rasa-token"),
            bot_turn_timeout=_float(e, "BOT_TURN_TIMEOUT_SECONDS", 8.0, minimum=0.1),
            secret=_secret(e, "HANDOFF_SECRET", var_dir, "handoff-secret"),
            resume_token_ttl=_int(e, "RESUME_TOKEN_TTL_SECONDS", 7 * 24 * 3600, minimum=60),
            allowed_origins=origins,
            console_origins=console_origins,
            max_message_chars=_int(e, "MAX_MESSAGE_CHARS", 2000, minimum=1),
            max_frame_bytes=_int(e, "MAX_FRAME_BYTES", 16 * 1024, minimum=256),
            customer_rate_per_minute=_int(e, "CUSTOMER_MESSAGES_PER_MINUTE", 40, minimum=1),
            ip_connections_per_minute=_int(e, "IP_CONNECTIONS_PER_MINUTE", 60, minimum=1),
            socket_frames_per_second=_float(e, "SOCKET_FRAMES_PER_SECOND", 10.0, minimum=0.1),
            default_team=default_team,
            teams=teams,
            agent_capacity=_int(e, "AGENT_CAPACITY", 3, minimum=1),
            agent_grace_seconds=_float(e, "AGENT_GRACE_SECONDS", 60.0, minimum=0.5),
            auto_assign=_bool(e, "AUTO_ASSIGN", False),
            business_hours=BusinessHours(
                _read(e, "BUSINESS_HOURS", ""), _read(e, "BUSINESS_TIMEZONE", "America/New_York")
            ),
            default_handling_seconds=_float(e, "DEFAULT_HANDLING_SECONDS", 300.0, minimum=1),
            session_ttl=_int(e, "AGENT_SESSION_TTL_SECONDS", 12 * 3600, minimum=60),
            login_failures_allowed=_int(e, "LOGIN_FAILURES_ALLOWED", 5, minimum=1),
            bootstrap_admin_password=Secret(_read(e, "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD", "")),
            triage_enabled=_bool(e, "TRIAGE_ENABLED", True),
            triage_model_dir=Path(triage_dir) if triage_dir else None,
            crisis_help_text=_read(e, "CRISIS_HELP_TEXT", cls.crisis_help_text),
            canned_responses_file=Path(
                _read(e, "CANNED_RESPONSES_FILE", str(cls.canned_responses_file))
            ),
            widget_title=_read(e, "WIDGET_TITLE", cls.widget_title),
            widget_greeting=_read(e, "WIDGET_GREETING", cls.widget_greeting),
            cookie_secure=_bool(e, "COOKIE_SECURE", public_url.startswith("https://")),
            var_dir=var_dir,
            faq_cli=_command(e, "FAQ_CLI", cls.faq_cli),
            faq_project_dir=Path(_read(e, "FAQ_PROJECT_DIR", str(ROOT))),
            faq_command_timeout=_float(e, "FAQ_COMMAND_TIMEOUT_SECONDS", 180.0, minimum=1),
            faq_publish_timeout=_float(e, "FAQ_PUBLISH_TIMEOUT_SECONDS", 1800.0, minimum=10),
        )
        settings.business_hours.windows()  # validate the spec now, not on the first message
        if not settings.secret:
            raise SettingsError(
                "HANDOFF_SECRET is not set and var/handoff-secret does not exist; "
                "start the stack with make run, or set HANDOFF_SECRET to a long random string"
            )
        return settings
