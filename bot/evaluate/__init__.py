"""Evaluate the assistant: how often it understands, how often it answers wrongly, how fast it is.

    .venv-rasa/bin/python -m bot.evaluate              everything (about 12 minutes on 2 cores)
    .venv-rasa/bin/python -m bot.evaluate --skip-cv    train time, held-out, OOS and latency only

A benchmark, not a test: it prints tables and compares them with the budgets and baselines,
in the same run.

    training.py          1. full `rasa train` wall time, with an empty training cache
    heldout_report.py    2. held-out FAQ paraphrases, 3. CLINC150 out-of-scope questions
    latency.py           4. in-process turn latency with the real action server
    cross_validation.py  5. 5-fold cross-validation and the fallback-threshold sweep
    heldout.py           the sets written apart from the training data, and their readers
    tally.py             what customers got (right, wrong, rephrase) and the threshold choice

bot/nlu/served.py (by writing style) and bot/nlu/calibrate.py (the threshold) are built on the
same pieces: bot/prediction.py reads a parse, bot/fallback.py replays the fallback rule.
"""
