"""What the soak's customers ask the assistant (test_soak.py and rasa_concurrency.py alike): FAQ
questions and small talk that never need an order lookup."""

FAQ = [
    "how long does shipping take?",
    "what is your return policy",
    "do you ship internationally",
    "i forgot my password",
    "what are your hours",
    "how do i stop your emails",
    "hi",
    "thanks",
]
