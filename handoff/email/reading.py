"""Reading an inbound email: who sent it, is it automatic, its new text, its attachments.

Standard library only (`email`, `html.parser`). The text a customer wrote is the plain-text
part when there is one, else the HTML part turned into text; the quoted history their mail
client added below it ("On … wrote:", lines starting with ">", Outlook's "-----Original
Message-----" and "From: … Sent: …" blocks, a "-- " signature) is cut off. Parts that are files
(a Content-Disposition of attachment, or any non-text part not drawn inline by Content-ID) are
counted and never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from handoff.email.addresses import first_address, normalized

# Longest text attached to a conversation; the console shows messages, not novels.
MAX_TEXT_CHARS = 4000
AUTO_PRECEDENCE = {"bulk", "auto_reply", "list", "junk"}
_QUOTE_STARTS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I | re.S),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I),  # Outlook
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook on the web's rule above the quoted headers
    re.compile(r"^\s*From:\s.+$", re.I),  # Outlook: From:/Sent:/To: block of the quoted mail
    re.compile(r"^-- $"),  # the signature separator
]


@dataclass(frozen=True)
class InboundMail:
    sender: str  # the From address, normalized ("" when there is none)
    subject: str
    message_id: str
    text: str  # what the customer wrote, quotes trimmed
    attachments: int  # files refused
    automatic: str  # why it is an automatic mail (never answered, never attached), or ""
    bounce: bool  # a delivery status notification (or from MAILER-DAEMON)


BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"}


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML body: block elements become line breaks, scripts vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag in {"script", "style", "head", "title"}:
            self.hidden += 1
        # Quoted history: <blockquote>, and Gmail's / Outlook's quote containers.
        if (
            tag == "blockquote"
            or "gmail_quote" in classes
            or "divRplyFwdMsg" in (dict(attrs).get("id") or "")
        ):
            self.quoted += 1
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head", "title"} and self.hidden:
            self.hidden -= 1
        if tag == "blockquote" and self.quoted:
            self.quoted -= 1
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden and not self.quoted:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def trim_quoted(text: str) -> str:
    """The new text of a reply: everything above the quoted history and the signature."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            break
        # "On <date>, <name> wrote:" may wrap over two lines.
        joined = line if index + 1 >= len(lines) else f"{line} {lines[index + 1]}"
        if any(p.match(line) for p in _QUOTE_STARTS) or _QUOTE_STARTS[0].match(joined):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def why_automatic(message: Message, envelope_sender: str) -> str:
    """Why this mail was sent by a machine (RFC 3834 and the common conventions), or ""."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "List-Id"):
        if message.get(header) is not None:
            return header
    if is_bounce(message, envelope_sender):
        return "a delivery status notification"
    return ""


def is_bounce(message: Message, envelope_sender: str) -> bool:
    """A delivery status notification: a null envelope sender, MAILER-DAEMON, or a report."""
    sender = normalized(envelope_sender.strip("<>"))
    local = sender.partition("@")[0]
    if not sender or local in {"mailer-daemon", "postmaster"}:
        return True
    return message.get_content_type() == "multipart/report"


def _is_attachment(part: Message) -> bool:
    """A file the sender attached. An inline part with a Content-ID is drawn inside the HTML
    (a signature's logo, a social icon): part of how the mail looks, not a file to refuse."""
    if part.is_multipart():
        return False
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get("Content-ID") is not None:
        return False
    return part.get_content_maintype() != "text" and part.get_content_type() != "message/rfc822"


def _body_text(message: EmailMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None and not _is_attachment(plain):
        return str(plain.get_content())
    html = message.get_body(preferencelist=("html",))
    if html is not None and not _is_attachment(html):
        return html_to_text(str(html.get_content()))
    return ""


def read_mail(raw: bytes, envelope_sender: str) -> InboundMail:
    """The parts of an inbound mail the service acts on (never raises on a malformed mail)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    try:
        text = _body_text(message)
    except (LookupError, ValueError, AttributeError):  # a charset or structure we cannot read
        text = ""
    attachments = sum(1 for part in message.walk() if _is_attachment(part))
    trimmed = trim_quoted(text)
    if len(trimmed) > MAX_TEXT_CHARS:
        trimmed = trimmed[:MAX_TEXT_CHARS].rstrip() + " […]"
    return InboundMail(
        sender=first_address(str(message.get("From", ""))) or normalized(envelope_sender),
        subject=" ".join(str(message.get("Subject", "")).split())[:200],
        message_id=str(message.get("Message-ID", "")).strip(),
        text=trimmed,
        attachments=attachments,
        automatic=why_automatic(message, envelope_sender),
        bounce=is_bounce(message, envelope_sender),
    )


def bounce_reason(raw: bytes) -> str:
    """The diagnostic of a delivery status notification (RFC 3464), as short as it comes."""
    message = message_from_bytes(raw, policy=policy.compat32)
    for part in message.walk():
        if not part.get_content_type().endswith("/delivery-status"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):  # message/delivery-status: parsed into header blocks
            text = "\n".join(str(block) for block in payload)
        else:
            decoded = part.get_payload(decode=True)
            text = decoded.decode("utf-8", "replace") if isinstance(decoded, bytes) else ""
        for header in ("Diagnostic-Code", "Status"):
            found = re.search(rf"^{header}:\s*(.+)$", text, re.M | re.I)
            if found:
                return " ".join(found.group(1).split())[:300]
    return "the recipient's mail server returned it"
