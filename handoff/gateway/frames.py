"""The customer websocket's frames, protocol version 1 (docs/protocol.md, "Customer websocket").

One model per frame type, told apart by `type`. Inbound frames are validated at the edge:
`HELLO` reads the first frame, `SESSION` every frame after it (a second `hello` is an unknown
type there, as it always was). A frame that fails gets the error frame its failing field names.

Where the server has always been more forgiving than the published contract, the model takes
what the server took, and `WithJsonSchema` keeps the contract: a `hello`'s `v` is not checked
and a non-text `token` is tried as text; a `typing` frame without `on` means off; a rating's
empty or null `comment` is no comment. Where it was stricter (a message that is only spaces,
an email address, the length limit of the running service), validators check what the schema
cannot say.

`customer_protocol_schema()` is handoff/schema/customer-v1.json (`python -m handoff.web.schemas`).
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from handoff.web.wire import (
    CLIENT_ID_PATTERN,
    CONTROL_CHARACTERS,
    CONVERSATION_ID_PATTERN,
    ENTRY_ID_PATTERN,
    FrameReader,
    OutboundFrame,
    Refuse,
    WireFrame,
    protocol_schema,
)

SCHEMA_ID = "https://harbor-assist.example/schema/customer-v1.json"
SCHEMA_TITLE = "Harbor Assist customer websocket, protocol version 1"
EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,190}\.[^@\s\x00-\x1f]{2,}$")
# A `last_seen` this long is no entry id: the client is sent the whole conversation again.
MAX_LAST_SEEN = 40

ErrorCode = Literal[
    "bad_frame",
    "hello_expected",
    "token_refused",
    "bad_message",
    "too_long",
    "rate_limited",
    "closed",
    "unavailable",
    "not_queued",
    "bad_email",
    "bad_rating",
    "not_closed",
    "already_rated",
    "unknown_type",
]
ERROR_CODES = frozenset(typing.get_args(ErrorCode))
ConversationState = Literal["bot", "queued", "assigned", "closed"]
ClientId = TypeAliasType("ClientId", Annotated[str, Field(pattern=CLIENT_ID_PATTERN)])
EntryId = TypeAliasType("EntryId", Annotated[str, Field(pattern=ENTRY_ID_PATTERN)])


# --- checks the schema cannot express -------------------------------------------------------


def _limit(info: ValidationInfo) -> int | None:
    """The running service's MAX_MESSAGE_CHARS (validation context), None outside a socket."""
    limit = (info.context or {}).get("max_message_chars")
    return limit if isinstance(limit, int) else None


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("blank")
    return text


def _printable(code: ErrorCode, what: str) -> AfterValidator:
    """Refuses text with a control character (refused, not stripped: the customer is told, and
    what is stored is what they sent)."""

    def check(text: str) -> str:
        if CONTROL_CHARACTERS.search(text):
            raise PydanticCustomError(
                code, f"{what} can't contain control characters; this one was not sent."
            )
        return text

    return AfterValidator(check)


def _message_fits(text: str, info: ValidationInfo) -> str:
    limit = _limit(info)
    if limit is not None and len(text) > limit:
        raise PydanticCustomError(
            "too_long",
            "Messages can be at most {limit} characters; this one was not sent.",
            {"limit": limit},
        )
    return text.strip()


def _email(address: str) -> str:
    if not EMAIL.match(address.strip()):
        raise ValueError("not an email address")
    return address.strip()


def _note_fits(text: str, info: ValidationInfo) -> str:
    limit = _limit(info)
    if not text.strip() or (limit is not None and len(text) > limit):
        raise ValueError("blank or too long")
    return text.strip()


def _comment_fits(comment: str, info: ValidationInfo) -> str:
    limit = _limit(info)
    if limit is not None and len(comment) > limit:
        raise ValueError("too long")
    return comment.strip()


def _token(value: Any) -> str | None:
    # Whatever is not empty is tried as a token (and refused unless it is one).
    return str(value) if value else None


def _last_seen(value: Any) -> str:
    return value if isinstance(value, str) and len(value) < MAX_LAST_SEEN else ""


# --- client → server -----------------------------------------------------------------------


class Hello(WireFrame):
    """The first frame: opens a conversation, or resumes the one `token` names and replays
    every entry after `last_seen`."""

    type: Annotated[Literal["hello"], Refuse("hello_expected", "The first frame must be 'hello'.")]
    v: Annotated[Any, WithJsonSchema({"const": 1})] = None
    token: Annotated[
        str | None, BeforeValidator(_token), WithJsonSchema({"type": ["string", "null"]})
    ] = None
    last_seen: Annotated[
        str, BeforeValidator(_last_seen), WithJsonSchema({"type": ["string", "null"]})
    ] = ""


class Message(WireFrame):
    """A message to the conversation; stored once per `id`, answered by `ack`."""

    echo: ClassVar[tuple[str, ...]] = ("id",)
    type: Literal["message"]
    id: Annotated[
        ClientId, Refuse("bad_message", "A message needs an 'id' of 1-64 letters/digits.")
    ]
    text: Annotated[
        str,
        Field(min_length=1),
        AfterValidator(_not_blank),
        Refuse("bad_message", "A message needs some text."),
        AfterValidator(_message_fits),
        _printable("bad_message", "Messages"),
    ]


