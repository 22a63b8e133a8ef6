"""SMTP_URL and INBOUND_SMTP_LISTEN, read strictly: where the service sends email, and where it
receives customers' replies (docs/email.md).

SMTP_URL:

    off                                   no email is sent
    smtp://host[:port]                    plain SMTP (port 25), e.g. a local relay or catcher
    smtp+starttls://user:pass@host[:587]  SMTP upgraded with STARTTLS (port 587)
    smtps://user:pass@host[:465]          SMTP over TLS from the first byte (port 465)

User and password are percent-decoded (a `@` in a password is written `%40`). Standard library
only: the settings (handoff/settings.py) check the URL at start-up with `check_smtp_url`.

INBOUND_SMTP_LISTEN:

    off                                   no email is received
    smtp://host[:port]                    plain SMTP (port 25); also written host:port
    smtp+starttls://host[:port]           STARTTLS offered and required before any mail
                                          (INBOUND_TLS_CERT_FILE, INBOUND_TLS_KEY_FILE)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

OFF = "off"
# scheme -> (default port, implicit TLS, STARTTLS)
SCHEMES: dict[str, tuple[int, bool, bool]] = {
    "smtp": (25, False, False),
    "smtp+starttls": (587, False, True),
    "smtps": (465, True, False),
}
SHAPE = (
    "must be off, smtp://host:port, smtp+starttls://user:password@host:587 or "
    "smtps://user:password@host:465"
)


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: what aiosmtplib needs to connect and log in."""

    host: str
    port: int
    use_tls: bool
    start_tls: bool
    username: str = ""
    password: str = field(default="", repr=False)


def _server_url(
    text: str, shape: str, schemes: Collection[str]
) -> tuple[SplitResult, str, int | None, str]:
    """A server URL's parts, host, port and lower-case scheme; ValueError worded with `shape` when
    its port, scheme or host is wrong or anything follows the host and port."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{shape} (the port is not a number from 1 to 65535)") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise ValueError(f"{shape} (unknown scheme {scheme or 'none'!r})")
    host = parts.hostname
    if not host:
        raise ValueError(f"{shape} (no host)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{shape} (nothing may follow the host and port)")
    return parts, host, port, scheme


def parse_smtp_url(url: str) -> SmtpServer | None:
    """The server SMTP_URL names, or None for `off`; ValueError (worded to follow the variable's
    name, never showing a password) when it is not one of the shapes above."""
    text = url.strip()
    if text.lower() == OFF:
        return None
    parts, host, port, scheme = _server_url(text, SHAPE, SCHEMES)
    if (parts.password is not None) and not parts.username:
        raise ValueError(f"{SHAPE} (a password needs a user)")
    default_port, use_tls, start_tls = SCHEMES[scheme]
    return SmtpServer(
        host=host,
        port=port or default_port,
        use_tls=use_tls,
        start_tls=start_tls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def check_smtp_url(url: str) -> str:
    """The setting's validator: the URL unchanged when it parses (start-up fails otherwise)."""
    parse_smtp_url(url)
    return url


INBOUND_SHAPE = "must be off, host:port, smtp://host:port or smtp+starttls://host:port"


@dataclass(frozen=True)
class InboundListen:
    """Where the service's inbound SMTP server listens, and whether it requires STARTTLS."""

    host: str
    port: int
    starttls: bool = False


def parse_inbound_listen(value: str) -> InboundListen | None:
    """INBOUND_SMTP_LISTEN as an address, None for `off`; ValueError naming the variable when it
    is not one of the shapes above (a bare host:port stays accepted: plain SMTP)."""
    text = value.strip()
    if text.lower() == OFF:
        return None
    if "://" not in text:
        return InboundListen(*host_port(text, "INBOUND_SMTP_LISTEN"))
    shape = f"INBOUND_SMTP_LISTEN {INBOUND_SHAPE}"
    parts, host, port, scheme = _server_url(text, shape, ("smtp", "smtp+starttls"))
    if parts.username or parts.password:
        raise ValueError(f"{shape} (no user: it is where this service listens)")
    # Mail between servers arrives on 25, STARTTLS or not (587 and 465 are for people's
    # mail programs handing mail to their own provider).
    return InboundListen(host, 25 if port is None else port, scheme == "smtp+starttls")


def check_inbound_listen(value: str) -> str:
    """The setting's validator: the value unchanged when it parses (start-up fails otherwise)."""
    parse_inbound_listen(value)
    return value


def host_port(value: str, name: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:2525`; port 0 for any free port) as a pair, for the service's
    inbound mail and the local catcher alike; ValueError naming `name` when it is not one."""
    host, colon, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{name}={value!r} must be host:port")
    return host, int(port)
