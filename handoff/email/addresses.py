"""Signed addresses: where a customer's reply goes, and where a bounce comes back.

    reply+<conversation>.<signature>@REPLY_DOMAIN    Reply-To of every email to a customer
    bounce+<mail id>.<signature>@REPLY_DOMAIN        envelope sender (Return-Path) of each email

A reply address's signature is an HMAC (SHA-256, the service secret, 96 bits as 24 hex digits)
over the conversation id **and the customer's address**: it is bound to both. A reply is
attached to the conversation only when the signature matches the conversation it names and the
address it comes from, so an address copied into another conversation, a guessed or altered
one, or the right one used by another sender never reaches the conversation (docs/email.md).
Everything is lower case hex: mail systems may change the case of a local part.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import getaddresses

SIGNATURE_HEX = 24
_SIGNED = re.compile(rf"^(reply|bounce)\+([0-9a-f]{{16,64}})\.([0-9a-f]{{{SIGNATURE_HEX}}})$")


def normalized(address: str) -> str:
    """An email address as compared and stored: trimmed, lower case."""
    return address.strip().lower()


def _signature(secret: str, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def reply_address(secret: str, domain: str, cid: str, customer: str) -> str:
    """The address a customer replies to, signed for this conversation and this customer."""
    signature = _signature(secret, "reply", cid, normalized(customer))
    return f"reply+{cid}.{signature}@{domain}"


def bounce_address(secret: str, domain: str, mail_id: str) -> str:
    """The envelope sender of one email: a bounce addressed to it names the email it is about."""
    return f"bounce+{mail_id}.{_signature(secret, 'bounce', mail_id)}@{domain}"


@dataclass(frozen=True)
class SignedRecipient:
    """A recipient address of ours: what it names, and whether its signature is right for it."""

    purpose: str  # "reply" or "bounce"
    subject: str  # the conversation id, or the mail id
    signature: str


def read_recipient(address: str, domain: str) -> SignedRecipient | None:
    """A `reply+…` or `bounce+…` address at our domain, unverified; None for any other."""
    local, _, at = normalized(address).rpartition("@")
    if at != domain.lower():
        return None
    found = _SIGNED.match(local)
    if found is None:
        return None
    return SignedRecipient(found.group(1), found.group(2), found.group(3))


def reply_signed_for(secret: str, recipient: SignedRecipient, sender: str) -> bool:
    """Does this reply address belong to its conversation and this sender? (constant time)"""
    if recipient.purpose != "reply":
        return False
    expected = _signature(secret, "reply", recipient.subject, normalized(sender))
    return hmac.compare_digest(expected, recipient.signature)


def bounce_signed(secret: str, recipient: SignedRecipient) -> bool:
    if recipient.purpose != "bounce":
        return False
    expected = _signature(secret, "bounce", recipient.subject)
    return hmac.compare_digest(expected, recipient.signature)


def message_id(mail_id: str, domain: str) -> str:
    """The Message-ID of one email of ours."""
    return f"<{mail_id}@{domain}>"


def first_address(header: str | None) -> str:
    """The first address of a From/To header (normalized), or ""."""
    if not header:
        return ""
    for _, address in getaddresses([header]):
        if "@" in address:
            return normalized(address)
    return ""


def sender_key(address: str) -> str:
    """A sender's address as a key part: hashed, so Redis key names carry no address."""
    return hashlib.sha256(normalized(address).encode()).hexdigest()[:32]
