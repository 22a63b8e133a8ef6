"""Rasa's command line with one correction: the action server's answer is checked against a
schema compiled once, not once per call.

    .venv-rasa/bin/python -m bot.rasa_server run --enable-api ...    (what `make run` starts)

Rasa 3.6 checks every answer of the action server with `jsonschema.validate(answer, schema)`,
which first checks the *schema itself* against the JSON Schema meta-schema. With the
jsonschema release Rasa allows (4.17) that meta-check is the draft 2020-12 one, full of
dynamic references: about 28 ms of CPU per custom action on this machine, against 2.6 ms
for the whole HTTP call. A turn of the order-status form runs three custom actions, so the
checks alone were 80 of the turn's 110 ms (profiled with cProfile; docs/assistant.md).
`use_compiled_action_schema` gives Rasa's RemoteAction the same check with the schema
verified once: answers that Rasa refused before are refused the same way, with Rasa's message.

The launcher (bot/launcher/services.py) and the in-process evaluations (bot/evaluate/latency.py)
call it explicitly; nothing changes on import.
"""

from __future__ import annotations

import sys
from typing import Any

_installed = False


def use_compiled_action_schema() -> None:
    """Make RemoteAction validate answers with a validator built once per process."""
    global _installed
    if _installed:
        return
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # what jsonschema.validate did on every call
    validator = validator_class(schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as error:
            # Rasa's own wording, so a malformed action answer reads as before.
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid. For more information about the "
                f"format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise

    RemoteAction._validate_action_result = validate_action_result
    _installed = True


def main() -> None:
    use_compiled_action_schema()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
