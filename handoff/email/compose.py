"""What an email to a customer says, and the message sent for it.

Plain text only. An agent's message goes out as itself, then the conversation so far: the
customer's own conversation (their words, the assistant's and the agents'), never another
one's; system events stay out. Threading headers come with the queued mail
(handoff/email/outbox.py): a Message-ID of ours, In-Reply-To the newest message of the
conversation's thread, References the thread's last ten.

Every email is about one conversation (the outbox queues none without one), and every one ends
with the way back to it: "Continue this conversation in the chat: <SHOP_CHAT_URL>#harbor-chat=
<resume token>". The token is the gateway's own (gateway/tokens.py), issued as the mail is sent
to last as long as a chat with a ticket is kept (CLOSED_CONVERSATION_TTL_SECONDS, or
RESUME_TOKEN_TTL_SECONDS if longer), and it rides in the fragment, never the query:
browsers send neither to the shop's server nor in a Referer. The widget takes it from there
(frontend/widget/storage.js `chatLink`). It grants the chat to whoever holds the email, which
already quotes the conversation (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from handoff.conversations.entry import Entry
from handoff.conversations.store import is_conversation_id
from handoff.gateway import tokens
from handoff.settings import Settings

# The conversation so far, as far back as a person reads in an email.
HISTORY_MESSAGES = 60
HISTORY_CHARS = 20_000
REPLY_HINT = "Reply to this email to answer: your reply goes straight into our conversation."
# The fragment's name the widget reads the resume token from (frontend/widget/storage.js).
CHAT_LINK_NAME = "harbor-chat"
CONTINUE_IN_CHAT = "Continue this conversation in the chat:"


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


def chat_link(settings: Settings, cid: str, now: float | None = None) -> str:
    """The shop page that reopens conversation `cid` in the widget, with a fresh resume token in
    the fragment (after the page's own fragment, if SHOP_CHAT_URL has one)."""
    # As long as a chat with a ticket is kept (queue/tickets.py), or the resume lifetime if
    # longer: an evening's email still leads back to the chat the morning after, where chats
    # with the assistant are kept only hours. A chat gone meanwhile is a new chat, no error.
    lifetime = max(settings.resume_token_ttl, settings.closed_conversation_ttl)
    token = tokens.issue(settings.secret.reveal(), cid, lifetime, now)
    page = settings.shop_chat_url
    return f"{page}{'&' if '#' in page else '#'}{CHAT_LINK_NAME}={token}"


def with_chat_link(body: str, link: str) -> str:
    """The body with the way back to the chat as its last line."""
    return f"{body.rstrip()}\n\n{CONTINUE_IN_CHAT} {link}\n"


def build_message(mail: Mapping[str, str], settings: Settings, reply_to: str) -> EmailMessage:
    """The email for one queued mail (its stored fields), ending with the link to its chat."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail["to"]
    message["Reply-To"] = reply_to
    message["Subject"] = mail.get("subject") or default_subject(settings.mail_from)
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
    body, cid = mail.get("body", ""), mail.get("conversation", "")
    if is_conversation_id(cid):
        body = with_chat_link(body, chat_link(settings, cid))
    message.set_content(body, subtype="plain", charset="utf-8")
    return message
