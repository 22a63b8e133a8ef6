"""The words the assistant (Rasa, `actions/`) and the handoff service (`handoff/`) share.

Both Python environments import this package, so it is the standard library and nothing else:
no rasa, no pydantic (the two environments have different majors of it), no numpy.

    reasons.py   escalation reasons: name, queue priority, what the agent reads
    pii.py       masking of emails, card and phone numbers in text other eyes will see
    payload.py   the {"handoff": ...} payload the assistant sends the service: type, builder,
                 reader

tests/vocabulary/test_contract.py holds both sides to it and runs in both environments.
The names below are re-exported for convenience; the modules hold the reasons for each one.
"""

from vocabulary.payload import (
    HANDOFF_KEY,
    MAX_INTENTS,
    HandoffMessage,
    HandoffPayload,
    HandoffSlots,
    IntentTurn,
    InvalidHandoffPayload,
    handoff_message,
    read_handoff_message,
    validate_handoff_payload,
)
from vocabulary.pii import mask
from vocabulary.reasons import (
    AGENT_TEXTS,
    ANGER,
    ASSISTANT_REASONS,
    BOT_FALLBACK,
    BOT_UNAVAILABLE,
    COMPLEX,
    CRISIS,
    DEFAULT_PRIORITY,
    DISTRESS,
    FRUSTRATION,
    HUMAN_REQUEST,
    ORDER_DELAYED,
    PRIORITIES,
    REASONS,
    RISK,
    TRIAGE_LABELS,
    VERIFICATION_FAILED,
    EscalationReason,
    agent_text,
    is_reason,
    priority_of,
)

__all__ = [
    "AGENT_TEXTS",
    "ANGER",
    "ASSISTANT_REASONS",
    "BOT_FALLBACK",
    "BOT_UNAVAILABLE",
    "COMPLEX",
    "CRISIS",
    "DEFAULT_PRIORITY",
    "DISTRESS",
    "FRUSTRATION",
    "HANDOFF_KEY",
    "HUMAN_REQUEST",
    "MAX_INTENTS",
    "ORDER_DELAYED",
    "PRIORITIES",
    "REASONS",
    "RISK",
    "TRIAGE_LABELS",
    "VERIFICATION_FAILED",
    "EscalationReason",
    "HandoffMessage",
    "HandoffPayload",
    "HandoffSlots",
    "IntentTurn",
    "InvalidHandoffPayload",
    "agent_text",
    "handoff_message",
    "is_reason",
    "mask",
    "priority_of",
    "read_handoff_message",
    "validate_handoff_payload",
]
