"""Rasa's server as the launcher starts it (bot/rasa_server.py): action answers are checked
against Rasa's schema, compiled once, with Rasa's verdicts and messages."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

from bot.rasa_server import use_compiled_action_schema

ANSWER = {
    "events": [{"event": "slot", "name": "order_number", "value": "HG-10042"}],
    "responses": [{"text": "Let me look that up."}],
}


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    use_compiled_action_schema()
    return RemoteAction("action_check_order", None)


def test_a_well_formed_answer_is_accepted(action: RemoteAction) -> None:
    assert action._validate_action_result(ANSWER) is True


@pytest.mark.parametrize(
    "answer",
    [{"events": "not a list"}, {"events": [], "responses": "not a list"}, {"events": [{}]}],
)
def test_a_malformed_answer_is_refused_with_rasas_message(
    action: RemoteAction, answer: dict[str, object]
) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(answer)


def test_checking_an_answer_no_longer_rechecks_the_schema(
    action: RemoteAction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rasa's own check re-validated the schema itself on every answer (about 28 ms here).
    validator_class = validator_for(RemoteAction.action_response_format_spec())
    schema_checks: list[object] = []
    monkeypatch.setattr(validator_class, "check_schema", classmethod(schema_checks.append))
    for _ in range(3):
        assert action._validate_action_result(ANSWER) is True
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
    assert schema_checks == []
