"""What an agent writes holds no control character: a message or close notes carrying one is
refused with the frame's own error code (the agent's console shows it), never stored or stripped;
tabs and line breaks are text. NUL in particular is what PostgreSQL refuses to archive."""

from __future__ import annotations

import pytest

from handoff.console.frames import CloseFrame, FrameRefused, MessageFrame, read_frame

CID = "a" * 32


@pytest.mark.parametrize("text", ["refund\x00 sent", "bell\x07", "escape\x1b[31m"])
def test_a_message_with_a_control_character_is_refused_naming_its_id(text: str) -> None:
    with pytest.raises(FrameRefused) as refused:
        read_frame({"type": "message", "conversation": CID, "id": "m1", "text": text})
    assert refused.value.error["code"] == "bad_message"
    assert refused.value.error["id"] == "m1"
    assert "control characters" in refused.value.error["message"]


def test_close_notes_with_a_control_character_are_refused() -> None:
    with pytest.raises(FrameRefused) as refused:
        read_frame({"type": "close", "conversation": CID, "notes": "called\x00 back"})
    assert refused.value.error["code"] == "bad_close"


def test_tabs_and_line_breaks_are_text() -> None:
    message = read_frame(
        {"type": "message", "conversation": CID, "id": "m2", "text": "Hi,\r\n\tyour refund"}
    )
    assert isinstance(message, MessageFrame) and message.text == "Hi,\r\n\tyour refund"
    close = read_frame({"type": "close", "conversation": CID, "notes": "line\nline"})
    assert isinstance(close, CloseFrame) and close.notes == "line\nline"
