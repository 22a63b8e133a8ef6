"""FAQ content for editors: topics in data/nlu/faq/*.yml, their checks, publishing.

cli.py         `python -m bot faq ...`, the editor's commands (text or --json)
library.py     topics read and written with round-trip YAML (small diffs)
validation.py  checks with editor-readable messages, the live model's conflicts
publish/       lock, train, check against the live model, swap, history, rollback
audit.py       <var>/faq-audit.jsonl: who changed what, when
project.py     the project's folders, Rasa's addresses and token
"""
