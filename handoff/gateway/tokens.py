"""Signed resume tokens: how a browser proves, after a reload, which conversation is its own.

    v1.<conversation id>.<expiry, unix seconds>.<HMAC-SHA256 of the first three parts>

The gateway alone issues them; a token that is forged, expired, malformed or for another
conversation is refused with the same answer, so a probe learns nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from handoff.conversations.store import is_conversation_id

VERSION = "v1"


class TokenRefused(Exception):
    """The token cannot resume any conversation."""


def _sign(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(secret: str, cid: str, ttl_seconds: int, now: float | None = None) -> str:
    expiry = int((now if now is not None else time.time()) + ttl_seconds)
    body = f"{VERSION}.{cid}.{expiry}"
    return f"{body}.{_sign(secret.encode(), body)}"


def verify(secret: str, token: str, now: float | None = None) -> str:
    """Return the conversation id the token grants, or raise TokenRefused."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 200 else []
    if len(parts) != 4 or parts[0] != VERSION:
        raise TokenRefused
    _, cid, expiry_s, signature = parts
    body = f"{VERSION}.{cid}.{expiry_s}"
    if not hmac.compare_digest(_sign(secret.encode(), body), signature):
        raise TokenRefused
    if not is_conversation_id(cid) or not expiry_s.isdigit():
        raise TokenRefused
    if int(expiry_s) < (now if now is not None else time.time()):
        raise TokenRefused
    return cid
