"""The assistant's side of a conversation: bot turns through Rasa, with triage deciding when a
person is needed (the triage model itself lives in handoff/triage, trained on its own)."""
