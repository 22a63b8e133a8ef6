"""While the assistant owns a chat: bot turns through Rasa (with replica routing), and triage
(`triage/`), which decides on every customer message whether a person is needed now."""
