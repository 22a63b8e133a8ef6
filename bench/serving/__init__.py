"""The serving benchmark's parts; bench/serving_bench.py is the script that runs them (its
docstring says what each section measures and how).

    processes    what a run starts and stops: redis-server, `python -m handoff` replicas, a
                 scripted Rasa; and the code a replica runs (this checkout, or a baseline
                 commit exported with `git archive`)
    scale        how large a run is: the full one and --quick
    peers        customer and agent websockets, opened as the widget and the console open them
    load         the relay's load generator: chats seated with online agents, messages sent
                 open loop, and each code's replicas deployed on their own Redis
    bot_turns    the bot section: the real stack, one turn through the gateway vs Rasa's webhook
    relay        the relay and scaling sections (and the escalation section, on the same replicas)
    escalation   the escalation section
    memory       the memory section
    report       samples and their percentiles, the Markdown tables, the summary against goals

The modules import one another as `bench.serving.*`: the script puts the repository root on
`sys.path` first, as bench/nlu_bench.py does for its parts.
"""
