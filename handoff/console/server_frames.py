"""The agent websocket's server → client frames (protocol version 1), as typed dicts: the handlers
build plain dicts that the type checker holds to the protocol, and console/frames.py describes
them in the published schema. Also the definitions both directions share, and `error` frames.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import Field, WithJsonSchema
from typing_extensions import NotRequired, TypedDict

from handoff.console.presence import PRESENCE, PresenceStatus
from handoff.conversations.store import CONVERSATION_ID_BYTES
from handoff.web.sockets import error_frame
from handoff.web.wire import CLIENT_ID

AGENT_PROTOCOL_VERSION: Final = 1
ErrorCode = Literal[
    "bad_frame", "unknown_type", "session_ended", "unavailable", "bad_presence",
    "not_online", "not_found", "not_yours", "forbidden", "bad_message", "too_long",
    "bad_transfer", "agent_unavailable", "agent_full", "transfer_failed",
    "return_failed", "bad_close", "close_failed", "rate_limited",
]  # fmt: skip
ClaimFailure = Literal["taken", "capacity", "not_found", "other_team"]

# Definitions the frames share, by name; a field points at one with `shared(name)`.
SHARED_DEFS: dict[str, Any] = {
    "conversationId": {"type": "string", "pattern": f"^[0-9a-f]{{{CONVERSATION_ID_BYTES * 2}}}$"},
    "clientId": {"type": "string", "pattern": CLIENT_ID.pattern},
    "entryId": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
    "state": {"enum": ["bot", "queued", "assigned", "closed"]},
    "presenceStatus": {"enum": list(PRESENCE)},
    "button": {
        "type": "object",
        "required": ["title", "payload"],
        "properties": {"title": {"type": "string"}, "payload": {"type": "string"}},
    },
}
SHARED_KEY = "x-shared"  # placeholder key, turned into a $ref when the document is put together


def shared(name: str) -> WithJsonSchema:
    """Described on the wire by the shared definition `name` (in SHARED_DEFS)."""
    return WithJsonSchema({SHARED_KEY: name})


def refuse(code: ErrorCode, message: str, **about: str) -> dict[str, Any]:
    """An `error` frame (the shape both sockets share), with the fields it is `about`."""
    return error_frame(code, message, **about)


ConversationId = Annotated[str, shared("conversationId")]
EntryId = Annotated[str, shared("entryId")]
EmailStatus = Literal["queued", "sent", "failed"]
Seconds = Annotated[float, WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]
ResponseKindField = Annotated[str, WithJsonSchema({"enum": ["first", "next"]})]


class HelloFrame(TypedDict):
    type: Literal["hello"]
    v: Literal[1]
    agent: str
    display_name: str
    role: Annotated[str, WithJsonSchema({"enum": ["agent", "admin"]})]
    teams: list[str]
    presence: Annotated[str, shared("presenceStatus")]
    capacity: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    active: list[ConversationId]


class QueueItem(TypedDict):
    """A waiting chat as the console lists it (also GET /api/queue)."""

    conversation: ConversationId
    priority: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    reason: str
    reason_text: str
    waiting_seconds: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    summary: str
    # The chat's title (queue_view.chat_title) and its first-response target: the console shows
    # the time left as target_seconds - waiting_seconds, counting down from the frame's arrival.
    title: str
    target_seconds: Seconds


class QueueFrame(TypedDict):
    type: Literal["queue"]
    team: str
    items: list[QueueItem]


class ActiveFrame(TypedDict):
    type: Literal["active"]
    conversations: list[ConversationId]


class ResponseDue(TypedDict):
    """The reply a customer is waiting for (handoff/queue/targets.py): `left_seconds` until its
    target when the frame was made (negative: overdue by that much). `started_at` (server ms)
    names the wait; the console counts down from the frame's arrival, not from it."""

    kind: ResponseKindField
    target_seconds: Seconds
    left_seconds: int
    started_at: int


class MyChat(TypedDict):
    """One of the agent's assigned chats, as My chats shows it."""

    conversation: ConversationId
    title: str
    priority: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    due: ResponseDue | None


class MineFrame(TypedDict):
    type: Literal["mine"]
    chats: list[MyChat]


