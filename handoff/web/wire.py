"""What the customer and agent protocols share: frame models, reading frames, their schemas.

Each protocol defines its frames as pydantic models (`gateway/frames.py`, `console/frames.py`),
one model per frame type, told apart by the literal `type` field. This module gives them:

- `WireFrame`, the models' base (strict: a string is never taken for a number, nor a number for
  a string; patterns use Python's `re`, as the hand-written checks did), and `OutboundFrame`
  for the frames the server sends (no field beyond its model's);
- `Refuse`, an annotation naming the error frame a field's failure is answered with;
- `FrameReader`, which validates an inbound frame (a TypeAdapter over the union) and turns a
  validation error into `Refused(code, message, extra)`: `unknown_type` for a type the union does
  not have; else the first failing field (in the model's field order) names the refusal — a
  validator may name its own with `PydanticCustomError(code, message)` — and the fields listed
  in the model's `echo` that came before it are sent back with it (the message `id`);
- `protocol_schema()`, the JSON Schema document of a protocol, generated from its models
  (`python -m handoff.web.schemas --write` writes them to handoff/schema/).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import GenericAlias
from typing import Any, ClassVar, Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import TypeAliasType

PROTOCOL_VERSION: Final = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_ID = re.compile(CLIENT_ID_PATTERN)
ENTRY_ID_PATTERN = r"^[0-9]+-[0-9]+$"
CONVERSATION_ID_PATTERN = r"^[0-9a-f]{32}$"
# C0 control characters but tab, line feed and carriage return: nothing a person types, and NUL
# is text PostgreSQL refuses to store, so a message holding one could never be archived. Both
# protocols refuse them in what people write (refused, not stripped: what is stored is what was
# sent).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

FrameT = TypeVar("FrameT")


class WireFrame(BaseModel):
    """A frame of one of the websocket protocols. Inbound frames ignore fields they do not know."""

    model_config = ConfigDict(strict=True, regex_engine="python-re")
    # Fields sent back with an error about a later field (a message's `id`).
    echo: ClassVar[tuple[str, ...]] = ()

    def frame(self) -> dict[str, Any]:
        """The frame as it goes on the wire: wire names (`from`), only the fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class OutboundFrame(WireFrame):
    """A frame the server sends: exactly the fields its model names."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


@dataclass(frozen=True)
class Refuse:
    """Field annotation: a frame whose field fails validation gets this error frame."""

    code: str
    message: str


class Refused(Exception):
    """An inbound frame failed validation; the error frame to answer it with."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def frame_types(frames: Any) -> dict[str, type[WireFrame]]:
    """The models of a union of frames (or of one frame model), by their `type` tag."""
    if typing.get_origin(frames) is typing.Annotated:
        frames = typing.get_args(frames)[0]
    members = typing.get_args(frames) or (frames,)
    found: dict[str, type[WireFrame]] = {}
    for model in members:
        for tag in typing.get_args(model.model_fields["type"].annotation):
            found[tag] = model
    return found


class FrameReader(Generic[FrameT]):
    """Validates inbound frames (already parsed JSON objects with a string `type`)."""

    def __init__(self, frames: Any, *, codes: Collection[str]) -> None:
        self.adapter: TypeAdapter[FrameT] = TypeAdapter(frames)
        self.models = frame_types(frames)
        self.in_union = len(self.models) > 1
        self.codes = frozenset(codes)

    def read(self, data: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> FrameT:
        try:
            return self.adapter.validate_python(data, context=context)
        except ValidationError as error:
            raise self.refusal(error, data) from None

    def refusal(self, error: ValidationError, data: Mapping[str, Any]) -> Refused:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        kind = str(data.get("type"))
        if self.in_union:
            found = self.models.get(kind)
            if found is None or any(p["type"] == "union_tag_invalid" for p in problems):
                return Refused("unknown_type", f"Unknown frame type {kind[:40]!r}.")
            model = found
        else:
            # One model (the first frame): a wrong `type` is that model's `type` field failing.
            (model,) = self.models.values()
        order = {
            (info.validation_alias if isinstance(info.validation_alias, str) else name): index
            for index, (name, info) in enumerate(model.model_fields.items())
        }
        names = list(model.model_fields)

        def field_of(problem: Any) -> str:
            loc = problem["loc"][1:] if self.in_union else problem["loc"]
            return str(loc[0]) if loc else ""

        first = min(problems, key=lambda p: order.get(field_of(p), len(order)))
        where = order.get(field_of(first), len(order))
        echoed = {n: data[n] for n in model.echo if n in data and names.index(n) < where}
        if first["type"] in self.codes:
            return Refused(first["type"], first["msg"], **echoed)
        refuse = _refuse_of(model, names[where]) if where < len(names) else None
        if refuse is None:
            return Refused("bad_frame", f"{field_of(first) or 'frame'}: {first['msg']}", **echoed)
        return Refused(refuse.code, refuse.message, **echoed)


def _refuse_of(model: type[WireFrame], name: str) -> Refuse | None:
    return next((m for m in model.model_fields[name].metadata if isinstance(m, Refuse)), None)


class ContractSchema(GenerateJsonSchema):
    """JSON Schema as the protocol documents are written: no titles, no defaults (a default is
    what the server assumes, not part of the contract)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


class _ProtocolSchema(ContractSchema):
    """The contract's schema with camelCase definition names."""

    def normalize_name(self, name: str) -> str:
        normal = super().normalize_name(name)
        return normal[:1].lower() + normal[1:]


def protocol_schema(client: Any, server: Any, *, schema_id: str, title: str) -> dict[str, Any]:
    """One protocol's schema document: every frame under `$defs`, with `$defs/clientFrame` and
    `$defs/serverFrame` the unions of what each side may send."""
    both: Any = GenericAlias(
        tuple, (TypeAliasType("ClientFrame", client), TypeAliasType("ServerFrame", server))
    )
    generated = TypeAdapter(both).json_schema(schema_generator=_ProtocolSchema)
    definitions = {
        name: {key: value for key, value in definition.items() if key != "title"}
        for name, definition in generated["$defs"].items()
    }
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id, "title": title, "$defs": definitions}
