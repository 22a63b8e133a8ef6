"""The assistant's understanding of a customer message (see docs/assistant.md).

classifier.py   which intent or FAQ topic a message is, and how sure: pretrained sentence
                vectors (understanding/) + character n-grams, a linear model and the nearest
                training phrasings; no rasa import, so it trains and tests on its own
component.py    the Rasa component that serves it in config.yml's pipeline
calibrate.py    cross-validation on the training data: the confidence threshold
served.py       what customers get on the held-out sets, by writing style
"""
