"""What an email to a customer says, and the message sent for it.

Plain text only. An agent's message goes out as itself, then the conversation so far: the
customer's own conversation (their words, the assistant's and the agents'), never another
one's; system events stay out. Threading headers come with the queued mail
(handoff/email/outbox.py): a Message-ID of ours, In-Reply-To the newest message of the
conversation's thread, References the thread's last ten.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from handoff.conversations.entry import Entry

# The conversation so far, as far back as a person reads in an email.
HISTORY_MESSAGES = 60
HISTORY_CHARS = 20_000
REPLY_HINT = "Reply to this email to answer: your reply goes straight into our conversation."


def shop_name(mail_from: str) -> str:
    """The display name of MAIL_FROM ("Harbor Goods support"), or its address."""
    name, address = parseaddr(mail_from)
    return name or address or "Support"


def default_subject(mail_from: str) -> str:
    return f"Your conversation with {shop_name(mail_from)}"


def _speaker(entry: Entry) -> str:
    if entry.sender == "customer":
        return "You"
    if entry.sender == "bot":
        return "Assistant"
    return entry.fields.get("agent_name") or "Support"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def history(entries: Sequence[Entry], *, leave_out: Collection[str] = ()) -> str:
    """The conversation's messages as plain text, newest last, within the bounds above, but
    for those in `leave_out` (the ones the email itself carries)."""
    lines: list[str] = []
    size = 0
    messages = [e for e in entries if e.kind == "message" and e.id not in leave_out and e.text]
    for entry in reversed(messages[-HISTORY_MESSAGES:]):
        line = f"[{_when(entry.at)}] {_speaker(entry)}: {entry.text}"
        size += len(line) + 1
        if size > HISTORY_CHARS:
            lines.append("[…earlier messages left out]")
            break
        lines.append(line)
    return "\n".join(reversed(lines))


def agent_message_body(text: str, agent_name: str, mail_from: str, so_far: str) -> str:
    """An agent's message as the email the away customer gets."""
    parts = [text.strip(), "", f"{agent_name or 'Support'}, {shop_name(mail_from)}", "", REPLY_HINT]
    if so_far:
        parts += ["", "-------- Our conversation so far --------", so_far]
    return "\n".join(parts) + "\n"


def build_message(mail: Mapping[str, str], mail_from: str, reply_to: str) -> EmailMessage:
    """The email for one queued mail (its stored fields)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail["to"]
    message["Reply-To"] = reply_to
    message["Subject"] = mail.get("subject") or default_subject(mail_from)
    message["Date"] = formatdate(int(mail.get("created_at") or 0) / 1000 or None, localtime=False)
    message["Message-ID"] = mail["message_id"]
    if mail.get("in_reply_to"):
        message["In-Reply-To"] = mail["in_reply_to"]
    if mail.get("references"):
        message["References"] = mail["references"]
    if mail.get("auto"):
        # RFC 3834: an automatic answer, which well-behaved responders never answer again.
        message["Auto-Submitted"] = "auto-replied"
    message["X-Harbor-Kind"] = mail.get("kind", "message")
    message.set_content(mail.get("body", ""), subtype="plain", charset="utf-8")
    return message
