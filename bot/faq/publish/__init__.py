"""Publishing FAQ changes: one publisher at a time, never a half-published model.

    lock        <var>/faq-publish/publish.lock (flock); publisher.json says who and since when
    validate    every static check, likely conflicts of new phrasings, `rasa data validate`
    train       on a staged copy of the training files, in this process, reusing Rasa's cache
    check       the new model on the test conversations and the held-out phrasings; it must not
                do worse than the live model (scored once per model, then cached), else
                publishing stops and names the conversations and topics
    swap        PUT /model on every Rasa server; if one refuses, the others are put back
    record      history.jsonl, a snapshot of the answers that go with the model, the audit log

    job.py         publish: the steps above, in order, under the lock
    rollback.py    rollback: the previous model and its answers back in
    checks.py      validate                 lock.py       lock
    training.py    train                    scores.py     check
    live.py        swap                     record.py     history.jsonl
    snapshots.py   the answers of each model
    progress.py    a long step's progress   refusal.py    why a job stopped, as its outcome

Everything heavy (Rasa, TensorFlow) is imported inside the functions that need it, so the
editor's quick commands (list, show, add, edit) start in a fraction of a second. The names
below are what the editor's commands (bot/faq/cli.py) call.
"""

from bot.faq.publish.checks import validate_project
from bot.faq.publish.job import publish
from bot.faq.publish.record import read_history
from bot.faq.publish.rollback import rollback
from bot.faq.publish.snapshots import remember_trained_answers

__all__ = [
    "publish",
    "read_history",
    "remember_trained_answers",
    "rollback",
    "validate_project",
]
