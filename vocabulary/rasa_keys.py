"""Where Rasa keeps a conversation in Redis, for the launcher that configures it and the service
that erases a customer's data (standard library only: both environments import it)."""

from __future__ import annotations

ESCAPE = "x"


def rasa_key_prefix(service_prefix: str) -> str:
    """The prefix of Rasa's tracker and lock keys for a deployment whose keys start with
    `service_prefix`.

    Rasa 3.6 accepts only an alphanumeric prefix (it falls back to the shared default 'tracker:'
    otherwise, with a warning) and adds ':tracker:' / ':lock:' itself: 'ha' gives
    'ha:tracker:<conversation>', next to the service's own 'ha:conv:<conversation>'. Any other
    character is escaped as 'x' and two hex digits per UTF-8 byte, 'x' included, so two
    different service prefixes never share Rasa's keys ('a-b' -> 'ax2db', 'ax2db' -> 'ax782db').
    """
    return "".join(
        char
        if char.isascii() and char.isalnum() and char != ESCAPE
        else "".join(f"{ESCAPE}{byte:02x}" for byte in char.encode())
        for char in service_prefix
    )


def rasa_tracker_key(service_prefix: str, conversation: str) -> str:
    """Rasa's tracker of a conversation (the conversation id is Rasa's sender id)."""
    return f"{rasa_key_prefix(service_prefix)}:tracker:{conversation}"


def rasa_lock_key(service_prefix: str, conversation: str) -> str:
    return f"{rasa_key_prefix(service_prefix)}:lock:{conversation}"
