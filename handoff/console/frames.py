"""The agent websocket's protocol, version 1, as types (docs/protocol.md, "Agent websocket").

Client → server: one pydantic model per frame type, told apart by `type` (`AgentFrame`), read at
the socket's edge by `read_frame`. Server → client: one TypedDict per frame type (`ServerFrame`),
so the handlers build plain, type-checked dicts. `agent_protocol_schema()` is the published JSON
Schema (handoff/schema/agent-v1.json) generated from both.

The schema is what a console must send; the server reads as leniently as it always has:
unknown fields are ignored; a `conversation` that is not a short string reads as "" (no such
chat); a missing or false-y `on`, `last_seen`, `to_agent`, `to_team`, `notes`, `tags` reads as
unset. Only fields whose failure has an error code of its own are checked, each naming its
refusal (`Refusal`): a presence's status, a message's id and text, a close's notes and tags.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from handoff.console.presence import PresenceStatus
from handoff.console.server_frames import (
    SHARED_DEFS,
    SHARED_KEY,
    ErrorCode,
    HandoffPacket,
    ServerFrame,
    refuse,
    shared,
)
from handoff.web.wire import CLIENT_ID, CONTROL_CHARACTERS, JSON_SCHEMA_DIALECT, ContractSchema

MAX_NOTES_CHARS = 4000
MAX_TAGS = 20
MAX_TAG_CHARS = 40


@dataclass(frozen=True)
class Refusal:
    """Field annotation: the error a frame gets when this field fails, and the frame's fields
    it names (read as leniently as the handlers would)."""

    code: ErrorCode
    message: str
    about: tuple[str, ...] = ("conversation",)


class FrameRefused(Exception):
    """An inbound frame the server does not take; `error` is the frame that answers it."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


# --- client → server ---------------------------------------------------------------------------


def conversation_ref(value: object) -> str:
    """A frame's conversation id as the handlers take it: "" unless a short string."""
    return value if isinstance(value, str) and len(value) < 80 else ""


def _short_text(value: object) -> str:
    return value if isinstance(value, str) and len(value) < 40 else ""


def _name(value: object) -> str:
    return str(value) if value else ""


def _client_id(value: str) -> str:
    if not CLIENT_ID.match(value):
        raise ValueError("not a client message id")
    return value


def _some_text(value: str) -> str:
    if not value.strip():
        raise ValueError("blank")
    return value


def _printable(value: str) -> str:
    """What an agent writes goes to the customer and the archive as written, so it holds no
    control character (handoff/web/wire.py CONTROL_CHARACTERS): refused, never stripped."""
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("control character")
    return value


ConversationRef = Annotated[str, BeforeValidator(conversation_ref), shared("conversationId")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG_CHARS)]