class BreachFrame(TypedDict):
    """A chat the agent sees passed its response-time target (sent once per breach)."""

    type: Literal["breach"]
    conversation: ConversationId
    title: str
    kind: ResponseKindField
    priority: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    target_seconds: Seconds
    state: Annotated[str, shared("state")]


class SentimentMark(TypedDict):
    id: EntryId
    upset: float


class HandoffPacket(TypedDict, total=False):
    """What the assistant handed over with the chat (handoff/queue/packet.py); open-ended."""

    reason: str
    reason_text: str
    priority: int
    source: str
    summary: str
    intents: list[Any]
    slots: dict[str, Any]
    sentiment: list[SentimentMark]
    scores: dict[str, Any]
    escalated_at: int


class ClaimedFrame(TypedDict):
    type: Literal["claimed"]
    conversation: ConversationId
    packet: Annotated[dict[str, Any], shared("packet")]


_NOT_QUEUED = "^not_queued:(" + "|".join(SHARED_DEFS["state"]["enum"]) + ")?$"


class ClaimFailedFrame(TypedDict):
    type: Literal["claim_failed"]
    conversation: str
    winner: str
    # One of ClaimFailure, or `not_queued:<state>` when the chat left the queue otherwise.
    reason: Annotated[
        str,
        WithJsonSchema(
            {
                "anyOf": [
                    {"enum": list(get_args(ClaimFailure))},
                    {"type": "string", "pattern": _NOT_QUEUED},
                ]
            }
        ),
    ]


# An entry of an opened conversation, as the conversation store writes it, plus `conversation`.
EventFrame = TypedDict(
    "EventFrame",
    {
        "type": Literal["event"],
        "conversation": ConversationId,
        "id": EntryId,
        "kind": Literal["message", "event"],
        "from": Literal["customer", "bot", "agent", "system"],
        "text": str,
        "at": int,
        "client_id": NotRequired[str],
        "agent_name": NotRequired[str],
        "event": NotRequired[str],
        "state": NotRequired[Annotated[str, shared("state")]],
        "reason": NotRequired[str],
        "buttons": NotRequired[list[Annotated[dict[str, str], shared("button")]]],
        "data": NotRequired[Any],
        # A customer's message that came by email (handoff/email/inbound.py).
        "channel": NotRequired[Literal["email"]],
        # An agent's message that also went out by email: whether it was delivered yet.
        "email_status": NotRequired[EmailStatus],
        "email_error": NotRequired[str],
    },
)
CustomerTypingFrame = TypedDict(
    "CustomerTypingFrame",
    {
        "type": Literal["typing"],
        "conversation": ConversationId,
        "from": Literal["customer"],
        "on": bool,
    },
)


class EmailStatusFrame(TypedDict):
    """An agent's message sent by email changed status (queued: not delivered yet; sent: the
    mail server took it; failed: refused, given up or bounced, `error` says why)."""

    type: Literal["email_status"]
    conversation: ConversationId
    entry: EntryId
    status: EmailStatus
    error: NotRequired[str]


class AckFrame(TypedDict):
    type: Literal["ack"]
    conversation: ConversationId
    id: Annotated[str, shared("clientId")]
    entry: EntryId
    duplicate: bool


class PresenceSetFrame(TypedDict):
    type: Literal["presence"]
    status: Annotated[PresenceStatus, shared("presenceStatus")]


class DoneFrame(TypedDict):
    """A transfer, return to the assistant or close went through."""

    type: Literal["transferred", "returned", "closed"]
    conversation: ConversationId


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    conversation: NotRequired[str]
    id: NotRequired[str]


class PongFrame(TypedDict):
    type: Literal["pong"]


ServerFrame = Annotated[
    HelloFrame
    | QueueFrame
    | ActiveFrame
    | MineFrame
    | BreachFrame
    | ClaimedFrame
    | ClaimFailedFrame
    | EventFrame
    | CustomerTypingFrame
    | EmailStatusFrame
    | AckFrame
    | PresenceSetFrame
    | DoneFrame
    | ErrorFrame
    | PongFrame,
    Field(discriminator="type"),
]
