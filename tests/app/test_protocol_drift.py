"""The websocket protocols are defined once, as frame models, and cannot drift.

The models (handoff/gateway/frames.py, handoff/console/frames.py) are what the server validates
with; the schema files in handoff/schema/ are generated from them and are what clients and the
tests validate against; docs/protocol.md is what people read; the handlers are what happens.
This fails when any two disagree: a stale schema file, a frame type or error code the docs name
that the models lack (or the reverse), a frame model without a handler, a code nothing sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handoff.console.frames import CLIENT_FRAMES, agent_protocol_schema
from handoff.gateway.frames import ERROR_CODES, customer_protocol_schema
from handoff.web import schemas

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "protocol.md"
# protocol -> (its schema function, its file, the heading of its part of docs/protocol.md)
PROTOCOLS: dict[str, tuple[Callable[[], dict[str, Any]], str, str]] = {
    "customer": (customer_protocol_schema, "customer-v1.json", "## Customer websocket"),
    "agent": (agent_protocol_schema, "agent-v1.json", "## Agent websocket"),
}


def frame_types(schema: dict[str, Any], side: str) -> set[str]:
    """The `type` values of `$defs/clientFrame` or `$defs/serverFrame` (a union of $refs)."""
    definitions = schema["$defs"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].removeprefix("#/$defs/")]
        return node

    types: set[str] = set()
    union = resolve(definitions[side])
    for member in union.get("oneOf") or union.get("anyOf") or [union]:
        kind = resolve(resolve(member)["properties"]["type"])
        types.update([kind["const"]] if "const" in kind else kind["enum"])
    return types


def error_codes(schema: dict[str, Any]) -> set[str]:
    code = schema["$defs"]["error"]["properties"]["code"]
    return set(code["enum"])


def doc_part(heading: str) -> dict[str, str]:
    """One protocol's part of docs/protocol.md, by `###` subheading."""
    text = DOCS.read_text(encoding="utf-8").split(heading + "\n", 1)[1]
    text = re.split(r"^## ", text, flags=re.M)[0]
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table_names(section: str) -> set[str]:
    """The names in the first column of a section's table (`| `name` | ...`)."""
    return set(re.findall(r"^\| `(\w+)` \|", section, re.M))


def documented_codes(part: dict[str, str]) -> set[str]:
    """A protocol's error codes as documented: the "Error codes" table, or else the codes the
    `error` row of the server table lists after "one of"."""
    if "Error codes" in part:
        return table_names(part["Error codes"])
    row = next(r for r in part["Server → client"].splitlines() if r.startswith("| `error` |"))
    return set(re.findall(r"`([a-z_]+)`", row.split("one of", 1)[1]))


def test_the_schema_files_are_generated_from_the_models() -> None:
    stale = schemas.stale()
    assert not stale, f"stale: {stale}; run `python -m handoff.web.schemas --write`"
    for name in schemas.SCHEMAS:
        schema = json.loads((schemas.SCHEMA_DIR / name).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith("/" + name) and schema["title"]


def test_the_schema_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    assert sorted(schemas.stale(tmp_path)) == sorted(schemas.SCHEMAS)
    assert sorted(schemas.write(tmp_path)) == sorted(schemas.SCHEMAS)
    assert schemas.stale(tmp_path) == []
    customer = tmp_path / "customer-v1.json"
    customer.write_text(customer.read_text().replace('"pong"', '"pongg"'))
    assert schemas.stale(tmp_path) == ["customer-v1.json"]


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_docs_and_the_models_name_the_same_frames(protocol: str) -> None:
    make_schema, _, heading = PROTOCOLS[protocol]
    schema = make_schema()
    part = doc_part(heading)
    assert table_names(part["Client → server"]) == frame_types(schema, "clientFrame")
    assert table_names(part["Server → client"]) == frame_types(schema, "serverFrame")


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_docs_and_the_models_name_the_same_error_codes(protocol: str) -> None:
    make_schema, _, heading = PROTOCOLS[protocol]
    assert documented_codes(doc_part(heading)) == error_codes(make_schema())


def _source(folder: str, *, leave_out: frozenset[str] = frozenset()) -> str:
    paths = sorted((ROOT / "handoff" / folder).glob("*.py"))
    return "\n".join(p.read_text(encoding="utf-8") for p in paths if p.name not in leave_out)


def test_the_gateway_sends_the_customer_frames_and_error_codes_and_no_other() -> None:
    """What the customer protocol names is what the gateway (with the code both sockets share)
    can send: no frame or code in the docs that nothing sends. Every inbound frame model has a
    handler: `handlers.handle` ends in `assert_never`, so mypy fails on one without."""
    schema = customer_protocol_schema()
    code = _source("gateway")
    shared = (ROOT / "handoff" / "web" / "sockets.py").read_text(encoding="utf-8")
    shared += (ROOT / "handoff" / "web" / "wire.py").read_text(encoding="utf-8")
    # Entries go out as conversations' Entry.to_frame(), the queue position as
    # queue/waiting.py's QueueStatus.to_frame().
    sent = {a or b for a, b in re.findall(r'\btype="(\w+)"|"type": "(\w+)"', code)}
    assert sent | {"event", "queue"} == frame_types(schema, "serverFrame")
    refusals = code + shared
    codes = set(
        re.findall(r'(?:\berror|error_frame|Refuse|Refused|CustomError)\(\s*"(\w+)"', refusals)
    )
    assert codes == ERROR_CODES == error_codes(schema)


def test_the_console_handles_every_agent_frame_and_sends_only_its_codes() -> None:
    """The agent protocol's side of the same: each client frame model is dispatched by a case
    of its own, the frames and error codes the console sends are the schema's."""
    schema = agent_protocol_schema()
    code = _source("console", leave_out=frozenset({"frames.py", "server_frames.py"}))
    dispatched = set(re.findall(r"^\s+case (\w+)\(\):$", code, re.M))
    handled = {kind for kind, model in CLIENT_FRAMES.items() if model.__name__ in dispatched}
    assert handled == set(CLIENT_FRAMES) == frame_types(schema, "clientFrame")
    sent = set(re.findall(r'"type": "(\w+)"', code)) | {"event", "error"}
    assert sent == frame_types(schema, "serverFrame")
    # Refusals of fields are named in console/frames.py; rate_limited comes from the frame
    # budget the console socket shares with the customer socket.
    everything = code + (ROOT / "handoff" / "console" / "frames.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'(?:refuse|Refusal)\(\s*"(\w+)"', everything)) | {"rate_limited"}
    assert codes == error_codes(schema)