class Typing(WireFrame):
    """The customer started or stopped typing; shown to the agent."""

    # The contract asks for `on`; a frame without it has always meant "stopped".
    model_config = ConfigDict(json_schema_extra={"required": ["type", "on"]})
    type: Literal["typing"]
    on: Annotated[bool, BeforeValidator(bool)] = False


class CancelQueue(WireFrame):
    """Leave the queue, back to the assistant."""

    type: Literal["cancel_queue"]


class LeaveMessage(WireFrame):
    """A message for the team when nobody can take the chat; it becomes a ticket."""

    type: Literal["leave_message"]
    email: Annotated[
        str, AfterValidator(_email), Refuse("bad_email", "Please enter a valid email address.")
    ]
    text: Annotated[
        str,
        AfterValidator(_note_fits),
        Refuse("bad_message", "Please write a message (up to the length limit)."),
        _printable("bad_message", "Messages"),
    ]


class Rating(WireFrame):
    """The customer's rating of a chat an agent closed, once per chat."""

    type: Literal["rating"]
    score: Annotated[
        int, Field(ge=1, le=5), Refuse("bad_rating", "A rating is a whole number from 1 to 5.")
    ]
    comment: Annotated[
        str,
        BeforeValidator(lambda value: value or ""),
        AfterValidator(_comment_fits),
        Refuse("bad_rating", "The comment is too long."),
        _printable("bad_rating", "A comment"),
    ] = ""


class Ping(WireFrame):
    """Answered by `pong`."""

    type: Literal["ping"]


# --- server → client -----------------------------------------------------------------------


class Welcome(OutboundFrame):
    """The answer to `hello`; keep `token` (renewed on every welcome) for the next one."""

    type: Literal["welcome"]
    v: Literal[1]
    conversation: Annotated[str, Field(pattern=CONVERSATION_ID_PATTERN)]
    token: str
    state: ConversationState
    max_message_chars: int


class Ack(OutboundFrame):
    """The message `id` is stored as transcript entry `entry` (`duplicate`: it already was)."""

    type: Literal["ack"]
    id: ClientId
    entry: EntryId
    duplicate: bool


class Button(BaseModel):
    """A quick reply: the client sends `payload` as a message."""

    title: str
    payload: str


class Event(OutboundFrame):
    """One transcript entry: a message, or an event such as a change of state."""

    type: Literal["event"]
    id: EntryId
    kind: Literal["message", "event"]
    sender: Literal["customer", "bot", "agent", "system"] = Field(
        validation_alias="from", serialization_alias="from"
    )
    text: str
    at: int
    client_id: str = ""
    agent_name: str = ""
    event: str = ""
    state: ConversationState = "bot"
    reason: str = ""
    buttons: list[Button] = Field(default_factory=list)
    data: Any = None


class ServerTyping(OutboundFrame):
    """The assistant or the agent started or stopped typing."""

    type: Literal["typing"]
    sender: Literal["bot", "agent"] = Field(validation_alias="from", serialization_alias="from")
    on: bool


class Queue(OutboundFrame):
    """The customer's place in the queue (1 = next) and the estimated wait."""

    type: Literal["queue"]
    position: Annotated[int, Field(ge=1)]
    estimate_seconds: Annotated[int, Field(ge=0)]


class Error(OutboundFrame):
    """A refusal; `id` names the message it concerns."""

    type: Literal["error"]
    code: ErrorCode
    message: str
    id: str = ""


class Pong(OutboundFrame):
    """The answer to `ping`."""

    type: Literal["pong"]


# --- the protocol ----------------------------------------------------------------------------

SessionFrame = Annotated[
    Message | Typing | CancelQueue | LeaveMessage | Rating | Ping, Field(discriminator="type")
]
ClientFrame = Annotated[
    Hello | Message | Typing | CancelQueue | LeaveMessage | Rating | Ping,
    Field(discriminator="type"),
]
ServerFrame = Annotated[
    Welcome | Ack | Event | ServerTyping | Queue | Error | Pong, Field(discriminator="type")
]

HELLO: FrameReader[Hello] = FrameReader(Hello, codes=ERROR_CODES)
SESSION: FrameReader[SessionFrame] = FrameReader(SessionFrame, codes=ERROR_CODES)


def error(code: str, message: str, **about: Any) -> dict[str, Any]:
    """An `error` frame; its code must be one of ErrorCode (checked: a typo fails loudly)."""
    return Error.model_validate(
        {"type": "error", "code": code, "message": message, **about}
    ).frame()


def customer_protocol_schema() -> dict[str, Any]:
    """The JSON Schema of the customer protocol (handoff/schema/customer-v1.json)."""
    return protocol_schema(ClientFrame, ServerFrame, schema_id=SCHEMA_ID, title=SCHEMA_TITLE)