def _wire_object(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """On the wire a frame has all its fields but those the model calls optional, and no more."""
    optional: frozenset[str] = getattr(model, "wire_optional", frozenset())
    schema["required"] = [name for name in schema["properties"] if name not in optional]
    schema["additionalProperties"] = False


class ClientFrame(BaseModel):
    """A frame a console sends. Fields it does not know are ignored."""

    model_config = ConfigDict(
        strict=True, frozen=True, extra="ignore", json_schema_extra=_wire_object
    )
    wire_optional: ClassVar[frozenset[str]] = frozenset()


class PresenceFrame(ClientFrame):
    type: Literal["presence"]
    status: Annotated[
        PresenceStatus,
        shared("presenceStatus"),
        Refusal("bad_presence", "Presence is online, away or offline.", about=()),
    ]


class ClaimFrame(ClientFrame):
    type: Literal["claim"]
    conversation: ConversationRef = ""


class OpenFrame(ClientFrame):
    wire_optional = frozenset({"last_seen"})
    type: Literal["open"]
    conversation: ConversationRef = ""
    last_seen: Annotated[
        str, BeforeValidator(_short_text), WithJsonSchema({"type": ["string", "null"]})
    ] = ""


class LeaveFrame(ClientFrame):
    type: Literal["leave"]
    conversation: ConversationRef = ""


class MessageFrame(ClientFrame):
    type: Literal["message"]
    conversation: ConversationRef = ""
    id: Annotated[
        str,
        AfterValidator(_client_id),
        shared("clientId"),
        Refusal("bad_message", "A message needs an 'id' of 1-64 letters/digits."),
    ]
    text: Annotated[
        str,
        AfterValidator(_some_text),
        AfterValidator(_printable),
        WithJsonSchema({"type": "string", "minLength": 1}),
        Refusal(
            "bad_message",
            "A message needs some text, without control characters.",
            about=("id", "conversation"),
        ),
    ]


class TypingFrame(ClientFrame):
    type: Literal["typing"]
    conversation: ConversationRef = ""
    on: Annotated[bool, BeforeValidator(bool), WithJsonSchema({"type": "boolean"})] = False


def _one_target(schema: dict[str, Any], model: type[BaseModel]) -> None:
    _wire_object(schema, model)
    schema["not"] = {"required": ["to_agent", "to_team"]}


AgentOrTeam = Annotated[str, BeforeValidator(_name), WithJsonSchema({"type": "string"})]


class TransferFrame(ClientFrame):
    """To an agent, or else to a team's queue (by default the chat's own team)."""

    model_config = ConfigDict(json_schema_extra=_one_target)
    wire_optional = frozenset({"to_agent", "to_team"})
    type: Literal["transfer"]
    conversation: ConversationRef = ""
    to_agent: AgentOrTeam = ""
    to_team: AgentOrTeam = ""


class ReturnToBotFrame(ClientFrame):
    type: Literal["return_to_bot"]
    conversation: ConversationRef = ""


class CloseFrame(ClientFrame):
    wire_optional = frozenset({"notes", "tags", "email_transcript"})
    type: Literal["close"]
    conversation: ConversationRef = ""
    notes: Annotated[
        str,
        BeforeValidator(lambda value: value or ""),
        Field(max_length=MAX_NOTES_CHARS),
        AfterValidator(_printable),
        Refusal(
            "bad_close", "Notes must be text (at most 4000 characters, no control characters)."
        ),
    ] = ""
    tags: Annotated[
        list[Tag],
        BeforeValidator(lambda value: value or []),
        Field(max_length=MAX_TAGS),
        Refusal("bad_close", "Tags are a list of up to 20 short words."),
    ] = Field(default_factory=list)
    # Email the transcript to the customer once closed (email/follow_up.py), when they gave an
    # address; read leniently like `on`.
    email_transcript: Annotated[
        bool, BeforeValidator(bool), WithJsonSchema({"type": "boolean"})
    ] = False


class PingFrame(ClientFrame):
    type: Literal["ping"]


AgentFrame = Annotated[
    PresenceFrame
    | ClaimFrame
    | OpenFrame
    | LeaveFrame
    | MessageFrame
    | TypingFrame
    | TransferFrame
    | ReturnToBotFrame
    | CloseFrame
    | PingFrame,
    Field(discriminator="type"),
]
_AGENT_FRAMES: TypeAdapter[AgentFrame] = TypeAdapter(AgentFrame)
# The model of each frame type, by its `type`.
CLIENT_FRAMES: dict[str, type[ClientFrame]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in get_args(get_args(AgentFrame)[0])
}


def read_frame(raw: dict[str, Any]) -> AgentFrame:
    """The frame a console sent (a JSON object with a string `type`), or FrameRefused."""
    try:
        return _AGENT_FRAMES.validate_python(raw)
    except ValidationError as error:
        raise FrameRefused(_refusal(raw, error)) from None


_ABOUT = {
    "conversation": conversation_ref,
    "id": lambda value: value if isinstance(value, str) else "",
}


def _refusal(raw: dict[str, Any], error: ValidationError) -> dict[str, Any]:
    kind = str(raw.get("type"))
    model = CLIENT_FRAMES.get(kind)
    first = error.errors(include_url=False)[0]
    if model is None or len(first["loc"]) < 2:
        return refuse("unknown_type", f"Unknown frame type {kind[:40]!r}.")
    field = model.model_fields.get(str(first["loc"][1]))
    found = [m for m in field.metadata if isinstance(m, Refusal)] if field else []
    if not found:  # every other field reads leniently: this is a bug, not a console's mistake
        return refuse("bad_frame", f"{first['loc'][1]}: {first['msg']}")
    refusal = found[0]
    return refuse(
        refusal.code,
        refusal.message,
        **{name: _ABOUT[name](raw.get(name)) for name in refusal.about},
    )


# --- the schema document -----------------------------------------------------------------------

# Each frame's name under $defs, client frames first, in the order of the published document.
_DEF_NAMES: dict[str, str] = {
    "PresenceFrame": "presence",
    "ClaimFrame": "claim",
    "OpenFrame": "open",
    "LeaveFrame": "leave",
    "MessageFrame": "message",
    "TypingFrame": "clientTyping",
    "TransferFrame": "transfer",
    "ReturnToBotFrame": "returnToBot",
    "CloseFrame": "close",
    "PingFrame": "ping",
    "HelloFrame": "hello",
    "QueueItem": "queueItem",
    "QueueFrame": "queue",
    "ActiveFrame": "active",
    "ResponseDue": "responseDue",
    "MyChat": "myChat",
    "MineFrame": "mine",
    "BreachFrame": "breach",
    "HandoffPacket": "packet",
    "SentimentMark": "sentimentMark",
    "ClaimedFrame": "claimed",
    "ClaimFailedFrame": "claimFailed",
    "EventFrame": "event",
    "CustomerTypingFrame": "serverTyping",
    "EmailStatusFrame": "emailStatus",
    "AckFrame": "ack",
    "PresenceSetFrame": "presenceSet",
    "DoneFrame": "done",
    "ErrorFrame": "error",
    "PongFrame": "pong",
}
_OPEN_ENDED = {"packet", "sentimentMark"}  # more fields may come; the rest are closed objects
_DEFS = "#/$defs/"


def _resolve(node: Any) -> Any:
    """Shared-definition placeholders and pydantic's definition names become the document's."""
    if isinstance(node, list):
        return [_resolve(item) for item in node]
    if not isinstance(node, dict):
        return node
    if SHARED_KEY in node:
        return {"$ref": _DEFS + node[SHARED_KEY]}
    if isinstance(node.get("$ref"), str):
        return {"$ref": _DEFS + _DEF_NAMES[node["$ref"].removeprefix(_DEFS)]}
    return {key: _resolve(value) for key, value in node.items()}


def agent_protocol_schema() -> dict[str, Any]:
    """The agent protocol's JSON Schema document (2020-12): every frame under `$defs`, with
    `$defs/clientFrame` and `$defs/serverFrame` the frames each side may send."""
    generated: dict[str, Any] = {}
    unions: dict[str, Any] = {}
    sides: dict[str, Any] = {"clientFrame": AgentFrame, "serverFrame": ServerFrame}
    for side, frames in sides.items():
        schema = TypeAdapter(frames).json_schema(
            ref_template=_DEFS + "{model}", schema_generator=ContractSchema
        )
        generated.update(schema.pop("$defs"))
        unions[side] = {"oneOf": schema["oneOf"]}
    # The packet is sent as the plain JSON the assistant handed over, and described here.
    packet = TypeAdapter(HandoffPacket).json_schema(
        ref_template=_DEFS + "{model}", schema_generator=ContractSchema
    )
    generated.update(packet.pop("$defs", {}))
    generated["HandoffPacket"] = packet
    definitions = copy.deepcopy(SHARED_DEFS)
    for model, name in _DEF_NAMES.items():
        definition = {k: v for k, v in generated[model].items() if k != "title"}
        if name not in _OPEN_ENDED:
            definition["additionalProperties"] = False
        definitions[name] = _resolve(definition)
    definitions.update(_resolve(unions))
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "https://harbor-assist.example/schema/agent-v1.json",
        "title": "Harbor Assist agent console websocket, protocol version 1",
        "$defs": definitions,
    }
